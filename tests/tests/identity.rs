//! The identity flow through the local gateway: register → verify (via the
//! local outbox) → login → MFA → refresh (rotation, reuse) → switch-org → logout,
//! and what the audit log records.

use integration_tests::{TestApp, PASSWORD};
use serde_json::json;

fn totp_now(secret: &str) -> String {
    nexus_auth::secrets::totp::code_at(secret, jiff::Timestamp::now().as_second() as u64).unwrap()
}

#[tokio::test]
async fn register_verify_login_mfa_refresh_switch_logout() {
    let app = TestApp::spawn().await;
    let email = format!(
        "jane{}@example.com",
        ulid::Ulid::new().to_string().to_lowercase()
    );

    // Register; a weak password is refused with the reason.
    let weak = app
        .post(
            "/v1/auth/register",
            None,
            json!({"email": email, "password": "Password2024!", "name": "Jane"}),
        )
        .await;
    weak.assert_problem(400, "validation-failed");
    assert_eq!(weak.body["errors"][0]["code"], "weak_password");
    let r = app.register(&email).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["user"]["emailVerified"], false);
    app.register(&email)
        .await
        .assert_problem(409, "email-taken");

    // Login before verification is refused, saying why.
    app.post(
        "/v1/auth/login",
        None,
        json!({"email": email, "password": PASSWORD}),
    )
    .await
    .assert_problem(403, "email-not-verified");
    let mail = app.last_mail(&email, "verify-email").await;
    assert!(mail["link"]
        .as_str()
        .unwrap()
        .contains("verify-email?token="));
    let token = mail["token"].as_str().unwrap();
    assert_eq!(
        app.post("/v1/auth/verify-email", None, json!({"token": token}))
            .await
            .status,
        204
    );
    app.post("/v1/auth/verify-email", None, json!({"token": token}))
        .await
        .assert_problem(400, "validation-failed");

    // Wrong password, then the right one.
    app.post(
        "/v1/auth/login",
        None,
        json!({"email": email, "password": "violet-kayak-47-orbiT"}),
    )
    .await
    .assert_problem(401, "unauthenticated");
    let l = app
        .post(
            "/v1/auth/login",
            None,
            json!({"email": email, "password": PASSWORD}),
        )
        .await;
    assert_eq!(l.status, 200, "{}", l.text);
    assert_eq!(l.body["tokenType"], "Bearer");
    assert_eq!(l.body["expiresIn"], 900);
    let access = l.body["accessToken"].as_str().unwrap().to_owned();
    let me = app.get("/v1/me", Some(&access)).await;
    assert_eq!(me.body["email"], email.as_str());
    assert_eq!(me.body["emailVerified"], true);

    // TOTP enrolment, confirmed by a first code.
    let e = app.post("/v1/me/mfa/totp", Some(&access), json!({})).await;
    assert_eq!(e.status, 200, "{}", e.text);
    let secret = e.body["secret"].as_str().unwrap().to_owned();
    assert!(e.body["otpauthUri"]
        .as_str()
        .unwrap()
        .starts_with("otpauth://totp/"));
    let recovery: Vec<String> = e.body["recoveryCodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(recovery.len(), 10);
    app.post(
        "/v1/me/mfa/totp/confirm",
        Some(&access),
        json!({"code": "000000"}),
    )
    .await
    .assert_problem(400, "validation-failed");
    assert_eq!(
        app.post(
            "/v1/me/mfa/totp/confirm",
            Some(&access),
            json!({"code": totp_now(&secret)})
        )
        .await
        .status,
        204
    );

    // Login now needs the second factor.
    let l = app
        .post(
            "/v1/auth/login",
            None,
            json!({"email": email, "password": PASSWORD}),
        )
        .await;
    assert_eq!(l.body["mfaRequired"], true, "{}", l.text);
    assert!(l.body["methods"]
        .as_array()
        .unwrap()
        .contains(&json!("totp")));
    let mfa_token = l.body["mfaToken"].as_str().unwrap();
    app.post(
        "/v1/auth/mfa/verify",
        None,
        json!({"mfaToken": mfa_token, "code": "123456"}),
    )
    .await
    .assert_problem(400, "validation-failed");
    // A recovery code works once (the TOTP step of the confirmation can't be replayed).
    let t = app
        .post(
            "/v1/auth/mfa/verify",
            None,
            json!({"mfaToken": mfa_token, "code": recovery[0]}),
        )
        .await;
    assert_eq!(t.status, 200, "{}", t.text);
    app.post(
        "/v1/auth/mfa/verify",
        None,
        json!({"mfaToken": mfa_token, "code": recovery[1]}),
    )
    .await
    .assert_problem(401, "unauthenticated");
    let refresh1 = t.body["refreshToken"].as_str().unwrap().to_owned();
    let access = t.body["accessToken"].as_str().unwrap().to_owned();

    // Refresh rotates; reusing the old token revokes the whole family.
    let r2 = app
        .post("/v1/auth/refresh", None, json!({"refreshToken": refresh1}))
        .await;
    assert_eq!(r2.status, 200, "{}", r2.text);
    let refresh2 = r2.body["refreshToken"].as_str().unwrap().to_owned();
    assert_ne!(refresh1, refresh2);
    app.post("/v1/auth/refresh", None, json!({"refreshToken": refresh1}))
        .await
        .assert_problem(401, "unauthenticated");
    app.post("/v1/auth/refresh", None, json!({"refreshToken": refresh2}))
        .await
        .assert_problem(401, "unauthenticated");

    // Organizations: create, switch (tokens scoped to it), read.
    let o = app
        .post(
            "/v1/orgs",
            Some(&access),
            json!({"name": "Glow Labs", "kind": "brand"}),
        )
        .await;
    assert_eq!(o.status, 201, "{}", o.text);
    let org = o.body["id"].as_str().unwrap().to_owned();
    // Not yet the token's organization: the caller is told to switch (theirs, so nothing leaks).
    app.get(&format!("/v1/orgs/{org}"), Some(&access))
        .await
        .assert_problem(403, "org-not-active");
    let s = app
        .post("/v1/auth/switch-org", Some(&access), json!({"orgId": org}))
        .await;
    assert_eq!(s.status, 200, "{}", s.text);
    assert_eq!(s.body["orgId"], org.as_str());
    let scoped = s.body["accessToken"].as_str().unwrap().to_owned();
    assert_eq!(
        app.get(&format!("/v1/orgs/{org}"), Some(&scoped))
            .await
            .body["name"],
        "Glow Labs"
    );
    let other = app
        .post(
            "/v1/auth/switch-org",
            Some(&access),
            json!({"orgId": "org_01JDQ8M3ZP6T0N7W4C5B2X9Y8M"}),
        )
        .await;
    other.assert_problem(404, "not-found");

    // Logout ends the session: its refresh token stops working.
    let refresh3 = s.body["refreshToken"].as_str().unwrap().to_owned();
    assert_eq!(
        app.post("/v1/auth/logout", Some(&scoped), json!({}))
            .await
            .status,
        204
    );
    app.post("/v1/auth/refresh", None, json!({"refreshToken": refresh3}))
        .await
        .assert_problem(401, "unauthenticated");

    // The audit log (fed through outbox → stream → bus → audit function) shows what happened.
    app.settle().await;
    let fresh = app
        .post(
            "/v1/auth/login",
            None,
            json!({"email": email, "password": PASSWORD}),
        )
        .await;
    let mfa_token = fresh.body["mfaToken"].as_str().unwrap();
    let t = app
        .post(
            "/v1/auth/mfa/verify",
            None,
            json!({"mfaToken": mfa_token, "code": recovery[2]}),
        )
        .await;
    assert_eq!(t.status, 200, "{}", t.text);
    let owner = t.body["accessToken"].as_str().unwrap().to_owned();
    app.settle().await;
    let log = app
        .get(&format!("/v1/orgs/{org}/audit-log"), Some(&owner))
        .await;
    assert_eq!(log.status, 200, "{}", log.text);
    let actions: Vec<String> = log.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    for expected in ["OrganizationCreated", "OrgSwitched", "LoginSucceeded"] {
        assert!(
            actions.iter().any(|a| a == expected),
            "{expected} not in {actions:?}"
        );
    }
}

#[tokio::test]
async fn password_reset_is_single_use_and_silent_about_unknown_emails() {
    let app = TestApp::spawn().await;
    let s = app.verified_user().await;
    assert_eq!(
        app.post(
            "/v1/auth/password/forgot",
            None,
            json!({"email": "nobody@example.com"})
        )
        .await
        .status,
        202
    );
    assert!(app.outbox("nobody@example.com").await.is_empty());
    assert_eq!(
        app.post("/v1/auth/password/forgot", None, json!({"email": s.email}))
            .await
            .status,
        202
    );
    let token = app.last_mail(&s.email, "password-reset").await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post(
        "/v1/auth/password/reset",
        None,
        json!({"token": token, "password": "short"}),
    )
    .await
    .assert_problem(400, "validation-failed");
    assert_eq!(
        app.post(
            "/v1/auth/password/reset",
            None,
            json!({"token": token, "password": "amber-falcon-93-quartz"})
        )
        .await
        .status,
        204
    );
    app.post(
        "/v1/auth/password/reset",
        None,
        json!({"token": token, "password": "amber-falcon-93-quartz"}),
    )
    .await
    .assert_problem(400, "validation-failed");
    app.post(
        "/v1/auth/login",
        None,
        json!({"email": s.email, "password": PASSWORD}),
    )
    .await
    .assert_problem(401, "unauthenticated");
    assert_eq!(
        app.post(
            "/v1/auth/login",
            None,
            json!({"email": s.email, "password": "amber-falcon-93-quartz"})
        )
        .await
        .status,
        200
    );
}

#[tokio::test]
async fn brute_force_is_throttled_per_account() {
    let app = TestApp::spawn().await;
    let s = app.verified_user().await;
    for _ in 0..5 {
        app.post(
            "/v1/auth/login",
            None,
            json!({"email": s.email, "password": "wrong-password-123"}),
        )
        .await
        .assert_problem(401, "unauthenticated");
    }
    let r = app
        .post(
            "/v1/auth/login",
            None,
            json!({"email": s.email, "password": PASSWORD}),
        )
        .await;
    r.assert_problem(429, "throttled");
    assert!(
        r.headers["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            > 0
    );
}

#[tokio::test]
async fn email_otp_second_factor() {
    let app = TestApp::spawn().await;
    let s = app.verified_user().await;
    assert_eq!(
        app.post("/v1/me/mfa/email", Some(&s.access), json!({}))
            .await
            .status,
        202
    );
    let code = app.last_mail(&s.email, "email-otp-setup").await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        app.post(
            "/v1/me/mfa/email/confirm",
            Some(&s.access),
            json!({"code": code})
        )
        .await
        .status,
        204
    );
    let l = app
        .post(
            "/v1/auth/login",
            None,
            json!({"email": s.email, "password": PASSWORD}),
        )
        .await;
    assert_eq!(
        l.body["methods"],
        json!(["email", "recovery"]),
        "{}",
        l.text
    );
    let code = app.last_mail(&s.email, "login-code").await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let t = app
        .post(
            "/v1/auth/mfa/verify",
            None,
            json!({"mfaToken": l.body["mfaToken"], "code": code}),
        )
        .await;
    assert_eq!(t.status, 200, "{}", t.text);
    // Disabling needs a fresh second factor; an old e-mailed login code doesn't count.
    let access = t.body["accessToken"].as_str().unwrap();
    app.post(
        "/v1/me/mfa/email/disable",
        Some(access),
        json!({"code": code}),
    )
    .await
    .assert_problem(400, "validation-failed");
}
