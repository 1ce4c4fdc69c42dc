//! Target of one-time reminder schedules: EventBridge Scheduler invokes this
//! function directly (no API route, no rule) with the schedule's `Input`,
//! a [`ReminderInput`] JSON object.
//!
//! **Stub.** It validates and logs the reminder and succeeds. The business
//! logic (which notification to send for which `kind`) is added later; keep
//! it idempotent on `executionId`/`(kind, subject, dueAt)`: Scheduler
//! delivers at least once and retries a failed invocation
//! (`workflows-and-events.md` §3).
//!
//! Payload (`events/reminders-scheduled.json`):
//!
//! ```json
//! {
//!   "kind": "deliverable-due",
//!   "tenant": "org_01J...",
//!   "subject": "campaign/camp_01J...",
//!   "dueAt": "2026-12-01T09:00:00+01:00[Europe/Paris]",
//!   "data": {"anything": "the kind needs"},
//!   "scheduleArn": "<aws.scheduler.schedule-arn>",
//!   "scheduledTime": "<aws.scheduler.scheduled-time>",
//!   "executionId": "<aws.scheduler.execution-id>",
//!   "attempt": "<aws.scheduler.attempt-number>"
//! }
//! ```
//!
//! The `<aws.scheduler.*>` placeholders are replaced by Scheduler (and by the
//! local runner) before the invocation.

use lambda_runtime::{Diagnostic, LambdaEvent};
use nexus_core::{Error, FieldError};
use serde::{Deserialize, Serialize};

pub type State = nexus_ports::Platform;

/// What a reminder schedule carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReminderInput {
    /// What to remind about (e.g. `deliverable-due`); selects the notification.
    pub kind: String,
    /// The organization the reminder belongs to, if any.
    #[serde(default)]
    pub tenant: Option<String>,
    /// What the reminder is about (`campaign/<id>`, `deliverable/<id>`, …).
    pub subject: String,
    /// When the reminded thing is due (as the scheduler of the reminder wrote it).
    pub due_at: String,
    /// Free data for the `kind`.
    #[serde(default)]
    pub data: serde_json::Value,
    #[serde(default)]
    pub schedule_arn: Option<String>,
    #[serde(default)]
    pub scheduled_time: Option<String>,
    #[serde(default)]
    pub execution_id: Option<String>,
    #[serde(default)]
    pub attempt: Option<String>,
}

pub async fn handler(
    _state: &State,
    event: LambdaEvent<serde_json::Value>,
) -> Result<serde_json::Value, Diagnostic> {
    let input: ReminderInput = serde_json::from_value(event.payload).map_err(|e| {
        // Not retryable in substance; Scheduler retries anyway, then drops or dead-letters it.
        Error::Validation(vec![FieldError::new("/", "invalid_format", e.to_string())])
    })?;
    // TODO(business): send the notification for `input.kind` (idempotent on execution id).
    tracing::info!(
        kind = %input.kind,
        tenant = input.tenant.as_deref().unwrap_or("-"),
        subject = %input.subject,
        due_at = %input.due_at,
        execution_id = input.execution_id.as_deref().unwrap_or("-"),
        attempt = input.attempt.as_deref().unwrap_or("-"),
        "reminder due"
    );
    Ok(serde_json::json!({"kind": input.kind, "subject": input.subject, "handled": true}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_event_is_a_reminder() {
        let v: serde_json::Value =
            serde_json::from_str(include_str!("../../../events/reminders-scheduled.json")).unwrap();
        let r: ReminderInput = serde_json::from_value(v).unwrap();
        assert_eq!(r.kind, "deliverable-due");
        assert!(r.execution_id.is_some());
    }
}
