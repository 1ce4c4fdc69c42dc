//! Idempotency records (the AWS Powertools design): a conditional claim with
//! no read on the happy path, the stored response replayed on a retry, a
//! payload hash that refuses a reused key, and an in-progress lock that frees
//! itself if the function dies.

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use serde::{Deserialize, Serialize};

use crate::entity::{attr, Item, Key};
use crate::error::StoreError;
use crate::store::Store;

const INPROGRESS: &str = "INPROGRESS";
const COMPLETED: &str = "COMPLETED";

/// A response kept for replay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredResponse {
    pub status: u16,
    pub content_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    pub body: String,
}

/// Outcome of claiming a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// First time (or the previous attempt failed/expired): run the operation.
    Proceed,
    /// Done before: return this response without running anything.
    Replay(StoredResponse),
    /// Another attempt holds the lock right now.
    InProgress,
    /// The key was used with a different request.
    Mismatch,
}

/// Timing of idempotency records.
#[derive(Debug, Clone, Copy)]
pub struct IdemTiming {
    /// Epoch milliseconds now.
    pub now_ms: i64,
    /// How long an in-progress claim locks the key (the function's remaining time).
    pub lock_ms: i64,
    /// How long a completed response is replayed.
    pub ttl_secs: i64,
}

impl IdemTiming {
    pub fn new(now: jiff::Timestamp) -> Self {
        Self {
            now_ms: now.as_millisecond(),
            lock_ms: 30_000,
            ttl_secs: 24 * 3600,
        }
    }
}

fn key(scope: &str, idem_key: &str) -> Key {
    Key::new(format!("IDEM#{scope}"), idem_key.to_owned())
}

impl Store {
    pub async fn idem_claim(
        &self,
        scope: &str,
        idem_key: &str,
        request_hash: &str,
        t: IdemTiming,
    ) -> Result<Claim, StoreError> {
        let mut item = key(scope, idem_key).to_item();
        item.insert(attr::KIND.into(), AttributeValue::S("IDEMPOTENCY".into()));
        item.insert("status".into(), AttributeValue::S(INPROGRESS.into()));
        item.insert("requestHash".into(), AttributeValue::S(request_hash.into()));
        item.insert(
            attr::EXPIRES_AT.into(),
            AttributeValue::N((t.now_ms / 1000 + t.ttl_secs).to_string()),
        );
        item.insert(
            "inProgressExpiry".into(),
            AttributeValue::N((t.now_ms + t.lock_ms).to_string()),
        );
        let res = self
            .client()
            .put_item()
            .table_name(self.table_name())
            .set_item(Some(item))
            .condition_expression(
                "attribute_not_exists(#pk) OR #exp < :now OR (#st = :inprogress AND #ipe < :nowms)",
            )
            .expression_attribute_names("#pk", attr::PK)
            .expression_attribute_names("#exp", attr::EXPIRES_AT)
            .expression_attribute_names("#st", "status")
            .expression_attribute_names("#ipe", "inProgressExpiry")
            .expression_attribute_values(":now", AttributeValue::N((t.now_ms / 1000).to_string()))
            .expression_attribute_values(":nowms", AttributeValue::N(t.now_ms.to_string()))
            .expression_attribute_values(":inprogress", AttributeValue::S(INPROGRESS.into()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let old = match res {
            Ok(_) => return Ok(Claim::Proceed),
            Err(SdkError::ServiceError(se)) => match se.err() {
                PutItemError::ConditionalCheckFailedException(c) => match c.item() {
                    Some(old) => old.clone(),
                    None => match self.get_raw(&key(scope, idem_key)).await? {
                        Some(old) => old,
                        // Deleted in between (the first attempt failed): try once more.
                        None => return Ok(Claim::InProgress),
                    },
                },
                _ => return Err(StoreError::from_sdk(SdkError::ServiceError(se))),
            },
            Err(e) => return Err(StoreError::from_sdk(e)),
        };
        Ok(classify(&old, request_hash))
    }

    pub async fn idem_complete(
        &self,
        scope: &str,
        idem_key: &str,
        request_hash: &str,
        response: &StoredResponse,
        t: IdemTiming,
    ) -> Result<(), StoreError> {
        let mut item = key(scope, idem_key).to_item();
        item.insert(attr::KIND.into(), AttributeValue::S("IDEMPOTENCY".into()));
        item.insert("status".into(), AttributeValue::S(COMPLETED.into()));
        item.insert("requestHash".into(), AttributeValue::S(request_hash.into()));
        item.insert(
            "response".into(),
            AttributeValue::S(
                serde_json::to_string(response).map_err(|e| StoreError::Serde(e.to_string()))?,
            ),
        );
        item.insert(
            attr::EXPIRES_AT.into(),
            AttributeValue::N((t.now_ms / 1000 + t.ttl_secs).to_string()),
        );
        self.client()
            .put_item()
            .table_name(self.table_name())
            .set_item(Some(item))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }

    /// Forget a claim after a failed attempt, so a retry can run.
    pub async fn idem_release(&self, scope: &str, idem_key: &str) -> Result<(), StoreError> {
        self.client()
            .delete_item()
            .table_name(self.table_name())
            .set_key(Some(key(scope, idem_key).to_item()))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }
}

fn classify(old: &Item, request_hash: &str) -> Claim {
    let s = |k: &str| old.get(k).and_then(|v| v.as_s().ok()).map(String::as_str);
    if s("requestHash") != Some(request_hash) {
        return Claim::Mismatch;
    }
    match (s("status"), s("response")) {
        (Some(COMPLETED), Some(body)) => match serde_json::from_str(body) {
            Ok(r) => Claim::Replay(r),
            Err(_) => Claim::InProgress,
        },
        _ => Claim::InProgress,
    }
}
