//! Registration, e-mail verification and password reset.

use nexus_core::events::DomainEvent;
use nexus_core::ids::UserId;
use nexus_core::user::{Email, Registration, UserView};
use nexus_core::{Error, FieldError};
use nexus_ports::mail::Email as Mail;
use nexus_store::repos::tokens::{self, OneTimeToken, Purpose};
use nexus_store::repos::users::{self, UserRecord};
use nexus_store::{Tx, Write};

use crate::Deps;

pub const VERIFY_TTL_SECS: i64 = 48 * 3600;
pub const RESET_TTL_SECS: i64 = 3600;

fn one_time(
    purpose: Purpose,
    subject: &str,
    ttl: i64,
    now: nexus_core::Timestamp,
    prefix: &str,
) -> (String, OneTimeToken) {
    let token = nexus_auth::secrets::new_token(prefix);
    let record = OneTimeToken {
        hash: nexus_auth::secrets::token_hash(&token),
        purpose,
        subject: subject.to_owned(),
        data: serde_json::Value::Null,
        expires_at: now.as_second() + ttl,
        used_at: None,
        attempts: 0,
    };
    (token, record)
}

/// Create an account (unverified) and e-mail a verification link.
pub async fn register(d: &Deps<'_>, reg: Registration) -> Result<UserView, Error> {
    let now = d.clock.now();
    let hash = tokio::task::spawn_blocking({
        let pw = reg.password.clone();
        move || nexus_auth::secrets::hash_password(&pw)
    })
    .await
    .map_err(Error::internal)?
    .map_err(Error::internal)?;
    let user = UserRecord {
        id: UserId::new(),
        email: reg.email,
        name: reg.name,
        account_type: reg.account_type,
        password_hash: hash,
        email_verified_at: None,
        staff: false,
        mfa: Default::default(),
        known_ips: vec![],
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let (token, record) = one_time(
        Purpose::VerifyEmail,
        user.id.as_str(),
        VERIFY_TTL_SECS,
        now,
        "nxv",
    );
    let event = DomainEvent::new(
        "identity",
        "UserRegistered",
        None,
        user.id.to_string(),
        now,
        serde_json::json!({"userId": user.id, "accountType": user.account_type}),
    );
    users::create(
        d.store,
        &user,
        Tx::new().write(Write::create(&record)?).event(event),
    )
    .await?;
    send_verification(d, &user.email, &token).await;
    Ok(user.view())
}

async fn send_verification(d: &Deps<'_>, to: &Email, token: &str) {
    let link = format!("{}/verify-email?token={token}", d.app_url);
    let mail = Mail {
        to: to.to_string(),
        template: "verify-email",
        subject: "Verify your e-mail for NEXUS".into(),
        text: format!("Welcome to NEXUS. Confirm your e-mail address by opening:\n\n{link}\n\nThe link works once and expires in 48 hours."),
        token: Some(token.to_owned()),
        link: Some(link),
    };
    if let Err(e) = d.mailer.send(&mail).await {
        // The account exists; the user can ask for a new link by logging in.
        tracing::error!(error = %e, mail.template = "verify-email", "could not send e-mail");
    }
}

fn invalid_token() -> Error {
    Error::Validation(vec![FieldError::new(
        "/token",
        "invalid_token",
        "the link is invalid, already used or expired",
    )])
}

/// Mark the e-mail verified (single use).
pub async fn verify_email(d: &Deps<'_>, token: &str) -> Result<(), Error> {
    let now = d.clock.now();
    let t = tokens::consume(
        d.store,
        &nexus_auth::secrets::token_hash(token),
        Purpose::VerifyEmail,
        now,
    )
    .await?
    .ok_or_else(invalid_token)?;
    let id: UserId = t.subject.parse().map_err(|_| invalid_token())?;
    for _ in 0..3 {
        let mut user = users::get(d.store, &id).await?.ok_or_else(invalid_token)?;
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

/// Send a reset link if the account exists; the answer never says whether it does.
pub async fn forgot_password(d: &Deps<'_>, email: &str) -> Result<(), Error> {
    let Ok(email) = Email::parse(email) else {
        return Ok(());
    };
    let Some(user) = users::find_by_email(d.store, &email).await? else {
        return Ok(());
    };
    let now = d.clock.now();
    let (token, record) = one_time(
        Purpose::PasswordReset,
        user.id.as_str(),
        RESET_TTL_SECS,
        now,
        "nxp",
    );
    d.store
        .commit(Tx::new().write(Write::create(&record)?))
        .await?;
    let link = format!("{}/reset-password?token={token}", d.app_url);
    let mail = Mail {
        to: user.email.to_string(),
        template: "password-reset",
        subject: "Reset your NEXUS password".into(),
        text: format!("Someone asked to reset your NEXUS password. If it was you, open:\n\n{link}\n\nThe link works once and expires in 1 hour. If it wasn't you, ignore this message."),
        token: Some(token),
        link: Some(link),
    };
    if let Err(e) = d.mailer.send(&mail).await {
        tracing::error!(error = %e, mail.template = "password-reset", "could not send e-mail");
    }
    Ok(())
}

/// Set a new password with a reset token (single use; the password rules apply).
pub async fn reset_password(d: &Deps<'_>, token: &str, password: &str) -> Result<(), Error> {
    let now = d.clock.now();
    let hash = nexus_auth::secrets::token_hash(token);
    // Check the rules before spending the token, so a weak password can be corrected.
    let pending = tokens::peek(d.store, &hash, Purpose::PasswordReset, now)
        .await?
        .ok_or_else(invalid_token)?;
    let id: UserId = pending.subject.parse().map_err(|_| invalid_token())?;
    let user = users::get(d.store, &id).await?.ok_or_else(invalid_token)?;
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
    // Proving control of the mailbox also verifies it.
    next.email_verified_at = next.email_verified_at.or(Some(now));
    next.updated_at = now;
    let event = DomainEvent::new(
        "identity",
        "PasswordReset",
        None,
        id.to_string(),
        now,
        serde_json::json!({"userId": id}),
    );
    users::save(d.store, &next, user.version, Tx::new().event(event)).await?;
    Ok(())
}
