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
    pub fn as_str(self) -> &'static str {
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
/// expired, was already used (by a concurrent request, too), or has used up
/// `max_attempts` (counted by [`claim_attempt`]).
pub async fn consume(
    store: &Store,
    hash: &str,
    purpose: Purpose,
    now: Timestamp,
) -> Result<Option<OneTimeToken>, Error> {
    consume_within(store, hash, purpose, None, now).await
}

/// [`consume`], refused when more than `max_attempts` attempts were claimed.
pub async fn consume_within(
    store: &Store,
    hash: &str,
    purpose: Purpose,
    max_attempts: Option<u32>,
    now: Timestamp,
) -> Result<Option<OneTimeToken>, Error> {
    let mut condition =
        "attribute_exists(#pk) AND purpose = :p AND attribute_not_exists(usedAt) AND #exp > :secs"
            .to_owned();
    let mut req = store
        .client()
        .update_item()
        .table_name(store.table_name())
        .set_key(Some(token_key(hash).to_item()))
        .update_expression("SET usedAt = :now")
        .expression_attribute_names("#pk", attr::PK)
        .expression_attribute_names("#exp", attr::EXPIRES_AT)
        .expression_attribute_values(":now", AttributeValue::S(now.to_string()))
        .expression_attribute_values(":p", AttributeValue::S(purpose.as_str().into()))
        .expression_attribute_values(":secs", AttributeValue::N(now.as_second().to_string()));
    if let Some(max) = max_attempts {
        condition.push_str(" AND (attribute_not_exists(attempts) OR attempts <= :max)");
        req = req.expression_attribute_values(":max", AttributeValue::N(max.to_string()));
    }
    let res = req
        .condition_expression(condition)
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

/// Count one attempt against a live token *before* its secret is checked.
/// Atomic: the write is conditioned on `attempts < max` (and the token being
/// unused, unexpired and for `purpose`), so concurrent guesses can't exceed
/// `max` in total. Returns the token with the attempt counted, or `None`
/// when no attempt is left (or the token is gone, used or expired).
pub async fn claim_attempt(
    store: &Store,
    hash: &str,
    purpose: Purpose,
    max: u32,
    now: Timestamp,
) -> Result<Option<OneTimeToken>, Error> {
    let res = store
        .client()
        .update_item()
        .table_name(store.table_name())
        .set_key(Some(token_key(hash).to_item()))
        .update_expression("ADD attempts :one")
        .condition_expression(
            "attribute_exists(#pk) AND purpose = :p AND attribute_not_exists(usedAt) AND #exp > :secs \
             AND (attribute_not_exists(attempts) OR attempts < :max)",
        )
        .expression_attribute_names("#pk", attr::PK)
        .expression_attribute_names("#exp", attr::EXPIRES_AT)
        .expression_attribute_values(":one", AttributeValue::N("1".into()))
        .expression_attribute_values(":p", AttributeValue::S(purpose.as_str().into()))
        .expression_attribute_values(":secs", AttributeValue::N(now.as_second().to_string()))
        .expression_attribute_values(":max", AttributeValue::N(max.to_string()))
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

/// Record a value on a live token's data (e.g. the hash of a code the mail
/// worker generated for an MFA challenge). `false` when the token is gone,
/// used or expired.
pub async fn set_data_field(
    store: &Store,
    hash: &str,
    purpose: Purpose,
    field: &str,
    value: &str,
    now: Timestamp,
) -> Result<bool, Error> {
    let res = store
        .client()
        .update_item()
        .table_name(store.table_name())
        .set_key(Some(token_key(hash).to_item()))
        .update_expression("SET #data.#f = :v")
        .condition_expression(
            "attribute_exists(#pk) AND purpose = :p AND attribute_not_exists(usedAt) AND #exp > :secs",
        )
        .expression_attribute_names("#pk", attr::PK)
        .expression_attribute_names("#exp", attr::EXPIRES_AT)
        .expression_attribute_names("#data", "data")
        .expression_attribute_names("#f", field)
        .expression_attribute_values(":v", AttributeValue::S(value.into()))
        .expression_attribute_values(":p", AttributeValue::S(purpose.as_str().into()))
        .expression_attribute_values(":secs", AttributeValue::N(now.as_second().to_string()))
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
