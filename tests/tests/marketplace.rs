//! The marketplace end to end through the local gateway: profiles, search,
//! verification, campaigns and their lifecycle, applications, contracts with
//! provable acceptances, deliverables, reminders on the local scheduler with
//! a controllable clock, budget and plan limits, bad input.

use integration_tests::{Session, TestApp};
use nexus_core::plans::Plan;
use reqwest::Method;
use serde_json::{json, Value};

const DAY: i64 = 86_400;

async fn creator_with_profile(app: &TestApp, handle: &str, profile: Value) -> Session {
    let c = app.creator().await;
    let mut body = json!({"handle": handle, "displayName": handle, "languages": ["en"], "country": "US",
        "bio": "Calm skincare tutorials for sensitive skin, filmed in natural light.", "niches": ["beauty"],
        "rateCard": [{"platform": "tiktok", "deliverableType": "video", "price": {"amount": 30000, "currency": "USD"}}]});
    for (k, v) in profile.as_object().unwrap() {
        body[k] = v.clone();
    }
    let r = app
        .call(Method::PUT, "/v1/creators/me", Some(&c.access), Some(body))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    c
}

async fn link(app: &TestApp, c: &Session, platform: &str, followers: u64, us_share: f64) {
    let r = app
        .post("/v1/creators/me/social-accounts", Some(&c.access), json!({
            "platform": platform, "handle": "@x", "followers": followers, "averageViews": followers / 5, "engagementRate": 0.05,
            "audience": {"countries": {"US": us_share, "GB": 1.0 - us_share}, "age": {"18-24": 0.6, "25-34": 0.4}, "gender": {"female": 0.7, "male": 0.3}}
        }))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

/// A complete campaign body with dates relative to the platform clock.
async fn campaign_body(app: &TestApp, total: i64) -> Value {
    let now = app.now().await;
    let at = |days: i64| (now + jiff::SignedDuration::from_secs(days * DAY)).to_string();
    json!({
        "title": "Winter glow launch", "type": "ugc",
        "brief": {"objectives": "Launch the winter serum", "keyMessages": ["glow in 7 days"], "requiredHashtags": ["winterglow"]},
        "niches": ["beauty"],
        "targetAudience": {"countries": {"US": 0.8}, "age": {"18-24": 0.5}},
        "deliverables": [{"type": "video", "platform": "tiktok", "quantity": 1, "dueAt": at(30)}],
        "usageRights": {"type": "non_exclusive", "durationDays": 90, "territories": ["US"], "channels": ["organic_social"]},
        "budget": {"total": {"amount": total, "currency": "USD"}, "perCreator": {"amount": 40000, "currency": "USD"}},
        "dates": {"applicationsCloseAt": at(10), "startAt": at(20), "endAt": at(60)},
        "timeZone": "America/New_York"
    })
}

#[tokio::test]
async fn campaign_from_draft_to_archive_with_contract_deliverable_reminders_and_reputation() {
    let app = TestApp::spawn().await;
    let (brand, org) = app.org_owner("brand").await;
    app.set_plan_in_store(&org, Plan::Growth).await;
    let mia = creator_with_profile(&app, "mia.makes", json!({})).await;
    link(&app, &mia, "tiktok", 12_000, 0.8).await;

    // Draft → refused moves list what is allowed.
    let c = app
        .post(
            "/v1/campaigns",
            Some(&brand.access),
            campaign_body(&app, 100_000).await,
        )
        .await;
    assert_eq!(c.status, 201, "{}", c.text);
    assert_eq!(c.body["status"], "DRAFT");
    assert_eq!(c.body["brief"]["ftcDisclosureRequired"], true);
    let id = c.body["id"].as_str().unwrap().to_owned();
    let t = |to: &'static str| json!({ "to": to });
    let r = app
        .post(
            &format!("/v1/campaigns/{id}/transitions"),
            Some(&brand.access),
            t("ACTIVE"),
        )
        .await;
    r.assert_problem(409, "invalid-transition");
    assert_eq!(r.body["allowed"], json!(["PUBLISHED", "CANCELLED"]));
    let r = app
        .post(
            &format!("/v1/campaigns/{id}/transitions"),
            Some(&brand.access),
            t("PUBLISHED"),
        )
        .await;
    assert_eq!(r.body["status"], "PUBLISHED", "{}", r.text);
    // Published campaigns are no longer editable.
    let r = app
        .call(
            Method::PATCH,
            &format!("/v1/campaigns/{id}"),
            Some(&brand.access),
            Some(json!({"title": "New title"})),
        )
        .await;
    r.assert_problem(409, "campaign-locked");

    // The creator finds it and applies once.
    let m = app
        .get(
            "/v1/marketplace/campaigns?niche=beauty&platform=tiktok",
            Some(&mia.access),
        )
        .await;
    assert_eq!(m.status, 200, "{}", m.text);
    assert!(
        m.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["id"] == id.as_str()),
        "{}",
        m.text
    );
    assert!(
        m.body["items"][0].get("budget").is_none(),
        "bookkeeping stays private"
    );
    let pitch = json!({"pitch": "Calm skincare tutorials that convert.", "proposedFee": {"amount": 30000, "currency": "USD"}});
    let a = app
        .post(
            &format!("/v1/campaigns/{id}/applications"),
            Some(&mia.access),
            pitch.clone(),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.text);
    let app_id = a.body["id"].as_str().unwrap().to_owned();
    app.post(
        &format!("/v1/campaigns/{id}/applications"),
        Some(&mia.access),
        pitch,
    )
    .await
    .assert_problem(409, "already-applied");

    // Brand: counter, then accept → a contract with the counter fee.
    let dec = async |b: Value| {
        app.post(
            &format!("/v1/campaigns/{id}/applications/{app_id}/decisions"),
            Some(&brand.access),
            b,
        )
        .await
    };
    let r = dec(json!({"decision": "counter", "fee": {"amount": 35000, "currency": "USD"}, "note": "our max"})).await;
    assert_eq!(r.body["application"]["status"], "countered", "{}", r.text);
    let r = dec(json!({"decision": "accept"})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let contract = r.body["contract"].clone();
    assert_eq!(contract["terms"]["fee"]["amount"], 35000);
    assert_eq!(contract["terms"]["ftc"]["disclosureRequired"], true);
    let ctr = contract["id"].as_str().unwrap().to_owned();
    let hash = contract["termsHash"].as_str().unwrap().to_owned();
    assert_eq!(hash.len(), 64);

    // Both parties accept the exact terms (time, IP, hash kept).
    let accept = async |s: &Session, h: &str| {
        app.post(
            &format!("/v1/contracts/{ctr}/accept"),
            Some(&s.access),
            json!({"termsHash": h}),
        )
        .await
    };
    accept(&mia, &"0".repeat(64))
        .await
        .assert_problem(409, "terms-changed");
    let r = accept(&mia, &hash).await;
    assert_eq!(r.body["status"], "pending_signatures", "{}", r.text);
    let r = accept(&brand, &hash).await;
    assert_eq!(r.body["status"], "signed", "{}", r.text);
    let acc = r.body["acceptances"].as_array().unwrap();
    assert_eq!(acc.len(), 2);
    assert!(acc.iter().all(|a| a["termsHash"] == hash.as_str()
        && !a["ip"].as_str().unwrap().is_empty()
        && a["at"].is_string()));
    let camp = app
        .get(&format!("/v1/campaigns/{id}"), Some(&brand.access))
        .await;
    assert_eq!(camp.body["status"], "ACTIVE");
    assert_eq!(camp.body["budget"]["committed"], 35000);
    app.settle().await;

    // Reminders: due-soon (24 h before) and overdue (just after), one-time schedules in the campaign's zone.
    let pending = app.schedules(None).await;
    let mine: Vec<_> = pending
        .iter()
        .filter(|s| s["name"].as_str().unwrap_or_default().starts_with(&ctr))
        .collect();
    assert_eq!(mine.len(), 2, "{pending:?}");
    assert!(
        mine.iter().all(|s| s["timeZone"] == "America/New_York"),
        "{mine:?}"
    );
    let notes = async |s: &Session| {
        app.get("/v1/notifications", Some(&s.access)).await.body["items"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    };
    let kinds = |items: &[Value]| {
        items
            .iter()
            .map(|n| n["kind"].as_str().unwrap_or_default().to_owned())
            .collect::<Vec<_>>()
    };
    assert!(!kinds(&notes(&mia).await).contains(&"DeliverableDueSoon".to_owned()));
    app.advance_clock(29 * DAY + 60).await; // due in 30 days: past the 24 h reminder
    app.settle().await;
    assert!(
        kinds(&notes(&mia).await).contains(&"DeliverableDueSoon".to_owned()),
        "{:?}",
        kinds(&notes(&mia).await)
    );
    assert!(app
        .outbox(&mia.email)
        .await
        .iter()
        .any(|m| m["template"] == "notification"));
    app.advance_clock(DAY).await; // past due
    app.settle().await;
    assert!(kinds(&notes(&brand).await).contains(&"DeliverableOverdue".to_owned()));
    let k = app
        .get(&format!("/v1/contracts/{ctr}"), Some(&mia.access))
        .await;
    assert_eq!(k.body["deliverables"][0]["overdue"], true, "{}", k.text);
    assert!(app
        .schedules(None)
        .await
        .iter()
        .all(|s| !s["name"].as_str().unwrap_or_default().starts_with(&ctr)));

    // Deliverable: submit (late) → changes → resubmit → approve.
    let mv = async |s: &Session, b: Value| {
        app.post(
            &format!("/v1/contracts/{ctr}/deliverables/1/transitions"),
            Some(&s.access),
            b,
        )
        .await
    };
    mv(&brand, json!({"to": "APPROVED"}))
        .await
        .assert_problem(409, "invalid-transition");
    let r = mv(&mia, json!({"to": "SUBMITTED"})).await;
    assert_eq!(r.body["deliverables"][0]["late"], true, "{}", r.text);
    assert_eq!(
        app.get(&format!("/v1/campaigns/{id}"), Some(&brand.access))
            .await
            .body["status"],
        "IN_PROGRESS"
    );
    mv(&brand, json!({"to": "CHANGES_REQUESTED"}))
        .await
        .assert_problem(400, "validation-failed");
    let r = mv(&mia, json!({"to": "APPROVED"})).await;
    r.assert_problem(409, "invalid-transition");
    assert_eq!(r.body["allowed"], json!([]), "the creator can't review");
    mv(
        &brand,
        json!({"to": "CHANGES_REQUESTED", "note": "Say the product name first."}),
    )
    .await;
    mv(&mia, json!({"to": "SUBMITTED"})).await;
    let r = mv(&brand, json!({"to": "APPROVED"})).await;
    assert_eq!(r.body["status"], "completed", "{}", r.text);
    let camp = app
        .get(&format!("/v1/campaigns/{id}"), Some(&brand.access))
        .await;
    assert_eq!(camp.body["status"], "COMPLETED");
    assert_eq!(
        (
            camp.body["budget"]["committed"].clone(),
            camp.body["budget"]["spent"].clone()
        ),
        (json!(0), json!(35000))
    );

    // Rating feeds reputation (through the bus).
    let r = app
        .post(
            &format!("/v1/contracts/{ctr}/rating"),
            Some(&brand.access),
            json!({"score": 5}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    app.settle().await;
    let p = app
        .get(
            &format!("/v1/creators/{}", mia.user_id),
            Some(&brand.access),
        )
        .await;
    let factors = p.body["reputation"]["factors"].as_array().unwrap();
    let rating = factors.iter().find(|f| f["name"] == "brandRating").unwrap();
    assert_eq!(
        rating["basis"], "average 5.0 of 5 from 1 ratings",
        "{}",
        p.text
    );
    assert_eq!(p.body["stats"]["delivered"], 1);
    assert_eq!(p.body["stats"]["onTime"], 0, "it was late");
    assert_eq!(p.body["stats"]["firstPass"], 0, "changes were requested");

    // Completed → archived; nothing leaves ARCHIVED.
    app.post(
        &format!("/v1/campaigns/{id}/transitions"),
        Some(&brand.access),
        t("ARCHIVED"),
    )
    .await;
    let r = app
        .post(
            &format!("/v1/campaigns/{id}/transitions"),
            Some(&brand.access),
            t("PUBLISHED"),
        )
        .await;
    r.assert_problem(409, "invalid-transition");
    assert_eq!(r.body["allowed"], json!([]));
}

#[tokio::test]
async fn search_filters_and_relevance_and_verification_badges() {
    let app = TestApp::spawn().await;
    let (brand, _org) = app.org_owner("brand").await;
    let mia = creator_with_profile(
        &app,
        "glowmia",
        json!({"bio": "Skincare routines and serum reviews for sensitive skin."}),
    )
    .await;
    link(&app, &mia, "tiktok", 120_000, 0.9).await;
    let leo = creator_with_profile(&app, "leo.lifts", json!({"niches": ["fitness"], "country": "GB", "bio": "Home workouts, no equipment; sometimes skincare for athletes."})).await;
    link(&app, &leo, "instagram", 8_000, 0.1).await;
    let ana = creator_with_profile(&app, "ana.cooks", json!({"niches": ["food"], "languages": ["es"], "country": "ES", "bio": "Quick vegetarian recipes."})).await;
    link(&app, &ana, "youtube", 40_000, 0.2).await;

    // Verification: staff only; approval grants the badge.
    let r = app
        .post(
            "/v1/creators/me/verification-requests",
            Some(&mia.access),
            json!({"kind": "social", "evidence": "tiktok"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let vrq = r.body["id"].as_str().unwrap().to_owned();
    app.post(
        "/v1/creators/me/verification-requests",
        Some(&mia.access),
        json!({"kind": "social", "evidence": "tiktok"}),
    )
    .await
    .assert_problem(409, "verification-pending");
    app.post(
        "/v1/creators/me/verification-requests",
        Some(&leo.access),
        json!({"kind": "social", "evidence": "tiktok"}),
    )
    .await
    .assert_problem(400, "validation-failed"); // not linked
    app.get("/v1/staff/verification-requests", Some(&brand.access))
        .await
        .assert_problem(403, "forbidden");
    let staff = app.staff().await;
    let q = app
        .get("/v1/staff/verification-requests", Some(&staff.access))
        .await;
    assert!(
        q.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["id"] == vrq.as_str()),
        "{}",
        q.text
    );
    let d = async |b: Value| {
        app.post(
            &format!("/v1/staff/verification-requests/{vrq}/decision"),
            Some(&staff.access),
            b,
        )
        .await
    };
    d(json!({"decision": "reject"}))
        .await
        .assert_problem(400, "validation-failed");
    assert_eq!(
        d(json!({"decision": "approve"})).await.body["status"],
        "approved"
    );
    d(json!({"decision": "approve"}))
        .await
        .assert_problem(409, "invalid-transition");
    app.settle().await;
    let me = app.get("/v1/creators/me", Some(&mia.access)).await;
    assert_eq!(me.body["verified"], true);
    assert_eq!(me.body["badges"][0]["kind"], "social");

    let ids = |r: &integration_tests::Res| -> Vec<String> {
        r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["creator"]["creatorId"].as_str().unwrap().to_owned())
            .collect()
    };
    let s = async |q: &str| {
        app.get(&format!("/v1/creators?{q}"), Some(&brand.access))
            .await
    };
    // Text: the handle/niche match ranks above a bio-only mention.
    let r = s("q=skincare").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let got = ids(&r);
    assert_eq!(got.first(), Some(&mia.user_id), "{}", r.text);
    assert!(got.contains(&leo.user_id));
    assert!(!got.contains(&ana.user_id));
    assert_eq!(ids(&s("niche=fitness").await), [leo.user_id.as_str()]);
    assert_eq!(
        ids(&s("followersMin=30000&sort=followers").await),
        [mia.user_id.as_str(), ana.user_id.as_str()]
    );
    assert_eq!(
        ids(&s("audienceCountry=US:0.5").await),
        [mia.user_id.as_str()]
    );
    assert_eq!(ids(&s("language=es").await), [ana.user_id.as_str()]);
    assert_eq!(ids(&s("verified=true").await), [mia.user_id.as_str()]);
    assert_eq!(
        ids(&s("platform=instagram&followersMax=10000").await),
        [leo.user_id.as_str()]
    );
    assert_eq!(
        ids(&s("rateMax=40000&currency=USD&country=US").await),
        [mia.user_id.as_str()]
    );
    // Pagination: one per page, no duplicates.
    let p1 = s("sort=followers&limit=1").await;
    let cur = p1.body["nextCursor"].as_str().unwrap().to_owned();
    let p2 = s(&format!("sort=followers&limit=1&cursor={cur}")).await;
    assert_eq!(p1.body["total"], 3);
    assert_ne!(ids(&p1), ids(&p2));
    // Bad filters are field errors.
    let r = s("platform=myspace&audienceAge=12-15:0.2&sort=random").await;
    r.assert_problem(400, "validation-failed");
    let ptrs: Vec<_> = r.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["pointer"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ptrs, ["query/platform", "query/audienceAge", "query/sort"]);
    s("cursor=garbage")
        .await
        .assert_problem(400, "validation-failed");
    // Deleting a profile frees the handle and drops it from search.
    assert_eq!(
        app.call(Method::DELETE, "/v1/creators/me", Some(&leo.access), None)
            .await
            .status,
        204
    );
    app.settle().await;
    assert!(!ids(&s("q=workouts").await).contains(&leo.user_id));
    creator_with_profile(&app, "leo.lifts", json!({})).await;
    // Creators don't search other creators.
    app.get("/v1/creators?q=x", Some(&mia.access))
        .await
        .assert_problem(403, "forbidden");
}

#[tokio::test]
async fn matches_rank_with_factors_and_the_offline_vectoriser_is_named() {
    let app = TestApp::spawn().await;
    let (brand, org) = app.org_owner("brand").await;
    app.set_plan_in_store(&org, Plan::Growth).await;
    let good =
        creator_with_profile(&app, "serum.sam", json!({"contentStyles": ["tutorial"]})).await;
    link(&app, &good, "tiktok", 50_000, 0.9).await;
    let pricey = creator_with_profile(&app, "pricey.pat", json!({"rateCard": [{"platform": "tiktok", "deliverableType": "video", "price": {"amount": 900000, "currency": "USD"}}]})).await;
    link(&app, &pricey, "tiktok", 50_000, 0.1).await;
    app.settle().await;
    let c = app
        .post(
            "/v1/campaigns",
            Some(&brand.access),
            campaign_body(&app, 100_000).await,
        )
        .await;
    let id = c.body["id"].as_str().unwrap();
    let m = app
        .get(&format!("/v1/campaigns/{id}/matches"), Some(&brand.access))
        .await;
    assert_eq!(m.status, 200, "{}", m.text);
    assert_eq!(m.body["embedder"], "local-hashing-vectoriser");
    let items = m.body["items"].as_array().unwrap();
    assert_eq!(items[0]["creatorId"], good.user_id.as_str(), "{}", m.text);
    assert_eq!(items[0]["factors"].as_array().unwrap().len(), 5);
    let sum: f64 = items[0]["factors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["contribution"].as_f64().unwrap())
        .sum();
    assert!((sum - items[0]["score"].as_f64().unwrap()).abs() < 0.2);
    let budget = items[1]["factors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "budgetFit")
        .unwrap();
    assert!(budget["score"].as_f64().unwrap() < 0.5, "{budget}");
}

#[tokio::test]
async fn plan_limits_budget_and_bad_input_are_problems() {
    let app = TestApp::spawn().await;
    let (brand, _org) = app.org_owner("brand").await; // Free plan
    let body = campaign_body(&app, 100_000).await;
    let mut ids = vec![];
    for _ in 0..3 {
        let c = app
            .post("/v1/campaigns", Some(&brand.access), body.clone())
            .await;
        ids.push(c.body["id"].as_str().unwrap().to_owned());
    }
    for (i, id) in ids.iter().enumerate() {
        let r = app
            .post(
                &format!("/v1/campaigns/{id}/transitions"),
                Some(&brand.access),
                json!({"to": "PUBLISHED"}),
            )
            .await;
        if i < 2 {
            assert_eq!(r.status, 200, "{}", r.text);
        } else {
            r.assert_problem(402, "limit-reached");
            assert_eq!(r.body["limit"], "active campaigns");
            assert_eq!(r.body["max"], 2);
        }
    }

    // Drafts can be deleted; published campaigns are cancelled instead.
    let r = app
        .call(
            Method::DELETE,
            &format!("/v1/campaigns/{}", ids[2]),
            Some(&brand.access),
            None,
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    app.get(&format!("/v1/campaigns/{}", ids[2]), Some(&brand.access))
        .await
        .assert_problem(404, "not-found");
    app.call(
        Method::DELETE,
        &format!("/v1/campaigns/{}", ids[0]),
        Some(&brand.access),
        None,
    )
    .await
    .assert_problem(409, "campaign-locked");

    // Bad input: unknown enums, negative money, dates out of order, unknown status.
    let mut bad = body.clone();
    bad["type"] = json!("flashmob");
    bad["budget"]["total"]["amount"] = json!(-1);
    bad["dates"]["endAt"] = bad["dates"]["applicationsCloseAt"].clone();
    bad["deliverables"][0]["platform"] = json!("myspace");
    let r = app.post("/v1/campaigns", Some(&brand.access), bad).await;
    r.assert_problem(400, "validation-failed");
    let ptrs: Vec<_> = r.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["pointer"].as_str().unwrap().to_owned())
        .collect();
    for p in [
        "/type",
        "/budget/total/amount",
        "/dates/endAt",
        "/deliverables/0/platform",
    ] {
        assert!(ptrs.iter().any(|x| x == p), "{p} in {ptrs:?}");
    }
    app.post(
        &format!("/v1/campaigns/{}/transitions", ids[0]),
        Some(&brand.access),
        json!({"to": "LIVE"}),
    )
    .await
    .assert_problem(400, "validation-failed");
    app.post("/v1/campaigns", Some(&brand.access), json!({"title": 5}))
        .await
        .assert_problem(400, "validation-failed");

    // Wrong currency on an application; budget exceeded on acceptance.
    let mia = creator_with_profile(&app, "mia.two", json!({})).await;
    let eur = json!({"pitch": "Calm skincare tutorials that convert.", "proposedFee": {"amount": 30000, "currency": "EUR"}});
    let r = app
        .post(
            &format!("/v1/campaigns/{}/applications", ids[0]),
            Some(&mia.access),
            eur,
        )
        .await;
    r.assert_problem(400, "validation-failed");
    assert_eq!(r.body["errors"][0]["pointer"], "/proposedFee/currency");
    // Brands can't apply; creators can't create campaigns.
    app.post(
        &format!("/v1/campaigns/{}/applications", ids[0]),
        Some(&brand.access),
        json!({}),
    )
    .await
    .assert_problem(403, "forbidden");
    app.post("/v1/campaigns", Some(&mia.access), body.clone())
        .await
        .assert_problem(404, "not-found");
    let r = app
        .post(&format!("/v1/campaigns/{}/applications", ids[0]), Some(&mia.access), json!({"pitch": "Calm skincare tutorials that convert.", "proposedFee": {"amount": 40000, "currency": "USD"}}))
        .await;
    let app_id = r.body["id"].as_str().unwrap().to_owned();
    let r = app
        .post(
            &format!("/v1/campaigns/{}/applications/{app_id}/decisions", ids[0]),
            Some(&brand.access),
            json!({"decision": "accept", "fee": {"amount": 50000, "currency": "USD"}}),
        )
        .await;
    r.assert_problem(409, "over-per-creator-budget");
}

#[tokio::test]
async fn staff_never_approve_themselves_and_a_social_badge_follows_its_account() {
    let app = TestApp::spawn().await;
    // A creator who is also NEXUS staff can't approve their own request.
    let c = creator_with_profile(&app, "staffer.mia", json!({})).await;
    link(&app, &c, "tiktok", 5_000, 0.5).await;
    let c = app.appoint_staff_in_store(c).await;
    let own = app
        .post(
            "/v1/creators/me/verification-requests",
            Some(&c.access),
            json!({"kind": "social", "evidence": "tiktok"}),
        )
        .await;
    assert_eq!(own.status, 201, "{}", own.text);
    let own = own.body["id"].as_str().unwrap().to_owned();
    let decide = async |staff: &Session, id: &str| {
        app.post(
            &format!("/v1/staff/verification-requests/{id}/decision"),
            Some(&staff.access),
            json!({"decision": "approve"}),
        )
        .await
    };
    decide(&c, &own).await.assert_problem(403, "forbidden");
    let me = app.get("/v1/creators/me", Some(&c.access)).await;
    assert_eq!(me.body["verified"], false, "{}", me.text);

    // Another staff member approves: the badge names the account reviewed.
    let staff = app.staff().await;
    let ok = decide(&staff, &own).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    let me = app.get("/v1/creators/me", Some(&c.access)).await;
    assert_eq!(me.body["verified"], true, "{}", me.text);
    assert_eq!(me.body["badges"][0]["handle"], "x", "{}", me.text);
    // Refreshing the same account keeps it; linking someone else's handle ends it.
    link(&app, &c, "tiktok", 6_000, 0.5).await;
    let me = app.get("/v1/creators/me", Some(&c.access)).await;
    assert_eq!(me.body["verified"], true, "{}", me.text);
    let relink = app
        .post(
            "/v1/creators/me/social-accounts",
            Some(&c.access),
            json!({"platform": "tiktok", "handle": "@famous.person", "followers": 9_000_000}),
        )
        .await;
    assert_eq!(relink.status, 200, "{}", relink.text);
    assert_eq!(relink.body["verified"], false, "{}", relink.text);
    assert_eq!(relink.body["badges"], json!([]), "{}", relink.text);

    // A request approved after the creator switched handles grants nothing.
    let m = creator_with_profile(&app, "switcher.sam", json!({})).await;
    link(&app, &m, "tiktok", 5_000, 0.5).await;
    let r = app
        .post(
            "/v1/creators/me/verification-requests",
            Some(&m.access),
            json!({"kind": "social", "evidence": "tiktok"}),
        )
        .await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    app.post(
        "/v1/creators/me/social-accounts",
        Some(&m.access),
        json!({"platform": "tiktok", "handle": "@famous.person", "followers": 9_000_000}),
    )
    .await;
    decide(&staff, &id)
        .await
        .assert_problem(409, "account-changed");
    let me = app.get("/v1/creators/me", Some(&m.access)).await;
    assert_eq!(me.body["verified"], false, "{}", me.text);
}

/// The campaign's ids in the creator's marketplace listing.
async fn listed(app: &TestApp, s: &Session) -> Vec<String> {
    let m = app
        .get("/v1/marketplace/campaigns?limit=100", Some(&s.access))
        .await;
    assert_eq!(m.status, 200, "{}", m.text);
    m.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Pause and resume, mutual cancellation after signature (the fee goes back
/// to the budget, open deliverables are cancelled, the reminders deleted),
/// withdrawal, and invite-only campaigns, through the gateway
/// (docs/marketplace.md).
#[tokio::test]
async fn pause_cancellation_withdrawal_and_invite_only_campaigns() {
    let app = TestApp::spawn().await;
    let (brand, org) = app.org_owner("brand").await;
    app.set_plan_in_store(&org, Plan::Growth).await;
    let mia = creator_with_profile(&app, "mia.cancels", json!({})).await;
    let leo = creator_with_profile(&app, "leo.stays", json!({})).await;
    let ada = creator_with_profile(&app, "ada.withdraws", json!({})).await;
    for c in [&mia, &leo, &ada] {
        link(&app, c, "tiktok", 12_000, 0.8).await;
    }
    let c = app
        .post(
            "/v1/campaigns",
            Some(&brand.access),
            campaign_body(&app, 100_000).await,
        )
        .await;
    assert_eq!(c.status, 201, "{}", c.text);
    let id = c.body["id"].as_str().unwrap().to_owned();
    let move_to = async |campaign: &str, to: &str| {
        app.post(
            &format!("/v1/campaigns/{campaign}/transitions"),
            Some(&brand.access),
            json!({ "to": to }),
        )
        .await
    };
    let r = move_to(&id, "PUBLISHED").await;
    assert_eq!(r.body["status"], "PUBLISHED", "{}", r.text);
    let pitch = json!({"pitch": "Calm skincare tutorials that convert.", "proposedFee": {"amount": 30000, "currency": "USD"}});
    let apply = async |s: &Session, campaign: &str| {
        app.post(
            &format!("/v1/campaigns/{campaign}/applications"),
            Some(&s.access),
            pitch.clone(),
        )
        .await
    };

    // Paused: out of the marketplace and closed to applications; resumed: back.
    let r = move_to(&id, "PAUSED").await;
    assert_eq!(r.body["status"], "PAUSED", "{}", r.text);
    assert!(!listed(&app, &mia).await.contains(&id));
    // (A paused campaign is not visible to creators at all.)
    apply(&mia, &id).await.assert_problem(404, "not-found");
    let r = move_to(&id, "PUBLISHED").await;
    assert_eq!(r.body["status"], "PUBLISHED", "{}", r.text);
    assert!(listed(&app, &mia).await.contains(&id));

    // Two signed contracts of 30 000 each.
    let sign = async |s: &Session| {
        let a = apply(s, &id).await;
        assert_eq!(a.status, 201, "{}", a.text);
        let app_id = a.body["id"].as_str().unwrap().to_owned();
        let d = app
            .post(
                &format!("/v1/campaigns/{id}/applications/{app_id}/decisions"),
                Some(&brand.access),
                json!({"decision": "accept"}),
            )
            .await;
        assert_eq!(d.status, 200, "{}", d.text);
        let ctr = d.body["contract"]["id"].as_str().unwrap().to_owned();
        let hash = d.body["contract"]["termsHash"].as_str().unwrap().to_owned();
        for who in [s, &brand] {
            let r = app
                .post(
                    &format!("/v1/contracts/{ctr}/accept"),
                    Some(&who.access),
                    json!({ "termsHash": hash }),
                )
                .await;
            assert_eq!(r.status, 200, "{}", r.text);
        }
        ctr
    };
    let ctr_mia = sign(&mia).await;
    let ctr_leo = sign(&leo).await;
    let budget = async || {
        let c = app
            .get(&format!("/v1/campaigns/{id}"), Some(&brand.access))
            .await;
        (
            c.body["status"].clone(),
            c.body["budget"]["committed"].clone(),
        )
    };
    assert_eq!(budget().await, (json!("ACTIVE"), json!(60000)));
    app.settle().await;
    let reminders = async |ctr: &str| {
        app.schedules(None)
            .await
            .iter()
            .filter(|s| s["name"].as_str().unwrap_or_default().starts_with(ctr))
            .count()
    };
    assert_eq!(
        (reminders(&ctr_mia).await, reminders(&ctr_leo).await),
        (2, 2)
    );

    // After signature, cancelling takes both: the creator asks...
    let cancel = async |s: &Session, ctr: &str, reason: &str| {
        app.post(
            &format!("/v1/contracts/{ctr}/cancel"),
            Some(&s.access),
            json!({ "reason": reason }),
        )
        .await
    };
    let r = cancel(&mia, &ctr_mia, "I can't film this month").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "signed", "{}", r.text);
    assert_eq!(r.body["cancellation"]["requestedBy"], "creator");
    cancel(&mia, &ctr_mia, "asking again")
        .await
        .assert_problem(409, "awaiting-agreement");
    assert_eq!(
        budget().await,
        (json!("ACTIVE"), json!(60000)),
        "nothing released yet"
    );
    // ...the brand agrees: cancelled, its deliverable too, its fee released.
    let r = cancel(&brand, &ctr_mia, "Agreed, another time").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "cancelled", "{}", r.text);
    assert_eq!(
        r.body["deliverables"][0]["status"], "CANCELLED",
        "{}",
        r.text
    );
    assert!(r.body["cancellation"]["agreedAt"].is_string(), "{}", r.text);
    assert_eq!(
        budget().await,
        (json!("ACTIVE"), json!(30000)),
        "leo's fee stays committed"
    );
    app.settle().await;
    assert_eq!(
        (reminders(&ctr_mia).await, reminders(&ctr_leo).await),
        (0, 2),
        "the cancelled contract's reminders are deleted, the other's kept"
    );
    cancel(&brand, &ctr_mia, "once more")
        .await
        .assert_problem(409, "contract-closed");

    // Withdrawal: a withdrawn application can't be accepted.
    let a = apply(&ada, &id).await;
    assert_eq!(a.status, 201, "{}", a.text);
    let app_id = a.body["id"].as_str().unwrap().to_owned();
    let w = app
        .post(
            &format!("/v1/campaigns/{id}/applications/{app_id}/withdraw"),
            Some(&ada.access),
            json!({}),
        )
        .await;
    assert_eq!(w.status, 200, "{}", w.text);
    assert_eq!(w.body["status"], "withdrawn", "{}", w.text);
    let d = app
        .post(
            &format!("/v1/campaigns/{id}/applications/{app_id}/decisions"),
            Some(&brand.access),
            json!({"decision": "accept"}),
        )
        .await;
    assert_eq!(d.status, 409, "{}", d.text);
    assert_eq!(budget().await, (json!("ACTIVE"), json!(30000)));

    // Invite-only: invisible and closed to creators not invited.
    let mut body = campaign_body(&app, 50_000).await;
    body["title"] = json!("Private launch");
    body["visibility"] = json!("invite_only");
    let p = app.post("/v1/campaigns", Some(&brand.access), body).await;
    assert_eq!(p.status, 201, "{}", p.text);
    let private = p.body["id"].as_str().unwrap().to_owned();
    let r = move_to(&private, "PUBLISHED").await;
    assert_eq!(r.body["status"], "PUBLISHED", "{}", r.text);
    assert!(!listed(&app, &ada).await.contains(&private));
    app.get(
        &format!("/v1/marketplace/campaigns/{private}"),
        Some(&ada.access),
    )
    .await
    .assert_problem(404, "not-found");
    apply(&ada, &private).await.assert_problem(404, "not-found");
    // Invited, the creator sees it and applies.
    let i = app
        .post(
            &format!("/v1/campaigns/{private}/invitations"),
            Some(&brand.access),
            json!({"creatorId": ada.user_id}),
        )
        .await;
    assert_eq!(i.status, 201, "{}", i.text);
    let seen = app
        .get(
            &format!("/v1/marketplace/campaigns/{private}"),
            Some(&ada.access),
        )
        .await;
    assert_eq!(seen.status, 200, "{}", seen.text);
    let a = apply(&ada, &private).await;
    assert_eq!(a.status, 201, "{}", a.text);
    assert_eq!(a.body["invited"], true, "{}", a.text);
    // Still hidden from everyone else.
    assert!(!listed(&app, &leo).await.contains(&private));
    apply(&leo, &private).await.assert_problem(404, "not-found");
}
