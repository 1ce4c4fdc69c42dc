//! Registration, e-mail verification and password reset.
//!
//! The request path never tells whether an address has an account: register
//! and forgot-password validate, count, record a request (one write, the same
//! for every address) and answer `202`; the account-mail worker
//! ([`crate::mail`]) does the rest.

use nexus_core::events::DomainEvent;
use nexus_core::ids::UserId;
use nexus_core::user::{Email, Registration};
use nexus_core::{Error, FieldError};
use nexus_store::repos::tokens::{self, Purpose};
use nexus_store::repos::users::{self, PendingRegistration, REGISTRATION_TTL_SECS};
use nexus_store::{Tx, Write};
use serde::Serialize;

use crate::limits::{self, MAIL_PER_RECIPIENT, MAIL_REQUESTS_PER_IP, TOKEN_FAILURES_PER_IP};
use crate::{fingerprint, Deps, Origin};

/// The answer to a registration, whatever the address.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegistrationAccepted {
    /// Always `accepted`.
    pub status: &'static str,
    #[schema(value_type = String, format = "email")]
    pub email: Email,
    /// What happens next.
    pub detail: &'static str,
}

/// Count an account e-mail requested from `origin` to `email`.
async fn count_mail_request(
    d: &Deps<'_>,
    email_key: &str,
    origin: &Origin,
    now: nexus_core::Timestamp,
) -> Result<(), Error> {
    limits::hit(
        d.store,
        MAIL_REQUESTS_PER_IP,
        &limits::ip_subject(&origin.ip),
        now,
    )
    .await?;
    limits::hit(d.store, MAIL_PER_RECIPIENT, &fingerprint(email_key), now).await
}

/// Ask for an account: the password is hashed and the request recorded; the
/// account-mail worker creates the account (or replaces an unverified one)
/// and e-mails a verification link, or tells an existing account's owner.
pub async fn register(
    d: &Deps<'_>,
    reg: Registration,
    origin: &Origin,
) -> Result<RegistrationAccepted, Error> {
    let now = d.clock.now();
    count_mail_request(d, reg.email.as_str(), origin, now).await?;
    let hash = tokio::task::spawn_blocking({
        let pw = reg.password.clone();
        move || nexus_auth::secrets::hash_password(&pw)
    })
    .await
    .map_err(Error::internal)?
    .map_err(Error::internal)?;
    let pending = PendingRegistration {
        id: ulid::Ulid::new().to_string(),
        email: reg.email.clone(),
        name: reg.name,
        account_type: reg.account_type,
        password_hash: hash,
        requested_at: now,
        expires_at: now.as_second() + REGISTRATION_TTL_SECS,
        outcome: None,
    };
    let event = DomainEvent::new(
        "identity",
        crate::mail::REGISTRATION_REQUESTED,
        None,
        "anonymous",
        now,
        serde_json::json!({ "registrationId": pending.id }),
    );
    d.store
        .commit(Tx::new().write(Write::create(&pending)?).event(event))
        .await?;
    Ok(RegistrationAccepted {
        status: "accepted",
        email: reg.email,
        detail:
            "Check your inbox: if the address can be registered, a verification link is on its way.",
    })
}

fn invalid_token() -> Error {
    Error::Validation(vec![FieldError::new(
        "/token",
        "invalid_token",
        "the link is invalid, already used or expired",
    )])
}

/// A bad token from `origin`: counted, then refused.
async fn bad_token(
    d: &Deps<'_>,
    origin: &Origin,
    now: nexus_core::Timestamp,
) -> Result<Error, Error> {
    limits::record(
        d.store,
        TOKEN_FAILURES_PER_IP,
        &limits::ip_subject(&origin.ip),
        now,
    )
    .await?;
    Ok(invalid_token())
}

/// Mark the e-mail verified (single use). The account stops expiring.
pub async fn verify_email(d: &Deps<'_>, token: &str, origin: &Origin) -> Result<(), Error> {
    let now = d.clock.now();
    limits::check(
        d.store,
        TOKEN_FAILURES_PER_IP,
        &limits::ip_subject(&origin.ip),
        now,
    )
    .await?;
    let Some(t) = tokens::consume(
        d.store,
        &nexus_auth::secrets::token_hash(token),
        Purpose::VerifyEmail,
        now,
    )
    .await?
    else {
        return Err(bad_token(d, origin, now).await?);
    };
    let id: UserId = t.subject.parse().map_err(|_| invalid_token())?;
    for _ in 0..3 {
        // A token of an account replaced by a newer registration finds nobody.
        let mut user = users::get(d.store, &id)
            .await?
            .filter(|u| !u.is_expired(now))
            .ok_or_else(invalid_token)?;
        if user.email_verified_at.is_some() {
            return Ok(());
        }
        let version = user.version;
        user.email_verified_at = Some(now);
        user.updated_at = now;
        match users::save(d.store, &user, version, Tx::new()).await {
            Err(Error::Conflict {
                code: "version-conflict",
                ..
            }) => continue,
            other => return other.map(|_| ()),
        }
    }
    Err(Error::Unavailable {
        detail: "the account is busy; retry".into(),
        retry_after_secs: 1,
    })
}

/// Ask for a reset link. The request is recorded whatever the address (the
/// worker mails a link only to a live account), so the answer never says
/// whether an account exists.
pub async fn forgot_password(d: &Deps<'_>, email: &str, origin: &Origin) -> Result<(), Error> {
    let now = d.clock.now();
    let normalized = Email::parse(email).map(|e| e.to_string());
    count_mail_request(d, normalized.as_deref().unwrap_or(email), origin, now).await?;
    let event = DomainEvent::new(
        "identity",
        crate::mail::PASSWORD_RESET_REQUESTED,
        None,
        "anonymous",
        now,
        serde_json::json!({ "email": normalized.as_deref().unwrap_or("") }),
    );
    d.store.commit(Tx::new().event(event)).await?;
    Ok(())
}

/// Set a new password with a reset token (single use; the password rules
/// apply). Every session of the account ends: a stolen refresh token stops
/// working with the old password.
pub async fn reset_password(
    d: &Deps<'_>,
    token: &str,
    password: &str,
    origin: &Origin,
) -> Result<(), Error> {
    let now = d.clock.now();
    limits::check(
        d.store,
        TOKEN_FAILURES_PER_IP,
        &limits::ip_subject(&origin.ip),
        now,
    )
    .await?;
    let hash = nexus_auth::secrets::token_hash(token);
    // Check the rules before spending the token, so a weak password can be corrected.
    let Some(pending) = tokens::peek(d.store, &hash, Purpose::PasswordReset, now).await? else {
        return Err(bad_token(d, origin, now).await?);
    };
    let id: UserId = pending.subject.parse().map_err(|_| invalid_token())?;
    let user = users::get(d.store, &id)
        .await?
        .filter(|u| !u.is_expired(now))
        .ok_or_else(invalid_token)?;
    nexus_core::password::check(password, user.email.as_str(), &user.name)
        .map_err(|e| Error::Validation(vec![e]))?;
    tokens::consume(d.store, &hash, Purpose::PasswordReset, now)
        .await?
        .ok_or_else(invalid_token)?;
    let pw = password.to_owned();
    let phc = tokio::task::spawn_blocking(move || nexus_auth::secrets::hash_password(&pw))
        .await
        .map_err(Error::internal)?
        .map_err(Error::internal)?;
    let mut next = user.clone();
    next.password_hash = phc;
    // Proving control of the mailbox also verifies it (and takes over an
    // unverified account someone else registered with this address).
    next.email_verified_at = next.email_verified_at.or(Some(now));
    next.end_sessions(now);
    next.updated_at = now;
    let event = DomainEvent::new(
        "identity",
        "PasswordReset",
        None,
        id.to_string(),
        now,
        serde_json::json!({"userId": id, "sessionsEnded": true}),
    );
    users::save(d.store, &next, user.version, Tx::new().event(event)).await?;
    Ok(())
}
