//! The local platform refuses what IAM would refuse: each function's calls
//! are checked against its own `Policies` in template.yaml (local/src/parity.rs).
//! Tests run in refuse mode, so every other gateway test also proves its
//! functions' policies cover what they call; `make dev` only warns.

use integration_tests::TestApp;
use nexus_local::parity::ParityMode;
use nexus_local::Options;
use serde_json::json;

/// template.yaml with the orgs function's table access removed.
fn template_without_orgs_table_access() -> std::path::PathBuf {
    let root = nexus_devenv::repo_root();
    let text = std::fs::read_to_string(root.join("template.yaml")).unwrap();
    let start = text
        .find("\n  OrgsFunction:\n")
        .expect("OrgsFunction in template.yaml");
    let grant = "        - DynamoDBCrudPolicy:\n            TableName: !Ref Table\n";
    let at = start
        + text[start..]
            .find(grant)
            .expect("OrgsFunction's table policy");
    let next_function = start + 1 + text[start + 1..].find("\n  ").unwrap();
    assert!(at < next_function + text[next_function..].find("Events:").unwrap());
    let edited = format!("{}{}", &text[..at], &text[at + grant.len()..]);
    // Beside the real one, so relative paths (CodeUri) resolve the same way.
    let path = root.join("target").join(format!(
        "parity-template-{}.yaml",
        ulid::Ulid::new().to_string().to_lowercase()
    ));
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, edited).unwrap();
    path
}

#[tokio::test]
async fn a_call_the_functions_policies_do_not_allow_fails_like_access_denied() {
    let template = template_without_orgs_table_access();
    let t = template.clone();
    let app = TestApp::spawn_with(move |o| Options { template: t, ..o }).await;
    let owner = app.verified_user().await;

    // Read directly: a 500 is the failure this test injects, not part of the
    // documented contract the other requests are checked against.
    let r = integration_tests::read(
        app.client
            .post(app.url("/v1/orgs"))
            .bearer_auth(&owner.access)
            .json(&json!({"name": "Acme Beauty", "kind": "brand"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 500, "{}", r.text);
    assert_eq!(r.content_type(), "application/problem+json");
    let refused = app.local.parity_violations();
    assert!(
        refused
            .iter()
            .any(|v| v.function == "OrgsFunction" && v.action.starts_with("dynamodb:")),
        "{refused:?}"
    );
    // Only the function whose policy was removed is refused.
    assert!(
        refused.iter().all(|v| v.function == "OrgsFunction"),
        "{refused:?}"
    );
    drop(app);
    let _ = std::fs::remove_file(template);
}

#[tokio::test]
async fn in_make_dev_the_call_goes_through_with_a_parity_warning() {
    let template = template_without_orgs_table_access();
    let t = template.clone();
    let app = TestApp::spawn_with(move |o| Options {
        template: t,
        parity: ParityMode::Warn,
        ..o
    })
    .await;
    let owner = app.verified_user().await;
    let r = app
        .post(
            "/v1/orgs",
            Some(&owner.access),
            json!({"name": "Acme Beauty", "kind": "brand"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let warned = app.local.parity_violations();
    assert!(
        warned.iter().any(|v| v.function == "OrgsFunction"
            && v.action.starts_with("dynamodb:")
            && v.resource.contains(app.local.table_name())),
        "{warned:?}"
    );
    drop(app);
    let _ = std::fs::remove_file(template);
}

#[tokio::test]
async fn the_real_template_allows_what_its_functions_call() {
    let app = TestApp::spawn().await;
    // Identity (secrets, table), orgs, invitations (account mail: SES),
    // the outbox publisher (EventBridge), audit and notifications.
    let (owner, org) = app.org_owner("brand").await;
    app.set_plan_in_store(&org, nexus_core::plans::Plan::Growth)
        .await;
    let member = app.verified_user().await;
    app.join(&owner, &org, &member, "viewer").await;
    let r = app
        .get(&format!("/v1/orgs/{org}/members"), Some(&owner.access))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    app.settle().await;
    assert_eq!(app.local.parity_violations(), vec![]);
    drop(app);
}
