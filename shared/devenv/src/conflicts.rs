//! DynamoDB's transaction-conflict rule, in front of DynamoDB Local.
//!
//! DynamoDB refuses a write that touches an item an *ongoing* transaction is
//! writing: a `TransactWriteItems` is cancelled with the reason
//! `TransactionConflict` on that item, a `PutItem`/`UpdateItem`/`DeleteItem`
//! fails with `TransactionConflictException` ("Transaction conflicts",
//! DynamoDB Developer Guide, *Transaction conflict handling*). DynamoDB Local
//! serializes its transactions and never reports either, so code that must
//! survive conflicts can't be tested against it alone.
//!
//! [`ConflictingDynamo`] is a small HTTP front for DynamoDB Local that applies
//! that rule: it tracks the items of the transactions it is forwarding and
//! answers an overlapping write with the error DynamoDB sends, byte for byte
//! in shape (`__type`, `CancellationReasons`, `Message`). Everything else is
//! forwarded unchanged. `hold` keeps each forwarded transaction in flight a
//! little longer, standing in for the service's latency (a few milliseconds
//! in AWS, microseconds in the emulator) so that races overlap as they do in
//! AWS.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// A running front; dropping it stops serving.
pub struct ConflictingDynamo {
    endpoint: String,
    state: Arc<Front>,
    task: tokio::task::JoinHandle<()>,
}

struct Front {
    upstream: String,
    hold: Duration,
    http: reqwest::Client,
    /// Items held by forwarded transactions: `table/PK/SK` → holders.
    held: Mutex<HashMap<String, usize>>,
    conflicts: AtomicUsize,
    lost_conditions: AtomicUsize,
    throttling: std::sync::atomic::AtomicBool,
}

impl ConflictingDynamo {
    /// Serve on a free local port, forwarding to `upstream` (DynamoDB Local).
    pub async fn start(upstream: &str, hold: Duration) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let endpoint = format!("http://{}", listener.local_addr()?);
        let state = Arc::new(Front {
            upstream: upstream.trim_end_matches('/').to_owned(),
            hold,
            http: reqwest::Client::new(),
            held: Mutex::new(HashMap::new()),
            conflicts: AtomicUsize::new(0),
            lost_conditions: AtomicUsize::new(0),
            throttling: std::sync::atomic::AtomicBool::new(false),
        });
        let app = axum::Router::new().fallback({
            let state = state.clone();
            move |headers: HeaderMap, body: Bytes| {
                let state = state.clone();
                async move { state.handle(headers, body).await }
            }
        });
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            endpoint,
            state,
            task,
        })
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Items held right now by transactions in flight.
    pub fn held(&self) -> usize {
        self.state.held.lock().unwrap().len()
    }

    /// How many writes were refused with a conflict so far.
    pub fn conflicts(&self) -> usize {
        self.state.conflicts.load(Ordering::SeqCst)
    }

    /// How many writes DynamoDB Local refused because a condition failed
    /// (in a race: the write was decided on a read another write overtook).
    pub fn lost_conditions(&self) -> usize {
        self.state.lost_conditions.load(Ordering::SeqCst)
    }

    /// While on, answer every request as DynamoDB answers a table over its
    /// throughput (`ProvisionedThroughputExceededException`), which the AWS
    /// SDK retries and then reports: how the platform behaves when DynamoDB
    /// throttles it.
    pub fn throttle(&self, on: bool) {
        self.state.throttling.store(on, Ordering::SeqCst);
    }

    /// Conflicts and lost conditions together: the times two writes met.
    pub fn contention(&self) -> usize {
        self.conflicts() + self.lost_conditions()
    }
}

impl Drop for ConflictingDynamo {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Front {
    async fn handle(&self, headers: HeaderMap, body: Bytes) -> Response {
        let target = headers
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .and_then(|t| t.strip_prefix("DynamoDB_20120810."))
            .unwrap_or_default()
            .to_owned();
        if self.throttling.load(Ordering::SeqCst) {
            return error(
                "ProvisionedThroughputExceededException",
                "The level of configured provisioned throughput for the table was exceeded. \
                 Consider increasing your provisioning level with the UpdateTable API.",
            );
        }
        let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        match target.as_str() {
            "TransactWriteItems" => {
                let keys = transaction_keys(&request);
                let claimed = {
                    let mut held = self.held.lock().unwrap();
                    let busy: Vec<bool> = keys
                        .iter()
                        .map(|k| k.as_ref().is_some_and(|k| held.contains_key(k)))
                        .collect();
                    if busy.iter().any(|b| *b) {
                        Err(busy)
                    } else {
                        for k in keys.iter().flatten() {
                            *held.entry(k.clone()).or_default() += 1;
                        }
                        Ok(())
                    }
                };
                if let Err(busy) = claimed {
                    self.conflicts.fetch_add(1, Ordering::SeqCst);
                    return cancelled(&busy);
                }
                tokio::time::sleep(self.hold).await;
                let out = self.forward(&headers, body).await;
                let mut held = self.held.lock().unwrap();
                for k in keys.iter().flatten() {
                    if let Some(n) = held.get_mut(k) {
                        *n -= 1;
                        if *n == 0 {
                            held.remove(k);
                        }
                    }
                }
                out
            }
            "PutItem" | "UpdateItem" | "DeleteItem" => {
                let key = single_key(&target, &request);
                let busy = key
                    .as_ref()
                    .is_some_and(|k| self.held.lock().unwrap().contains_key(k));
                if busy {
                    self.conflicts.fetch_add(1, Ordering::SeqCst);
                    return error(
                        "TransactionConflictException",
                        "Transaction is ongoing for the item",
                    );
                }
                self.forward(&headers, body).await
            }
            _ => self.forward(&headers, body).await,
        }
    }

    async fn forward(&self, headers: &HeaderMap, body: Bytes) -> Response {
        let mut req = self.http.post(format!("{}/", self.upstream)).body(body);
        for (name, value) in headers {
            if name != "host" && name != "content-length" {
                req = req.header(name.as_str(), value.as_bytes());
            }
        }
        match req.send().await {
            Ok(res) => {
                let status = StatusCode::from_u16(res.status().as_u16())
                    .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                let mut out = HeaderMap::new();
                for (name, value) in res.headers() {
                    if name != "content-length" && name != "transfer-encoding" {
                        if let (Ok(n), Ok(v)) = (
                            axum::http::HeaderName::from_bytes(name.as_str().as_bytes()),
                            axum::http::HeaderValue::from_bytes(value.as_bytes()),
                        ) {
                            out.insert(n, v);
                        }
                    }
                }
                let bytes = res.bytes().await.unwrap_or_default();
                if status == StatusCode::BAD_REQUEST
                    && bytes
                        .windows(b"ConditionalCheckFailed".len())
                        .any(|w| w == b"ConditionalCheckFailed")
                {
                    self.lost_conditions.fetch_add(1, Ordering::SeqCst);
                }
                (status, out, bytes).into_response()
            }
            Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
        }
    }
}

/// DynamoDB's JSON error shape (`application/x-amz-json-1.0`, HTTP 400).
fn error(kind: &str, message: &str) -> Response {
    body(json!({
        "__type": format!("com.amazonaws.dynamodb.v20120810#{kind}"),
        "message": message,
    }))
}

/// `TransactionCanceledException` with one reason per item, as DynamoDB
/// reports a transaction that met another in flight.
fn cancelled(busy: &[bool]) -> Response {
    let reasons: Vec<Value> = busy
        .iter()
        .map(|b| {
            if *b {
                json!({"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"})
            } else {
                json!({"Code": "None"})
            }
        })
        .collect();
    let codes: Vec<&str> = busy
        .iter()
        .map(|b| if *b { "TransactionConflict" } else { "None" })
        .collect();
    body(json!({
        "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
        "CancellationReasons": reasons,
        "Message": format!(
            "Transaction cancelled, please refer cancellation reasons for specific reasons [{}]",
            codes.join(", ")
        ),
    }))
}

fn body(v: Value) -> Response {
    (
        StatusCode::BAD_REQUEST,
        [
            ("content-type", "application/x-amz-json-1.0"),
            (
                "x-amzn-requestid",
                "CONFLICTINGDYNAMOFRONT0000000000000000000000000000",
            ),
        ],
        v.to_string(),
    )
        .into_response()
}

/// The item each action of a `TransactWriteItems` touches (`None` where it
/// can't be read, which then never conflicts).
fn transaction_keys(request: &Value) -> Vec<Option<String>> {
    let Some(items) = request["TransactItems"].as_array() else {
        return vec![];
    };
    items
        .iter()
        .map(|action| {
            let (_, op) = action.as_object()?.iter().next()?;
            let table = op["TableName"].as_str()?;
            let key = op.get("Key").or_else(|| op.get("Item"))?;
            Some(item_id(table, key))
        })
        .collect()
}

fn single_key(target: &str, request: &Value) -> Option<String> {
    let table = request["TableName"].as_str()?;
    let key = if target == "PutItem" {
        &request["Item"]
    } else {
        &request["Key"]
    };
    Some(item_id(table, key))
}

/// `table/PK/SK` of the table's key attributes (the single table's `PK`, `SK`).
fn item_id(table: &str, key: &Value) -> String {
    format!("{table}/{}/{}", key["PK"], key["SK"])
}
