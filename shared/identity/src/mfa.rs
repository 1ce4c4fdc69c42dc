//! Second factors: TOTP (enrolled with the password and confirmed with a
//! first code, with one-time recovery codes that work only while TOTP is on),
//! e-mailed one-time codes, and recovery codes. Turning a factor off needs a
//! fresh second factor. Every change of second factors ends the account's
//! other sessions (the one making the change stays signed in).

use std::collections::BTreeMap;

use nexus_core::events::DomainEvent;
use nexus_core::ids::UserId;
use nexus_core::{Error, FieldError, Timestamp};
use nexus_store::repos::sessions;
use nexus_store::repos::tokens::{self, Purpose};
use nexus_store::repos::users::{self, PendingTotp, UserRecord};
use nexus_store::Tx;
use serde::Serialize;

use crate::limits::{self, MFA_FAILURES_PER_USER};
use crate::Deps;

fn ctx(user: &UserId) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("purpose".to_string(), "totp".to_string()),
        ("user".to_string(), user.to_string()),
    ])
}

fn wrong_code() -> Error {
    Error::Validation(vec![FieldError::new(
        "/code",
        "invalid_code",
        "the code is wrong or expired",
    )])
}

async fn decrypt_secret(d: &Deps<'_>, user: &UserId, enc: &str) -> Result<String, Error> {
    let plain = d
        .cipher
        .decrypt(enc, &ctx(user))
        .await
        .map_err(Error::internal)?;
    String::from_utf8(plain).map_err(Error::internal)
}

async fn totp_secret(d: &Deps<'_>, user: &UserRecord) -> Result<Option<String>, Error> {
    match &user.mfa.totp_secret {
        Some(enc) => Ok(Some(decrypt_secret(d, &user.id, enc).await?)),
        None => Ok(None),
    }
}

/// The stored key of an e-mail OTP setup code (codes are 6 digits, so the
/// user id is part of the key to keep them apart).
pub fn email_otp_setup_hash(user: &UserId, code: &str) -> String {
    format!(
        "emailotp:{user}:{}",
        nexus_auth::secrets::token_hash(code.trim())
    )
}

/// Save a second-factor change: every other session of the account ends,
/// the caller's own (`session`) is marked re-authenticated so it continues.
async fn save_factor_change(
    d: &Deps<'_>,
    user: &mut UserRecord,
    version: u64,
    session: Option<&str>,
    event: DomainEvent,
    now: Timestamp,
) -> Result<(), Error> {
    user.end_sessions(now);
    user.updated_at = now;
    let mut tx = Tx::new().event(event);
    if let Some(s) = session {
        tx = tx.write(sessions::reauthenticate(s, now));
    }
    users::save(d.store, user, version, tx).await?;
    Ok(())
}

/// Refuse when the account had too many wrong second-factor codes lately.
async fn check_failures(d: &Deps<'_>, user: &UserId, now: Timestamp) -> Result<(), Error> {
    limits::check(d.store, MFA_FAILURES_PER_USER, user.as_str(), now).await
}

async fn count_failure(d: &Deps<'_>, user: &UserId, now: Timestamp) -> Result<(), Error> {
    limits::record(d.store, MFA_FAILURES_PER_USER, user.as_str(), now).await
}

/// Check a second factor for `user`: a TOTP code (not replayed), the e-mailed
/// code of this challenge, or an unused recovery code (only while TOTP is on:
/// recovery codes recover TOTP). Spends the TOTP step or recovery code on
/// `user` (the caller saves it).
pub async fn check_second_factor(
    d: &Deps<'_>,
    user: &mut UserRecord,
    code: &str,
    email_code_hash: Option<&str>,
    now: Timestamp,
) -> Result<bool, Error> {
    let code = code.trim();
    if user.mfa.totp_enabled {
        if let Some(secret) = totp_secret(d, user).await? {
            if let Some(step) =
                nexus_auth::secrets::totp::verify(&secret, code, now.as_second().max(0) as u64)
            {
                if step > user.mfa.totp_last_step {
                    user.mfa.totp_last_step = step;
                    return Ok(true);
                }
                return Ok(false);
            }
        }
    }
    if let Some(expected) = email_code_hash {
        if nexus_auth::secrets::ct_eq(expected, &nexus_auth::secrets::token_hash(code)) {
            return Ok(true);
        }
    }
    if !user.mfa.totp_enabled {
        return Ok(false);
    }
    let hashed = nexus_auth::secrets::token_hash(&code.to_lowercase());
    if let Some(i) = user
        .mfa
        .recovery_codes
        .iter()
        .position(|c| nexus_auth::secrets::ct_eq(c, &hashed))
    {
        user.mfa.recovery_codes.remove(i);
        return Ok(true);
    }
    Ok(false)
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TotpEnrolment {
    /// Base32 secret, for manual entry.
    pub secret: String,
    /// `otpauth://totp/…` for QR codes.
    pub otpauth_uri: String,
    /// Ten one-time recovery codes, shown once. They work only once TOTP is
    /// confirmed, and only while it stays on.
    pub recovery_codes: Vec<String>,
}

fn wrong_password() -> Error {
    Error::field("/password", "invalid_password", "the password is wrong")
}

/// Start TOTP enrolment: re-authenticate with the password (a stolen access
/// token alone can't bind an attacker's authenticator), then a new secret
/// (stored encrypted) and recovery codes, all pending until a first code
/// confirms them. Starting again replaces a pending enrolment.
pub async fn totp_enrol(
    d: &Deps<'_>,
    user_id: &UserId,
    password: &str,
) -> Result<TotpEnrolment, Error> {
    let now = d.clock.now();
    let mut user = users::get(d.store, user_id)
        .await?
        .ok_or(Error::NotFound { resource: "user" })?;
    if user.mfa.totp_enabled {
        return Err(Error::conflict(
            "mfa-already-enabled",
            "TOTP is already enabled; disable it first to enrol a new device",
        ));
    }
    // Password guesses here count like login guesses on the account.
    let account = crate::fingerprint(user.email.as_str());
    limits::claim_login(d.store, &account, now).await?;
    let ok = {
        let (pw, phc) = (password.to_owned(), user.password_hash.clone());
        tokio::task::spawn_blocking(move || nexus_auth::secrets::verify_password(&pw, &phc))
            .await
            .map_err(Error::internal)?
    };
    if !ok {
        return Err(wrong_password());
    }
    nexus_store::repos::throttle::reset(d.store, limits::LOGIN_ACCOUNT, &account).await?;
    let secret = nexus_auth::secrets::totp::new_secret();
    let uri =
        nexus_auth::secrets::totp::uri(&secret, user.email.as_str()).map_err(Error::internal)?;
    let codes = nexus_auth::secrets::recovery_codes();
    let version = user.version;
    user.mfa.pending_totp = Some(PendingTotp {
        secret: d
            .cipher
            .encrypt(secret.as_bytes(), &ctx(&user.id))
            .await
            .map_err(Error::internal)?,
        recovery_codes: codes
            .iter()
            .map(|c| nexus_auth::secrets::token_hash(c))
            .collect(),
        started_at: now,
    });
    user.updated_at = now;
    users::save(d.store, &user, version, Tx::new()).await?;
    Ok(TotpEnrolment {
        secret,
        otpauth_uri: uri,
        recovery_codes: codes,
    })
}

/// Confirm enrolment with a first code from the authenticator app: TOTP and
/// its recovery codes turn on, and the account's other sessions end.
pub async fn totp_confirm(
    d: &Deps<'_>,
    user_id: &UserId,
    session: Option<&str>,
    code: &str,
) -> Result<(), Error> {
    let now = d.clock.now();
    let mut user = users::get(d.store, user_id)
        .await?
        .ok_or(Error::NotFound { resource: "user" })?;
    if user.mfa.totp_enabled {
        return Ok(());
    }
    let pending = user
        .mfa
        .pending_totp
        .clone()
        .ok_or_else(|| Error::conflict("mfa-not-enrolled", "start TOTP enrolment first"))?;
    let secret = decrypt_secret(d, &user.id, &pending.secret).await?;
    let step = nexus_auth::secrets::totp::verify(&secret, code, now.as_second().max(0) as u64)
        .ok_or_else(wrong_code)?;
    let version = user.version;
    user.mfa.totp_enabled = true;
    user.mfa.totp_secret = Some(pending.secret);
    user.mfa.recovery_codes = pending.recovery_codes;
    user.mfa.pending_totp = None;
    user.mfa.totp_last_step = step;
    let event = mfa_event(d, &user, "MfaEnabled", "totp", now).await?;
    save_factor_change(d, &mut user, version, session, event, now).await
}

/// Ask for a code by e-mail to turn e-mail sign-in codes on (the
/// account-mail worker makes and sends it).
pub async fn email_otp_start(d: &Deps<'_>, user_id: &UserId) -> Result<(), Error> {
    let now = d.clock.now();
    let user = users::get(d.store, user_id)
        .await?
        .ok_or(Error::NotFound { resource: "user" })?;
    let event = DomainEvent::new(
        "identity",
        crate::mail::EMAIL_OTP_SETUP_REQUESTED,
        None,
        user.id.to_string(),
        now,
        serde_json::json!({ "userId": user.id }),
    );
    d.store.commit(Tx::new().event(event)).await?;
    Ok(())
}

pub async fn email_otp_confirm(
    d: &Deps<'_>,
    user_id: &UserId,
    session: Option<&str>,
    code: &str,
) -> Result<(), Error> {
    let now = d.clock.now();
    check_failures(d, user_id, now).await?;
    if tokens::consume(
        d.store,
        &email_otp_setup_hash(user_id, code),
        Purpose::EmailOtpSetup,
        now,
    )
    .await?
    .is_none()
    {
        count_failure(d, user_id, now).await?;
        return Err(wrong_code());
    }
    let mut user = users::get(d.store, user_id)
        .await?
        .ok_or(Error::NotFound { resource: "user" })?;
    let version = user.version;
    user.mfa.email_otp_enabled = true;
    let event = mfa_event(d, &user, "MfaEnabled", "email", now).await?;
    save_factor_change(d, &mut user, version, session, event, now).await
}

/// Turn a factor off. Needs a fresh second factor: a current TOTP code or a
/// recovery code (an e-mailed login code can't be replayed here). Wrong codes
/// count against the account like wrong sign-in codes.
pub async fn disable(
    d: &Deps<'_>,
    user_id: &UserId,
    session: Option<&str>,
    method: &str,
    code: &str,
) -> Result<(), Error> {
    let now = d.clock.now();
    if !matches!(method, "totp" | "email") {
        return Err(Error::NotFound {
            resource: "MFA method",
        });
    }
    check_failures(d, user_id, now).await?;
    let mut user = users::get(d.store, user_id)
        .await?
        .ok_or(Error::NotFound { resource: "user" })?;
    let version = user.version;
    if !check_second_factor(d, &mut user, code, None, now).await? {
        count_failure(d, user_id, now).await?;
        return Err(wrong_code());
    }
    if method == "totp" {
        user.mfa.totp_enabled = false;
        user.mfa.totp_secret = None;
        user.mfa.recovery_codes.clear();
        user.mfa.pending_totp = None;
    } else {
        user.mfa.email_otp_enabled = false;
    }
    let event = mfa_event(d, &user, "MfaDisabled", method, now).await?;
    save_factor_change(d, &mut user, version, session, event, now).await
}

async fn mfa_event(
    d: &Deps<'_>,
    user: &UserRecord,
    kind: &str,
    method: &str,
    now: Timestamp,
) -> Result<DomainEvent, Error> {
    let page = nexus_store::repos::orgs::list_for_user(d.store, &user.id, 1, None).await?;
    let tenant = page.items.into_iter().next().map(|m| m.org_id);
    Ok(DomainEvent::new(
        "identity",
        kind,
        tenant,
        user.id.to_string(),
        now,
        serde_json::json!({"userId": user.id, "method": method}),
    ))
}
