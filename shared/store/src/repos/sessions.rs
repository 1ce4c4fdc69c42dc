//! Refresh tokens and their families (one family per login).
//!
//! Refresh tokens are opaque and stored as SHA-256. Every use rotates: the
//! old token is marked rotated and a new one issued in the same family, in
//! one transaction that also checks the family is not revoked. Presenting a
//! token that was already rotated means it was stolen or replayed: the whole
//! family is revoked, logging out the thief and the victim alike.
//!
//! | item | PK | SK |
//! |---|---|---|
//! | refresh token | `REFRESH#<sha256>` | `REFRESH` (TTL) |
//! | family | `RFAMILY#<familyId>` | `RFAMILY` (TTL) |
//!
//! A user's `sessionsValidAfterMs` (set on password reset and second-factor
//! changes) ends every family that started (or re-authenticated) before it:
//! each rotation and each extension checks it in the same transaction that
//! issues the new token, so a reset racing a refresh can't leave a live token.

use aws_sdk_dynamodb::types::AttributeValue;
use nexus_core::ids::{OrgId, UserId};
use nexus_core::{Error, Timestamp};
use serde::{Deserialize, Serialize};

use crate::entity::{Entity, Key};
use crate::store::Store;
use crate::tx::{Tx, Write};
use crate::StoreError;

/// Refresh tokens live 30 days.
pub const REFRESH_TTL_SECS: i64 = 30 * 24 * 3600;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefreshToken {
    pub hash: String,
    pub family: String,
    pub user_id: UserId,
    /// The organization the session is scoped to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<OrgId>,
    pub issued_at: Timestamp,
    pub expires_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotated_at: Option<Timestamp>,
}

impl Entity for RefreshToken {
    const KIND: &'static str = "REFRESH";
    fn key(&self) -> Key {
        refresh_key(&self.hash)
    }
    fn expires_at(&self) -> Option<i64> {
        Some(self.expires_at)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Family {
    pub id: String,
    pub user_id: UserId,
    pub created_at: Timestamp,
    pub expires_at: i64,
    /// When the user last proved a factor in this session (a second-factor
    /// change made from it), which keeps it alive past `sessionsValidAfterMs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reauthenticated_at: Option<Timestamp>,
}

impl Family {
    /// The instant the session's credentials were last proven.
    pub fn started_at(&self) -> Timestamp {
        self.reauthenticated_at
            .map_or(self.created_at, |r| r.max(self.created_at))
    }
}

impl Entity for Family {
    const KIND: &'static str = "RFAMILY";
    fn key(&self) -> Key {
        family_key(&self.id)
    }
    fn expires_at(&self) -> Option<i64> {
        Some(self.expires_at)
    }
}

pub fn refresh_key(hash: &str) -> Key {
    Key::new(format!("REFRESH#{hash}"), "REFRESH")
}

pub fn family_key(id: &str) -> Key {
    Key::new(format!("RFAMILY#{id}"), "RFAMILY")
}

/// Outcome of presenting a refresh token.
#[derive(Debug, Clone, PartialEq)]
pub enum Rotation {
    /// The old token is spent; the new one is live.
    Rotated(RefreshToken),
    /// The token was already used: its family is now revoked.
    Reused { family: String, user_id: UserId },
    /// The family was revoked (logout or earlier reuse).
    Revoked,
    /// Unknown or expired.
    Invalid,
}

/// Start a family with its first token (login).
pub async fn start(
    store: &Store,
    family: &Family,
    first: &RefreshToken,
    extra: Tx,
) -> Result<(), Error> {
    store
        .commit(
            extra
                .write(Write::create(family)?)
                .write(Write::create(first)?),
        )
        .await?;
    Ok(())
}

/// Spend `presented_hash` and issue `next` in the same family.
pub async fn rotate(
    store: &Store,
    presented_hash: &str,
    mut next: RefreshToken,
    now: Timestamp,
) -> Result<Rotation, Error> {
    let Some(old) = store
        .get::<RefreshToken>(&refresh_key(presented_hash))
        .await?
    else {
        return Ok(Rotation::Invalid);
    };
    if old.expires_at <= now.as_second() {
        return Ok(Rotation::Invalid);
    }
    let Some(family) = store.get::<Family>(&family_key(&old.family)).await? else {
        return Ok(Rotation::Revoked);
    };
    next.family = old.family.clone();
    next.user_id = old.user_id.clone();
    let tx = Tx::new()
        .write(Write::Update {
            key: refresh_key(presented_hash),
            update: "SET rotatedAt = :now".into(),
            condition: Some("attribute_not_exists(rotatedAt)".into()),
            names: vec![],
            values: vec![(":now".into(), AttributeValue::S(now.to_string()))],
            label: "refresh token".into(),
        })
        .write(Write::Check {
            key: family_key(&old.family),
            condition: "attribute_exists(#pk) AND attribute_not_exists(revokedAt)".into(),
            names: vec![("#pk".into(), crate::attr::PK.into())],
            values: vec![],
            label: "session".into(),
        })
        .write(still_valid(&family))
        .write(Write::create(&next)?);
    match store.commit(tx).await {
        Ok(()) => Ok(Rotation::Rotated(next)),
        Err(StoreError::ConditionFailed { label }) if label == "refresh token" => {
            revoke_family(store, &old.family, now).await?;
            Ok(Rotation::Reused {
                family: old.family,
                user_id: old.user_id,
            })
        }
        Err(StoreError::ConditionFailed { label })
            if label == "session" || label == USER_SESSIONS =>
        {
            Ok(Rotation::Revoked)
        }
        Err(e) => Err(e.into()),
    }
}

const USER_SESSIONS: &str = "user sessions";

/// Condition on the user: no password reset or second-factor change since
/// `family` started.
fn still_valid(family: &Family) -> Write {
    Write::Check {
        key: crate::repos::users::user_key(&family.user_id),
        condition: "attribute_exists(#pk) AND (attribute_not_exists(sessionsValidAfterMs) OR sessionsValidAfterMs <= :started)".into(),
        names: vec![("#pk".into(), crate::attr::PK.into())],
        values: vec![(
            ":started".into(),
            AttributeValue::N(family.started_at().as_millisecond().to_string()),
        )],
        label: USER_SESSIONS.into(),
    }
}

/// A live session: the family exists, belongs to `user`, is neither revoked
/// nor expired, and started after the user's last password reset or
/// second-factor change. `None` otherwise.
pub async fn live_family(
    store: &Store,
    family: &str,
    user: &UserId,
    now: Timestamp,
) -> Result<Option<Family>, Error> {
    let Some(item) = store.get_raw(&family_key(family)).await? else {
        return Ok(None);
    };
    if item.contains_key("revokedAt") {
        return Ok(None);
    }
    let f: Family = crate::entity::from_item(item)?;
    if &f.user_id != user || f.expires_at <= now.as_second() {
        return Ok(None);
    }
    Ok(Some(f))
}

/// Issue `next` in the live family `family` (switching organizations keeps
/// the session): conditioned, in one transaction, on the family not being
/// revoked and the user's sessions still being valid. `false` if the session
/// has ended.
pub async fn extend(
    store: &Store,
    family: &Family,
    mut next: RefreshToken,
    extra: Tx,
) -> Result<bool, Error> {
    next.family = family.id.clone();
    next.user_id = family.user_id.clone();
    let tx = extra
        .write(Write::Check {
            key: family_key(&family.id),
            condition: "attribute_exists(#pk) AND attribute_not_exists(revokedAt)".into(),
            names: vec![("#pk".into(), crate::attr::PK.into())],
            values: vec![],
            label: "session".into(),
        })
        .write(still_valid(family))
        .write(Write::create(&next)?);
    match store.commit(tx).await {
        Ok(()) => Ok(true),
        Err(StoreError::ConditionFailed { label })
            if label == "session" || label == USER_SESSIONS =>
        {
            Ok(false)
        }
        Err(e) => Err(e.into()),
    }
}

/// The write that marks `family` re-authenticated at `now` (part of a
/// second-factor change made from that session, so it outlives the change).
pub fn reauthenticate(family: &str, now: Timestamp) -> Write {
    Write::Update {
        key: family_key(family),
        update: "SET reauthenticatedAt = :now".into(),
        condition: Some("attribute_exists(#pk) AND attribute_not_exists(revokedAt)".into()),
        names: vec![("#pk".into(), crate::attr::PK.into())],
        values: vec![(":now".into(), AttributeValue::S(now.to_string()))],
        label: "session".into(),
    }
}

/// Revoke a family: none of its refresh tokens work any more.
pub async fn revoke_family(store: &Store, family: &str, now: Timestamp) -> Result<(), Error> {
    let req = store
        .client()
        .update_item()
        .table_name(store.table_name())
        .set_key(Some(family_key(family).to_item()))
        .update_expression("SET revokedAt = if_not_exists(revokedAt, :now)")
        .condition_expression("attribute_exists(#pk)")
        .expression_attribute_names("#pk", crate::attr::PK)
        .expression_attribute_values(":now", AttributeValue::S(now.to_string()));
    // A refresh rotating this family in a transaction at the same moment
    // makes DynamoDB refuse the update with a conflict: try again.
    store
        .retry_conflicts(|| {
            let req = req.clone();
            async move { req.send().await.map_err(StoreError::from_sdk) }
        })
        .await?;
    Ok(())
}
