//! For every protected route in template.yaml (enumerated from the template,
//! so new routes are covered automatically): a principal of another
//! organization is refused and sees nothing of the first one, and a viewer of
//! the organization can't use its write routes. Notification routes are
//! scoped to the person: B sees none of A's and can't mark them read.

use integration_tests::TestApp;
use nexus_core::plans::Plan;
use reqwest::Method;
use serde_json::json;

/// What B's owner, B's API key and B's creator get on the routes that
/// act on the caller's own data or on public data, in the order the matrix
/// calls them (B's creator deletes their profile early, so later creator
/// routes answer `no-profile`; B's owner logs out before `switch-org`).
/// Every answer is exact: a change of behaviour shows here.
const OWN_OR_PUBLIC: &[(&str, &str, u16)] = &[
    ("DELETE /v1/creators/me", "B's API key", 403),
    ("DELETE /v1/creators/me", "B's creator", 204),
    ("DELETE /v1/creators/me", "B's owner", 403),
    (
        "DELETE /v1/creators/me/portfolio/{itemId}",
        "B's API key",
        403,
    ),
    (
        "DELETE /v1/creators/me/portfolio/{itemId}",
        "B's creator",
        404,
    ),
    (
        "DELETE /v1/creators/me/portfolio/{itemId}",
        "B's owner",
        403,
    ),
    (
        "DELETE /v1/creators/me/social-accounts/{platform}",
        "B's API key",
        403,
    ),
    (
        "DELETE /v1/creators/me/social-accounts/{platform}",
        "B's creator",
        404,
    ),
    (
        "DELETE /v1/creators/me/social-accounts/{platform}",
        "B's owner",
        403,
    ),
    ("GET /v1/campaigns", "B's API key", 200),
    ("GET /v1/campaigns", "B's creator", 404),
    ("GET /v1/campaigns", "B's owner", 200),
    ("GET /v1/contracts", "B's API key", 400),
    ("GET /v1/contracts", "B's creator", 200),
    ("GET /v1/contracts", "B's owner", 400),
    ("GET /v1/creators", "B's API key", 200),
    ("GET /v1/creators", "B's creator", 403),
    ("GET /v1/creators", "B's owner", 200),
    ("GET /v1/creators/me", "B's API key", 403),
    ("GET /v1/creators/me", "B's creator", 200),
    ("GET /v1/creators/me", "B's owner", 403),
    (
        "GET /v1/creators/me/verification-requests",
        "B's API key",
        403,
    ),
    (
        "GET /v1/creators/me/verification-requests",
        "B's creator",
        200,
    ),
    (
        "GET /v1/creators/me/verification-requests",
        "B's owner",
        403,
    ),
    ("GET /v1/creators/{creatorId}", "B's API key", 200),
    ("GET /v1/creators/{creatorId}", "B's creator", 403),
    ("GET /v1/creators/{creatorId}", "B's owner", 200),
    ("GET /v1/marketplace/campaigns", "B's API key", 403),
    ("GET /v1/marketplace/campaigns", "B's creator", 409),
    ("GET /v1/marketplace/campaigns", "B's owner", 403),
    (
        "GET /v1/marketplace/campaigns/{campaignId}",
        "B's creator",
        200,
    ),
    ("GET /v1/me", "B's API key", 403),
    ("GET /v1/me", "B's creator", 200),
    ("GET /v1/me", "B's owner", 200),
    ("GET /v1/notifications", "B's API key", 403),
    ("GET /v1/notifications", "B's creator", 200),
    ("GET /v1/notifications", "B's owner", 200),
    ("GET /v1/notifications/unread-count", "B's API key", 403),
    ("GET /v1/notifications/unread-count", "B's creator", 200),
    ("GET /v1/notifications/unread-count", "B's owner", 200),
    ("GET /v1/orgs", "B's API key", 403),
    ("GET /v1/orgs", "B's creator", 200),
    ("GET /v1/orgs", "B's owner", 200),
    ("GET /v1/staff/verification-requests", "B's API key", 403),
    ("GET /v1/staff/verification-requests", "B's creator", 403),
    ("GET /v1/staff/verification-requests", "B's owner", 403),
    ("POST /v1/auth/logout", "B's API key", 403),
    ("POST /v1/auth/logout", "B's creator", 204),
    ("POST /v1/auth/logout", "B's owner", 204),
    ("POST /v1/auth/switch-org", "B's API key", 403),
    ("POST /v1/auth/switch-org", "B's creator", 401),
    ("POST /v1/auth/switch-org", "B's owner", 401),
    ("POST /v1/campaigns", "B's API key", 400),
    ("POST /v1/campaigns", "B's creator", 404),
    ("POST /v1/campaigns", "B's owner", 400),
    (
        "POST /v1/campaigns/{campaignId}/applications",
        "B's creator",
        409,
    ),
    ("POST /v1/creators/me/portfolio", "B's API key", 403),
    ("POST /v1/creators/me/portfolio", "B's creator", 400),
    ("POST /v1/creators/me/portfolio", "B's owner", 403),
    ("POST /v1/creators/me/social-accounts", "B's API key", 403),
    ("POST /v1/creators/me/social-accounts", "B's creator", 400),
    ("POST /v1/creators/me/social-accounts", "B's owner", 403),
    (
        "POST /v1/creators/me/verification-requests",
        "B's API key",
        403,
    ),
    (
        "POST /v1/creators/me/verification-requests",
        "B's creator",
        404,
    ),
    (
        "POST /v1/creators/me/verification-requests",
        "B's owner",
        403,
    ),
    ("POST /v1/invitations/{token}/accept", "B's API key", 403),
    ("POST /v1/invitations/{token}/accept", "B's creator", 403),
    ("POST /v1/invitations/{token}/accept", "B's owner", 403),
    ("POST /v1/me/mfa/email", "B's API key", 403),
    ("POST /v1/me/mfa/email", "B's creator", 202),
    ("POST /v1/me/mfa/email", "B's owner", 202),
    ("POST /v1/me/mfa/email/confirm", "B's API key", 403),
    ("POST /v1/me/mfa/email/confirm", "B's creator", 400),
    ("POST /v1/me/mfa/email/confirm", "B's owner", 400),
    ("POST /v1/me/mfa/totp", "B's API key", 403),
    ("POST /v1/me/mfa/totp", "B's creator", 400),
    ("POST /v1/me/mfa/totp", "B's owner", 400),
    ("POST /v1/me/mfa/totp/confirm", "B's API key", 403),
    ("POST /v1/me/mfa/totp/confirm", "B's creator", 409),
    ("POST /v1/me/mfa/totp/confirm", "B's owner", 409),
    ("POST /v1/me/mfa/{method}/disable", "B's API key", 403),
    ("POST /v1/me/mfa/{method}/disable", "B's creator", 400),
    ("POST /v1/me/mfa/{method}/disable", "B's owner", 400),
    ("POST /v1/notifications/read-all", "B's API key", 403),
    ("POST /v1/notifications/read-all", "B's creator", 200),
    ("POST /v1/notifications/read-all", "B's owner", 200),
    ("POST /v1/orgs", "B's API key", 403),
    ("POST /v1/orgs", "B's creator", 403),
    ("POST /v1/orgs", "B's owner", 201),
    ("PUT /v1/creators/me", "B's API key", 403),
    ("PUT /v1/creators/me", "B's creator", 400),
    ("PUT /v1/creators/me", "B's owner", 403),
];

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
    assert_eq!(key.status, 201, "{}", key.text);
    let a_key_id = key.body["id"].as_str().unwrap().to_owned();
    let a_key = key.body["key"].as_str().unwrap().to_owned();
    let invitation = app
        .post(
            &format!("/v1/orgs/{a_org}/invitations"),
            Some(&a_owner.access),
            json!({"email": "pending@example.com", "role": "viewer"}),
        )
        .await;
    assert_eq!(invitation.status, 201, "{}", invitation.text);
    let a_invitation_id = invitation.body["id"].as_str().unwrap().to_owned();
    let a_invite = app.last_mail("pending@example.com", "invitation").await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    // A's client agency C (a third tenant), so A has a grant to revoke.
    let (_, c_agency) = app.org_owner("agency").await;
    let grant = app
        .post(
            &format!("/v1/orgs/{a_org}/agency-grants"),
            Some(&a_owner.access),
            json!({"agencyOrgId": c_agency, "role": "viewer"}),
        )
        .await;
    assert_eq!(grant.status, 201, "{}", grant.text);
    // Tenant B: an owner with a full-scope key.
    let (b_owner, b_org) = app.org_owner("agency").await;
    app.set_plan_in_store(&b_org, Plan::Growth).await;
    let b_key = app.post(&format!("/v1/orgs/{b_org}/api-keys"), Some(&b_owner.access), json!({"name": "k", "scopes": ["org:write", "campaigns:write", "content:write", "analytics:read", "billing:write"]})).await;
    assert_eq!(b_key.status, 201, "{}", b_key.text);
    let b_key = b_key.body["key"].as_str().unwrap().to_owned();

    // A's marketplace: a published campaign, creator C_A's application, the
    // contract from accepting it, C_A's verification request and portfolio item.
    let now = app.now().await;
    let at = |d: i64| (now + jiff::SignedDuration::from_hours(24 * d)).to_string();
    let campaign = app.post("/v1/campaigns", Some(&a_owner.access), json!({
        "title": "A's launch", "type": "ugc", "niches": ["beauty"],
        "brief": {"objectives": "Launch", "keyMessages": ["glow"]},
        "deliverables": [{"type": "video", "platform": "tiktok", "dueAt": at(30)}],
        "usageRights": {"type": "perpetual", "territories": ["WW"], "channels": ["organic_social"]},
        "budget": {"total": {"amount": 100000, "currency": "USD"}},
        "dates": {"applicationsCloseAt": at(10), "startAt": at(20), "endAt": at(40)}
    })).await;
    assert_eq!(campaign.status, 201, "{}", campaign.text);
    let a_campaign = campaign.body["id"].as_str().expect("campaign").to_owned();
    let p = app
        .post(
            &format!("/v1/campaigns/{a_campaign}/transitions"),
            Some(&a_owner.access),
            json!({"to": "PUBLISHED"}),
        )
        .await;
    assert_eq!(p.status, 200, "{}", p.text);
    let c_a = app.creator().await;
    let profile = json!({"handle": format!("ca{}", &c_a.user_id[20..].to_lowercase()), "displayName": "C A", "niches": ["beauty"]});
    assert_eq!(
        app.call(
            Method::PUT,
            "/v1/creators/me",
            Some(&c_a.access),
            Some(profile)
        )
        .await
        .status,
        201
    );
    let social = app
        .post(
            "/v1/creators/me/social-accounts",
            Some(&c_a.access),
            json!({"platform": "tiktok", "handle": "ca", "followers": 100}),
        )
        .await;
    assert!(social.status.is_success(), "{}", social.text);
    let item = app
        .post(
            "/v1/creators/me/portfolio",
            Some(&c_a.access),
            json!({"title": "Reel", "url": "https://example.com/r"}),
        )
        .await;
    assert_eq!(item.status, 201, "{}", item.text);
    let a_item = item.body["portfolio"][0]["id"]
        .as_str()
        .expect("item")
        .to_owned();
    let vrq = app
        .post(
            "/v1/creators/me/verification-requests",
            Some(&c_a.access),
            json!({"kind": "social", "evidence": "tiktok"}),
        )
        .await;
    assert_eq!(vrq.status, 201, "{}", vrq.text);
    let a_request = vrq.body["id"].as_str().expect("vrq").to_owned();
    let application = app.post(&format!("/v1/campaigns/{a_campaign}/applications"), Some(&c_a.access),
        json!({"pitch": "A pitch that is long enough.", "proposedFee": {"amount": 1000, "currency": "USD"}})).await;
    assert_eq!(application.status, 201, "{}", application.text);
    let a_application = application.body["id"]
        .as_str()
        .expect("application")
        .to_owned();
    let decided = app
        .post(
            &format!("/v1/campaigns/{a_campaign}/applications/{a_application}/decisions"),
            Some(&a_owner.access),
            json!({"decision": "accept"}),
        )
        .await;
    assert_eq!(decided.status, 200, "{}", decided.text);
    let a_contract = decided.body["contract"]["id"]
        .as_str()
        .expect("contract")
        .to_owned();
    // B's creator: another creator account with a profile of its own.
    let b_creator = app.creator().await;
    let profile = json!({"handle": format!("cb{}", &b_creator.user_id[20..].to_lowercase()), "displayName": "C B"});
    assert_eq!(
        app.call(
            Method::PUT,
            "/v1/creators/me",
            Some(&b_creator.access),
            Some(profile)
        )
        .await
        .status,
        201
    );

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
        a_application.as_str(),
        a_contract.as_str(),
        a_request.as_str(),
        a_invitation_id.as_str(),
    ];
    for r in &protected {
        let path = r
            .path
            .replace("{orgId}", &a_org)
            .replace("{userId}", &a_viewer.user_id)
            .replace("{keyId}", &a_key_id)
            .replace("{invitationId}", &a_invitation_id)
            .replace("{agencyOrgId}", &c_agency)
            .replace("{token}", &a_invite)
            .replace("{method}", "totp")
            .replace("{notificationId}", &a_notification)
            .replace("{campaignId}", &a_campaign)
            .replace("{applicationId}", &a_application)
            .replace("{contractId}", &a_contract)
            .replace("{n}", "1")
            .replace("{creatorId}", &c_a.user_id)
            .replace("{requestId}", &a_request)
            .replace("{platform}", "tiktok")
            .replace("{itemId}", &a_item);
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
            // Valid bodies, so refusals come from the tenant check, not validation.
            "/v1/campaigns/{campaignId}" => Some(json!({"title": "Hijacked"})),
            "/v1/campaigns/{campaignId}/transitions" => Some(json!({"to": "CANCELLED"})),
            "/v1/campaigns/{campaignId}/invitations" => {
                Some(json!({"creatorId": b_creator.user_id}))
            }
            "/v1/campaigns/{campaignId}/applications" if r.method == "POST" => Some(
                json!({"pitch": "A pitch that is long enough.", "proposedFee": {"amount": 1000, "currency": "USD"}}),
            ),
            "/v1/campaigns/{campaignId}/applications/{applicationId}/decisions" => {
                Some(json!({"decision": "reject", "reason": "not a fit"}))
            }
            "/v1/contracts/{contractId}/accept" => Some(json!({"termsHash": "0".repeat(64)})),
            "/v1/contracts/{contractId}/cancel" => Some(json!({"reason": "hijack"})),
            "/v1/contracts/{contractId}/rating" => Some(json!({"score": 1})),
            "/v1/contracts/{contractId}/deliverables/{n}/transitions" => {
                Some(json!({"to": "SUBMITTED"}))
            }
            "/v1/staff/verification-requests/{requestId}/decision" => {
                Some(json!({"decision": "approve"}))
            }
            _ if r.method == "GET" || r.method == "DELETE" => None,
            _ => Some(json!({})),
        };
        for (who, token) in [
            ("B's owner", b_owner.access.as_str()),
            ("B's API key", b_key.as_str()),
            ("B's creator", b_creator.access.as_str()),
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
            } else if [
                "{campaignId}",
                "{applicationId}",
                "{contractId}",
                "{requestId}",
            ]
            .iter()
            .any(|p| r.path.contains(p))
                && !(who == "B's creator"
                    && (r.route_key() == "GET /v1/marketplace/campaigns/{campaignId}"
                        || r.route_key() == "POST /v1/campaigns/{campaignId}/applications"))
            {
                // Another tenant's campaign, application, contract or review: refused, never found.
                assert!(
                    matches!(res.status.as_u16(), 403 | 404),
                    "{route} as {who} must be refused: {}",
                    res.text
                );
                // (The problem's `instance` echoes the path the caller sent.)
                for s in secrets_of_a.iter().filter(|s| !path.contains(**s)) {
                    assert!(
                        !res.text.contains(s),
                        "{route} as {who} leaked {s}: {}",
                        res.text
                    );
                }
            } else if r.path.starts_with("/v1/notifications/{notificationId}")
                && who == "B's creator"
            {
                assert_eq!(res.status.as_u16(), 404, "{route} as {who}: {}", res.text);
            } else if r.path.starts_with("/v1/notifications/{notificationId}") {
                // User-scoped: another person's notification does not exist for B.
                let expected = if who == "B's API key" { 403 } else { 404 };
                assert_eq!(
                    res.status.as_u16(),
                    expected,
                    "{route} as {who}: {}",
                    res.text
                );
            } else {
                // Routes on the caller's own data (or public data): the exact answer each caller gets.
                let expected = OWN_OR_PUBLIC
                    .iter()
                    .find(|(rk, w, _)| *rk == route && *w == who)
                    .unwrap_or_else(|| {
                        panic!(
                            "{route} as {who}: add its expected status to OWN_OR_PUBLIC ({} {})",
                            res.status, res.text
                        )
                    })
                    .2;
                assert_eq!(
                    res.status.as_u16(),
                    expected,
                    "{route} as {who}: {}",
                    res.text
                );
                if res.status.is_success() {
                    // A public campaign names its brand organization to creators.
                    let public = who == "B's creator"
                        && (route.contains("{campaignId}") || route.contains("/v1/marketplace/"));
                    for s in secrets_of_a
                        .iter()
                        .filter(|s| !(public && **s == a_org.as_str()))
                    {
                        assert!(
                            !res.text.contains(s),
                            "{route} as {who} leaked {s}: {}",
                            res.text
                        );
                    }
                }
            }
        }
        // A viewer of A can't use A's write routes.
        let marketplace_write = (r.path.starts_with("/v1/campaigns")
            || r.path.starts_with("/v1/contracts"))
            && r.method != "GET";
        if (r.path.starts_with("/v1/orgs/{orgId}") || marketplace_write) && r.method != "GET" {
            // (Leaving is allowed to anyone, so the viewer targets the owner.)
            let path = path.replace(&a_viewer.user_id, &a_owner.user_id);
            let res = app
                .call(method.clone(), &path, Some(&a_viewer.access), body.clone())
                .await;
            res.assert_problem(403, "forbidden");
        }
    }
    // A's contract and campaign are untouched.
    let k = app
        .get(
            &format!("/v1/contracts/{a_contract}"),
            Some(&a_owner.access),
        )
        .await;
    assert_eq!(k.body["status"], "pending_signatures", "{}", k.text);
    assert_eq!(k.body["acceptances"], json!([]));
    let c = app
        .get(
            &format!("/v1/campaigns/{a_campaign}"),
            Some(&a_owner.access),
        )
        .await;
    assert_eq!(c.body["status"], "PUBLISHED", "{}", c.text);
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
    let invitations = app
        .get(
            &format!("/v1/orgs/{a_org}/invitations"),
            Some(&a_owner.access),
        )
        .await;
    assert_eq!(
        invitations.body["items"][0]["id"],
        a_invitation_id.as_str(),
        "{}",
        invitations.text
    );
    let grants = app
        .get(
            &format!("/v1/orgs/{a_org}/agency-grants"),
            Some(&a_owner.access),
        )
        .await;
    assert_eq!(
        grants.body["items"][0]["agencyOrgId"],
        c_agency.as_str(),
        "{}",
        grants.text
    );
}
