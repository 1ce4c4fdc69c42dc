//! The identity flow through the local gateway: register → verify (via the
//! local outbox) → login → MFA → refresh (rotation, reuse) → switch-org → logout,
//! and what the audit log records; then the defects found on review, each
//! with its regression test: MFA attempt limits, sessions ended by a reset
//! or a second-factor change, switch-org within a live session, TOTP
//! enrolment, account enumeration, abuse limits, unverified-account squatting.

use integration_tests::{Res, Session, TestApp, PASSWORD};
use nexus_identity::limits::LOGIN_FAILURES_PER_IP;
use nexus_identity::login::{CHALLENGE_TTL_SECS, SPRAY_ACCOUNTS};
use serde_json::{json, Value};

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
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(r.body["status"], "accepted");

    // Login before verification is refused, saying why (once the worker has
    // created the account).
    app.settle().await;
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

    // TOTP enrolment (re-authenticated with the password), confirmed by a first code.
    let e = app
        .post(
            "/v1/me/mfa/totp",
            Some(&access),
            json!({"password": PASSWORD}),
        )
        .await;
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
    // That session is over: its unexpired access token mints no new tokens.
    app.post(
        "/v1/auth/switch-org",
        Some(&access),
        json!({"orgId": "org_01JDQ8M3ZP6T0N7W4C5B2X9Y8M"}),
    )
    .await
    .assert_problem(401, "unauthenticated");

    // A new session (the recovery code refused on the spent challenge is still unused).
    let l = app
        .post(
            "/v1/auth/login",
            None,
            json!({"email": email, "password": PASSWORD}),
        )
        .await;
    let t = app
        .post(
            "/v1/auth/mfa/verify",
            None,
            json!({"mfaToken": l.body["mfaToken"], "code": recovery[1]}),
        )
        .await;
    assert_eq!(t.status, 200, "{}", t.text);
    let access = t.body["accessToken"].as_str().unwrap().to_owned();

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
    assert_eq!(
        app.mail_count("nobody@example.com", "password-reset").await,
        0
    );
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
    assert_eq!(l.body["methods"], json!(["email"]), "{}", l.text);
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

// ---------------------------------------------------------------- helpers

/// TOTP code at the platform's (adjustable) clock.
async fn totp_at_platform(app: &TestApp, secret: &str) -> String {
    nexus_auth::secrets::totp::code_at(secret, app.now().await.as_second() as u64).unwrap()
}

/// Enrol and confirm TOTP for `s` (from `s`'s session); the secret and recovery codes.
async fn enable_totp(app: &TestApp, s: &Session) -> (String, Vec<String>) {
    let e = app
        .post(
            "/v1/me/mfa/totp",
            Some(&s.access),
            json!({"password": s.password}),
        )
        .await;
    assert_eq!(e.status, 200, "{}", e.text);
    let secret = e.body["secret"].as_str().unwrap().to_owned();
    let codes = e.body["recoveryCodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    let c = app
        .post(
            "/v1/me/mfa/totp/confirm",
            Some(&s.access),
            json!({"code": totp_at_platform(app, &secret).await}),
        )
        .await;
    assert_eq!(c.status, 204, "{}", c.text);
    (secret, codes)
}

/// Log in with the password; the MFA challenge token.
async fn mfa_challenge(app: &TestApp, s: &Session) -> String {
    let l = app.login(&s.email, &s.password).await;
    assert_eq!(l.body["mfaRequired"], true, "{}", l.text);
    l.body["mfaToken"].as_str().unwrap().to_owned()
}

async fn refresh(app: &TestApp, token: &str) -> Res {
    app.post("/v1/auth/refresh", None, json!({"refreshToken": token}))
        .await
}

/// A second, independent session of the same account (another device).
async fn second_session(app: &TestApp, s: &Session) -> Session {
    let l = app.login(&s.email, &s.password).await;
    assert_eq!(l.status, 200, "{}", l.text);
    Session {
        access: l.body["accessToken"].as_str().unwrap().to_owned(),
        refresh: l.body["refreshToken"].as_str().unwrap().to_owned(),
        ..s.clone()
    }
}

/// A problem body without the per-request fields, to compare two answers.
fn comparable(r: &Res) -> (u16, Value) {
    let mut b = r.body.clone();
    if let Some(o) = b.as_object_mut() {
        o.remove("instance");
        o.remove("requestId");
        o.remove("email");
    }
    (r.status.as_u16(), b)
}

fn unique_email(tag: &str) -> String {
    format!(
        "{tag}{}@example.com",
        ulid::Ulid::new().to_string().to_lowercase()
    )
}

// ---------------------------------------------------------------- MFA attempts

/// High: the 5-code limit of an MFA challenge held only for wrong codes; a
/// right code after the fifth wrong one was accepted, and concurrent guesses
/// weren't counted atomically.
#[tokio::test]
async fn an_mfa_challenge_takes_five_codes_in_all_and_the_account_ten_an_hour() {
    let app = TestApp::spawn().await;
    app.at_window_start().await; // ten failures an hour, counted in fixed windows
    let s = app.verified_user().await;
    let (secret, _) = enable_totp(&app, &s).await;

    // Five wrong codes, then the right one: refused, the challenge is spent.
    let token = mfa_challenge(&app, &s).await;
    for left in (0..5).rev() {
        let r = app
            .post(
                "/v1/auth/mfa/verify",
                None,
                json!({"mfaToken": token, "code": "000000"}),
            )
            .await;
        r.assert_problem(400, "validation-failed");
        assert!(
            r.body["errors"][0]["detail"]
                .as_str()
                .unwrap()
                .contains(&format!("{left} attempts left")),
            "{}",
            r.text
        );
    }
    let right = totp_at_platform(&app, &secret).await;
    app.post(
        "/v1/auth/mfa/verify",
        None,
        json!({"mfaToken": token, "code": right}),
    )
    .await
    .assert_problem(401, "unauthenticated");

    // Concurrent guesses on a fresh challenge: at most five are even checked.
    let token = mfa_challenge(&app, &s).await;
    let guesses = futures::future::join_all((0..12).map(|i| {
        app.post(
            "/v1/auth/mfa/verify",
            None,
            json!({"mfaToken": token, "code": format!("{:06}", 100 + i)}),
        )
    }))
    .await;
    let checked = guesses.iter().filter(|r| r.status == 400).count();
    let refused = guesses.iter().filter(|r| r.status == 401).count();
    assert_eq!(
        (checked, refused),
        (5, 7),
        "{:?}",
        guesses.iter().map(|r| r.status).collect::<Vec<_>>()
    );

    // Ten wrong codes within the hour (two challenges): the account gets no
    // new challenge, even with the right password, until the hour passes.
    app.login(&s.email, &s.password)
        .await
        .assert_problem(429, "throttled");
    app.advance_clock(3600).await;
    let token = mfa_challenge(&app, &s).await;
    let ok = app
        .post(
            "/v1/auth/mfa/verify",
            None,
            json!({"mfaToken": token, "code": totp_at_platform(&app, &secret).await}),
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text);
}

// ---------------------------------------------------------------- sessions

/// High: a password reset revoked no session; a stolen refresh token kept
/// rotating for 30 days.
#[tokio::test]
async fn a_password_reset_ends_every_session() {
    let app = TestApp::spawn().await;
    let (victim, org) = app.org_owner("brand").await;
    let thief = second_session(&app, &victim).await;
    // The thief's token is good until the reset.
    let stolen = refresh(&app, &thief.refresh).await;
    assert_eq!(stolen.status, 200, "{}", stolen.text);
    let stolen_refresh = stolen.body["refreshToken"].as_str().unwrap().to_owned();
    let stolen_access = stolen.body["accessToken"].as_str().unwrap().to_owned();

    app.post(
        "/v1/auth/password/forgot",
        None,
        json!({"email": victim.email}),
    )
    .await;
    let token = app.last_mail(&victim.email, "password-reset").await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let new_password = "amber-falcon-93-quartz";
    let r = app
        .post(
            "/v1/auth/password/reset",
            None,
            json!({"token": token, "password": new_password}),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);

    // Every refresh token of every earlier session is refused…
    for t in [&stolen_refresh, &victim.refresh] {
        refresh(&app, t)
            .await
            .assert_problem(401, "unauthenticated");
    }
    // …and so is minting tokens from a still-unexpired access token.
    app.post(
        "/v1/auth/switch-org",
        Some(&stolen_access),
        json!({"orgId": org}),
    )
    .await
    .assert_problem(401, "unauthenticated");
    // A new login works, and its session lives.
    let l = app.login(&victim.email, new_password).await;
    assert_eq!(l.status, 200, "{}", l.text);
    let r = refresh(&app, l.body["refreshToken"].as_str().unwrap()).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

/// High (second factors): turning a factor on or off ends the account's
/// other sessions; the session that made the change continues.
#[tokio::test]
async fn a_second_factor_change_ends_the_other_sessions_but_not_its_own() {
    let app = TestApp::spawn().await;
    let me = app.verified_user().await;
    let other = second_session(&app, &me).await;
    let (secret, _) = enable_totp(&app, &me).await;
    refresh(&app, &other.refresh)
        .await
        .assert_problem(401, "unauthenticated");
    let mine = refresh(&app, &me.refresh).await;
    assert_eq!(mine.status, 200, "{}", mine.text);
    let me = Session {
        access: mine.body["accessToken"].as_str().unwrap().to_owned(),
        refresh: mine.body["refreshToken"].as_str().unwrap().to_owned(),
        ..me
    };

    // Disabling (with a fresh TOTP step) does the same.
    app.advance_clock(31).await;
    let l = app.login(&me.email, &me.password).await;
    let t = app
        .post(
            "/v1/auth/mfa/verify",
            None,
            json!({"mfaToken": l.body["mfaToken"], "code": totp_at_platform(&app, &secret).await}),
        )
        .await;
    assert_eq!(t.status, 200, "{}", t.text);
    let other_refresh = t.body["refreshToken"].as_str().unwrap().to_owned();
    app.advance_clock(31).await;
    let d = app
        .post(
            "/v1/me/mfa/totp/disable",
            Some(&me.access),
            json!({"code": totp_at_platform(&app, &secret).await}),
        )
        .await;
    assert_eq!(d.status, 204, "{}", d.text);
    refresh(&app, &other_refresh)
        .await
        .assert_problem(401, "unauthenticated");
    assert_eq!(refresh(&app, &me.refresh).await.status, 200);
}

/// High: switch-org minted a fresh 30-day session from any live access
/// token, so a logged-out or reuse-revoked session came back.
#[tokio::test]
async fn switch_org_needs_a_live_session_and_stays_in_it() {
    let app = TestApp::spawn().await;
    let (owner, org) = app.org_owner("brand").await;

    // Logged out: the access token is still unexpired, but no tokens come from it.
    let s = second_session(&app, &owner).await;
    assert_eq!(
        app.post("/v1/auth/logout", Some(&s.access), json!({}))
            .await
            .status,
        204
    );
    app.post(
        "/v1/auth/switch-org",
        Some(&s.access),
        json!({"orgId": org}),
    )
    .await
    .assert_problem(401, "unauthenticated");

    // Revoked by refresh-token reuse: same.
    let s = second_session(&app, &owner).await;
    assert_eq!(refresh(&app, &s.refresh).await.status, 200);
    refresh(&app, &s.refresh)
        .await
        .assert_problem(401, "unauthenticated");
    app.post(
        "/v1/auth/switch-org",
        Some(&s.access),
        json!({"orgId": org}),
    )
    .await
    .assert_problem(401, "unauthenticated");

    // A live session switches within itself: logging out with the new
    // tokens ends the tokens it was switched from, too.
    let s = second_session(&app, &owner).await;
    let sw = app
        .post(
            "/v1/auth/switch-org",
            Some(&s.access),
            json!({"orgId": org}),
        )
        .await;
    assert_eq!(sw.status, 200, "{}", sw.text);
    let switched = sw.body["accessToken"].as_str().unwrap();
    assert_eq!(
        app.post("/v1/auth/logout", Some(switched), json!({}))
            .await
            .status,
        204
    );
    for t in [&s.refresh, sw.body["refreshToken"].as_str().unwrap()] {
        refresh(&app, t)
            .await
            .assert_problem(401, "unauthenticated");
    }
}

// ---------------------------------------------------------------- TOTP enrolment

/// Medium: enrolment handed out working recovery codes before the seed was
/// confirmed and without re-authentication, and those codes could then
/// disable e-mail MFA.
#[tokio::test]
async fn totp_enrolment_needs_the_password_and_its_codes_work_only_once_confirmed() {
    let app = TestApp::spawn().await;
    let s = app.verified_user().await;
    // E-mail sign-in codes on.
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
    let on = app
        .post(
            "/v1/me/mfa/email/confirm",
            Some(&s.access),
            json!({"code": code}),
        )
        .await;
    assert_eq!(on.status, 204, "{}", on.text);

    // No password, or a wrong one: no enrolment.
    app.post("/v1/me/mfa/totp", Some(&s.access), json!({}))
        .await
        .assert_problem(400, "validation-failed");
    let wrong = app
        .post(
            "/v1/me/mfa/totp",
            Some(&s.access),
            json!({"password": "not-the-password-42"}),
        )
        .await;
    wrong.assert_problem(400, "validation-failed");
    assert_eq!(wrong.body["errors"][0]["pointer"], "/password");

    // Pending codes can't turn e-mail MFA off, nor sign in.
    let e = app
        .post(
            "/v1/me/mfa/totp",
            Some(&s.access),
            json!({"password": s.password}),
        )
        .await;
    assert_eq!(e.status, 200, "{}", e.text);
    let pending_code = e.body["recoveryCodes"][0].as_str().unwrap().to_owned();
    app.post(
        "/v1/me/mfa/email/disable",
        Some(&s.access),
        json!({"code": pending_code}),
    )
    .await
    .assert_problem(400, "validation-failed");
    let l = app.login(&s.email, &s.password).await;
    assert_eq!(l.body["methods"], json!(["email"]), "{}", l.text);
    app.post(
        "/v1/auth/mfa/verify",
        None,
        json!({"mfaToken": l.body["mfaToken"], "code": pending_code}),
    )
    .await
    .assert_problem(400, "validation-failed");

    // Confirmed: the same codes now work (once).
    let secret = e.body["secret"].as_str().unwrap();
    let c = app
        .post(
            "/v1/me/mfa/totp/confirm",
            Some(&s.access),
            json!({"code": totp_at_platform(&app, secret).await}),
        )
        .await;
    assert_eq!(c.status, 204, "{}", c.text);
    let l = app.login(&s.email, &s.password).await;
    let t = app
        .post(
            "/v1/auth/mfa/verify",
            None,
            json!({"mfaToken": l.body["mfaToken"], "code": pending_code}),
        )
        .await;
    assert_eq!(t.status, 200, "{}", t.text);
}

// ---------------------------------------------------------------- enumeration

/// Low: register answered `409 email-taken` for known addresses, and
/// forgot-password and failed logins did more work for real accounts.
#[tokio::test]
async fn answers_do_not_tell_whether_an_account_exists() {
    let app = TestApp::spawn().await;
    let known = app.verified_user().await;
    let unknown = unique_email("nobody");

    // Registration: the same answer; the owner is told, nothing changes.
    let a = app
        .register_with(&known.email, "cobalt-meadow-58-lantern")
        .await;
    let b = app
        .register_with(&unknown, "cobalt-meadow-58-lantern")
        .await;
    assert_eq!(comparable(&a), comparable(&b));
    assert_eq!(a.status, 202);
    assert_eq!(
        app.mail_count(&known.email, "registration-existing").await,
        1
    );
    assert_eq!(app.mail_count(&known.email, "verify-email").await, 1);
    assert_eq!(
        app.login(&known.email, &known.password).await.status,
        200,
        "the existing password still works"
    );
    app.login(&known.email, "cobalt-meadow-58-lantern")
        .await
        .assert_problem(401, "unauthenticated");

    // Forgot-password: the same answer; only the real account gets mail.
    let a = app
        .post(
            "/v1/auth/password/forgot",
            None,
            json!({"email": known.email}),
        )
        .await;
    let b = app
        .post("/v1/auth/password/forgot", None, json!({"email": unknown}))
        .await;
    assert_eq!(comparable(&a), comparable(&b));
    assert_eq!(app.mail_count(&known.email, "password-reset").await, 1);

    // A failed login: the same problem for a wrong password and an unknown address.
    let a = app.login(&known.email, "wrong-password-123").await;
    let b = app
        .login(&unique_email("ghost"), "wrong-password-123")
        .await;
    assert_eq!(comparable(&a), comparable(&b));
}

// ---------------------------------------------------------------- abuse limits

/// Low: five failures locked an account even against the right password
/// for 15 minutes; now the delay grows with the failures and the owner gets
/// in once it has passed.
#[tokio::test]
async fn repeated_failures_delay_an_account_progressively_instead_of_locking_it() {
    let app = TestApp::spawn().await;
    let s = app.verified_user().await;
    for _ in 0..5 {
        app.login(&s.email, "wrong-password-123")
            .await
            .assert_problem(401, "unauthenticated");
    }
    let r = app.login(&s.email, &s.password).await;
    r.assert_problem(429, "throttled");
    let wait: i64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&wait), "first delay is 2 s, got {wait}");
    app.advance_clock(wait).await;
    // One more failure doubles the wait.
    app.login(&s.email, "wrong-password-123")
        .await
        .assert_problem(401, "unauthenticated");
    let r = app.login(&s.email, &s.password).await;
    r.assert_problem(429, "throttled");
    let wait: i64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((3..=4).contains(&wait), "second delay is 4 s, got {wait}");
    // Hammering during the delay doesn't lengthen it for the owner.
    for _ in 0..5 {
        app.login(&s.email, "wrong-password-123")
            .await
            .assert_problem(429, "throttled");
    }
    app.advance_clock(wait).await;
    let ok = app.login(&s.email, &s.password).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    // Success ends the streak: the next typo is free again.
    app.login(&s.email, "wrong-password-123")
        .await
        .assert_problem(401, "unauthenticated");
    assert_eq!(app.login(&s.email, &s.password).await.status, 200);
}

/// Low: the per-IP limit counted successful logins, so an office behind one
/// NAT was locked out after 30 logins in 15 minutes.
#[tokio::test]
async fn many_honest_logins_from_one_address_are_not_throttled() {
    let app = TestApp::spawn().await;
    let people = [app.verified_user().await, app.verified_user().await];
    for i in 0..40 {
        let p = &people[i % 2];
        let r = app.login(&p.email, &p.password).await;
        assert_eq!(r.status, 200, "login {i}: {}", r.text);
    }
}

/// Low: forgot-password and register were unthrottled, so anyone could
/// mail-bomb an address; bad tokens on refresh/verify were unthrottled.
#[tokio::test]
async fn mail_to_one_address_and_bad_tokens_from_one_client_are_limited() {
    let app = TestApp::spawn().await;
    app.at_window_start().await; // mail per hour, bad tokens per 15 minutes: fixed windows
    let s = app.verified_user().await;
    // Registration already sent one account e-mail to the address.
    for _ in 0..4 {
        assert_eq!(
            app.post("/v1/auth/password/forgot", None, json!({"email": s.email}))
                .await
                .status,
            202
        );
    }
    let r = app
        .post("/v1/auth/password/forgot", None, json!({"email": s.email}))
        .await;
    r.assert_problem(429, "throttled");
    assert!(r.headers.contains_key("retry-after"));
    // Registration counts toward the same recipient.
    app.register(&s.email)
        .await
        .assert_problem(429, "throttled");
    // An unknown address is limited the same way (no oracle in the limit).
    let ghost = unique_email("ghost");
    for _ in 0..5 {
        assert_eq!(
            app.post("/v1/auth/password/forgot", None, json!({"email": ghost}))
                .await
                .status,
            202
        );
    }
    app.post("/v1/auth/password/forgot", None, json!({"email": ghost}))
        .await
        .assert_problem(429, "throttled");
    assert_eq!(app.mail_count(&s.email, "password-reset").await, 4);

    // Guessing tokens: 50 bad refresh tokens from one client, then 429 for
    // every token endpoint from that client, but not from another one.
    for i in 0..50 {
        refresh(&app, &format!("nxr_guess{i}"))
            .await
            .assert_problem(401, "unauthenticated");
    }
    refresh(&app, "nxr_guess-more")
        .await
        .assert_problem(429, "throttled");
    app.post("/v1/auth/verify-email", None, json!({"token": "nxv_guess"}))
        .await
        .assert_problem(429, "throttled");
    let elsewhere = from("127.0.0.2");
    let r = app
        .raw(
            elsewhere
                .post(app.url("/v1/auth/refresh"))
                .json(&json!({"refreshToken": s.refresh})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

// ---------------------------------------------------------------- squatting

/// Low: an unverified registration could squat someone else's address with
/// the squatter's password; now a new registration or a reset replaces it,
/// and unverified accounts expire.
#[tokio::test]
async fn an_unverified_account_does_not_hold_an_address() {
    let app = TestApp::spawn().await;
    let victim = unique_email("victim");
    let squatter_pw = "squatter-pw-91-nightfall";
    let victim_pw = "harbor-velvet-26-crane";

    // The squatter registers the victim's address; the link goes to the victim.
    assert_eq!(app.register_with(&victim, squatter_pw).await.status, 202);
    let squat_link = app.last_mail(&victim, "verify-email").await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    // The victim registers too: a new account replaces the unverified one,
    // whose link stops working.
    assert_eq!(app.register_with(&victim, victim_pw).await.status, 202);
    let link = app.last_mail(&victim, "verify-email").await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(link, squat_link);
    app.post("/v1/auth/verify-email", None, json!({"token": squat_link}))
        .await
        .assert_problem(400, "validation-failed");
    assert_eq!(
        app.post("/v1/auth/verify-email", None, json!({"token": link}))
            .await
            .status,
        204
    );
    assert_eq!(app.login(&victim, victim_pw).await.status, 200);
    app.login(&victim, squatter_pw)
        .await
        .assert_problem(401, "unauthenticated");

    // A reset takes over an unverified account as well (and verifies it).
    let other = unique_email("victim");
    assert_eq!(app.register_with(&other, squatter_pw).await.status, 202);
    app.settle().await;
    app.post("/v1/auth/password/forgot", None, json!({"email": other}))
        .await;
    let token = app.last_mail(&other, "password-reset").await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        app.post(
            "/v1/auth/password/reset",
            None,
            json!({"token": token, "password": victim_pw})
        )
        .await
        .status,
        204
    );
    assert_eq!(app.login(&other, victim_pw).await.status, 200);

    // Unverified accounts expire after 7 days: the address is free again.
    let late = unique_email("late");
    assert_eq!(app.register_with(&late, squatter_pw).await.status, 202);
    let stale = app.last_mail(&late, "verify-email").await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    app.advance_clock(7 * 24 * 3600 + 1).await;
    app.post("/v1/auth/verify-email", None, json!({"token": stale}))
        .await
        .assert_problem(400, "validation-failed");
    assert_eq!(app.register_with(&late, victim_pw).await.status, 202);
    let link = app.last_mail(&late, "verify-email").await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        app.post("/v1/auth/verify-email", None, json!({"token": link}))
            .await
            .status,
        204
    );
    assert_eq!(app.login(&late, victim_pw).await.status, 200);
}

// ---------------------------------------------------------- abuse controls

/// An HTTP client whose requests come from `addr` (any 127.0.0.0/8 address
/// reaches the local gateway; the gateway sees it as the source IP, as API
/// Gateway does).
fn from(addr: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(Some(addr.parse().unwrap()))
        .build()
        .unwrap()
}

async fn login_from(app: &TestApp, client: &reqwest::Client, email: &str, password: &str) -> Res {
    app.raw(
        client
            .post(app.url("/v1/auth/login"))
            .json(&json!({"email": email, "password": password})),
    )
    .await
}

/// Password spraying: one address failing on ten different accounts within
/// the hour is blocked for an hour, for every account (even with the right
/// password), while other addresses are not.
#[tokio::test]
async fn an_address_failing_on_ten_accounts_is_blocked_for_an_hour() {
    let app = TestApp::spawn().await;
    // Distinct accounts are counted per hour window: the ten failures must
    // fall inside one.
    app.at_window_start().await;
    let sprayer = from("127.0.0.3");
    let victim = app.verified_user().await;
    for i in 0..SPRAY_ACCOUNTS {
        // Unknown and known accounts count alike.
        let account = if i == 0 {
            victim.email.clone()
        } else {
            unique_email(&format!("spray{i}"))
        };
        login_from(&app, &sprayer, &account, "wrong-password-123")
            .await
            .assert_problem(401, "unauthenticated");
    }
    let blocked = login_from(&app, &sprayer, &victim.email, &victim.password).await;
    blocked.assert_problem(429, "throttled");
    let wait: i64 = blocked.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((3500..=3600).contains(&wait), "an hour: {wait}");
    let elsewhere = login_from(&app, &from("127.0.0.4"), &victim.email, &victim.password).await;
    assert_eq!(elsewhere.status, 200, "{}", elsewhere.text);

    app.advance_clock(3601).await;
    let later = login_from(&app, &sprayer, &victim.email, &victim.password).await;
    assert_eq!(later.status, 200, "{}", later.text);
}

/// The per-address limit: 100 failed logins in 15 minutes from one address
/// (on fewer than ten accounts, each waiting out its own delays), then that
/// address is refused until the window passes; other addresses are not.
#[tokio::test]
async fn an_address_gets_a_hundred_failed_logins_per_quarter_hour() {
    let app = TestApp::spawn().await;
    let guesser = from("127.0.0.5");
    let someone = app.verified_user().await;
    let accounts: Vec<String> = (0..SPRAY_ACCOUNTS - 1)
        .map(|i| unique_email(&format!("guess{i}")))
        .collect();
    // The limit counts in fixed 15-minute windows: the whole burst must fall
    // inside one (a burst across a boundary is counted in two).
    let window = LOGIN_FAILURES_PER_IP.secs;
    app.at_window_start().await;
    let started = app.now().await;
    let mut failures = 0;
    'guessing: loop {
        let mut wait = 0;
        for a in &accounts {
            let r = login_from(&app, &guesser, a, "wrong-password-123").await;
            match r.status.as_u16() {
                401 => failures += 1,
                429 => {
                    let w: i64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
                    wait = wait.max(w);
                }
                _ => panic!("{}", r.text),
            }
            if failures == 100 {
                break 'guessing;
            }
        }
        // Every account's own delay over; the address's window still open.
        app.advance_clock(wait.max(1)).await;
    }
    let spent = app.now().await.duration_since(started).as_secs();
    assert!(
        spent < window,
        "the 100 failures took {spent} s of the window"
    );
    let refused = login_from(&app, &guesser, &someone.email, &someone.password).await;
    refused.assert_problem(429, "throttled");
    let other = login_from(&app, &from("127.0.0.6"), &someone.email, &someone.password).await;
    assert_eq!(other.status, 200, "{}", other.text);
    app.advance_clock(window).await;
    let later = login_from(&app, &guesser, &someone.email, &someone.password).await;
    assert_eq!(later.status, 200, "{}", later.text);
}

/// A sign-in from an address the account has not used is mailed to its
/// owner and recorded (with `newIp`) in the organization's audit log; a
/// known address is neither.
#[tokio::test]
async fn a_login_from_a_new_address_is_mailed_and_audited() {
    let app = TestApp::spawn().await;
    let (owner, org) = app.org_owner("brand").await; // has logged in from 127.0.0.1
    assert_eq!(app.mail_count(&owner.email, "new-login").await, 0);
    let again = app.login(&owner.email, &owner.password).await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(
        app.mail_count(&owner.email, "new-login").await,
        0,
        "known address"
    );

    let r = login_from(&app, &from("127.0.0.7"), &owner.email, &owner.password).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(app.mail_count(&owner.email, "new-login").await, 1);
    let r = login_from(&app, &from("127.0.0.7"), &owner.email, &owner.password).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        app.mail_count(&owner.email, "new-login").await,
        1,
        "now known"
    );

    let log = app
        .get(
            &format!("/v1/orgs/{org}/audit-log?limit=100"),
            Some(&owner.access),
        )
        .await;
    assert_eq!(log.status, 200, "{}", log.text);
    let logins: Vec<&Value> = log.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "LoginSucceeded")
        .collect();
    // (The first login ever came before the organization, so it is in no
    // organization's log.) Three since: 127.0.0.1 known, .7 new, .7 known.
    assert_eq!(logins.len(), 3, "{logins:?}");
    let new_ip: Vec<_> = logins
        .iter()
        .filter(|e| e["data"]["newIp"] == true)
        .collect();
    assert_eq!(new_ip.len(), 1, "{logins:?}");
    let fingerprint = new_ip[0]["data"]["ip"].as_str().unwrap();
    assert_eq!(
        logins
            .iter()
            .filter(|e| e["data"]["ip"] == fingerprint)
            .count(),
        2,
        "both .7 logins carry the same address fingerprint"
    );
    assert!(
        !log.text.contains("127.0.0.7"),
        "addresses are fingerprinted, not stored"
    );
}

/// An MFA challenge lives five minutes: the right code after that is refused.
#[tokio::test]
async fn an_mfa_challenge_expires_after_five_minutes() {
    let app = TestApp::spawn().await;
    let s = app.verified_user().await;
    let (secret, _) = enable_totp(&app, &s).await;
    let challenge = mfa_challenge(&app, &s).await;
    app.advance_clock(CHALLENGE_TTL_SECS + 1).await;
    let code = totp_at_platform(&app, &secret).await;
    let late = app
        .post(
            "/v1/auth/mfa/verify",
            None,
            json!({"mfaToken": challenge, "code": code}),
        )
        .await;
    late.assert_problem(401, "unauthenticated");
    // A fresh challenge with the same code works.
    let fresh = mfa_challenge(&app, &s).await;
    let ok = app
        .post(
            "/v1/auth/mfa/verify",
            None,
            json!({"mfaToken": fresh, "code": code}),
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text);
}

/// A TOTP code works once: replayed in its 30-second step (on another
/// challenge) it is refused; the next step's code works.
#[tokio::test]
async fn a_replayed_totp_code_is_refused() {
    let app = TestApp::spawn().await;
    let s = app.verified_user().await;
    let (secret, _) = enable_totp(&app, &s).await;
    app.advance_clock(30).await; // past the step spent confirming enrolment
    let code = totp_at_platform(&app, &secret).await;
    let first = mfa_challenge(&app, &s).await;
    let ok = app
        .post(
            "/v1/auth/mfa/verify",
            None,
            json!({"mfaToken": first, "code": code}),
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    let second = mfa_challenge(&app, &s).await;
    let replay = app
        .post(
            "/v1/auth/mfa/verify",
            None,
            json!({"mfaToken": second, "code": code}),
        )
        .await;
    replay.assert_problem(400, "validation-failed");
    assert_eq!(
        replay.body["errors"][0]["code"], "invalid_code",
        "{}",
        replay.text
    );
    app.advance_clock(30).await;
    let next = totp_at_platform(&app, &secret).await;
    let ok = app
        .post(
            "/v1/auth/mfa/verify",
            None,
            json!({"mfaToken": second, "code": next}),
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text);
}
