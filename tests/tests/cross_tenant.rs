//! For every protected route in template.yaml (enumerated from the template,
//! so new routes are covered automatically): a principal of another
//! organization is refused and sees nothing of the first one, and a viewer of
//! the organization can't use its write routes. Notification routes are
//! scoped to the person: B sees none of A's and can't mark them read.

use integration_tests::TestApp;
use nexus_core::plans::Plan;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn other_tenants_and_lower_roles_are_refused_on_every_protected_route() {
    let app = TestApp::spawn().await;
    // Tenant A: owner, a viewer, an API key and a pending invitation.
    let (a_owner, a_org) = app.org_owner("brand").await;
    app.set_plan_in_store(&a_org, Plan::Growth).await;
    let v = app.verified_user().await;
    let a_viewer = app.join(&a_owner, &a_org, &v, "viewer").await;
    let key = app
        .post(
            &format!("/v1/orgs/{a_org}/api-keys"),
            Some(&a_owner.access),
            json!({"name": "k", "scopes": ["org:read"]}),
        )
        .await;
    let a_key_id = key.body["id"].as_str().unwrap().to_owned();
    let a_key = key.body["key"].as_str().unwrap().to_owned();
    app.post(
        &format!("/v1/orgs/{a_org}/invitations"),
        Some(&a_owner.access),
        json!({"email": "pending@example.com", "role": "viewer"}),
    )
    .await;
    let a_invite = app.last_mail("pending@example.com", "invitation").await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    // Tenant B: an owner with a full-scope key.
    let (b_owner, b_org) = app.org_owner("agency").await;
    app.set_plan_in_store(&b_org, Plan::Growth).await;
    let b_key = app.post(&format!("/v1/orgs/{b_org}/api-keys"), Some(&b_owner.access), json!({"name": "k", "scopes": ["org:write", "campaigns:write", "content:write", "analytics:read", "billing:write"]})).await.body["key"].as_str().unwrap().to_owned();

    // A notification of A's viewer (notifications are scoped to the person).
    let event = nexus_core::events::DomainEvent::new(
        "creators",
        "VerificationReviewed",
        None,
        "system",
        nexus_core::Timestamp::now(),
        json!({"requestId": "vrq_01JDQ8M3ZP6T0N7W4C5B2X9Y8E", "creatorId": a_viewer.user_id, "kind": "social", "status": "approved"}),
    );
    let a_notification = format!("ntf_{}", event.id.ulid());
    app.emit_in_store(event).await;

    let template = nexus_devenv::load_template().unwrap();
    let protected: Vec<_> = template
        .routes()
        .into_iter()
        .filter(|r| r.authorizer.is_some())
        .collect();
    assert!(
        protected.len() >= 20,
        "{} protected routes",
        protected.len()
    );
    let secrets_of_a = [
        a_org.as_str(),
        a_viewer.user_id.as_str(),
        a_key_id.as_str(),
        a_key.as_str(),
        a_owner.email.as_str(),
        a_notification.as_str(),
    ];
    for r in &protected {
        let path = r
            .path
            .replace("{orgId}", &a_org)
            .replace("{userId}", &a_viewer.user_id)
            .replace("{keyId}", &a_key_id)
            .replace("{token}", &a_invite)
            .replace("{method}", "totp")
            .replace("{notificationId}", &a_notification);
        let method = Method::from_bytes(r.method.as_bytes()).unwrap();
        let body = match r.path.as_str() {
            "/v1/auth/switch-org" => Some(json!({"orgId": a_org})),
            "/v1/orgs/{orgId}/invitations" => {
                Some(json!({"email": "evil@example.com", "role": "admin"}))
            }
            "/v1/orgs/{orgId}/members/{userId}" => Some(json!({"role": "admin"})),
            "/v1/orgs/{orgId}/api-keys" => Some(json!({"name": "evil", "scopes": ["org:write"]})),
            "/v1/orgs/{orgId}/agency-grants" => {
                Some(json!({"agencyOrgId": b_org, "role": "admin"}))
            }
            "/v1/orgs" if r.method == "POST" => Some(json!({"name": "Mine", "kind": "brand"})),
            "/v1/me/mfa/{method}/disable"
            | "/v1/me/mfa/totp/confirm"
            | "/v1/me/mfa/email/confirm" => Some(json!({"code": "000000"})),
            _ if r.method == "GET" || r.method == "DELETE" => None,
            _ => Some(json!({})),
        };
        for (who, token) in [
            ("B's owner", b_owner.access.as_str()),
            ("B's API key", b_key.as_str()),
        ] {
            let res = app
                .call(method.clone(), &path, Some(token), body.clone())
                .await;
            let route = r.route_key();
            assert!(res.status.as_u16() < 500, "{route} as {who}: {}", res.text);
            if r.path.starts_with("/v1/orgs/{orgId}") {
                assert_eq!(
                    res.status.as_u16(),
                    404,
                    "{route} as {who} must look like a missing org: {}",
                    res.text
                );
            } else if r.path.starts_with("/v1/notifications/{notificationId}") {
                // User-scoped: another person's notification does not exist for B.
                let expected = if who == "B's API key" { 403 } else { 404 };
                assert_eq!(
                    res.status.as_u16(),
                    expected,
                    "{route} as {who}: {}",
                    res.text
                );
            } else if res.status.is_success() {
                for s in secrets_of_a {
                    assert!(
                        !res.text.contains(s),
                        "{route} as {who} leaked {s}: {}",
                        res.text
                    );
                }
            }
        }
        // A viewer of A can't use A's write routes.
        if r.path.starts_with("/v1/orgs/{orgId}") && r.method != "GET" {
            // (Leaving is allowed to anyone, so the viewer targets the owner.)
            let path = path.replace(&a_viewer.user_id, &a_owner.user_id);
            let res = app
                .call(method.clone(), &path, Some(&a_viewer.access), body.clone())
                .await;
            res.assert_problem(403, "forbidden");
        }
    }
    // A's data is intact after all that: B's read-all and reads touched only B's (none).
    let n = app
        .get("/v1/notifications?unread=true", Some(&a_viewer.access))
        .await;
    assert_eq!(
        n.body["items"][0]["id"],
        a_notification.as_str(),
        "{}",
        n.text
    );
    let count = app
        .get("/v1/notifications/unread-count", Some(&a_viewer.access))
        .await;
    assert_eq!(count.body["unread"], 1, "{}", count.text);
    // A's data is intact after all that.
    let members = app
        .get(&format!("/v1/orgs/{a_org}/members"), Some(&a_owner.access))
        .await;
    assert_eq!(
        members.body["items"].as_array().unwrap().len(),
        2,
        "{}",
        members.text
    );
    let keys = app
        .get(
            &format!("/v1/orgs/{a_org}/api-keys/{a_key_id}"),
            Some(&a_owner.access),
        )
        .await;
    assert!(keys.body["revokedAt"].is_null(), "{}", keys.text);
}
