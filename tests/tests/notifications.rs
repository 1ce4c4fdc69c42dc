//! Marketplace events become notifications for the right people: the creator,
//! and the brand's owners, admins and managers (not viewers). Each person sees
//! only their own, reads them once, and a redelivered event changes nothing.

use integration_tests::{Session, TestApp};
use nexus_core::events::DomainEvent;
use nexus_core::plans::Plan;
use nexus_core::{OrgId, Timestamp};
use serde_json::{json, Value};

fn contract_signed(org: &str, creator: &str) -> DomainEvent {
    DomainEvent::new(
        "contracts",
        "ContractSigned",
        Some(org.parse::<OrgId>().unwrap()),
        "system",
        Timestamp::now(),
        json!({
            "contractId": "ctr_01JDQ8M3ZP6T0N7W4C5B2X9Y8C",
            "campaignId": "cmp_01JDQ8M3ZP6T0N7W4C5B2X9Y8D",
            "campaignTitle": "Winter Glow",
            "creatorId": creator,
            "orgId": org,
        }),
    )
}

async fn items(app: &TestApp, s: &Session, query: &str) -> Vec<Value> {
    let r = app
        .get(&format!("/v1/notifications{query}"), Some(&s.access))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["items"].as_array().unwrap().clone()
}

async fn unread(app: &TestApp, s: &Session) -> u64 {
    let r = app
        .get("/v1/notifications/unread-count", Some(&s.access))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["unread"].as_u64().unwrap()
}

async fn notification_mails(app: &TestApp, to: &str) -> Vec<Value> {
    app.outbox(to)
        .await
        .into_iter()
        .filter(|m| m["template"] == "notification")
        .collect()
}

#[tokio::test]
async fn marketplace_events_notify_the_creator_and_the_brand_once() {
    let app = TestApp::spawn().await;
    let (owner, org) = app.org_owner("brand").await;
    app.set_plan_in_store(&org, Plan::Growth).await;
    let m = app.verified_user().await;
    let manager = app.join(&owner, &org, &m, "manager").await;
    let v = app.verified_user().await;
    let viewer = app.join(&owner, &org, &v, "viewer").await;
    let creator = app.verified_user().await;

    let event = contract_signed(&org, &creator.user_id);
    app.emit_in_store(event.clone()).await;

    // The creator, the owner and the manager each get one; the viewer none.
    let mine = items(&app, &creator, "").await;
    assert_eq!(mine.len(), 1, "{mine:?}");
    let n = &mine[0];
    let id = n["id"].as_str().unwrap().to_owned();
    assert_eq!(id, format!("ntf_{}", event.id.ulid()));
    assert_eq!(n["kind"], "ContractSigned");
    assert_eq!(n["title"], "Contract signed");
    assert_eq!(n["read"], false);
    assert_eq!(n["userId"], creator.user_id.as_str());
    assert_eq!(n["link"], "/v1/contracts/ctr_01JDQ8M3ZP6T0N7W4C5B2X9Y8C");
    assert!(n["body"].as_str().unwrap().contains("Winter Glow"), "{n}");
    assert_eq!(unread(&app, &creator).await, 1);
    for brand in [&owner, &manager] {
        assert_eq!(items(&app, brand, "").await.len(), 1);
        assert_eq!(unread(&app, brand).await, 1);
    }
    assert!(items(&app, &viewer, "").await.is_empty());
    assert_eq!(unread(&app, &viewer).await, 0);

    // And an e-mail each.
    let mails = notification_mails(&app, &creator.email).await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0]["subject"], "Contract signed");
    assert_eq!(notification_mails(&app, &manager.email).await.len(), 1);
    assert!(notification_mails(&app, &viewer.email).await.is_empty());

    // EventBridge delivers at least once: the same event again changes nothing.
    let d = event.detail();
    let failed = app
        .local
        .platform()
        .events
        .publish(&[nexus_ports::events::OutboxEvent {
            event_id: event.id.to_string(),
            source: event.source.clone(),
            detail_type: event.detail_type.clone(),
            detail: d.to_string(),
            time: event.occurred_at.to_string(),
        }])
        .await
        .unwrap();
    assert!(failed.is_empty(), "{failed:?}");
    app.settle().await;
    assert_eq!(items(&app, &creator, "").await.len(), 1);
    assert_eq!(unread(&app, &creator).await, 1);
    assert_eq!(notification_mails(&app, &creator.email).await.len(), 1);

    // Someone the event did not notify can't mark it read: it is not theirs.
    // (The id comes from the event, so each recipient's copy shares it and
    // the owner marking this id would mark the owner's own copy.)
    let path = format!("/v1/notifications/{id}/read");
    app.post(&path, Some(&viewer.access), json!({}))
        .await
        .assert_problem(404, "not-found");
    assert_eq!(unread(&app, &creator).await, 1);

    // Marking read twice counts once.
    for _ in 0..2 {
        let r = app.post(&path, Some(&creator.access), json!({})).await;
        assert_eq!(r.status, 204, "{}", r.text);
    }
    assert_eq!(unread(&app, &creator).await, 0);
    assert_eq!(items(&app, &creator, "").await[0]["read"], true);
    assert!(items(&app, &creator, "?unread=true").await.is_empty());
    // The owner's copy is untouched.
    assert_eq!(unread(&app, &owner).await, 1);
}

#[tokio::test]
async fn read_all_pages_and_people_only() {
    let app = TestApp::spawn().await;
    let (owner, org) = app.org_owner("brand").await;
    let creator = app.verified_user().await;
    for n in 1..=3 {
        app.emit_in_store(DomainEvent::new(
            "contracts",
            "DeliverableDueSoon",
            Some(org.parse::<OrgId>().unwrap()),
            "system",
            Timestamp::now(),
            json!({"contractId": "ctr_01JDQ8M3ZP6T0N7W4C5B2X9Y8C", "campaignId": "cmp_01JDQ8M3ZP6T0N7W4C5B2X9Y8D",
                   "creatorId": creator.user_id, "orgId": org, "n": n, "dueAt": "2026-12-01T00:00:00Z"}),
        ))
        .await;
    }
    app.emit_in_store(DomainEvent::new(
        "creators",
        "VerificationReviewed",
        None,
        "usr_01JDQ8M3ZP6T0N7W4C5B2X9Y8K",
        Timestamp::now(),
        json!({"requestId": "vrq_01JDQ8M3ZP6T0N7W4C5B2X9Y8E", "creatorId": creator.user_id, "kind": "social", "status": "approved"}),
    ))
    .await;
    assert_eq!(unread(&app, &creator).await, 4);
    // Due-soon is for the creator only.
    assert!(items(&app, &owner, "").await.is_empty());

    // Cursor pagination, newest first.
    let first = app
        .get("/v1/notifications?limit=3", Some(&creator.access))
        .await;
    assert_eq!(first.body["items"].as_array().unwrap().len(), 3);
    assert_eq!(first.body["items"][0]["kind"], "VerificationReviewed");
    let cursor = first.body["nextCursor"].as_str().expect("a next page");
    let second = app
        .get(
            &format!("/v1/notifications?limit=3&cursor={cursor}"),
            Some(&creator.access),
        )
        .await;
    assert_eq!(second.body["items"].as_array().unwrap().len(), 1);
    assert!(second.body["nextCursor"].is_null(), "{}", second.text);

    // Read one, then all: only the unread ones move the counter.
    let one = first.body["items"][1]["id"].as_str().unwrap();
    let r = app
        .post(
            &format!("/v1/notifications/{one}/read"),
            Some(&creator.access),
            json!({}),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(items(&app, &creator, "?unread=true").await.len(), 3);
    let all = app
        .post(
            "/v1/notifications/read-all",
            Some(&creator.access),
            json!({}),
        )
        .await;
    assert_eq!(all.status, 200, "{}", all.text);
    assert_eq!(all.body, json!({"marked": 3, "unread": 0}));
    assert_eq!(unread(&app, &creator).await, 0);
    assert!(items(&app, &creator, "?unread=true").await.is_empty());
    let again = app
        .post(
            "/v1/notifications/read-all",
            Some(&creator.access),
            json!({}),
        )
        .await;
    assert_eq!(again.body, json!({"marked": 0, "unread": 0}));

    // Notifications belong to people: API keys are refused.
    app.set_plan_in_store(&org, Plan::Growth).await;
    let key = app
        .post(
            &format!("/v1/orgs/{org}/api-keys"),
            Some(&owner.access),
            json!({"name": "k", "scopes": ["org:read"]}),
        )
        .await;
    let key = key.body["key"].as_str().unwrap();
    app.get("/v1/notifications", Some(key))
        .await
        .assert_problem(403, "forbidden");
    app.get("/v1/notifications?unread=maybe", Some(&creator.access))
        .await
        .assert_problem(400, "validation-failed");
}
