//! The stand-in for a port a function did not ask for.
//!
//! [`crate::Platform`] and the other state bundles start with every optional
//! port unwired. A call to one is a wiring bug (the function calls a port its
//! wiring does not give it, so in AWS it would also lack the client, the
//! variables and the IAM permissions): it is logged as an error and fails
//! with a message naming the port and how to wire it, never silently.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;

use crate::cipher::Cipher;
use crate::events::{EventBus, OutboxEvent, PublishFailure};
use crate::mail::{Email, Mailer};
use crate::media::{MediaStore, PresignedRequest};
use crate::scheduler::{OneTimeSchedule, Scheduler};
use crate::workflows::{Execution, ExecutionName, Started, WorkflowError, Workflows};

/// An unwired port, by name (`events`, `media`, …: the [`crate::Platform`]
/// builder method that wires it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unwired(pub &'static str);

impl Unwired {
    /// The error every call returns.
    pub fn message(&self) -> String {
        let port = self.0;
        // Workflows also name the state machines the function starts.
        let call = match port {
            "workflows" => "workflows(w, &[\"<state machine>\"])".to_owned(),
            _ => format!("{port}(w)"),
        };
        format!(
            "the `{port}` port is not wired in this function: add `.{call}` to its wiring \
             (the function's `state`/`wire` in lib.rs, used by main.rs and the local platform) \
             and the matching nexus-ports feature to its Cargo.toml"
        )
    }

    /// A wiring bug: maps to `nexus_core::Error::Internal`.
    fn workflow_error(&self) -> WorkflowError {
        WorkflowError::Other {
            code: "Unwired".into(),
            message: self.fail(),
        }
    }

    fn fail(&self) -> String {
        let message = self.message();
        tracing::error!(port = self.0, "{message}");
        message
    }
}

#[async_trait]
impl EventBus for Unwired {
    async fn publish(&self, _: &[OutboxEvent]) -> Result<Vec<PublishFailure>, String> {
        Err(self.fail())
    }
}

#[async_trait]
impl MediaStore for Unwired {
    async fn presign_upload(
        &self,
        _: &str,
        _: &str,
        _: Duration,
    ) -> Result<PresignedRequest, String> {
        Err(self.fail())
    }
    async fn presign_download(&self, _: &str, _: Duration) -> Result<PresignedRequest, String> {
        Err(self.fail())
    }
    async fn size(&self, _: &str) -> Result<Option<u64>, String> {
        Err(self.fail())
    }
}

#[async_trait]
impl Scheduler for Unwired {
    async fn schedule_once(&self, _: &OneTimeSchedule) -> Result<(), nexus_core::Error> {
        Err(nexus_core::Error::internal(self.fail()))
    }
    async fn cancel(&self, _: &str) -> Result<(), nexus_core::Error> {
        Err(nexus_core::Error::internal(self.fail()))
    }
}

#[async_trait]
impl Workflows for Unwired {
    async fn start(
        &self,
        _: &str,
        _: &ExecutionName,
        _: &serde_json::Value,
    ) -> Result<Started, WorkflowError> {
        Err(self.workflow_error())
    }
    fn execution_arn(&self, _: &str, _: &ExecutionName) -> Result<String, WorkflowError> {
        Err(self.workflow_error())
    }
    async fn describe(&self, _: &str) -> Result<Execution, WorkflowError> {
        Err(self.workflow_error())
    }
    async fn stop(
        &self,
        _: &str,
        _: Option<&str>,
        _: Option<&str>,
    ) -> Result<jiff::Timestamp, WorkflowError> {
        Err(self.workflow_error())
    }
    async fn send_task_success(&self, _: &str, _: &serde_json::Value) -> Result<(), WorkflowError> {
        Err(self.workflow_error())
    }
    async fn send_task_failure(
        &self,
        _: &str,
        _: Option<&str>,
        _: Option<&str>,
    ) -> Result<(), WorkflowError> {
        Err(self.workflow_error())
    }
    async fn send_task_heartbeat(&self, _: &str) -> Result<(), WorkflowError> {
        Err(self.workflow_error())
    }
}

#[async_trait]
impl Mailer for Unwired {
    async fn send(&self, _: &Email) -> Result<(), String> {
        Err(self.fail())
    }
}

#[async_trait]
impl Cipher for Unwired {
    async fn encrypt(&self, _: &[u8], _: &BTreeMap<String, String>) -> Result<String, String> {
        Err(self.fail())
    }
    async fn decrypt(&self, _: &str, _: &BTreeMap<String, String>) -> Result<Vec<u8>, String> {
        Err(self.fail())
    }
}

#[async_trait]
impl nexus_search::CreatorSearch for Unwired {
    async fn upsert(
        &self,
        _: Vec<nexus_search::CreatorDoc>,
    ) -> Result<(), nexus_search::SearchError> {
        Err(nexus_search::SearchError::Backend(self.fail()))
    }
    async fn remove(&self, _: &str) -> Result<(), nexus_search::SearchError> {
        Err(nexus_search::SearchError::Backend(self.fail()))
    }
    async fn search(
        &self,
        _: &nexus_search::SearchQuery,
    ) -> Result<nexus_search::SearchPage, nexus_search::SearchError> {
        Err(nexus_search::SearchError::Backend(self.fail()))
    }
}
