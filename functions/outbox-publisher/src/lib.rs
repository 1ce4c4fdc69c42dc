//! Outbox → EventBridge.
//!
//! Every state change wrote its domain events as `OUTBOX` items in the same
//! transaction; the table stream (filtered to outbox INSERTs in
//! template.yaml) brings them here. Failures are classified
//! (`nexus_ports::events` has the table):
//!
//! - **Retryable** (throttling, 5xx, a failed call): reported as batch item
//!   failures. Lambda retries from the lowest failed sequence number; after
//!   `MaximumRetryAttempts` the batch *metadata* goes to the stream's
//!   on-failure queue (`OutboxStreamDeadLetterQueue`).
//! - **Permanent** (an entry EventBridge refuses as malformed, too large or
//!   not authorized, or an outbox item that cannot be read): the whole event
//!   is written to the publisher's own dead-letter queue
//!   (`OUTBOX_DLQ_URL` = `OutboxEventDeadLetterQueue`) and the shard moves on,
//!   so one poison record never blocks the events behind it. If that write
//!   fails, the record is reported for retry instead: nothing is dropped.
//!
//! Delivery is at least once; consumers deduplicate by `detail.eventId`.
//!
//! A dead letter (`DeadLetterMessage`, JSON) holds the event as published
//! (`event`), why it was refused (`error`), and where it came from
//! (`stream`: sequence number, table keys, stream ARN). A body above SQS's
//! limit keeps everything but `event.detail`, replaced by its size: the
//! outbox item itself (at `stream.keys`) keeps it until it expires (7 days).

use std::sync::Arc;

use aws_lambda_events::dynamodb::{Event, EventRecord};
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use lambda_runtime::{Diagnostic, LambdaEvent};
use nexus_ports::events::{DeadLetter, DeadLetterQueue, MAX_DEAD_LETTER_BYTES};
use nexus_ports::{OutboxEvent, PublishFailure};
use nexus_store::tx::OutboxRecord;
use serde_json::{json, Value};

#[derive(Clone)]
pub struct State {
    pub platform: nexus_ports::Platform,
    /// Where events that can never be published go, whole.
    pub dead_letters: Arc<dyn DeadLetterQueue>,
}

/// The ports this function calls (the event bus, its dead-letter queue):
/// `main.rs` wires them from AWS (EventBridge, SQS `OUTBOX_DLQ_URL`), the
/// local platform from its stand-ins (see `nexus_ports::wiring`).
pub async fn state(
    w: &(impl nexus_ports::WireEvents + nexus_ports::WireDeadLetters),
) -> Result<State, String> {
    Ok(State {
        platform: nexus_ports::Platform::new(w)?.events(w)?,
        dead_letters: w.dead_letters()?,
    })
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

/// Where a record came from, for the dead letter.
fn origin(record: &EventRecord) -> Value {
    json!({
        "sequenceNumber": record.change.sequence_number,
        "keys": serde_dynamo::from_item::<_, Value>(record.change.keys.clone()).unwrap_or(Value::Null),
        "eventSourceArn": record.event_source_arn,
        "approximateCreationDateTime": record.change.approximate_creation_date_time,
    })
}

/// The dead letter of a permanently refused event: the whole event when it
/// fits SQS's limit, otherwise everything but `event.detail`.
pub fn dead_letter_message(
    event: Option<&OutboxEvent>,
    raw_image: Option<Value>,
    code: &str,
    message: &str,
    origin: Value,
) -> Value {
    let event_json = event.map(|e| {
        json!({
            "eventId": e.event_id,
            "source": e.source,
            "detailType": e.detail_type,
            "detail": e.detail,
            "time": e.time,
        })
    });
    let mut body = json!({
        "kind": "nexus.outbox.dead-letter",
        "version": 1,
        "error": {"code": code, "message": message},
        "event": event_json,
        "stream": origin,
        "deadLetteredAt": jiff::Timestamp::now().to_string(),
    });
    if let Some(raw) = raw_image {
        body["outboxItem"] = raw;
    }
    // Attributes (ErrorCode, EventId) take well under 1 KB.
    let limit = MAX_DEAD_LETTER_BYTES - 1024;
    if body.to_string().len() > limit {
        let bytes = event.map_or(0, |e| e.detail.len());
        if let Some(ev) = body.get_mut("event").filter(|v| v.is_object()) {
            ev["detail"] = Value::Null;
            ev["detailOmitted"] = json!({
                "bytes": bytes,
                "reason": "larger than an SQS message; the outbox item at stream.keys keeps it until it expires",
            });
        }
        if let Some(item) = body.get_mut("outboxItem") {
            *item = json!({"omitted": "larger than an SQS message"});
        }
    }
    body
}

fn failure(seq: &str) -> DynamoDbBatchItemFailure {
    let mut f = DynamoDbBatchItemFailure::default();
    f.item_identifier = Some(seq.to_owned());
    f
}

/// Keep a dead letter; `false` when it could not be kept (the record is then retried).
async fn dead_letter(state: &State, event_id: Option<&str>, code: &str, body: Value) -> bool {
    let letter = DeadLetter {
        event_id: event_id.map(str::to_owned),
        code: code.to_owned(),
        body,
    };
    match state.dead_letters.send(&letter).await {
        Ok(()) => {
            tracing::error!(event.id = event_id.unwrap_or("-"), error.code = %code, "outbox event dead-lettered (refused for good)");
            true
        }
        Err(e) => {
            tracing::error!(event.id = event_id.unwrap_or("-"), error.code = %code, error = %e, "could not dead-letter the event; it will be retried");
            false
        }
    }
}

pub async fn handler(
    state: &State,
    event: LambdaEvent<Event>,
) -> Result<DynamoDbEventResponse, Diagnostic> {
    let mut failed_sequences: Vec<String> = vec![];
    let mut batch: Vec<(&EventRecord, OutboxEvent)> = vec![];
    let mut dead = 0;
    for record in &event.payload.records {
        let seq = record.change.sequence_number.clone().unwrap_or_default();
        match outbox_event(record) {
            Ok(Some(e)) => batch.push((record, e)),
            Ok(None) => {}
            Err(e) => {
                tracing::error!(stream.sequence = %seq, error = %e, "cannot read outbox record");
                let raw = serde_dynamo::from_item::<_, Value>(record.change.new_image.clone()).ok();
                let body =
                    dead_letter_message(None, raw, "MalformedOutboxRecord", &e, origin(record));
                if dead_letter(state, None, "MalformedOutboxRecord", body).await {
                    dead += 1;
                } else {
                    failed_sequences.push(seq);
                }
            }
        }
    }
    let mut retried = 0;
    if !batch.is_empty() {
        let events: Vec<OutboxEvent> = batch.iter().map(|(_, e)| e.clone()).collect();
        let failures: Vec<PublishFailure> = match state.platform.events.publish(&events).await {
            Ok(f) => f,
            Err(e) => events
                .iter()
                .map(|ev| PublishFailure {
                    event_id: ev.event_id.clone(),
                    code: "RequestFailed".into(),
                    message: e.clone(),
                    retryable: true,
                })
                .collect(),
        };
        for f in &failures {
            let Some((record, ev)) = batch.iter().find(|(_, e)| e.event_id == f.event_id) else {
                continue;
            };
            let seq = record.change.sequence_number.clone().unwrap_or_default();
            if f.retryable {
                tracing::warn!(event.id = %f.event_id, error.code = %f.code, error.message = %f.message, "event not published; will be retried");
                failed_sequences.push(seq);
                retried += 1;
                continue;
            }
            let body = dead_letter_message(Some(ev), None, &f.code, &f.message, origin(record));
            if dead_letter(state, Some(&f.event_id), &f.code, body).await {
                dead += 1;
            } else {
                failed_sequences.push(seq);
                retried += 1;
            }
        }
        tracing::info!(
            published = events.len() - failures.len(),
            retried,
            dead_lettered = dead,
            "outbox batch"
        );
    }
    let mut response = DynamoDbEventResponse::default();
    response.batch_item_failures = failed_sequences.iter().map(|s| failure(s)).collect();
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use nexus_ports::{EventBus, PublishFailure};
    use std::sync::Mutex;

    /// Fails the events it is told to, with the given code and retryability.
    struct RecordingBus {
        seen: Mutex<Vec<OutboxEvent>>,
        fail: Vec<(&'static str, &'static str, bool)>,
        call_fails: bool,
    }

    impl RecordingBus {
        fn new(fail: Vec<(&'static str, &'static str, bool)>) -> Arc<Self> {
            Arc::new(Self {
                seen: Mutex::new(vec![]),
                fail,
                call_fails: false,
            })
        }
    }

    #[async_trait::async_trait]
    impl EventBus for RecordingBus {
        async fn publish(&self, events: &[OutboxEvent]) -> Result<Vec<PublishFailure>, String> {
            self.seen.lock().unwrap().extend_from_slice(events);
            if self.call_fails {
                return Err("PutEvents: connection reset".into());
            }
            Ok(events
                .iter()
                .filter_map(|e| {
                    let (_, code, retryable) =
                        self.fail.iter().find(|(id, _, _)| *id == e.event_id)?;
                    Some(PublishFailure {
                        event_id: e.event_id.clone(),
                        code: (*code).into(),
                        message: format!("{code} for {}", e.event_id),
                        retryable: *retryable,
                    })
                })
                .collect())
        }
    }

    #[derive(Default)]
    struct Letters {
        kept: Mutex<Vec<DeadLetter>>,
        broken: bool,
    }

    #[async_trait::async_trait]
    impl DeadLetterQueue for Letters {
        async fn send(&self, letter: &DeadLetter) -> Result<(), String> {
            if self.broken {
                return Err("SQS SendMessage: ServiceUnavailable".into());
            }
            self.kept.lock().unwrap().push(letter.clone());
            Ok(())
        }
    }

    fn state(bus: Arc<RecordingBus>, letters: Arc<Letters>) -> State {
        let sdk = nexus_ports::SdkConfig::builder()
            .behavior_version(nexus_ports::BehaviorVersion::latest())
            .build();
        let config = nexus_ports::Config {
            table_name: Some("t".into()),
            stage: "test".into(),
            ..nexus_ports::Config::default()
        };
        let mut platform = nexus_ports::Platform::new(&nexus_ports::Aws::new(config, sdk)).unwrap();
        platform.events = bus;
        State {
            platform,
            dead_letters: letters,
        }
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

    fn failed(r: &DynamoDbEventResponse) -> Vec<String> {
        r.batch_item_failures
            .iter()
            .map(|f| f.item_identifier.clone().unwrap())
            .collect()
    }

    async fn run(
        bus: Arc<RecordingBus>,
        letters: Arc<Letters>,
        event: Event,
    ) -> DynamoDbEventResponse {
        handler(
            &state(bus, letters),
            LambdaEvent::new(event, Default::default()),
        )
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn publishes_outbox_inserts_only() {
        let bus = RecordingBus::new(vec![]);
        let r = run(bus.clone(), Arc::default(), sample(3)).await;
        assert!(r.batch_item_failures.is_empty());
        let seen = bus.seen.lock().unwrap();
        assert_eq!(seen.len(), 3);
        assert_eq!(seen[0].source, "nexus.orgs");
        assert_eq!(seen[0].detail_type, "OrganizationCreated");
        let detail: serde_json::Value = serde_json::from_str(&seen[0].detail).unwrap();
        assert_eq!(detail["data"]["name"], "Acme Beauty");
    }

    #[tokio::test]
    async fn only_retryable_failures_are_reported_and_permanent_ones_are_dead_lettered_whole() {
        let bus = RecordingBus::new(vec![
            ("evt_1", "ThrottlingException", true),
            ("evt_2", "MalformedDetail", false),
        ]);
        let letters = Arc::new(Letters::default());
        let r = run(bus, letters.clone(), sample(4)).await;
        assert_eq!(
            failed(&r),
            ["101"],
            "the poison record does not block the shard"
        );
        let kept = letters.kept.lock().unwrap();
        assert_eq!(kept.len(), 1);
        let l = &kept[0];
        assert_eq!(
            (l.event_id.as_deref(), l.code.as_str()),
            (Some("evt_2"), "MalformedDetail")
        );
        assert_eq!(l.body["error"]["code"], "MalformedDetail");
        assert_eq!(l.body["event"]["eventId"], "evt_2");
        assert_eq!(l.body["event"]["source"], "nexus.orgs");
        let detail: Value =
            serde_json::from_str(l.body["event"]["detail"].as_str().unwrap()).unwrap();
        assert_eq!(
            detail["data"]["name"], "Acme Beauty",
            "the whole event, not metadata"
        );
        assert_eq!(l.body["stream"]["sequenceNumber"], "102");
        assert_eq!(
            l.body["stream"]["keys"]["PK"],
            "OUTBOX#evt_01JDQ8M3ZP6T0N7W4C5B2X9Y8P"
        );
    }

    #[tokio::test]
    async fn a_failed_call_retries_the_batch_and_an_unwritable_dead_letter_is_retried() {
        let bus = Arc::new(RecordingBus {
            seen: Mutex::new(vec![]),
            fail: vec![],
            call_fails: true,
        });
        let r = run(bus, Arc::default(), sample(2)).await;
        assert_eq!(failed(&r), ["100", "101"]);

        let bus = RecordingBus::new(vec![("evt_0", "EntryTooLarge", false)]);
        let letters = Arc::new(Letters {
            kept: Mutex::new(vec![]),
            broken: true,
        });
        let r = run(bus, letters, sample(2)).await;
        assert_eq!(failed(&r), ["100"], "never dropped: retried instead");
    }

    #[tokio::test]
    async fn an_unreadable_outbox_item_is_dead_lettered_with_its_raw_image() {
        let mut event = sample(2);
        event.records[0]
            .change
            .new_image
            .remove("detailType")
            .unwrap();
        let bus = RecordingBus::new(vec![]);
        let letters = Arc::new(Letters::default());
        let r = run(bus.clone(), letters.clone(), event).await;
        assert!(r.batch_item_failures.is_empty());
        assert_eq!(
            bus.seen.lock().unwrap().len(),
            1,
            "the readable one is published"
        );
        let kept = letters.kept.lock().unwrap();
        assert_eq!(kept[0].code, "MalformedOutboxRecord");
        assert_eq!(kept[0].body["event"], Value::Null);
        assert_eq!(kept[0].body["outboxItem"]["eventId"], "evt_0");
    }

    #[test]
    fn a_letter_too_large_for_sqs_keeps_everything_but_the_detail() {
        let e = OutboxEvent {
            event_id: "evt_big".into(),
            source: "nexus.orgs".into(),
            detail_type: "OrganizationCreated".into(),
            detail: format!("{{\"x\":\"{}\"}}", "a".repeat(300 * 1024)),
            time: "2026-11-28T10:00:00Z".into(),
        };
        let body = dead_letter_message(
            Some(&e),
            None,
            "EntryTooLarge",
            "too large",
            json!({"keys": {"PK": "OUTBOX#evt_big", "SK": "OUTBOX"}}),
        );
        assert!(body.to_string().len() < MAX_DEAD_LETTER_BYTES);
        assert_eq!(body["event"]["eventId"], "evt_big");
        assert_eq!(body["event"]["detail"], Value::Null);
        assert_eq!(body["event"]["detailOmitted"]["bytes"], e.detail.len());
        assert_eq!(body["stream"]["keys"]["PK"], "OUTBOX#evt_big");
        let small = dead_letter_message(
            Some(&OutboxEvent {
                detail: "{}".into(),
                ..e
            }),
            None,
            "X",
            "m",
            json!({}),
        );
        assert_eq!(small["event"]["detail"], "{}");
    }
}
