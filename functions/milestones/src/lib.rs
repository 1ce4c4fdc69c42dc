//! EventBridge rule target: turns deliverable due dates into one-time
//! EventBridge Scheduler schedules when a contract is signed — a reminder to
//! the creator 24 h before each due date and an overdue check just after it —
//! in the campaign's IANA time zone, and cancels them when the contract is
//! cancelled. Schedule names are derived from the contract and deliverable,
//! so a redelivered event re-creates nothing (the port treats an existing
//! name as done). The reminders themselves run in `functions/reminders`.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_runtime::{Diagnostic, LambdaEvent};
use nexus_core::events::DomainEvent;
use nexus_core::{Error, FieldError, Timestamp};
use nexus_ports::scheduler::{OneTimeSchedule, ScheduleTarget};
use serde_json::json;

#[derive(Clone)]
pub struct State {
    pub platform: nexus_ports::Platform,
    pub target: ScheduleTarget,
}

/// The ports this function calls (the scheduler; the reminders target is
/// read at init so a missing variable fails the cold start): `main.rs` wires
/// them from AWS, the local platform from its stand-ins.
pub async fn state(w: &impl nexus_ports::WireScheduler) -> Result<State, String> {
    let platform = nexus_ports::Platform::new(w)?.scheduler(w)?;
    let target = platform.config.reminders_target()?;
    Ok(State { platform, target })
}

/// How long before the due date the creator is reminded.
pub const DUE_SOON_BEFORE: jiff::SignedDuration = jiff::SignedDuration::from_hours(24);
/// How long after the due date a still-waiting deliverable is flagged overdue.
pub const OVERDUE_AFTER: jiff::SignedDuration = jiff::SignedDuration::from_mins(1);

pub fn schedule_name(contract: &str, n: u64, kind: &str) -> String {
    format!("{contract}-{n}-{kind}")
}

/// The schedules of a signed contract: `(name, fire at, input)`; times in the past are skipped.
pub fn plan(
    d: &serde_json::Value,
    now: Timestamp,
) -> Result<Vec<(String, Timestamp, serde_json::Value)>, Error> {
    let bad = |p: &str| {
        Error::Validation(vec![FieldError::new(
            p,
            "required",
            "missing in ContractSigned",
        )])
    };
    let contract = d["contractId"]
        .as_str()
        .ok_or_else(|| bad("/data/contractId"))?;
    let org = d["orgId"].as_str().ok_or_else(|| bad("/data/orgId"))?;
    let mut out = vec![];
    for del in d["deliverables"]
        .as_array()
        .ok_or_else(|| bad("/data/deliverables"))?
    {
        let n = del["n"]
            .as_u64()
            .ok_or_else(|| bad("/data/deliverables/n"))?;
        let due: Timestamp = del["dueAt"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad("/data/deliverables/dueAt"))?;
        for (kind, at) in [
            ("soon", due - DUE_SOON_BEFORE),
            ("late", due + OVERDUE_AFTER),
        ] {
            if at > now {
                let input = json!({
                    "kind": if kind == "soon" { "deliverable-due-soon" } else { "deliverable-overdue" },
                    "tenant": org,
                    "subject": format!("contract/{contract}/deliverable/{n}"),
                    "dueAt": due,
                    "data": {"contractId": contract, "n": n},
                    "scheduleArn": "<aws.scheduler.schedule-arn>",
                    "scheduledTime": "<aws.scheduler.scheduled-time>",
                    "executionId": "<aws.scheduler.execution-id>",
                    "attempt": "<aws.scheduler.attempt-number>",
                });
                out.push((schedule_name(contract, n, kind), at, input));
            }
        }
    }
    Ok(out)
}

pub async fn handler(
    state: &State,
    event: LambdaEvent<EventBridgeEvent<serde_json::Value>>,
) -> Result<(), Diagnostic> {
    let e = &event.payload;
    let Some(domain) = DomainEvent::from_envelope(&e.source, &e.detail_type, &e.detail) else {
        return Err(Error::Validation(vec![FieldError::new(
            "/detail",
            "invalid_format",
            "not a NEXUS domain event",
        )])
        .into());
    };
    let d = &domain.data;
    let scheduler = &state.platform.scheduler;
    match domain.detail_type.as_str() {
        nexus_market::events::kind::CONTRACT_SIGNED => {
            let zone_name = d["timeZone"].as_str().unwrap_or("UTC").to_owned();
            let tz = jiff::tz::TimeZone::get(&zone_name)
                .map_err(|_| Error::field("/data/timeZone", "unknown_value", "not an IANA zone"))?;
            for (name, at, input) in plan(d, state.platform.clock.now())? {
                scheduler
                    .schedule_once(&OneTimeSchedule {
                        name,
                        at: tz.to_datetime(at),
                        time_zone: zone_name.clone(),
                        target: state.target.clone(),
                        input,
                    })
                    .await?;
            }
        }
        nexus_market::events::kind::CONTRACT_CANCELLED => {
            let contract = d["contractId"].as_str().unwrap_or_default();
            // Deliverable numbers are 1..=n; cancel until a name is unknown twice in a row is not
            // observable through the port, so cancel the contract's possible range.
            let count = d["deliverables"].as_u64().unwrap_or(50);
            for n in 1..=count {
                for kind in ["soon", "late"] {
                    scheduler.cancel(&schedule_name(contract, n, kind)).await?;
                }
            }
        }
        _ => {}
    }
    tracing::info!(event.id = %domain.id, kind = %domain.detail_type, "milestones");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_due_soon_and_overdue_and_skips_the_past() {
        let now: Timestamp = "2026-12-01T00:00:00Z".parse().unwrap();
        let d = json!({"contractId": "ctr_01JDQ8M3ZP6T0N7W4C5B2X9Y8K", "orgId": "org_01JDQ8M3ZP6T0N7W4C5B2X9Y8K",
            "deliverables": [{"n": 1, "dueAt": "2026-12-10T12:00:00Z"}, {"n": 2, "dueAt": "2026-12-01T12:00:00Z"}]});
        let p = plan(&d, now).unwrap();
        let names: Vec<_> = p.iter().map(|(n, _, _)| n.as_str()).collect();
        // Deliverable 2's "soon" (11 Nov… 30 Nov 12:00) is already past.
        assert_eq!(
            names,
            [
                "ctr_01JDQ8M3ZP6T0N7W4C5B2X9Y8K-1-soon",
                "ctr_01JDQ8M3ZP6T0N7W4C5B2X9Y8K-1-late",
                "ctr_01JDQ8M3ZP6T0N7W4C5B2X9Y8K-2-late"
            ]
        );
        assert_eq!(p[0].1.to_string(), "2026-12-09T12:00:00Z");
        assert_eq!(p[1].2["kind"], "deliverable-overdue");
        assert!(names.iter().all(|n| n.len() <= 64));
    }
}
