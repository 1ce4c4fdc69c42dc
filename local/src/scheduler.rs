//! EventBridge Scheduler, locally: [`LocalScheduler`] is the functions'
//! [`nexus_ports::Scheduler`] and [`SchedulerRunner`] the worker that fires
//! one-time schedules when the [`LocalClock`] reaches them
//! (`workflows-and-events.md` §3).
//!
//! - **Storage.** Pending schedules (and the last 500 outcomes) are kept in
//!   `<state dir>/scheduler/schedules.json`, rewritten on every change, so
//!   `make dev` restarts keep them. The group is `SCHEDULE_GROUP` (`nexus-<stage>`).
//! - **Timing.** Every [`Timing::scheduler_tick`], each schedule whose `at`
//!   (read in its time zone) is ≤ the local clock fires. A local time in a
//!   spring-forward gap is *skipped* (recorded as `skipped`, never invoked);
//!   a repeated fall-back time fires once, at its first occurrence.
//! - **Targets.** Functions are addressed as
//!   `arn:aws:lambda:us-east-1:000000000000:function:<LogicalId>` (see
//!   [`crate::function_arn`]), which is what the platform puts in
//!   `REMINDERS_TARGET_ARN`. Only the template functions that a role trusted
//!   by `scheduler.amazonaws.com` may `lambda:InvokeFunction` can be
//!   targeted (`Template::scheduler_targets`), and they must be registered as
//!   [`Handler::Invoke`]; anything else fails the invocation (as a missing
//!   permission would on AWS).
//! - **Invocation.** The target gets the schedule's input with the context
//!   attributes substituted (`<aws.scheduler.schedule-arn>`,
//!   `<aws.scheduler.scheduled-time>`, `<aws.scheduler.execution-id>`,
//!   `<aws.scheduler.attempt-number>`). Success deletes the schedule
//!   (`ActionAfterCompletion: DELETE`). Failures take AWS's two paths:
//!   - *Undeliverable* (the target is not one SchedulerInvokeRole may
//!     invoke): Scheduler's own retries, with a new execution id and attempt
//!     number each, up to the target's `MaximumRetryAttempts` (bounded by
//!     [`Timing::scheduler_max_retries`]) or `MaximumEventAgeInSeconds`;
//!     then a Scheduler dead-letter message (the input, with `ERROR_CODE`,
//!     `EXECUTION_ID`, `SCHEDULE_ARN`, … attributes) goes to the target's
//!     `DeadLetterConfig` queue, or the invocation is dropped.
//!   - *Failed in the function* (error, panic, timeout): Scheduler invokes
//!     Lambda asynchronously, so it is Lambda that retries, re-sending the
//!     same payload (same execution id, attempt number 1) up to the
//!     function's `EventInvokeConfig.MaximumRetryAttempts` (2 when absent);
//!     then Lambda's on-failure record (`requestPayload`, `responsePayload`,
//!     `condition: RetriesExhausted`) goes to the function's `OnFailure`
//!     destination, or the event is dropped.
//!
//!   Dead letters are files in `<state dir>/dlq/`, named after the queue
//!   (`…-schedule-<Queue>-….json`, `…-lambda-<Queue>-….json`); the outcome is
//!   recorded as `failed` with its `deadLetter` queue (null when dropped).
//! - **Observing.** `GET /_local/schedules` lists pending schedules;
//!   `?state=fired|failed|skipped|all` lists outcomes (newest last).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use lambda_runtime::LambdaEvent;
use nexus_core::time::Clock;
use nexus_core::Error;
use nexus_ports::scheduler::{
    self as port, FireTime, OneTimeSchedule, Scheduler, ATTEMPT_NUMBER, EXECUTION_ID,
    SCHEDULED_TIME, SCHEDULE_ARN,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::clock::LocalClock;
use crate::config::Timing;
use crate::dlq::DeadLetters;
use crate::functions::{invoke, Function, Functions, Handler, InvokeFn};
use crate::worker::{Activity, Shutdown, Worker};

const HISTORY: usize = 500;

/// A pending schedule and its delivery state.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    schedule: OneTimeSchedule,
    /// When it comes due (UTC); for a skipped (DST gap) time, the end of the gap.
    due: Timestamp,
    skipped: bool,
    created_at: Timestamp,
    attempts: u32,
    /// Real time of the first attempt (event age).
    first_attempt_at: Option<Timestamp>,
    /// Real time before which no retry is made.
    next_attempt_at: Option<Timestamp>,
    last_error: Option<String>,
    /// The execution id Lambda's async retries re-send (function failures).
    #[serde(default)]
    execution_id: Option<String>,
}

/// What became of a schedule.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Outcome {
    name: String,
    state: String,
    scheduled_time: Timestamp,
    /// Local-clock time of the outcome.
    at: Timestamp,
    attempts: u32,
    execution_ids: Vec<String>,
    target: String,
    error: Option<String>,
    /// The queue ARN the failure was dead-lettered to.
    #[serde(default)]
    dead_letter: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Book {
    pending: BTreeMap<String, Entry>,
    /// Execution ids of the attempts of pending schedules.
    #[serde(default)]
    executions: BTreeMap<String, Vec<String>>,
    history: Vec<Outcome>,
}

struct Inner {
    file: PathBuf,
    group: String,
    clock: Arc<LocalClock>,
    book: Mutex<Book>,
    activity: Arc<Activity>,
}

/// The local [`Scheduler`]; cheap to clone.
#[derive(Clone)]
pub struct LocalScheduler(Arc<Inner>);

impl LocalScheduler {
    /// Open the schedules kept in `dir` (created if needed).
    pub fn open(dir: PathBuf, group: String, clock: Arc<LocalClock>) -> Result<Self, String> {
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let file = dir.join("schedules.json");
        let book = match std::fs::read(&file) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                format!(
                    "{}: {e} (delete it to drop local schedules)",
                    file.display()
                )
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Book::default(),
            Err(e) => return Err(format!("{}: {e}", file.display())),
        };
        Ok(Self(Arc::new(Inner {
            file,
            group,
            clock,
            book: Mutex::new(book),
            activity: Arc::new(Activity::polling()),
        })))
    }

    pub fn group(&self) -> &str {
        &self.0.group
    }

    /// `arn:aws:scheduler:<region>:<account>:schedule/<group>/<name>`.
    pub fn schedule_arn(&self, name: &str) -> String {
        format!(
            "arn:aws:scheduler:{}:{}:schedule/{}/{name}",
            crate::REGION,
            crate::ACCOUNT_ID,
            self.0.group
        )
    }

    fn book(&self) -> std::sync::MutexGuard<'_, Book> {
        self.0.book.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn save(&self, book: &Book) {
        let write = || -> Result<(), String> {
            let tmp = self.0.file.with_extension("json.tmp");
            let text = serde_json::to_vec_pretty(book).map_err(|e| e.to_string())?;
            std::fs::write(&tmp, text).map_err(|e| e.to_string())?;
            std::fs::rename(&tmp, &self.0.file).map_err(|e| e.to_string())
        };
        if let Err(e) = write() {
            tracing::error!("saving local schedules to {}: {e}", self.0.file.display());
        }
    }

    /// Pending schedules, soonest first, as `GET /_local/schedules` shows them.
    pub fn pending(&self) -> Vec<Value> {
        let book = self.book();
        let mut items: Vec<&Entry> = book.pending.values().collect();
        items.sort_by_key(|e| (e.due, e.schedule.name.clone()));
        items
            .into_iter()
            .map(|e| {
                json!({
                    "name": e.schedule.name,
                    "arn": self.schedule_arn(&e.schedule.name),
                    "expression": e.schedule.expression(),
                    "timeZone": e.schedule.time_zone,
                    "due": e.due.to_string(),
                    "skipped": e.skipped,
                    "target": e.schedule.target.arn,
                    "input": e.schedule.input,
                    "attempts": e.attempts,
                    "lastError": e.last_error,
                    "createdAt": e.created_at.to_string(),
                })
            })
            .collect()
    }

    /// Outcomes in `state` (`fired`, `failed`, `skipped`, or all), oldest first.
    pub fn outcomes(&self, state: Option<&str>) -> Vec<Value> {
        self.book()
            .history
            .iter()
            .filter(|o| state.is_none_or(|s| s == o.state))
            .map(|o| {
                json!({
                    "name": o.name,
                    "arn": self.schedule_arn(&o.name),
                    "state": o.state,
                    "scheduledTime": o.scheduled_time.to_string(),
                    "at": o.at.to_string(),
                    "attempts": o.attempts,
                    "executionIds": o.execution_ids,
                    "target": o.target,
                    "error": o.error,
                    "deadLetter": o.dead_letter,
                })
            })
            .collect()
    }

    /// The worker that fires this scheduler's schedules. `allowed`: the
    /// logical ids `Template::scheduler_targets` found, each with its
    /// asynchronous invocation settings; each must be a direct-invoke function.
    pub fn runner(
        &self,
        functions: &Functions,
        allowed: &[(String, AsyncInvoke)],
        dlq: DeadLetters,
        timing: Timing,
    ) -> Result<SchedulerRunner, String> {
        let mut targets = HashMap::new();
        for (id, config) in allowed {
            let f = functions.expect(
                id,
                "direct invoke",
                "SchedulerInvokeRole (scheduler target)",
            )?;
            targets.insert(crate::function_arn(id), (f.clone(), config.clone()));
        }
        Ok(SchedulerRunner {
            scheduler: self.clone(),
            targets: Arc::new(targets),
            dlq,
            timing,
        })
    }

    fn record(book: &mut Book, outcome: Outcome) {
        book.history.push(outcome);
        let extra = book.history.len().saturating_sub(HISTORY);
        book.history.drain(..extra);
    }
}

#[async_trait]
impl Scheduler for LocalScheduler {
    async fn schedule_once(&self, s: &OneTimeSchedule) -> Result<(), Error> {
        s.validate()?;
        let (due, skipped) = match s.fire_time()? {
            FireTime::At(t) => (t, false),
            FireTime::Skipped => {
                tracing::warn!(schedule = %s.name, at = %s.at, tz = %s.time_zone,
                    "the schedule's local time does not exist (DST gap): it will never fire");
                // Recorded as skipped once the clock passes the gap (its transition).
                let tz = jiff::tz::TimeZone::get(&s.time_zone).map_err(Error::internal)?;
                let before = tz
                    .to_ambiguous_timestamp(s.at)
                    .earlier()
                    .map_err(Error::internal)?;
                let end = tz
                    .following(before)
                    .next()
                    .map(|t| t.timestamp())
                    .unwrap_or(before);
                (end, true)
            }
        };
        let mut book = self.book();
        if book.pending.contains_key(&s.name) {
            return Ok(());
        }
        book.pending.insert(
            s.name.clone(),
            Entry {
                schedule: s.clone(),
                due,
                skipped,
                created_at: self.0.clock.now(),
                attempts: 0,
                first_attempt_at: None,
                next_attempt_at: None,
                last_error: None,
                execution_id: None,
            },
        );
        self.save(&book);
        tracing::info!(schedule = %s.name, due = %due, target = %s.target.arn, "schedule created");
        Ok(())
    }

    async fn cancel(&self, name: &str) -> Result<(), Error> {
        port::validate_name(name, "/name").map_err(|e| Error::Validation(vec![e]))?;
        let mut book = self.book();
        if book.pending.remove(name).is_some() {
            book.executions.remove(name);
            self.save(&book);
            tracing::info!(schedule = %name, "schedule deleted");
        }
        Ok(())
    }
}

/// A target function's asynchronous invocation settings (its
/// `EventInvokeConfig` in template.yaml).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsyncInvoke {
    /// Lambda's retries of a failed invocation (0–2; 2 when not configured).
    pub retries: u32,
    /// The `OnFailure` destination's queue ARN ([`crate::queue_arn`]).
    pub on_failure: Option<String>,
}

impl Default for AsyncInvoke {
    fn default() -> Self {
        Self {
            retries: 2,
            on_failure: None,
        }
    }
}

/// Why an attempt did not succeed.
enum Failure {
    /// Scheduler could not invoke the target.
    Undeliverable(String),
    /// The function ran and failed (`error_type`, message).
    Function(String, String),
}

/// The [`Worker`] firing due schedules (see the module docs).
pub struct SchedulerRunner {
    scheduler: LocalScheduler,
    /// Target function ARN → function and its async invocation settings.
    targets: Arc<HashMap<String, (Function, AsyncInvoke)>>,
    dlq: DeadLetters,
    timing: Timing,
}

impl SchedulerRunner {
    fn target(&self, arn: &str) -> Result<(Function, InvokeFn, AsyncInvoke), String> {
        let (f, config) = self.targets.get(arn).ok_or_else(|| {
            format!(
                "{arn} is not a scheduler target: template.yaml lets SchedulerInvokeRole invoke only {:?}",
                self.targets.keys().collect::<Vec<_>>()
            )
        })?;
        match &f.handler {
            Handler::Invoke(h) => Ok((f.clone(), h.clone(), config.clone())),
            other => Err(format!("{arn} takes {} events", other.kind())),
        }
    }

    /// One pass: fire every due schedule. False when nothing was due (no
    /// schedule reached, no retry waiting).
    pub async fn tick(&self) -> bool {
        let now = self.scheduler.0.clock.now();
        let real = Timestamp::now();
        let (due, waiting): (Vec<Entry>, bool) = {
            let book = self.scheduler.book();
            let due_now: Vec<&Entry> = book.pending.values().filter(|e| e.due <= now).collect();
            let ready = due_now
                .iter()
                .filter(|e| e.next_attempt_at.is_none_or(|t| t <= real))
                .map(|e| (*e).clone())
                .collect();
            (ready, !due_now.is_empty())
        };
        for entry in due {
            self.fire(entry, now).await;
        }
        waiting
    }

    async fn fire(&self, entry: Entry, now: Timestamp) {
        let s = &self.scheduler;
        let name = entry.schedule.name.clone();
        if entry.skipped {
            let mut book = s.book();
            if book.pending.remove(&name).is_some() {
                tracing::warn!(schedule = %name, "skipped: its local time does not exist (DST gap)");
                LocalScheduler::record(
                    &mut book,
                    Outcome {
                        name,
                        state: "skipped".into(),
                        scheduled_time: entry.due,
                        at: now,
                        attempts: 0,
                        execution_ids: vec![],
                        target: entry.schedule.target.arn.clone(),
                        error: None,
                        dead_letter: None,
                    },
                );
                s.save(&book);
            }
            return;
        }
        let _busy = s.0.activity.begin();
        s.0.activity.took(1);
        let attempt = entry.attempts + 1;
        let target = self.target(&entry.schedule.target.arn);
        // Lambda's async retries re-send the payload Scheduler delivered; a
        // Scheduler retry is a new execution.
        let (execution_id, scheduler_attempt) = match (&target, &entry.execution_id) {
            (Ok(_), Some(id)) => (id.clone(), 1),
            (Ok(_), None) => (crate::uuid4(), 1),
            (Err(_), _) => (crate::uuid4(), attempt),
        };
        let scheduled_time = entry.due.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
        let arn = s.schedule_arn(&name);
        let attempt_s = scheduler_attempt.to_string();
        let input = port::substitute(
            &entry.schedule.input,
            &[
                (SCHEDULE_ARN, &arn),
                (SCHEDULED_TIME, &scheduled_time),
                (EXECUTION_ID, &execution_id),
                (ATTEMPT_NUMBER, &attempt_s),
            ],
        );
        let (result, config) = match target {
            Err(e) => (Err(Failure::Undeliverable(e)), None),
            Ok((function, handler, config)) => {
                let timeout = function.timeout();
                let ctx = function.context(&execution_id, timeout);
                let result =
                    match invoke(handler(LambdaEvent::new(input.clone(), ctx)), timeout).await {
                        Ok(Ok(_)) => Ok(()),
                        Ok(Err(d)) => Err(Failure::Function(d.error_type, d.error_message)),
                        Err(e) => Err(Failure::Function(
                            "Sandbox.Timedout".into(),
                            format!("invocation {e}"),
                        )),
                    };
                (result, Some(config))
            }
        };
        let letter = self.settle_attempt(
            &entry,
            Attempt {
                now,
                number: attempt,
                scheduler_attempt,
                execution_id,
                arn: &arn,
                scheduled_time: &scheduled_time,
                input: &input,
                config: config.as_ref(),
            },
            result,
        );
        if let Some((kind, queue, letter)) = letter {
            let queue_name = queue.rsplit(':').next().unwrap_or("unknown");
            match self.dlq.write(kind, queue_name, &letter).await {
                Ok(path) => {
                    tracing::error!(schedule = %name, queue = %queue_name, "dead-lettered: {}", path.display())
                }
                Err(e) => tracing::error!("writing the dead letter of schedule {name}: {e}"),
            }
        }
    }

    /// Record an attempt's result; returns the dead letter to write, if any,
    /// as `(kind, queue ARN, message)`.
    fn settle_attempt(
        &self,
        entry: &Entry,
        a: Attempt<'_>,
        result: Result<(), Failure>,
    ) -> Option<(&'static str, String, Value)> {
        let s = &self.scheduler;
        let name = entry.schedule.name.clone();
        let real = Timestamp::now();
        let mut book = s.book();
        let mut ids = book.executions.remove(&name).unwrap_or_default();
        if !ids.contains(&a.execution_id) {
            ids.push(a.execution_id.clone());
        }
        let Some(mut current) = book.pending.remove(&name) else {
            // Cancelled while it ran.
            s.save(&book);
            return None;
        };
        let outcome =
            |state: &str, error: Option<String>, dead_letter: Option<String>, ids| Outcome {
                name: name.clone(),
                state: state.into(),
                scheduled_time: entry.due,
                at: a.now,
                attempts: a.number,
                execution_ids: ids,
                target: entry.schedule.target.arn.clone(),
                error,
                dead_letter,
            };
        let failure = match result {
            Ok(()) => {
                tracing::info!(schedule = %name, attempt = a.number, "schedule fired; deleted");
                LocalScheduler::record(&mut book, outcome("fired", None, None, ids));
                s.save(&book);
                return None;
            }
            Err(f) => f,
        };
        let first = current.first_attempt_at.unwrap_or(real);
        let (exhausted, error) = match &failure {
            Failure::Undeliverable(error) => {
                let policy = entry.schedule.target.retry;
                let retries = policy
                    .maximum_retry_attempts
                    .min(self.timing.scheduler_max_retries);
                let too_old = real.duration_since(first)
                    >= SignedDuration::from_secs(i64::from(policy.maximum_event_age_secs));
                (a.number > retries || too_old, error.clone())
            }
            Failure::Function(kind, message) => {
                let retries = a
                    .config
                    .map_or(2, |c| c.retries)
                    .min(self.timing.scheduler_max_retries);
                (a.number > retries, format!("{kind}: {message}"))
            }
        };
        if !exhausted {
            tracing::warn!(schedule = %name, attempt = a.number, %error, "schedule invocation failed; retrying");
            current.attempts = a.number;
            current.first_attempt_at = Some(first);
            current.last_error = Some(error);
            if matches!(failure, Failure::Function(..)) {
                current.execution_id = Some(a.execution_id.clone());
            }
            let wait = SignedDuration::try_from(self.timing.backoff(a.number))
                .unwrap_or(SignedDuration::from_secs(1));
            current.next_attempt_at = Some(real + wait);
            book.executions.insert(name.clone(), ids);
            book.pending.insert(name, current);
            s.save(&book);
            return None;
        }
        let letter = match &failure {
            Failure::Undeliverable(message) => {
                entry.schedule.target.dead_letter_arn.clone().map(|queue| {
                    // Scheduler's dead-letter message: the input as the body, the
                    // failure as message attributes.
                    let body = json!({
                        "body": a.input,
                        "attributes": {
                            "ERROR_CODE": "AccessDeniedException",
                            "ERROR_MESSAGE": message,
                            "EXECUTION_ID": a.execution_id,
                            "RETRY_ATTEMPTS": a.number.saturating_sub(1),
                            "SCHEDULE_ARN": a.arn,
                            "TARGET_ARN": entry.schedule.target.arn,
                            "SCHEDULED_TIME": a.scheduled_time,
                        },
                    });
                    ("schedule", queue, body)
                })
            }
            Failure::Function(kind, message) => {
                a.config.and_then(|c| c.on_failure.clone()).map(|queue| {
                    // Lambda's on-failure destination record.
                    let body = json!({
                        "version": "1.0",
                        "timestamp": real.to_string(),
                        "requestContext": {
                            "requestId": a.execution_id,
                            "functionArn": format!("{}:$LATEST", entry.schedule.target.arn),
                            "condition": "RetriesExhausted",
                            "approximateInvokeCount": a.number,
                        },
                        "requestPayload": a.input,
                        "responseContext": {
                            "statusCode": 200,
                            "executedVersion": "$LATEST",
                            "functionError": "Unhandled",
                        },
                        "responsePayload": {"errorType": kind, "errorMessage": message},
                    });
                    ("lambda", queue, body)
                })
            }
        };
        let dead_letter = letter.as_ref().map(|(_, q, _)| q.clone());
        match &dead_letter {
            Some(q) => {
                tracing::error!(schedule = %name, attempt = a.number, scheduler_attempt = a.scheduler_attempt, %error, queue = %q, "schedule failed; dead-lettered")
            }
            None => {
                tracing::error!(schedule = %name, attempt = a.number, %error, "schedule failed with no dead-letter queue configured: the invocation is LOST (AWS drops it too)")
            }
        }
        LocalScheduler::record(&mut book, outcome("failed", Some(error), dead_letter, ids));
        s.save(&book);
        letter
    }
}

/// One attempt, as [`SchedulerRunner::settle_attempt`] records it.
struct Attempt<'a> {
    now: Timestamp,
    /// Invocations so far, this one included.
    number: u32,
    /// `<aws.scheduler.attempt-number>` of this invocation.
    scheduler_attempt: u32,
    execution_id: String,
    arn: &'a str,
    scheduled_time: &'a str,
    input: &'a Value,
    config: Option<&'a AsyncInvoke>,
}

impl Worker for SchedulerRunner {
    fn name(&self) -> String {
        "scheduler".into()
    }

    fn activity(&self) -> Arc<Activity> {
        self.scheduler.0.activity.clone()
    }

    fn run(self: Arc<Self>, mut shutdown: Shutdown) -> crate::functions::BoxFuture<()> {
        Box::pin(async move {
            loop {
                let activity = self.activity();
                let tick = activity.tick();
                if !self.tick().await {
                    activity.idle_at(tick);
                }
                if shutdown
                    .sleep(self.timing.scheduler_tick.max(Duration::from_millis(1)))
                    .await
                {
                    return;
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nexus_ports::scheduler::{RetryPolicy, ScheduleTarget};
    use nexus_wiring::template::Function as FunctionDef;
    use std::sync::atomic::{AtomicU32, Ordering};

    struct Fixture {
        dir: PathBuf,
        clock: Arc<LocalClock>,
        scheduler: LocalScheduler,
        runner: SchedulerRunner,
        calls: Arc<Mutex<Vec<Value>>>,
    }

    impl Drop for Fixture {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    fn fixture(fail_first: u32) -> Fixture {
        let dir = std::env::temp_dir().join(format!("nexus-sched-{}", ulid::Ulid::new()));
        let clock = Arc::new(LocalClock::new());
        let scheduler =
            LocalScheduler::open(dir.join("scheduler"), "nexus-test".into(), clock.clone())
                .unwrap();
        let calls = Arc::new(Mutex::new(vec![]));
        let seen = calls.clone();
        let failures = Arc::new(AtomicU32::new(0));
        let handler = Handler::invoke(move |e: LambdaEvent<Value>| {
            let seen = seen.clone();
            let failures = failures.clone();
            async move {
                seen.lock().unwrap().push(e.payload);
                if failures.fetch_add(1, Ordering::SeqCst) < fail_first {
                    return Err(lambda_runtime::Diagnostic {
                        error_type: "Retryable".into(),
                        error_message: "not now".into(),
                    });
                }
                Ok(json!({}))
            }
        });
        let def = FunctionDef {
            logical_id: "RemindersFunction".into(),
            code_uri: "functions/reminders".into(),
            name: "reminders".into(),
            timeout_secs: 3,
            memory_mb: 128,
        };
        let functions = Functions::from_parts(vec![(def, handler)]);
        let timing = Timing {
            retry_backoff_base: Duration::from_millis(1),
            retry_backoff_cap: Duration::from_millis(2),
            scheduler_max_retries: 5,
            ..Timing::default()
        };
        let runner = scheduler
            .runner(
                &functions,
                &[(
                    "RemindersFunction".into(),
                    AsyncInvoke {
                        retries: 2,
                        on_failure: Some(crate::queue_arn("RemindersDeadLetterQueue")),
                    },
                )],
                DeadLetters::new(dir.join("dlq")),
                timing,
            )
            .unwrap();
        Fixture {
            dir,
            clock,
            scheduler,
            runner,
            calls,
        }
    }

    fn schedule(name: &str, at: &str, tz: &str) -> OneTimeSchedule {
        OneTimeSchedule {
            name: name.into(),
            at: at.parse().unwrap(),
            time_zone: tz.into(),
            target: ScheduleTarget {
                arn: crate::function_arn("RemindersFunction"),
                role_arn: "arn:aws:iam::000000000000:role/SchedulerInvokeRole".into(),
                retry: RetryPolicy {
                    maximum_retry_attempts: 2,
                    maximum_event_age_secs: 3600,
                },
                dead_letter_arn: Some(crate::queue_arn("RemindersDeadLetterQueue")),
            },
            input: json!({
                "kind": "test",
                "arn": SCHEDULE_ARN,
                "time": SCHEDULED_TIME,
                "id": EXECUTION_ID,
                "attempt": ATTEMPT_NUMBER,
            }),
        }
    }

    async fn drain(f: &Fixture) {
        for _ in 0..200 {
            if !f.runner.tick().await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(3)).await;
        }
        panic!("the runner did not go idle");
    }

    #[tokio::test]
    async fn dst_gap_is_skipped_and_fold_fires_once_at_the_first_occurrence() {
        let f = fixture(0);
        let ny = "America/New_York";
        // 2027-03-14: 02:00 EST → 03:00 EDT. 2027-11-07: 02:00 EDT → 01:00 EST.
        f.scheduler
            .schedule_once(&schedule("gap", "2027-03-14T02:30:00", ny))
            .await
            .unwrap();
        f.scheduler
            .schedule_once(&schedule("fold", "2027-11-07T01:30:00", ny))
            .await
            .unwrap();
        f.clock
            .set("2027-03-14T06:59:59Z".parse().unwrap())
            .unwrap(); // 01:59:59 EST
        drain(&f).await;
        assert_eq!(f.scheduler.pending().len(), 2);
        f.clock
            .set("2027-03-14T07:00:00Z".parse().unwrap())
            .unwrap(); // 03:00 EDT
        drain(&f).await;
        assert_eq!(f.scheduler.outcomes(Some("skipped")).len(), 1);
        assert!(
            f.calls.lock().unwrap().is_empty(),
            "a skipped time is not invoked"
        );

        f.clock
            .set("2027-11-07T05:29:59Z".parse().unwrap())
            .unwrap(); // 01:29:59 EDT
        drain(&f).await;
        assert!(f.calls.lock().unwrap().is_empty());
        f.clock
            .set("2027-11-07T05:30:00Z".parse().unwrap())
            .unwrap(); // 01:30 EDT (first)
        drain(&f).await;
        f.clock
            .set("2027-11-07T06:30:00Z".parse().unwrap())
            .unwrap(); // 01:30 EST (again)
        drain(&f).await;
        let calls = f.calls.lock().unwrap().clone();
        assert_eq!(calls.len(), 1, "{calls:?}");
        assert_eq!(calls[0]["time"], "2027-11-07T05:30:00Z");
        assert!(f.scheduler.pending().is_empty());
        assert_eq!(f.scheduler.outcomes(Some("fired")).len(), 1);
    }

    #[tokio::test]
    async fn context_attributes_are_substituted_and_lambda_retries_resend_the_same_execution() {
        let f = fixture(1);
        let s = schedule("ctx", "2027-06-01T10:00:00", "Europe/Paris");
        f.scheduler.schedule_once(&s).await.unwrap();
        f.scheduler.schedule_once(&s).await.unwrap(); // a retry of the create: kept once
        assert_eq!(f.scheduler.pending().len(), 1);
        f.clock
            .set("2027-06-01T08:00:00Z".parse().unwrap())
            .unwrap();
        drain(&f).await;
        let calls = f.calls.lock().unwrap().clone();
        assert_eq!(calls.len(), 2);
        assert_eq!(
            calls[0]["arn"],
            "arn:aws:scheduler:us-east-1:000000000000:schedule/nexus-test/ctx"
        );
        assert_eq!(calls[0]["time"], "2027-06-01T08:00:00Z");
        // Scheduler delivered once (asynchronously); Lambda retried the same event.
        assert_eq!(calls[0]["attempt"], "1");
        assert_eq!(calls[1]["attempt"], "1");
        assert_eq!(calls[0]["id"], calls[1]["id"]);
        assert_eq!(calls[0]["kind"], "test");
        let fired = f.scheduler.outcomes(Some("fired"));
        assert_eq!(fired[0]["attempts"], 2);
        assert_eq!(fired[0]["executionIds"].as_array().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_reminder_failing_in_the_function_goes_to_its_on_failure_destination() {
        let f = fixture(u32::MAX);
        f.scheduler
            .schedule_once(&schedule("doomed", "2027-06-01T10:00:00", "UTC"))
            .await
            .unwrap();
        f.clock
            .set("2027-06-01T10:00:00Z".parse().unwrap())
            .unwrap();
        drain(&f).await;
        assert_eq!(
            f.calls.lock().unwrap().len(),
            3,
            "1 attempt + 2 Lambda retries"
        );
        let failed = f.scheduler.outcomes(Some("failed"));
        assert_eq!(failed.len(), 1);
        assert!(failed[0]["error"].as_str().unwrap().contains("not now"));
        assert_eq!(
            failed[0]["deadLetter"],
            "arn:aws:sqs:us-east-1:000000000000:RemindersDeadLetterQueue"
        );
        let letters = DeadLetters::new(f.dir.join("dlq")).list();
        assert_eq!(letters.len(), 1);
        let file = letters[0]
            .file_name()
            .unwrap()
            .to_string_lossy()
            .to_string();
        assert!(file.contains("-lambda-RemindersDeadLetterQueue-"), "{file}");
        // Lambda's on-failure record: the whole input and the error.
        let letter: Value = serde_json::from_slice(&std::fs::read(&letters[0]).unwrap()).unwrap();
        assert_eq!(letter["requestContext"]["condition"], "RetriesExhausted");
        assert_eq!(letter["requestContext"]["approximateInvokeCount"], 3);
        assert_eq!(letter["requestPayload"]["kind"], "test");
        assert_eq!(
            letter["requestPayload"]["arn"],
            "arn:aws:scheduler:us-east-1:000000000000:schedule/nexus-test/doomed"
        );
        assert_eq!(letter["responsePayload"]["errorType"], "Retryable");
        assert_eq!(letter["responsePayload"]["errorMessage"], "not now");
    }

    #[tokio::test]
    async fn without_a_dead_letter_queue_a_failure_is_recorded_as_lost() {
        let f = fixture(0);
        let mut s = schedule("nowhere", "2027-06-01T10:00:00", "UTC");
        s.target.arn = crate::function_arn("AuditFunction");
        s.target.retry.maximum_retry_attempts = 1;
        s.target.dead_letter_arn = None;
        f.scheduler.schedule_once(&s).await.unwrap();
        f.clock
            .set("2027-06-01T10:00:00Z".parse().unwrap())
            .unwrap();
        drain(&f).await;
        let failed = f.scheduler.outcomes(Some("failed"));
        assert_eq!(failed[0]["attempts"], 2, "1 attempt + 1 Scheduler retry");
        assert_eq!(failed[0]["deadLetter"], Value::Null);
        assert!(DeadLetters::new(f.dir.join("dlq")).list().is_empty());
    }

    #[tokio::test]
    async fn unknown_targets_fail_and_schedules_survive_a_restart() {
        let f = fixture(0);
        let mut s = schedule("elsewhere", "2027-06-01T10:00:00", "UTC");
        s.target.arn = crate::function_arn("AuditFunction");
        s.target.retry.maximum_retry_attempts = 0;
        f.scheduler.schedule_once(&s).await.unwrap();
        f.scheduler
            .schedule_once(&schedule("later", "2099-01-01T00:00:00", "UTC"))
            .await
            .unwrap();
        f.scheduler
            .schedule_once(&schedule("cancelled", "2099-01-01T00:00:00", "UTC"))
            .await
            .unwrap();
        f.scheduler.cancel("cancelled").await.unwrap();
        f.scheduler.cancel("cancelled").await.unwrap();
        assert!(f.scheduler.cancel("bad name").await.is_err());
        f.clock
            .set("2027-06-01T10:00:00Z".parse().unwrap())
            .unwrap();
        drain(&f).await;
        let failed = f.scheduler.outcomes(Some("failed"));
        assert!(
            failed[0]["error"]
                .as_str()
                .unwrap()
                .contains("not a scheduler target"),
            "{failed:?}"
        );
        // Undeliverable: Scheduler's dead letter (the input, the failure as attributes).
        let letters = DeadLetters::new(f.dir.join("dlq")).list();
        assert_eq!(letters.len(), 1);
        let file = letters[0]
            .file_name()
            .unwrap()
            .to_string_lossy()
            .to_string();
        assert!(
            file.contains("-schedule-RemindersDeadLetterQueue-"),
            "{file}"
        );
        let letter: Value = serde_json::from_slice(&std::fs::read(&letters[0]).unwrap()).unwrap();
        assert_eq!(letter["body"]["kind"], "test");
        assert_eq!(
            letter["attributes"]["SCHEDULE_ARN"],
            "arn:aws:scheduler:us-east-1:000000000000:schedule/nexus-test/elsewhere"
        );
        assert!(f.calls.lock().unwrap().is_empty());
        let reopened = LocalScheduler::open(
            f.dir.join("scheduler"),
            "nexus-test".into(),
            Arc::new(LocalClock::new()),
        )
        .unwrap();
        let pending = reopened.pending();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0]["name"], "later");
        assert_eq!(pending[0]["due"], "2099-01-01T00:00:00Z");
        assert_eq!(reopened.outcomes(None).len(), 1);
    }
}
