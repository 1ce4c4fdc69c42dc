//! The host-facing API beyond the conformance cases: tokens, stop, rejected events,
//! start limits, resuming from storage, and `run_without_tasks`.

use jiff::{SignedDuration, Timestamp};
use nexus_asl::{
    run_without_tasks, Command, Definition, Event, Execution, ExecutionInfo, Rejected, RunError,
    StartError, Status,
};
use serde_json::json;
use std::sync::Arc;

fn t0() -> Timestamp {
    "2024-05-01T12:00:00Z".parse().unwrap()
}

fn callback_machine() -> Arc<Definition> {
    let text = json!({
        "StartAt": "Review",
        "States": {
            "Review": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                "Parameters": {"FunctionName": "notify", "Payload": {"token.$": "$$.Task.Token", "id.$": "$.id"}},
                "HeartbeatSeconds": 3600,
                "TimeoutSeconds": 86400,
                "End": true
            }
        }
    });
    Arc::new(Definition::parse(&text.to_string(), "statemachines/review.asl.json").unwrap())
}

fn run_task(cmds: &[Command]) -> &nexus_asl::TaskRequest {
    cmds.iter()
        .find_map(|c| match c {
            Command::RunTask(r) => Some(r),
            _ => None,
        })
        .expect("a RunTask command")
}

#[test]
fn a_token_survives_a_restart_and_completes_the_execution() {
    let info = ExecutionInfo::local("review", "r-1", 99);
    let (ex, cmds) = Execution::start(callback_machine(), json!({"id": 7}), info, t0()).unwrap();
    let req = run_task(&cmds).clone();
    let token = req.task_token.clone().unwrap();
    assert_eq!(req.parameters["Payload"]["token"], json!(token));
    assert_eq!(req.parameters["Payload"]["id"], json!(7));
    assert_eq!(
        (req.timeout_seconds, req.heartbeat_seconds),
        (86400, Some(3600))
    );
    let timers: Vec<_> = cmds
        .iter()
        .filter(|c| matches!(c, Command::StartTimer { .. }))
        .collect();
    assert_eq!(timers.len(), 2, "task timeout and heartbeat timers");

    // Persist, "restart", resume.
    let stored = serde_json::to_string(&ex).unwrap();
    let mut ex: Execution = serde_json::from_str(&stored).unwrap();
    assert_eq!(ex.pending_timers().len(), 2);
    assert_eq!(ex.pending_tasks().len(), 1);
    let task_id = ex.task_for_token(&token).expect("token is pending");

    let later = t0() + SignedDuration::from_mins(30);
    let cmds = ex.handle(Event::TaskHeartbeat { task_id }, later).unwrap();
    assert!(cmds
        .iter()
        .any(|c| matches!(c, Command::CancelTimer { .. })));
    assert!(cmds.iter().any(|c| matches!(c, Command::StartTimer { at, .. } if *at == later + SignedDuration::from_hours(1))));

    let cmds = ex
        .handle(
            Event::TaskSucceeded {
                task_id,
                output: json!({"approved": true}),
            },
            later,
        )
        .unwrap();
    assert!(cmds.iter().any(|c| matches!(c, Command::Finished(o) if o.status == Status::Succeeded && o.output == Some(json!({"approved": true})))));
    assert_eq!(ex.task_for_token(&token), None);
    // Token reuse is refused.
    assert_eq!(
        ex.handle(
            Event::TaskSucceeded {
                task_id,
                output: json!(1)
            },
            later
        ),
        Err(Rejected::NotRunning)
    );
    let ids: Vec<u64> = ex.history().iter().map(|e| e.id).collect();
    assert_eq!(ids, (1..=ids.len() as u64).collect::<Vec<_>>());
    let last = ex.history().last().unwrap().to_aws_json();
    assert_eq!(last["type"], "ExecutionSucceeded");
    assert_eq!(
        last["executionSucceededEventDetails"]["output"],
        "{\"approved\":true}"
    );
    assert_eq!(last["timestamp"], "2024-05-01T12:30:00.000Z");
}

#[test]
fn events_for_unknown_tasks_are_rejected_and_stale_timers_ignored() {
    let info = ExecutionInfo::local("review", "r-2", 1);
    let (mut ex, _) = Execution::start(callback_machine(), json!({"id": 1}), info, t0()).unwrap();
    assert_eq!(
        ex.handle(Event::TaskHeartbeat { task_id: 12345 }, t0()),
        Err(Rejected::TaskNotPending(12345))
    );
    assert_eq!(
        ex.handle(Event::TimerFired { timer_id: 999 }, t0()),
        Ok(vec![])
    );
}

#[test]
fn stop_aborts_the_running_task() {
    let info = ExecutionInfo::local("review", "r-3", 1);
    let (mut ex, cmds) =
        Execution::start(callback_machine(), json!({"id": 1}), info, t0()).unwrap();
    let task_id = run_task(&cmds).task_id;
    let cmds = ex
        .handle(
            Event::Stop {
                error: Some("Operator".into()),
                cause: Some("stopped".into()),
            },
            t0(),
        )
        .unwrap();
    assert!(cmds.contains(&Command::CancelTask { task_id }));
    assert_eq!(ex.status(), Status::Aborted);
    let types: Vec<&str> = ex.history().iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        types[types.len() - 2..],
        ["TaskStateAborted", "ExecutionAborted"]
    );
    assert!(ex.pending_timers().is_empty());
}

#[test]
fn oversized_input_is_refused_at_start() {
    let big = json!({"s": "x".repeat(262_144)});
    let info = ExecutionInfo::local("review", "r-4", 1);
    assert!(matches!(
        Execution::start(callback_machine(), big, info, t0()),
        Err(StartError::InputTooLarge(_))
    ));
}

#[test]
fn run_without_tasks_reports_like_aws_and_refuses_tasks() {
    let def = Definition::parse(
        r#"{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":86400,"Next":"F"},"F":{"Type":"Fail","Error":"Late","Cause":"a day passed"}}}"#,
        "inline",
    )
    .unwrap();
    let r = run_without_tasks(&def, json!({}), t0()).unwrap();
    assert_eq!(
        serde_json::to_value(&r).unwrap(),
        json!({"status": "FAILED", "error": "Late", "cause": "a day passed"})
    );
    assert_eq!(r.ended_at, t0() + SignedDuration::from_hours(24));
    let ok = Definition::parse(
        r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#,
        "inline",
    )
    .unwrap();
    assert_eq!(
        serde_json::to_value(run_without_tasks(&ok, json!({"a": 1}), t0()).unwrap()).unwrap(),
        json!({"status": "SUCCEEDED", "output": {"a": 1}})
    );
    assert_eq!(
        run_without_tasks(&callback_machine(), json!({}), t0()),
        Err(RunError::HasTasks)
    );
}

#[test]
fn load_errors_read_well() {
    let e = Definition::parse(
        r#"{"StartAt":"P","States":{"P":{"Type":"Parallel","End":true,"Branches":[{"StartAt":"X","States":{"X":{"Type":"Pass","End":true,"QueryLanguage":"JSONata"}}}]}}}"#,
        "statemachines/posting.asl.json",
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "statemachines/posting.asl.json: state 'P.Branches[0].X', field 'QueryLanguage': JSONata is not implemented by the local runner; use JSONPath"
    );
}
