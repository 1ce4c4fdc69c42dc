//! EventBridge rule target: folds deliveries, reviews, ratings, completions
//! and cancellations into the creator's counters and recomputes the
//! reputation score (formula in `nexus_market::reputation`). EventBridge
//! delivers at least once; each event is counted once (a marker item keyed by
//! the event id is written in the same transaction).

use aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_runtime::{Diagnostic, LambdaEvent};
use nexus_core::events::DomainEvent;
use nexus_core::{Error, FieldError};

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
        return Err(Error::Validation(vec![FieldError::new(
            "/detail",
            "invalid_format",
            "not a NEXUS domain event",
        )])
        .into());
    };
    let score =
        nexus_market::flows::apply_reputation(&state.store, &domain, state.clock.now()).await?;
    tracing::info!(event.id = %domain.id, kind = %domain.detail_type, score = ?score, "reputation");
    Ok(())
}
