//! The append-only audit log of an organization, fed from domain events.
//!
//! | item | PK | SK |
//! |---|---|---|
//! | audit entry | `T#<orgId>` | `AUDIT#<eventId>` (ULID: time-ordered) |

use nexus_core::events::DomainEvent;
use nexus_core::ids::{EventId, OrgId};
use nexus_core::{Error, Timestamp};
use serde::{Deserialize, Serialize};

use crate::entity::{tenant_pk, Entity, Key};
use crate::store::{Index, Page, Query, Store};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    pub org_id: OrgId,
    pub event_id: EventId,
    pub action: String,
    pub source: String,
    pub actor: String,
    #[schema(value_type = String, format = DateTime)]
    pub occurred_at: Timestamp,
    pub data: serde_json::Value,
}

impl Entity for AuditEntry {
    const KIND: &'static str = "AUDIT";
    fn key(&self) -> Key {
        Key::new(tenant_pk(&self.org_id), format!("AUDIT#{}", self.event_id))
    }
}

impl AuditEntry {
    pub fn from_event(e: &DomainEvent) -> Option<Self> {
        Some(Self {
            org_id: e.tenant.clone()?,
            event_id: e.id.clone(),
            action: e.detail_type.clone(),
            source: e.source.clone(),
            actor: e.actor.clone(),
            occurred_at: e.occurred_at,
            data: e.data.clone(),
        })
    }
}

/// Record an event; a second delivery of the same event is a no-op.
/// Returns whether the entry was new.
pub async fn append(store: &Store, entry: &AuditEntry) -> Result<bool, Error> {
    Ok(store.put_if_absent(entry).await?)
}

/// Newest first.
pub async fn list(
    store: &Store,
    org: &OrgId,
    limit: u32,
    cursor: Option<String>,
) -> Result<Page<AuditEntry>, Error> {
    let q = Query::new(Index::Table, tenant_pk(org), format!("{org}/audit"))
        .prefix("AUDIT#")
        .limit(limit)
        .newest_first()
        .cursor(cursor);
    store.query(q).await
}
