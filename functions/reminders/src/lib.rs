//! Target of one-time reminder schedules: EventBridge Scheduler invokes this
//! function directly (no API route, no rule) with the schedule's `Input`,
//! a [`ReminderInput`] JSON object.
//!
//! Kinds: `deliverable-due-soon` (the creator is reminded) and
//! `deliverable-overdue` (the deliverable is flagged and the brand told),
//! scheduled by `functions/milestones` when a contract is signed. While the
//! deliverable still waits, the reminder writes its flag and a domain event
//! in one transaction (the notifier turns it into notifications and
//! e-mails); otherwise it does nothing. Scheduler delivers at least once and
//! retries failed invocations (`workflows-and-events.md` §3): the flag makes
//! a second run a no-op.
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
use nexus_core::ids::{ContractId, OrgId};
use nexus_core::{Error, FieldError};
use serde::{Deserialize, Serialize};

pub type State = nexus_ports::Platform;

/// The ports this function calls: `main.rs` wires them from AWS, the local
/// platform from its stand-ins (see `nexus_ports::wiring`).
pub async fn state(w: &impl nexus_ports::Wiring) -> Result<State, String> {
    nexus_ports::Platform::new(w)
}

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

/// Which reminder, from `kind` and `subject` (`contract/<ctr>/deliverable/<n>`).
pub fn parse_target(input: &ReminderInput) -> Result<(OrgId, ContractId, u32, bool), Error> {
    let bad = |p: &str, d: &str| Error::Validation(vec![FieldError::new(p, "invalid_format", d)]);
    let overdue = match input.kind.as_str() {
        "deliverable-due-soon" => false,
        "deliverable-overdue" => true,
        _ => return Err(bad("/kind", "deliverable-due-soon or deliverable-overdue")),
    };
    let org: OrgId = input
        .tenant
        .as_deref()
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| bad("/tenant", "an organization id"))?;
    let parts: Vec<&str> = input.subject.split('/').collect();
    let (contract, n) = match parts.as_slice() {
        ["contract", c, "deliverable", n] => (
            c.parse::<ContractId>()
                .map_err(|_| bad("/subject", "contract id"))?,
            n.parse::<u32>()
                .map_err(|_| bad("/subject", "deliverable number"))?,
        ),
        _ => return Err(bad("/subject", "contract/<ctr>/deliverable/<n>")),
    };
    Ok((org, contract, n, overdue))
}

pub async fn handler(
    state: &State,
    event: LambdaEvent<serde_json::Value>,
) -> Result<serde_json::Value, Diagnostic> {
    let input: ReminderInput = serde_json::from_value(event.payload).map_err(|e| {
        // Not retryable in substance; Scheduler retries anyway, then drops or dead-letters it.
        Error::Validation(vec![FieldError::new("/", "invalid_format", e.to_string())])
    })?;
    let (org, contract, n, overdue) = parse_target(&input)?;
    // Idempotent: the reminder flags the deliverable once (due-soon sent /
    // overdue), so a retried or duplicated invocation emits nothing new.
    let sent = nexus_market::flows::reminder_fired(
        &state.store,
        &org,
        &contract,
        n,
        overdue,
        state.clock.now(),
    )
    .await?;
    tracing::info!(
        kind = %input.kind,
        subject = %input.subject,
        execution_id = input.execution_id.as_deref().unwrap_or("-"),
        attempt = input.attempt.as_deref().unwrap_or("-"),
        sent,
        "reminder"
    );
    Ok(serde_json::json!({"kind": input.kind, "subject": input.subject, "sent": sent}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_event_names_a_deliverable_reminder() {
        let v: serde_json::Value =
            serde_json::from_str(include_str!("../../../events/reminders-scheduled.json")).unwrap();
        let r: ReminderInput = serde_json::from_value(v).unwrap();
        let (org, contract, n, overdue) = parse_target(&r).unwrap();
        assert_eq!(org.as_str(), "org_01JDQ2Z8M3N4P5Q6R7S8T9V0WX");
        assert_eq!(contract.as_str(), "ctr_01JDQ2Z8M3N4P5Q6R7S8T9V0WX");
        assert_eq!((n, overdue), (1, false));
    }

    #[test]
    fn unknown_kinds_and_subjects_are_invalid() {
        let mut r: ReminderInput =
            serde_json::from_str(include_str!("../../../events/reminders-scheduled.json")).unwrap();
        r.kind = "birthday".into();
        assert_eq!(parse_target(&r).unwrap_err().status(), 400);
        r.kind = "deliverable-overdue".into();
        r.subject = "campaign/x".into();
        assert_eq!(parse_target(&r).unwrap_err().status(), 400);
    }
}
