//! Delivery records of account e-mails, one per domain event, so the
//! account-mail worker (an EventBridge target, delivered at least once) sends
//! each e-mail once and keeps a single live secret per e-mail: a redelivery
//! after a failed send issues a fresh token and deletes the one it replaces;
//! a redelivery after a successful send does nothing.
//!
//! | item | PK | SK |
//! |---|---|---|
//! | mail job | `MAILJOB#<eventId>` | `MAILJOB` (TTL 7 days) |

use nexus_core::ids::EventId;
use nexus_core::{Error, Timestamp};
use serde::{Deserialize, Serialize};

use crate::entity::{Entity, Key};
use crate::store::Store;

pub const MAIL_JOB_TTL_SECS: i64 = 7 * 24 * 3600;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MailJob {
    pub event_id: EventId,
    /// `pending` (the secret is issued, the e-mail not confirmed sent) or `sent`.
    pub status: MailStatus,
    /// Key (PK) of the one-time token this e-mail carries, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_pk: Option<String>,
    pub updated_at: Timestamp,
    pub expires_at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MailStatus {
    Pending,
    Sent,
}

impl Entity for MailJob {
    const KIND: &'static str = "MAILJOB";
    fn key(&self) -> Key {
        mail_job_key(&self.event_id)
    }
    fn expires_at(&self) -> Option<i64> {
        Some(self.expires_at)
    }
}

pub fn mail_job_key(event: &EventId) -> Key {
    Key::new(format!("MAILJOB#{event}"), "MAILJOB")
}

pub async fn get(store: &Store, event: &EventId) -> Result<Option<MailJob>, Error> {
    Ok(store.get(&mail_job_key(event)).await?)
}
