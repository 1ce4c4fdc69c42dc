//! The local Step Functions runner: a worker of the local platform that runs
//! the template's state machines ([`machines`]) with the pure interpreter
//! [`nexus_asl`], binding it to
//!
//! - the template's functions, invoked in-process ([`lambda`]);
//! - the platform's adjustable [`LocalClock`]: Wait states, retry backoff,
//!   task and heartbeat timeouts and the execution timeout are timers on it,
//!   so `POST /_local/clock` fires them;
//! - the state directory: every execution (its interpreter state, history
//!   and issued task tokens) is written to `<state>/workflows/<id>.json`
//!   after each event it handles; a restarted platform resumes running
//!   executions, re-arms their timers and keeps their tokens.
//!
//! Its API ([`LocalWorkflows::start`], `describe`, `stop`,
//! `send_task_success`/`failure`/`heartbeat`) is Step Functions' own, with
//! its errors ([`RunnerError`], by AWS error name), so the `Workflows` port
//! maps onto it one call to one call.
//!
//! Semantics of the workflow type: a Standard execution is unique by name
//! (the same name and input while running answers the running execution;
//! another input, or a closed execution, is `ExecutionAlreadyExists`); an
//! Express execution is not (every start runs). Quotas ([`quotas`]) are off
//! unless asked for (`--aws-quotas`).
//!
//! What differs from AWS: a Lambda invocation in flight when the platform
//! stops is invoked again on restart (at least once across a crash); a
//! state transition beyond the quota is delayed, not refused.

pub mod graph;
pub mod lambda;
pub mod machines;
pub mod port;
pub mod quotas;
pub mod services;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use jiff::Timestamp;
use nexus_asl::{Command, Event, Execution, ExecutionInfo, Status, TaskRequest};
use nexus_core::time::Clock;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::Notify;

use crate::clock::LocalClock;
use crate::functions::{BoxFuture, Functions};
use crate::worker::{Activity, Shutdown, Worker};
pub use machines::{state_machine_arn, Machine, WorkflowType};
pub use quotas::Quotas;

/// Execution input and task output: at most 256 KiB.
pub const MAX_PAYLOAD_BYTES: usize = 262_144;
/// Task tokens: 1–2,048 characters.
pub const MAX_TOKEN_CHARS: usize = 2_048;

/// A refused call, by the error Step Functions answers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunnerError {
    #[error("ExecutionAlreadyExists: {0}")]
    ExecutionAlreadyExists(String),
    #[error("ExecutionDoesNotExist: {0}")]
    ExecutionDoesNotExist(String),
    #[error("StateMachineDoesNotExist: {0}")]
    StateMachineDoesNotExist(String),
    #[error("InvalidToken: {0}")]
    InvalidToken(String),
    #[error("TaskTimedOut: {0}")]
    TaskTimedOut(String),
    /// `ThrottlingException` (a quota bucket is empty).
    #[error("ThrottlingException: {0}")]
    Throttled(String),
    /// `InvalidName`, `InvalidExecutionInput`, `InvalidOutput`, `InvalidArn`,
    /// `ValidationException`.
    #[error("{code}: {message}")]
    Invalid { code: &'static str, message: String },
}

impl RunnerError {
    /// The AWS error name (`__type`).
    pub fn code(&self) -> &str {
        match self {
            Self::ExecutionAlreadyExists(_) => "ExecutionAlreadyExists",
            Self::ExecutionDoesNotExist(_) => "ExecutionDoesNotExist",
            Self::StateMachineDoesNotExist(_) => "StateMachineDoesNotExist",
            Self::InvalidToken(_) => "InvalidToken",
            Self::TaskTimedOut(_) => "TaskTimedOut",
            Self::Throttled(_) => "ThrottlingException",
            Self::Invalid { code, .. } => code,
        }
    }

    pub fn message(&self) -> &str {
        match self {
            Self::ExecutionAlreadyExists(m)
            | Self::ExecutionDoesNotExist(m)
            | Self::StateMachineDoesNotExist(m)
            | Self::InvalidToken(m)
            | Self::TaskTimedOut(m)
            | Self::Throttled(m) => m,
            Self::Invalid { message, .. } => message,
        }
    }
}

/// What `StartExecution` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Started {
    pub execution_arn: String,
    pub start_date: Timestamp,
}

/// One execution as `DescribeExecution` (and `GET /_local/executions/{id}`) shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionView {
    /// The local id: `<state machine logical id>:<name>` (Express: `…:<uuid>`).
    pub id: String,
    pub execution_arn: String,
    pub state_machine_arn: String,
    pub state_machine: String,
    #[serde(rename = "type")]
    pub kind: WorkflowType,
    pub name: String,
    pub status: Status,
    pub start_date: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_date: Option<Timestamp>,
    pub input: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
}

/// One execution as persisted.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Record {
    id: String,
    machine: String,
    kind: WorkflowType,
    execution: Execution,
    #[serde(default)]
    stop_date: Option<Timestamp>,
    /// Every token this execution issued: an answer to one no longer
    /// pending is `TaskTimedOut`, not `InvalidToken`.
    #[serde(default)]
    tokens: Vec<String>,
    /// Tasks whose invocation returned (a callback task then waits for its
    /// token only): not invoked again after a restart.
    #[serde(default)]
    invoked: BTreeSet<u64>,
}

impl Record {
    fn view(&self) -> ExecutionView {
        let info = self.execution.info();
        let outcome = self.execution.outcome();
        ExecutionView {
            id: self.id.clone(),
            execution_arn: info.execution_arn.clone(),
            state_machine_arn: info.state_machine_arn.clone(),
            state_machine: self.machine.clone(),
            kind: self.kind,
            name: info.name.clone(),
            status: self.execution.status(),
            start_date: self.execution.start_time(),
            stop_date: self.stop_date,
            input: self.execution.input().clone(),
            output: outcome.and_then(|o| o.output.clone()),
            error: outcome.and_then(|o| o.error.clone()),
            cause: outcome.and_then(|o| o.cause.clone()),
        }
    }
}

#[derive(Default)]
struct Runs {
    records: BTreeMap<String, Record>,
    /// Token → execution id.
    tokens: HashMap<String, String>,
    /// (due, execution id, timer id).
    timers: BTreeSet<(Timestamp, String, u64)>,
    /// Invocations in flight, to abort on `CancelTask`.
    running: HashMap<(String, u64), tokio::task::AbortHandle>,
}

struct Shared {
    machines: BTreeMap<String, Machine>,
    functions: Functions,
    clock: Arc<LocalClock>,
    dir: PathBuf,
    runs: Mutex<Runs>,
    activity: Arc<Activity>,
    wake: Notify,
    quotas: Option<Quotas>,
    tick: Duration,
    /// DynamoDB, the event bus and queues for the non-Lambda integrations
    /// (attached by the platform once they exist).
    services: std::sync::OnceLock<services::Services>,
}

/// The runner (cheap to clone).
#[derive(Clone)]
pub struct LocalWorkflows {
    shared: Arc<Shared>,
}

/// The id of an execution from its ARN: what follows
/// `arn:aws:states:<region>:<account>:execution:` (or `:express:`).
pub fn id_of_arn(arn: &str) -> Option<&str> {
    let mut parts = arn.splitn(7, ':');
    let ok = parts.next() == Some("arn")
        && parts.next().is_some_and(|p| p.starts_with("aws"))
        && parts.next() == Some("states");
    let _region = parts.next();
    let _account = parts.next();
    let kind = parts.next();
    (ok && matches!(kind, Some("execution" | "express")))
        .then(|| parts.next())
        .flatten()
        .filter(|id| !id.is_empty())
}

/// AWS's execution-name rule: 1–80 characters, no whitespace, brackets,
/// wildcards, ``"#%\^|~`$&,;:/`` or control characters.
pub fn check_name(name: &str) -> Result<(), RunnerError> {
    let bad = name.is_empty()
        || name.chars().count() > 80
        || name
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>{}[]?*\"#%\\^|~`$&,;:/".contains(c));
    if bad {
        return Err(RunnerError::Invalid {
            code: "InvalidName",
            message: format!("Invalid Name: '{name}'"),
        });
    }
    Ok(())
}

fn lock(m: &Mutex<Runs>) -> MutexGuard<'_, Runs> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl LocalWorkflows {
    /// Open the runner over `dir` (`<state>/workflows`), loading persisted
    /// executions. Call [`LocalWorkflows::resume`] inside the runtime to
    /// re-arm timers and re-invoke interrupted tasks.
    pub fn open(
        machines: Vec<Machine>,
        functions: Functions,
        clock: Arc<LocalClock>,
        dir: PathBuf,
        quotas: Option<Quotas>,
        tick: Duration,
    ) -> Result<Self, String> {
        std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        let mut runs = Runs::default();
        let entries =
            std::fs::read_dir(&dir).map_err(|e| format!("reading {}: {e}", dir.display()))?;
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            let text = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let record: Record = serde_json::from_slice(&text).map_err(|e| {
                format!(
                    "{}: {e} (delete it, or run with --fresh, to drop this execution)",
                    path.display()
                )
            })?;
            for t in &record.tokens {
                runs.tokens.insert(t.clone(), record.id.clone());
            }
            if record.execution.status() == Status::Running {
                for (timer, at) in record.execution.pending_timers() {
                    runs.timers.insert((at, record.id.clone(), timer));
                }
            }
            runs.records.insert(record.id.clone(), record);
        }
        Ok(Self {
            shared: Arc::new(Shared {
                machines: machines.into_iter().map(|m| (m.arn.clone(), m)).collect(),
                functions,
                clock,
                dir,
                runs: Mutex::new(runs),
                activity: Arc::new(Activity::polling()),
                wake: Notify::new(),
                quotas,
                tick,
                services: std::sync::OnceLock::new(),
            }),
        })
    }

    /// Give the DynamoDB, EventBridge and SQS integrations what they act on
    /// (once; before [`LocalWorkflows::resume`] so resumed tasks have it).
    pub fn attach_services(&self, services: services::Services) {
        let _ = self.shared.services.set(services);
    }

    /// Invoke again the tasks of running executions whose invocation had
    /// not returned when the platform stopped (callbacks already submitted
    /// keep waiting for their token). Needs a tokio runtime; call it once,
    /// right after [`LocalWorkflows::open`] and before any start (the
    /// platform does), or it would re-invoke tasks of new executions.
    pub fn resume(&self) {
        let mut runs = lock(&self.shared.runs);
        let pending: Vec<(String, TaskRequest)> = runs
            .records
            .values()
            .filter(|r| r.execution.status() == Status::Running)
            .flat_map(|r| {
                r.execution
                    .pending_tasks()
                    .into_iter()
                    .filter(|t| !r.invoked.contains(&t.task_id))
                    .map(|t| (r.id.clone(), t.clone()))
                    .collect::<Vec<_>>()
            })
            .collect();
        for (id, task) in pending {
            tracing::info!(execution = %id, state = %task.state_name, "re-invoking a task interrupted by a restart");
            self.spawn_task(&mut runs, id, task);
        }
    }

    /// The loaded state machines.
    pub fn machines(&self) -> impl Iterator<Item = &Machine> {
        self.shared.machines.values()
    }

    /// The state machine `arn_or_id` (its ARN or logical id).
    pub fn machine(&self, arn_or_id: &str) -> Option<&Machine> {
        self.shared.machines.get(arn_or_id).or_else(|| {
            self.shared
                .machines
                .values()
                .find(|m| m.logical_id == arn_or_id)
        })
    }

    /// Look at the clock now (it was moved): fire what is due.
    pub fn wake(&self) {
        self.shared.wake.notify_one();
    }

    /// Whether AWS quotas are simulated.
    pub fn quotas_on(&self) -> bool {
        self.shared.quotas.is_some()
    }

    fn now(&self) -> Timestamp {
        self.shared.clock.now()
    }

    /// `StartExecution`: start `machine_arn` under `name` (a UUID when
    /// absent) with `input`.
    pub fn start(
        &self,
        machine_arn: &str,
        name: Option<&str>,
        input: &Value,
    ) -> Result<Started, RunnerError> {
        let machine = self.machine(machine_arn).ok_or_else(|| {
            RunnerError::StateMachineDoesNotExist(format!(
                "State Machine Does Not Exist: '{machine_arn}'"
            ))
        })?;
        let name = name.map_or_else(crate::uuid4, str::to_owned);
        check_name(&name)?;
        let size = serde_json::to_vec(input).map_or(0, |b| b.len());
        if size > MAX_PAYLOAD_BYTES {
            return Err(RunnerError::Invalid {
                code: "InvalidExecutionInput",
                message: format!(
                    "The input is {size} bytes; Step Functions accepts at most {MAX_PAYLOAD_BYTES}"
                ),
            });
        }
        let (id, arn_kind) = match machine.kind {
            WorkflowType::Standard => (format!("{}:{name}", machine.logical_id), "execution"),
            WorkflowType::Express => (
                format!("{}:{name}:{}", machine.logical_id, crate::uuid4()),
                "express",
            ),
        };
        let execution_arn = format!(
            "arn:aws:states:{}:{}:{arn_kind}:{id}",
            crate::REGION,
            crate::ACCOUNT_ID
        );
        let mut runs = lock(&self.shared.runs);
        if let Some(existing) = runs.records.get(&id) {
            let same = existing.execution.input() == input;
            if same && existing.execution.status() == Status::Running {
                return Ok(Started {
                    execution_arn,
                    start_date: existing.execution.start_time(),
                });
            }
            return Err(RunnerError::ExecutionAlreadyExists(format!(
                "Execution Already Exists: '{execution_arn}'"
            )));
        }
        if let Some(q) = &self.shared.quotas {
            q.start_execution(machine.kind)?;
        }
        let info = ExecutionInfo {
            execution_arn: execution_arn.clone(),
            name,
            role_arn: format!(
                "arn:aws:iam::{}:role/{}Role",
                crate::ACCOUNT_ID,
                machine.logical_id
            ),
            state_machine_arn: machine.arn.clone(),
            state_machine_name: machine.logical_id.clone(),
            seed: rand::random(),
        };
        let now = self.now();
        let (execution, commands) =
            Execution::start(machine.definition.clone(), input.clone(), info, now).map_err(
                |e| RunnerError::Invalid {
                    code: "InvalidExecutionInput",
                    message: e.to_string(),
                },
            )?;
        self.charge_transitions(&execution, 0);
        runs.records.insert(
            id.clone(),
            Record {
                id: id.clone(),
                machine: machine.logical_id.clone(),
                kind: machine.kind,
                execution,
                stop_date: None,
                tokens: vec![],
                invoked: BTreeSet::new(),
            },
        );
        self.carry_out(&mut runs, &id, commands, now);
        drop(runs);
        self.shared.activity.took(1);
        self.shared.wake.notify_one();
        Ok(Started {
            execution_arn,
            start_date: now,
        })
    }

    /// `DescribeExecution` (Standard executions; Express ones are not
    /// described by Step Functions, see [`LocalWorkflows::get`]).
    pub fn describe(&self, execution_arn: &str) -> Result<ExecutionView, RunnerError> {
        let missing = || {
            RunnerError::ExecutionDoesNotExist(format!(
                "Execution Does Not Exist: '{execution_arn}'"
            ))
        };
        let view = id_of_arn(execution_arn)
            .and_then(|id| self.get(id))
            .ok_or_else(missing)?;
        if view.kind == WorkflowType::Express || view.execution_arn != execution_arn {
            return Err(missing());
        }
        Ok(view)
    }

    /// An execution by local id (any type).
    pub fn get(&self, id: &str) -> Option<ExecutionView> {
        lock(&self.shared.runs).records.get(id).map(Record::view)
    }

    /// An execution's history, as `GetExecutionHistory` renders it.
    pub fn history(&self, id: &str) -> Option<Vec<Value>> {
        lock(&self.shared.runs).records.get(id).map(|r| {
            r.execution
                .history()
                .iter()
                .map(|e| e.to_aws_json())
                .collect()
        })
    }

    /// Executions, newest first, filtered by state machine (ARN or logical
    /// id) and status.
    pub fn list(&self, machine: Option<&str>, status: Option<Status>) -> Vec<ExecutionView> {
        let machine = machine.map(|m| self.machine(m).map_or(m, |m| m.logical_id.as_str()));
        let runs = lock(&self.shared.runs);
        let mut out: Vec<ExecutionView> = runs
            .records
            .values()
            .filter(|r| machine.is_none_or(|m| r.machine == m))
            .filter(|r| status.is_none_or(|s| r.execution.status() == s))
            .map(Record::view)
            .collect();
        out.sort_by(|a, b| b.start_date.cmp(&a.start_date).then(a.id.cmp(&b.id)));
        out
    }

    /// What the graph page draws: the definition and the history.
    pub fn graph_page(&self, id: &str) -> Option<String> {
        let runs = lock(&self.shared.runs);
        let r = runs.records.get(id)?;
        Some(graph::page(&r.view(), &r.execution))
    }

    /// `StopExecution`: abort a running execution; answers the stop date
    /// (a closed execution keeps the one it has).
    pub fn stop(
        &self,
        execution_arn: &str,
        error: Option<&str>,
        cause: Option<&str>,
    ) -> Result<Timestamp, RunnerError> {
        check_error_cause(error, cause)?;
        let id = id_of_arn(execution_arn)
            .filter(|id| lock(&self.shared.runs).records.contains_key(*id))
            .ok_or_else(|| {
                RunnerError::ExecutionDoesNotExist(format!(
                    "Execution Does Not Exist: '{execution_arn}'"
                ))
            })?
            .to_owned();
        let _ = self.apply(
            &id,
            Event::Stop {
                error: error.map(str::to_owned),
                cause: cause.map(str::to_owned),
            },
        );
        let runs = lock(&self.shared.runs);
        Ok(runs
            .records
            .get(&id)
            .and_then(|r| r.stop_date)
            .unwrap_or_else(|| self.now()))
    }

    /// The execution id and task id waiting on `token`.
    fn task_of(&self, token: &str) -> Result<(String, u64), RunnerError> {
        if token.is_empty() || token.chars().count() > MAX_TOKEN_CHARS {
            return Err(RunnerError::InvalidToken(format!(
                "Invalid token: a task token has 1 to {MAX_TOKEN_CHARS} characters"
            )));
        }
        let runs = lock(&self.shared.runs);
        let id = runs
            .tokens
            .get(token)
            .ok_or_else(|| RunnerError::InvalidToken("Invalid token".into()))?;
        runs.records
            .get(id)
            .and_then(|r| r.execution.task_for_token(token))
            .map(|task| (id.clone(), task))
            .ok_or_else(|| {
                RunnerError::TaskTimedOut(
                    "Task Timed Out: 'Provided task does not exist anymore'".into(),
                )
            })
    }

    fn answer(&self, token: &str, event: impl FnOnce(u64) -> Event) -> Result<(), RunnerError> {
        let (id, task) = self.task_of(token)?;
        self.apply(&id, event(task)).map_err(|_| {
            RunnerError::TaskTimedOut(
                "Task Timed Out: 'Provided task does not exist anymore'".into(),
            )
        })
    }

    /// `SendTaskSuccess`: the waiting task's result is exactly `output`.
    pub fn send_task_success(&self, token: &str, output: &Value) -> Result<(), RunnerError> {
        let size = serde_json::to_vec(output).map_or(0, |b| b.len());
        if size > MAX_PAYLOAD_BYTES {
            return Err(RunnerError::Invalid {
                code: "InvalidOutput",
                message: format!("The output is {size} bytes; at most {MAX_PAYLOAD_BYTES}"),
            });
        }
        self.answer(token, |task_id| Event::TaskSucceeded {
            task_id,
            output: output.clone(),
        })
    }

    /// `SendTaskFailure`: the waiting task fails with `error`/`cause`.
    pub fn send_task_failure(
        &self,
        token: &str,
        error: Option<&str>,
        cause: Option<&str>,
    ) -> Result<(), RunnerError> {
        check_error_cause(error, cause)?;
        self.answer(token, |task_id| Event::TaskFailed {
            task_id,
            error: error.map(str::to_owned),
            cause: cause.map(str::to_owned),
        })
    }

    /// `SendTaskHeartbeat`: restart the task's heartbeat clock.
    pub fn send_task_heartbeat(&self, token: &str) -> Result<(), RunnerError> {
        self.answer(token, |task_id| Event::TaskHeartbeat { task_id })
    }

    /// Fire every timer due on the clock; answers how many fired.
    pub fn fire_due_timers(&self) -> usize {
        let mut fired = 0;
        loop {
            let now = self.now();
            let due = {
                let mut runs = lock(&self.shared.runs);
                let first = runs.timers.iter().next().cloned();
                match first {
                    Some(t) if t.0 <= now => {
                        if let Some(q) = &self.shared.quotas {
                            if !q.may_transition() {
                                return fired;
                            }
                        }
                        runs.timers.remove(&t);
                        t
                    }
                    _ => return fired,
                }
            };
            let (_, id, timer_id) = due;
            if self.apply(&id, Event::TimerFired { timer_id }).is_ok() {
                fired += 1;
            }
        }
    }

    /// Hand `event` to execution `id`, carry out what it asks, persist it.
    fn apply(&self, id: &str, event: Event) -> Result<(), nexus_asl::Rejected> {
        let now = self.now();
        let mut runs = lock(&self.shared.runs);
        let Some(record) = runs.records.get_mut(id) else {
            return Err(nexus_asl::Rejected::NotRunning);
        };
        if let Event::TaskSubmitted { task_id, .. } = &event {
            record.invoked.insert(*task_id);
        }
        let before = record.execution.history().len();
        let commands = record.execution.handle(event, now)?;
        self.charge_transitions(&record.execution, before);
        self.carry_out(&mut runs, id, commands, now);
        drop(runs);
        self.shared.activity.took(1);
        self.shared.wake.notify_one();
        Ok(())
    }

    /// Take a StateTransition token per state entered since history event `from`.
    fn charge_transitions(&self, execution: &Execution, from: usize) {
        if let Some(q) = &self.shared.quotas {
            let history = execution.history();
            let entered = history[from.min(history.len())..]
                .iter()
                .filter(|e| e.event_type.ends_with("StateEntered"))
                .count();
            q.transitions(entered as u64);
        }
    }

    fn carry_out(&self, runs: &mut Runs, id: &str, commands: Vec<Command>, now: Timestamp) {
        for command in commands {
            match command {
                Command::RunTask(task) => {
                    if let Some(token) = &task.task_token {
                        runs.tokens.insert(token.clone(), id.to_owned());
                        if let Some(r) = runs.records.get_mut(id) {
                            r.tokens.push(token.clone());
                        }
                    }
                    self.spawn_task(runs, id.to_owned(), task);
                }
                Command::CancelTask { task_id } => {
                    if let Some(h) = runs.running.remove(&(id.to_owned(), task_id)) {
                        h.abort();
                    }
                }
                Command::StartTimer { timer_id, at } => {
                    runs.timers.insert((at, id.to_owned(), timer_id));
                }
                Command::CancelTimer { timer_id } => {
                    runs.timers.retain(|(_, i, t)| !(i == id && *t == timer_id));
                }
                Command::Finished(outcome) => {
                    tracing::info!(execution = %id, status = ?outcome.status, "execution finished");
                    if let Some(r) = runs.records.get_mut(id) {
                        r.stop_date = Some(now);
                    }
                    runs.timers.retain(|(_, i, _)| i != id);
                }
            }
        }
        if let Some(r) = runs.records.get(id) {
            self.persist(r);
        }
    }

    fn persist(&self, record: &Record) {
        let path = self.shared.dir.join(format!("{}.json", record.id));
        let written = serde_json::to_vec(record)
            .map_err(|e| e.to_string())
            .and_then(|bytes| crate::state::write_atomic(&path, &bytes).map_err(|e| e.to_string()));
        if let Err(e) = written {
            tracing::error!(execution = %record.id, "could not persist the execution to {}: {e}", path.display());
        }
    }

    fn spawn_task(&self, runs: &mut Runs, id: String, task: TaskRequest) {
        let me = self.clone();
        let busy = self.shared.activity.begin();
        let key = (id.clone(), task.task_id);
        let handle = tokio::spawn(async move {
            let _busy = busy;
            let event = match &task.resource {
                nexus_asl::Resource::LambdaInvoke { .. }
                | nexus_asl::Resource::LambdaFunction { .. } => {
                    match me.shared.quotas.as_ref().map(|q| q.lambda_slot()) {
                        // The account's concurrency is in use: Lambda refuses the invoke.
                        Some(None) => Event::TaskFailed {
                            task_id: task.task_id,
                            error: Some("Lambda.TooManyRequestsException".into()),
                            cause: Some(format!(
                                "Rate Exceeded. (Service: AWSLambda; Status Code: 429; Error Code: \
                                 TooManyRequestsException; Request ID: {}; Proxy: null)",
                                crate::uuid4()
                            )),
                        },
                        Some(Some(_slot)) => lambda::perform(&me.shared.functions, &task).await,
                        None => lambda::perform(&me.shared.functions, &task).await,
                    }
                }
                _ => match me.shared.services.get() {
                    Some(s) => services::perform(s, &task).await,
                    None => Event::TaskFailed {
                        task_id: task.task_id,
                        error: Some("States.Runtime".into()),
                        cause: Some("the local runner has no services attached".into()),
                    },
                },
            };
            if let Some(q) = &me.shared.quotas {
                while !q.may_transition() {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
            lock(&me.shared.runs)
                .running
                .remove(&(id.clone(), task.task_id));
            if let Event::TaskSucceeded { .. } | Event::TaskFailed { .. } = &event {
                if let Some(r) = lock(&me.shared.runs).records.get_mut(&id) {
                    r.invoked.insert(task.task_id);
                }
            }
            // Rejected: the task timed out or the execution stopped meanwhile.
            let _ = me.apply(&id, event);
        });
        runs.running.insert(key, handle.abort_handle());
    }
}

fn check_error_cause(error: Option<&str>, cause: Option<&str>) -> Result<(), RunnerError> {
    if error.is_some_and(|e| e.chars().count() > 256) {
        return Err(RunnerError::Invalid {
            code: "ValidationException",
            message: "error: at most 256 characters".into(),
        });
    }
    if cause.is_some_and(|c| c.chars().count() > 32_768) {
        return Err(RunnerError::Invalid {
            code: "ValidationException",
            message: "cause: at most 32768 characters".into(),
        });
    }
    Ok(())
}

impl Worker for LocalWorkflows {
    fn name(&self) -> String {
        "workflows runner".into()
    }

    fn activity(&self) -> Arc<Activity> {
        self.shared.activity.clone()
    }

    fn run(self: Arc<Self>, mut shutdown: Shutdown) -> BoxFuture<()> {
        Box::pin(async move {
            loop {
                let tick = self.shared.activity.tick();
                if self.fire_due_timers() == 0 {
                    self.shared.activity.idle_at(tick);
                }
                tokio::select! {
                    _ = shutdown.triggered() => return,
                    _ = tokio::time::sleep(self.shared.tick) => {}
                    _ = self.shared.wake.notified() => {}
                }
            }
        })
    }
}
