//! API keys: plan-gated, shown once, scoped, revocable, with last use.

use integration_tests::TestApp;
use nexus_core::plans::Plan;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn keys_are_plan_gated_scoped_and_revocable() {
    let app = TestApp::spawn().await;
    let (owner, org) = app.org_owner("brand").await;
    let body = json!({"name": "Shopify sync", "scopes": ["org:read"]});
    app.post(
        &format!("/v1/orgs/{org}/api-keys"),
        Some(&owner.access),
        body.clone(),
    )
    .await
    .assert_problem(402, "limit-reached");
    app.set_plan_in_store(&org, Plan::Growth).await;
    app.post(
        &format!("/v1/orgs/{org}/api-keys"),
        Some(&owner.access),
        json!({"name": "x", "scopes": ["org:admin"]}),
    )
    .await
    .assert_problem(400, "validation-failed");
    let k = app
        .post(
            &format!("/v1/orgs/{org}/api-keys"),
            Some(&owner.access),
            body,
        )
        .await;
    assert_eq!(k.status, 201, "{}", k.text);
    let key = k.body["key"].as_str().unwrap().to_owned();
    let id = k.body["id"].as_str().unwrap().to_owned();
    assert!(key.starts_with("nxk_"));

    // X-Api-Key and Bearer both work; the scope allows reading the org, not its members' management.
    let via_header = app
        .raw(
            app.client
                .get(app.url(&format!("/v1/orgs/{org}")))
                .header("x-api-key", &key),
        )
        .await;
    assert_eq!(via_header.status, 200, "{}", via_header.text);
    assert_eq!(
        app.get(&format!("/v1/orgs/{org}"), Some(&key)).await.status,
        200
    );
    app.get(&format!("/v1/orgs/{org}/api-keys"), Some(&key))
        .await
        .assert_problem(403, "forbidden");
    // Keys can't act in another tenant, nor as a user.
    let (_, other) = app.org_owner("brand").await;
    app.get(&format!("/v1/orgs/{other}"), Some(&key))
        .await
        .assert_problem(404, "not-found");
    app.post(
        "/v1/orgs",
        Some(&key),
        json!({"name": "Nope", "kind": "brand"}),
    )
    .await
    .assert_problem(403, "forbidden");

    // Listed without the secret, with last use.
    let list = app
        .get(&format!("/v1/orgs/{org}/api-keys"), Some(&owner.access))
        .await;
    assert_eq!(list.status, 200, "{}", list.text);
    let items = list.body["items"].as_array().expect("items");
    assert!(
        items.iter().any(|k| k["id"] == id.as_str()),
        "the key is listed: {}",
        list.text
    );
    assert!(!list.text.contains(&key[20..]), "never the secret");
    let one = app
        .get(
            &format!("/v1/orgs/{org}/api-keys/{id}"),
            Some(&owner.access),
        )
        .await;
    assert!(one.body["lastUsedAt"].is_string(), "{}", one.text);

    // Revoked keys stop at once; forged ones never work.
    assert_eq!(
        app.call(
            Method::DELETE,
            &format!("/v1/orgs/{org}/api-keys/{id}"),
            Some(&owner.access),
            None
        )
        .await
        .status,
        204
    );
    app.get(&format!("/v1/orgs/{org}"), Some(&key))
        .await
        .assert_problem(401, "unauthenticated");
    let forged = format!("{}{}", &key[..key.len() - 4], "AAAA");
    app.get(&format!("/v1/orgs/{org}"), Some(&forged))
        .await
        .assert_problem(401, "unauthenticated");

    // Back on Free, even a fresh key is refused.
    app.set_plan_in_store(&org, Plan::Growth).await;
    let k2 = app
        .post(
            &format!("/v1/orgs/{org}/api-keys"),
            Some(&owner.access),
            json!({"name": "y", "scopes": ["org:read"]}),
        )
        .await;
    app.set_plan_in_store(&org, Plan::Free).await;
    app.get(
        &format!("/v1/orgs/{org}"),
        Some(k2.body["key"].as_str().unwrap()),
    )
    .await
    .assert_problem(403, "forbidden");
}

#[tokio::test]
async fn forged_expired_and_unsigned_tokens_are_401_problems() {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    use base64::Engine;
    let app = TestApp::spawn().await;
    let s = app.verified_user().await;
    let parts: Vec<&str> = s.access.split('.').collect();
    let mut claims: serde_json::Value =
        serde_json::from_slice(&B64.decode(parts[1]).unwrap()).unwrap();
    claims["staff"] = json!(true);
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        B64.encode(claims.to_string()),
        parts[2]
    );
    let none = format!(
        "{}.{}.",
        B64.encode(r#"{"alg":"none","typ":"JWT"}"#),
        parts[1]
    );
    let now = jiff::Timestamp::now().as_second();
    let mut old =
        nexus_auth::AccessClaims::for_user(app.local.issuer(), &s.user_id, None, now - 7200);
    old.exp = now - 3600;
    let expired = app.local.keys().issue(&old).unwrap();
    let foreign = nexus_auth::KeyRing::from_secrets(&"z".repeat(40), &[])
        .unwrap()
        .issue(&nexus_auth::AccessClaims::for_user(
            app.local.issuer(),
            &s.user_id,
            None,
            now,
        ))
        .unwrap();
    for (what, token) in [
        ("forged", forged),
        ("alg none", none),
        ("expired", expired),
        ("foreign key", foreign),
        ("garbage", "abc".into()),
    ] {
        let r = app.get("/v1/me", Some(&token)).await;
        assert_eq!(r.status, 401, "{what}: {}", r.text);
        r.assert_problem(401, "unauthenticated");
    }
    let basic = app
        .raw(
            app.client
                .get(app.url("/v1/me"))
                .header("authorization", "Basic dXNlcjpwYXNz"),
        )
        .await;
    basic.assert_problem(401, "unauthenticated");
}

#[tokio::test]
async fn a_key_never_holds_more_than_its_creators_role() {
    let app = TestApp::spawn().await;
    let (owner, org) = app.org_owner("brand").await;
    app.set_plan_in_store(&org, Plan::Growth).await;
    let a = app.verified_user().await;
    let admin = app.join(&owner, &org, &a, "admin").await;
    let create = |token: String, scopes: serde_json::Value| {
        let (app, org) = (&app, &org);
        async move {
            app.post(
                &format!("/v1/orgs/{org}/api-keys"),
                Some(&token),
                json!({"name": "sync", "scopes": scopes}),
            )
            .await
        }
    };
    // billing:write and org:write (which includes deleting the organization)
    // are beyond an admin: refused, naming each scope.
    let r = create(
        admin.access.clone(),
        json!(["campaigns:write", "billing:write", "org:write"]),
    )
    .await;
    r.assert_problem(400, "validation-failed");
    let errors = r.body["errors"].as_array().unwrap();
    assert_eq!(
        errors
            .iter()
            .map(|e| (e["pointer"].as_str().unwrap(), e["code"].as_str().unwrap()))
            .collect::<Vec<_>>(),
        [("/scopes/1", "exceeds_role"), ("/scopes/2", "exceeds_role")],
        "{}",
        r.text
    );
    let ok = create(
        admin.access.clone(),
        json!(["campaigns:write", "org:read", "analytics:read"]),
    )
    .await;
    assert_eq!(ok.status, 201, "{}", ok.text);
    // The owner holds everything, so can issue anything.
    let full = create(owner.access.clone(), json!(["billing:write", "org:write"])).await;
    assert_eq!(full.status, 201, "{}", full.text);
    // The role that counts is the one held now: demoted to manager, the
    // admin's token (still "admin") creates nothing.
    app.call(
        Method::PATCH,
        &format!("/v1/orgs/{org}/members/{}", admin.user_id),
        Some(&owner.access),
        Some(json!({"role": "manager"})),
    )
    .await;
    create(admin.access.clone(), json!(["campaigns:read"]))
        .await
        .assert_problem(403, "forbidden");
    // A key can't mint keys at all.
    let key = full.body["key"].as_str().unwrap().to_owned();
    create(key, json!(["campaigns:read"]))
        .await
        .assert_problem(403, "forbidden");
}
