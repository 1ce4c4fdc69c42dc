//! Amazon States Language interpreter (JSONPath mode) for the NEXUS local platform.
//!
//! Pure: no I/O, no clock, no randomness of its own. The host (the local runner)
//! - loads definitions with [`Definition::parse`], which refuses what is not implemented
//!   (JSONata, `Assign`, Distributed Map, unknown fields, structural errors), naming the
//!   file, the state and the field;
//! - starts an [`Execution`] and carries out the [`Command`]s it returns (run a task,
//!   arm/cancel a timer, report the end), reporting back [`Event`]s;
//! - persists the `Execution` (serde) after every step to resume it exactly.
//!
//! Semantics follow what AWS does, as recorded in the team reference note
//! (`workflows-and-events.md` §1), over the spec's text where they differ: path misses are
//! `States.Runtime` and uncatchable; heartbeat expiry is `States.Timeout`; a
//! Parallel/Map failure carries the branch's own error; `InputPath`/`OutputPath` `null`
//! give `{}`; task timeouts default to 99999999 s.
//!
//! [`run_without_tasks`] runs a Task-free definition synchronously on a virtual clock.

pub mod choice;
pub mod definition;
pub mod error;
pub mod execution;
pub mod history;
pub mod intrinsics;
pub mod path;
pub mod rng;
pub mod run;
pub mod template;

pub use definition::{Definition, Resource};
pub use error::{Failure, LoadError};
pub use execution::{
    Command, Event, Execution, ExecutionInfo, Outcome, Rejected, StartError, Status, TaskRequest,
};
pub use history::HistoryEvent;
pub use run::{run_without_tasks, run_without_tasks_seeded, RunError, RunResult};

/// Compact JSON text (as AWS prints inputs and outputs in errors and history).
pub fn compact(v: &serde_json::Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}
