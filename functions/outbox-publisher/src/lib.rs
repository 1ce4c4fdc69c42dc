//! Outbox → EventBridge.
//!
//! Every state change wrote its domain events as `OUTBOX` items in the same
//! transaction; the table stream (filtered to outbox INSERTs in
//! template.yaml) brings them here. Events the bus refuses, or a failed call,
//! are reported as batch item failures: Lambda retries from the lowest failed
//! sequence number, and after `MaximumRetryAttempts` the batch metadata goes
//! to the dead-letter queue. Delivery is at least once; consumers deduplicate
//! by `detail.eventId`.

use aws_lambda_events::dynamodb::{Event, EventRecord};
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use lambda_runtime::{Diagnostic, LambdaEvent};
use nexus_ports::OutboxEvent;
use nexus_store::tx::OutboxRecord;

pub type State = nexus_ports::Platform;

/// The ports this function calls: `main.rs` wires them from AWS, the local
/// platform from its stand-ins (see `nexus_ports::wiring`).
pub async fn state(w: &impl nexus_ports::WireEvents) -> Result<State, String> {
    nexus_ports::Platform::new(w)?.events(w)
}

/// The outbox event in a stream record, if it holds one.
pub fn outbox_event(record: &EventRecord) -> Result<Option<OutboxEvent>, String> {
    if record.event_name != "INSERT" {
        return Ok(None);
    }
    let image = &record.change.new_image;
    let is_outbox = serde_dynamo::from_item::<_, serde_json::Value>(image.clone())
        .ok()
        .and_then(|v| {
            v.get(nexus_store::attr::KIND)
                .and_then(|k| k.as_str())
                .map(|k| k == "OUTBOX")
        })
        .unwrap_or(false);
    if !is_outbox {
        return Ok(None);
    }
    let r: OutboxRecord = serde_dynamo::from_item(image.clone())
        .map_err(|e| format!("malformed outbox item: {e}"))?;
    Ok(Some(OutboxEvent {
        event_id: r.event_id,
        source: r.source,
        detail_type: r.detail_type,
        detail: r.detail,
        time: r.occurred_at,
    }))
}

pub async fn handler(
    state: &State,
    event: LambdaEvent<Event>,
) -> Result<DynamoDbEventResponse, Diagnostic> {
    let mut failed_sequences: Vec<String> = vec![];
    let mut batch: Vec<(String, OutboxEvent)> = vec![];
    for record in &event.payload.records {
        let seq = record.change.sequence_number.clone().unwrap_or_default();
        match outbox_event(record) {
            Ok(Some(e)) => batch.push((seq, e)),
            Ok(None) => {}
            Err(e) => {
                tracing::error!(stream.sequence = %seq, error = %e, "cannot read outbox record");
                failed_sequences.push(seq);
            }
        }
    }
    if !batch.is_empty() {
        let events: Vec<OutboxEvent> = batch.iter().map(|(_, e)| e.clone()).collect();
        match state.events.publish(&events).await {
            Ok(failures) => {
                for f in &failures {
                    tracing::warn!(event.id = %f.event_id, error.code = %f.code, error.message = %f.message, retryable = f.retryable, "event not published");
                    if let Some((seq, _)) = batch.iter().find(|(_, e)| e.event_id == f.event_id) {
                        failed_sequences.push(seq.clone());
                    }
                }
                tracing::info!(
                    published = events.len() - failures.len(),
                    failed = failures.len(),
                    "outbox batch"
                );
            }
            Err(e) => {
                tracing::error!(error = %e, "publishing failed; the batch will be retried");
                failed_sequences.extend(batch.iter().map(|(seq, _)| seq.clone()));
            }
        }
    }
    let mut response = DynamoDbEventResponse::default();
    response.batch_item_failures = failed_sequences
        .into_iter()
        .map(|seq| {
            let mut f = DynamoDbBatchItemFailure::default();
            f.item_identifier = Some(seq);
            f
        })
        .collect();
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use nexus_ports::{EventBus, PublishFailure};
    use std::sync::{Arc, Mutex};

    struct RecordingBus {
        seen: Mutex<Vec<OutboxEvent>>,
        fail: Option<&'static str>,
    }

    #[async_trait::async_trait]
    impl EventBus for RecordingBus {
        async fn publish(&self, events: &[OutboxEvent]) -> Result<Vec<PublishFailure>, String> {
            self.seen.lock().unwrap().extend_from_slice(events);
            match self.fail {
                Some("call") => Err("PutEvents: ThrottlingException".into()),
                Some(id) => Ok(events
                    .iter()
                    .filter(|e| e.event_id == id)
                    .map(|e| PublishFailure {
                        event_id: e.event_id.clone(),
                        code: "InternalFailure".into(),
                        message: String::new(),
                        retryable: true,
                    })
                    .collect()),
                None => Ok(vec![]),
            }
        }
    }

    fn platform(bus: Arc<RecordingBus>) -> State {
        let sdk = aws_config_stub();
        let config = nexus_ports::Config {
            table_name: Some("t".into()),
            stage: "test".into(),
            ..nexus_ports::Config::default()
        };
        let mut platform = nexus_ports::Platform::new(&nexus_ports::Aws::new(config, sdk)).unwrap();
        platform.events = bus;
        platform
    }

    fn aws_config_stub() -> nexus_ports::SdkConfig {
        nexus_ports::SdkConfig::builder()
            .behavior_version(nexus_ports::BehaviorVersion::latest())
            .build()
    }

    fn sample(n: usize) -> Event {
        let mut v: serde_json::Value =
            serde_json::from_str(include_str!("../../../events/outbox-publisher-stream.json"))
                .unwrap();
        let record = v["Records"][0].clone();
        let mut records = vec![];
        for i in 0..n {
            let mut r = record.clone();
            r["dynamodb"]["SequenceNumber"] = format!("{}", 100 + i).into();
            r["dynamodb"]["NewImage"]["eventId"]["S"] = format!("evt_{i}").into();
            records.push(r);
        }
        // A non-outbox MODIFY in between is ignored.
        let mut other = record.clone();
        other["eventName"] = "MODIFY".into();
        records.insert(1, other);
        v["Records"] = records.into();
        serde_json::from_value(v).unwrap()
    }

    #[tokio::test]
    async fn publishes_outbox_inserts_only() {
        let bus = Arc::new(RecordingBus {
            seen: Mutex::new(vec![]),
            fail: None,
        });
        let r = handler(
            &platform(bus.clone()),
            LambdaEvent::new(sample(3), Default::default()),
        )
        .await
        .unwrap();
        assert!(r.batch_item_failures.is_empty());
        let seen = bus.seen.lock().unwrap();
        assert_eq!(seen.len(), 3);
        assert_eq!(seen[0].source, "nexus.orgs");
        assert_eq!(seen[0].detail_type, "OrganizationCreated");
        let detail: serde_json::Value = serde_json::from_str(&seen[0].detail).unwrap();
        assert_eq!(detail["data"]["name"], "Acme Beauty");
    }

    #[tokio::test]
    async fn refused_events_are_reported_by_sequence_number() {
        let bus = Arc::new(RecordingBus {
            seen: Mutex::new(vec![]),
            fail: Some("evt_1"),
        });
        let r = handler(
            &platform(bus),
            LambdaEvent::new(sample(3), Default::default()),
        )
        .await
        .unwrap();
        let ids: Vec<_> = r
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.clone().unwrap())
            .collect();
        assert_eq!(ids, ["101"]);
    }

    #[tokio::test]
    async fn a_failed_call_fails_every_event_of_the_batch() {
        let bus = Arc::new(RecordingBus {
            seen: Mutex::new(vec![]),
            fail: Some("call"),
        });
        let r = handler(
            &platform(bus),
            LambdaEvent::new(sample(2), Default::default()),
        )
        .await
        .unwrap();
        assert_eq!(r.batch_item_failures.len(), 2);
    }
}
