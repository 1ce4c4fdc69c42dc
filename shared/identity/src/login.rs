//! Login (with brute-force throttling, suspicious-login detection and MFA
//! challenges), refresh, logout and switching the active organization.

use nexus_core::events::DomainEvent;
use nexus_core::ids::{OrgId, UserId};
use nexus_core::principal::{Principal, Role};
use nexus_core::user::Email;
use nexus_core::{Error, FieldError, Timestamp};
use nexus_store::repos::sessions::{self, Rotation};
use nexus_store::repos::tokens::{self, OneTimeToken, Purpose};
use nexus_store::repos::users::{self, UserRecord};
use nexus_store::repos::{orgs, throttle};
use nexus_store::{Tx, Write};
use serde::Serialize;

use crate::limits::{self, LOGIN_FAILURES_PER_IP, MFA_FAILURES_PER_USER, TOKEN_FAILURES_PER_IP};
use crate::tokens::{access_token, next_refresh, pair, start_session, TokenPair};
use crate::{fingerprint, Deps, Origin};

/// An IP failing on this many different accounts within an hour is blocked for an hour.
pub const SPRAY_ACCOUNTS: usize = 10;
pub const SPRAY_WINDOW_SECS: i64 = 3600;
pub const SPRAY_BLOCK_SECS: i64 = 3600;
/// An MFA challenge lives 5 minutes and allows 5 codes in all.
pub const CHALLENGE_TTL_SECS: i64 = 300;
pub const CHALLENGE_MAX_ATTEMPTS: u32 = 5;

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
    let ip = limits::ip_subject(&origin.ip);
    if let Some(secs) = throttle::blocked_for(d.store, "login-ip", &ip, now).await? {
        return Err(Error::Throttled {
            retry_after_secs: secs,
        });
    }
    limits::check(d.store, LOGIN_FAILURES_PER_IP, &ip, now).await?;
    let parsed = Email::parse(email).ok();
    let account = parsed
        .as_ref()
        .map_or_else(|| fingerprint(email), |e| fingerprint(e.as_str()));
    // Counted before the password is checked, and the same for unknown
    // addresses, so neither racing guesses nor timing tell anything.
    limits::claim_login(d.store, &account, now).await?;
    let user = match &parsed {
        Some(e) => users::find_live_by_email(d.store, e, now).await?,
        None => None,
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
    throttle::reset(d.store, limits::LOGIN_ACCOUNT, &account).await?;
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

/// A stand-in user id for an address without an account (derived from its
/// hash), so a failed login does the same reads for both.
fn stand_in_user(account: &str) -> UserId {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(account.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    UserId::from_ulid(ulid::Ulid::from_bytes(bytes))
}

async fn on_failure(
    d: &Deps<'_>,
    account: &str,
    ip: &str,
    user: Option<&UserRecord>,
    now: Timestamp,
) -> Result<(), Error> {
    limits::record(d.store, LOGIN_FAILURES_PER_IP, ip, now).await?;
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
    // The same reads and writes whether or not the account exists: one
    // membership query and one event.
    let subject = user.map_or_else(|| stand_in_user(account), |u| u.id.clone());
    let scope = default_scope(d, &subject).await?;
    let event = DomainEvent::new(
        "identity",
        "LoginFailed",
        scope.map(|(o, _)| o),
        user.map_or_else(|| "anonymous".to_owned(), |u| u.id.to_string()),
        now,
        serde_json::json!({
            "userId": user.map(|u| &u.id),
            "reason": if user.is_some() { "bad-password" } else { "unknown-account" },
            "account": account,
            "ip": ip,
        }),
    );
    d.store.commit(Tx::new().event(event)).await?;
    Ok(())
}

async fn challenge(
    d: &Deps<'_>,
    user: &UserRecord,
    origin: &Origin,
    now: Timestamp,
) -> Result<MfaChallenge, Error> {
    // Too many wrong codes lately: no new challenge (each allows 5 codes).
    limits::check(d.store, MFA_FAILURES_PER_USER, user.id.as_str(), now).await?;
    let token = nexus_auth::secrets::new_token("nxm");
    let hash = nexus_auth::secrets::token_hash(&token);
    let data = serde_json::json!({ "ip": origin.ip, "userAgent": origin.user_agent });
    let mut methods = vec![];
    if user.mfa.totp_enabled {
        methods.push("totp");
    }
    let mut tx = Tx::new();
    if user.mfa.email_otp_enabled {
        // The account-mail worker makes the code, records its hash on the
        // challenge and mails it: no mail on the request path.
        tx = tx.event(DomainEvent::new(
            "identity",
            crate::mail::LOGIN_CODE_REQUESTED,
            None,
            user.id.to_string(),
            now,
            serde_json::json!({ "userId": user.id, "challenge": hash }),
        ));
        methods.push("email");
    }
    if user.mfa.totp_enabled {
        methods.push("recovery");
    }
    let record = OneTimeToken {
        hash,
        purpose: Purpose::MfaChallenge,
        subject: user.id.to_string(),
        data,
        expires_at: now.as_second() + CHALLENGE_TTL_SECS,
        used_at: None,
        attempts: 0,
    };
    d.store.commit(tx.write(Write::create(&record)?)).await?;
    Ok(MfaChallenge {
        mfa_required: true,
        mfa_token: token,
        methods,
    })
}

/// Second step of an MFA login. Each code counts against the challenge
/// (atomically, before it is checked: 5 in all) and wrong ones against the
/// account (10 an hour across challenges).
pub async fn verify_mfa(
    d: &Deps<'_>,
    mfa_token: &str,
    code: &str,
    origin: &Origin,
) -> Result<TokenPair, Error> {
    let now = d.clock.now();
    let ip = limits::ip_subject(&origin.ip);
    limits::check(d.store, TOKEN_FAILURES_PER_IP, &ip, now).await?;
    let hash = nexus_auth::secrets::token_hash(mfa_token);
    let expired = || {
        Error::Unauthenticated(
            "the MFA challenge is invalid, expired or out of attempts; log in again".into(),
        )
    };
    let Some(challenge) = tokens::claim_attempt(
        d.store,
        &hash,
        Purpose::MfaChallenge,
        CHALLENGE_MAX_ATTEMPTS,
        now,
    )
    .await?
    else {
        limits::record(d.store, TOKEN_FAILURES_PER_IP, &ip, now).await?;
        return Err(expired());
    };
    let id: UserId = challenge.subject.parse().map_err(|_| expired())?;
    limits::check(d.store, MFA_FAILURES_PER_USER, id.as_str(), now).await?;
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
        limits::record(d.store, MFA_FAILURES_PER_USER, id.as_str(), now).await?;
        let left = CHALLENGE_MAX_ATTEMPTS.saturating_sub(challenge.attempts);
        return Err(Error::Validation(vec![FieldError::new(
            "/code",
            "invalid_code",
            format!("the code is wrong or expired ({left} attempts left on this challenge)"),
        )]));
    }
    tokens::consume_within(
        d.store,
        &hash,
        Purpose::MfaChallenge,
        Some(CHALLENGE_MAX_ATTEMPTS),
        now,
    )
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
            // The account-mail worker tells the user (off the request path).
            tx = tx.event(DomainEvent::new(
                "identity",
                crate::mail::LOGIN_FROM_NEW_IP,
                scope.as_ref().map(|(o, _)| o.clone()),
                user.id.to_string(),
                now,
                serde_json::json!({"userId": user.id, "ip": ip, "userAgent": origin.user_agent}),
            ));
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

/// Exchange a refresh token for a new pair (rotation; reuse revokes the
/// family; a password reset or second-factor change since the session
/// started ends it).
pub async fn refresh(
    d: &Deps<'_>,
    refresh_token: &str,
    origin: &Origin,
) -> Result<TokenPair, Error> {
    let now = d.clock.now();
    let ip = limits::ip_subject(&origin.ip);
    limits::check(d.store, TOKEN_FAILURES_PER_IP, &ip, now).await?;
    let presented = nexus_auth::secrets::token_hash(refresh_token);
    let invalid = || Error::Unauthenticated("the refresh token is invalid".into());
    let Some(old) = d
        .store
        .get::<sessions::RefreshToken>(&sessions::refresh_key(&presented))
        .await?
    else {
        limits::record(d.store, TOKEN_FAILURES_PER_IP, &ip, now).await?;
        return Err(invalid());
    };
    let user = users::get(d.store, &old.user_id)
        .await?
        .ok_or_else(invalid)?;
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
        Rotation::Revoked => Err(session_ended()),
        Rotation::Invalid => {
            limits::record(d.store, TOKEN_FAILURES_PER_IP, &ip, now).await?;
            Err(Error::Unauthenticated(
                "the refresh token is invalid or expired".into(),
            ))
        }
    }
}

fn session_ended() -> Error {
    Error::Unauthenticated("the session has ended; log in again".into())
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

/// New tokens scoped to `org`, if the caller is a member (or acts there
/// through an agency grant). Only from a live session, and within it: the
/// new refresh token joins the caller's refresh-token family, so logging out
/// (or a reset) ends both.
pub async fn switch_org(d: &Deps<'_>, caller: &Principal, org: &OrgId) -> Result<TokenPair, Error> {
    let now = d.clock.now();
    let user_id = caller.user_id()?;
    let session = caller
        .session
        .as_deref()
        .ok_or_else(|| Error::Forbidden("only user sessions can switch organizations".into()))?;
    let family = sessions::live_family(d.store, session, &user_id, now)
        .await?
        .ok_or_else(session_ended)?;
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
    let (refresh, record) = next_refresh(d, &user_id, Some(org));
    if !sessions::extend(d.store, &family, record, Tx::new().event(event)).await? {
        return Err(session_ended());
    }
    let access = access_token(
        d,
        &user_id,
        user.account_type.as_str(),
        user.staff,
        Some((org, role)),
        &family.id,
        now,
    )?;
    Ok(pair(access, refresh, Some(org.clone())))
}
