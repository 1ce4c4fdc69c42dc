//! Login (with brute-force throttling, suspicious-login detection and MFA
//! challenges), refresh, logout and switching the active organization.

use nexus_core::events::DomainEvent;
use nexus_core::ids::{OrgId, UserId};
use nexus_core::principal::{Principal, Role};
use nexus_core::user::Email;
use nexus_core::{Error, FieldError, Timestamp};
use nexus_ports::mail::Email as Mail;
use nexus_store::repos::sessions::{self, Rotation};
use nexus_store::repos::tokens::{self, OneTimeToken, Purpose};
use nexus_store::repos::users::{self, UserRecord};
use nexus_store::repos::{orgs, throttle};
use nexus_store::{Tx, Write};
use serde::Serialize;

use crate::tokens::{access_token, next_refresh, pair, start_session, TokenPair};
use crate::{fingerprint, Deps, Origin};

/// Attempts per IP per window, failures per account per window.
pub const WINDOW_SECS: i64 = 15 * 60;
pub const MAX_ATTEMPTS_PER_IP: u64 = 30;
pub const MAX_FAILURES_PER_ACCOUNT: u64 = 5;
/// An IP failing on this many different accounts within an hour is blocked for an hour.
pub const SPRAY_ACCOUNTS: usize = 10;
pub const SPRAY_WINDOW_SECS: i64 = 3600;
pub const SPRAY_BLOCK_SECS: i64 = 3600;
/// An MFA challenge lives 5 minutes and allows 5 wrong codes.
pub const CHALLENGE_TTL_SECS: i64 = 300;
pub const CHALLENGE_MAX_FAILURES: u32 = 5;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", untagged)]
pub enum LoginOutcome {
    Tokens(TokenPair),
    Mfa(MfaChallenge),
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MfaChallenge {
    /// Always `true`.
    pub mfa_required: bool,
    /// Pass to `POST /v1/auth/mfa/verify` within 5 minutes.
    pub mfa_token: String,
    /// `totp`, `email` (a code was e-mailed), and `recovery` codes are always accepted.
    pub methods: Vec<&'static str>,
}

fn bad_credentials() -> Error {
    Error::Unauthenticated("e-mail or password is wrong".into())
}

/// The user's first organization (tokens are scoped to it after login).
async fn default_scope(d: &Deps<'_>, user: &UserId) -> Result<Option<(OrgId, Role)>, Error> {
    let page = orgs::list_for_user(d.store, user, 1, None).await?;
    Ok(page.items.into_iter().next().map(|m| (m.org_id, m.role)))
}

pub async fn login(
    d: &Deps<'_>,
    email: &str,
    password: &str,
    origin: &Origin,
) -> Result<LoginOutcome, Error> {
    let now = d.clock.now();
    let ip = fingerprint(&origin.ip);
    if let Some(secs) = throttle::blocked_for(d.store, "login-ip", &ip, now).await? {
        return Err(Error::Throttled {
            retry_after_secs: secs,
        });
    }
    let (attempts, window_left) = throttle::hit(d.store, "login-ip", &ip, WINDOW_SECS, now).await?;
    if attempts > MAX_ATTEMPTS_PER_IP {
        return Err(Error::Throttled {
            retry_after_secs: window_left,
        });
    }
    let account = Email::parse(email)
        .map(|e| fingerprint(e.as_str()))
        .unwrap_or_else(|_| fingerprint(email));
    if throttle::count(d.store, "login-fail-account", &account, WINDOW_SECS, now).await?
        >= MAX_FAILURES_PER_ACCOUNT
    {
        return Err(Error::Throttled {
            retry_after_secs: window_left,
        });
    }
    let user = match Email::parse(email) {
        Ok(e) => users::find_by_email(d.store, &e).await?,
        Err(_) => None,
    };
    let ok = {
        let pw = password.to_owned();
        let phc = user.as_ref().map(|u| u.password_hash.clone());
        tokio::task::spawn_blocking(move || match phc {
            Some(phc) => nexus_auth::secrets::verify_password(&pw, &phc),
            None => {
                nexus_auth::secrets::dummy_password_check(&pw);
                false
            }
        })
        .await
        .map_err(Error::internal)?
    };
    let user = match user {
        Some(u) if ok => u,
        other => {
            on_failure(d, &account, &ip, other.as_ref(), now).await?;
            return Err(bad_credentials());
        }
    };
    if user.email_verified_at.is_none() {
        return Err(Error::EmailNotVerified);
    }
    if user.mfa.status().enabled() {
        return Ok(LoginOutcome::Mfa(challenge(d, &user, origin, now).await?));
    }
    Ok(LoginOutcome::Tokens(
        complete_login(d, user, origin, now, "password").await?,
    ))
}

async fn on_failure(
    d: &Deps<'_>,
    account: &str,
    ip: &str,
    user: Option<&UserRecord>,
    now: Timestamp,
) -> Result<(), Error> {
    throttle::hit(d.store, "login-fail-account", account, WINDOW_SECS, now).await?;
    let distinct = throttle::add_distinct(
        d.store,
        "login-fail-accounts-by-ip",
        ip,
        account,
        SPRAY_WINDOW_SECS,
        now,
    )
    .await?;
    if distinct >= SPRAY_ACCOUNTS {
        let until = now
            .checked_add(jiff::SignedDuration::from_secs(SPRAY_BLOCK_SECS))
            .unwrap_or(now);
        throttle::block(d.store, "login-ip", ip, until).await?;
        tracing::warn!(
            ip.fingerprint = ip,
            accounts = distinct,
            "login: IP failing across many accounts blocked"
        );
    }
    if let Some(u) = user {
        let scope = default_scope(d, &u.id).await?;
        let event = DomainEvent::new(
            "identity",
            "LoginFailed",
            scope.map(|(o, _)| o),
            u.id.to_string(),
            now,
            serde_json::json!({"userId": u.id, "reason": "bad-password", "ip": ip}),
        );
        d.store.commit(Tx::new().event(event)).await?;
    }
    Ok(())
}

async fn challenge(
    d: &Deps<'_>,
    user: &UserRecord,
    origin: &Origin,
    now: Timestamp,
) -> Result<MfaChallenge, Error> {
    let token = nexus_auth::secrets::new_token("nxm");
    let mut data = serde_json::json!({ "ip": origin.ip, "userAgent": origin.user_agent });
    let mut methods = vec![];
    if user.mfa.totp_enabled {
        methods.push("totp");
    }
    let mut code = None;
    if user.mfa.email_otp_enabled {
        let c = nexus_auth::secrets::numeric_code(6);
        data["emailCode"] = nexus_auth::secrets::token_hash(&c).into();
        code = Some(c);
        methods.push("email");
    }
    methods.push("recovery");
    let record = OneTimeToken {
        hash: nexus_auth::secrets::token_hash(&token),
        purpose: Purpose::MfaChallenge,
        subject: user.id.to_string(),
        data,
        expires_at: now.as_second() + CHALLENGE_TTL_SECS,
        used_at: None,
        attempts: 0,
    };
    d.store
        .commit(Tx::new().write(Write::create(&record)?))
        .await?;
    if let Some(c) = code {
        let mail = Mail {
            to: user.email.to_string(),
            template: "login-code",
            subject: format!("{c} is your NEXUS sign-in code"),
            text: format!("Your NEXUS sign-in code is {c}. It expires in 5 minutes. If you didn't try to sign in, change your password."),
            token: Some(c),
            link: None,
        };
        d.mailer.send(&mail).await.map_err(|e| Error::Unavailable {
            detail: format!("could not send the sign-in code: {e}"),
            retry_after_secs: 5,
        })?;
    }
    Ok(MfaChallenge {
        mfa_required: true,
        mfa_token: token,
        methods,
    })
}

/// Second step of an MFA login.
pub async fn verify_mfa(
    d: &Deps<'_>,
    mfa_token: &str,
    code: &str,
    origin: &Origin,
) -> Result<TokenPair, Error> {
    let now = d.clock.now();
    let hash = nexus_auth::secrets::token_hash(mfa_token);
    let expired =
        || Error::Unauthenticated("the MFA challenge is invalid or expired; log in again".into());
    let challenge = tokens::peek(d.store, &hash, Purpose::MfaChallenge, now)
        .await?
        .ok_or_else(expired)?;
    let id: UserId = challenge.subject.parse().map_err(|_| expired())?;
    let mut user = users::get(d.store, &id).await?.ok_or_else(expired)?;
    let version = user.version;
    let mfa_before = user.mfa.clone();
    let accepted = crate::mfa::check_second_factor(
        d,
        &mut user,
        code,
        challenge.data.get("emailCode").and_then(|v| v.as_str()),
        now,
    )
    .await?;
    if !accepted {
        if !tokens::record_failure(d.store, &hash, CHALLENGE_MAX_FAILURES).await? {
            return Err(expired());
        }
        return Err(Error::Validation(vec![FieldError::new(
            "/code",
            "invalid_code",
            "the code is wrong or expired",
        )]));
    }
    tokens::consume(d.store, &hash, Purpose::MfaChallenge, now)
        .await?
        .ok_or_else(expired)?;
    if user.mfa != mfa_before {
        // A TOTP step or recovery code was spent: persist it before issuing tokens.
        user = users::save(d.store, &user, version, Tx::new()).await?;
    }
    complete_login(d, user, origin, now, "mfa").await
}

/// Tokens for a verified user, flagging logins from new IPs.
async fn complete_login(
    d: &Deps<'_>,
    mut user: UserRecord,
    origin: &Origin,
    now: Timestamp,
    method: &str,
) -> Result<TokenPair, Error> {
    let scope = default_scope(d, &user.id).await?;
    let ip = fingerprint(&origin.ip);
    let new_ip = !user.known_ips.contains(&ip);
    let mut tx = Tx::new().event(DomainEvent::new(
        "identity",
        "LoginSucceeded",
        scope.as_ref().map(|(o, _)| o.clone()),
        user.id.to_string(),
        now,
        serde_json::json!({"userId": user.id, "method": method, "ip": ip, "newIp": new_ip}),
    ));
    if new_ip {
        let first_login = user.known_ips.is_empty();
        user.known_ips.insert(0, ip.clone());
        user.known_ips.truncate(20);
        let version = user.version;
        user.updated_at = now;
        if !first_login {
            tx = tx.event(DomainEvent::new(
                "identity",
                "LoginFromNewIp",
                scope.as_ref().map(|(o, _)| o.clone()),
                user.id.to_string(),
                now,
                serde_json::json!({"userId": user.id, "ip": ip, "userAgent": origin.user_agent}),
            ));
            let mail = Mail {
                to: user.email.to_string(),
                template: "new-login",
                subject: "New sign-in to your NEXUS account".into(),
                text: format!(
                    "Your account was just used to sign in from a new network ({}, {}). If this wasn't you, reset your password now.",
                    origin.ip, origin.user_agent
                ),
                token: None,
                link: Some(format!("{}/forgot-password", d.app_url)),
            };
            if let Err(e) = d.mailer.send(&mail).await {
                tracing::error!(error = %e, mail.template = "new-login", "could not send e-mail");
            }
        }
        // Best effort: a concurrent login may have changed the user; the IP is then recorded next time.
        if let Err(e) = users::save(d.store, &user, version, Tx::new()).await {
            tracing::info!(error = %e, "known IP not recorded");
        }
    }
    start_session(
        d,
        &user.id,
        user.account_type.as_str(),
        user.staff,
        scope.as_ref().map(|(o, r)| (o, *r)),
        tx,
    )
    .await
}

/// Exchange a refresh token for a new pair (rotation; reuse revokes the family).
pub async fn refresh(d: &Deps<'_>, refresh_token: &str) -> Result<TokenPair, Error> {
    let now = d.clock.now();
    let presented = nexus_auth::secrets::token_hash(refresh_token);
    let Some(old) = d
        .store
        .get::<sessions::RefreshToken>(&sessions::refresh_key(&presented))
        .await?
    else {
        return Err(Error::Unauthenticated(
            "the refresh token is invalid".into(),
        ));
    };
    let user = users::get(d.store, &old.user_id)
        .await?
        .ok_or_else(|| Error::Unauthenticated("the refresh token is invalid".into()))?;
    // The scope is re-checked: a member removed since login loses the org.
    let scope = match &old.org {
        Some(org) => crate::scope::role_in(d, &user.id, org)
            .await?
            .map(|r| (org.clone(), r)),
        None => None,
    };
    let (token, record) = next_refresh(d, &user.id, scope.as_ref().map(|(o, _)| o));
    match sessions::rotate(d.store, &presented, record, now).await? {
        Rotation::Rotated(r) => {
            let access = access_token(
                d,
                &user.id,
                user.account_type.as_str(),
                user.staff,
                scope.as_ref().map(|(o, r)| (o, *r)),
                &r.family,
                now,
            )?;
            Ok(pair(access, token, scope.map(|(o, _)| o)))
        }
        Rotation::Reused { family, user_id } => {
            let tenant = default_scope(d, &user_id).await?.map(|(o, _)| o);
            let event = DomainEvent::new(
                "identity",
                "RefreshTokenReused",
                tenant,
                user_id.to_string(),
                now,
                serde_json::json!({"userId": user_id, "session": family}),
            );
            d.store.commit(Tx::new().event(event)).await?;
            tracing::warn!(user.id = %user_id, "refresh token reuse: session revoked");
            Err(Error::Unauthenticated(
                "the refresh token was already used; the session has been revoked for safety"
                    .into(),
            ))
        }
        Rotation::Revoked => Err(Error::Unauthenticated(
            "the session has ended; log in again".into(),
        )),
        Rotation::Invalid => Err(Error::Unauthenticated(
            "the refresh token is invalid or expired".into(),
        )),
    }
}

/// End the caller's session (its refresh-token family).
pub async fn logout(d: &Deps<'_>, caller: &Principal) -> Result<(), Error> {
    let session = caller
        .session
        .as_deref()
        .ok_or_else(|| Error::Forbidden("only user sessions can log out".into()))?;
    let user = caller.user_id()?;
    let family: Option<sessions::Family> = d.store.get(&sessions::family_key(session)).await?;
    if family.is_some_and(|f| f.user_id == user) {
        sessions::revoke_family(d.store, session, d.clock.now()).await?;
    }
    Ok(())
}

/// New tokens scoped to `org`, if the caller is a member (or acts there through an agency grant).
pub async fn switch_org(d: &Deps<'_>, caller: &Principal, org: &OrgId) -> Result<TokenPair, Error> {
    let now = d.clock.now();
    let user_id = caller.user_id()?;
    let user = users::get(d.store, &user_id)
        .await?
        .ok_or_else(|| Error::Unauthenticated("unknown user".into()))?;
    let role = crate::scope::role_in(d, &user_id, org)
        .await?
        .ok_or(Error::NotFound {
            resource: "organization",
        })?;
    let event = DomainEvent::new(
        "identity",
        "OrgSwitched",
        Some(org.clone()),
        user_id.to_string(),
        now,
        serde_json::json!({"userId": user_id, "orgId": org, "role": role}),
    );
    start_session(
        d,
        &user_id,
        user.account_type.as_str(),
        user.staff,
        Some((org, role)),
        Tx::new().event(event),
    )
    .await
}
