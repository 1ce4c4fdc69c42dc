//! The scheduler port: one-time schedules ("call this target at this
//! wall-clock time in this time zone"). EventBridge Scheduler in AWS
//! ([`EventBridgeScheduler`]); the local platform's runner locally
//! (`nexus_local::scheduler`). Semantics: `workflows-and-events.md` §3.
//!
//! - `at` is a *wall-clock* time read in `time_zone` (`at(yyyy-mm-ddThh:mm:ss)`
//!   with `ScheduleExpressionTimezone`), to the second (sub-seconds are
//!   dropped). Delivery precision on AWS is one minute.
//! - Daylight saving time ([`OneTimeSchedule::fire_time`]): a local time that
//!   does not exist (spring forward) is **skipped**, i.e. a one-time schedule
//!   at such a time never fires; a repeated local time (fall back) fires
//!   **once**, at its first occurrence.
//! - Delivery is at least once: targets dedupe on the execution id
//!   (`<aws.scheduler.execution-id>` in the input).
//! - Schedules are created with `ActionAfterCompletion: DELETE` and
//!   `FlexibleTimeWindow: OFF`. A schedule deletes itself after its last
//!   attempt, so failures must leave evidence elsewhere: the target's
//!   `DeadLetterConfig` ([`ScheduleTarget::dead_letter_arn`], where Scheduler
//!   puts an invocation it could not deliver after its retry policy) and,
//!   for Lambda targets (invoked asynchronously), the function's on-failure
//!   destination (`EventInvokeConfig` in template.yaml).
//! - Many schedules at once ([`schedule_all`], [`cancel_all`]) run at most
//!   [`MAX_IN_FLIGHT`] calls concurrently (see its docs for the quota budget).
//! - Both operations are idempotent: creating a name that exists is `Ok`
//!   (a retry of the same request; the existing schedule is kept, *not*
//!   updated), cancelling a missing schedule is `Ok`.
//!
//! Use from a business function:
//!
//! ```no_run
//! # async fn demo(platform: &nexus_ports::Platform) -> Result<(), nexus_core::Error> {
//! use nexus_ports::scheduler::OneTimeSchedule;
//! let target = platform.config.reminders_target().map_err(nexus_core::Error::internal)?;
//! platform.scheduler.schedule_once(&OneTimeSchedule {
//!     name: "reminder-camp_01J-deadline".into(),
//!     at: "2026-12-01T09:00:00".parse().unwrap(),
//!     time_zone: "Europe/Paris".into(),
//!     target,
//!     input: serde_json::json!({"kind": "deadline", "data": {"campaignId": "camp_01J"},
//!                               "executionId": "<aws.scheduler.execution-id>"}),
//! }).await?;
//! platform.scheduler.cancel("reminder-camp_01J-deadline").await?;
//! # Ok(()) }
//! ```

use std::sync::Arc;

use async_trait::async_trait;
#[cfg(feature = "scheduler")]
use aws_sdk_scheduler::types::{
    ActionAfterCompletion, DeadLetterConfig, FlexibleTimeWindow, FlexibleTimeWindowMode,
    RetryPolicy as SdkRetry, Target,
};
use jiff::civil::DateTime;
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::Timestamp;
use nexus_core::{Error, FieldError};
use serde::{Deserialize, Serialize};

/// The context attributes Scheduler substitutes in a target's `Input`.
pub const SCHEDULE_ARN: &str = "<aws.scheduler.schedule-arn>";
pub const SCHEDULED_TIME: &str = "<aws.scheduler.scheduled-time>";
pub const EXECUTION_ID: &str = "<aws.scheduler.execution-id>";
pub const ATTEMPT_NUMBER: &str = "<aws.scheduler.attempt-number>";

/// A schedule that fires once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OneTimeSchedule {
    /// Unique in the group: 1–64 of `[0-9a-zA-Z-_.]`. Derive it from the
    /// business key (`reminder-<campaign>-<kind>`) so a retry reuses it and
    /// [`Scheduler::cancel`] can find it.
    pub name: String,
    /// Wall-clock time in `time_zone`.
    pub at: DateTime,
    /// IANA zone, e.g. `Europe/Paris`.
    pub time_zone: String,
    pub target: ScheduleTarget,
    /// Sent as the target's `Input` (JSON), after context-attribute
    /// substitution ([`SCHEDULE_ARN`], [`SCHEDULED_TIME`], [`EXECUTION_ID`],
    /// [`ATTEMPT_NUMBER`] inside string values).
    pub input: serde_json::Value,
}

/// What a schedule invokes (a Lambda function ARN) and as whom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleTarget {
    pub arn: String,
    /// The role Scheduler assumes to invoke `arn` (`SCHEDULER_ROLE_ARN`).
    pub role_arn: String,
    /// Retries of a failed invocation (defaults to AWS's 185 / 24 h).
    #[serde(default)]
    pub retry: RetryPolicy,
    /// SQS queue ARN of the schedule's `DeadLetterConfig`: where Scheduler
    /// writes an invocation it could not deliver after `retry`
    /// (`SCHEDULE_DLQ_ARN`). Without one such an invocation is dropped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dead_letter_arn: Option<String>,
}

/// `Target.RetryPolicy`: exponential backoff until either limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetryPolicy {
    /// 0–185.
    pub maximum_retry_attempts: u32,
    /// 60–86,400.
    pub maximum_event_age_secs: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            maximum_retry_attempts: 185,
            maximum_event_age_secs: 86_400,
        }
    }
}

/// When a one-time schedule fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FireTime {
    At(Timestamp),
    /// `at` falls in a spring-forward gap: the schedule never fires.
    Skipped,
}

#[async_trait]
pub trait Scheduler: Send + Sync {
    /// Create the schedule; `Ok` if one with this name already exists.
    async fn schedule_once(&self, s: &OneTimeSchedule) -> Result<(), Error>;
    /// Delete the schedule; `Ok` if there is none (already fired or cancelled).
    async fn cancel(&self, name: &str) -> Result<(), Error>;
}

/// `^[0-9a-zA-Z-_.]{1,64}$`, as a field error on `pointer`.
pub fn validate_name(name: &str, pointer: &str) -> Result<(), FieldError> {
    if name.is_empty() || name.len() > 64 {
        return Err(FieldError::new(
            pointer,
            if name.is_empty() {
                "required"
            } else {
                "too_long"
            },
            "a schedule name has 1 to 64 characters",
        ));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Err(FieldError::new(
            pointer,
            "invalid_format",
            "a schedule name uses only letters, digits, '-', '_' and '.'",
        ));
    }
    Ok(())
}

impl OneTimeSchedule {
    /// Check the name, the time zone and the target.
    pub fn validate(&self) -> Result<(), Error> {
        let mut errors = vec![];
        if let Err(e) = validate_name(&self.name, "/name") {
            errors.push(e);
        }
        if self.time_zone.is_empty() || self.time_zone.len() > 50 {
            errors.push(FieldError::new(
                "/timeZone",
                "invalid_format",
                "an IANA time zone name has 1 to 50 characters",
            ));
        } else if TimeZone::get(&self.time_zone).is_err() {
            errors.push(FieldError::new(
                "/timeZone",
                "unknown_value",
                format!("{} is not an IANA time zone", self.time_zone),
            ));
        }
        if self.target.arn.is_empty() || self.target.arn.len() > 1600 {
            errors.push(FieldError::new(
                "/target/arn",
                "invalid_format",
                "a target ARN has 1 to 1600 characters",
            ));
        }
        if self.target.role_arn.is_empty() {
            errors.push(FieldError::new(
                "/target/roleArn",
                "required",
                "the role Scheduler assumes is required",
            ));
        }
        if let Some(dlq) = &self.target.dead_letter_arn {
            let parts: Vec<&str> = dlq.split(':').collect();
            if parts.len() != 6 || parts[0] != "arn" || parts[2] != "sqs" || parts[5].is_empty() {
                errors.push(FieldError::new(
                    "/target/deadLetterArn",
                    "invalid_format",
                    "an SQS queue ARN (arn:<partition>:sqs:<region>:<account>:<queue>)",
                ));
            }
        }
        let r = self.target.retry;
        if r.maximum_retry_attempts > 185 {
            errors.push(FieldError::new(
                "/target/retry/maximumRetryAttempts",
                "out_of_range",
                "0 to 185",
            ));
        }
        if !(60..=86_400).contains(&r.maximum_event_age_secs) {
            errors.push(FieldError::new(
                "/target/retry/maximumEventAgeSecs",
                "out_of_range",
                "60 to 86400 seconds",
            ));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Error::Validation(errors))
        }
    }

    /// `at(yyyy-mm-ddThh:mm:ss)` (sub-seconds dropped).
    pub fn expression(&self) -> String {
        format!("at({})", self.at.strftime("%Y-%m-%dT%H:%M:%S"))
    }

    /// The instant this schedule fires (see the module docs for DST).
    pub fn fire_time(&self) -> Result<FireTime, Error> {
        let tz = TimeZone::get(&self.time_zone).map_err(|e| {
            Error::field(
                "/timeZone",
                "unknown_value",
                format!("{}: {e}", self.time_zone),
            )
        })?;
        fire_time(&tz, self.at)
    }
}

/// `at` (to the second) read in `tz`: a gap is skipped, a fold fires at its
/// first occurrence.
pub fn fire_time(tz: &TimeZone, at: DateTime) -> Result<FireTime, Error> {
    let at = at
        .with()
        .subsec_nanosecond(0)
        .build()
        .map_err(Error::internal)?;
    let ambiguous = tz.to_ambiguous_timestamp(at);
    match ambiguous.offset() {
        AmbiguousOffset::Gap { .. } => Ok(FireTime::Skipped),
        AmbiguousOffset::Unambiguous { .. } | AmbiguousOffset::Fold { .. } => ambiguous
            .earlier()
            .map(FireTime::At)
            .map_err(|e| Error::field("/at", "out_of_range", e.to_string())),
    }
}

/// Replace the context attributes in every string of `input`.
pub fn substitute(input: &serde_json::Value, ctx: &[(&str, &str)]) -> serde_json::Value {
    use serde_json::Value;
    match input {
        Value::String(s) => {
            let mut out = s.clone();
            for (k, v) in ctx {
                if out.contains(k) {
                    out = out.replace(k, v);
                }
            }
            Value::String(out)
        }
        Value::Array(xs) => Value::Array(xs.iter().map(|x| substitute(x, ctx)).collect()),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), substitute(v, ctx)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Scheduler calls one [`schedule_all`] / [`cancel_all`] runs at once.
///
/// The budget, against EventBridge Scheduler's published quotas (per account
/// and Region, adjustable): `CreateSchedule` and `DeleteSchedule` allow 1,000
/// requests per second in the large Regions and 250 elsewhere (some pages now
/// say 5,000 for the large ones; plan for 250). At ~50–100 ms per call, 10
/// calls in flight make at most ~100–200 requests per second from one
/// invocation, so about two invocations doing this at once fit the smallest
/// quota, and a burst beyond it is throttled (`ThrottlingException`), retried
/// by the SDK, and finally surfaces as a retryable error: the event is
/// retried and, schedule names being derived from the business key, the
/// calls that already succeeded are no-ops the second time. 100 calls at 10
/// in flight take ~1 s; the caller's timeout must also cover SDK backoff.
pub const MAX_IN_FLIGHT: usize = 10;

/// Run `call` on every item, at most `max_in_flight` at once. Stops starting
/// new calls after the first error, waits for the ones in flight, and
/// returns that error (items are idempotent, so the caller simply retries).
async fn bounded<T, F, Fut>(items: Vec<T>, max_in_flight: usize, call: F) -> Result<(), Error>
where
    T: Send + 'static,
    F: Fn(T) -> Fut,
    Fut: std::future::Future<Output = Result<(), Error>> + Send + 'static,
{
    let mut running = tokio::task::JoinSet::new();
    let mut first_error = None;
    let mut items = items.into_iter();
    loop {
        while first_error.is_none() && running.len() < max_in_flight.max(1) {
            match items.next() {
                Some(item) => {
                    running.spawn(call(item));
                }
                None => break,
            }
        }
        let Some(done) = running.join_next().await else {
            break;
        };
        let result = done.unwrap_or_else(|e| Err(Error::internal(e)));
        if let Err(e) = result {
            first_error.get_or_insert(e);
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// Create every schedule, [`MAX_IN_FLIGHT`] at a time (each is idempotent by name).
pub async fn schedule_all(
    scheduler: &Arc<dyn Scheduler>,
    schedules: Vec<OneTimeSchedule>,
) -> Result<(), Error> {
    let scheduler = scheduler.clone();
    bounded(schedules, MAX_IN_FLIGHT, move |s| {
        let scheduler = scheduler.clone();
        async move { scheduler.schedule_once(&s).await }
    })
    .await
}

/// Delete every named schedule, [`MAX_IN_FLIGHT`] at a time (missing ones are fine).
pub async fn cancel_all(scheduler: &Arc<dyn Scheduler>, names: Vec<String>) -> Result<(), Error> {
    let scheduler = scheduler.clone();
    bounded(names, MAX_IN_FLIGHT, move |name| {
        let scheduler = scheduler.clone();
        async move { scheduler.cancel(&name).await }
    })
    .await
}

/// EventBridge Scheduler (`CreateSchedule` / `DeleteSchedule`) in one group
/// (feature `scheduler`).
#[cfg(feature = "scheduler")]
pub struct EventBridgeScheduler {
    client: aws_sdk_scheduler::Client,
    group: String,
}

#[cfg(feature = "scheduler")]
impl EventBridgeScheduler {
    /// `group`: the schedule group (`SCHEDULE_GROUP`; AWS's is `default`).
    pub fn new(client: aws_sdk_scheduler::Client, group: String) -> Self {
        Self { client, group }
    }
}

#[cfg(feature = "scheduler")]
fn sdk_error<E>(op: &str, e: &aws_sdk_scheduler::error::SdkError<E>) -> Error
where
    E: aws_sdk_scheduler::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    use aws_sdk_scheduler::error::ProvideErrorMetadata;
    let code = e.code().unwrap_or_default();
    let message = e.message().unwrap_or_default();
    match code {
        "ThrottlingException" | "InternalServerException" | "ServiceQuotaExceededException" => {
            Error::Unavailable {
                detail: format!("{op}: {code}: {message}"),
                retry_after_secs: 1,
            }
        }
        "ValidationException" => Error::Internal(format!("{op} rejected: {message}")),
        _ => Error::Internal(format!(
            "{op}: {}",
            if code.is_empty() {
                aws_sdk_scheduler::error::DisplayErrorContext(e).to_string()
            } else {
                format!("{code}: {message}")
            }
        )),
    }
}

#[cfg(feature = "scheduler")]
#[async_trait]
impl Scheduler for EventBridgeScheduler {
    async fn schedule_once(&self, s: &OneTimeSchedule) -> Result<(), Error> {
        s.validate()?;
        if s.fire_time()? == FireTime::Skipped {
            tracing::warn!(schedule = %s.name, at = %s.at, tz = %s.time_zone,
                "the schedule's local time does not exist (DST gap): it will never fire");
        }
        let retry = SdkRetry::builder()
            .maximum_retry_attempts(s.target.retry.maximum_retry_attempts as i32)
            .maximum_event_age_in_seconds(s.target.retry.maximum_event_age_secs as i32)
            .build();
        let target = Target::builder()
            .arn(&s.target.arn)
            .role_arn(&s.target.role_arn)
            .input(s.input.to_string())
            .retry_policy(retry)
            .set_dead_letter_config(
                s.target
                    .dead_letter_arn
                    .as_ref()
                    .map(|arn| DeadLetterConfig::builder().arn(arn).build()),
            )
            .build()
            .map_err(Error::internal)?;
        let window = FlexibleTimeWindow::builder()
            .mode(FlexibleTimeWindowMode::Off)
            .build()
            .map_err(Error::internal)?;
        let sent = self
            .client
            .create_schedule()
            .name(&s.name)
            .group_name(&self.group)
            .schedule_expression(s.expression())
            .schedule_expression_timezone(&s.time_zone)
            .flexible_time_window(window)
            .action_after_completion(ActionAfterCompletion::Delete)
            .target(target)
            .send()
            .await;
        match sent {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conflict_exception()) =>
            {
                tracing::debug!(schedule = %s.name, "schedule exists; kept");
                Ok(())
            }
            Err(e) => Err(sdk_error("CreateSchedule", &e)),
        }
    }

    async fn cancel(&self, name: &str) -> Result<(), Error> {
        validate_name(name, "/name").map_err(|e| Error::Validation(vec![e]))?;
        let sent = self
            .client
            .delete_schedule()
            .name(name)
            .group_name(&self.group)
            .send()
            .await;
        match sent {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_resource_not_found_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(sdk_error("DeleteSchedule", &e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use wiremock::matchers::{body_partial_json, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    fn schedule(name: &str) -> OneTimeSchedule {
        OneTimeSchedule {
            name: name.into(),
            at: "2026-12-01T09:30:00".parse().unwrap(),
            time_zone: "Europe/Paris".into(),
            target: ScheduleTarget {
                arn: "arn:aws:lambda:eu-west-1:123456789012:function:nexus-Reminders".into(),
                role_arn: "arn:aws:iam::123456789012:role/nexus-SchedulerInvokeRole".into(),
                retry: RetryPolicy {
                    maximum_retry_attempts: 3,
                    maximum_event_age_secs: 3600,
                },
                dead_letter_arn: Some(
                    "arn:aws:sqs:eu-west-1:123456789012:nexus-RemindersDeadLetterQueue".into(),
                ),
            },
            input: json!({"kind": "deadline", "data": {"id": "x"}, "try": ATTEMPT_NUMBER}),
        }
    }

    fn client(server: &MockServer) -> EventBridgeScheduler {
        let conf = aws_sdk_scheduler::Config::builder()
            .behavior_version(aws_sdk_scheduler::config::BehaviorVersion::latest())
            .region(aws_sdk_scheduler::config::Region::new("eu-west-1"))
            .credentials_provider(aws_sdk_scheduler::config::Credentials::new(
                "a", "b", None, None, "t",
            ))
            .retry_config(aws_sdk_scheduler::config::retry::RetryConfig::disabled())
            .endpoint_url(server.uri())
            .build();
        EventBridgeScheduler::new(
            aws_sdk_scheduler::Client::from_conf(conf),
            "nexus-dev".into(),
        )
    }

    fn error(status: u16, kind: &str, message: &str) -> ResponseTemplate {
        ResponseTemplate::new(status)
            .insert_header(
                "x-amzn-errortype",
                format!("{kind}:http://internal.amazon.com/coral/com.amazon.aws.scheduler/"),
            )
            .insert_header("content-type", "application/json")
            .set_body_json(json!({"Message": message}))
    }

    #[tokio::test]
    async fn create_sends_an_at_expression_in_the_zone_with_delete_after_completion() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/schedules/reminder-1"))
            .and(body_partial_json(json!({
                "GroupName": "nexus-dev",
                "ScheduleExpression": "at(2026-12-01T09:30:00)",
                "ScheduleExpressionTimezone": "Europe/Paris",
                "FlexibleTimeWindow": {"Mode": "OFF"},
                "ActionAfterCompletion": "DELETE",
                "Target": {
                    "Arn": "arn:aws:lambda:eu-west-1:123456789012:function:nexus-Reminders",
                    "RoleArn": "arn:aws:iam::123456789012:role/nexus-SchedulerInvokeRole",
                    "RetryPolicy": {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 3600},
                    "DeadLetterConfig": {"Arn": "arn:aws:sqs:eu-west-1:123456789012:nexus-RemindersDeadLetterQueue"}
                }
            })))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "ScheduleArn": "arn:aws:scheduler:eu-west-1:123456789012:schedule/nexus-dev/reminder-1"
            })))
            .expect(1)
            .mount(&server)
            .await;
        client(&server)
            .schedule_once(&schedule("reminder-1"))
            .await
            .unwrap();
        let req = &server.received_requests().await.unwrap()[0];
        let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
        let input: serde_json::Value =
            serde_json::from_str(body["Target"]["Input"].as_str().unwrap()).unwrap();
        assert_eq!(input["kind"], "deadline");
        assert_eq!(
            input["try"], ATTEMPT_NUMBER,
            "substituted by Scheduler, not here"
        );
        assert!(body["ClientToken"].is_string());
    }

    #[tokio::test]
    async fn an_existing_schedule_is_a_retry_and_a_missing_one_is_already_cancelled() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/schedules/reminder-1"))
            .respond_with(error(
                409,
                "ConflictException",
                "Schedule reminder-1 already exists.",
            ))
            .mount(&server)
            .await;
        Mock::given(method("DELETE"))
            .and(path("/schedules/gone"))
            .respond_with(error(
                404,
                "ResourceNotFoundException",
                "Schedule gone does not exist.",
            ))
            .mount(&server)
            .await;
        Mock::given(method("DELETE"))
            .and(path("/schedules/reminder-1"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
            .mount(&server)
            .await;
        let s = client(&server);
        s.schedule_once(&schedule("reminder-1")).await.unwrap();
        s.cancel("gone").await.unwrap();
        s.cancel("reminder-1").await.unwrap();
        let reqs = server.received_requests().await.unwrap();
        let delete = reqs
            .iter()
            .find(|r| r.url.path() == "/schedules/reminder-1" && r.method.as_str() == "DELETE")
            .unwrap();
        assert!(
            delete
                .url
                .query()
                .unwrap_or_default()
                .contains("groupName=nexus-dev"),
            "{:?}",
            delete.url
        );
    }

    #[tokio::test]
    async fn throttling_is_retryable_and_validation_is_not() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/schedules/busy"))
            .respond_with(error(429, "ThrottlingException", "Rate exceeded"))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/schedules/bad"))
            .respond_with(error(400, "ValidationException", "Invalid target"))
            .mount(&server)
            .await;
        let s = client(&server);
        let e = s.schedule_once(&schedule("busy")).await.unwrap_err();
        assert!(matches!(e, Error::Unavailable { .. }), "{e:?}");
        assert_eq!(e.diagnostic_type(), "Retryable");
        let e = s.schedule_once(&schedule("bad")).await.unwrap_err();
        assert!(matches!(e, Error::Internal(_)), "{e:?}");
    }

    #[tokio::test]
    async fn invalid_names_and_zones_are_field_errors_before_any_call() {
        let server = MockServer::start().await;
        let s = client(&server);
        let mut bad = schedule("has space");
        bad.time_zone = "Mars/Olympus".into();
        let Error::Validation(errors) = s.schedule_once(&bad).await.unwrap_err() else {
            panic!("validation error expected")
        };
        let pointers: Vec<_> = errors.iter().map(|e| e.pointer.as_str()).collect();
        assert_eq!(pointers, ["/name", "/timeZone"]);
        let mut bad = schedule("ok");
        bad.target.dead_letter_arn = Some("arn:aws:sns:eu-west-1:123456789012:topic".into());
        let Error::Validation(errors) = s.schedule_once(&bad).await.unwrap_err() else {
            panic!("validation error expected")
        };
        assert_eq!(errors[0].pointer, "/target/deadLetterArn");
        assert!(s.schedule_once(&schedule(&"x".repeat(65))).await.is_err());
        assert!(s.cancel("").await.is_err());
        assert!(server.received_requests().await.unwrap().is_empty());
    }

    /// Counts concurrent calls; fails the names it is told to.
    #[derive(Default)]
    struct Gauge {
        now: std::sync::atomic::AtomicUsize,
        peak: std::sync::atomic::AtomicUsize,
        calls: std::sync::atomic::AtomicUsize,
        fail: Vec<String>,
    }

    #[async_trait]
    impl Scheduler for Gauge {
        async fn schedule_once(&self, s: &OneTimeSchedule) -> Result<(), Error> {
            self.cancel(&s.name).await
        }
        async fn cancel(&self, name: &str) -> Result<(), Error> {
            use std::sync::atomic::Ordering::SeqCst;
            self.calls.fetch_add(1, SeqCst);
            let n = self.now.fetch_add(1, SeqCst) + 1;
            self.peak.fetch_max(n, SeqCst);
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            self.now.fetch_sub(1, SeqCst);
            if self.fail.iter().any(|f| f == name) {
                return Err(Error::Unavailable {
                    detail: "ThrottlingException".into(),
                    retry_after_secs: 1,
                });
            }
            Ok(())
        }
    }

    #[tokio::test]
    async fn batches_run_at_most_max_in_flight_calls_and_stop_after_an_error() {
        use std::sync::atomic::Ordering::SeqCst;
        let gauge = Arc::new(Gauge::default());
        let dyn_gauge: Arc<dyn Scheduler> = gauge.clone();
        let schedules: Vec<_> = (0..100).map(|i| schedule(&format!("s-{i}"))).collect();
        schedule_all(&dyn_gauge, schedules).await.unwrap();
        assert_eq!(gauge.calls.load(SeqCst), 100);
        assert_eq!(gauge.peak.load(SeqCst), MAX_IN_FLIGHT);

        let gauge = Arc::new(Gauge {
            fail: vec!["c-3".into()],
            ..Gauge::default()
        });
        let dyn_gauge: Arc<dyn Scheduler> = gauge.clone();
        let names: Vec<_> = (0..100).map(|i| format!("c-{i}")).collect();
        let e = cancel_all(&dyn_gauge, names).await.unwrap_err();
        assert_eq!(e.diagnostic_type(), "Retryable");
        let calls = gauge.calls.load(SeqCst);
        assert!(
            (4..100).contains(&calls),
            "new calls stop after the failure ({calls} made)"
        );
        assert!(gauge.peak.load(SeqCst) <= MAX_IN_FLIGHT);
    }

    #[test]
    fn dst_gaps_are_skipped_and_folds_fire_at_the_first_occurrence() {
        let tz = TimeZone::get("America/New_York").unwrap();
        // 2026-03-08 02:30 does not exist in New York (02:00 → 03:00).
        assert_eq!(
            fire_time(&tz, "2026-03-08T02:30:00".parse().unwrap()).unwrap(),
            FireTime::Skipped
        );
        // 2026-11-01 01:30 happens twice (EDT, then EST): the first, 05:30Z.
        assert_eq!(
            fire_time(&tz, "2026-11-01T01:30:00".parse().unwrap()).unwrap(),
            FireTime::At("2026-11-01T05:30:00Z".parse().unwrap())
        );
        assert_eq!(
            fire_time(&tz, "2026-07-01T09:00:00.750".parse().unwrap()).unwrap(),
            FireTime::At("2026-07-01T13:00:00Z".parse().unwrap())
        );
        let s = schedule("x");
        assert_eq!(s.expression(), "at(2026-12-01T09:30:00)");
        assert_eq!(
            s.fire_time().unwrap(),
            FireTime::At("2026-12-01T08:30:00Z".parse().unwrap())
        );
    }

    #[test]
    fn context_attributes_are_substituted_in_strings_only() {
        let input = json!({"a": EXECUTION_ID, "n": [ATTEMPT_NUMBER, 3], "o": {"t": format!("at {SCHEDULED_TIME}")}, "k": true});
        let out = substitute(
            &input,
            &[
                (EXECUTION_ID, "e-1"),
                (ATTEMPT_NUMBER, "2"),
                (SCHEDULED_TIME, "2026-01-01T00:00:00Z"),
            ],
        );
        assert_eq!(
            out,
            json!({"a": "e-1", "n": ["2", 3], "o": {"t": "at 2026-01-01T00:00:00Z"}, "k": true})
        );
    }
}
