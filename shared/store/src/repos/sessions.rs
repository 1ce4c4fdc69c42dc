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
        Err(StoreError::ConditionFailed { label }) if label == "session" => Ok(Rotation::Revoked),
        Err(e) => Err(e.into()),
    }
}

/// Revoke a family: none of its refresh tokens work any more.
pub async fn revoke_family(store: &Store, family: &str, now: Timestamp) -> Result<(), Error> {
    store
        .client()
        .update_item()
        .table_name(store.table_name())
        .set_key(Some(family_key(family).to_item()))
        .update_expression("SET revokedAt = if_not_exists(revokedAt, :now)")
        .condition_expression("attribute_exists(#pk)")
        .expression_attribute_names("#pk", crate::attr::PK)
        .expression_attribute_values(":now", AttributeValue::S(now.to_string()))
        .send()
        .await
        .map_err(StoreError::from_sdk)?;
    Ok(())
}

/// Is the family still live?
pub async fn family_active(store: &Store, family: &str) -> Result<bool, Error> {
    Ok(store
        .get_raw(&family_key(family))
        .await?
        .is_some_and(|i| !i.contains_key("revokedAt")))
}
