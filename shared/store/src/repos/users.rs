//! User accounts. Users are global (they may belong to several tenants).
//!
//! | item | PK | SK | notes |
//! |---|---|---|---|
//! | user | `USER#<userId>` | `PROFILE` | holds the password hash and MFA state (never returned by the API) |
//! | e-mail claim | `UNIQUE#email#<email>` | `UNIQUE` | `owner` = user id; created in the registration transaction |
//!
//! An account that is not verified within [`UNVERIFIED_TTL_SECS`] expires
//! (TTL while unverified; treated as absent from then on even before
//! DynamoDB removes it), and a new registration of its address replaces it.

use nexus_core::ids::UserId;
use nexus_core::user::{AccountType, Email, MfaStatus, UserView};
use nexus_core::{Error, Timestamp};
use serde::{Deserialize, Serialize};

use crate::entity::{Entity, Key};
use crate::store::Store;
use crate::tx::{unique_key, Tx, Write};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserRecord {
    pub id: UserId,
    pub email: Email,
    pub name: String,
    pub account_type: AccountType,
    /// argon2id PHC string.
    pub password_hash: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified_at: Option<Timestamp>,
    #[serde(default)]
    pub staff: bool,
    #[serde(default)]
    pub mfa: MfaRecord,
    /// SHA-256 prefixes of IP addresses this user logged in from (at most 20).
    #[serde(default)]
    pub known_ips: Vec<String>,
    /// Sessions (refresh-token families) that started before this instant
    /// (epoch ms) are over: set by a password reset and second-factor changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sessions_valid_after_ms: Option<i64>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub version: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MfaRecord {
    /// Encrypted TOTP secret (Cipher port), set at enrolment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totp_secret: Option<String>,
    #[serde(default)]
    pub totp_enabled: bool,
    /// Last accepted TOTP time step (replays of the same code are refused).
    #[serde(default)]
    pub totp_last_step: u64,
    #[serde(default)]
    pub email_otp_enabled: bool,
    /// SHA-256 of unused recovery codes (usable only while TOTP is on).
    #[serde(default)]
    pub recovery_codes: Vec<String>,
    /// An enrolment waiting for its first code: the encrypted seed and the
    /// recovery codes shown with it. Nothing here works until confirmed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_totp: Option<PendingTotp>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingTotp {
    /// Encrypted TOTP secret (Cipher port).
    pub secret: String,
    /// SHA-256 of the recovery codes shown at enrolment.
    pub recovery_codes: Vec<String>,
    pub started_at: Timestamp,
}

impl MfaRecord {
    pub fn status(&self) -> MfaStatus {
        MfaStatus {
            totp: self.totp_enabled,
            email_otp: self.email_otp_enabled,
        }
    }
}

/// How long an unverified account lives.
pub const UNVERIFIED_TTL_SECS: i64 = 7 * 24 * 3600;

impl UserRecord {
    /// An unverified account past its lifetime: as good as absent.
    pub fn is_expired(&self, now: Timestamp) -> bool {
        self.expires_at().is_some_and(|t| t <= now.as_second())
    }

    /// End every session that started before `now` (except ones re-authenticated at `now`).
    pub fn end_sessions(&mut self, now: Timestamp) {
        self.sessions_valid_after_ms = Some(now.as_millisecond());
    }

    pub fn view(&self) -> UserView {
        UserView {
            id: self.id.clone(),
            email: self.email.clone(),
            name: self.name.clone(),
            account_type: self.account_type,
            email_verified: self.email_verified_at.is_some(),
            mfa: self.mfa.status(),
            created_at: self.created_at,
        }
    }
}

impl Entity for UserRecord {
    const KIND: &'static str = "USER";
    fn key(&self) -> Key {
        user_key(&self.id)
    }
    fn expires_at(&self) -> Option<i64> {
        self.email_verified_at
            .is_none()
            .then(|| self.created_at.as_second() + UNVERIFIED_TTL_SECS)
    }
}

pub fn user_key(id: &UserId) -> Key {
    Key::new(format!("USER#{id}"), "PROFILE")
}

/// Claim the e-mail and create the user in one transaction; a taken e-mail is
/// a `409 email-taken`.
pub async fn create(store: &Store, user: &UserRecord, extra: Tx) -> Result<(), Error> {
    let tx = extra
        .write(Write::Unique {
            kind: "email",
            value: user.email.to_string(),
            owner: user.id.to_string(),
        })
        .write(Write::create(user)?);
    match store.commit(tx).await {
        Err(crate::StoreError::ConditionFailed { label }) if label == "unique email" => Err(
            Error::conflict("email-taken", "an account with this e-mail already exists"),
        ),
        other => Ok(other?),
    }
}

pub async fn get(store: &Store, id: &UserId) -> Result<Option<UserRecord>, Error> {
    Ok(store.get(&user_key(id)).await?)
}

pub async fn find_by_email(store: &Store, email: &Email) -> Result<Option<UserRecord>, Error> {
    let Some(claim) = store.get_raw(&unique_key("email", email.as_str())).await? else {
        return Ok(None);
    };
    let Some(owner) = claim
        .get("owner")
        .and_then(|v| v.as_s().ok())
        .and_then(|s| s.parse::<UserId>().ok())
    else {
        return Ok(None);
    };
    get(store, &owner).await
}

/// The live account with this e-mail: [`find_by_email`] without expired
/// unverified accounts.
pub async fn find_live_by_email(
    store: &Store,
    email: &Email,
    now: Timestamp,
) -> Result<Option<UserRecord>, Error> {
    Ok(find_by_email(store, email)
        .await?
        .filter(|u| !u.is_expired(now)))
}

/// Save a changed user if nobody changed it since `expected_version`.
pub async fn save(
    store: &Store,
    user: &UserRecord,
    expected_version: u64,
    extra: Tx,
) -> Result<UserRecord, Error> {
    let mut next = user.clone();
    next.version = expected_version + 1;
    match store
        .commit(extra.write(Write::replace(&next, expected_version)?))
        .await
    {
        Err(crate::StoreError::ConditionFailed { label }) if label == "user" => Err(
            Error::conflict("version-conflict", "the account changed meanwhile; retry"),
        ),
        other => {
            other?;
            Ok(next)
        }
    }
}

/// A registration waiting for the account-mail worker, which creates the
/// account (or replaces an unverified one) and sends the verification link,
/// or tells the owner of an existing account. The request path writes only
/// this, whatever the address, so its answer and timing say nothing about
/// which accounts exist.
///
/// | item | PK | SK |
/// |---|---|---|
/// | pending registration | `REGISTRATION#<id>` | `REGISTRATION` (TTL 1 day) |
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingRegistration {
    pub id: String,
    pub email: Email,
    pub name: String,
    pub account_type: AccountType,
    /// argon2id PHC string.
    pub password_hash: String,
    pub requested_at: Timestamp,
    pub expires_at: i64,
    /// What the worker did, once it did it (so a redelivery repeats only the mail).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<RegistrationOutcome>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum RegistrationOutcome {
    /// A new unverified account (replacing an unverified or expired one, if `replaced`).
    Created {
        user_id: UserId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        replaced: Option<UserId>,
    },
    /// The address belongs to a verified account; its owner is told.
    Existing { user_id: UserId },
}

/// Pending registrations live a day.
pub const REGISTRATION_TTL_SECS: i64 = 24 * 3600;

impl Entity for PendingRegistration {
    const KIND: &'static str = "REGISTRATION";
    fn key(&self) -> Key {
        registration_key(&self.id)
    }
    fn expires_at(&self) -> Option<i64> {
        Some(self.expires_at)
    }
}

pub fn registration_key(id: &str) -> Key {
    Key::new(format!("REGISTRATION#{id}"), "REGISTRATION")
}

/// The write that records a registration's outcome, once.
pub fn record_outcome(id: &str, outcome: &RegistrationOutcome) -> Result<Write, Error> {
    let value = serde_dynamo::to_attribute_value(outcome)
        .map_err(|e| Error::internal(format!("registration outcome: {e}")))?;
    Ok(Write::Update {
        key: registration_key(id),
        update: "SET outcome = :o".into(),
        condition: Some("attribute_exists(#pk) AND attribute_not_exists(outcome)".into()),
        names: vec![("#pk".into(), crate::attr::PK.into())],
        values: vec![(":o".into(), value)],
        label: "registration".into(),
    })
}
