//! EventBridge rule target: every `nexus.*` event that belongs to a tenant
//! becomes an entry in that organization's audit log. EventBridge delivers at
//! least once; the entry is keyed by event id and written only if absent.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_runtime::{Diagnostic, LambdaEvent};
use nexus_core::events::DomainEvent;
use nexus_core::Error;
use nexus_store::repos::audit::{self, AuditEntry};

pub type State = nexus_ports::Platform;

/// The ports this function calls: `main.rs` wires them from AWS, the local
/// platform from its stand-ins (see `nexus_ports::wiring`).
pub async fn state(w: &impl nexus_ports::Wiring) -> Result<State, String> {
    nexus_ports::Platform::new(w)
}

pub async fn handler(
    state: &State,
    event: LambdaEvent<EventBridgeEvent<serde_json::Value>>,
) -> Result<(), Diagnostic> {
    let e = &event.payload;
    let Some(domain) = DomainEvent::from_envelope(&e.source, &e.detail_type, &e.detail) else {
        // Not retryable: the same event will never parse. After Lambda's async
        // retries the event lands in the function's on-failure queue.
        return Err(Error::Validation(vec![nexus_core::FieldError::new(
            "/detail",
            "invalid_format",
            "not a NEXUS domain event",
        )])
        .into());
    };
    let Some(entry) = AuditEntry::from_event(&domain) else {
        tracing::debug!(event.id = %domain.id, "event has no tenant; not audited");
        return Ok(());
    };
    let new = audit::append(&state.store, &entry).await?;
    tracing::info!(event.id = %domain.id, tenant.id = %entry.org_id, action = %entry.action, duplicate = !new, "audited");
    Ok(())
}
