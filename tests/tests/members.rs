//! Invitations, seat limits, roles and the last-owner rule, agency access.

use integration_tests::{Session, TestApp};
use nexus_core::plans::Plan;
use nexus_devenv::race::race;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn invitations_respect_seat_limits_and_roles() {
    let app = TestApp::spawn().await;
    let (owner, org) = app.org_owner("brand").await;
    let invitee = app.verified_user().await;

    // Free: one seat, taken by the owner.
    let r = app
        .post(
            &format!("/v1/orgs/{org}/invitations"),
            Some(&owner.access),
            json!({"email": invitee.email, "role": "manager"}),
        )
        .await;
    r.assert_problem(402, "limit-reached");
    assert_eq!(r.body["limit"], "seats");
    assert_eq!(r.body["max"], 1);

    app.set_plan_in_store(&org, Plan::Starter).await; // 3 seats
    app.post(
        &format!("/v1/orgs/{org}/invitations"),
        Some(&owner.access),
        json!({"email": "x", "role": "owner"}),
    )
    .await
    .assert_problem(400, "validation-failed");
    let manager = app.join(&owner, &org, &invitee, "manager").await;
    let members = app
        .get(&format!("/v1/orgs/{org}/members"), Some(&owner.access))
        .await;
    assert_eq!(members.body["items"].as_array().unwrap().len(), 2);

    // A manager can't manage members; the owner can.
    let third = app.verified_user().await;
    app.post(
        &format!("/v1/orgs/{org}/invitations"),
        Some(&manager.access),
        json!({"email": third.email, "role": "viewer"}),
    )
    .await
    .assert_problem(403, "forbidden");
    let viewer = app.join(&owner, &org, &third, "viewer").await;
    // Third seat taken: a fourth invitation is over the limit.
    app.post(
        &format!("/v1/orgs/{org}/invitations"),
        Some(&owner.access),
        json!({"email": "four@example.com", "role": "viewer"}),
    )
    .await
    .assert_problem(402, "limit-reached");

    // The invitation is for its addressee only, and single use.
    app.set_plan_in_store(&org, Plan::Growth).await;
    let addressee = app.verified_user().await;
    let r = app
        .post(
            &format!("/v1/orgs/{org}/invitations"),
            Some(&owner.access),
            json!({"email": addressee.email, "role": "viewer"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let token = app.last_mail(&addressee.email, "invitation").await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let accept = |who: &str| {
        let (path, who) = (format!("/v1/invitations/{token}/accept"), who.to_owned());
        let app = &app;
        async move { app.post(&path, Some(&who), json!({})).await }
    };
    // Someone else holding the link (the viewer, already a member, and an outsider) can't use it.
    for other in [&viewer, &app.verified_user().await] {
        let r = accept(&other.access).await;
        r.assert_problem(403, "forbidden");
        assert!(r.text.contains("another e-mail address"), "{}", r.text);
    }
    let members_path = format!("/v1/orgs/{org}/members");
    let members_now = || async {
        let m = app.get(&members_path, Some(&owner.access)).await;
        assert_eq!(m.status, 200, "{}", m.text);
        m.body["items"].as_array().unwrap().len()
    };
    assert_eq!(
        members_now().await,
        3,
        "the refused acceptances added no one"
    );
    // The addressee can, once.
    let first = accept(&addressee.access).await;
    assert_eq!(first.status, 200, "{}", first.text);
    accept(&addressee.access)
        .await
        .assert_problem(404, "not-found");
    assert_eq!(members_now().await, 4);
    let patch = app
        .call(
            Method::PATCH,
            &format!("/v1/orgs/{org}/members/{}", manager.user_id),
            Some(&owner.access),
            Some(json!({"role": "admin"})),
        )
        .await;
    assert_eq!(patch.status, 200, "{}", patch.text);
    assert_eq!(patch.body["role"], "admin");

    // The last owner can't leave or be demoted; after sharing ownership, they can.
    let me = app
        .call(
            Method::DELETE,
            &format!("/v1/orgs/{org}/members/{}", owner.user_id),
            Some(&owner.access),
            None,
        )
        .await;
    me.assert_problem(409, "last-owner");
    let demote = app
        .call(
            Method::PATCH,
            &format!("/v1/orgs/{org}/members/{}", owner.user_id),
            Some(&owner.access),
            Some(json!({"role": "admin"})),
        )
        .await;
    demote.assert_problem(409, "last-owner");
    let transfer = app
        .call(
            Method::PATCH,
            &format!("/v1/orgs/{org}/members/{}", manager.user_id),
            Some(&owner.access),
            Some(json!({"role": "owner"})),
        )
        .await;
    assert_eq!(transfer.status, 200, "{}", transfer.text);
    let leave = app
        .call(
            Method::DELETE,
            &format!("/v1/orgs/{org}/members/{}", owner.user_id),
            Some(&owner.access),
            None,
        )
        .await;
    assert_eq!(leave.status, 204, "{}", leave.text);
    // Removed members lose the organization at their next refresh.
    let r = app
        .post(
            "/v1/auth/refresh",
            None,
            json!({"refreshToken": owner.refresh}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.body.get("orgId").is_none(), "{}", r.text);
}

/// Two invitees accept at the same moment, from their own HTTP clients,
/// for the organization's one remaining seat: exactly one gets in, every
/// time. (Growth allows the invitations; a downgrade to Starter's 3 seats
/// with 2 members leaves one seat for two pending invitations.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_acceptances_cannot_exceed_seats() {
    const ROUNDS: usize = 3;
    let app = TestApp::spawn_contended().await;
    let mut met = 0;
    for round in 0..ROUNDS {
        let (owner, org) = app.org_owner("brand").await;
        app.set_plan_in_store(&org, Plan::Growth).await;
        let member = app.verified_user().await;
        app.join(&owner, &org, &member, "viewer").await;
        let mut invitees = vec![];
        for _ in 0..2 {
            let u = app.verified_user().await;
            let r = app
                .post(
                    &format!("/v1/orgs/{org}/invitations"),
                    Some(&owner.access),
                    json!({"email": u.email, "role": "viewer"}),
                )
                .await;
            assert_eq!(r.status, 201, "{}", r.text);
            let token = app.last_mail(&u.email, "invitation").await["token"]
                .as_str()
                .unwrap()
                .to_owned();
            invitees.push((u, token));
        }
        app.set_plan_in_store(&org, Plan::Starter).await;
        let before = app.contention();
        let results = race(
            invitees
                .iter()
                .map(|(u, t)| {
                    // Each invitee on a client (connection) of their own.
                    let request = reqwest::Client::new()
                        .post(app.url(&format!("/v1/invitations/{t}/accept")))
                        .bearer_auth(&u.access)
                        .json(&json!({}));
                    async move {
                        let r = request.send().await.unwrap();
                        (r.status().as_u16(), r.text().await.unwrap())
                    }
                })
                .collect(),
        )
        .await;
        met += usize::from(app.contention() > before);
        let winners = results.iter().filter(|(s, _)| *s == 200).count();
        assert_eq!(winners, 1, "round {round}: {results:?}");
        let (status, text) = results.iter().find(|(s, _)| *s != 200).unwrap();
        assert_eq!(*status, 402, "round {round}: {text}");
        assert!(text.contains("limit-reached"), "{text}");
        let org_item = app
            .get(&format!("/v1/orgs/{org}"), Some(&owner.access))
            .await;
        assert_eq!(org_item.body["memberCount"], 3, "round {round}");
    }
    assert!(met > 0, "in {ROUNDS} rounds the two acceptances never met");
    eprintln!("seat race through the gateway: the writes met in {met} of {ROUNDS} rounds");
}

#[tokio::test]
async fn agency_members_act_in_a_client_brand_with_the_granted_role() {
    let app = TestApp::spawn().await;
    let (brand_owner, brand) = app.org_owner("brand").await;
    let (agency_owner, agency) = app.org_owner("agency").await;
    let g = app
        .post(
            &format!("/v1/orgs/{brand}/agency-grants"),
            Some(&brand_owner.access),
            json!({"agencyOrgId": agency, "role": "manager"}),
        )
        .await;
    assert_eq!(g.status, 201, "{}", g.text);
    app.post(
        &format!("/v1/orgs/{brand}/agency-grants"),
        Some(&brand_owner.access),
        json!({"agencyOrgId": brand, "role": "manager"}),
    )
    .await
    .assert_problem(400, "validation-failed");
    let s = app
        .post(
            "/v1/auth/switch-org",
            Some(&agency_owner.access),
            json!({"orgId": brand}),
        )
        .await;
    assert_eq!(s.status, 200, "{}", s.text);
    let as_agency = s.body["accessToken"].as_str().unwrap();
    assert_eq!(
        app.get(&format!("/v1/orgs/{brand}"), Some(as_agency))
            .await
            .status,
        200
    );
    // A manager, not an admin: member management stays with the brand.
    app.get(&format!("/v1/orgs/{brand}/audit-log"), Some(as_agency))
        .await
        .assert_problem(403, "forbidden");
}

/// The role a brand-scoped token acts with, as the API shows it: members
/// can be listed from analyst up, campaigns written from manager up.
async fn can_list_members(app: &TestApp, token: &str, org: &str) -> bool {
    let r = app
        .get(&format!("/v1/orgs/{org}/members"), Some(token))
        .await;
    assert!(r.status == 200 || r.status == 403, "{}", r.text);
    r.status == 200
}

async fn create_campaign(app: &TestApp, token: &str) -> integration_tests::Res {
    app.post(
        "/v1/campaigns",
        Some(token),
        json!({"title": "Agency draft"}),
    )
    .await
}

async fn switch(app: &TestApp, s: &Session, org: &str) -> integration_tests::Res {
    app.post(
        "/v1/auth/switch-org",
        Some(&s.access),
        json!({"orgId": org}),
    )
    .await
}

#[tokio::test]
async fn agency_grants_are_owner_only_capped_by_the_agency_role_and_revocable() {
    let app = TestApp::spawn().await;
    let (brand_owner, brand) = app.org_owner("brand").await;
    app.set_plan_in_store(&brand, Plan::Starter).await;
    let (agency_owner, agency) = app.org_owner("agency").await;
    app.set_plan_in_store(&agency, Plan::Starter).await;

    // A brand admin who owns an agency can't grant it access to the brand.
    let (admin_self, own_agency) = app.org_owner("agency").await;
    let brand_admin = app.join(&brand_owner, &brand, &admin_self, "admin").await;
    app.post(
        &format!("/v1/orgs/{brand}/agency-grants"),
        Some(&brand_admin.access),
        json!({"agencyOrgId": own_agency, "role": "admin"}),
    )
    .await
    .assert_problem(403, "forbidden");
    // The owner can.
    let g = app
        .post(
            &format!("/v1/orgs/{brand}/agency-grants"),
            Some(&brand_owner.access),
            json!({"agencyOrgId": agency, "role": "admin"}),
        )
        .await;
    assert_eq!(g.status, 201, "{}", g.text);

    // Each agency member acts with the lower of the grant and their agency role.
    let v = app.verified_user().await;
    let agency_viewer = app.join(&agency_owner, &agency, &v, "viewer").await;
    let m = app.verified_user().await;
    let agency_admin = app.join(&agency_owner, &agency, &m, "admin").await;
    let viewer_in_brand = switch(&app, &agency_viewer, &brand).await;
    assert_eq!(viewer_in_brand.status, 200, "{}", viewer_in_brand.text);
    let viewer_in_brand = viewer_in_brand.body["accessToken"].as_str().unwrap();
    assert!(!can_list_members(&app, viewer_in_brand, &brand).await);
    create_campaign(&app, viewer_in_brand)
        .await
        .assert_problem(403, "forbidden");
    let admin_in_brand = switch(&app, &agency_admin, &brand).await;
    let admin_in_brand = admin_in_brand.body["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(can_list_members(&app, &admin_in_brand, &brand).await);
    let c = create_campaign(&app, &admin_in_brand).await;
    assert_eq!(c.status, 201, "{}", c.text);

    // The agency lowers its admin to viewer: the brand-scoped token it holds
    // (role admin) no longer writes in the brand.
    let lowered = app
        .call(
            Method::PATCH,
            &format!("/v1/orgs/{agency}/members/{}", agency_admin.user_id),
            Some(&agency_owner.access),
            Some(json!({"role": "viewer"})),
        )
        .await;
    assert_eq!(lowered.status, 200, "{}", lowered.text);
    create_campaign(&app, &admin_in_brand)
        .await
        .assert_problem(403, "forbidden");
    app.post(
        &format!("/v1/orgs/{brand}/invitations"),
        Some(&admin_in_brand),
        json!({"email": "friend@example.com", "role": "admin"}),
    )
    .await
    .assert_problem(403, "forbidden");

    // Revocation (an admin may end access) takes effect on every path.
    let owner_in_brand = switch(&app, &agency_owner, &brand).await;
    assert_eq!(owner_in_brand.status, 200, "{}", owner_in_brand.text);
    let owner_access = owner_in_brand.body["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let owner_refresh = owner_in_brand.body["refreshToken"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(create_campaign(&app, &owner_access).await.status, 201);
    let revoked = app
        .call(
            Method::DELETE,
            &format!("/v1/orgs/{brand}/agency-grants/{agency}"),
            Some(&brand_admin.access),
            None,
        )
        .await;
    assert_eq!(revoked.status, 204, "{}", revoked.text);
    // A token already scoped to the brand can't write there any more ...
    create_campaign(&app, &owner_access)
        .await
        .assert_problem(403, "forbidden");
    // ... nor switch or refresh into it.
    switch(&app, &agency_owner, &brand)
        .await
        .assert_problem(404, "not-found");
    let r = app
        .post(
            "/v1/auth/refresh",
            None,
            json!({"refreshToken": owner_refresh}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.body.get("orgId").is_none(), "{}", r.text);
    let grants = app
        .get(
            &format!("/v1/orgs/{brand}/agency-grants"),
            Some(&brand_owner.access),
        )
        .await;
    assert_eq!(grants.body["items"], json!([]), "{}", grants.text);
    app.call(
        Method::DELETE,
        &format!("/v1/orgs/{brand}/agency-grants/{agency}"),
        Some(&brand_owner.access),
        None,
    )
    .await
    .assert_problem(404, "not-found");
    // The audit log names the revocation.
    app.settle().await;
    let log = app
        .get(
            &format!("/v1/orgs/{brand}/audit-log"),
            Some(&brand_owner.access),
        )
        .await;
    assert!(log.text.contains("AgencyGrantRevoked"), "{}", log.text);
}

#[tokio::test]
async fn a_demoted_or_removed_admin_cannot_act_with_the_old_token() {
    let app = TestApp::spawn().await;
    let (owner, org) = app.org_owner("brand").await;
    app.set_plan_in_store(&org, Plan::Growth).await;
    let a = app.verified_user().await;
    let admin = app.join(&owner, &org, &a, "admin").await;
    let v = app.verified_user().await;
    let viewer = app.join(&owner, &org, &v, "viewer").await;
    let key = app
        .post(
            &format!("/v1/orgs/{org}/api-keys"),
            Some(&owner.access),
            json!({"name": "k", "scopes": ["org:read"]}),
        )
        .await;
    let key_id = key.body["id"].as_str().unwrap().to_owned();
    let inv = app
        .post(
            &format!("/v1/orgs/{org}/invitations"),
            Some(&owner.access),
            json!({"email": "pending@example.com", "role": "viewer"}),
        )
        .await;
    let inv_id = inv.body["id"].as_str().unwrap().to_owned();

    let demote = app
        .call(
            Method::PATCH,
            &format!("/v1/orgs/{org}/members/{}", admin.user_id),
            Some(&owner.access),
            Some(json!({"role": "viewer"})),
        )
        .await;
    assert_eq!(demote.status, 200, "{}", demote.text);

    // `admin.access` still says "admin" for up to 15 minutes; no write trusts it.
    let stale = &admin.access;
    let attempts = [
        (
            Method::PATCH,
            format!("/v1/orgs/{org}/members/{}", admin.user_id),
            Some(json!({"role": "admin"})),
        ),
        (
            Method::PATCH,
            format!("/v1/orgs/{org}/members/{}", viewer.user_id),
            Some(json!({"role": "manager"})),
        ),
        (
            Method::DELETE,
            format!("/v1/orgs/{org}/members/{}", viewer.user_id),
            None,
        ),
        (
            Method::POST,
            format!("/v1/orgs/{org}/invitations"),
            Some(json!({"email": "mine@example.com", "role": "admin"})),
        ),
        (
            Method::DELETE,
            format!("/v1/orgs/{org}/invitations/{inv_id}"),
            None,
        ),
        (
            Method::POST,
            format!("/v1/orgs/{org}/api-keys"),
            Some(json!({"name": "mine", "scopes": ["campaigns:write"]})),
        ),
        (
            Method::DELETE,
            format!("/v1/orgs/{org}/api-keys/{key_id}"),
            None,
        ),
        (
            Method::POST,
            format!("/v1/orgs/{org}/agency-grants"),
            Some(json!({"agencyOrgId": org, "role": "admin"})),
        ),
    ];
    for (method, path, body) in &attempts {
        let r = app
            .call(method.clone(), path, Some(stale), body.clone())
            .await;
        assert_eq!(r.status, 403, "{method} {path}: {}", r.text);
        r.assert_problem(403, "forbidden");
    }
    let members = app
        .get(&format!("/v1/orgs/{org}/members"), Some(&owner.access))
        .await;
    let role_of = |id: &str| {
        members.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["userId"] == id)
            .map(|m| m["role"].clone())
    };
    assert_eq!(role_of(&admin.user_id), Some(json!("viewer")));
    assert_eq!(role_of(&viewer.user_id), Some(json!("viewer")));
    let k = app
        .get(
            &format!("/v1/orgs/{org}/api-keys/{key_id}"),
            Some(&owner.access),
        )
        .await;
    assert!(k.body["revokedAt"].is_null(), "{}", k.text);

    // Promoted back by the owner, the same stale token works again: the role
    // held now decides, whatever the token says.
    app.call(
        Method::PATCH,
        &format!("/v1/orgs/{org}/members/{}", admin.user_id),
        Some(&owner.access),
        Some(json!({"role": "admin"})),
    )
    .await;
    let ok = app
        .post(
            &format!("/v1/orgs/{org}/invitations"),
            Some(stale),
            json!({"email": "colleague@example.com", "role": "viewer"}),
        )
        .await;
    assert_eq!(ok.status, 201, "{}", ok.text);
    // Removed: nothing.
    let removed = app
        .call(
            Method::DELETE,
            &format!("/v1/orgs/{org}/members/{}", admin.user_id),
            Some(&owner.access),
            None,
        )
        .await;
    assert_eq!(removed.status, 204, "{}", removed.text);
    app.post(
        &format!("/v1/orgs/{org}/invitations"),
        Some(stale),
        json!({"email": "another@example.com", "role": "viewer"}),
    )
    .await
    .assert_problem(403, "forbidden");
}

#[tokio::test]
async fn a_new_invitation_replaces_the_old_link_and_invitations_can_be_cancelled() {
    let app = TestApp::spawn().await;
    let (owner, org) = app.org_owner("brand").await;
    app.set_plan_in_store(&org, Plan::Starter).await; // 3 seats
    let x = app.verified_user().await;
    let invite = |email: String, role: &'static str| {
        let (app, owner, org) = (&app, &owner, &org);
        async move {
            app.post(
                &format!("/v1/orgs/{org}/invitations"),
                Some(&owner.access),
                json!({"email": email, "role": role}),
            )
            .await
        }
    };
    let token = |email: String| {
        let app = &app;
        async move {
            app.last_mail(&email, "invitation").await["token"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let first = invite(x.email.clone(), "admin").await;
    assert_eq!(first.status, 201, "{}", first.text);
    let admin_link = token(x.email.clone()).await;
    let second = invite(x.email.clone(), "viewer").await;
    assert_eq!(second.status, 201, "{}", second.text);
    assert_ne!(first.body["id"], second.body["id"]);
    let viewer_link = token(x.email.clone()).await;
    assert_ne!(admin_link, viewer_link);

    // One pending invitation, the newest, without its token.
    let list = app
        .get(&format!("/v1/orgs/{org}/invitations"), Some(&owner.access))
        .await;
    assert_eq!(list.status, 200, "{}", list.text);
    let items = list.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", list.text);
    assert_eq!(items[0]["role"], "viewer");
    assert_eq!(items[0]["id"], second.body["id"]);
    assert!(!list.text.contains("tokenHash"), "{}", list.text);

    // The earlier link (and its admin role) is dead; the new one works.
    let accept = |t: String| {
        let (app, x) = (&app, &x);
        async move {
            app.post(
                &format!("/v1/invitations/{t}/accept"),
                Some(&x.access),
                json!({}),
            )
            .await
        }
    };
    accept(admin_link).await.assert_problem(404, "not-found");
    let joined = accept(viewer_link).await;
    assert_eq!(joined.status, 200, "{}", joined.text);
    assert_eq!(joined.body["role"], "viewer");

    // Cancelling: the link stops working and the seat is free again.
    let y = app.verified_user().await;
    let pending = invite(y.email.clone(), "manager").await;
    let y_link = token(y.email.clone()).await;
    let full = invite("z@example.com".into(), "viewer").await;
    full.assert_problem(402, "limit-reached"); // owner + x + pending y
    let id = pending.body["id"].as_str().unwrap();
    let cancel = app
        .call(
            Method::DELETE,
            &format!("/v1/orgs/{org}/invitations/{id}"),
            Some(&owner.access),
            None,
        )
        .await;
    assert_eq!(cancel.status, 204, "{}", cancel.text);
    app.post(
        &format!("/v1/invitations/{y_link}/accept"),
        Some(&y.access),
        json!({}),
    )
    .await
    .assert_problem(404, "not-found");
    app.call(
        Method::DELETE,
        &format!("/v1/orgs/{org}/invitations/{id}"),
        Some(&owner.access),
        None,
    )
    .await
    .assert_problem(404, "not-found");
    assert_eq!(invite("z@example.com".into(), "viewer").await.status, 201);
    // A member of lower rank can neither list nor cancel.
    let member = Session {
        access: switch(&app, &x, &org).await.body["accessToken"]
            .as_str()
            .unwrap()
            .to_owned(),
        ..x.clone()
    };
    app.get(&format!("/v1/orgs/{org}/invitations"), Some(&member.access))
        .await
        .assert_problem(403, "forbidden");
    app.settle().await;
    let log = app
        .get(&format!("/v1/orgs/{org}/audit-log"), Some(&owner.access))
        .await;
    assert!(log.text.contains("InvitationCancelled"), "{}", log.text);
}

#[tokio::test]
async fn idempotency_keys_are_scoped_to_the_active_organization() {
    let app = TestApp::spawn().await;
    let (owner, org_a) = app.org_owner("brand").await;
    let b = app
        .post(
            "/v1/orgs",
            Some(&owner.access),
            json!({"name": "Second Brand", "kind": "brand"}),
        )
        .await;
    let org_b = b.body["id"].as_str().unwrap().to_owned();
    let create = |token: String| {
        let app = &app;
        async move {
            app.raw(
                app.client
                    .post(app.url("/v1/campaigns"))
                    .bearer_auth(token)
                    .header("idempotency-key", "launch-1")
                    .json(&json!({"title": "Launch"})),
            )
            .await
        }
    };
    let in_a = create(owner.access.clone()).await;
    assert_eq!(in_a.status, 201, "{}", in_a.text);
    let in_b_token = switch(&app, &owner, &org_b).await.body["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    // Same caller, same key, same body, other organization: a new campaign there.
    let in_b = create(in_b_token.clone()).await;
    assert_eq!(in_b.status, 201, "{}", in_b.text);
    assert!(in_b.headers.get("idempotent-replayed").is_none());
    assert_ne!(in_b.body["id"], in_a.body["id"]);
    assert_eq!(in_b.body["orgId"], org_b.as_str());
    // Within one organization the key still replays.
    let again = create(in_b_token).await;
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(again.body["id"], in_b.body["id"]);
    let again_a = create(owner.access.clone()).await;
    assert_eq!(again_a.body["id"], in_a.body["id"]);
    assert_eq!(again_a.body["orgId"], org_a.as_str());
}

#[tokio::test]
async fn members_whose_token_is_scoped_elsewhere_are_told_to_switch() {
    let app = TestApp::spawn().await;
    let (owner, org_a) = app.org_owner("brand").await;
    let b = app
        .post(
            "/v1/orgs",
            Some(&owner.access),
            json!({"name": "Second Brand", "kind": "brand"}),
        )
        .await;
    assert_eq!(b.status, 201, "{}", b.text);
    let org_b = b.body["id"].as_str().unwrap().to_owned();
    // The token is still scoped to A: B is the caller's, so say what to do.
    let r = app
        .get(&format!("/v1/orgs/{org_b}"), Some(&owner.access))
        .await;
    r.assert_problem(403, "org-not-active");
    assert_eq!(r.body["orgId"], org_b.as_str());
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("POST /v1/auth/switch-org"),
        "{}",
        r.text
    );
    app.post(
        &format!("/v1/orgs/{org_b}/invitations"),
        Some(&owner.access),
        json!({"email": "x@example.com", "role": "viewer"}),
    )
    .await
    .assert_problem(403, "org-not-active");
    // Someone else's organization stays invisible: same 404 as a missing one.
    let (_, org_c) = app.org_owner("brand").await;
    let missing = format!("org_{}", ulid::Ulid::new());
    for other in [&org_c, &missing] {
        let r = app
            .get(&format!("/v1/orgs/{other}"), Some(&owner.access))
            .await;
        r.assert_problem(404, "not-found");
        assert!(!r.text.contains("switch-org"), "{}", r.text);
    }
    // An agency member is told the same about a brand their agency serves.
    let (agency_owner, agency) = app.org_owner("agency").await;
    app.get(&format!("/v1/orgs/{org_a}"), Some(&agency_owner.access))
        .await
        .assert_problem(404, "not-found");
    let g = app
        .post(
            &format!("/v1/orgs/{org_a}/agency-grants"),
            Some(&owner.access),
            json!({"agencyOrgId": agency, "role": "viewer"}),
        )
        .await;
    assert_eq!(g.status, 201, "{}", g.text);
    app.get(&format!("/v1/orgs/{org_a}"), Some(&agency_owner.access))
        .await
        .assert_problem(403, "org-not-active");
    // After switching, it answers.
    let t = switch(&app, &owner, &org_b).await;
    let r = app
        .get(
            &format!("/v1/orgs/{org_b}"),
            Some(t.body["accessToken"].as_str().unwrap()),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}
