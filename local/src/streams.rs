//! DynamoDB stream event source mappings (`Type: DynamoDB` function events),
//! as Lambda runs them (`workflows-and-events.md` §4.1, §4.2, §4.4):
//!
//! - one poller per stream source reads the table's stream with the Streams
//!   API on the DynamoDB endpoint (DynamoDB Local implements it), shard by
//!   shard, parents before children, about 4 polls a second when idle;
//! - records are turned into the Lambda record JSON, filtered with the
//!   source's `FilterCriteria` patterns (EventBridge syntax over the record;
//!   non-matching records are skipped and checkpointed past), batched up to
//!   `BatchSize` within `MaximumBatchingWindowInSeconds`, and the function is
//!   invoked synchronously, one batch at a time (the shard is in order);
//! - with `ReportBatchItemFailures`, the checkpoint moves to just before the
//!   lowest failed sequence number and the batch is retried from there; an
//!   error (or a malformed failure report) retries the whole batch; retries
//!   back off and stop after `MaximumRetryAttempts` (-1 = never), when the
//!   batch is dead-lettered (on-failure metadata plus the records, in
//!   `<state dir>/dlq/`) and skipped;
//! - the position is saved in `<state dir>/streams/<function>.seq`
//!   (`{streamArn, shardId, sequenceNumber}`), so a restart resumes with
//!   `AFTER_SEQUENCE_NUMBER`; with no saved position (or a new stream) it
//!   starts at `TRIM_HORIZON`. An expired iterator is re-acquired from the
//!   saved position.
//!
//! Local differences: DynamoDB Local's region `ddblocal` is reported as
//! [`crate::REGION`] (in `awsRegion` and `eventSourceARN`), and its
//! `ApproximateCreationDateTime` has minute precision.
//! `BisectBatchOnFunctionError` and `MaximumRecordAgeInSeconds` are not
//! modelled.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lambda_events::dynamodb;
use aws_lambda_events::streams::DynamoDbEventResponse;
use aws_sdk_dynamodbstreams::types::{AttributeValue, Record, ShardIteratorType};
use base64::Engine;
use lambda_runtime::{Diagnostic, LambdaEvent};
use nexus_wiring::template::StreamSource;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::config::Timing;
use crate::dlq::DeadLetters;
use crate::eventbridge::pattern::EventPattern;
use crate::functions::{invoke, BoxFuture, Function, Handler, InvokeError, StreamFn};
use crate::worker::{Activity, Shutdown, Worker};

/// GetRecords' maximum `Limit`.
const MAX_RECORDS_PER_CALL: i32 = 1000;

/// Compile a source's filter patterns (a bad pattern stops start-up).
pub fn compile_filters(source: &StreamSource) -> Result<Vec<EventPattern>, String> {
    source
        .filters
        .iter()
        .map(|f| {
            EventPattern::parse(f).map_err(|e| {
                format!(
                    "stream source of {}: FilterCriteria pattern {f}: {e}",
                    source.function
                )
            })
        })
        .collect()
}

/// Where a consumer is in the stream, as saved on disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Checkpoint {
    pub stream_arn: String,
    pub shard_id: String,
    /// Every record up to and including this one is done.
    pub sequence_number: Option<String>,
}

/// What to do after an invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Success,
    /// Retry from this index of the batch (the lowest reported failure).
    RetryFrom(usize),
    /// Retry the whole batch.
    RetryAll(String),
}

/// Lambda's checkpointing rules for one invocation of a batch whose records
/// have `sequences` (§4.2).
pub fn classify(
    outcome: &Result<Result<DynamoDbEventResponse, Diagnostic>, InvokeError>,
    sequences: &[String],
    report_failures: bool,
) -> Verdict {
    let response = match outcome {
        Ok(Ok(r)) => r,
        Ok(Err(d)) => return Verdict::RetryAll(format!("{}: {}", d.error_type, d.error_message)),
        Err(e) => return Verdict::RetryAll(format!("the function {e}")),
    };
    if !report_failures || response.batch_item_failures.is_empty() {
        return Verdict::Success;
    }
    let mut lowest = usize::MAX;
    for f in &response.batch_item_failures {
        let Some(id) = f.item_identifier.as_deref().filter(|id| !id.is_empty()) else {
            return Verdict::RetryAll(
                "a batch item failure without itemIdentifier fails the whole batch".into(),
            );
        };
        let Some(i) = sequences.iter().position(|s| s == id) else {
            return Verdict::RetryAll(format!("batch item failure {id} is not in the batch"));
        };
        lowest = lowest.min(i);
    }
    Verdict::RetryFrom(lowest)
}

fn attribute(v: &AttributeValue) -> Value {
    let b64 = |b: &[u8]| Value::String(base64::engine::general_purpose::STANDARD.encode(b));
    match v {
        AttributeValue::S(s) => json!({ "S": s }),
        AttributeValue::N(n) => json!({ "N": n }),
        AttributeValue::B(b) => json!({ "B": b64(b.as_ref()) }),
        AttributeValue::Bool(b) => json!({ "BOOL": b }),
        AttributeValue::Null(b) => json!({ "NULL": b }),
        AttributeValue::M(m) => json!({ "M": item(m) }),
        AttributeValue::L(l) => json!({ "L": l.iter().map(attribute).collect::<Vec<_>>() }),
        AttributeValue::Ss(xs) => json!({ "SS": xs }),
        AttributeValue::Ns(xs) => json!({ "NS": xs }),
        AttributeValue::Bs(xs) => {
            json!({ "BS": xs.iter().map(|b| b64(b.as_ref())).collect::<Vec<_>>() })
        }
        _ => Value::Null,
    }
}

fn item(m: &std::collections::HashMap<String, AttributeValue>) -> Value {
    Value::Object(
        m.iter()
            .map(|(k, v)| (k.clone(), attribute(v)))
            .collect::<Map<_, _>>(),
    )
}

/// DynamoDB Local's stream ARNs name the region `ddblocal`.
pub fn normalize_arn(arn: &str) -> String {
    arn.replace(":ddblocal:", &format!(":{}:", crate::REGION))
}

/// A stream record as Lambda delivers it (§4.1).
pub fn lambda_record(r: &Record, stream_arn: &str) -> Value {
    let mut change = Map::new();
    if let Some(d) = r.dynamodb() {
        if let Some(t) = d.approximate_creation_date_time() {
            change.insert("ApproximateCreationDateTime".into(), t.secs().into());
        }
        if let Some(k) = d.keys() {
            change.insert("Keys".into(), item(k));
        }
        if let Some(i) = d.new_image() {
            change.insert("NewImage".into(), item(i));
        }
        if let Some(i) = d.old_image() {
            change.insert("OldImage".into(), item(i));
        }
        if let Some(s) = d.sequence_number() {
            change.insert("SequenceNumber".into(), s.into());
        }
        change.insert("SizeBytes".into(), d.size_bytes().unwrap_or(0).into());
        if let Some(v) = d.stream_view_type() {
            change.insert("StreamViewType".into(), v.as_str().into());
        }
    }
    let mut record = json!({
        "eventID": r.event_id().unwrap_or_default(),
        "eventName": r.event_name().map(|n| n.as_str()).unwrap_or_default(),
        "eventVersion": r.event_version().unwrap_or("1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": crate::REGION,
        "dynamodb": change,
        "eventSourceARN": normalize_arn(stream_arn),
    });
    if let (Some(u), Some(obj)) = (r.user_identity(), record.as_object_mut()) {
        obj.insert(
            "userIdentity".into(),
            json!({ "type": u.r#type(), "principalId": u.principal_id() }),
        );
    }
    record
}

#[derive(Debug, Clone)]
struct Pending {
    seq: String,
    record: Value,
}

/// The reader's position and buffered records.
#[derive(Debug, Default)]
struct Cursor {
    stream_arn: Option<String>,
    shard_id: Option<String>,
    iterator: Option<String>,
    /// Saved position: everything up to here is done.
    done: Option<String>,
    saved: Option<Checkpoint>,
    /// Last sequence number read from the shard.
    last_read: Option<String>,
    buffer: Vec<Pending>,
    buffered_since: Option<Instant>,
    /// The shard is closed and fully read.
    closed: bool,
}

enum Step {
    /// Records were read: poll again now.
    More,
    /// Records are buffered for the batching window.
    Waiting,
    /// Nothing to do.
    Idle,
    Stopped,
}

enum Flow {
    Done,
    Stopped,
}

/// One stream source's poller: a platform [`Worker`].
pub struct StreamConsumer {
    source: StreamSource,
    function: Function,
    handler: StreamFn,
    filters: Vec<EventPattern>,
    table: String,
    ddb: aws_sdk_dynamodb::Client,
    streams: aws_sdk_dynamodbstreams::Client,
    checkpoint_file: PathBuf,
    dlq: DeadLetters,
    timing: Timing,
    activity: Arc<Activity>,
}

/// What a [`StreamConsumer`] is built from.
pub struct ConsumerConfig {
    pub source: StreamSource,
    pub filters: Vec<EventPattern>,
    pub function: Function,
    pub table: String,
    pub sdk: aws_config::SdkConfig,
    pub checkpoint_dir: PathBuf,
    pub dlq: DeadLetters,
    pub timing: Timing,
}

impl StreamConsumer {
    pub fn new(c: ConsumerConfig) -> Result<Self, String> {
        let Handler::Stream(handler) = &c.function.handler else {
            return Err(format!(
                "the stream source of {} needs a DynamoDB stream handler, not {}",
                c.function.def.logical_id,
                c.function.handler.kind()
            ));
        };
        Ok(Self {
            handler: handler.clone(),
            checkpoint_file: c
                .checkpoint_dir
                .join(format!("{}.seq", c.function.def.logical_id)),
            ddb: aws_sdk_dynamodb::Client::new(&c.sdk),
            streams: aws_sdk_dynamodbstreams::Client::new(&c.sdk),
            source: c.source,
            filters: c.filters,
            function: c.function,
            table: c.table,
            dlq: c.dlq,
            timing: c.timing,
            activity: Arc::new(Activity::polling()),
        })
    }

    fn load_checkpoint(&self) -> Option<Checkpoint> {
        let text = std::fs::read_to_string(&self.checkpoint_file).ok()?;
        match serde_json::from_str(&text) {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::warn!(file = %self.checkpoint_file.display(), "ignoring unreadable stream checkpoint: {e}");
                None
            }
        }
    }

    fn save(&self, c: &mut Cursor) {
        let (Some(stream_arn), Some(shard_id)) = (&c.stream_arn, &c.shard_id) else {
            return;
        };
        let cp = Checkpoint {
            stream_arn: stream_arn.clone(),
            shard_id: shard_id.clone(),
            sequence_number: c.done.clone(),
        };
        if c.saved.as_ref() == Some(&cp) {
            return;
        }
        let written = serde_json::to_vec_pretty(&cp)
            .map_err(|e| e.to_string())
            .and_then(|b| {
                crate::state::write_atomic(&self.checkpoint_file, &b).map_err(|e| e.to_string())
            });
        match written {
            Ok(()) => c.saved = Some(cp),
            Err(e) => {
                tracing::warn!(file = %self.checkpoint_file.display(), "saving the stream checkpoint: {e}")
            }
        }
    }

    fn wanted(&self, record: &Value) -> bool {
        self.filters.is_empty() || self.filters.iter().any(|p| p.matches(record))
    }

    async fn step(&self, c: &mut Cursor, shutdown: &mut Shutdown) -> Result<Step, String> {
        if c.stream_arn.is_none() {
            let table = self
                .ddb
                .describe_table()
                .table_name(&self.table)
                .send()
                .await
                .map_err(|e| format!("DescribeTable {}: {}", self.table, e.into_service_error()))?;
            let arn = table
                .table()
                .and_then(|t| t.latest_stream_arn())
                .ok_or_else(|| format!("table {} has no stream (StreamSpecification)", self.table))?
                .to_owned();
            *c = Cursor {
                stream_arn: Some(arn.clone()),
                ..Cursor::default()
            };
            match self.load_checkpoint() {
                Some(cp) if cp.stream_arn == arn => {
                    c.shard_id = Some(cp.shard_id.clone());
                    c.done = cp.sequence_number.clone();
                    c.saved = Some(cp);
                }
                Some(_) => {
                    tracing::info!(function = %self.function.def.logical_id, "the table has a new stream; starting at TRIM_HORIZON")
                }
                None => {}
            }
        }
        let Some(arn) = c.stream_arn.clone() else {
            return Ok(Step::Idle);
        };

        if c.iterator.is_none() {
            let shards = self
                .streams
                .describe_stream()
                .stream_arn(&arn)
                .send()
                .await
                .map_err(|e| format!("DescribeStream: {}", e.into_service_error()))?
                .stream_description
                .map(|d| d.shards.unwrap_or_default())
                .unwrap_or_default();
            let known = |id: &str| shards.iter().any(|s| s.shard_id() == Some(id));
            let shard = match &c.shard_id {
                Some(id) if known(id) => id.clone(),
                _ => {
                    // The oldest shard whose parent is gone.
                    let Some(root) = shards
                        .iter()
                        .find(|s| s.parent_shard_id().is_none_or(|p| !known(p)))
                        .and_then(|s| s.shard_id())
                    else {
                        return Ok(Step::Idle);
                    };
                    c.done = None;
                    root.to_owned()
                }
            };
            let mut req = self
                .streams
                .get_shard_iterator()
                .stream_arn(&arn)
                .shard_id(&shard);
            req = match &c.done {
                Some(seq) => req
                    .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                    .sequence_number(seq),
                None => req.shard_iterator_type(ShardIteratorType::TrimHorizon),
            };
            let it = req
                .send()
                .await
                .map_err(|e| format!("GetShardIterator: {}", e.into_service_error()))?;
            c.iterator = it.shard_iterator;
            c.shard_id = Some(shard);
            c.buffer.clear();
            c.buffered_since = None;
            c.last_read = c.done.clone();
            c.closed = false;
            self.save(c);
        }
        let Some(iterator) = c.iterator.clone() else {
            return Ok(Step::Idle);
        };

        let out = match self
            .streams
            .get_records()
            .shard_iterator(iterator)
            .limit(MAX_RECORDS_PER_CALL)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) => {
                let e = e.into_service_error();
                if e.is_expired_iterator_exception() {
                    tracing::debug!(function = %self.function.def.logical_id, "shard iterator expired; re-acquiring from the checkpoint");
                    c.iterator = None;
                    return Ok(Step::More);
                }
                if e.is_trimmed_data_access_exception() {
                    tracing::warn!(function = %self.function.def.logical_id, "checkpoint is past the stream's retention; continuing at TRIM_HORIZON");
                    c.done = None;
                    c.iterator = None;
                    return Ok(Step::More);
                }
                if e.is_resource_not_found_exception() {
                    c.stream_arn = None;
                    c.iterator = None;
                }
                return Err(format!("GetRecords: {e}"));
            }
        };
        c.iterator = out.next_shard_iterator;
        c.closed = c.iterator.is_none();
        let records = out.records.unwrap_or_default();
        self.activity.took(records.len() as u64);
        for r in &records {
            let value = lambda_record(r, &arn);
            let Some(seq) = value["dynamodb"]["SequenceNumber"]
                .as_str()
                .map(str::to_owned)
            else {
                continue;
            };
            if self.wanted(&value) {
                if c.buffer.is_empty() {
                    c.buffered_since = Some(Instant::now());
                }
                c.buffer.push(Pending {
                    seq: seq.clone(),
                    record: value,
                });
            } else if c.buffer.is_empty() {
                c.done = Some(seq.clone());
            }
            c.last_read = Some(seq);
        }

        let batch_size = self.source.batch_size.max(1) as usize;
        let window = Duration::from_secs(self.source.batching_window_secs);
        let window_over = c.buffered_since.is_some_and(|t| t.elapsed() >= window);
        if !c.buffer.is_empty() && (c.buffer.len() >= batch_size || window_over || c.closed) {
            while !c.buffer.is_empty() {
                let n = batch_size.min(c.buffer.len());
                let batch: Vec<Pending> = c.buffer.drain(..n).collect();
                match self.process(&batch, c, shutdown).await {
                    Flow::Done => {
                        c.done = batch.last().map(|p| p.seq.clone());
                        self.save(c);
                    }
                    Flow::Stopped => return Ok(Step::Stopped),
                }
            }
            c.buffered_since = None;
        }
        if c.buffer.is_empty() && c.last_read.is_some() && c.done != c.last_read {
            c.done = c.last_read.clone();
        }
        self.save(c);

        if c.closed && c.buffer.is_empty() {
            return self.next_shard(c, &arn).await;
        }
        Ok(if !records.is_empty() {
            Step::More
        } else if !c.buffer.is_empty() {
            Step::Waiting
        } else {
            Step::Idle
        })
    }

    /// The shard is closed and drained: continue with its child, if any yet.
    async fn next_shard(&self, c: &mut Cursor, arn: &str) -> Result<Step, String> {
        let shards = self
            .streams
            .describe_stream()
            .stream_arn(arn)
            .send()
            .await
            .map_err(|e| format!("DescribeStream: {}", e.into_service_error()))?
            .stream_description
            .and_then(|d| d.shards)
            .unwrap_or_default();
        let child = shards
            .iter()
            .find(|s| s.parent_shard_id().is_some() && s.parent_shard_id() == c.shard_id.as_deref())
            .and_then(|s| s.shard_id());
        match child {
            Some(child) => {
                tracing::info!(function = %self.function.def.logical_id, shard = child, "shard closed; continuing with its child");
                c.shard_id = Some(child.to_owned());
                c.done = None;
                c.iterator = None;
                self.save(c);
                Ok(Step::More)
            }
            None => {
                // Re-read the closed shard from the checkpoint until a child appears.
                c.iterator = None;
                Ok(Step::Idle)
            }
        }
    }

    async fn invoke(
        &self,
        batch: &[Pending],
    ) -> Result<Result<DynamoDbEventResponse, Diagnostic>, InvokeError> {
        let records: Vec<Value> = batch.iter().map(|p| p.record.clone()).collect();
        let event: dynamodb::Event = match serde_json::from_value(json!({ "Records": records })) {
            Ok(e) => e,
            Err(e) => {
                return Ok(Err(Diagnostic {
                    error_type: "Runtime.UnmarshalError".into(),
                    error_message: e.to_string(),
                }));
            }
        };
        let f = &self.function;
        invoke(
            (self.handler)(LambdaEvent::new(
                event,
                f.context(&crate::uuid4(), f.timeout()),
            )),
            f.timeout(),
        )
        .await
    }

    /// Invoke one batch until it succeeds, or its retries are exhausted
    /// (dead-lettered); advances `c.done` on partial success.
    async fn process(&self, batch: &[Pending], c: &mut Cursor, shutdown: &mut Shutdown) -> Flow {
        let id = &self.function.def.logical_id;
        let mut start = 0;
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let slice = &batch[start..];
            let sequences: Vec<String> = slice.iter().map(|p| p.seq.clone()).collect();
            tracing::debug!(function = %id, records = slice.len(), attempt, "stream batch");
            let outcome = self.invoke(slice).await;
            let reason =
                match classify(&outcome, &sequences, self.source.report_batch_item_failures) {
                    Verdict::Success => return Flow::Done,
                    Verdict::RetryFrom(i) => {
                        if i > 0 {
                            start += i;
                            c.done = Some(batch[start - 1].seq.clone());
                            self.save(c);
                        }
                        format!("batch item failure at sequence number {}", batch[start].seq)
                    }
                    Verdict::RetryAll(reason) => reason,
                };
            let max = self.source.maximum_retry_attempts;
            if max >= 0 && i64::from(attempt) > max {
                self.dead_letter(&batch[start..], c, attempt, &reason).await;
                return Flow::Done;
            }
            let wait = self.timing.backoff(attempt);
            tracing::warn!(function = %id, attempt, "stream batch failed ({reason}); retrying in {wait:?}");
            if shutdown.sleep(wait).await {
                return Flow::Stopped;
            }
        }
    }

    async fn dead_letter(&self, batch: &[Pending], c: &Cursor, attempts: u32, reason: &str) {
        let arrival = |p: Option<&Pending>| {
            p.and_then(|p| p.record["dynamodb"]["ApproximateCreationDateTime"].as_i64())
                .and_then(|s| jiff::Timestamp::from_second(s).ok())
                .map(|t| t.to_string())
        };
        let stream_arn = c.stream_arn.as_deref().map(normalize_arn);
        let letter = json!({
            "requestContext": {
                "requestId": crate::uuid4(),
                "functionArn": crate::function_arn(&self.function.def.logical_id),
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": attempts,
            },
            "responseContext": { "statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled" },
            "version": "1.0",
            "timestamp": jiff::Timestamp::now().to_string(),
            "DDBStreamBatchInfo": {
                "shardId": c.shard_id,
                "startSequenceNumber": batch.first().map(|p| p.seq.clone()),
                "endSequenceNumber": batch.last().map(|p| p.seq.clone()),
                "approximateArrivalOfFirstRecord": arrival(batch.first()),
                "approximateArrivalOfLastRecord": arrival(batch.last()),
                "batchSize": batch.len(),
                "streamArn": stream_arn,
            },
            // Local only: AWS sends metadata, not the records.
            "error": reason,
            "records": batch.iter().map(|p| p.record.clone()).collect::<Vec<_>>(),
        });
        match self
            .dlq
            .write("stream", &self.function.def.logical_id, &letter)
            .await
        {
            Ok(path) => {
                tracing::error!(function = %self.function.def.logical_id, records = batch.len(), "stream batch dead-lettered after {attempts} attempts ({reason}): {}", path.display())
            }
            Err(e) => {
                tracing::error!(function = %self.function.def.logical_id, records = batch.len(), "stream batch dropped after {attempts} attempts ({reason}); writing the dead letter failed: {e}")
            }
        }
    }

    async fn run_loop(self: Arc<Self>, mut shutdown: Shutdown) {
        let mut c = Cursor::default();
        let mut errors: u32 = 0;
        // Log the 1st, 2nd, 4th, 8th… consecutive error, not every poll.
        let mut next_report: u32 = 1;
        loop {
            if shutdown.is_triggered() {
                break;
            }
            let tick = self.activity.tick();
            let wait = match self.step(&mut c, &mut shutdown).await {
                Ok(Step::More) => {
                    (errors, next_report) = (0, 1);
                    continue;
                }
                Ok(Step::Idle) => {
                    (errors, next_report) = (0, 1);
                    self.activity.idle_at(tick);
                    self.timing.stream_poll_interval
                }
                Ok(Step::Waiting) => self.timing.stream_poll_interval,
                Ok(Step::Stopped) => break,
                Err(e) => {
                    errors += 1;
                    if errors >= next_report {
                        next_report = errors.saturating_mul(2);
                        tracing::warn!(function = %self.function.def.logical_id, consecutive = errors, "stream poller: {e}");
                    }
                    self.timing
                        .backoff(errors)
                        .max(self.timing.stream_poll_interval)
                }
            };
            if shutdown.sleep(wait).await {
                break;
            }
        }
    }
}

impl Worker for StreamConsumer {
    fn name(&self) -> String {
        format!("stream consumer {}", self.function.def.logical_id)
    }

    fn activity(&self) -> Arc<Activity> {
        self.activity.clone()
    }

    fn run(self: Arc<Self>, shutdown: Shutdown) -> BoxFuture<()> {
        Box::pin(self.run_loop(shutdown))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lambda_events::streams::DynamoDbBatchItemFailure;
    use aws_sdk_dynamodbstreams::types::{OperationType, StreamRecord, StreamViewType};

    fn response(
        ids: &[Option<&str>],
    ) -> Result<Result<DynamoDbEventResponse, Diagnostic>, InvokeError> {
        let mut r = DynamoDbEventResponse::default();
        r.batch_item_failures = ids
            .iter()
            .map(|id| {
                let mut f = DynamoDbBatchItemFailure::default();
                f.item_identifier = id.map(str::to_owned);
                f
            })
            .collect();
        Ok(Ok(r))
    }

    fn seqs() -> Vec<String> {
        vec!["101".into(), "102".into(), "103".into()]
    }

    #[test]
    fn checkpointing_follows_report_batch_item_failures() {
        assert_eq!(classify(&response(&[]), &seqs(), true), Verdict::Success);
        assert_eq!(
            classify(&response(&[Some("103"), Some("102")]), &seqs(), true),
            Verdict::RetryFrom(1),
            "lowest failure wins"
        );
        assert_eq!(
            classify(&response(&[Some("101")]), &seqs(), true),
            Verdict::RetryFrom(0)
        );
        assert!(
            matches!(
                classify(&response(&[None]), &seqs(), true),
                Verdict::RetryAll(_)
            ),
            "null identifier = whole batch"
        );
        assert!(
            matches!(
                classify(&response(&[Some("")]), &seqs(), true),
                Verdict::RetryAll(_)
            ),
            "empty identifier = whole batch"
        );
        assert!(
            matches!(
                classify(&response(&[Some("999")]), &seqs(), true),
                Verdict::RetryAll(_)
            ),
            "unknown identifier = whole batch"
        );
        assert_eq!(
            classify(&response(&[Some("102")]), &seqs(), false),
            Verdict::Success,
            "ignored without ReportBatchItemFailures"
        );
        let err = Ok(Err(Diagnostic {
            error_type: "E".into(),
            error_message: "m".into(),
        }));
        assert!(matches!(
            classify(&err, &seqs(), true),
            Verdict::RetryAll(_)
        ));
        assert!(matches!(
            classify(
                &Err(InvokeError::Timeout(Duration::from_secs(1))),
                &seqs(),
                true
            ),
            Verdict::RetryAll(_)
        ));
    }

    #[test]
    fn records_have_the_lambda_shape_and_parse() {
        let s = |v: &str| AttributeValue::S(v.into());
        let image = std::collections::HashMap::from([
            ("PK".to_string(), s("T#org_1")),
            ("_kind".to_string(), s("OUTBOX")),
            ("n".to_string(), AttributeValue::N("42".into())),
            (
                "b".to_string(),
                AttributeValue::B(aws_sdk_dynamodbstreams::primitives::Blob::new(vec![1, 2])),
            ),
            (
                "l".to_string(),
                AttributeValue::L(vec![AttributeValue::Bool(true), AttributeValue::Null(true)]),
            ),
            (
                "m".to_string(),
                AttributeValue::M(std::collections::HashMap::from([(
                    "x".to_string(),
                    AttributeValue::Ss(vec!["a".into()]),
                )])),
            ),
        ]);
        let r = Record::builder()
            .event_id("e-1")
            .event_name(OperationType::Insert)
            .event_version("1.1")
            .event_source("aws:dynamodb")
            .aws_region("ddblocal")
            .dynamodb(
                StreamRecord::builder()
                    .approximate_creation_date_time(
                        aws_sdk_dynamodbstreams::primitives::DateTime::from_secs(1_795_860_000),
                    )
                    .keys("PK", s("T#org_1"))
                    .set_new_image(Some(image))
                    .sequence_number("000000000000000000001")
                    .size_bytes(54)
                    .stream_view_type(StreamViewType::NewAndOldImages)
                    .build(),
            )
            .build();
        let v = lambda_record(
            &r,
            "arn:aws:dynamodb:ddblocal:000000000000:table/T/stream/2026-11-28T10:00:00.000",
        );
        assert_eq!(
            v["eventSourceARN"],
            "arn:aws:dynamodb:us-east-1:000000000000:table/T/stream/2026-11-28T10:00:00.000"
        );
        assert_eq!(v["awsRegion"], "us-east-1");
        assert_eq!(v["eventName"], "INSERT");
        assert_eq!(v["dynamodb"]["ApproximateCreationDateTime"], 1_795_860_000);
        assert_eq!(v["dynamodb"]["NewImage"]["n"], json!({"N": "42"}));
        assert_eq!(v["dynamodb"]["NewImage"]["b"], json!({"B": "AQI="}));
        assert_eq!(
            v["dynamodb"]["NewImage"]["l"],
            json!({"L": [{"BOOL": true}, {"NULL": true}]})
        );
        assert_eq!(
            v["dynamodb"]["NewImage"]["m"],
            json!({"M": {"x": {"SS": ["a"]}}})
        );
        assert!(
            v["dynamodb"].get("OldImage").is_none(),
            "INSERT has no OldImage"
        );
        assert_eq!(v["dynamodb"]["StreamViewType"], "NEW_AND_OLD_IMAGES");

        let filter = EventPattern::parse(
            &json!({"eventName":["INSERT"],"dynamodb":{"NewImage":{"_kind":{"S":["OUTBOX"]}}}}),
        )
        .unwrap();
        assert!(filter.matches(&v));

        let event: dynamodb::Event = serde_json::from_value(json!({ "Records": [v] })).unwrap();
        let rec = &event.records[0];
        assert_eq!(rec.event_name, "INSERT");
        assert_eq!(
            rec.change.sequence_number.as_deref(),
            Some("000000000000000000001")
        );
        assert_eq!(
            rec.change.approximate_creation_date_time.timestamp(),
            1_795_860_000
        );
        assert!(rec.change.new_image.get("_kind").is_some());
    }
}
