//! The runner on its own: real in-process functions, the adjustable clock,
//! a temporary state directory. Platform-level flows (HTTP routes, restart
//! of the whole platform, the graph page in a browser) are in
//! `local/tests/workflows.rs` and `tests/tests/workflows_page.rs`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::SignedDuration;
use nexus_asl::Status;
use nexus_wiring::template::Function as FunctionDef;
use serde_json::{json, Value};

use super::*;
use crate::functions::Handler;

fn def(logical_id: &str) -> FunctionDef {
    FunctionDef {
        logical_id: logical_id.into(),
        code_uri: format!("functions/{logical_id}"),
        name: logical_id.into(),
        timeout_secs: 3,
        memory_mb: 128,
    }
}

/// A function that records what it was invoked with.
fn recorder(seen: Arc<Mutex<Vec<Value>>>) -> Handler {
    Handler::invoke(move |e| {
        let seen = seen.clone();
        async move {
            seen.lock().unwrap().push(e.payload.clone());
            Ok(json!({"echo": e.payload}))
        }
    })
}

fn failing() -> Handler {
    Handler::invoke(|_| async {
        Err(lambda_runtime::Diagnostic {
            error_type: "PlatformRejected".into(),
            error_message: "the post was refused".into(),
        })
    })
}

struct Rig {
    dir: PathBuf,
    clock: Arc<LocalClock>,
    seen: Arc<Mutex<Vec<Value>>>,
    machines: Vec<Machine>,
}

fn machine(id: &str, kind: WorkflowType, asl: Value) -> Machine {
    let text = asl.to_string();
    Machine {
        logical_id: id.into(),
        arn: state_machine_arn(id),
        kind,
        definition_uri: format!("statemachines/{id}.asl.json"),
        definition: Arc::new(
            nexus_asl::Definition::parse(&text, &format!("statemachines/{id}.asl.json")).unwrap(),
        ),
    }
}

const FN_ARN: &str = "arn:aws:lambda:us-east-1:000000000000:function:Worker";

fn rig() -> Rig {
    let callback = json!({
        "StartAt": "Review",
        "States": {
            "Review": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                "Parameters": {"FunctionName": FN_ARN, "Payload": {"token.$": "$$.Task.Token", "post.$": "$.post"}},
                "TimeoutSeconds": 86400,
                "HeartbeatSeconds": 3600,
                "Next": "Done"
            },
            "Done": {"Type": "Succeed"}
        }
    });
    let invoke = json!({
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "Worker", "Payload.$": "$"},
                "ResultSelector": {"result.$": "$.Payload", "status.$": "$.StatusCode"},
                "Next": "Bare"
            },
            "Bare": {"Type": "Task", "Resource": FN_ARN, "InputPath": "$.result", "Next": "Wait"},
            "Wait": {"Type": "Wait", "Seconds": 86400, "End": true}
        }
    });
    let failing = json!({
        "StartAt": "Post",
        "States": {
            "Post": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "Failing", "Payload.$": "$"},
                "Retry": [{"ErrorEquals": ["PlatformRejected"], "IntervalSeconds": 60, "MaxAttempts": 1}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Gave up"}],
                "End": true
            },
            "Gave up": {"Type": "Pass", "End": true}
        }
    });
    let burst = json!({
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 0,
                "Iterator": {
                    "StartAt": "Call",
                    "States": {
                        "Call": {
                            "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                            "Parameters": {"FunctionName": "Slow", "Payload.$": "$"},
                            "ResultSelector": {"ok": true},
                            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Refused"}],
                            "End": true
                        },
                        "Refused": {"Type": "Pass", "End": true}
                    }
                },
                "End": true
            }
        }
    });
    let pass = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}});
    let mut waits = serde_json::Map::new();
    for i in 0..10 {
        let mut w = json!({"Type": "Wait", "Seconds": 1});
        if i == 9 {
            w["End"] = json!(true);
        } else {
            w["Next"] = json!(format!("W{}", i + 1));
        }
        waits.insert(format!("W{i}"), w);
    }
    let waits = json!({"StartAt": "W0", "States": waits});
    Rig {
        dir: std::env::temp_dir().join(format!("nexus-wf-{}", ulid::Ulid::new())),
        clock: Arc::new(LocalClock::new()),
        seen: Arc::default(),
        machines: vec![
            machine("Callback", WorkflowType::Standard, callback),
            machine("Invoke", WorkflowType::Standard, invoke),
            machine("Failing", WorkflowType::Standard, failing),
            machine("Pass", WorkflowType::Standard, pass.clone()),
            machine("Fast", WorkflowType::Express, pass),
            machine("Waits", WorkflowType::Standard, waits),
            machine("Burst", WorkflowType::Standard, burst),
        ],
    }
}

impl Rig {
    fn open(&self, quotas: Option<Quotas>) -> LocalWorkflows {
        let functions = Functions::from_parts(vec![
            (def("Worker"), recorder(self.seen.clone())),
            (def("Failing"), failing()),
            (
                def("Slow"),
                Handler::invoke(|_| async {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    Ok(json!({}))
                }),
            ),
        ]);
        LocalWorkflows::open(
            self.machines.clone(),
            functions,
            self.clock.clone(),
            self.dir.clone(),
            quotas,
            Duration::from_millis(10),
        )
        .unwrap()
    }

    fn advance(&self, by: SignedDuration) {
        self.clock.advance(by).unwrap();
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Wait (real time, briefly) until `check` holds, firing due timers.
async fn until(wf: &LocalWorkflows, what: &str, check: impl Fn(&LocalWorkflows) -> bool) {
    for _ in 0..500 {
        wf.fire_due_timers();
        if check(wf) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}

fn status(wf: &LocalWorkflows, arn: &str) -> Status {
    wf.get(id_of_arn(arn).unwrap()).unwrap().status
}

async fn token_of(rig: &Rig, wf: &LocalWorkflows, n: usize) -> String {
    until(wf, "the callback function to be invoked", |_| {
        rig.seen.lock().unwrap().len() >= n
    })
    .await;
    rig.seen.lock().unwrap()[n - 1]["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn lambda_tasks_get_the_payload_and_return_the_envelope_or_the_bare_output() {
    let rig = rig();
    let wf = rig.open(None);
    let s = wf
        .start(
            &state_machine_arn("Invoke"),
            Some("run-1"),
            &json!({"n": 1}),
        )
        .unwrap();
    assert_eq!(
        s.execution_arn,
        "arn:aws:states:us-east-1:000000000000:execution:Invoke:run-1"
    );
    until(&wf, "both tasks", |_| rig.seen.lock().unwrap().len() == 2).await;
    // lambda:invoke delivers Payload; the bare ARN delivers the effective input.
    assert_eq!(rig.seen.lock().unwrap()[0], json!({"n": 1}));
    assert_eq!(rig.seen.lock().unwrap()[1], json!({"echo": {"n": 1}}));
    until(&wf, "the Wait state", |wf| {
        wf.history("Invoke:run-1")
            .unwrap()
            .iter()
            .any(|e| e["type"] == "WaitStateEntered")
    })
    .await;
    assert_eq!(status(&wf, &s.execution_arn), Status::Running);
    // The 24 h Wait ends when the platform clock is moved, not before.
    rig.advance(SignedDuration::from_hours(24));
    until(&wf, "the end", |wf| {
        status(wf, &s.execution_arn) == Status::Succeeded
    })
    .await;
    let v = wf.describe(&s.execution_arn).unwrap();
    assert_eq!(v.output, Some(json!({"echo": {"echo": {"n": 1}}})));
    let h = wf.history("Invoke:run-1").unwrap();
    let types: Vec<&str> = h.iter().filter_map(|e| e["type"].as_str()).collect();
    for t in [
        "ExecutionStarted",
        "TaskScheduled",
        "TaskSucceeded",
        "LambdaFunctionScheduled",
        "LambdaFunctionSucceeded",
        "WaitStateExited",
        "ExecutionSucceeded",
    ] {
        assert!(types.contains(&t), "{t} in {types:?}");
    }
    let succeeded = h.iter().find(|e| e["type"] == "TaskSucceeded").unwrap();
    let output: Value = serde_json::from_str(
        succeeded["taskSucceededEventDetails"]["output"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(output["StatusCode"], 200);
    assert_eq!(output["Payload"], json!({"echo": {"n": 1}}));
}

#[tokio::test]
async fn function_errors_surface_under_their_error_type_and_retry_on_the_clock() {
    let rig = rig();
    let wf = rig.open(None);
    let s = wf
        .start(&state_machine_arn("Failing"), Some("f"), &json!({}))
        .unwrap();
    until(&wf, "the first failure", |wf| {
        wf.history("Failing:f")
            .unwrap()
            .iter()
            .any(|e| e["type"] == "TaskFailed")
    })
    .await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    wf.fire_due_timers();
    assert_eq!(
        status(&wf, &s.execution_arn),
        Status::Running,
        "retry waits 60 s"
    );
    rig.advance(SignedDuration::from_secs(61));
    until(&wf, "the catch", |wf| {
        status(wf, &s.execution_arn) == Status::Succeeded
    })
    .await;
    let out = wf.describe(&s.execution_arn).unwrap().output.unwrap();
    assert_eq!(out["Error"], "PlatformRejected");
    let cause: Value = serde_json::from_str(out["Cause"].as_str().unwrap()).unwrap();
    assert_eq!(
        cause,
        json!({"errorType": "PlatformRejected", "errorMessage": "the post was refused"})
    );
    let failures = wf
        .history("Failing:f")
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "TaskFailed")
        .count();
    assert_eq!(failures, 2, "one attempt and one retry");
    let page = wf.graph_page("Failing:f").unwrap();
    assert!(
        page.contains(r#"data-state="Post" data-outcome="caught""#),
        "{page}"
    );
    assert!(page.contains(r#"data-state="Gave up" data-outcome="succeeded""#));
}

#[tokio::test]
async fn task_token_success_then_reuse_is_refused() {
    let rig = rig();
    let wf = rig.open(None);
    let s = wf
        .start(
            &state_machine_arn("Callback"),
            Some("ok"),
            &json!({"post": "p1"}),
        )
        .unwrap();
    let token = token_of(&rig, &wf, 1).await;
    assert_eq!(rig.seen.lock().unwrap()[0]["post"], "p1");
    until(&wf, "TaskSubmitted", |wf| {
        wf.history("Callback:ok")
            .unwrap()
            .iter()
            .any(|e| e["type"] == "TaskSubmitted")
    })
    .await;
    assert_eq!(status(&wf, &s.execution_arn), Status::Running);
    wf.send_task_success(&token, &json!({"decision": "approved"}))
        .unwrap();
    assert_eq!(status(&wf, &s.execution_arn), Status::Succeeded);
    assert_eq!(
        wf.describe(&s.execution_arn).unwrap().output,
        Some(json!({"decision": "approved"}))
    );
    let again = wf.send_task_success(&token, &json!({})).unwrap_err();
    assert_eq!(again.code(), "TaskTimedOut", "{again}");
    let again = wf.send_task_heartbeat(&token).unwrap_err();
    assert_eq!(again.code(), "TaskTimedOut");
    let forged = wf.send_task_success("not-a-token", &json!({})).unwrap_err();
    assert_eq!(forged.code(), "InvalidToken");
    assert_eq!(
        wf.send_task_success("", &json!({})).unwrap_err().code(),
        "InvalidToken"
    );
}

#[tokio::test]
async fn task_token_failure_fails_the_execution_with_its_error_and_cause() {
    let rig = rig();
    let wf = rig.open(None);
    let s = wf
        .start(
            &state_machine_arn("Callback"),
            Some("no"),
            &json!({"post": "p2"}),
        )
        .unwrap();
    let token = token_of(&rig, &wf, 1).await;
    wf.send_task_failure(&token, Some("Rejected"), Some("off-brand"))
        .unwrap();
    let v = wf.describe(&s.execution_arn).unwrap();
    assert_eq!(v.status, Status::Failed);
    assert_eq!(
        (v.error.as_deref(), v.cause.as_deref()),
        (Some("Rejected"), Some("off-brand"))
    );
    assert_eq!(
        wf.send_task_failure(&token, None, None).unwrap_err().code(),
        "TaskTimedOut"
    );
}

#[tokio::test]
async fn heartbeats_keep_a_token_alive_until_they_stop_then_it_times_out() {
    let rig = rig();
    let wf = rig.open(None);
    let s = wf
        .start(
            &state_machine_arn("Callback"),
            Some("hb"),
            &json!({"post": "p3"}),
        )
        .unwrap();
    let token = token_of(&rig, &wf, 1).await;
    // HeartbeatSeconds 3600: beat every 50 minutes for 4 hours.
    for _ in 0..5 {
        rig.advance(SignedDuration::from_mins(50));
        wf.fire_due_timers();
        wf.send_task_heartbeat(&token).unwrap();
        assert_eq!(status(&wf, &s.execution_arn), Status::Running);
    }
    rig.advance(SignedDuration::from_mins(61));
    until(&wf, "the heartbeat timeout", |wf| {
        status(wf, &s.execution_arn) == Status::Failed
    })
    .await;
    let v = wf.describe(&s.execution_arn).unwrap();
    assert_eq!(v.error.as_deref(), Some("States.Timeout"));
    let late = wf.send_task_success(&token, &json!({})).unwrap_err();
    assert_eq!(late.code(), "TaskTimedOut");
    assert!(wf
        .history("Callback:hb")
        .unwrap()
        .iter()
        .any(|e| e["type"] == "TaskTimedOut"));
}

#[tokio::test]
async fn a_waiting_token_survives_a_restart_and_completes_after_it() {
    let rig = rig();
    let token;
    let arn;
    {
        let wf = rig.open(None);
        arn = wf
            .start(
                &state_machine_arn("Callback"),
                Some("restart"),
                &json!({"post": "p4"}),
            )
            .unwrap()
            .execution_arn;
        token = token_of(&rig, &wf, 1).await;
        until(&wf, "TaskSubmitted", |wf| {
            wf.history("Callback:restart")
                .unwrap()
                .iter()
                .any(|e| e["type"] == "TaskSubmitted")
        })
        .await;
    }
    let wf = rig.open(None);
    wf.resume();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        rig.seen.lock().unwrap().len(),
        1,
        "a submitted callback is not invoked again"
    );
    assert_eq!(status(&wf, &arn), Status::Running);
    // The heartbeat timer was re-armed from the persisted execution.
    wf.send_task_heartbeat(&token).unwrap();
    wf.send_task_success(&token, &json!({"decision": "approved"}))
        .unwrap();
    assert_eq!(status(&wf, &arn), Status::Succeeded);
    // And that is what a third start of the runner finds.
    drop(wf);
    let wf = rig.open(None);
    assert_eq!(
        wf.describe(&arn).unwrap().output,
        Some(json!({"decision": "approved"}))
    );
    assert_eq!(
        wf.send_task_success(&token, &json!({})).unwrap_err().code(),
        "TaskTimedOut"
    );
}

#[tokio::test]
async fn timers_are_rearmed_after_a_restart() {
    let rig = rig();
    let arn;
    {
        let wf = rig.open(None);
        arn = wf
            .start(
                &state_machine_arn("Callback"),
                Some("t"),
                &json!({"post": "p5"}),
            )
            .unwrap()
            .execution_arn;
        token_of(&rig, &wf, 1).await;
    }
    let wf = rig.open(None);
    rig.advance(SignedDuration::from_mins(61));
    until(&wf, "the heartbeat timeout after restart", |wf| {
        status(wf, &arn) == Status::Failed
    })
    .await;
}

#[tokio::test]
async fn standard_starts_are_unique_by_name_express_ones_are_not() {
    let rig = rig();
    let wf = rig.open(None);
    let cb = state_machine_arn("Callback");
    let a = wf.start(&cb, Some("same"), &json!({"post": "x"})).unwrap();
    let b = wf.start(&cb, Some("same"), &json!({"post": "x"})).unwrap();
    assert_eq!(
        a, b,
        "same name and input while running: the same execution"
    );
    let e = wf
        .start(&cb, Some("same"), &json!({"post": "y"}))
        .unwrap_err();
    assert_eq!(e.code(), "ExecutionAlreadyExists");
    let pass = state_machine_arn("Pass");
    wf.start(&pass, Some("done"), &json!({})).unwrap();
    let e = wf.start(&pass, Some("done"), &json!({})).unwrap_err();
    assert_eq!(
        e.code(),
        "ExecutionAlreadyExists",
        "closed: refused, as AWS"
    );
    let fast = state_machine_arn("Fast");
    let x = wf.start(&fast, Some("again"), &json!({})).unwrap();
    let y = wf.start(&fast, Some("again"), &json!({})).unwrap();
    assert_ne!(x.execution_arn, y.execution_arn);
    assert!(x.execution_arn.contains(":express:Fast:again:"));
    assert_eq!(
        wf.describe(&x.execution_arn).unwrap_err().code(),
        "ExecutionDoesNotExist"
    );
    assert_eq!(
        wf.start(&pass, Some("a b"), &json!({})).unwrap_err().code(),
        "InvalidName"
    );
    assert_eq!(
        wf.start(
            "arn:aws:states:us-east-1:000000000000:stateMachine:Nope",
            None,
            &json!({})
        )
        .unwrap_err()
        .code(),
        "StateMachineDoesNotExist"
    );
    let big = json!({"x": "y".repeat(MAX_PAYLOAD_BYTES)});
    assert_eq!(
        wf.start(&pass, Some("big"), &big).unwrap_err().code(),
        "InvalidExecutionInput"
    );
    let listed = wf.list(Some("Pass"), Some(Status::Succeeded));
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].name, "done");
}

#[tokio::test]
async fn stop_aborts_and_refuses_the_token() {
    let rig = rig();
    let wf = rig.open(None);
    let s = wf
        .start(
            &state_machine_arn("Callback"),
            Some("stop"),
            &json!({"post": "p"}),
        )
        .unwrap();
    let token = token_of(&rig, &wf, 1).await;
    wf.stop(&s.execution_arn, Some("Cancelled"), Some("by the brand"))
        .unwrap();
    let v = wf.describe(&s.execution_arn).unwrap();
    assert_eq!(v.status, Status::Aborted);
    assert!(v.stop_date.is_some());
    assert_eq!(
        wf.send_task_success(&token, &json!({})).unwrap_err().code(),
        "TaskTimedOut"
    );
    assert_eq!(
        wf.stop(
            "arn:aws:states:us-east-1:000000000000:execution:Callback:none",
            None,
            None
        )
        .unwrap_err()
        .code(),
        "ExecutionDoesNotExist"
    );
}

/// With quotas on, a burst of Standard starts gets AWS's 1,300-token
/// bucket (refilled at 300 per second) and then `ThrottlingException`.
#[tokio::test]
async fn a_burst_of_starts_is_throttled_at_the_standard_bucket_size() {
    let rig = rig();
    let wf = rig.open(Some(Quotas::default()));
    let pass = state_machine_arn("Pass");
    let started = std::time::Instant::now();
    let mut ok = 0;
    let mut throttled = None;
    for i in 0..2_000 {
        match wf.start(&pass, Some(&format!("burst-{i}")), &json!({})) {
            Ok(_) => ok += 1,
            Err(e) => {
                throttled = Some(e);
                break;
            }
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let e = throttled.expect("the burst is throttled");
    assert_eq!(e.code(), "ThrottlingException");
    assert_eq!(e.message(), "Rate exceeded");
    // 1,300 at once, plus what refilled (300/s) while the burst ran.
    let refilled = (secs * 300.0).ceil() as i64;
    assert!(
        ok >= 1_300 && i64::from(ok) <= 1_300 + refilled + 1,
        "{ok} starts in {secs:.2} s"
    );
    // A retried start after the refill goes through.
    tokio::time::sleep(Duration::from_millis(20)).await;
    wf.start(&pass, Some("after"), &json!({})).unwrap();
    // Without quotas nothing is throttled.
    let free = rig.open(None);
    for i in 0..1_500 {
        free.start(
            &state_machine_arn("Fast"),
            Some(&format!("f{i}")),
            &json!({}),
        )
        .unwrap();
    }
}

/// With quotas on, every state entered takes a StateTransition token: with
/// a bucket of 1 refilled at 50 per second, ten states take about 180 ms of
/// real time however far the clock moves; without quotas, no wait.
#[tokio::test]
async fn state_transitions_are_paced_by_their_bucket() {
    let rig = rig();
    let run = |wf: LocalWorkflows, name: &'static str| {
        let clock = rig.clock.clone();
        async move {
            let started = std::time::Instant::now();
            let s = wf
                .start(&state_machine_arn("Waits"), Some(name), &json!({}))
                .unwrap();
            // Each Wait is due one clock second after the previous one ends.
            for _ in 0..2_000 {
                clock.advance(SignedDuration::from_secs(2)).unwrap();
                wf.fire_due_timers();
                if status(&wf, &s.execution_arn) == Status::Succeeded {
                    return started.elapsed();
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            panic!("ten waits did not end")
        }
    };
    let paced = rig.open(Some(Quotas {
        transitions: quotas::Bucket::new(1, 50),
        ..Quotas::default()
    }));
    let took = run(paced, "paced").await;
    assert!(took >= Duration::from_millis(150), "{took:?}");
    let free = run(rig.open(None), "free").await;
    assert!(free < took, "{free:?} vs {took:?}");
}

/// With quotas on, Lambda tasks beyond the account's concurrency are refused
/// as Lambda refuses them: the task fails with
/// `Lambda.TooManyRequestsException` (here a concurrency of 2 and six
/// iterations at once: two run, four are refused). Without quotas all run.
#[tokio::test]
async fn lambda_tasks_beyond_the_account_concurrency_are_refused_as_lambda_refuses_them() {
    let rig = rig();
    let outcomes = async |wf: &LocalWorkflows, name: &str| -> Vec<Value> {
        let s = wf
            .start(
                &state_machine_arn("Burst"),
                Some(name),
                &json!({"items": [1, 2, 3, 4, 5, 6]}),
            )
            .unwrap();
        until(wf, "the burst", |wf| {
            status(wf, &s.execution_arn) == Status::Succeeded
        })
        .await;
        let out = wf.describe(&s.execution_arn).unwrap().output.unwrap();
        out.as_array().unwrap().clone()
    };
    let limited = rig.open(Some(Quotas::default().with_lambda_concurrency(2)));
    let got = outcomes(&limited, "limited").await;
    let ok = got.iter().filter(|o| o["ok"] == true).count();
    let refused: Vec<&Value> = got
        .iter()
        .filter(|o| o["Error"] == "Lambda.TooManyRequestsException")
        .collect();
    assert_eq!((ok, refused.len()), (2, 4), "{got:?}");
    assert!(refused[0]["Cause"]
        .as_str()
        .unwrap()
        .starts_with("Rate Exceeded. (Service: AWSLambda; Status Code: 429"));
    let free = rig.open(None);
    let got = outcomes(&free, "free").await;
    assert!(got.iter().all(|o| o["ok"] == true), "{got:?}");
}
