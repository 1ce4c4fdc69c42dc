//! `run_without_tasks`: runs a definition that has no Task states to completion on a
//! virtual clock (Waits and retry backoffs elapse instantly), reporting what AWS would.
//! Backs the local platform's `POST /_local/asl/run`.

use crate::definition::Definition;
use crate::execution::{Command, Event, Execution, ExecutionInfo, Outcome, StartError, Status};
use jiff::Timestamp;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

/// `{status: SUCCEEDED, output}` or `{status: FAILED|TIMED_OUT, error, cause}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunResult {
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// The virtual time when the execution ended.
    #[serde(skip)]
    pub ended_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunError {
    #[error("the definition has Task states; run it on the local platform instead")]
    HasTasks,
    #[error(transparent)]
    Start(#[from] StartError),
}

/// Runs `def` on `input` from `now`, with a fixed seed (seed 0) for randomness.
pub fn run_without_tasks(
    def: &Definition,
    input: Value,
    now: Timestamp,
) -> Result<RunResult, RunError> {
    run_without_tasks_seeded(def, input, now, 0)
}

/// As [`run_without_tasks`], choosing the seed of `States.UUID`/`States.MathRandom`/jitter.
pub fn run_without_tasks_seeded(
    def: &Definition,
    input: Value,
    now: Timestamp,
    seed: u64,
) -> Result<RunResult, RunError> {
    if def.has_task_states() {
        return Err(RunError::HasTasks);
    }
    let info = ExecutionInfo::local("local-run", "local-run", seed);
    let (mut ex, mut commands) = Execution::start(Arc::new(def.clone()), input, info, now)?;
    let mut clock = now;
    let mut timers: BTreeMap<u64, Timestamp> = BTreeMap::new();
    loop {
        for c in commands.drain(..) {
            match c {
                Command::StartTimer { timer_id, at } => {
                    timers.insert(timer_id, at);
                }
                Command::CancelTimer { timer_id } => {
                    timers.remove(&timer_id);
                }
                Command::Finished(Outcome {
                    status,
                    output,
                    error,
                    cause,
                }) => {
                    return Ok(RunResult {
                        status,
                        output,
                        error,
                        cause,
                        ended_at: clock,
                    })
                }
                Command::RunTask(_) | Command::CancelTask { .. } => {
                    unreachable!("definitions with tasks are refused above")
                }
            }
        }
        let (&id, &at) = timers
            .iter()
            .min_by_key(|(id, at)| (**at, **id))
            .expect("a running execution without tasks always has a timer pending");
        timers.remove(&id);
        clock = clock.max(at);
        commands = ex
            .handle(Event::TimerFired { timer_id: id }, clock)
            .expect("the execution is running");
    }
}
