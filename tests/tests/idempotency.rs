//! `Idempotency-Key` over HTTP, as docs/api.md promises it: replays,
//! reuse with another body, a retry while the first attempt runs, a failed
//! first attempt, and keys scoped to their caller.

use integration_tests::TestApp;
use nexus_core::plans::Plan;
use nexus_devenv::race::race;
use reqwest::Method;
use serde_json::{json, Value};

async fn post_keyed(
    app: &TestApp,
    path: &str,
    token: &str,
    key: &str,
    body: Value,
) -> integration_tests::Res {
    app.raw(
        app.client
            .post(app.url(path))
            .bearer_auth(token)
            .header("idempotency-key", key)
            .json(&body),
    )
    .await
}

fn replayed(r: &integration_tests::Res) -> bool {
    r.headers
        .get("idempotent-replayed")
        .is_some_and(|v| v == "true")
}

#[tokio::test]
async fn a_replay_returns_the_first_answer_and_does_not_do_the_work_again() {
    let app = TestApp::spawn().await;
    let (owner, org) = app.org_owner("brand").await;

    let body = json!({"title": "Winter glow launch"});
    let first = post_keyed(
        &app,
        "/v1/campaigns",
        &owner.access,
        "launch-1",
        body.clone(),
    )
    .await;
    assert_eq!(first.status, 201, "{}", first.text);
    assert!(!replayed(&first));
    let again = post_keyed(&app, "/v1/campaigns", &owner.access, "launch-1", body).await;
    assert_eq!(again.status, 201, "{}", again.text);
    assert!(replayed(&again), "a replay says so");
    assert_eq!(
        again.body, first.body,
        "the stored answer, byte for byte in content"
    );
    assert_eq!(again.headers["location"], first.headers["location"]);
    let list = app.get("/v1/campaigns", Some(&owner.access)).await;
    assert_eq!(
        list.body["items"].as_array().unwrap().len(),
        1,
        "{}",
        list.text
    );

    // Same key, another body: refused, and nothing is created.
    let other = post_keyed(
        &app,
        "/v1/campaigns",
        &owner.access,
        "launch-1",
        json!({"title": "Spring"}),
    )
    .await;
    other.assert_problem(422, "idempotency-key-reused");
    let list = app.get("/v1/campaigns", Some(&owner.access)).await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);

    // A replayed invitation sends no second e-mail.
    app.set_plan_in_store(&org, Plan::Starter).await;
    let invitee = app.verified_user().await;
    let path = format!("/v1/orgs/{org}/invitations");
    let invite = json!({"email": invitee.email, "role": "viewer"});
    let first = post_keyed(&app, &path, &owner.access, "inv-1", invite.clone()).await;
    assert_eq!(first.status, 201, "{}", first.text);
    let again = post_keyed(&app, &path, &owner.access, "inv-1", invite).await;
    assert_eq!(again.status, 201, "{}", again.text);
    assert!(replayed(&again));
    assert_eq!(app.mail_count(&invitee.email, "invitation").await, 1);
}

#[tokio::test]
async fn a_failed_first_attempt_leaves_the_key_free_for_the_retry() {
    let app = TestApp::spawn().await;
    let (owner, org) = app.org_owner("brand").await; // Free: one seat, the owner's
    let invitee = app.verified_user().await;
    let path = format!("/v1/orgs/{org}/invitations");
    let invite = json!({"email": invitee.email, "role": "viewer"});
    let refused = post_keyed(&app, &path, &owner.access, "inv-1", invite.clone()).await;
    refused.assert_problem(402, "limit-reached");
    app.set_plan_in_store(&org, Plan::Starter).await;
    let retried = post_keyed(&app, &path, &owner.access, "inv-1", invite).await;
    assert_eq!(
        retried.status, 201,
        "the retry runs afresh: {}",
        retried.text
    );
    assert!(!replayed(&retried), "not a replay of the refusal");
    assert_eq!(app.mail_count(&invitee.email, "invitation").await, 1);
}

#[tokio::test]
async fn keys_belong_to_their_caller() {
    let app = TestApp::spawn().await;
    let (owner, org) = app.org_owner("brand").await;
    app.set_plan_in_store(&org, Plan::Starter).await;
    let admin = app.verified_user().await;
    let admin = app.join(&owner, &org, &admin, "admin").await;
    let body = json!({"title": "Same words"});
    let a = post_keyed(&app, "/v1/campaigns", &owner.access, "k", body.clone()).await;
    let b = post_keyed(&app, "/v1/campaigns", &admin.access, "k", body).await;
    assert_eq!(
        (a.status.as_u16(), b.status.as_u16()),
        (201, 201),
        "{} {}",
        a.text,
        b.text
    );
    assert!(!replayed(&b), "another caller's key is another request");
    assert_ne!(a.body["id"], b.body["id"]);
    let list = app.get("/v1/campaigns", Some(&owner.access)).await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 2);
}

/// Clients released together with one key: one runs, the others are told
/// to wait (409 + `Retry-After`) or, once it finished, get its answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_while_the_first_attempt_runs_is_told_to_wait() {
    const CLIENTS: usize = 4;
    let app = TestApp::spawn().await;
    let (owner, _org) = app.org_owner("brand").await;
    let mut waits = 0;
    let mut rounds = 0;
    for round in 0..10 {
        rounds += 1;
        let key = format!("race-{round}");
        let responses = race(
            (0..CLIENTS)
                .map(|_| {
                    let request = reqwest::Client::new()
                        .post(app.url("/v1/campaigns"))
                        .bearer_auth(&owner.access)
                        .header("idempotency-key", &key)
                        .json(&json!({"title": "Rush"}));
                    async move { request.send().await.unwrap() }
                })
                .collect(),
        )
        .await;
        let mut originals = 0;
        let mut created = None;
        for response in responses {
            let r = integration_tests::read(response).await;
            match r.status.as_u16() {
                201 => {
                    if !replayed(&r) {
                        originals += 1;
                    }
                    let id = r.body["id"].clone();
                    assert!(created.get_or_insert(id.clone()) == &id, "one campaign");
                }
                409 => {
                    r.assert_problem(409, "idempotency-in-progress");
                    assert_eq!(r.headers["retry-after"], "1");
                    waits += 1;
                }
                _ => panic!("round {round}: {} {}", r.status, r.text),
            }
        }
        assert_eq!(originals, 1, "round {round}: the work ran once");
        if waits > 0 && round >= 2 {
            break;
        }
    }
    assert!(waits > 0, "no request ever met the first one running");
    let list = app
        .call(
            Method::GET,
            "/v1/campaigns?limit=100",
            Some(&owner.access),
            None,
        )
        .await;
    let created = list.body["items"].as_array().unwrap().len();
    assert_eq!(created, rounds, "one campaign per key");
}
