//! The workflows port: Step Functions executions and the task-token
//! callbacks of `.waitForTaskToken` tasks. Step Functions in AWS
//! ([`StepFunctions`], feature `sfn`); the local platform's runner locally.
//! Semantics: `workflows-and-events.md` §1.11 and §1.13.
//!
//! - **State machines by logical name.** A function names the machines it
//!   starts by their logical name, the stem of `statemachines/<name>.asl.json`
//!   (`moderation`, `post-publishing`). The wiring resolves each, once at cold
//!   start, from the variable the template sets ([`arn_variable`]:
//!   `MODERATION_STATE_MACHINE_ARN: !Ref ModerationStateMachine`); a missing
//!   variable fails the cold start naming it. See docs/workflows.md.
//! - **Starts are idempotent by name** (Standard workflows): derive the
//!   [`ExecutionName`] from the business key ([`ExecutionName::for_key`]), so
//!   a retried start reuses it. The same name with the same input returns the
//!   existing execution, running (AWS does this) or closed (AWS answers
//!   `ExecutionAlreadyExists`; the adapter then describes the execution and
//!   compares inputs); the same name with another input is
//!   [`WorkflowError::ExecutionAlreadyExists`]. Names are unique per state
//!   machine for 90 days after the execution closes. **Express** executions
//!   are not idempotent by name: every start runs (at least once).
//! - **Callbacks** ([`Workflows::send_task_success`], …) answer a task token.
//!   A token the workflow no longer waits for (task closed, timed out or the
//!   execution stopped) is [`WorkflowError::TaskTimedOut`] or
//!   [`WorkflowError::TaskDoesNotExist`]: both mean "too late", the caller
//!   reports a conflict (see [`WorkflowError::is_task_closed`]). Express
//!   workflows have no callbacks.
//! - **Errors** are typed ([`WorkflowError`], by AWS error name) and map to
//!   [`nexus_core::Error`] (`From`): throttling and outages are retryable
//!   (`Unavailable`, 503), an existing execution or a closed task is a `Conflict`, a missing
//!   execution is `NotFound`, anything else (a bad token we stored, input we
//!   built too large, a wiring bug) is `Internal`.
//!
//! ```no_run
//! # async fn demo(platform: &nexus_ports::Platform) -> Result<(), nexus_core::Error> {
//! use nexus_ports::workflows::ExecutionName;
//! // Wired with `.workflows(w, &["moderation"])`.
//! let name = ExecutionName::for_key("org_01J/sub_01K");
//! let started = platform.workflows
//!     .start("moderation", &name, &serde_json::json!({"submissionId": "sub_01K"}))
//!     .await?;
//! let execution = platform.workflows.describe(&started.execution_arn).await?;
//! # let token = "";
//! platform.workflows
//!     .send_task_success(token, &serde_json::json!({"decision": "approved"}))
//!     .await?;
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;

use async_trait::async_trait;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// Execution input, task output: at most 256 KiB of UTF-8 JSON.
pub const MAX_PAYLOAD_BYTES: usize = 262_144;
/// Execution names: 1–80 characters.
pub const MAX_NAME_CHARS: usize = 80;
/// Task tokens: 1–2,048 characters.
pub const MAX_TOKEN_CHARS: usize = 2_048;
/// `error` of `SendTaskFailure` / `StopExecution`: at most 256 characters.
pub const MAX_ERROR_CHARS: usize = 256;
/// `cause` of `SendTaskFailure` / `StopExecution`: at most 32,768 characters.
pub const MAX_CAUSE_CHARS: usize = 32_768;

/// A failure of a workflows call, by the AWS error it stands for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkflowError {
    /// A Standard execution with this name exists with another input, or
    /// closed with another input (names are unique for 90 days).
    #[error("ExecutionAlreadyExists: {0}")]
    ExecutionAlreadyExists(String),
    /// No such execution (or an Express execution, which `DescribeExecution`
    /// does not know).
    #[error("ExecutionDoesNotExist: {0}")]
    ExecutionDoesNotExist(String),
    /// The token is not a task token (malformed, or not of this account).
    #[error("InvalidToken: {0}")]
    InvalidToken(String),
    /// The token's task is unknown (never existed, or long gone).
    #[error("TaskDoesNotExist: {0}")]
    TaskDoesNotExist(String),
    /// The token's task is closed: it timed out (task or heartbeat timeout),
    /// was answered already, or its execution stopped.
    #[error("TaskTimedOut: {0}")]
    TaskTimedOut(String),
    /// AWS throttled the call (`ThrottlingException`, after the SDK's own
    /// retries) or too many executions are open (`ExecutionLimitExceeded`):
    /// retry later.
    #[error("{code}: {message}")]
    Throttled { code: String, message: String },
    /// Step Functions could not be reached or failed (a timeout, a
    /// connection failure, a 5xx), after the SDK's retries: retry later.
    #[error("{code}: {message}")]
    Unavailable { code: String, message: String },
    /// The request was refused as built: `InvalidExecutionInput`,
    /// `InvalidOutput`, `InvalidName`, `InvalidArn`, `ValidationException`
    /// (too large, not JSON, a bad name…). Checked locally first where the
    /// rule is known.
    #[error("{code}: {message}")]
    Invalid { code: String, message: String },
    /// The function did not wire this state machine (`.workflows(w, &[..])`).
    #[error("UnknownStateMachine: {0}")]
    UnknownStateMachine(String),
    /// Anything else (`StateMachineDoesNotExist`, `AccessDeniedException`,
    /// a network failure, …).
    #[error("{code}: {message}")]
    Other { code: String, message: String },
}

impl WorkflowError {
    /// The error an AWS error name stands for (the `__type` of the
    /// response, without its namespace).
    pub fn from_aws(code: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        match code {
            "ExecutionAlreadyExists" => Self::ExecutionAlreadyExists(message),
            "ExecutionDoesNotExist" => Self::ExecutionDoesNotExist(message),
            "InvalidToken" => Self::InvalidToken(message),
            "TaskDoesNotExist" => Self::TaskDoesNotExist(message),
            "TaskTimedOut" => Self::TaskTimedOut(message),
            "ThrottlingException" | "KmsThrottlingException" | "ExecutionLimitExceeded" => {
                Self::Throttled {
                    code: code.into(),
                    message,
                }
            }
            "ServiceUnavailable" | "InternalFailure" | "InternalServerError" => Self::Unavailable {
                code: code.into(),
                message,
            },
            "InvalidExecutionInput"
            | "InvalidOutput"
            | "InvalidName"
            | "InvalidArn"
            | "ValidationException" => Self::Invalid {
                code: code.into(),
                message,
            },
            _ => Self::Other {
                code: if code.is_empty() {
                    "RequestFailed".into()
                } else {
                    code.into()
                },
                message,
            },
        }
    }

    /// The AWS error name (what a local adapter answers as `__type`).
    pub fn code(&self) -> &str {
        match self {
            Self::ExecutionAlreadyExists(_) => "ExecutionAlreadyExists",
            Self::ExecutionDoesNotExist(_) => "ExecutionDoesNotExist",
            Self::InvalidToken(_) => "InvalidToken",
            Self::TaskDoesNotExist(_) => "TaskDoesNotExist",
            Self::TaskTimedOut(_) => "TaskTimedOut",
            Self::UnknownStateMachine(_) => "UnknownStateMachine",
            Self::Throttled { code, .. }
            | Self::Unavailable { code, .. }
            | Self::Invalid { code, .. }
            | Self::Other { code, .. } => code,
        }
    }

    pub fn message(&self) -> &str {
        match self {
            Self::ExecutionAlreadyExists(m)
            | Self::ExecutionDoesNotExist(m)
            | Self::InvalidToken(m)
            | Self::TaskDoesNotExist(m)
            | Self::TaskTimedOut(m)
            | Self::UnknownStateMachine(m) => m,
            Self::Throttled { message, .. }
            | Self::Unavailable { message, .. }
            | Self::Invalid { message, .. }
            | Self::Other { message, .. } => message,
        }
    }

    /// Retrying the same call later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Throttled { .. } | Self::Unavailable { .. })
    }

    /// The workflow no longer waits for this token: the answer came too late.
    pub fn is_task_closed(&self) -> bool {
        matches!(self, Self::TaskTimedOut(_) | Self::TaskDoesNotExist(_))
    }

    fn invalid(code: &str, message: impl Into<String>) -> Self {
        Self::Invalid {
            code: code.into(),
            message: message.into(),
        }
    }
}

impl From<WorkflowError> for nexus_core::Error {
    fn from(e: WorkflowError) -> Self {
        use nexus_core::Error;
        match e {
            WorkflowError::ExecutionAlreadyExists(m) => Error::conflict(
                "execution-already-exists",
                format!("a workflow with this name exists with another input: {m}"),
            ),
            WorkflowError::ExecutionDoesNotExist(_) => Error::NotFound {
                resource: "execution",
            },
            e @ (WorkflowError::TaskTimedOut(_) | WorkflowError::TaskDoesNotExist(_)) => {
                Error::conflict(
                    "task-closed",
                    format!("the workflow no longer waits for this answer ({e})"),
                )
            }
            e @ (WorkflowError::Throttled { .. } | WorkflowError::Unavailable { .. }) => {
                Error::Unavailable {
                    detail: format!("Step Functions: {e}"),
                    retry_after_secs: 1,
                }
            }
            e => Error::Internal(format!("Step Functions: {e}")),
        }
    }
}

/// A valid execution name: 1–80 of `[0-9A-Za-z_-]`.
///
/// AWS accepts more characters (anything but whitespace, `<>{}[]?*`,
/// ``"#%\^|~`$&,;:/`` and control characters), but executions whose names
/// leave this set cannot be logged to CloudWatch Logs, and every NEXUS state
/// machine logs (docs/workflows.md).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ExecutionName(String);

impl ExecutionName {
    /// Check a name as given.
    pub fn new(name: impl Into<String>) -> Result<Self, WorkflowError> {
        let name = name.into();
        if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
            return Err(WorkflowError::invalid(
                "InvalidName",
                format!("an execution name has 1 to {MAX_NAME_CHARS} characters: {name:?}"),
            ));
        }
        if !name.bytes().all(name_byte) {
            return Err(WorkflowError::invalid(
                "InvalidName",
                format!("an execution name uses only letters, digits, '-' and '_': {name:?}"),
            ));
        }
        Ok(Self(name))
    }

    /// The name for a business key (include the tenant and what the
    /// workflow is about: `org_01J/sub_01K`), so every start for that key
    /// uses the same name and is idempotent by construction.
    ///
    /// A key that is already a valid name is used as is. Otherwise its
    /// characters outside `[0-9A-Za-z_-]` become `-`, it is cut to 63
    /// characters and `-` plus 16 hex digits of the key's SHA-256 are
    /// appended, so keys that differ only in the replaced or cut part still
    /// get different names.
    pub fn for_key(key: &str) -> Self {
        if let Ok(name) = Self::new(key) {
            return name;
        }
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, key.as_bytes());
        let hash: String = digest.as_ref()[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let readable: String = key
            .chars()
            .map(|c| {
                if c.is_ascii() && name_byte(c as u8) {
                    c
                } else {
                    '-'
                }
            })
            .take(MAX_NAME_CHARS - hash.len() - 1)
            .collect();
        if readable.is_empty() {
            Self(hash)
        } else {
            Self(format!("{readable}-{hash}"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

impl std::fmt::Display for ExecutionName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for ExecutionName {
    type Error = WorkflowError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl From<ExecutionName> for String {
    fn from(n: ExecutionName) -> Self {
        n.0
    }
}

/// The status of an execution (`DescribeExecution`'s `status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExecutionStatus {
    Running,
    Succeeded,
    Failed,
    TimedOut,
    Aborted,
    /// A redrive was requested and has not started yet.
    PendingRedrive,
}

impl ExecutionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "RUNNING",
            Self::Succeeded => "SUCCEEDED",
            Self::Failed => "FAILED",
            Self::TimedOut => "TIMED_OUT",
            Self::Aborted => "ABORTED",
            Self::PendingRedrive => "PENDING_REDRIVE",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "RUNNING" => Self::Running,
            "SUCCEEDED" => Self::Succeeded,
            "FAILED" => Self::Failed,
            "TIMED_OUT" => Self::TimedOut,
            "ABORTED" => Self::Aborted,
            "PENDING_REDRIVE" => Self::PendingRedrive,
            _ => return None,
        })
    }

    /// The execution has ended (a redrive may still reopen a failed one).
    pub fn is_closed(self) -> bool {
        !matches!(self, Self::Running | Self::PendingRedrive)
    }
}

/// What `StartExecution` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Started {
    pub execution_arn: String,
    pub start_date: Timestamp,
}

/// One execution, as `DescribeExecution` reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Execution {
    pub execution_arn: String,
    pub state_machine_arn: String,
    pub name: String,
    pub status: ExecutionStatus,
    pub start_date: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_date: Option<Timestamp>,
    /// Absent when Step Functions does not return it (`inputDetails.included: false`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<serde_json::Value>,
    /// Only once `SUCCEEDED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<serde_json::Value>,
    /// The error and cause of a `FAILED`, `TIMED_OUT` or `ABORTED` execution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
}

/// Step Functions, as a function sees it. Implemented by [`StepFunctions`]
/// (AWS) and by the local platform's runner.
#[async_trait]
pub trait Workflows: Send + Sync {
    /// Start `machine` (a logical name the function was wired with) under
    /// `name` with `input`. Idempotent for the same name and input (see the
    /// module docs); the same name with another input is
    /// [`WorkflowError::ExecutionAlreadyExists`].
    async fn start(
        &self,
        machine: &str,
        name: &ExecutionName,
        input: &serde_json::Value,
    ) -> Result<Started, WorkflowError>;

    /// The ARN a Standard execution of `machine` named `name` has (or will
    /// have), to describe or stop it from the business key alone. Express
    /// execution ARNs are only known from [`Workflows::start`].
    fn execution_arn(&self, machine: &str, name: &ExecutionName) -> Result<String, WorkflowError>;

    /// Status, input, output or error and cause (Standard executions).
    async fn describe(&self, execution_arn: &str) -> Result<Execution, WorkflowError>;

    /// Stop a running execution (`ABORTED`) with an optional error and
    /// cause; answers the stop date.
    async fn stop(
        &self,
        execution_arn: &str,
        error: Option<&str>,
        cause: Option<&str>,
    ) -> Result<Timestamp, WorkflowError>;

    /// Complete the task waiting on `token` with `output` (its result).
    async fn send_task_success(
        &self,
        token: &str,
        output: &serde_json::Value,
    ) -> Result<(), WorkflowError>;

    /// Fail the task waiting on `token` (caught by `ErrorEquals: [error]`).
    async fn send_task_failure(
        &self,
        token: &str,
        error: Option<&str>,
        cause: Option<&str>,
    ) -> Result<(), WorkflowError>;

    /// Reset the task's heartbeat clock (`HeartbeatSeconds`).
    async fn send_task_heartbeat(&self, token: &str) -> Result<(), WorkflowError>;
}

/// The variable that holds the ARN of state machine `machine`:
/// `post-publishing` → `POST_PUBLISHING_STATE_MACHINE_ARN`.
pub fn arn_variable(machine: &str) -> String {
    format!(
        "{}_STATE_MACHINE_ARN",
        machine.to_ascii_uppercase().replace('-', "_")
    )
}

/// The template resource of state machine `machine`:
/// `post-publishing` → `PostPublishingStateMachine`.
pub fn template_resource(machine: &str) -> String {
    let mut out = String::new();
    for part in machine.split('-') {
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            out.push(first.to_ascii_uppercase());
            out.extend(chars);
        }
    }
    out + "StateMachine"
}

/// The definition of state machine `machine`: `statemachines/<machine>.asl.json`.
pub fn definition_path(machine: &str) -> String {
    format!("statemachines/{machine}.asl.json")
}

/// A logical name is kebab-case: `[a-z0-9]+(-[a-z0-9]+)*`.
pub fn validate_machine(machine: &str) -> Result<(), String> {
    let ok = !machine.is_empty()
        && machine.split('-').all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "state machine {machine:?}: a logical name is the kebab-case stem of \
             statemachines/<name>.asl.json (e.g. `post-publishing`)"
        ))
    }
}

/// Split an unqualified state machine ARN
/// (`arn:<partition>:states:<region>:<account>:stateMachine:<name>`).
fn machine_arn_parts(arn: &str) -> Option<[&str; 7]> {
    let parts: Vec<&str> = arn.split(':').collect();
    let parts: [&str; 7] = parts.try_into().ok()?;
    (parts[0] == "arn"
        && parts[2] == "states"
        && parts[5] == "stateMachine"
        && !parts[6].is_empty())
    .then_some(parts)
}

/// The ARNs of `machines`, read with `lookup` from [`arn_variable`] each
/// (the wiring's one check, at cold start). An absent, empty or malformed
/// variable is an error naming it.
pub fn resolve_machines(
    machines: &[&str],
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<BTreeMap<String, String>, String> {
    let mut arns = BTreeMap::new();
    for machine in machines {
        validate_machine(machine)?;
        let var = arn_variable(machine);
        let arn = lookup(&var)
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| {
                format!(
                    "environment variable {var} is required to wire state machine `{machine}` \
                 (`{var}: !Ref {}` in template.yaml; see docs/workflows.md)",
                    template_resource(machine)
                )
            })?;
        if machine_arn_parts(&arn).is_none() {
            return Err(format!(
                "{var} is not a state machine ARN \
                 (arn:<partition>:states:<region>:<account>:stateMachine:<name>): {arn}"
            ));
        }
        arns.insert((*machine).to_owned(), arn);
    }
    Ok(arns)
}

/// The execution ARN of `name` under the state machine `machine_arn`.
pub fn standard_execution_arn(
    machine_arn: &str,
    name: &ExecutionName,
) -> Result<String, WorkflowError> {
    let [arn, partition, service, region, account, _, machine] = machine_arn_parts(machine_arn)
        .ok_or_else(|| {
            WorkflowError::invalid(
                "InvalidArn",
                format!("not a state machine ARN: {machine_arn}"),
            )
        })?;
    Ok(format!(
        "{arn}:{partition}:{service}:{region}:{account}:execution:{machine}:{name}"
    ))
}

/// The size limit of execution input and task output (`code` is the error
/// AWS answers: `InvalidExecutionInput` or `InvalidOutput`). Adapters check
/// before any call; a local adapter refuses what AWS would.
pub fn check_payload(what: &str, code: &str, text: &str) -> Result<(), WorkflowError> {
    if text.len() > MAX_PAYLOAD_BYTES {
        return Err(WorkflowError::invalid(
            code,
            format!(
                "{what} is {} bytes; Step Functions allows {MAX_PAYLOAD_BYTES}",
                text.len()
            ),
        ));
    }
    Ok(())
}

/// A task token's length.
pub fn check_token(token: &str) -> Result<(), WorkflowError> {
    if token.is_empty() || token.chars().count() > MAX_TOKEN_CHARS {
        return Err(WorkflowError::InvalidToken(format!(
            "a task token has 1 to {MAX_TOKEN_CHARS} characters"
        )));
    }
    Ok(())
}

/// The lengths of an `error` and a `cause`.
pub fn check_error_cause(error: Option<&str>, cause: Option<&str>) -> Result<(), WorkflowError> {
    if error.is_some_and(|e| e.chars().count() > MAX_ERROR_CHARS) {
        return Err(WorkflowError::invalid(
            "ValidationException",
            format!("error has more than {MAX_ERROR_CHARS} characters"),
        ));
    }
    if cause.is_some_and(|c| c.chars().count() > MAX_CAUSE_CHARS) {
        return Err(WorkflowError::invalid(
            "ValidationException",
            format!("cause has more than {MAX_CAUSE_CHARS} characters"),
        ));
    }
    Ok(())
}

/// Step Functions through `aws-sdk-sfn` (feature `sfn`), for the state
/// machines the function was wired with.
///
/// The client's retry policy applies (the SDK's standard mode: 3 attempts
/// with backoff on throttling and 5xx); what is left surfaces as
/// [`WorkflowError::Throttled`] or [`WorkflowError::Unavailable`].
///
/// IAM: `states:StartExecution` on each machine (SAM
/// `StepFunctionsExecutionPolicy`), `states:DescribeExecution` (and
/// `states:StopExecution` to stop) on its executions
/// (`arn:…:execution:<machine name>:*`; a start that finds a closed
/// execution describes it), and `StepFunctionsCallbackPolicy` on the
/// machines whose tokens the function answers.
#[cfg(feature = "sfn")]
pub struct StepFunctions {
    client: aws_sdk_sfn::Client,
    machines: BTreeMap<String, String>,
}

#[cfg(feature = "sfn")]
impl StepFunctions {
    /// `machines`: logical name → state machine ARN ([`resolve_machines`]).
    pub fn new(client: aws_sdk_sfn::Client, machines: BTreeMap<String, String>) -> Self {
        Self { client, machines }
    }

    fn machine_arn(&self, machine: &str) -> Result<&str, WorkflowError> {
        self.machines
            .get(machine)
            .map(String::as_str)
            .ok_or_else(|| {
                WorkflowError::UnknownStateMachine(format!(
                    "state machine `{machine}` is not wired in this function: name it in \
                 `.workflows(w, &[\"{machine}\"])` and set {} in template.yaml",
                    arn_variable(machine)
                ))
            })
    }
}

#[cfg(feature = "sfn")]
fn sdk_error<E>(op: &str, e: &aws_sdk_sfn::error::SdkError<E>) -> WorkflowError
where
    E: aws_sdk_sfn::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    use aws_sdk_sfn::error::ProvideErrorMetadata;
    let message = || format!("{op}: {}", e.message().unwrap_or_default());
    let server_error = e
        .raw_response()
        .is_some_and(|r| r.status().is_server_error());
    match e.code() {
        // A 5xx is Step Functions failing, whatever it calls it.
        Some(code) if server_error => WorkflowError::Unavailable {
            code: code.into(),
            message: message(),
        },
        Some(code) => WorkflowError::from_aws(code, message()),
        // No error code: a timeout, a connection failure or a 5xx without a
        // body, after the SDK's retries.
        None => WorkflowError::Unavailable {
            code: "RequestFailed".into(),
            message: format!("{op}: {}", aws_sdk_sfn::error::DisplayErrorContext(e)),
        },
    }
}

#[cfg(feature = "sfn")]
fn timestamp(d: &aws_sdk_sfn::primitives::DateTime) -> Result<Timestamp, WorkflowError> {
    Timestamp::new(d.secs(), d.subsec_nanos() as i32).map_err(|e| WorkflowError::Other {
        code: "InvalidResponse".into(),
        message: format!("a date out of range: {e}"),
    })
}

#[cfg(feature = "sfn")]
fn json(what: &str, text: Option<&str>) -> Result<Option<serde_json::Value>, WorkflowError> {
    text.map(|t| {
        serde_json::from_str(t).map_err(|e| WorkflowError::Other {
            code: "InvalidResponse".into(),
            message: format!("the execution's {what} is not JSON: {e}"),
        })
    })
    .transpose()
}

#[cfg(feature = "sfn")]
#[async_trait]
impl Workflows for StepFunctions {
    async fn start(
        &self,
        machine: &str,
        name: &ExecutionName,
        input: &serde_json::Value,
    ) -> Result<Started, WorkflowError> {
        let machine_arn = self.machine_arn(machine)?;
        let text = input.to_string();
        check_payload("the execution input", "InvalidExecutionInput", &text)?;
        let sent = self
            .client
            .start_execution()
            .state_machine_arn(machine_arn)
            .name(name.as_str())
            .input(&text)
            .send()
            .await;
        let e = match sent {
            Ok(out) => {
                return Ok(Started {
                    execution_arn: out.execution_arn,
                    start_date: timestamp(&out.start_date)?,
                })
            }
            Err(e) => sdk_error("StartExecution", &e),
        };
        let WorkflowError::ExecutionAlreadyExists(_) = e else {
            return Err(e);
        };
        // AWS returns the running execution for the same name and input, but
        // answers ExecutionAlreadyExists once it has closed: a retry after
        // the workflow finished is still the same start.
        let arn = standard_execution_arn(machine_arn, name)?;
        match self.describe(&arn).await {
            Ok(existing) if existing.input.as_ref() == Some(input) => {
                tracing::debug!(execution = %arn, status = existing.status.as_str(),
                    "execution exists with the same input; kept");
                Ok(Started {
                    execution_arn: existing.execution_arn,
                    start_date: existing.start_date,
                })
            }
            Ok(_) | Err(WorkflowError::ExecutionDoesNotExist(_)) => Err(e),
            Err(other) => Err(other),
        }
    }

    fn execution_arn(&self, machine: &str, name: &ExecutionName) -> Result<String, WorkflowError> {
        standard_execution_arn(self.machine_arn(machine)?, name)
    }

    async fn describe(&self, execution_arn: &str) -> Result<Execution, WorkflowError> {
        let out = self
            .client
            .describe_execution()
            .execution_arn(execution_arn)
            .send()
            .await
            .map_err(|e| sdk_error("DescribeExecution", &e))?;
        let status =
            ExecutionStatus::parse(out.status.as_str()).ok_or_else(|| WorkflowError::Other {
                code: "InvalidResponse".into(),
                message: format!("unknown execution status {}", out.status.as_str()),
            })?;
        Ok(Execution {
            name: out.name.clone().unwrap_or_else(|| {
                out.execution_arn
                    .rsplit(':')
                    .next()
                    .unwrap_or_default()
                    .into()
            }),
            status,
            start_date: timestamp(&out.start_date)?,
            stop_date: out.stop_date.as_ref().map(timestamp).transpose()?,
            input: json("input", out.input.as_deref())?,
            output: json("output", out.output.as_deref())?,
            error: out.error,
            cause: out.cause,
            execution_arn: out.execution_arn,
            state_machine_arn: out.state_machine_arn,
        })
    }

    async fn stop(
        &self,
        execution_arn: &str,
        error: Option<&str>,
        cause: Option<&str>,
    ) -> Result<Timestamp, WorkflowError> {
        check_error_cause(error, cause)?;
        let out = self
            .client
            .stop_execution()
            .execution_arn(execution_arn)
            .set_error(error.map(str::to_owned))
            .set_cause(cause.map(str::to_owned))
            .send()
            .await
            .map_err(|e| sdk_error("StopExecution", &e))?;
        timestamp(&out.stop_date)
    }

    async fn send_task_success(
        &self,
        token: &str,
        output: &serde_json::Value,
    ) -> Result<(), WorkflowError> {
        check_token(token)?;
        let text = output.to_string();
        check_payload("the task output", "InvalidOutput", &text)?;
        self.client
            .send_task_success()
            .task_token(token)
            .output(text)
            .send()
            .await
            .map_err(|e| sdk_error("SendTaskSuccess", &e))?;
        Ok(())
    }

    async fn send_task_failure(
        &self,
        token: &str,
        error: Option<&str>,
        cause: Option<&str>,
    ) -> Result<(), WorkflowError> {
        check_token(token)?;
        check_error_cause(error, cause)?;
        self.client
            .send_task_failure()
            .task_token(token)
            .set_error(error.map(str::to_owned))
            .set_cause(cause.map(str::to_owned))
            .send()
            .await
            .map_err(|e| sdk_error("SendTaskFailure", &e))?;
        Ok(())
    }

    async fn send_task_heartbeat(&self, token: &str) -> Result<(), WorkflowError> {
        check_token(token)?;
        self.client
            .send_task_heartbeat()
            .task_token(token)
            .send()
            .await
            .map_err(|e| sdk_error("SendTaskHeartbeat", &e))?;
        Ok(())
    }
}

#[cfg(all(test, feature = "sfn"))]
mod tests {
    use super::*;
    use serde_json::json;
    use wiremock::matchers::{body_partial_json, header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    const MACHINE_ARN: &str =
        "arn:aws:states:eu-west-1:123456789012:stateMachine:ModerationStateMachine-Xa1b2C3d4E5f";
    const EXECUTION_ARN: &str = "arn:aws:states:eu-west-1:123456789012:execution:ModerationStateMachine-Xa1b2C3d4E5f:org_01J-sub_01K";
    /// Task tokens are long opaque strings (base64-like, ~700 characters).
    const TOKEN: &str = "AQCEAAAAKgAAAAMAAAAAAAAAAe0L0ZzBz0uF3pNqXr2pG1cG0Zo3y9mVqgWmM2uZfG5Jt1o3t7ZkX1x8xVbXJq2d4j5yKZk9Ow==";

    fn client(server: &MockServer) -> StepFunctions {
        client_at(&server.uri())
    }

    fn client_at(endpoint: &str) -> StepFunctions {
        use aws_sdk_sfn::config::{retry::RetryConfig, BehaviorVersion, Credentials, Region};
        let conf = aws_sdk_sfn::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("eu-west-1"))
            .credentials_provider(Credentials::new("a", "b", None, None, "t"))
            // The SDK's standard retries, with millisecond backoff for the tests.
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(3)
                    .with_initial_backoff(std::time::Duration::from_millis(1))
                    .with_max_backoff(std::time::Duration::from_millis(5)),
            )
            .endpoint_url(endpoint)
            .build();
        StepFunctions::new(
            aws_sdk_sfn::Client::from_conf(conf),
            BTreeMap::from([("moderation".to_owned(), MACHINE_ARN.to_owned())]),
        )
    }

    /// A JSON 1.0 call of operation `op`.
    fn call(op: &str) -> wiremock::MockBuilder {
        Mock::given(method("POST"))
            .and(path("/"))
            .and(header("x-amz-target", format!("AWSStepFunctions.{op}")))
            .and(header("content-type", "application/x-amz-json-1.0"))
    }

    fn ok(body: serde_json::Value) -> ResponseTemplate {
        ResponseTemplate::new(200)
            .insert_header("x-amzn-RequestId", "5d8a5b4e-8a4a-4b8f-9a7e-3f7c1f0e2a11")
            .set_body_raw(body.to_string(), "application/x-amz-json-1.0")
    }

    /// Step Functions' error shape: 400, `__type` with the service's namespace.
    fn aws_error(kind: &str, message: &str) -> ResponseTemplate {
        let namespace = if kind == "ThrottlingException" {
            "com.amazon.coral.availability"
        } else {
            "com.amazonaws.swf.service.v2.model"
        };
        ResponseTemplate::new(400)
            .insert_header("x-amzn-RequestId", "0c6e3a1f-3b1e-4c55-8d8e-6a1d7b0f9c22")
            .set_body_raw(
                json!({"__type": format!("{namespace}#{kind}"), "message": message}).to_string(),
                "application/x-amz-json-1.0",
            )
    }

    fn name() -> ExecutionName {
        ExecutionName::for_key("org_01J-sub_01K")
    }

    fn ms(t: Timestamp) -> Timestamp {
        t.round(jiff::Unit::Millisecond).unwrap()
    }

    async fn body(server: &MockServer, i: usize) -> serde_json::Value {
        serde_json::from_slice(&server.received_requests().await.unwrap()[i].body).unwrap()
    }

    #[tokio::test]
    async fn start_sends_the_machine_name_and_input_as_text_and_answers_the_execution() {
        let server = MockServer::start().await;
        call("StartExecution")
            .and(body_partial_json(
                json!({"stateMachineArn": MACHINE_ARN, "name": "org_01J-sub_01K"}),
            ))
            .respond_with(ok(
                json!({"executionArn": EXECUTION_ARN, "startDate": 1.732536871279E9}),
            ))
            .expect(2)
            .mount(&server)
            .await;
        let sfn = client(&server);
        let input = json!({"submissionId": "sub_01K", "orgId": "org_01J"});
        let started = sfn.start("moderation", &name(), &input).await.unwrap();
        assert_eq!(started.execution_arn, EXECUTION_ARN);
        assert_eq!(
            ms(started.start_date),
            "2024-11-25T12:14:31.279Z".parse().unwrap()
        );
        let sent = body(&server, 0).await;
        let text = sent["input"].as_str().expect("input is JSON text");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(text).unwrap(),
            input
        );
        // A running execution started again with the same name and input:
        // AWS answers the original, and so does the port.
        let again = sfn.start("moderation", &name(), &input).await.unwrap();
        assert_eq!(again, started);
        assert_eq!(
            sfn.execution_arn("moderation", &name()).unwrap(),
            EXECUTION_ARN,
            "derived from the machine ARN and the name"
        );
    }

    #[tokio::test]
    async fn a_closed_execution_with_the_same_input_is_the_same_start() {
        let server = MockServer::start().await;
        call("StartExecution")
            .respond_with(aws_error(
                "ExecutionAlreadyExists",
                &format!("Execution Already Exists: '{EXECUTION_ARN}'"),
            ))
            .expect(1)
            .mount(&server)
            .await;
        call("DescribeExecution")
            .and(body_partial_json(json!({"executionArn": EXECUTION_ARN})))
            .respond_with(ok(json!({
                "executionArn": EXECUTION_ARN,
                "stateMachineArn": MACHINE_ARN,
                "name": "org_01J-sub_01K",
                "status": "SUCCEEDED",
                "startDate": 1.732536871279E9,
                "stopDate": 1.732536873042E9,
                // Same JSON, other key order and spacing than we send.
                "input": "{\"orgId\": \"org_01J\", \"submissionId\": \"sub_01K\"}",
                "inputDetails": {"included": true},
                "output": "{\"decision\":\"approved\"}",
                "outputDetails": {"included": true},
                "redriveCount": 0,
                "redriveStatus": "NOT_REDRIVABLE",
                "redriveStatusReason": "Execution is SUCCEEDED and cannot be redriven"
            })))
            .expect(1)
            .mount(&server)
            .await;
        let started = client(&server)
            .start(
                "moderation",
                &name(),
                &json!({"submissionId": "sub_01K", "orgId": "org_01J"}),
            )
            .await
            .unwrap();
        assert_eq!(started.execution_arn, EXECUTION_ARN);
        assert_eq!(
            ms(started.start_date),
            "2024-11-25T12:14:31.279Z".parse().unwrap()
        );
    }

    #[tokio::test]
    async fn the_same_name_with_another_input_is_execution_already_exists() {
        let server = MockServer::start().await;
        call("StartExecution")
            .respond_with(aws_error(
                "ExecutionAlreadyExists",
                &format!("Execution Already Exists: '{EXECUTION_ARN}'"),
            ))
            .mount(&server)
            .await;
        call("DescribeExecution")
            .respond_with(ok(json!({
                "executionArn": EXECUTION_ARN,
                "stateMachineArn": MACHINE_ARN,
                "name": "org_01J-sub_01K",
                "status": "RUNNING",
                "startDate": 1.732536871279E9,
                "input": "{\"submissionId\":\"sub_01K\",\"orgId\":\"org_01J\"}",
                "inputDetails": {"included": true},
                "redriveCount": 0,
                "redriveStatus": "NOT_REDRIVABLE",
                "redriveStatusReason": "Execution is RUNNING and cannot be redriven"
            })))
            .mount(&server)
            .await;
        let e = client(&server)
            .start("moderation", &name(), &json!({"submissionId": "sub_02"}))
            .await
            .unwrap_err();
        assert!(
            matches!(&e, WorkflowError::ExecutionAlreadyExists(m) if m.contains(EXECUTION_ARN)),
            "{e:?}"
        );
        assert_eq!(e.code(), "ExecutionAlreadyExists");
        assert!(!e.is_retryable());
        let e = nexus_core::Error::from(e);
        assert_eq!((e.status(), e.code()), (409, "execution-already-exists"));
    }

    #[tokio::test]
    async fn throttling_is_retried_by_the_sdk_then_surfaces_as_throttled() {
        let server = MockServer::start().await;
        call("StartExecution")
            .respond_with(aws_error("ThrottlingException", "Rate exceeded"))
            .expect(3)
            .mount(&server)
            .await;
        let e = client(&server)
            .start("moderation", &name(), &json!({}))
            .await
            .unwrap_err();
        assert!(
            matches!(&e, WorkflowError::Throttled { code, .. } if code == "ThrottlingException"),
            "{e:?}"
        );
        assert!(e.is_retryable());
        let e = nexus_core::Error::from(e);
        assert_eq!(e.status(), 503);
        assert_eq!(e.diagnostic_type(), "Retryable");
        assert_eq!(e.retry_after(), Some(1));
    }

    #[tokio::test]
    async fn a_throttled_call_that_succeeds_on_retry_is_ok() {
        let server = MockServer::start().await;
        call("SendTaskHeartbeat")
            .respond_with(aws_error("ThrottlingException", "Rate exceeded"))
            .up_to_n_times(2)
            .with_priority(1)
            .mount(&server)
            .await;
        call("SendTaskHeartbeat")
            .respond_with(ok(json!({})))
            .mount(&server)
            .await;
        client(&server).send_task_heartbeat(TOKEN).await.unwrap();
        assert_eq!(server.received_requests().await.unwrap().len(), 3);
    }

    #[tokio::test]
    async fn describe_reports_status_data_and_failure() {
        let server = MockServer::start().await;
        let failed = "arn:aws:states:eu-west-1:123456789012:execution:ModerationStateMachine-Xa1b2C3d4E5f:failed-1";
        call("DescribeExecution")
            .and(body_partial_json(json!({"executionArn": failed})))
            .respond_with(ok(json!({
                "executionArn": failed,
                "stateMachineArn": MACHINE_ARN,
                "name": "failed-1",
                "status": "FAILED",
                "startDate": 1.732536871279E9,
                "stopDate": 1.732536874501E9,
                "input": "{\"submissionId\":\"sub_01K\"}",
                "inputDetails": {"included": true},
                "error": "States.TaskFailed",
                "cause": "{\"errorMessage\":\"boom\",\"errorType\":\"Internal\"}",
                "redriveCount": 0,
                "redriveStatus": "REDRIVABLE"
            })))
            .mount(&server)
            .await;
        call("DescribeExecution")
            .and(body_partial_json(json!({"executionArn": EXECUTION_ARN})))
            .respond_with(ok(json!({
                "executionArn": EXECUTION_ARN,
                "stateMachineArn": MACHINE_ARN,
                "name": "org_01J-sub_01K",
                "status": "RUNNING",
                "startDate": 1.732536871279E9,
                "input": "{}",
                "inputDetails": {"included": true},
                "redriveCount": 0,
                "redriveStatus": "NOT_REDRIVABLE",
                "redriveStatusReason": "Execution is RUNNING and cannot be redriven"
            })))
            .mount(&server)
            .await;
        let missing = "arn:aws:states:eu-west-1:123456789012:execution:ModerationStateMachine-Xa1b2C3d4E5f:nope";
        call("DescribeExecution")
            .and(body_partial_json(json!({"executionArn": missing})))
            .respond_with(aws_error(
                "ExecutionDoesNotExist",
                &format!("Execution Does Not Exist: '{missing}'"),
            ))
            .mount(&server)
            .await;
        let sfn = client(&server);

        let x = sfn.describe(failed).await.unwrap();
        assert_eq!(x.status, ExecutionStatus::Failed);
        assert!(x.status.is_closed());
        assert_eq!(x.name, "failed-1");
        assert_eq!(x.state_machine_arn, MACHINE_ARN);
        assert_eq!(x.input, Some(json!({"submissionId": "sub_01K"})));
        assert_eq!(x.output, None);
        assert_eq!(x.error.as_deref(), Some("States.TaskFailed"));
        assert!(x.cause.unwrap().contains("boom"));
        assert_eq!(
            ms(x.stop_date.unwrap()),
            "2024-11-25T12:14:34.501Z".parse().unwrap()
        );

        let x = sfn.describe(EXECUTION_ARN).await.unwrap();
        assert_eq!(x.status, ExecutionStatus::Running);
        assert!(!x.status.is_closed());
        assert_eq!((x.stop_date, x.output, x.error), (None, None, None));

        let e = sfn.describe(missing).await.unwrap_err();
        assert!(
            matches!(e, WorkflowError::ExecutionDoesNotExist(_)),
            "{e:?}"
        );
        assert_eq!(nexus_core::Error::from(e).status(), 404);
    }

    #[tokio::test]
    async fn stop_sends_error_and_cause_and_answers_the_stop_date() {
        let server = MockServer::start().await;
        call("StopExecution")
            .and(body_partial_json(json!({
                "executionArn": EXECUTION_ARN,
                "error": "Withdrawn",
                "cause": "the creator withdrew the submission"
            })))
            .respond_with(ok(json!({"stopDate": 1.732537000125E9})))
            .expect(1)
            .mount(&server)
            .await;
        let stopped = client(&server)
            .stop(
                EXECUTION_ARN,
                Some("Withdrawn"),
                Some("the creator withdrew the submission"),
            )
            .await
            .unwrap();
        assert_eq!(ms(stopped), "2024-11-25T12:16:40.125Z".parse().unwrap());
    }

    #[tokio::test]
    async fn callbacks_send_the_token_and_output_error_or_cause() {
        let server = MockServer::start().await;
        call("SendTaskSuccess")
            .and(body_partial_json(json!({"taskToken": TOKEN})))
            .respond_with(ok(json!({})))
            .expect(1)
            .mount(&server)
            .await;
        call("SendTaskFailure")
            .and(body_partial_json(json!({
                "taskToken": TOKEN, "error": "Rejected", "cause": "nudity"
            })))
            .respond_with(ok(json!({})))
            .expect(1)
            .mount(&server)
            .await;
        call("SendTaskHeartbeat")
            .and(body_partial_json(json!({"taskToken": TOKEN})))
            .respond_with(ok(json!({})))
            .expect(1)
            .mount(&server)
            .await;
        let sfn = client(&server);
        sfn.send_task_success(TOKEN, &json!({"decision": "approved", "by": "usr_1"}))
            .await
            .unwrap();
        sfn.send_task_failure(TOKEN, Some("Rejected"), Some("nudity"))
            .await
            .unwrap();
        sfn.send_task_heartbeat(TOKEN).await.unwrap();
        let success = body(&server, 0).await;
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(success["output"].as_str().unwrap()).unwrap(),
            json!({"decision": "approved", "by": "usr_1"}),
            "the output is JSON text"
        );
    }

    #[tokio::test]
    async fn a_token_the_workflow_no_longer_waits_for_is_a_typed_error() {
        let server = MockServer::start().await;
        call("SendTaskSuccess")
            .and(body_partial_json(json!({"taskToken": "expired"})))
            .respond_with(aws_error(
                "TaskTimedOut",
                "Task Timed Out: 'Provided task does not exist anymore'",
            ))
            .expect(1)
            .mount(&server)
            .await;
        call("SendTaskFailure")
            .and(body_partial_json(json!({"taskToken": "unknown"})))
            .respond_with(aws_error(
                "TaskDoesNotExist",
                "Task Does Not Exist: 'Provided task does not exist'",
            ))
            .expect(1)
            .mount(&server)
            .await;
        call("SendTaskHeartbeat")
            .and(body_partial_json(json!({"taskToken": "garbage"})))
            .respond_with(aws_error("InvalidToken", "Invalid Token: 'Invalid token'"))
            .expect(1)
            .mount(&server)
            .await;
        let sfn = client(&server);

        let e = sfn
            .send_task_success("expired", &json!({}))
            .await
            .unwrap_err();
        assert!(matches!(e, WorkflowError::TaskTimedOut(_)), "{e:?}");
        assert!(e.is_task_closed() && !e.is_retryable());
        let core = nexus_core::Error::from(e);
        assert_eq!((core.status(), core.code()), (409, "task-closed"));

        let e = sfn
            .send_task_failure("unknown", Some("Rejected"), None)
            .await
            .unwrap_err();
        assert!(matches!(e, WorkflowError::TaskDoesNotExist(_)), "{e:?}");
        assert!(e.is_task_closed());

        let e = sfn.send_task_heartbeat("garbage").await.unwrap_err();
        assert!(matches!(e, WorkflowError::InvalidToken(_)), "{e:?}");
        assert!(!e.is_task_closed());
        assert_eq!(
            nexus_core::Error::from(e).status(),
            500,
            "tokens are stored by us, so a malformed one is our bug"
        );
    }

    #[tokio::test]
    async fn invalid_requests_are_refused_before_any_call() {
        let server = MockServer::start().await;
        let sfn = client(&server);
        let big = json!({"blob": "x".repeat(MAX_PAYLOAD_BYTES)});
        let e = sfn.start("moderation", &name(), &big).await.unwrap_err();
        assert_eq!(e.code(), "InvalidExecutionInput");
        let e = sfn.send_task_success(TOKEN, &big).await.unwrap_err();
        assert_eq!(e.code(), "InvalidOutput");
        let e = sfn.send_task_heartbeat("").await.unwrap_err();
        assert!(matches!(e, WorkflowError::InvalidToken(_)));
        let e = sfn
            .send_task_failure(TOKEN, Some(&"E".repeat(MAX_ERROR_CHARS + 1)), None)
            .await
            .unwrap_err();
        assert_eq!(e.code(), "ValidationException");
        let e = sfn
            .stop(EXECUTION_ARN, None, Some(&"c".repeat(MAX_CAUSE_CHARS + 1)))
            .await
            .unwrap_err();
        assert_eq!(e.code(), "ValidationException");
        let e = sfn.start("posting", &name(), &json!({})).await.unwrap_err();
        assert!(
            matches!(&e, WorkflowError::UnknownStateMachine(m) if m.contains("POSTING_STATE_MACHINE_ARN")),
            "{e:?}"
        );
        assert_eq!(nexus_core::Error::from(e).status(), 500);
        assert!(server.received_requests().await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_server_error_is_retried_then_unavailable() {
        let server = MockServer::start().await;
        call("DescribeExecution")
            .respond_with(
                ResponseTemplate::new(500).set_body_raw(
                    json!({"__type": "com.amazonaws.swf.service.v2.model#InternalServerError",
                           "message": "Internal Failure"})
                    .to_string(),
                    "application/x-amz-json-1.0",
                ),
            )
            .expect(3)
            .mount(&server)
            .await;
        let e = client(&server).describe(EXECUTION_ARN).await.unwrap_err();
        assert!(
            matches!(&e, WorkflowError::Unavailable { code, .. } if code == "InternalServerError"),
            "{e:?}"
        );
        assert_eq!(nexus_core::Error::from(e).status(), 503);
    }

    #[tokio::test]
    async fn an_unreachable_service_is_retryable() {
        // A port nobody listens on (wiremock pools its servers, so a dropped
        // MockServer may still answer).
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let sfn = client_at(&format!("http://127.0.0.1:{port}"));
        let e = sfn.send_task_heartbeat(TOKEN).await.unwrap_err();
        assert!(
            matches!(&e, WorkflowError::Unavailable { .. }) && e.is_retryable(),
            "{e:?}"
        );
    }
}

/// Pure parts: names, variables, error mapping.
#[cfg(test)]
mod name_tests {
    use super::*;

    #[test]
    fn a_valid_key_is_its_own_name_and_others_get_a_hashed_readable_name() {
        assert_eq!(ExecutionName::for_key("sub_01K-v2").as_str(), "sub_01K-v2");
        let a = ExecutionName::for_key("org_01J/sub_01K");
        let b = ExecutionName::for_key("org_01J:sub_01K");
        assert!(a.as_str().starts_with("org_01J-sub_01K-"), "{a}");
        assert_eq!(a.as_str().len(), "org_01J-sub_01K-".len() + 16);
        assert_ne!(a, b, "keys that differ only in replaced characters");
        assert_eq!(
            a,
            ExecutionName::for_key("org_01J/sub_01K"),
            "deterministic"
        );
        let long = ExecutionName::for_key(&"k".repeat(200));
        assert_eq!(long.as_str().chars().count(), MAX_NAME_CHARS);
        assert_ne!(
            long,
            ExecutionName::for_key(&format!("{}x", "k".repeat(199))),
            "keys that differ only past the cut"
        );
        for key in ["", "é", "a b", "review/ünïcode/🙂", &"/".repeat(100)] {
            let n = ExecutionName::for_key(key);
            assert!(ExecutionName::new(n.as_str()).is_ok(), "{key:?} → {n}");
        }
    }

    #[test]
    fn names_are_checked_like_aws_with_logging_enabled() {
        for ok in ["a", "sub_01K-2", &"x".repeat(80)] {
            assert!(ExecutionName::new(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            &"x".repeat(81),
            "a b",
            "a/b",
            "a:b",
            "a.b",
            "é",
            "a\u{7f}",
        ] {
            let e = ExecutionName::new(bad).unwrap_err();
            assert_eq!(e.code(), "InvalidName", "{bad:?}");
        }
        let n: ExecutionName = serde_json::from_str("\"ok-1\"").unwrap();
        assert_eq!(serde_json::to_string(&n).unwrap(), "\"ok-1\"");
        assert!(serde_json::from_str::<ExecutionName>("\"a/b\"").is_err());
    }

    #[test]
    fn machines_resolve_from_their_variables() {
        assert_eq!(
            arn_variable("post-publishing"),
            "POST_PUBLISHING_STATE_MACHINE_ARN"
        );
        assert_eq!(
            template_resource("post-publishing"),
            "PostPublishingStateMachine"
        );
        assert_eq!(
            definition_path("moderation"),
            "statemachines/moderation.asl.json"
        );
        let arn = "arn:aws:states:eu-west-1:123456789012:stateMachine:ModerationStateMachine-x";
        let env = |var: &str| (var == "MODERATION_STATE_MACHINE_ARN").then(|| arn.to_owned());
        let arns = resolve_machines(&["moderation"], env).unwrap();
        assert_eq!(arns["moderation"], arn);
        let e = resolve_machines(&["moderation", "post-publishing"], env).unwrap_err();
        assert!(
            e.contains("POST_PUBLISHING_STATE_MACHINE_ARN")
                && e.contains("!Ref PostPublishingStateMachine"),
            "{e}"
        );
        let e = resolve_machines(&["Moderation"], env).unwrap_err();
        assert!(e.contains("kebab-case"), "{e}");
        let e = resolve_machines(&["moderation"], |_| {
            Some("arn:aws:lambda:eu-west-1:1:function:f".into())
        })
        .unwrap_err();
        assert!(e.contains("not a state machine ARN"), "{e}");
        assert!(resolve_machines(&["moderation"], |_| Some(" ".into())).is_err());
        assert_eq!(
            standard_execution_arn(arn, &ExecutionName::new("n-1").unwrap()).unwrap(),
            "arn:aws:states:eu-west-1:123456789012:execution:ModerationStateMachine-x:n-1"
        );
    }

    #[test]
    fn aws_error_names_round_trip_and_map_to_core_errors() {
        for code in [
            "ExecutionAlreadyExists",
            "ExecutionDoesNotExist",
            "InvalidToken",
            "TaskDoesNotExist",
            "TaskTimedOut",
            "ThrottlingException",
            "KmsThrottlingException",
            "ExecutionLimitExceeded",
            "InvalidExecutionInput",
            "InvalidOutput",
            "InvalidName",
            "StateMachineDoesNotExist",
            "AccessDeniedException",
        ] {
            let e = WorkflowError::from_aws(code, "m");
            assert_eq!((e.code(), e.message()), (code, "m"));
        }
        let status =
            |code: &str| nexus_core::Error::from(WorkflowError::from_aws(code, "m")).status();
        assert_eq!(status("ExecutionLimitExceeded"), 503);
        assert_eq!(status("InvalidExecutionInput"), 500);
        assert_eq!(status("StateMachineDoesNotExist"), 500);
        assert_eq!(status("AccessDeniedException"), 500);
        assert_eq!(WorkflowError::from_aws("", "m").code(), "RequestFailed");
        for s in [
            ExecutionStatus::Running,
            ExecutionStatus::Succeeded,
            ExecutionStatus::Failed,
            ExecutionStatus::TimedOut,
            ExecutionStatus::Aborted,
            ExecutionStatus::PendingRedrive,
        ] {
            assert_eq!(ExecutionStatus::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
    }
}
