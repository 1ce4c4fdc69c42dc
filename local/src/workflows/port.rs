//! The `Workflows` port ([`nexus_ports::workflows::Workflows`]) on the local
//! runner: what a function's `Platform.workflows` is on the local platform.
//! One port call is one runner call; errors keep their AWS names
//! ([`WorkflowError::from_aws`]), so code tested locally meets the same
//! errors as against Step Functions.
//!
//! Like the AWS adapter, a start that finds a *closed* Standard execution
//! of the same name describes it and answers it when the input is the same
//! (idempotent by name, as the port promises); another input is
//! `ExecutionAlreadyExists`.
//!
//! Functions are built before the runner (the runner invokes them), so the
//! port holds a slot the platform fills once the runner is open
//! ([`RunnerSlot`]); a call before that is `Unavailable`.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use jiff::Timestamp;
use nexus_ports::workflows::{
    self as port, Execution, ExecutionName, ExecutionStatus, Started, WorkflowError, Workflows,
};
use serde_json::Value;

use super::{LocalWorkflows, RunnerError};

/// Where the runner will be, once the platform has opened it.
pub type RunnerSlot = Arc<OnceLock<LocalWorkflows>>;

/// A function's view of the runner: the state machines it was wired with.
pub struct RunnerPort {
    runner: RunnerSlot,
    /// Logical name (`moderation`) → state machine ARN.
    machines: BTreeMap<String, String>,
}

/// The port's logical name of a template state machine:
/// `PostPublishingStateMachine` → `post-publishing` (the inverse of
/// [`port::template_resource`]); `None` for ids without the suffix.
pub fn machine_name(logical_id: &str) -> Option<String> {
    let stem = logical_id.strip_suffix("StateMachine")?;
    let mut out = String::new();
    for (i, c) in stem.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('-');
        }
        out.push(c.to_ascii_lowercase());
    }
    (port::validate_machine(&out).is_ok() && port::template_resource(&out) == logical_id)
        .then_some(out)
}

fn convert(e: RunnerError) -> WorkflowError {
    WorkflowError::from_aws(e.code(), e.message())
}

fn status(s: nexus_asl::Status) -> ExecutionStatus {
    match s {
        nexus_asl::Status::Running => ExecutionStatus::Running,
        nexus_asl::Status::Succeeded => ExecutionStatus::Succeeded,
        nexus_asl::Status::Failed => ExecutionStatus::Failed,
        nexus_asl::Status::TimedOut => ExecutionStatus::TimedOut,
        nexus_asl::Status::Aborted => ExecutionStatus::Aborted,
    }
}

impl RunnerPort {
    /// `machines` by logical name, each the template resource
    /// [`port::template_resource`] names (`moderation` →
    /// `ModerationStateMachine`), with its local ARN.
    pub fn new(runner: RunnerSlot, machines: &[&str]) -> Result<Self, String> {
        let mut arns = BTreeMap::new();
        for m in machines {
            port::validate_machine(m)?;
            arns.insert(
                (*m).to_owned(),
                super::state_machine_arn(&port::template_resource(m)),
            );
        }
        Ok(Self {
            runner,
            machines: arns,
        })
    }

    fn runner(&self) -> Result<&LocalWorkflows, WorkflowError> {
        self.runner.get().ok_or_else(|| WorkflowError::Unavailable {
            code: "ServiceUnavailable".into(),
            message: "the local Step Functions runner is not started yet".into(),
        })
    }

    fn machine_arn(&self, machine: &str) -> Result<&str, WorkflowError> {
        self.machines
            .get(machine)
            .map(String::as_str)
            .ok_or_else(|| WorkflowError::UnknownStateMachine(machine.to_owned()))
    }
}

#[async_trait]
impl Workflows for RunnerPort {
    async fn start(
        &self,
        machine: &str,
        name: &ExecutionName,
        input: &Value,
    ) -> Result<Started, WorkflowError> {
        let arn = self.machine_arn(machine)?;
        port::check_payload("input", "InvalidExecutionInput", &input.to_string())?;
        let runner = self.runner()?;
        match runner.start(arn, Some(name.as_str()), input) {
            Ok(s) => Ok(Started {
                execution_arn: s.execution_arn,
                start_date: s.start_date,
            }),
            Err(e @ RunnerError::ExecutionAlreadyExists(_)) => {
                let execution_arn = port::standard_execution_arn(arn, name)?;
                match runner.describe(&execution_arn) {
                    Ok(v) if v.input == *input => Ok(Started {
                        execution_arn,
                        start_date: v.start_date,
                    }),
                    _ => Err(convert(e)),
                }
            }
            Err(e) => Err(convert(e)),
        }
    }

    fn execution_arn(&self, machine: &str, name: &ExecutionName) -> Result<String, WorkflowError> {
        port::standard_execution_arn(self.machine_arn(machine)?, name)
    }

    async fn describe(&self, execution_arn: &str) -> Result<Execution, WorkflowError> {
        let v = self.runner()?.describe(execution_arn).map_err(convert)?;
        Ok(Execution {
            execution_arn: v.execution_arn,
            state_machine_arn: v.state_machine_arn,
            name: v.name,
            status: status(v.status),
            start_date: v.start_date,
            stop_date: v.stop_date,
            input: Some(v.input),
            output: v.output,
            error: v.error,
            cause: v.cause,
        })
    }

    async fn stop(
        &self,
        execution_arn: &str,
        error: Option<&str>,
        cause: Option<&str>,
    ) -> Result<Timestamp, WorkflowError> {
        port::check_error_cause(error, cause)?;
        self.runner()?
            .stop(execution_arn, error, cause)
            .map_err(convert)
    }

    async fn send_task_success(&self, token: &str, output: &Value) -> Result<(), WorkflowError> {
        port::check_token(token)?;
        port::check_payload("output", "InvalidOutput", &output.to_string())?;
        self.runner()?
            .send_task_success(token, output)
            .map_err(convert)
    }

    async fn send_task_failure(
        &self,
        token: &str,
        error: Option<&str>,
        cause: Option<&str>,
    ) -> Result<(), WorkflowError> {
        port::check_token(token)?;
        port::check_error_cause(error, cause)?;
        self.runner()?
            .send_task_failure(token, error, cause)
            .map_err(convert)
    }

    async fn send_task_heartbeat(&self, token: &str) -> Result<(), WorkflowError> {
        port::check_token(token)?;
        self.runner()?.send_task_heartbeat(token).map_err(convert)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_resources_map_back_to_logical_names() {
        assert_eq!(
            machine_name("PostPublishingStateMachine").as_deref(),
            Some("post-publishing")
        );
        assert_eq!(
            machine_name("ReviewStateMachine").as_deref(),
            Some("review")
        );
        assert_eq!(machine_name("Review"), None);
    }
}
