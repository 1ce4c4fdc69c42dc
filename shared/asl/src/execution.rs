//! One execution, driven from outside.
//!
//! [`Execution::start`] and [`Execution::handle`] return the [`Command`]s the host must
//! carry out (run a task, arm a timer, cancel either, report the end). The host reports
//! back with [`Event`]s. Time is always passed in; randomness comes from a host seed.
//! An `Execution` is `serde`-serializable: persist it after every call and resume it
//! exactly (re-arm [`Execution::pending_timers`], keep or re-run
//! [`Execution::pending_tasks`]).

use crate::definition::{
    Catcher, DataPath, Definition, Dynamic, Io, Kind, Resource, Retrier, ScopeStep, Seconds, State,
    Transition, Wait, MAX_INLINE_MAP_CONCURRENCY,
};
use crate::error::{error_matches, errors, Failure};
use crate::history::{self, HistoryEvent};
use crate::rng::Rng;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

/// Input and output of a state or an execution are limited to 256 KiB.
pub const MAX_PAYLOAD_BYTES: usize = 262_144;
/// A Standard execution fails when its history would exceed this many events.
pub const MAX_HISTORY_EVENTS: usize = 25_000;
/// Wait delays of about 2^31 seconds or more are refused.
pub const MAX_WAIT_SECONDS: i64 = i32::MAX as i64;

/// Who and what the execution is, as the context object (`$$`) shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutionInfo {
    /// `arn:aws:states:<region>:<account>:execution:<machine>:<name>`.
    pub execution_arn: String,
    pub name: String,
    pub role_arn: String,
    pub state_machine_arn: String,
    pub state_machine_name: String,
    /// Seeds jitter, `States.MathRandom`, `States.UUID` and task tokens.
    pub seed: u64,
}

impl ExecutionInfo {
    /// Local ARNs (region `us-east-1`, account `000000000000`) for a machine and a run name.
    pub fn local(state_machine_name: &str, name: &str, seed: u64) -> Self {
        let base = "arn:aws:states:us-east-1:000000000000";
        ExecutionInfo {
            execution_arn: format!("{base}:execution:{state_machine_name}:{name}"),
            name: name.to_string(),
            role_arn: format!("arn:aws:iam::000000000000:role/{state_machine_name}-role"),
            state_machine_arn: format!("{base}:stateMachine:{state_machine_name}"),
            state_machine_name: state_machine_name.to_string(),
            seed,
        }
    }

    fn region(&self) -> String {
        self.execution_arn
            .split(':')
            .nth(3)
            .unwrap_or_default()
            .to_string()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    Running,
    Succeeded,
    Failed,
    TimedOut,
    Aborted,
}

/// How an execution ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    pub status: Status,
    pub output: Option<Value>,
    pub error: Option<String>,
    pub cause: Option<String>,
}

/// A task for the host to perform.
///
/// Results the host reports ([`Event::TaskSucceeded`]) must have AWS's shape:
/// - `LambdaInvoke`: `{"ExecutedVersion":"$LATEST","Payload":<function output, parsed if
///   JSON>,"SdkHttpMetadata":{"AllHttpHeaders":{…},"HttpHeaders":{…},"HttpStatusCode":200},
///   "SdkResponseMetadata":{"RequestId":"…"},"StatusCode":200}`.
/// - `LambdaFunction` (bare ARN): the function's output itself.
/// - `DynamoDb`: `{SdkHttpMetadata, SdkResponseMetadata}` plus `Item` (getItem, only when
///   found) or `Attributes` (when `ReturnValues` asks).
/// - `EventsPutEvents`: `{"Entries":[{"EventId":"…"}],"FailedEntryCount":0}`.
/// - `SqsSendMessage`: `{"MD5OfMessageBody","MessageId",SdkHttpMetadata,SdkResponseMetadata}`.
/// - `.waitForTaskToken`: report the send's response as [`Event::TaskSubmitted`] (optional)
///   and later the `SendTaskSuccess` output, exactly, as [`Event::TaskSucceeded`].
///
/// Errors ([`Event::TaskFailed`]):
/// - A function error (either Lambda style): `error` = the function's `errorType`,
///   `cause` = the error payload as a JSON string (`{"errorType","errorMessage"}` for Rust).
///   A function's own timeout: `Sandbox.Timedout`, cause `Task timed out after N.00 seconds`.
/// - Lambda service errors: `Lambda.ResourceNotFoundException` (cause `Function not found:
///   <arn>:$LATEST (Service: AWSLambda; Status Code: 404; Error Code:
///   ResourceNotFoundException; …)`), `Lambda.ServiceException`, `Lambda.AWSLambdaException`,
///   `Lambda.SdkClientException`, `Lambda.TooManyRequestsException`, `Lambda.Unknown`.
/// - DynamoDB: `DynamoDB.ConditionalCheckFailedException`, `DynamoDB.ResourceNotFoundException`,
///   `DynamoDB.AmazonDynamoDBException` (validation); cause in the Java-SDK form
///   `<msg> (Service: AmazonDynamoDBv2; Status Code: 400; Error Code: X; Request ID: …; Proxy: null)`.
/// - EventBridge: `EventBridge.FailedEntry`, cause = the whole PutEvents response.
/// - SQS: `SQS.AmazonSQSException`, `SQS.SdkClientException`.
/// - `SendTaskFailure`: its `error`/`cause`, either possibly absent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskRequest {
    pub task_id: u64,
    pub state_name: String,
    pub resource: Resource,
    pub resource_arn: String,
    /// The effective parameters (for a bare function ARN: the payload).
    pub parameters: Value,
    /// Set for `.waitForTaskToken` resources.
    pub task_token: Option<String>,
    pub timeout_seconds: u64,
    pub heartbeat_seconds: Option<u64>,
}

/// What the host must do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Command {
    RunTask(TaskRequest),
    /// The task's state was aborted or timed out: drop the invocation and refuse its token.
    CancelTask {
        task_id: u64,
    },
    /// Report [`Event::TimerFired`] at or after `at` (on the host's clock).
    StartTimer {
        timer_id: u64,
        at: Timestamp,
    },
    CancelTimer {
        timer_id: u64,
    },
    Finished(Outcome),
}

/// What the host reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Event {
    /// The API call of a `.waitForTaskToken` task returned (`TaskSubmitted` in history).
    TaskSubmitted {
        task_id: u64,
        output: Value,
    },
    TaskSucceeded {
        task_id: u64,
        output: Value,
    },
    TaskFailed {
        task_id: u64,
        error: Option<String>,
        cause: Option<String>,
    },
    /// `SendTaskHeartbeat`: restarts the heartbeat clock.
    TaskHeartbeat {
        task_id: u64,
    },
    TimerFired {
        timer_id: u64,
    },
    /// `StopExecution`.
    Stop {
        error: Option<String>,
        cause: Option<String>,
    },
}

/// An event the execution cannot accept (the host answers the caller accordingly:
/// `TaskTimedOut`/`InvalidToken` for a closed task, `ExecutionDoesNotExist`-like for a
/// closed execution).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    #[error("the execution is not running")]
    NotRunning,
    #[error("task {0} is not pending (it finished, timed out or was aborted)")]
    TaskNotPending(u64),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StartError {
    #[error("the input is {0} bytes, more than the {MAX_PAYLOAD_BYTES} bytes allowed")]
    InputTooLarge(usize),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
enum TimerKind {
    Wait(u64),
    Backoff(u64),
    TaskTimeout(u64),
    Heartbeat(u64),
    ExecutionTimeout,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Thread {
    scope: Vec<ScopeStep>,
    parent: Option<(u64, usize)>,
    last_event: u64,
    active: Option<Active>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Active {
    name: String,
    raw_input: Value,
    entered_at: Timestamp,
    entered_event: u64,
    retry_counts: Vec<u64>,
    retry_count: u64,
    phase: Phase,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
enum Phase {
    Idle,
    Wait {
        timer: u64,
        effective: Value,
    },
    Backoff {
        timer: u64,
    },
    Task {
        request: TaskRequest,
        timeout_timer: u64,
        heartbeat_timer: Option<u64>,
    },
    Parallel {
        children: Vec<u64>,
        results: Vec<Option<Value>>,
    },
    Map {
        effective: Value,
        items: Vec<Value>,
        next: usize,
        limit: usize,
        running: BTreeMap<usize, u64>,
        results: Vec<Option<Value>>,
    },
}

#[derive(Debug, Clone)]
enum Work {
    Enter {
        thread: u64,
        state: String,
        input: Value,
    },
    Rerun {
        thread: u64,
    },
    Done {
        thread: u64,
        result: Result<Value, Failure>,
    },
    FillMap {
        thread: u64,
    },
}

/// A running or finished execution.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Execution {
    #[serde(serialize_with = "ser_def", deserialize_with = "de_def")]
    def: Arc<Definition>,
    info: ExecutionInfo,
    input: Value,
    start_time: Timestamp,
    status: Status,
    outcome: Option<Outcome>,
    history: Vec<HistoryEvent>,
    threads: BTreeMap<u64, Thread>,
    tasks: BTreeMap<u64, u64>,
    timers: BTreeMap<u64, (Timestamp, TimerKind)>,
    next_id: u64,
    rng: Rng,
    #[serde(skip)]
    now: Option<Timestamp>,
    #[serde(skip)]
    out: Vec<Command>,
    #[serde(skip)]
    queue: VecDeque<Work>,
}

#[derive(Serialize, Deserialize)]
struct StoredDefinition {
    source: String,
    text: String,
}

fn ser_def<S: Serializer>(d: &Arc<Definition>, s: S) -> Result<S::Ok, S::Error> {
    StoredDefinition {
        source: d.source_name().to_string(),
        text: d.text().to_string(),
    }
    .serialize(s)
}

fn de_def<'de, D: Deserializer<'de>>(d: D) -> Result<Arc<Definition>, D::Error> {
    let stored = StoredDefinition::deserialize(d)?;
    Definition::parse(&stored.text, &stored.source)
        .map(Arc::new)
        .map_err(serde::de::Error::custom)
}

fn size_of(v: &Value) -> usize {
    serde_json::to_vec(v).map(|b| b.len()).unwrap_or(usize::MAX)
}

fn failure_details(f: &Failure) -> Map<String, Value> {
    let mut m = Map::new();
    if !f.error.is_empty() {
        m.insert("error".into(), json!(f.error));
    }
    if let Some(c) = &f.cause {
        m.insert("cause".into(), json!(c));
    }
    m
}

impl Execution {
    /// Starts an execution at `now`.
    pub fn start(
        def: Arc<Definition>,
        input: Value,
        info: ExecutionInfo,
        now: Timestamp,
    ) -> Result<(Execution, Vec<Command>), StartError> {
        let size = size_of(&input);
        if size > MAX_PAYLOAD_BYTES {
            return Err(StartError::InputTooLarge(size));
        }
        let rng = Rng::new(info.seed);
        let mut ex = Execution {
            def: def.clone(),
            info,
            input: input.clone(),
            start_time: now,
            status: Status::Running,
            outcome: None,
            history: Vec::new(),
            threads: BTreeMap::new(),
            tasks: BTreeMap::new(),
            timers: BTreeMap::new(),
            next_id: 1,
            rng,
            now: Some(now),
            out: Vec::new(),
            queue: VecDeque::new(),
        };
        ex.emit(
            None,
            "ExecutionStarted",
            Some(json!({
                "input": history::payload("input", &input).1,
                "inputDetails": {"truncated": false},
                "roleArn": ex.info.role_arn,
            })),
        );
        if let Some(t) = def.timeout_seconds {
            ex.timer(
                now + SignedDuration::from_secs(t as i64),
                TimerKind::ExecutionTimeout,
            );
        }
        let root = ex.new_thread(vec![], None);
        ex.queue.push_back(Work::Enter {
            thread: root,
            state: def.root.start_at.clone(),
            input,
        });
        ex.pump();
        ex.now = None;
        let commands = std::mem::take(&mut ex.out);
        Ok((ex, commands))
    }

    /// Applies an event at `now` and returns what the host must do next.
    pub fn handle(&mut self, event: Event, now: Timestamp) -> Result<Vec<Command>, Rejected> {
        if self.status != Status::Running {
            return Err(Rejected::NotRunning);
        }
        self.now = Some(now);
        let r = self.apply(event);
        self.pump();
        self.now = None;
        r.map(|()| std::mem::take(&mut self.out))
    }

    pub fn status(&self) -> Status {
        self.status
    }
    pub fn outcome(&self) -> Option<&Outcome> {
        self.outcome.as_ref()
    }
    pub fn history(&self) -> &[HistoryEvent] {
        &self.history
    }
    pub fn input(&self) -> &Value {
        &self.input
    }
    pub fn info(&self) -> &ExecutionInfo {
        &self.info
    }
    pub fn definition(&self) -> &Arc<Definition> {
        &self.def
    }
    pub fn start_time(&self) -> Timestamp {
        self.start_time
    }

    /// Timers the host must (re-)arm, e.g. after loading a persisted execution.
    pub fn pending_timers(&self) -> Vec<(u64, Timestamp)> {
        self.timers.iter().map(|(id, (at, _))| (*id, *at)).collect()
    }

    /// Tasks in flight (including callbacks waiting on their token).
    pub fn pending_tasks(&self) -> Vec<&TaskRequest> {
        self.tasks
            .values()
            .filter_map(|t| match self.threads.get(t)?.active.as_ref()?.phase {
                Phase::Task { ref request, .. } => Some(request),
                _ => None,
            })
            .collect()
    }

    /// The pending task holding a task token, if any (for `SendTask*`).
    pub fn task_for_token(&self, token: &str) -> Option<u64> {
        self.pending_tasks()
            .into_iter()
            .find(|r| r.task_token.as_deref() == Some(token))
            .map(|r| r.task_id)
    }

    // ----- plumbing -------------------------------------------------------------------

    fn now(&self) -> Timestamp {
        self.now.expect("time is set during start/handle")
    }

    fn id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    fn new_thread(&mut self, scope: Vec<ScopeStep>, parent: Option<(u64, usize)>) -> u64 {
        let last_event = match parent {
            Some((p, _)) => self.threads.get(&p).map(|t| t.last_event).unwrap_or(0),
            None => self.history.last().map(|e| e.id).unwrap_or(0),
        };
        let id = self.id();
        self.threads.insert(
            id,
            Thread {
                scope,
                parent,
                last_event,
                active: None,
            },
        );
        id
    }

    fn timer(&mut self, at: Timestamp, kind: TimerKind) -> u64 {
        let id = self.id();
        self.timers.insert(id, (at, kind));
        self.out.push(Command::StartTimer { timer_id: id, at });
        id
    }

    fn cancel_timer(&mut self, id: u64) {
        if self.timers.remove(&id).is_some() {
            self.out.push(Command::CancelTimer { timer_id: id });
        }
    }

    fn emit(&mut self, thread: Option<u64>, ty: &str, details: Option<Value>) -> u64 {
        let id = self.history.len() as u64 + 1;
        let prev = match thread.and_then(|t| self.threads.get(&t)) {
            Some(t) => t.last_event,
            None => self.history.last().map(|e| e.id).unwrap_or(0),
        };
        let now = self.now();
        self.history.push(HistoryEvent {
            id,
            previous_event_id: prev,
            timestamp: now,
            event_type: ty.to_string(),
            details: details.map(|d| (history::details_key(ty), d)),
        });
        if let Some(t) = thread.and_then(|t| self.threads.get_mut(&t)) {
            t.last_event = id;
        }
        id
    }

    fn state_of(&self, thread: u64) -> Option<(&State, &Active)> {
        let t = self.threads.get(&thread)?;
        let a = t.active.as_ref()?;
        Some((self.def.scope(&t.scope).get(&a.name), a))
    }

    fn active_mut(&mut self, thread: u64) -> Option<&mut Active> {
        self.threads.get_mut(&thread)?.active.as_mut()
    }

    fn context(&self, thread: u64, token: Option<&str>, item: Option<(usize, &Value)>) -> Value {
        let mut ctx = json!({
            "Execution": {
                "Id": self.info.execution_arn,
                "Input": self.input,
                "Name": self.info.name,
                "RoleArn": self.info.role_arn,
                "StartTime": history::format_timestamp(self.start_time),
                "RedriveCount": 0,
            },
            "StateMachine": {"Id": self.info.state_machine_arn, "Name": self.info.state_machine_name},
        });
        if let Some(a) = self.threads.get(&thread).and_then(|t| t.active.as_ref()) {
            ctx["State"] = json!({
                "Name": a.name,
                "EnteredTime": history::format_timestamp(a.entered_at),
                "RetryCount": a.retry_count,
            });
        }
        if let Some(tok) = token {
            ctx["Task"] = json!({"Token": tok});
        }
        if let Some((i, v)) = item {
            ctx["Map"] = json!({"Item": {"Index": i, "Value": v}});
        }
        ctx
    }

    fn prefix(&self, thread: u64) -> String {
        match self.state_of(thread) {
            Some((s, a)) => format!(
                "An error occurred while executing the state '{}' (entered at the event id #{}). ",
                s.name, a.entered_event
            ),
            None => String::new(),
        }
    }

    fn input_path(&self, thread: u64, path: &DataPath, v: &Value) -> Result<Value, Failure> {
        match path {
            DataPath::Root => Ok(v.clone()),
            DataPath::Null => Ok(json!({})),
            DataPath::At(p) => p.eval(v).map_err(|miss| {
                Failure::runtime(format!(
                    "{}Invalid path '{p}' : {miss}",
                    self.prefix(thread)
                ))
            }),
        }
    }

    fn resolve_seconds(
        &self,
        thread: u64,
        s: &Seconds,
        field: &str,
        input: &Value,
    ) -> Result<u64, Failure> {
        match s {
            Seconds::Fixed(n) => Ok(*n),
            Seconds::Path(p) => match p.eval(input) {
                Ok(v) => v.as_u64().ok_or_else(|| {
                    Failure::runtime(format!(
                        "{}The {field}Path parameter does not reference a non-negative integer: {p} == {}",
                        self.prefix(thread),
                        crate::compact(&v)
                    ))
                }),
                Err(_) => Err(Failure::runtime(format!(
                    "{}The {field}Path parameter does not reference an input value: {p}",
                    self.prefix(thread)
                ))),
            },
        }
    }

    // ----- the work loop --------------------------------------------------------------

    fn pump(&mut self) {
        while let Some(w) = self.queue.pop_front() {
            if self.status != Status::Running {
                self.queue.clear();
                break;
            }
            match w {
                Work::Enter {
                    thread,
                    state,
                    input,
                } => self.enter(thread, state, input),
                Work::Rerun { thread } => self.run_state(thread),
                Work::Done { thread, result } => self.thread_done(thread, result),
                Work::FillMap { thread } => self.fill_map(thread),
            }
        }
    }

    fn enter(&mut self, thread: u64, name: String, input: Value) {
        if !self.threads.contains_key(&thread) {
            return;
        }
        if self.history.len() >= MAX_HISTORY_EVENTS {
            self.finish(
                Status::Failed,
                None,
                Some(Failure::new(
                    errors::RUNTIME,
                    format!("The execution reached the maximum number of history events ({MAX_HISTORY_EVENTS})."),
                )),
            );
            return;
        }
        let scope = self.threads[&thread].scope.clone();
        let def = self.def.clone();
        let state = def.scope(&scope).get(&name);
        let ty = state.kind.type_name();
        let entered_type = if ty == "Fail" {
            "FailStateEntered".to_string()
        } else {
            format!("{ty}StateEntered")
        };
        let retriers = match &state.kind {
            Kind::Task(t) => t.retry.len(),
            Kind::Parallel { retry, .. } => retry.len(),
            Kind::Map(m) => m.retry.len(),
            _ => 0,
        };
        let ev = self.emit(
            Some(thread),
            &entered_type,
            Some(json!({
                "name": name,
                "input": crate::compact(&input),
                "inputDetails": {"truncated": false},
            })),
        );
        let now = self.now();
        if let Some(t) = self.threads.get_mut(&thread) {
            t.active = Some(Active {
                name,
                raw_input: input,
                entered_at: now,
                entered_event: ev,
                retry_counts: vec![0; retriers],
                retry_count: 0,
                phase: Phase::Idle,
            });
        }
        self.run_state(thread);
    }

    /// Runs (or, after a retry backoff, reruns) the thread's current state.
    fn run_state(&mut self, thread: u64) {
        let Some((state, active)) = self.state_of(thread) else {
            return;
        };
        let state = state.clone();
        let raw = active.raw_input.clone();
        let r = self.run_kind(thread, &state, &raw);
        if let Err(f) = r {
            self.state_failed(thread, f);
        }
    }

    fn run_kind(&mut self, thread: u64, state: &State, raw: &Value) -> Result<(), Failure> {
        match &state.kind {
            Kind::Pass { result, io } => {
                let effective = self.input_path(thread, &state.input_path, raw)?;
                let value = match (result, &io.parameters) {
                    (Some(r), _) => r.clone(),
                    (None, Some(t)) => {
                        let ctx = self.context(thread, None, None);
                        t.eval(&effective, &ctx, &mut self.rng)?
                    }
                    (None, None) => effective,
                };
                self.state_succeeded(thread, value);
                Ok(())
            }
            Kind::Succeed => {
                let effective = self.input_path(thread, &state.input_path, raw)?;
                self.exit_with(thread, effective, None);
                Ok(())
            }
            Kind::Fail { error, cause } => {
                let ctx = self.context(thread, None, None);
                let mut resolve = |d: &Option<Dynamic>,
                                   what: &str|
                 -> Result<Option<String>, Failure> {
                    match d {
                        None => Ok(None),
                        Some(Dynamic::Literal(s)) => Ok(Some(s.clone())),
                        Some(Dynamic::Path(p)) => match p.eval(if p.is_context() { &ctx } else { raw }) {
                            Ok(Value::String(s)) => Ok(Some(s)),
                            _ => Err(Failure::runtime(format!(
                                "The {what}Path '{p}' does not reference a string in the input '{}'",
                                crate::compact(raw)
                            ))),
                        },
                        Some(Dynamic::Call(c)) => match c.eval(raw, &ctx, &mut self.rng)? {
                            Value::String(s) => Ok(Some(s)),
                            other => Ok(Some(crate::compact(&other))),
                        },
                    }
                };
                let e = resolve(error, "Error")?;
                let c = resolve(cause, "Cause")?;
                self.queue.push_back(Work::Done {
                    thread,
                    result: Err(Failure::bare(e.unwrap_or_default(), c)),
                });
                Ok(())
            }
            Kind::Choice { choices, default } => {
                let effective = self.input_path(thread, &state.input_path, raw)?;
                let ctx = self.context(thread, None, None);
                let mut next = None;
                for (rule, target) in choices {
                    if rule.eval(&effective, &ctx)? {
                        next = Some(target.clone());
                        break;
                    }
                }
                let next = match next.or_else(|| default.clone()) {
                    Some(n) => n,
                    None => {
                        return Err(Failure::new(
                            errors::NO_CHOICE_MATCHED,
                            format!("No Choice Rules matched and no Default is specified for the state '{}'.", state.name),
                        ))
                    }
                };
                self.exit_with(thread, effective, Some(next));
                Ok(())
            }
            Kind::Wait(w) => {
                let effective = self.input_path(thread, &state.input_path, raw)?;
                let now = self.now();
                let until = match w {
                    Wait::Seconds(s) => {
                        if *s as i64 >= MAX_WAIT_SECONDS {
                            return Err(Failure::runtime("Wait state delay is too long"));
                        }
                        now + SignedDuration::from_secs(*s as i64)
                    }
                    Wait::Timestamp(t) => *t,
                    Wait::SecondsPath(p) => {
                        let v = p.eval(&effective).map_err(|_| {
                            Failure::runtime(format!(
                                "The SecondsPath parameter does not reference an input value: {p}"
                            ))
                        })?;
                        let n = match v.as_i64() {
                            Some(n) => n,
                            None => {
                                return Err(Failure::runtime(format!(
                                    "The SecondsPath parameter cannot be parsed as a long value: {p} == {}",
                                    crate::compact(&v)
                                )))
                            }
                        };
                        if n < 0 {
                            return Err(Failure::runtime(format!(
                                "The SecondsPath parameter references a negative value: {p} == {n}"
                            )));
                        }
                        if n >= MAX_WAIT_SECONDS {
                            return Err(Failure::runtime("Wait state delay is too long"));
                        }
                        now + SignedDuration::from_secs(n)
                    }
                    Wait::TimestampPath(p) => {
                        let v = p.eval(&effective).map_err(|_| {
                            Failure::runtime(format!(
                                "The TimestampPath parameter does not reference an input value: {p}"
                            ))
                        })?;
                        let t = v.as_str().and_then(crate::choice::parse_timestamp).ok_or_else(|| {
                            Failure::runtime(format!(
                                "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: {p} == {}",
                                crate::compact(&v)
                            ))
                        })?;
                        if t.duration_since(now).as_secs() >= MAX_WAIT_SECONDS {
                            return Err(Failure::runtime("Wait state delay is too long"));
                        }
                        t
                    }
                };
                if until <= now {
                    self.exit_with(thread, effective, None);
                } else {
                    let timer = self.timer(until, TimerKind::Wait(thread));
                    if let Some(a) = self.active_mut(thread) {
                        a.phase = Phase::Wait { timer, effective };
                    }
                }
                Ok(())
            }
            Kind::Task(task) => {
                let effective = self.input_path(thread, &state.input_path, raw)?;
                let timeout =
                    self.resolve_seconds(thread, &task.timeout, "TimeoutSeconds", &effective)?;
                let heartbeat = match &task.heartbeat {
                    Some(h) => {
                        Some(self.resolve_seconds(thread, h, "HeartbeatSeconds", &effective)?)
                    }
                    None => None,
                };
                if timeout == 0 || heartbeat == Some(0) {
                    return Err(Failure::runtime(format!(
                        "{}TimeoutSeconds and HeartbeatSeconds must be positive",
                        self.prefix(thread)
                    )));
                }
                let token = task
                    .resource
                    .waits_for_task_token()
                    .then(|| self.new_token());
                let ctx = self.context(thread, token.as_deref(), None);
                let parameters = match &task.io.parameters {
                    Some(t) => t.eval(&effective, &ctx, &mut self.rng)?,
                    None => effective,
                };
                let task_id = self.id();
                let request = TaskRequest {
                    task_id,
                    state_name: state.name.clone(),
                    resource: task.resource.clone(),
                    resource_arn: task.resource_arn.clone(),
                    parameters: parameters.clone(),
                    task_token: token,
                    timeout_seconds: timeout,
                    heartbeat_seconds: heartbeat,
                };
                let (rtype, rname) = task.resource.history_names();
                if let Resource::LambdaFunction { function_arn } = &task.resource {
                    let mut d = json!({
                        "resource": function_arn,
                        "input": crate::compact(&parameters),
                        "inputDetails": {"truncated": false},
                    });
                    if !matches!(
                        task.timeout,
                        Seconds::Fixed(crate::definition::DEFAULT_TASK_TIMEOUT_SECONDS)
                    ) {
                        d["timeoutInSeconds"] = json!(timeout);
                    }
                    self.emit(Some(thread), "LambdaFunctionScheduled", Some(d));
                    self.emit(Some(thread), "LambdaFunctionStarted", None);
                } else {
                    let mut d = json!({
                        "resourceType": rtype,
                        "resource": rname,
                        "region": self.info.region(),
                        "parameters": crate::compact(&parameters),
                    });
                    if !matches!(
                        task.timeout,
                        Seconds::Fixed(crate::definition::DEFAULT_TASK_TIMEOUT_SECONDS)
                    ) {
                        d["timeoutInSeconds"] = json!(timeout);
                    }
                    if let Some(h) = heartbeat {
                        d["heartbeatInSeconds"] = json!(h);
                    }
                    self.emit(Some(thread), "TaskScheduled", Some(d));
                    self.emit(
                        Some(thread),
                        "TaskStarted",
                        Some(json!({"resourceType": rtype, "resource": rname})),
                    );
                }
                let now = self.now();
                let timeout_timer = self.timer(
                    now + SignedDuration::from_secs(timeout as i64),
                    TimerKind::TaskTimeout(task_id),
                );
                let heartbeat_timer = heartbeat.map(|h| {
                    self.timer(
                        now + SignedDuration::from_secs(h as i64),
                        TimerKind::Heartbeat(task_id),
                    )
                });
                self.tasks.insert(task_id, thread);
                self.out.push(Command::RunTask(request.clone()));
                if let Some(a) = self.active_mut(thread) {
                    a.phase = Phase::Task {
                        request,
                        timeout_timer,
                        heartbeat_timer,
                    };
                }
                Ok(())
            }
            Kind::Parallel { branches, io, .. } => {
                let effective = self.input_path(thread, &state.input_path, raw)?;
                let input = match &io.parameters {
                    Some(t) => {
                        let ctx = self.context(thread, None, None);
                        t.eval(&effective, &ctx, &mut self.rng)?
                    }
                    None => effective,
                };
                self.emit(Some(thread), "ParallelStateStarted", None);
                let scope = self.threads[&thread].scope.clone();
                let mut children = Vec::new();
                for (i, b) in branches.iter().enumerate() {
                    let mut s = scope.clone();
                    s.push(ScopeStep {
                        state: state.name.clone(),
                        branch: Some(i),
                    });
                    let child = self.new_thread(s, Some((thread, i)));
                    children.push(child);
                    self.queue.push_back(Work::Enter {
                        thread: child,
                        state: b.start_at.clone(),
                        input: input.clone(),
                    });
                }
                if let Some(a) = self.active_mut(thread) {
                    a.phase = Phase::Parallel {
                        results: vec![None; children.len()],
                        children,
                    };
                }
                Ok(())
            }
            Kind::Map(m) => {
                let effective = self.input_path(thread, &state.input_path, raw)?;
                let items = match &m.items_path {
                    DataPath::Root => effective.clone(),
                    DataPath::Null => json!({}),
                    DataPath::At(p) => p.eval(&effective).map_err(|miss| {
                        Failure::runtime(format!(
                            "{}Invalid path '{p}' : {miss}",
                            self.prefix(thread)
                        ))
                    })?,
                };
                let Value::Array(items) = items else {
                    return Err(Failure::runtime(format!(
                        "{}Item(s) at the ItemsPath must be a JSON array, got '{}'",
                        self.prefix(thread),
                        crate::compact(&items)
                    )));
                };
                let mc =
                    self.resolve_seconds(thread, &m.max_concurrency, "MaxConcurrency", &effective)?
                        as usize;
                let limit = if mc == 0 {
                    MAX_INLINE_MAP_CONCURRENCY
                } else {
                    mc.min(MAX_INLINE_MAP_CONCURRENCY)
                };
                self.emit(
                    Some(thread),
                    "MapStateStarted",
                    Some(json!({"length": items.len()})),
                );
                let n = items.len();
                if let Some(a) = self.active_mut(thread) {
                    a.phase = Phase::Map {
                        effective,
                        items,
                        next: 0,
                        limit,
                        running: BTreeMap::new(),
                        results: vec![None; n],
                    };
                }
                self.queue.push_back(Work::FillMap { thread });
                Ok(())
            }
        }
    }

    fn new_token(&mut self) -> String {
        let mut s = String::with_capacity(96);
        for _ in 0..6 {
            s.push_str(&format!("{:016x}", self.rng.next_u64()));
        }
        s
    }

    fn fill_map(&mut self, thread: u64) {
        let Some((state, _)) = self.state_of(thread) else {
            return;
        };
        let state = state.clone();
        let Kind::Map(m) = &state.kind else { return };
        loop {
            let Some(Phase::Map {
                items,
                next,
                limit,
                running,
                results,
                effective,
            }) = self.active_mut(thread).map(|a| &mut a.phase)
            else {
                return;
            };
            if results.iter().all(Option::is_some) {
                let out = Value::Array(
                    results
                        .iter_mut()
                        .map(|r| r.take().unwrap_or_default())
                        .collect(),
                );
                self.emit(Some(thread), "MapStateSucceeded", None);
                self.state_succeeded(thread, out);
                return;
            }
            if *next >= items.len() || running.len() >= *limit {
                return;
            }
            let index = *next;
            *next += 1;
            let item = items[index].clone();
            let effective = effective.clone();
            let input = match &m.item_selector {
                Some(t) => {
                    let ctx = self.context(thread, None, Some((index, &item)));
                    match t.eval(&effective, &ctx, &mut self.rng) {
                        Ok(v) => v,
                        Err(f) => {
                            self.abort_children(thread);
                            self.emit(Some(thread), "MapStateFailed", None);
                            self.state_failed(thread, f);
                            return;
                        }
                    }
                }
                None => item,
            };
            self.emit(
                Some(thread),
                "MapIterationStarted",
                Some(json!({"name": state.name, "index": index})),
            );
            let mut scope = self.threads[&thread].scope.clone();
            scope.push(ScopeStep {
                state: state.name.clone(),
                branch: None,
            });
            let child = self.new_thread(scope, Some((thread, index)));
            if let Some(Phase::Map { running, .. }) = self.active_mut(thread).map(|a| &mut a.phase)
            {
                running.insert(index, child);
            }
            self.queue.push_back(Work::Enter {
                thread: child,
                state: m.processor.start_at.clone(),
                input,
            });
        }
    }

    /// A branch, iteration or the root thread ended.
    fn thread_done(&mut self, thread: u64, result: Result<Value, Failure>) {
        let Some(t) = self.threads.get(&thread) else {
            return;
        };
        let parent = t.parent;
        let last = t.last_event;
        match parent {
            None => match result {
                Ok(v) => self.finish(Status::Succeeded, Some(v), None),
                Err(f) => self.finish(Status::Failed, None, Some(f)),
            },
            Some((p, slot)) => {
                self.threads.remove(&thread);
                if let Some(pt) = self.threads.get_mut(&p) {
                    pt.last_event = pt.last_event.max(last);
                }
                let is_map = matches!(
                    self.active_mut(p).map(|a| &a.phase),
                    Some(Phase::Map { .. })
                );
                let name = self
                    .active_mut(p)
                    .map(|a| a.name.clone())
                    .unwrap_or_default();
                match result {
                    Ok(v) => {
                        if is_map {
                            self.emit(
                                Some(p),
                                "MapIterationSucceeded",
                                Some(json!({"name": name, "index": slot})),
                            );
                            if let Some(Phase::Map {
                                running, results, ..
                            }) = self.active_mut(p).map(|a| &mut a.phase)
                            {
                                running.remove(&slot);
                                results[slot] = Some(v);
                            }
                            self.queue.push_back(Work::FillMap { thread: p });
                        } else {
                            let mut all = None;
                            if let Some(Phase::Parallel { results, .. }) =
                                self.active_mut(p).map(|a| &mut a.phase)
                            {
                                results[slot] = Some(v);
                                if results.iter().all(Option::is_some) {
                                    all = Some(Value::Array(
                                        results
                                            .iter_mut()
                                            .map(|r| r.take().unwrap_or_default())
                                            .collect(),
                                    ));
                                }
                            }
                            if let Some(out) = all {
                                self.emit(Some(p), "ParallelStateSucceeded", None);
                                self.state_succeeded(p, out);
                            }
                        }
                    }
                    Err(f) => {
                        let mut d = failure_details(&f);
                        if is_map {
                            d.insert("name".into(), json!(name));
                            d.insert("index".into(), json!(slot));
                            self.emit(Some(p), "MapIterationFailed", Some(Value::Object(d)));
                            if let Some(Phase::Map { running, .. }) =
                                self.active_mut(p).map(|a| &mut a.phase)
                            {
                                running.remove(&slot);
                            }
                        }
                        self.abort_children(p);
                        self.emit(
                            Some(p),
                            if is_map {
                                "MapStateFailed"
                            } else {
                                "ParallelStateFailed"
                            },
                            None,
                        );
                        self.state_failed(p, f);
                    }
                }
            }
        }
    }

    /// Ends the state successfully with a task-like `result`.
    fn state_succeeded(&mut self, thread: u64, result: Value) {
        let Some((state, active)) = self.state_of(thread) else {
            return;
        };
        let state = state.clone();
        let raw = active.raw_input.clone();
        let io: Option<&Io> = match &state.kind {
            Kind::Pass { io, .. } => Some(io),
            Kind::Task(t) => Some(&t.io),
            Kind::Parallel { io, .. } => Some(io),
            Kind::Map(m) => Some(&m.io),
            _ => None,
        };
        let Some(io) = io else { return };
        let r = (|| -> Result<Value, Failure> {
            let result = match &io.result_selector {
                Some(t) => {
                    let ctx = self.context(thread, None, None);
                    t.eval(&result, &ctx, &mut self.rng)?
                }
                None => result,
            };
            match &io.result_path {
                DataPath::Root => Ok(result),
                DataPath::Null => Ok(raw.clone()),
                DataPath::At(p) => {
                    let mut doc = raw.clone();
                    p.set(&mut doc, result).map_err(|m| {
                        Failure::new(
                            errors::RESULT_PATH_MATCH_FAILURE,
                            format!("{}{m}", self.prefix(thread)),
                        )
                    })?;
                    Ok(doc)
                }
            }
        })();
        match r {
            Ok(v) => self.exit_with(thread, v, None),
            Err(f) => self.state_failed(thread, f),
        }
    }

    /// Applies OutputPath, checks the size, records `…StateExited` and transitions.
    fn exit_with(&mut self, thread: u64, value: Value, choice_next: Option<String>) {
        let Some((state, _)) = self.state_of(thread) else {
            return;
        };
        let state = state.clone();
        let output = match self.input_path(thread, &state.output_path, &value) {
            Ok(v) => v,
            Err(f) => return self.state_failed(thread, f),
        };
        let size = size_of(&output);
        if size > MAX_PAYLOAD_BYTES {
            return self.state_failed(
                thread,
                Failure::new(
                    errors::DATA_LIMIT_EXCEEDED,
                    format!(
                        "The state/task '{}' returned a result with a size exceeding the maximum number of bytes service limit.",
                        state.name
                    ),
                ),
            );
        }
        self.emit(
            Some(thread),
            &format!("{}StateExited", state.kind.type_name()),
            Some(json!({
                "name": state.name,
                "output": crate::compact(&output),
                "outputDetails": {"truncated": false},
            })),
        );
        if let Some(t) = self.threads.get_mut(&thread) {
            t.active = None;
        }
        let next = match (&state.transition, choice_next) {
            (_, Some(n)) => Some(n),
            (Transition::Next(n), None) => Some(n.clone()),
            _ => None,
        };
        self.queue.push_back(match next {
            Some(n) => Work::Enter {
                thread,
                state: n,
                input: output,
            },
            None => Work::Done {
                thread,
                result: Ok(output),
            },
        });
    }

    /// The state failed: retry, catch, or fail the thread.
    fn state_failed(&mut self, thread: u64, f: Failure) {
        let Some((state, active)) = self.state_of(thread) else {
            return;
        };
        let state = state.clone();
        let raw = active.raw_input.clone();
        let (retry, catch): (&[Retrier], &[Catcher]) = match &state.kind {
            Kind::Task(t) => (&t.retry, &t.catch),
            Kind::Parallel { retry, catch, .. } => (retry, catch),
            Kind::Map(m) => (&m.retry, &m.catch),
            _ => (&[], &[]),
        };
        if let Some(i) = retry
            .iter()
            .position(|r| r.error_equals.iter().any(|e| error_matches(e, &f)))
        {
            let r = &retry[i];
            let count = self
                .active_mut(thread)
                .map(|a| a.retry_counts[i])
                .unwrap_or(0);
            if count < r.max_attempts {
                let mut delay = r.interval_seconds as f64 * r.backoff_rate.powi(count as i32);
                if let Some(max) = r.max_delay_seconds {
                    delay = delay.min(max as f64);
                }
                if r.jitter_full {
                    delay *= self.rng.next_f64();
                }
                let at = self.now() + SignedDuration::from_secs_f64(delay.min(1.0e9));
                let timer = self.timer(at, TimerKind::Backoff(thread));
                if let Some(a) = self.active_mut(thread) {
                    a.retry_counts[i] += 1;
                    a.retry_count += 1;
                    a.phase = Phase::Backoff { timer };
                }
                return;
            }
        }
        if let Some(c) = catch
            .iter()
            .find(|c| c.error_equals.iter().any(|e| error_matches(e, &f)))
        {
            let out = match &c.result_path {
                DataPath::Root => f.to_catch_output(),
                DataPath::Null => raw,
                DataPath::At(p) => {
                    let mut doc = raw;
                    if let Err(m) = p.set(&mut doc, f.to_catch_output()) {
                        let e = Failure::new(
                            errors::RESULT_PATH_MATCH_FAILURE,
                            format!("{}{m}", self.prefix(thread)),
                        );
                        self.queue.push_back(Work::Done {
                            thread,
                            result: Err(e),
                        });
                        return;
                    }
                    doc
                }
            };
            self.emit(
                Some(thread),
                &format!("{}StateExited", state.kind.type_name()),
                Some(json!({
                    "name": state.name,
                    "output": crate::compact(&out),
                    "outputDetails": {"truncated": false},
                })),
            );
            if let Some(t) = self.threads.get_mut(&thread) {
                t.active = None;
            }
            self.queue.push_back(Work::Enter {
                thread,
                state: c.next.clone(),
                input: out,
            });
            return;
        }
        self.queue.push_back(Work::Done {
            thread,
            result: Err(f),
        });
    }

    // ----- events ---------------------------------------------------------------------

    fn apply(&mut self, event: Event) -> Result<(), Rejected> {
        match event {
            Event::Stop { error, cause } => {
                let f = Failure::bare(error.unwrap_or_default(), cause);
                self.finish(Status::Aborted, None, Some(f));
                Ok(())
            }
            Event::TimerFired { timer_id } => {
                let Some((_, kind)) = self.timers.remove(&timer_id) else {
                    return Ok(()); // stale: cancelled or already handled
                };
                match kind {
                    TimerKind::ExecutionTimeout => {
                        let f = Failure::new(
                            errors::TIMEOUT,
                            "The execution timed out (TimeoutSeconds).".to_string(),
                        );
                        self.finish(Status::TimedOut, None, Some(f));
                    }
                    TimerKind::Wait(thread) => {
                        if let Some(Phase::Wait { effective, .. }) = self
                            .active_mut(thread)
                            .map(|a| std::mem::replace(&mut a.phase, Phase::Idle))
                        {
                            self.exit_with(thread, effective, None);
                        }
                    }
                    TimerKind::Backoff(thread) => {
                        if let Some(a) = self.active_mut(thread) {
                            a.phase = Phase::Idle;
                        }
                        self.queue.push_back(Work::Rerun { thread });
                    }
                    TimerKind::TaskTimeout(task) | TimerKind::Heartbeat(task) => {
                        let heartbeat = matches!(kind, TimerKind::Heartbeat(_));
                        let mut f = Failure::new(errors::TIMEOUT, "");
                        f.heartbeat = heartbeat;
                        self.out.push(Command::CancelTask { task_id: task });
                        self.task_ended(task, Err(f), true);
                    }
                }
                Ok(())
            }
            Event::TaskSubmitted { task_id, output } => {
                let thread = *self
                    .tasks
                    .get(&task_id)
                    .ok_or(Rejected::TaskNotPending(task_id))?;
                let names = self.task_names(thread);
                if let Some((rtype, rname)) = names {
                    self.emit(
                        Some(thread),
                        "TaskSubmitted",
                        Some(json!({
                            "resourceType": rtype, "resource": rname,
                            "output": crate::compact(&output), "outputDetails": {"truncated": false},
                        })),
                    );
                }
                Ok(())
            }
            Event::TaskHeartbeat { task_id } => {
                let thread = *self
                    .tasks
                    .get(&task_id)
                    .ok_or(Rejected::TaskNotPending(task_id))?;
                let now = self.now();
                let Some(Phase::Task {
                    request,
                    heartbeat_timer,
                    ..
                }) = self.active_mut(thread).map(|a| a.phase.clone())
                else {
                    return Err(Rejected::TaskNotPending(task_id));
                };
                if let (Some(old), Some(h)) = (heartbeat_timer, request.heartbeat_seconds) {
                    self.cancel_timer(old);
                    let new = self.timer(
                        now + SignedDuration::from_secs(h as i64),
                        TimerKind::Heartbeat(task_id),
                    );
                    if let Some(Phase::Task {
                        heartbeat_timer, ..
                    }) = self.active_mut(thread).map(|a| &mut a.phase)
                    {
                        *heartbeat_timer = Some(new);
                    }
                }
                Ok(())
            }
            Event::TaskSucceeded { task_id, output } => {
                if !self.tasks.contains_key(&task_id) {
                    return Err(Rejected::TaskNotPending(task_id));
                }
                self.task_ended(task_id, Ok(output), false);
                Ok(())
            }
            Event::TaskFailed {
                task_id,
                error,
                cause,
            } => {
                if !self.tasks.contains_key(&task_id) {
                    return Err(Rejected::TaskNotPending(task_id));
                }
                self.task_ended(
                    task_id,
                    Err(Failure::bare(error.unwrap_or_default(), cause)),
                    false,
                );
                Ok(())
            }
        }
    }

    fn task_names(&self, thread: u64) -> Option<(&'static str, String)> {
        match &self.state_of(thread)?.0.kind {
            Kind::Task(t) => Some(t.resource.history_names()),
            _ => None,
        }
    }

    fn task_ended(&mut self, task_id: u64, result: Result<Value, Failure>, timed_out: bool) {
        let Some(thread) = self.tasks.remove(&task_id) else {
            return;
        };
        let Some(Phase::Task {
            request,
            timeout_timer,
            heartbeat_timer,
        }) = self
            .active_mut(thread)
            .map(|a| std::mem::replace(&mut a.phase, Phase::Idle))
        else {
            return;
        };
        self.cancel_timer(timeout_timer);
        if let Some(h) = heartbeat_timer {
            self.cancel_timer(h);
        }
        let lambda_fn = matches!(request.resource, Resource::LambdaFunction { .. });
        let (rtype, rname) = request.resource.history_names();
        match result {
            Ok(output) => {
                let ty = if lambda_fn {
                    "LambdaFunctionSucceeded"
                } else {
                    "TaskSucceeded"
                };
                let mut d = json!({"output": crate::compact(&output), "outputDetails": {"truncated": false}});
                if !lambda_fn {
                    d["resourceType"] = json!(rtype);
                    d["resource"] = json!(rname);
                }
                self.emit(Some(thread), ty, Some(d));
                if size_of(&output) > MAX_PAYLOAD_BYTES {
                    let f = Failure::new(
                        errors::DATA_LIMIT_EXCEEDED,
                        format!(
                            "The state/task '{}' returned a result with a size exceeding the maximum number of bytes service limit.",
                            request.state_name
                        ),
                    );
                    return self.state_failed(thread, f);
                }
                self.state_succeeded(thread, output);
            }
            Err(f) => {
                let ty = match (lambda_fn, timed_out) {
                    (true, true) => "LambdaFunctionTimedOut",
                    (true, false) => "LambdaFunctionFailed",
                    (false, true) => "TaskTimedOut",
                    (false, false) => "TaskFailed",
                };
                let mut d = failure_details(&f);
                if !lambda_fn {
                    d.insert("resourceType".into(), json!(rtype));
                    d.insert("resource".into(), json!(rname));
                }
                self.emit(Some(thread), ty, Some(Value::Object(d)));
                self.state_failed(thread, f);
            }
        }
    }

    // ----- aborting and finishing -----------------------------------------------------

    /// Aborts every child thread of a Parallel/Map state (the state itself stays).
    fn abort_children(&mut self, thread: u64) {
        let children: Vec<(usize, u64)> = match self.active_mut(thread).map(|a| &a.phase) {
            Some(Phase::Parallel { children, .. }) => {
                children.iter().copied().enumerate().collect()
            }
            Some(Phase::Map { running, .. }) => running.iter().map(|(i, c)| (*i, *c)).collect(),
            _ => vec![],
        };
        let is_map = matches!(
            self.active_mut(thread).map(|a| &a.phase),
            Some(Phase::Map { .. })
        );
        let name = self
            .active_mut(thread)
            .map(|a| a.name.clone())
            .unwrap_or_default();
        for (slot, child) in children {
            if self.threads.contains_key(&child) {
                self.abort_thread(child);
                if is_map {
                    self.emit(
                        Some(thread),
                        "MapIterationAborted",
                        Some(json!({"name": name, "index": slot})),
                    );
                }
            }
        }
        if let Some(Phase::Map {
            running,
            next,
            items,
            ..
        }) = self.active_mut(thread).map(|a| &mut a.phase)
        {
            running.clear();
            *next = items.len();
        }
    }

    /// Aborts a thread and everything under it, recording `…Aborted` events.
    fn abort_thread(&mut self, thread: u64) {
        let Some(active) = self.threads.get(&thread).and_then(|t| t.active.clone()) else {
            self.threads.remove(&thread);
            return;
        };
        match active.phase {
            Phase::Task {
                request,
                timeout_timer,
                heartbeat_timer,
            } => {
                self.cancel_timer(timeout_timer);
                if let Some(h) = heartbeat_timer {
                    self.cancel_timer(h);
                }
                self.tasks.remove(&request.task_id);
                self.out.push(Command::CancelTask {
                    task_id: request.task_id,
                });
                self.emit(Some(thread), "TaskStateAborted", None);
            }
            Phase::Wait { timer, .. } => {
                self.cancel_timer(timer);
                self.emit(Some(thread), "WaitStateAborted", None);
            }
            Phase::Backoff { timer } => {
                self.cancel_timer(timer);
                let (s, _) = self.state_of(thread).expect("active state");
                let ty = format!("{}StateAborted", s.kind.type_name());
                self.emit(Some(thread), &ty, None);
            }
            Phase::Parallel { .. } => {
                self.abort_children(thread);
                self.emit(Some(thread), "ParallelStateAborted", None);
            }
            Phase::Map { .. } => {
                self.abort_children(thread);
                self.emit(Some(thread), "MapStateAborted", None);
            }
            Phase::Idle => {}
        }
        self.threads.remove(&thread);
    }

    fn finish(&mut self, status: Status, output: Option<Value>, failure: Option<Failure>) {
        if self.status != Status::Running {
            return;
        }
        let roots: Vec<u64> = self
            .threads
            .iter()
            .filter(|(_, t)| t.parent.is_none())
            .map(|(id, _)| *id)
            .collect();
        if status != Status::Succeeded && status != Status::Failed {
            for r in &roots {
                self.abort_thread(*r);
            }
        } else if status == Status::Failed {
            // A failure ends every branch still running elsewhere (history limit).
            for r in &roots {
                if self.threads.get(r).is_some_and(|t| t.active.is_some()) {
                    self.abort_thread(*r);
                }
            }
        }
        let timers: Vec<u64> = self.timers.keys().copied().collect();
        for t in timers {
            self.cancel_timer(t);
        }
        let f = failure.clone().unwrap_or_else(|| Failure::bare("", None));
        let (ty, details) = match status {
            Status::Succeeded => (
                "ExecutionSucceeded",
                json!({
                    "output": crate::compact(output.as_ref().unwrap_or(&Value::Null)),
                    "outputDetails": {"truncated": false},
                }),
            ),
            Status::Failed => ("ExecutionFailed", Value::Object(failure_details(&f))),
            Status::TimedOut => ("ExecutionTimedOut", Value::Object(failure_details(&f))),
            Status::Aborted => ("ExecutionAborted", Value::Object(failure_details(&f))),
            Status::Running => unreachable!(),
        };
        self.emit(None, ty, Some(details));
        self.threads.clear();
        self.tasks.clear();
        self.status = status;
        let outcome = Outcome {
            status,
            output,
            error: failure
                .as_ref()
                .and_then(|f| (!f.error.is_empty()).then(|| f.error.clone())),
            cause: failure.and_then(|f| f.cause),
        };
        self.outcome = Some(outcome.clone());
        self.out.push(Command::Finished(outcome));
    }
}
