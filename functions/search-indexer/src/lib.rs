//! EventBridge rule target: keeps the creator search index current. On a
//! profile, verification or reputation event it reads the profile (the table
//! is the truth; events only say *which* creator changed) and upserts its
//! search document. Replaying an event re-indexes the same state, so
//! at-least-once delivery is harmless. In AWS this function is the index's
//! only writer (reserved concurrency 1) and publishes snapshots to S3.

use std::sync::Arc;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_runtime::{Diagnostic, LambdaEvent};
use nexus_core::events::DomainEvent;
use nexus_core::ids::UserId;
use nexus_core::{Error, FieldError};
use nexus_search::CreatorSearch;

#[derive(Clone)]
pub struct State {
    pub platform: nexus_ports::Platform,
    pub search: Arc<dyn CreatorSearch>,
}

/// The ports this function calls (the table and the index writer):
/// `main.rs` wires them from AWS, the local platform from its stand-ins.
pub async fn state(w: &impl nexus_ports::WireSearch) -> Result<State, String> {
    Ok(State {
        platform: nexus_ports::Platform::new(w)?,
        search: w.search_writer().await?,
    })
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
    let Some(creator) = domain.data["creatorId"]
        .as_str()
        .and_then(|s| s.parse::<UserId>().ok())
    else {
        return Err(Error::Validation(vec![FieldError::new(
            "/detail/data/creatorId",
            "required",
            "creatorId is required",
        )])
        .into());
    };
    match nexus_market::repo::profile(&state.platform.store, &creator).await? {
        Some(p) => state
            .search
            .upsert(vec![nexus_market::discovery::to_doc(&p)])
            .await
            .map_err(Error::from)?,
        None => state
            .search
            .remove(creator.as_str())
            .await
            .map_err(Error::from)?,
    }
    tracing::info!(event.id = %domain.id, creator.id = %creator, "indexed");
    Ok(())
}
