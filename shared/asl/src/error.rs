//! The two kinds of failure: a definition refused at load time, and a state error at run
//! time (an `Error` name with an optional `Cause`, as AWS reports them).

use serde::{Deserialize, Serialize};
use std::fmt;

/// A definition the interpreter refuses, naming the file, the state (its path through
/// Parallel branches and Map processors) and the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    /// The definition's source name (e.g. `statemachines/moderation.asl.json`).
    pub source: String,
    /// `Outer.Branches[1].Inner` style path of the state, when the problem is in one.
    pub state: Option<String>,
    /// The offending field (`Next`, `Retry[0].ErrorEquals`, …), when there is one.
    pub field: Option<String>,
    pub message: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.source)?;
        if let Some(s) = &self.state {
            write!(f, ": state '{s}'")?;
        }
        if let Some(fl) = &self.field {
            write!(f, ", field '{fl}'")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for LoadError {}

/// A run-time error of a state or an execution. An empty `error` means none was given
/// (a `Fail` state without `Error`, `SendTaskFailure` without `error`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub error: String,
    pub cause: Option<String>,
    /// Set for a heartbeat expiry: AWS names it `States.Timeout`, but a retrier or catcher
    /// naming `States.HeartbeatTimeout` still matches it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub heartbeat: bool,
}

impl Failure {
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        Failure {
            error: error.into(),
            cause: Some(cause.into()),
            heartbeat: false,
        }
    }

    pub fn bare(error: impl Into<String>, cause: Option<String>) -> Self {
        Failure {
            error: error.into(),
            cause,
            heartbeat: false,
        }
    }

    /// `States.Runtime`: never retried, never caught.
    pub fn runtime(cause: impl Into<String>) -> Self {
        Failure::new(errors::RUNTIME, cause)
    }

    /// The `{"Error", "Cause"}` object a catcher writes at its `ResultPath`.
    pub fn to_catch_output(&self) -> serde_json::Value {
        let error = (!self.error.is_empty()).then_some(self.error.as_str());
        serde_json::json!({"Error": error, "Cause": self.cause})
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.cause {
            Some(c) => write!(f, "{}: {c}", self.error),
            None => f.write_str(&self.error),
        }
    }
}

/// The predefined error names.
pub mod errors {
    pub const ALL: &str = "States.ALL";
    pub const TASK_FAILED: &str = "States.TaskFailed";
    pub const TIMEOUT: &str = "States.Timeout";
    pub const HEARTBEAT_TIMEOUT: &str = "States.HeartbeatTimeout";
    pub const RUNTIME: &str = "States.Runtime";
    pub const DATA_LIMIT_EXCEEDED: &str = "States.DataLimitExceeded";
    pub const PERMISSIONS: &str = "States.Permissions";
    pub const RESULT_PATH_MATCH_FAILURE: &str = "States.ResultPathMatchFailure";
    pub const PARAMETER_PATH_FAILURE: &str = "States.ParameterPathFailure";
    pub const BRANCH_FAILED: &str = "States.BranchFailed";
    pub const NO_CHOICE_MATCHED: &str = "States.NoChoiceMatched";
    pub const INTRINSIC_FAILURE: &str = "States.IntrinsicFailure";
    pub const EXCEED_TOLERATED_FAILURE_THRESHOLD: &str = "States.ExceedToleratedFailureThreshold";
    pub const ITEM_READER_FAILED: &str = "States.ItemReaderFailed";
    pub const RESULT_WRITER_FAILED: &str = "States.ResultWriterFailed";
    pub const QUERY_EVALUATION_ERROR: &str = "States.QueryEvaluationError";

    /// Every `States.*` name a definition may use in `ErrorEquals`.
    pub const PREDEFINED: &[&str] = &[
        ALL,
        TASK_FAILED,
        TIMEOUT,
        HEARTBEAT_TIMEOUT,
        RUNTIME,
        DATA_LIMIT_EXCEEDED,
        PERMISSIONS,
        RESULT_PATH_MATCH_FAILURE,
        PARAMETER_PATH_FAILURE,
        BRANCH_FAILED,
        NO_CHOICE_MATCHED,
        INTRINSIC_FAILURE,
        EXCEED_TOLERATED_FAILURE_THRESHOLD,
        ITEM_READER_FAILED,
        RESULT_WRITER_FAILED,
        QUERY_EVALUATION_ERROR,
    ];
}

/// Whether a retrier's or catcher's `ErrorEquals` entry matches an error, as AWS decides:
/// `States.Runtime` matches nothing (not even itself); `States.ALL` matches the rest;
/// `States.TaskFailed` matches everything but `States.Timeout`.
pub fn error_matches(matcher: &str, failure: &Failure) -> bool {
    if failure.error == errors::RUNTIME {
        return false;
    }
    match matcher {
        errors::ALL => true,
        errors::TASK_FAILED => failure.error != errors::TIMEOUT,
        errors::HEARTBEAT_TIMEOUT => failure.heartbeat || failure.error == matcher,
        m => m == failure.error,
    }
}
