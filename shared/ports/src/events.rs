//! The event bus port: publishing outbox events. EventBridge in AWS; the
//! local platform's in-process bus locally. And the outbox's dead-letter
//! port: where an event EventBridge will never accept is kept whole (SQS in
//! AWS, `<state dir>/dlq/` locally).
//!
//! Failures are classified so that only what a retry can fix is retried:
//!
//! | what failed | retryable | why |
//! |---|---|---|
//! | entry `InternalFailure`, `ThrottlingException` | yes | EventBridge's own transient errors |
//! | entry `InvalidArgument`, `MalformedDetail`, `NotAuthorizedFor*`, `AccessDeniedException`, … | no | the same entry fails the same way |
//! | entry over 256 KB (`EntryTooLarge`, checked before the call) | no | |
//! | call throttled, 5xx, timeout, connection, `AccessDenied` | yes | transient, or a deployment (IAM propagation) that retrying outlives |
//! | call rejected with another 4xx (e.g. `ValidationException`) | per entry | each entry of that call is sent alone, and classified alone |

use async_trait::async_trait;
#[cfg(feature = "eventbridge")]
use aws_sdk_eventbridge::error::{ProvideErrorMetadata, SdkError};
#[cfg(feature = "eventbridge")]
use aws_sdk_eventbridge::types::PutEventsRequestEntry;

/// One event to publish, as read from the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxEvent {
    pub event_id: String,
    pub source: String,
    pub detail_type: String,
    /// JSON object text.
    pub detail: String,
    /// RFC 3339.
    pub time: String,
}

/// An event the bus did not accept; `retryable` failures are retried from the stream.
#[derive(Debug, Clone, PartialEq)]
pub struct PublishFailure {
    pub event_id: String,
    pub code: String,
    pub message: String,
    pub retryable: bool,
}

#[async_trait]
pub trait EventBus: Send + Sync {
    /// Publish events; returns the ones that failed (empty = all accepted).
    /// An `Err` means the call itself failed and nothing is known to be published.
    async fn publish(&self, events: &[OutboxEvent]) -> Result<Vec<PublishFailure>, String>;
}

/// EventBridge `PutEvents`, at most 10 entries per call (feature `eventbridge`).
#[cfg(feature = "eventbridge")]
pub struct EventBridgeBus {
    client: aws_sdk_eventbridge::Client,
    bus_name: String,
}

/// EventBridge's per-request size limit (entries' Source, DetailType, Detail
/// and Resources bytes plus 14 for Time): "less than 256 KB". It bounds each
/// entry and the sum of the entries of one `PutEvents` call.
pub const MAX_ENTRY_BYTES: usize = 256 * 1024;

/// Entries per `PutEvents` call.
pub const MAX_ENTRIES_PER_CALL: usize = 10;

/// Events in calls of at most [`MAX_ENTRIES_PER_CALL`] entries whose sizes
/// add up to less than [`MAX_ENTRY_BYTES`] (each event fits on its own).
pub fn chunks<'a>(events: &[&'a OutboxEvent]) -> Vec<Vec<&'a OutboxEvent>> {
    let mut out: Vec<Vec<&OutboxEvent>> = vec![];
    let mut size = 0;
    for e in events {
        let n = entry_size(e);
        match out.last_mut() {
            Some(last) if last.len() < MAX_ENTRIES_PER_CALL && size + n < MAX_ENTRY_BYTES => {
                last.push(e);
                size += n;
            }
            _ => {
                out.push(vec![e]);
                size = n;
            }
        }
    }
    out
}

/// How a failed `PutEvents` call is handled.
#[cfg(feature = "eventbridge")]
#[derive(Debug, Clone, PartialEq, Eq)]
enum CallFailure {
    /// Retry the whole call later (from the stream).
    Retryable { code: String, message: String },
    /// The request was refused as such: find out which entry by sending alone.
    Rejected { code: String, message: String },
}

#[cfg(feature = "eventbridge")]
fn classify_call<E: ProvideErrorMetadata + std::error::Error + 'static>(
    e: &SdkError<E>,
) -> CallFailure {
    let code = e.code().unwrap_or_default().to_owned();
    let message = e
        .message()
        .map(str::to_owned)
        .unwrap_or_else(|| aws_sdk_eventbridge::error::DisplayErrorContext(e).to_string());
    let status = e.raw_response().map(|r| r.status().as_u16());
    let transient_code = matches!(
        code.as_str(),
        "ThrottlingException"
            | "Throttling"
            | "LimitExceededException"
            | "InternalException"
            | "InternalFailure"
            | "ServiceUnavailable"
            | "AccessDeniedException"
            | "UnrecognizedClientException"
            | "ExpiredTokenException"
    );
    match (e, status) {
        (SdkError::ServiceError(_), Some(s))
            if (400..500).contains(&s) && !transient_code && s != 429 =>
        {
            CallFailure::Rejected { code, message }
        }
        _ => CallFailure::Retryable {
            code: if code.is_empty() {
                "RequestFailed".into()
            } else {
                code
            },
            message,
        },
    }
}

#[cfg(feature = "eventbridge")]
impl EventBridgeBus {
    pub fn new(client: aws_sdk_eventbridge::Client, bus_name: String) -> Self {
        Self { client, bus_name }
    }
}

pub fn entry_size(e: &OutboxEvent) -> usize {
    14 + e.source.len() + e.detail_type.len() + e.detail.len()
}

#[cfg(feature = "eventbridge")]
impl EventBridgeBus {
    fn entry(&self, e: &OutboxEvent) -> PutEventsRequestEntry {
        let mut b = PutEventsRequestEntry::builder()
            .event_bus_name(&self.bus_name)
            .source(&e.source)
            .detail_type(&e.detail_type)
            .detail(&e.detail);
        if let Ok(t) = e.time.parse::<jiff::Timestamp>() {
            b = b.time(aws_sdk_eventbridge::primitives::DateTime::from_secs(
                t.as_second(),
            ));
        }
        b.build()
    }

    /// One `PutEvents` call; the failed entries, classified.
    async fn put(&self, chunk: &[&OutboxEvent]) -> Result<Vec<PublishFailure>, CallFailure> {
        let out = self
            .client
            .put_events()
            .set_entries(Some(chunk.iter().map(|e| self.entry(e)).collect()))
            .send()
            .await
            .map_err(|e| classify_call(&e))?;
        // Result entries are index-aligned with the request.
        Ok(chunk
            .iter()
            .zip(out.entries())
            .filter_map(|(e, r)| {
                let code = r.error_code()?;
                Some(PublishFailure {
                    event_id: e.event_id.clone(),
                    code: code.to_owned(),
                    message: r.error_message().unwrap_or_default().to_owned(),
                    retryable: matches!(code, "InternalFailure" | "ThrottlingException"),
                })
            })
            .collect())
    }
}

#[cfg(feature = "eventbridge")]
fn failed_all(
    chunk: &[&OutboxEvent],
    code: &str,
    message: &str,
    retryable: bool,
) -> Vec<PublishFailure> {
    chunk
        .iter()
        .map(|e| PublishFailure {
            event_id: e.event_id.clone(),
            code: code.to_owned(),
            message: message.to_owned(),
            retryable,
        })
        .collect()
}

#[cfg(feature = "eventbridge")]
#[async_trait]
impl EventBus for EventBridgeBus {
    /// Never `Err`: a failed call fails its own entries (retryable or not,
    /// see the module docs), other calls of the batch still go out.
    async fn publish(&self, events: &[OutboxEvent]) -> Result<Vec<PublishFailure>, String> {
        let mut failures = vec![];
        let mut sendable = vec![];
        for e in events {
            if entry_size(e) >= MAX_ENTRY_BYTES {
                failures.push(PublishFailure {
                    event_id: e.event_id.clone(),
                    code: "EntryTooLarge".into(),
                    message: format!(
                        "{} bytes exceeds the EventBridge limit of {MAX_ENTRY_BYTES}",
                        entry_size(e)
                    ),
                    retryable: false,
                });
            } else {
                sendable.push(e);
            }
        }
        for chunk in chunks(&sendable) {
            match self.put(&chunk).await {
                Ok(f) => failures.extend(f),
                Err(CallFailure::Retryable { code, message }) => {
                    tracing::warn!(error.code = %code, error.message = %message, entries = chunk.len(), "PutEvents failed; retryable");
                    failures.extend(failed_all(&chunk, &code, &message, true));
                }
                Err(CallFailure::Rejected { code, message }) if chunk.len() == 1 => {
                    failures.extend(failed_all(&chunk, &code, &message, false));
                }
                Err(CallFailure::Rejected { code, message }) => {
                    tracing::warn!(error.code = %code, error.message = %message, entries = chunk.len(), "PutEvents rejected the call; sending its entries one by one");
                    for e in chunk {
                        match self.put(&[e]).await {
                            Ok(f) => failures.extend(f),
                            Err(CallFailure::Retryable { code, message }) => {
                                failures.extend(failed_all(&[e], &code, &message, true))
                            }
                            Err(CallFailure::Rejected { code, message }) => {
                                failures.extend(failed_all(&[e], &code, &message, false))
                            }
                        }
                    }
                }
            }
        }
        Ok(failures)
    }
}

/// SQS's largest message (body and attributes): 256 KiB. (SQS has accepted
/// 1 MiB since 2026; the stricter size keeps letters valid everywhere.)
pub const MAX_DEAD_LETTER_BYTES: usize = 256 * 1024;

/// An event the bus will never accept as it is, kept for a person to inspect
/// and redrive. `body` is the whole JSON message (see the publisher).
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetter {
    /// The outbox event id, when the record could be read.
    pub event_id: Option<String>,
    /// Why (`MalformedDetail`, `EntryTooLarge`, `MalformedOutboxRecord`, …).
    pub code: String,
    pub body: serde_json::Value,
}

/// The outbox's dead-letter queue.
#[async_trait]
pub trait DeadLetterQueue: Send + Sync {
    /// Keep one letter. `Err` means it was not kept: the caller must not drop
    /// the event (it reports it for retry instead).
    async fn send(&self, letter: &DeadLetter) -> Result<(), String>;
}

/// SQS `SendMessage` (the body as JSON text; `ErrorCode` and `EventId` as
/// message attributes; feature `sqs`).
#[cfg(feature = "sqs")]
pub struct SqsDeadLetterQueue {
    client: aws_sdk_sqs::Client,
    queue_url: String,
}

#[cfg(feature = "sqs")]
impl SqsDeadLetterQueue {
    pub fn new(client: aws_sdk_sqs::Client, queue_url: String) -> Self {
        Self { client, queue_url }
    }

    /// From the function's SDK configuration and the queue URL (`OUTBOX_DLQ_URL`).
    pub fn from_conf(sdk: &aws_config::SdkConfig, queue_url: String) -> Self {
        Self::new(aws_sdk_sqs::Client::new(sdk), queue_url)
    }
}

#[cfg(feature = "sqs")]
#[async_trait]
impl DeadLetterQueue for SqsDeadLetterQueue {
    async fn send(&self, letter: &DeadLetter) -> Result<(), String> {
        use aws_sdk_sqs::types::MessageAttributeValue;
        let attr = |v: &str| {
            MessageAttributeValue::builder()
                .data_type("String")
                .string_value(v)
                .build()
                .map_err(|e| e.to_string())
        };
        let mut req = self
            .client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(letter.body.to_string())
            .message_attributes("ErrorCode", attr(&letter.code)?);
        if let Some(id) = &letter.event_id {
            req = req.message_attributes("EventId", attr(id)?);
        }
        req.send().await.map_err(|e| {
            use aws_sdk_sqs::error::ProvideErrorMetadata;
            format!(
                "SQS SendMessage: {}",
                e.code()
                    .or(e.message())
                    .map(str::to_owned)
                    .unwrap_or_else(|| aws_sdk_sqs::error::DisplayErrorContext(&e).to_string())
            )
        })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wiremock::matchers::{header, method};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    fn event(i: usize) -> OutboxEvent {
        OutboxEvent {
            event_id: format!("evt_{i}"),
            source: "nexus.orgs".into(),
            detail_type: "OrganizationCreated".into(),
            detail: format!("{{\"n\":{i}}}"),
            time: "2026-11-28T10:00:00Z".into(),
        }
    }

    async fn bus(server: &MockServer) -> EventBridgeBus {
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_eventbridge::config::Credentials::new(
                "a", "b", None, None, "t",
            ))
            .endpoint_url(server.uri())
            .load()
            .await;
        EventBridgeBus::new(aws_sdk_eventbridge::Client::new(&sdk), "nexus-dev".into())
    }

    #[tokio::test]
    async fn partial_failures_are_reported_per_event_and_batches_are_split_by_ten() {
        let server = MockServer::start().await;
        // First call (10 entries): entry 3 throttled, entry 7 rejected. Second call (2 entries): all ok.
        let mut entries: Vec<serde_json::Value> = (0..10)
            .map(|i| serde_json::json!({"EventId": format!("id-{i}")}))
            .collect();
        entries[3] = serde_json::json!({"ErrorCode": "ThrottlingException", "ErrorMessage": "Rate exceeded"});
        entries[7] = serde_json::json!({"ErrorCode": "InvalidArgument", "ErrorMessage": "Parameter Source is not valid."});
        Mock::given(method("POST"))
            .and(header("x-amz-target", "AWSEvents.PutEvents"))
            .respond_with(ResponseTemplate::new(200).set_body_raw(
                serde_json::json!({"FailedEntryCount": 2, "Entries": entries}).to_string(),
                "application/x-amz-json-1.1",
            ))
            .up_to_n_times(1)
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_body_raw(
                r#"{"FailedEntryCount":0,"Entries":[{"EventId":"a"},{"EventId":"b"}]}"#,
                "application/x-amz-json-1.1",
            ))
            .expect(1)
            .mount(&server)
            .await;
        let events: Vec<_> = (0..12).map(event).collect();
        let failures = bus(&server).await.publish(&events).await.unwrap();
        assert_eq!(failures.len(), 2);
        assert_eq!(
            (failures[0].event_id.as_str(), failures[0].retryable),
            ("evt_3", true)
        );
        assert_eq!(
            (failures[1].event_id.as_str(), failures[1].retryable),
            ("evt_7", false)
        );
        let requests = server.received_requests().await.unwrap();
        let first: serde_json::Value = serde_json::from_slice(&requests[0].body).unwrap();
        assert_eq!(first["Entries"].as_array().unwrap().len(), 10);
        assert_eq!(first["Entries"][0]["EventBusName"], "nexus-dev");
        assert_eq!(first["Entries"][0]["Source"], "nexus.orgs");
    }

    fn json_error(status: u16, kind: &str) -> ResponseTemplate {
        ResponseTemplate::new(status).set_body_raw(
            format!(r#"{{"__type":"{kind}","message":"no"}}"#),
            "application/x-amz-json-1.1",
        )
    }

    #[tokio::test]
    async fn throttled_denied_and_failing_calls_are_retryable_for_every_entry() {
        for (status, kind) in [
            (400, "ThrottlingException"),
            (400, "AccessDeniedException"),
            (500, "InternalException"),
            (503, "ServiceUnavailable"),
        ] {
            let server = MockServer::start().await;
            Mock::given(method("POST"))
                .respond_with(json_error(status, kind))
                .mount(&server)
                .await;
            let failures = bus(&server)
                .await
                .publish(&[event(1), event(2)])
                .await
                .unwrap();
            assert_eq!(failures.len(), 2, "{kind}");
            assert!(failures.iter().all(|f| f.retryable), "{kind}: {failures:?}");
            assert_eq!(failures[0].code, kind);
        }
    }

    #[tokio::test]
    async fn a_rejected_call_is_resent_entry_by_entry_to_find_the_bad_one() {
        let server = MockServer::start().await;
        // The 2-entry call is refused as a whole; alone, evt_1 passes and evt_2 is refused.
        Mock::given(method("POST"))
            .and(wiremock::matchers::body_string_contains("evt_2"))
            .respond_with(json_error(400, "ValidationException"))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_body_raw(
                r#"{"FailedEntryCount":0,"Entries":[{"EventId":"a"}]}"#,
                "application/x-amz-json-1.1",
            ))
            .mount(&server)
            .await;
        let mut e1 = event(1);
        e1.detail = r#"{"id":"evt_1"}"#.into();
        let mut e2 = event(2);
        e2.detail = r#"{"id":"evt_2"}"#.into();
        let failures = bus(&server).await.publish(&[e1, e2]).await.unwrap();
        assert_eq!(failures.len(), 1, "{failures:?}");
        assert_eq!(failures[0].event_id, "evt_2");
        assert_eq!(failures[0].code, "ValidationException");
        assert!(!failures[0].retryable);
        assert_eq!(server.received_requests().await.unwrap().len(), 3);
    }

    #[test]
    fn calls_hold_at_most_ten_entries_under_256_kb_in_total() {
        let big = |i: usize| {
            let mut e = event(i);
            e.detail = format!("{{\"x\":\"{}\"}}", "a".repeat(100 * 1024));
            e
        };
        let events: Vec<OutboxEvent> = (0..3).map(big).chain((3..25).map(event)).collect();
        let refs: Vec<&OutboxEvent> = events.iter().collect();
        let sizes: Vec<usize> = chunks(&refs).iter().map(Vec::len).collect();
        // 100 KB + 100 KB fit, a third does not; then the small ones by ten.
        assert_eq!(sizes, [2, 10, 10, 3]);
        for c in chunks(&refs) {
            assert!(c.iter().map(|e| entry_size(e)).sum::<usize>() < MAX_ENTRY_BYTES);
        }
    }

    #[tokio::test]
    async fn dead_letters_go_to_sqs_with_their_code_and_event_id() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_body_raw(
                r#"{"MD5OfMessageBody":"x","MessageId":"m-1"}"#,
                "application/x-amz-json-1.0",
            ))
            .expect(1)
            .mount(&server)
            .await;
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_sqs::config::Credentials::new(
                "a", "b", None, None, "t",
            ))
            .endpoint_url(server.uri())
            .load()
            .await;
        let q = SqsDeadLetterQueue::from_conf(
            &sdk,
            format!(
                "{}/000000000000/nexus-OutboxEventDeadLetterQueue",
                server.uri()
            ),
        );
        q.send(&DeadLetter {
            event_id: Some("evt_1".into()),
            code: "MalformedDetail".into(),
            body: serde_json::json!({"event": {"eventId": "evt_1"}}),
        })
        .await
        .unwrap();
        let req = &server.received_requests().await.unwrap()[0];
        let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
        assert_eq!(
            body["MessageAttributes"]["ErrorCode"]["StringValue"],
            "MalformedDetail"
        );
        assert_eq!(body["MessageAttributes"]["EventId"]["StringValue"], "evt_1");
        let message: serde_json::Value =
            serde_json::from_str(body["MessageBody"].as_str().unwrap()).unwrap();
        assert_eq!(message["event"]["eventId"], "evt_1");
    }

    #[tokio::test]
    async fn oversized_entries_fail_without_a_call() {
        let server = MockServer::start().await;
        let mut e = event(1);
        e.detail = format!("{{\"x\":\"{}\"}}", "a".repeat(MAX_ENTRY_BYTES));
        let failures = bus(&server).await.publish(&[e]).await.unwrap();
        assert_eq!(failures[0].code, "EntryTooLarge");
        assert!(!failures[0].retryable);
        assert!(server.received_requests().await.unwrap().is_empty());
    }
}
