//! EventBridge rule target: turns deliverable due dates into one-time
//! EventBridge Scheduler schedules when a contract is signed — a reminder to
//! the creator 24 h before each due date and an overdue check just after it —
//! in the campaign's IANA time zone, and cancels them when the contract is
//! cancelled. Schedule names are derived from the contract and deliverable,
//! so a redelivered event re-creates nothing (the port treats an existing
//! name as done). The reminders themselves run in `functions/reminders`.
//!
//! A contract has up to 20 deliverables (two schedules each), and a
//! cancellation that does not say how many cancels all 50 × 2 possible
//! names, so one event may mean up to 100 Scheduler calls: they run [`nexus_ports::scheduler::MAX_IN_FLIGHT`] at a
//! time (sized against Scheduler's API quotas, see there), within the
//! function's 60 s timeout. A failure stops the batch and fails the event;
//! Lambda retries it, and the calls that succeeded are no-ops the second time.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_runtime::{Diagnostic, LambdaEvent};
use nexus_core::events::DomainEvent;
use nexus_core::{Error, FieldError, Timestamp};
use nexus_ports::scheduler::{cancel_all, schedule_all, OneTimeSchedule, ScheduleTarget};
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
            let schedules = plan(d, state.platform.clock.now())?
                .into_iter()
                .map(|(name, at, input)| OneTimeSchedule {
                    name,
                    at: tz.to_datetime(at),
                    time_zone: zone_name.clone(),
                    target: state.target.clone(),
                    input,
                })
                .collect();
            schedule_all(scheduler, schedules).await?;
        }
        nexus_market::events::kind::CONTRACT_CANCELLED => {
            let contract = d["contractId"].as_str().unwrap_or_default();
            // Deliverable numbers are 1..=n; cancel until a name is unknown twice in a row is not
            // observable through the port, so cancel the contract's possible range.
            let count = d["deliverables"].as_u64().unwrap_or(50).min(50);
            let names = (1..=count)
                .flat_map(|n| ["soon", "late"].map(|kind| schedule_name(contract, n, kind)))
                .collect();
            cancel_all(scheduler, names).await?;
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

#[cfg(test)]
mod handler_tests {
    use super::*;
    use async_trait::async_trait;
    use nexus_ports::scheduler::{Scheduler, MAX_IN_FLIGHT};
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use std::sync::{Arc, Mutex};

    /// Records names and the most calls in flight at once.
    #[derive(Default)]
    struct Recorder {
        names: Mutex<Vec<String>>,
        now: AtomicUsize,
        peak: AtomicUsize,
    }

    impl Recorder {
        async fn call(&self, name: &str) -> Result<(), Error> {
            let n = self.now.fetch_add(1, SeqCst) + 1;
            self.peak.fetch_max(n, SeqCst);
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
            self.names.lock().unwrap().push(name.to_owned());
            self.now.fetch_sub(1, SeqCst);
            Ok(())
        }
    }

    #[async_trait]
    impl Scheduler for Recorder {
        async fn schedule_once(&self, s: &OneTimeSchedule) -> Result<(), Error> {
            assert!(s.target.dead_letter_arn.is_some(), "schedules carry a DLQ");
            self.call(&s.name).await
        }
        async fn cancel(&self, name: &str) -> Result<(), Error> {
            self.call(name).await
        }
    }

    fn state(recorder: Arc<Recorder>) -> State {
        let sdk = nexus_ports::SdkConfig::builder()
            .behavior_version(nexus_ports::BehaviorVersion::latest())
            .build();
        let config = nexus_ports::Config {
            table_name: Some("t".into()),
            stage: "test".into(),
            schedule_group: Some("g".into()),
            scheduler_role_arn: Some("arn:aws:iam::000000000000:role/r".into()),
            reminders_target_arn: Some("arn:aws:lambda:us-east-1:000000000000:function:f".into()),
            schedule_dlq_arn: Some("arn:aws:sqs:us-east-1:000000000000:q".into()),
            ..nexus_ports::Config::default()
        };
        let mut platform = nexus_ports::Platform::new(&nexus_ports::Aws::new(config, sdk)).unwrap();
        platform.scheduler = recorder;
        State {
            target: platform.config.reminders_target().unwrap(),
            platform,
        }
    }

    fn event(
        detail_type: &str,
        data: serde_json::Value,
    ) -> LambdaEvent<EventBridgeEvent<serde_json::Value>> {
        let mut v: serde_json::Value =
            serde_json::from_str(include_str!("../../../events/milestones-eventbridge.json"))
                .unwrap();
        v["detail-type"] = detail_type.into();
        v["detail"]["data"] = data;
        LambdaEvent::new(serde_json::from_value(v).unwrap(), Default::default())
    }

    #[tokio::test]
    async fn a_cancellation_without_a_count_cancels_every_possible_name_ten_at_a_time() {
        let recorder = Arc::new(Recorder::default());
        let s = state(recorder.clone());
        handler(
            &s,
            event(
                "ContractCancelled",
                json!({"contractId": "ctr_01JDQ8M3ZP6T0N7W4C5B2X9Y8V"}),
            ),
        )
        .await
        .unwrap();
        let names = recorder.names.lock().unwrap().clone();
        assert_eq!(names.len(), 100);
        assert!(names.contains(&"ctr_01JDQ8M3ZP6T0N7W4C5B2X9Y8V-50-late".to_string()));
        assert_eq!(recorder.peak.load(SeqCst), MAX_IN_FLIGHT);
    }

    #[tokio::test]
    async fn a_signed_contract_schedules_both_reminders_of_each_future_deliverable() {
        let recorder = Arc::new(Recorder::default());
        let s = state(recorder.clone());
        let deliverables: Vec<_> = (1..=20)
            .map(|n| json!({"n": n, "dueAt": "2099-01-10T12:00:00Z"}))
            .collect();
        handler(
            &s,
            event(
                "ContractSigned",
                json!({"contractId": "ctr_01JDQ8M3ZP6T0N7W4C5B2X9Y8V",
                       "orgId": "org_01JDQ8M3ZP6T0N7W4C5B2X9Y8M",
                       "timeZone": "Europe/Paris", "deliverables": deliverables}),
            ),
        )
        .await
        .unwrap();
        assert_eq!(recorder.names.lock().unwrap().len(), 40);
        assert!(recorder.peak.load(SeqCst) <= MAX_IN_FLIGHT);
    }
}
