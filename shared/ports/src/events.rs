//! The event bus port: publishing outbox events. EventBridge in AWS; the
//! local platform's in-process bus locally.

use async_trait::async_trait;
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
/// and Resources bytes plus 14 for Time): "less than 256 KB".
pub const MAX_ENTRY_BYTES: usize = 256 * 1024;

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
#[async_trait]
impl EventBus for EventBridgeBus {
    async fn publish(&self, events: &[OutboxEvent]) -> Result<Vec<PublishFailure>, String> {
        let mut failures = vec![];
        let mut sendable = vec![];
        for e in events {
            if entry_size(e) >= MAX_ENTRY_BYTES {
                failures.push(PublishFailure {
                    event_id: e.event_id.clone(),
                    code: "EntryTooLarge".into(),
                    message: format!("{} bytes exceeds the EventBridge limit", entry_size(e)),
                    retryable: false,
                });
            } else {
                sendable.push(e);
            }
        }
        for chunk in sendable.chunks(10) {
            let entries = chunk
                .iter()
                .map(|e| {
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
                })
                .collect::<Vec<_>>();
            let out = self
                .client
                .put_events()
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| {
                    use aws_sdk_eventbridge::error::ProvideErrorMetadata;
                    format!(
                        "PutEvents: {}",
                        e.code().or(e.message()).unwrap_or("request failed")
                    )
                })?;
            // Result entries are index-aligned with the request.
            for (e, r) in chunk.iter().zip(out.entries()) {
                if let Some(code) = r.error_code() {
                    failures.push(PublishFailure {
                        event_id: e.event_id.clone(),
                        code: code.to_owned(),
                        message: r.error_message().unwrap_or_default().to_owned(),
                        retryable: matches!(code, "InternalFailure" | "ThrottlingException"),
                    });
                }
            }
        }
        Ok(failures)
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

    #[tokio::test]
    async fn a_failed_call_is_an_error_so_the_stream_retries() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(400).set_body_raw(
                r#"{"__type":"AccessDeniedException","message":"not authorized"}"#,
                "application/x-amz-json-1.1",
            ))
            .mount(&server)
            .await;
        let err = bus(&server).await.publish(&[event(1)]).await.unwrap_err();
        assert!(err.contains("AccessDenied"), "{err}");
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
