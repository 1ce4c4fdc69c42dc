//! Account e-mail, off the request path.
//!
//! Request handlers only record what happened (a domain event in the outbox,
//! in the same transaction as their state change); the `account-mail` worker
//! (an EventBridge target) does the rest: it resolves the address, creates
//! any one-time secret *where it is mailed* (so no plaintext token ever sits
//! in the table or on the event bus), and sends the message. A request for a
//! known address and one for an unknown address therefore do the same work
//! and give the same answer, and a slow or failing mail provider never slows
//! or fails a login.
//!
//! | event (`nexus.identity`) | the worker |
//! |---|---|
//! | `RegistrationRequested {registrationId}` | creates the account (replacing an unverified or expired one) and mails a verification link, or tells the owner of an existing account |
//! | `PasswordResetRequested {email}` | mails a reset link if a live account has the address, else nothing |
//! | `LoginCodeRequested {userId, challenge}` | makes the sign-in code, records its hash on the MFA challenge, mails it |
//! | `EmailOtpSetupRequested {userId}` | mails the code that turns e-mail sign-in codes on |
//! | `LoginFromNewIp {userId, userAgent}` | tells the user about the new sign-in |
//! | `InvitationCreated {invitationId, email, role}` (`nexus.orgs`) | makes the invitation's token, binds it to the invitation (if still current) and mails the link |
//!
//! EventBridge delivers at least once: each e-mail has a delivery record per
//! event ([`nexus_store::repos::mailjobs`]), so a redelivery after a sent
//! e-mail does nothing, and one after a failed send mails a fresh secret and
//! deletes the unsent one.

use nexus_core::events::DomainEvent;
use nexus_core::ids::{EventId, UserId};
use nexus_core::time::Clock;
use nexus_core::user::Email;
use nexus_core::{Error, Timestamp};
use nexus_ports::mail::{Email as Mail, Mailer};
use nexus_store::repos::mailjobs::{self, MailJob, MailStatus, MAIL_JOB_TTL_SECS};
use nexus_store::repos::tokens::{self, OneTimeToken, Purpose};
use nexus_store::repos::users::{self, PendingRegistration, RegistrationOutcome, UserRecord};
use nexus_store::{Key, Store, Tx, Write};

pub const REGISTRATION_REQUESTED: &str = "RegistrationRequested";
pub const PASSWORD_RESET_REQUESTED: &str = "PasswordResetRequested";
pub const LOGIN_CODE_REQUESTED: &str = "LoginCodeRequested";
pub const EMAIL_OTP_SETUP_REQUESTED: &str = "EmailOtpSetupRequested";
pub const LOGIN_FROM_NEW_IP: &str = "LoginFromNewIp";
/// From `nexus.orgs`.
pub const INVITATION_CREATED: &str = "InvitationCreated";

/// The `detail-type`s the worker handles (its EventBridge rule lists the same).
pub const EVENTS: [&str; 6] = [
    REGISTRATION_REQUESTED,
    PASSWORD_RESET_REQUESTED,
    LOGIN_CODE_REQUESTED,
    EMAIL_OTP_SETUP_REQUESTED,
    LOGIN_FROM_NEW_IP,
    INVITATION_CREATED,
];

pub const VERIFY_TTL_SECS: i64 = 48 * 3600;
pub const RESET_TTL_SECS: i64 = 3600;
pub const EMAIL_OTP_SETUP_TTL_SECS: i64 = 600;

/// What the worker needs.
#[derive(Clone, Copy)]
pub struct MailDeps<'a> {
    pub store: &'a Store,
    pub mailer: &'a dyn Mailer,
    pub clock: &'a dyn Clock,
    /// Base URL of the web app, for links.
    pub app_url: &'a str,
}

/// Handle one `nexus.identity` event. Events the worker doesn't handle are
/// ignored; an error is retried by the caller (Lambda's async retries).
pub async fn handle(d: &MailDeps<'_>, event: &DomainEvent) -> Result<(), Error> {
    let data = &event.data;
    let field = |name: &str| {
        data.get(name)
            .and_then(|v| v.as_str())
            .ok_or_else(|| Error::field(format!("/data/{name}"), "required", "missing"))
    };
    let user = |name: &str| -> Result<UserId, Error> {
        field(name)?
            .parse()
            .map_err(|_| Error::field(format!("/data/{name}"), "invalid_format", "not a user id"))
    };
    match event.detail_type.as_str() {
        REGISTRATION_REQUESTED => registration(d, &event.id, field("registrationId")?).await,
        PASSWORD_RESET_REQUESTED => password_reset(d, &event.id, field("email")?).await,
        LOGIN_CODE_REQUESTED => {
            login_code(d, &event.id, &user("userId")?, field("challenge")?).await
        }
        EMAIL_OTP_SETUP_REQUESTED => email_otp_setup(d, &event.id, &user("userId")?).await,
        LOGIN_FROM_NEW_IP => {
            let agent = data.get("userAgent").and_then(|v| v.as_str()).unwrap_or("");
            new_login(d, &event.id, &user("userId")?, agent, event.occurred_at).await
        }
        INVITATION_CREATED => {
            let org = event
                .tenant
                .clone()
                .ok_or_else(|| Error::field("/tenantId", "required", "missing"))?;
            let id = field("invitationId")?.parse().map_err(|_| {
                Error::field(
                    "/data/invitationId",
                    "invalid_format",
                    "not an invitation id",
                )
            })?;
            invitation(d, &event.id, &org, &id, field("email")?).await
        }
        other => {
            tracing::debug!(event.kind = other, "no account e-mail for this event");
            Ok(())
        }
    }
}

/// One e-mail, the one-time token it carries (if any), and writes that bind
/// the token (committed with it).
struct Outgoing {
    mail: Mail,
    token: Option<OneTimeToken>,
    binds: Vec<Write>,
}

/// Send `prepare()`'s e-mail once for `event`: record the secret and the
/// delivery as pending, send, mark sent. A redelivery finds the record: sent
/// means done; pending means the send failed, so the old secret is deleted
/// and a fresh one mailed.
async fn deliver(
    d: &MailDeps<'_>,
    event: &EventId,
    prepare: impl FnOnce() -> Outgoing,
) -> Result<(), Error> {
    let now = d.clock.now();
    let job = mailjobs::get(d.store, event).await?;
    if job.as_ref().is_some_and(|j| j.status == MailStatus::Sent) {
        tracing::debug!(event.id = %event, "account e-mail already sent");
        return Ok(());
    }
    let out = prepare();
    let mut tx = Tx::new();
    if let Some(old) = job.as_ref().and_then(|j| j.token_pk.clone()) {
        tx = tx.write(Write::DeleteIf {
            key: Key::new(old, "TOKEN"),
            condition: "attribute_exists(#pk) OR attribute_not_exists(#pk)".into(),
            names: vec![("#pk".into(), nexus_store::attr::PK.into())],
            values: vec![],
            label: "unsent token".into(),
        });
    }
    if let Some(t) = &out.token {
        tx = tx.write(Write::create(t)?);
    }
    for w in out.binds {
        tx = tx.write(w);
    }
    let mut record = MailJob {
        event_id: event.clone(),
        status: MailStatus::Pending,
        token_pk: out.token.as_ref().map(|t| tokens::token_key(&t.hash).pk),
        updated_at: now,
        expires_at: now.as_second() + MAIL_JOB_TTL_SECS,
    };
    match d.store.commit(tx.write(Write::put(&record)?)).await {
        Ok(()) => {}
        // What the e-mail was for is gone (an invitation replaced or cancelled).
        Err(nexus_store::StoreError::ConditionFailed { label }) if label == "invite" => {
            tracing::info!(event.id = %event, "superseded before it was mailed; nothing sent");
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    }
    d.mailer
        .send(&out.mail)
        .await
        .map_err(|e| Error::Unavailable {
            detail: format!("could not send the {} e-mail: {e}", out.mail.template),
            retry_after_secs: 5,
        })?;
    record.status = MailStatus::Sent;
    record.updated_at = d.clock.now();
    d.store
        .commit(Tx::new().write(Write::put(&record)?))
        .await?;
    tracing::info!(event.id = %event, mail.template = out.mail.template, "account e-mail sent");
    Ok(())
}

fn one_time(
    purpose: Purpose,
    subject: &str,
    ttl: i64,
    now: Timestamp,
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

/// Create the account of a pending registration (or decide it exists), then
/// mail the verification link or the owner.
async fn registration(d: &MailDeps<'_>, event: &EventId, id: &str) -> Result<(), Error> {
    let Some(pending) = d
        .store
        .get::<PendingRegistration>(&users::registration_key(id))
        .await?
    else {
        tracing::info!(
            registration.id = id,
            "registration expired before it was processed"
        );
        return Ok(());
    };
    let outcome = match &pending.outcome {
        Some(o) => o.clone(),
        None => settle_registration(d, &pending).await?,
    };
    let now = d.clock.now();
    match outcome {
        RegistrationOutcome::Created { user_id, .. } => {
            deliver(d, event, || {
                let (token, record) =
                    one_time(Purpose::VerifyEmail, user_id.as_str(), VERIFY_TTL_SECS, now, "nxv");
                let link = format!("{}/verify-email?token={token}", d.app_url);
                Outgoing {
                    mail: Mail {
                        to: pending.email.to_string(),
                        template: "verify-email",
                        subject: "Verify your e-mail for NEXUS".into(),
                        text: format!(
                            "Welcome to NEXUS. Confirm your e-mail address by opening:\n\n{link}\n\n\
                             The link works once and expires in 48 hours. If you didn't sign up, ignore this message."
                        ),
                        token: Some(token),
                        link: Some(link),
                    },
                    token: Some(record),
                    binds: vec![],
                }
            })
            .await
        }
        RegistrationOutcome::Existing { .. } => {
            deliver(d, event, || Outgoing {
                mail: Mail {
                    to: pending.email.to_string(),
                    template: "registration-existing",
                    subject: "Someone tried to sign up to NEXUS with your address".into(),
                    text: format!(
                        "Someone, maybe you, tried to create a NEXUS account with this e-mail address, \
                         but you already have one. Log in at {0}/login, or reset your password at \
                         {0}/forgot-password if you forgot it. If it wasn't you, ignore this message.",
                        d.app_url
                    ),
                    token: None,
                    link: Some(format!("{}/login", d.app_url)),
                },
                token: None,
                binds: vec![],
            })
            .await
        }
    }
}

/// Decide and write a registration's outcome in one transaction:
/// - a free address gets a new unverified account;
/// - an address held by an unverified or expired account is taken over by a
///   new account with a new id (so the old account's verification links die
///   with it, and a squatter's password is gone);
/// - an address of a verified account stays untouched (its owner is told).
async fn settle_registration(
    d: &MailDeps<'_>,
    p: &PendingRegistration,
) -> Result<RegistrationOutcome, Error> {
    let now = d.clock.now();
    let claim_key = nexus_store::tx::unique_key("email", p.email.as_str());
    let claim_owner: Option<UserId> = d
        .store
        .get_raw(&claim_key)
        .await?
        .and_then(|c| c.get("owner").and_then(|v| v.as_s().ok()).cloned())
        .and_then(|s| s.parse().ok());
    let holder = match &claim_owner {
        Some(owner) => users::get(d.store, owner).await?,
        None => None,
    };
    if let Some(h) = holder.as_ref().filter(|h| h.email_verified_at.is_some()) {
        let outcome = RegistrationOutcome::Existing {
            user_id: h.id.clone(),
        };
        d.store
            .commit(Tx::new().write(users::record_outcome(&p.id, &outcome)?))
            .await?;
        return Ok(outcome);
    }
    let user = UserRecord {
        id: UserId::new(),
        email: p.email.clone(),
        name: p.name.clone(),
        account_type: p.account_type,
        password_hash: p.password_hash.clone(),
        email_verified_at: None,
        staff: false,
        mfa: Default::default(),
        known_ips: vec![],
        sessions_valid_after_ms: None,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let replaced = claim_owner.clone();
    let outcome = RegistrationOutcome::Created {
        user_id: user.id.clone(),
        replaced: replaced.clone(),
    };
    let event = DomainEvent::new(
        "identity",
        "UserRegistered",
        None,
        user.id.to_string(),
        now,
        serde_json::json!({
            "userId": user.id,
            "accountType": user.account_type,
            "replacedUnverified": replaced,
        }),
    );
    let mut tx = Tx::new()
        .write(users::record_outcome(&p.id, &outcome)?)
        .event(event);
    match (&claim_owner, &holder) {
        (None, _) => {
            tx = tx.write(Write::Unique {
                kind: "email",
                value: p.email.to_string(),
                owner: user.id.to_string(),
            });
        }
        (Some(old), old_user) => {
            // Take the claim over from the unverified (or vanished) holder.
            tx = tx.write(Write::Update {
                key: claim_key,
                update: "SET #o = :new".into(),
                condition: Some("#o = :old".into()),
                names: vec![("#o".into(), "owner".into())],
                values: vec![
                    (
                        ":new".into(),
                        nexus_store::aws_sdk_dynamodb::types::AttributeValue::S(
                            user.id.to_string(),
                        ),
                    ),
                    (
                        ":old".into(),
                        nexus_store::aws_sdk_dynamodb::types::AttributeValue::S(old.to_string()),
                    ),
                ],
                label: "unique email".into(),
            });
            if let Some(u) = old_user {
                tx = tx.write(Write::Delete {
                    key: users::user_key(&u.id),
                    expected_version: Some(u.version),
                    label: "replaced user".into(),
                });
            }
        }
    }
    match d.store.commit(tx.write(Write::create(&user)?)).await {
        Ok(()) => Ok(outcome),
        // Raced by another registration or a verification: EventBridge's retry decides again.
        Err(nexus_store::StoreError::ConditionFailed { label }) => Err(Error::Unavailable {
            detail: format!("registration raced ({label}); retrying"),
            retry_after_secs: 1,
        }),
        Err(e) => Err(e.into()),
    }
}

async fn password_reset(d: &MailDeps<'_>, event: &EventId, email: &str) -> Result<(), Error> {
    let now = d.clock.now();
    let Ok(email) = Email::parse(email) else {
        return Ok(());
    };
    let Some(user) = users::find_live_by_email(d.store, &email, now).await? else {
        // No account: nothing to send (the requester got the same answer).
        return Ok(());
    };
    deliver(d, event, || {
        let (token, record) = one_time(
            Purpose::PasswordReset,
            user.id.as_str(),
            RESET_TTL_SECS,
            now,
            "nxp",
        );
        let link = format!("{}/reset-password?token={token}", d.app_url);
        Outgoing {
            mail: Mail {
                to: user.email.to_string(),
                template: "password-reset",
                subject: "Reset your NEXUS password".into(),
                text: format!(
                    "Someone asked to reset your NEXUS password. If it was you, open:\n\n{link}\n\n\
                     The link works once and expires in 1 hour; resetting signs you out everywhere. \
                     If it wasn't you, ignore this message."
                ),
                token: Some(token),
                link: Some(link),
            },
            token: Some(record),
            binds: vec![],
        }
    })
    .await
}

async fn login_code(
    d: &MailDeps<'_>,
    event: &EventId,
    user: &UserId,
    challenge: &str,
) -> Result<(), Error> {
    let now = d.clock.now();
    let Some(user) = users::get(d.store, user).await? else {
        return Ok(());
    };
    if mailjobs::get(d.store, event)
        .await?
        .is_some_and(|j| j.status == MailStatus::Sent)
    {
        return Ok(());
    }
    // The code's hash goes on the challenge (a fresh code replaces an unsent one).
    let code = nexus_auth::secrets::numeric_code(6);
    let recorded = tokens::set_data_field(
        d.store,
        challenge,
        Purpose::MfaChallenge,
        "emailCode",
        &nexus_auth::secrets::token_hash(&code),
        now,
    )
    .await?;
    if !recorded {
        tracing::info!(event.id = %event, "sign-in challenge ended before its code was sent");
        return Ok(());
    }
    deliver(d, event, || Outgoing {
        mail: Mail {
            to: user.email.to_string(),
            template: "login-code",
            subject: format!("{code} is your NEXUS sign-in code"),
            text: format!(
                "Your NEXUS sign-in code is {code}. It expires in 5 minutes. \
                 If you didn't try to sign in, change your password."
            ),
            token: Some(code.clone()),
            link: None,
        },
        token: None,
        binds: vec![],
    })
    .await
}

async fn email_otp_setup(d: &MailDeps<'_>, event: &EventId, user: &UserId) -> Result<(), Error> {
    let now = d.clock.now();
    let Some(user) = users::get(d.store, user).await? else {
        return Ok(());
    };
    deliver(d, event, || {
        let code = nexus_auth::secrets::numeric_code(6);
        let record = OneTimeToken {
            hash: crate::mfa::email_otp_setup_hash(&user.id, &code),
            purpose: Purpose::EmailOtpSetup,
            subject: user.id.to_string(),
            data: serde_json::Value::Null,
            expires_at: now.as_second() + EMAIL_OTP_SETUP_TTL_SECS,
            used_at: None,
            attempts: 0,
        };
        Outgoing {
            mail: Mail {
                to: user.email.to_string(),
                template: "email-otp-setup",
                subject: format!("{code} is your code to turn on e-mail sign-in codes"),
                text: format!(
                    "Enter {code} in NEXUS to receive sign-in codes by e-mail. It expires in 10 minutes."
                ),
                token: Some(code),
                link: None,
            },
            token: Some(record),
            binds: vec![],
        }
    })
    .await
}

async fn new_login(
    d: &MailDeps<'_>,
    event: &EventId,
    user: &UserId,
    user_agent: &str,
    at: Timestamp,
) -> Result<(), Error> {
    let Some(user) = users::get(d.store, user).await? else {
        return Ok(());
    };
    deliver(d, event, || Outgoing {
        mail: Mail {
            to: user.email.to_string(),
            template: "new-login",
            subject: "New sign-in to your NEXUS account".into(),
            text: format!(
                "Your account was used to sign in from a new network at {at} ({}). \
                 If this wasn't you, reset your password now: it signs out every session.",
                if user_agent.is_empty() {
                    "unknown browser"
                } else {
                    user_agent
                }
            ),
            token: None,
            link: Some(format!("{}/forgot-password", d.app_url)),
        },
        token: None,
        binds: vec![],
    })
    .await
}

/// Mail an invitation's link, if the invitation is still the current one of
/// its address (a re-invitation or a cancel since then: nothing is sent).
async fn invitation(
    d: &MailDeps<'_>,
    event: &EventId,
    org_id: &nexus_core::ids::OrgId,
    id: &nexus_core::ids::InvitationId,
    email: &str,
) -> Result<(), Error> {
    use nexus_store::repos::orgs;
    let now = d.clock.now();
    let Some(inv) = orgs::invitation(d.store, org_id, email)
        .await?
        .filter(|i| &i.id == id && i.expires_at > now.as_second())
    else {
        tracing::info!(event.id = %event, "invitation replaced, cancelled or expired; nothing sent");
        return Ok(());
    };
    let Some(org) = orgs::get(d.store, org_id).await? else {
        return Ok(());
    };
    deliver(d, event, || {
        let token = nexus_auth::secrets::new_token("nxi");
        let record = OneTimeToken {
            hash: nexus_auth::secrets::token_hash(&token),
            purpose: Purpose::Invitation,
            subject: inv.email.clone(),
            data: serde_json::json!({"orgId": org_id, "role": inv.role, "invitationId": inv.id}),
            expires_at: inv.expires_at,
            used_at: None,
            attempts: 0,
        };
        let link = format!("{}/invitations/accept?token={token}", d.app_url);
        Outgoing {
            mail: Mail {
                to: inv.email.clone(),
                template: "invitation",
                subject: format!("You're invited to {} on NEXUS", org.name),
                text: format!(
                    "You've been invited to join {} on NEXUS as {}. Accept within 7 days:\n\n{link}",
                    org.name,
                    inv.role.as_str()
                ),
                token: Some(token),
                link: Some(link),
            },
            binds: vec![orgs::set_invitation_token(
                org_id,
                &inv.email,
                &inv.id,
                &record.hash,
            )],
            token: Some(record),
        }
    })
    .await
}
