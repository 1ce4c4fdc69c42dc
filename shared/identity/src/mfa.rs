//! Second factors: TOTP (enrolled with a confirming code, with one-time
//! recovery codes), e-mailed one-time codes, and recovery codes. Turning a
//! factor off needs a fresh second factor.

use std::collections::BTreeMap;

use nexus_core::events::DomainEvent;
use nexus_core::ids::UserId;
use nexus_core::{Error, FieldError, Timestamp};
use nexus_ports::mail::Email as Mail;
use nexus_store::repos::tokens::{self, OneTimeToken, Purpose};
use nexus_store::repos::users::{self, UserRecord};
use nexus_store::{Tx, Write};
use serde::Serialize;

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

async fn totp_secret(d: &Deps<'_>, user: &UserRecord) -> Result<Option<String>, Error> {
    let Some(enc) = &user.mfa.totp_secret else {
        return Ok(None);
    };
    let plain = d
        .cipher
        .decrypt(enc, &ctx(&user.id))
        .await
        .map_err(Error::internal)?;
    Ok(Some(String::from_utf8(plain).map_err(Error::internal)?))
}

/// Check a second factor for `user`: a TOTP code (not replayed), the e-mailed
/// code of this challenge, or an unused recovery code. Spends the TOTP step or
/// recovery code on `user` (the caller saves it).
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
    /// Ten one-time recovery codes, shown once.
    pub recovery_codes: Vec<String>,
}

/// Start TOTP enrolment: a new secret (stored encrypted) and recovery codes.
/// TOTP is enabled only once a code from the app is confirmed.
pub async fn totp_enrol(d: &Deps<'_>, user_id: &UserId) -> Result<TotpEnrolment, Error> {
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
    let secret = nexus_auth::secrets::totp::new_secret();
    let uri =
        nexus_auth::secrets::totp::uri(&secret, user.email.as_str()).map_err(Error::internal)?;
    let codes = nexus_auth::secrets::recovery_codes();
    let version = user.version;
    user.mfa.totp_secret = Some(
        d.cipher
            .encrypt(secret.as_bytes(), &ctx(&user.id))
            .await
            .map_err(Error::internal)?,
    );
    user.mfa.recovery_codes = codes
        .iter()
        .map(|c| nexus_auth::secrets::token_hash(c))
        .collect();
    user.updated_at = now;
    users::save(d.store, &user, version, Tx::new()).await?;
    Ok(TotpEnrolment {
        secret,
        otpauth_uri: uri,
        recovery_codes: codes,
    })
}

/// Confirm enrolment with a first code from the authenticator app.
pub async fn totp_confirm(d: &Deps<'_>, user_id: &UserId, code: &str) -> Result<(), Error> {
    let now = d.clock.now();
    let mut user = users::get(d.store, user_id)
        .await?
        .ok_or(Error::NotFound { resource: "user" })?;
    if user.mfa.totp_enabled {
        return Ok(());
    }
    let secret = totp_secret(d, &user)
        .await?
        .ok_or_else(|| Error::conflict("mfa-not-enrolled", "start TOTP enrolment first"))?;
    let step = nexus_auth::secrets::totp::verify(&secret, code, now.as_second().max(0) as u64)
        .ok_or_else(wrong_code)?;
    let version = user.version;
    user.mfa.totp_enabled = true;
    user.mfa.totp_last_step = step;
    user.updated_at = now;
    let event = mfa_event(d, &user, "MfaEnabled", "totp", now).await?;
    users::save(d.store, &user, version, Tx::new().event(event)).await?;
    Ok(())
}

/// Send a code to the account's e-mail to turn e-mail OTP on.
pub async fn email_otp_start(d: &Deps<'_>, user_id: &UserId) -> Result<(), Error> {
    let now = d.clock.now();
    let user = users::get(d.store, user_id)
        .await?
        .ok_or(Error::NotFound { resource: "user" })?;
    let code = nexus_auth::secrets::numeric_code(6);
    let record = OneTimeToken {
        hash: format!(
            "emailotp:{}:{}",
            user.id,
            nexus_auth::secrets::token_hash(&code)
        ),
        purpose: Purpose::EmailOtpSetup,
        subject: user.id.to_string(),
        data: serde_json::Value::Null,
        expires_at: now.as_second() + 600,
        used_at: None,
        attempts: 0,
    };
    d.store
        .commit(Tx::new().write(Write::create(&record)?))
        .await?;
    let mail = Mail {
        to: user.email.to_string(),
        template: "email-otp-setup",
        subject: format!("{code} is your code to turn on e-mail sign-in codes"),
        text: format!(
            "Enter {code} in NEXUS to receive sign-in codes by e-mail. It expires in 10 minutes."
        ),
        token: Some(code),
        link: None,
    };
    d.mailer.send(&mail).await.map_err(|e| Error::Unavailable {
        detail: format!("could not send the code: {e}"),
        retry_after_secs: 5,
    })
}

pub async fn email_otp_confirm(d: &Deps<'_>, user_id: &UserId, code: &str) -> Result<(), Error> {
    let now = d.clock.now();
    let hash = format!(
        "emailotp:{user_id}:{}",
        nexus_auth::secrets::token_hash(code.trim())
    );
    tokens::consume(d.store, &hash, Purpose::EmailOtpSetup, now)
        .await?
        .ok_or_else(wrong_code)?;
    let mut user = users::get(d.store, user_id)
        .await?
        .ok_or(Error::NotFound { resource: "user" })?;
    let version = user.version;
    user.mfa.email_otp_enabled = true;
    user.updated_at = now;
    let event = mfa_event(d, &user, "MfaEnabled", "email", now).await?;
    users::save(d.store, &user, version, Tx::new().event(event)).await?;
    Ok(())
}

/// Turn a factor off. Needs a fresh second factor: a current TOTP code or a
/// recovery code (an e-mailed login code can't be replayed here).
pub async fn disable(
    d: &Deps<'_>,
    user_id: &UserId,
    method: &str,
    code: &str,
) -> Result<(), Error> {
    let now = d.clock.now();
    let mut user = users::get(d.store, user_id)
        .await?
        .ok_or(Error::NotFound { resource: "user" })?;
    let version = user.version;
    if !check_second_factor(d, &mut user, code, None, now).await? {
        return Err(wrong_code());
    }
    match method {
        "totp" => {
            user.mfa.totp_enabled = false;
            user.mfa.totp_secret = None;
            user.mfa.recovery_codes.clear();
        }
        "email" => user.mfa.email_otp_enabled = false,
        _ => {
            return Err(Error::NotFound {
                resource: "MFA method",
            })
        }
    }
    user.updated_at = now;
    let event = mfa_event(d, &user, "MfaDisabled", method, now).await?;
    users::save(d.store, &user, version, Tx::new().event(event)).await?;
    Ok(())
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
