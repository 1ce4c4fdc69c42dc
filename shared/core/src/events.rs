//! Domain events: written to the outbox in the same transaction as the state
//! change they describe, then published to EventBridge from the table stream.

use serde::{Deserialize, Serialize};

use crate::ids::{EventId, OrgId};
use crate::time::Timestamp;

/// EventBridge `source` prefix for every NEXUS event (`nexus.orgs`, …).
pub const SOURCE_PREFIX: &str = "nexus.";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DomainEvent {
    /// Unique per event; consumers use it as their idempotency key.
    pub id: EventId,
    /// EventBridge `source`, e.g. `nexus.orgs`.
    pub source: String,
    /// EventBridge `detail-type`, e.g. `OrganizationCreated`.
    pub detail_type: String,
    /// The tenant the event belongs to, when it belongs to one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<OrgId>,
    /// Who caused it (`usr_…`, `key_…`, or `system`).
    pub actor: String,
    pub occurred_at: Timestamp,
    /// Event-specific payload (never secrets).
    pub data: serde_json::Value,
}

impl DomainEvent {
    pub fn new(
        source: &str,
        detail_type: &str,
        tenant: Option<OrgId>,
        actor: impl Into<String>,
        occurred_at: Timestamp,
        data: serde_json::Value,
    ) -> Self {
        Self {
            id: EventId::new(),
            source: format!("{SOURCE_PREFIX}{source}"),
            detail_type: detail_type.to_owned(),
            tenant,
            actor: actor.into(),
            occurred_at,
            data,
        }
    }

    /// The EventBridge `detail`: the event with its envelope fields, so a
    /// consumer sees id, tenant and actor without parsing the outer envelope.
    pub fn detail(&self) -> serde_json::Value {
        serde_json::json!({
            "eventId": self.id,
            "tenantId": self.tenant,
            "actor": self.actor,
            "occurredAt": self.occurred_at,
            "data": self.data,
        })
    }

    /// Rebuild from an EventBridge envelope's parts (consumer side).
    pub fn from_envelope(
        source: &str,
        detail_type: &str,
        detail: &serde_json::Value,
    ) -> Option<Self> {
        Some(Self {
            id: serde_json::from_value(detail.get("eventId")?.clone()).ok()?,
            source: source.to_owned(),
            detail_type: detail_type.to_owned(),
            tenant: detail
                .get("tenantId")
                .and_then(|t| serde_json::from_value(t.clone()).ok()),
            actor: detail.get("actor")?.as_str()?.to_owned(),
            occurred_at: serde_json::from_value(detail.get("occurredAt")?.clone()).ok()?,
            data: detail
                .get("data")
                .cloned()
                .unwrap_or(serde_json::Value::Null),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detail_round_trips_through_the_envelope() {
        let e = DomainEvent::new(
            "orgs",
            "OrganizationCreated",
            Some(OrgId::new()),
            "usr_x",
            Timestamp::now(),
            serde_json::json!({"name": "Acme"}),
        );
        assert_eq!(e.source, "nexus.orgs");
        let back = DomainEvent::from_envelope(&e.source, &e.detail_type, &e.detail()).unwrap();
        assert_eq!(back, e);
    }
}
