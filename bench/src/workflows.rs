//! The Step Functions runner: executions per second and the cost of one
//! state transition, for a 10-state Pass/Choice machine and for a 5-task
//! Lambda machine, on this machine's cores.
//!
//! Three layers are measured apart: the interpreter alone (`nexus-asl`, no
//! I/O), the local runner with a Pass/Choice machine (the interpreter plus
//! history, persistence to `.nexus/workflows/` and bookkeeping), and the
//! local runner with Lambda tasks invoked in-process (plus a tokio task per
//! invocation and the `lambda:invoke` envelope).

use std::sync::Arc;
use std::time::{Duration, Instant};

use nexus_local::functions::Functions;
use nexus_local::workflows::machines::{state_machine_arn, Machine};
use nexus_local::workflows::{LocalWorkflows, WorkflowType};
use nexus_local::{Handler, LocalClock};
use serde_json::{json, Value};

/// P0 → C1 → P2 → C3 → … → C9 → Done: five Pass and five Choice states
/// (each Choice compares `$.n`), then Succeed (11 states entered).
fn pass_choice() -> Value {
    let mut states = serde_json::Map::new();
    for i in 0..10 {
        let next = if i == 9 {
            "Done".to_owned()
        } else {
            format!("S{}", i + 1)
        };
        let s = if i % 2 == 0 {
            json!({"Type": "Pass", "Parameters": {"n.$": "$.n", "step": i}, "Next": next})
        } else {
            json!({"Type": "Choice",
                   "Choices": [{"Variable": "$.n", "NumericGreaterThanEquals": 0, "Next": next}],
                   "Default": "Done"})
        };
        states.insert(format!("S{i}"), s);
    }
    states.insert("Done".into(), json!({"Type": "Succeed"}));
    json!({"StartAt": "S0", "States": states})
}

/// Five `lambda:invoke` tasks in a row, each passing the payload on.
fn five_tasks() -> Value {
    let mut states = serde_json::Map::new();
    for i in 0..5 {
        let mut s = json!({
            "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "Echo", "Payload.$": "$"},
            "ResultSelector": {"n.$": "$.Payload.n"}
        });
        if i == 4 {
            s["End"] = json!(true);
        } else {
            s["Next"] = json!(format!("T{}", i + 1));
        }
        states.insert(format!("T{i}"), s);
    }
    json!({"StartAt": "T0", "States": states})
}

fn machine(id: &str, asl: &Value) -> Machine {
    let uri = format!("statemachines/{id}.asl.json");
    Machine {
        logical_id: id.into(),
        arn: state_machine_arn(id),
        kind: WorkflowType::Standard,
        definition_uri: uri.clone(),
        definition: Arc::new(nexus_asl::Definition::parse(&asl.to_string(), &uri).unwrap()),
    }
}

async fn runner_rate(
    wf: &LocalWorkflows,
    machine: &str,
    executions: usize,
) -> Result<Duration, String> {
    let arn = state_machine_arn(machine);
    let started = Instant::now();
    let mut ids = Vec::with_capacity(executions);
    for i in 0..executions {
        let s = wf
            .start(&arn, Some(&format!("run-{i}")), &json!({"n": i}))
            .map_err(|e| e.to_string())?;
        ids.push(s.execution_arn);
    }
    for arn in &ids {
        loop {
            let v = wf.describe(arn).map_err(|e| e.to_string())?;
            match v.status {
                nexus_asl::Status::Running => tokio::time::sleep(Duration::from_millis(1)).await,
                nexus_asl::Status::Succeeded => break,
                other => return Err(format!("{arn}: {other:?}")),
            }
        }
    }
    Ok(started.elapsed())
}

pub async fn run(executions: usize) -> Result<(), Box<dyn std::error::Error>> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("\n## Step Functions runner ({cores} cores, {executions} executions per row)\n");
    println!("| machine | layer | executions/s | per transition |");
    println!("|---|---|---:|---:|");

    // The interpreter alone.
    let pc = pass_choice();
    let def = nexus_asl::Definition::parse(&pc.to_string(), "pass-choice")?;
    let now = jiff::Timestamp::now();
    let t = Instant::now();
    for i in 0..executions {
        let r = nexus_asl::run_without_tasks(&def, json!({"n": i}), now)?;
        assert!(matches!(r.status, nexus_asl::Status::Succeeded));
    }
    let e = t.elapsed();
    let transitions = 11.0;
    println!(
        "| 10 Pass/Choice | interpreter (`nexus-asl`) | {:.0} | {:.1} µs |",
        executions as f64 / e.as_secs_f64(),
        e.as_secs_f64() * 1e6 / (executions as f64 * transitions)
    );

    let dir = std::env::temp_dir().join(format!("nexus-bench-wf-{}", ulid::Ulid::new()));
    let def = nexus_wiring::template::Function {
        logical_id: "Echo".into(),
        code_uri: "functions/echo".into(),
        name: "Echo".into(),
        timeout_secs: 3,
        memory_mb: 128,
    };
    let functions = Functions::from_parts(vec![(
        def,
        Handler::invoke(|e| async move { Ok(e.payload) }),
    )]);
    let wf = LocalWorkflows::open(
        vec![
            machine("PassChoice", &pc),
            machine("FiveTasks", &five_tasks()),
        ],
        functions,
        Arc::new(LocalClock::new()),
        dir.clone(),
        None,
        Duration::from_millis(10),
    )?;
    let e = runner_rate(&wf, "PassChoice", executions).await?;
    println!(
        "| 10 Pass/Choice | local runner (history, persisted) | {:.0} | {:.1} µs |",
        executions as f64 / e.as_secs_f64(),
        e.as_secs_f64() * 1e6 / (executions as f64 * transitions)
    );
    let e = runner_rate(&wf, "FiveTasks", executions).await?;
    println!(
        "| 5 Lambda tasks | local runner, in-process functions | {:.0} | {:.1} µs |",
        executions as f64 / e.as_secs_f64(),
        e.as_secs_f64() * 1e6 / (executions as f64 * 5.0)
    );
    let _ = std::fs::remove_dir_all(&dir);
    println!(
        "\nAWS's own ceilings for comparison: StartExecution 300/s sustained \
         (bucket 1,300), StateTransition 1,500/s (bucket 5,000) for Standard \
         workflows in the largest Regions."
    );
    Ok(())
}
