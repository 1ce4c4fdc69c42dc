//! User accounts. Users are global (they may belong to several tenants).
//!
//! | item | PK | SK | notes |
//! |---|---|---|---|
//! | user | `USER#<userId>` | `PROFILE` | holds the password hash and MFA state (never returned by the API) |
//! | e-mail claim | `UNIQUE#email#<email>` | `UNIQUE` | `owner` = user id; created in the registration transaction |

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
    /// SHA-256 of unused recovery codes.
    #[serde(default)]
    pub recovery_codes: Vec<String>,
}

impl MfaRecord {
    pub fn status(&self) -> MfaStatus {
        MfaStatus {
            totp: self.totp_enabled,
            email_otp: self.email_otp_enabled,
        }
    }
}

impl UserRecord {
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
