//! Single-use, expiring tokens (e-mail verification, password reset, MFA
//! challenges, invitations). Only the SHA-256 of a token is stored; consuming
//! one is a conditional update, so two concurrent uses can't both succeed.
//!
//! | item | PK | SK |
//! |---|---|---|
//! | token | `TOKEN#<sha256>` | `TOKEN` (TTL `expiresAt`) |

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use nexus_core::{Error, Timestamp};
use serde::{Deserialize, Serialize};

use crate::entity::{attr, from_item, Entity, Key};
use crate::error::StoreError;
use crate::store::Store;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Purpose {
    VerifyEmail,
    PasswordReset,
    MfaChallenge,
    Invitation,
    EmailOtpSetup,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::VerifyEmail => "verify-email",
            Purpose::PasswordReset => "password-reset",
            Purpose::MfaChallenge => "mfa-challenge",
            Purpose::Invitation => "invitation",
            Purpose::EmailOtpSetup => "email-otp-setup",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OneTimeToken {
    /// SHA-256 of the token (hex).
    pub hash: String,
    pub purpose: Purpose,
    /// Whom it is for (a user id, or an e-mail for invitations).
    pub subject: String,
    /// Purpose-specific data (an e-mailed code's hash, an invitation's org and role, …).
    #[serde(default)]
    pub data: serde_json::Value,
    /// Epoch seconds.
    pub expires_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_at: Option<Timestamp>,
    #[serde(default)]
    pub attempts: u32,
}

impl Entity for OneTimeToken {
    const KIND: &'static str = "TOKEN";
    fn key(&self) -> Key {
        token_key(&self.hash)
    }
    fn expires_at(&self) -> Option<i64> {
        Some(self.expires_at)
    }
}

pub fn token_key(hash: &str) -> Key {
    Key::new(format!("TOKEN#{hash}"), "TOKEN")
}

/// A token that is still valid (not used, not expired) for `purpose`.
pub async fn peek(
    store: &Store,
    hash: &str,
    purpose: Purpose,
    now: Timestamp,
) -> Result<Option<OneTimeToken>, Error> {
    let t: Option<OneTimeToken> = store.get(&token_key(hash)).await?;
    Ok(t.filter(|t| t.purpose == purpose && t.used_at.is_none() && t.expires_at > now.as_second()))
}

/// Use a token once. `None` when it doesn't exist, is for something else,
/// expired, or was already used (by a concurrent request, too).
pub async fn consume(
    store: &Store,
    hash: &str,
    purpose: Purpose,
    now: Timestamp,
) -> Result<Option<OneTimeToken>, Error> {
    let res = store
        .client()
        .update_item()
        .table_name(store.table_name())
        .set_key(Some(token_key(hash).to_item()))
        .update_expression("SET usedAt = :now")
        .condition_expression("attribute_exists(#pk) AND purpose = :p AND attribute_not_exists(usedAt) AND #exp > :secs")
        .expression_attribute_names("#pk", attr::PK)
        .expression_attribute_names("#exp", attr::EXPIRES_AT)
        .expression_attribute_values(":now", AttributeValue::S(now.to_string()))
        .expression_attribute_values(":p", AttributeValue::S(purpose.as_str().into()))
        .expression_attribute_values(":secs", AttributeValue::N(now.as_second().to_string()))
        .return_values(ReturnValue::AllNew)
        .send()
        .await;
    match res {
        Ok(out) => Ok(out.attributes.map(from_item).transpose()?),
        Err(SdkError::ServiceError(se))
            if matches!(
                se.err(),
                UpdateItemError::ConditionalCheckFailedException(_)
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(StoreError::from_sdk(e).into()),
    }
}

/// Count a failed attempt against a token; `false` once `max` is reached
/// (the token is then unusable).
pub async fn record_failure(store: &Store, hash: &str, max: u32) -> Result<bool, Error> {
    let res = store
        .client()
        .update_item()
        .table_name(store.table_name())
        .set_key(Some(token_key(hash).to_item()))
        .update_expression("ADD attempts :one")
        .condition_expression(
            "attribute_exists(#pk) AND (attribute_not_exists(attempts) OR attempts < :max)",
        )
        .expression_attribute_names("#pk", attr::PK)
        .expression_attribute_values(":one", AttributeValue::N("1".into()))
        .expression_attribute_values(
            ":max",
            AttributeValue::N((max.saturating_sub(1)).to_string()),
        )
        .send()
        .await;
    match res {
        Ok(_) => Ok(true),
        Err(SdkError::ServiceError(se))
            if matches!(
                se.err(),
                UpdateItemError::ConditionalCheckFailedException(_)
            ) =>
        {
            Ok(false)
        }
        Err(e) => Err(StoreError::from_sdk(e).into()),
    }
}
