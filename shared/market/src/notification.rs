//! In-app notifications: one per recipient per domain event (the event id
//! makes delivery idempotent), with an unread counter per user.

use nexus_core::ids::{NotificationId, UserId};
use nexus_core::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    pub id: NotificationId,
    pub user_id: UserId,
    /// The event's detail-type, e.g. `ApplicationDecided`.
    pub kind: String,
    pub title: String,
    pub body: String,
    /// API path of what it is about (`/v1/contracts/ctr_…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    pub read: bool,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    /// The domain event it came from.
    pub event_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UnreadCount {
    pub unread: u64,
}
