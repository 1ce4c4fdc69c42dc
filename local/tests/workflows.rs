//! The Step Functions runner inside the local platform: a state machine
//! declared in template.yaml, its Lambda task served by a template function,
//! the local routes, the clock, and a restart of the whole platform while a
//! task token waits.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use nexus_local::{Handler, LocalPlatform, Options};
use serde_json::{json, Value};

const MACHINE: &str = "ReviewStateMachine";

/// The repository template with `resources` (YAML under `Resources:`) added
/// and the state machine `files` (`statemachines/<name>`), in a temporary
/// directory; the path of its template.yaml.
fn template_with(resources: &str, files: &[(&str, Value)]) -> std::path::PathBuf {
    let text = std::fs::read_to_string(nexus_devenv::repo_root().join("template.yaml")).unwrap();
    let dir = std::env::temp_dir().join(format!("nexus-template-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(dir.join("statemachines")).unwrap();
    for (name, asl) in files {
        std::fs::write(dir.join("statemachines").join(name), asl.to_string()).unwrap();
    }
    let path = dir.join("template.yaml");
    let text = text.replacen("Resources:\n", &format!("Resources:\n{resources}"), 1);
    std::fs::write(&path, text).unwrap();
    path
}

/// The repository template plus a review workflow whose callback task is
/// served by a `workflow-probe` function, in a temporary directory.
fn template() -> std::path::PathBuf {
    let extra = r#"  WorkflowProbeFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/workflow-probe
  ReviewStateMachine:
    Type: AWS::Serverless::StateMachine
    Properties:
      Type: STANDARD
      DefinitionUri: statemachines/review.asl.json
      DefinitionSubstitutions:
        ProbeArn: !GetAtt WorkflowProbeFunction.Arn
"#;
    template_with(
        extra,
        &[(
            "review.asl.json",
            json!({
            "Comment": "Ask a reviewer, wait a day, finish",
            "StartAt": "Ask",
            "States": {
                "Ask": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                    "Parameters": {"FunctionName": "${ProbeArn}", "Payload": {"token.$": "$$.Task.Token", "input.$": "$"}},
                    "TimeoutSeconds": 172800,
                    "HeartbeatSeconds": 90000,
                    "ResultPath": "$.review",
                    "Next": "Cool down"
                },
                "Cool down": {"Type": "Wait", "Seconds": 86400, "Next": "Decide"},
                "Decide": {
                    "Type": "Choice",
                    "Choices": [{"Variable": "$.review.decision", "StringEquals": "approved", "Next": "Approved"}],
                    "Default": "Rejected"
                },
                "Approved": {"Type": "Succeed"},
                "Rejected": {"Type": "Fail", "Error": "Rejected", "Cause": "the reviewer said no"}
            }
            }),
        )],
    )
}

fn probe(seen: Arc<Mutex<Vec<Value>>>) -> Handler {
    Handler::invoke(move |e| {
        let seen = seen.clone();
        async move {
            seen.lock().unwrap().push(e.payload);
            Ok(json!({"asked": true}))
        }
    })
}

async fn options(template: &std::path::Path, seen: &Arc<Mutex<Vec<Value>>>) -> Options {
    Options {
        template: template.to_path_buf(),
        ..Options::ephemeral(nexus_devenv::dynamodb_local::shared_endpoint().await)
    }
    .with_override("workflow-probe", probe(seen.clone()))
}

async fn wait_for(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..500 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}

async fn get(url: String) -> (u16, Value) {
    let r = reqwest::get(url).await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn advance(local: &LocalPlatform, by: &str) {
    let r = reqwest::Client::new()
        .post(format!("{}/_local/clock", local.url()))
        .json(&json!({"advance": by}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn a_workflow_waits_on_its_token_across_a_platform_restart_then_completes() {
    let template = template();
    let seen = Arc::new(Mutex::new(vec![]));
    let first = options(&template, &seen).await;
    let (state_dir, table) = (first.state_dir.clone(), first.table_name.clone());
    let local = LocalPlatform::start(Options {
        remove_state_on_stop: false,
        ..first
    })
    .await
    .unwrap();
    assert_eq!(local.summary().state_machines, 1);
    assert!(local.banner().contains("/_local/executions"));
    let machine = local.workflows().machine(MACHINE).unwrap().arn.clone();
    let started = local
        .workflows()
        .start(&machine, Some("post-1"), &json!({"post": "p-1"}))
        .unwrap();
    wait_for("the probe to get the token", || {
        !seen.lock().unwrap().is_empty()
    })
    .await;
    let token = seen.lock().unwrap()[0]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(seen.lock().unwrap()[0]["input"], json!({"post": "p-1"}));
    local.settle(Duration::from_secs(10)).await.unwrap();

    let (status, list) = get(format!(
        "{}/_local/executions?stateMachine={MACHINE}&status=RUNNING",
        local.url()
    ))
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        list["items"][0]["executionArn"],
        started.execution_arn.as_str()
    );
    let id = list["items"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(id, format!("{MACHINE}:post-1"));
    local.stop().await;

    // The same state directory and table: the token is still waited for.
    let again = LocalPlatform::start(Options {
        state_dir: state_dir.clone(),
        table_name: table,
        fresh: false,
        ..options(&template, &seen).await
    })
    .await
    .unwrap();
    let (_, one) = get(format!("{}/_local/executions/{id}", again.url())).await;
    assert_eq!(one["status"], "RUNNING");
    assert_eq!(one["input"], json!({"post": "p-1"}));
    let types: Vec<&str> = one["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["type"].as_str())
        .collect();
    assert_eq!(
        &types[..3],
        ["ExecutionStarted", "TaskStateEntered", "TaskScheduled"]
    );
    assert!(types.contains(&"TaskSubmitted"), "{types:?}");
    assert_eq!(seen.lock().unwrap().len(), 1, "not invoked again");

    again
        .workflows()
        .send_task_success(&token, &json!({"decision": "approved"}))
        .unwrap();
    let reuse = again
        .workflows()
        .send_task_success(&token, &json!({"decision": "approved"}))
        .unwrap_err();
    assert_eq!(reuse.code(), "TaskTimedOut");
    // The day-long Wait ends when the platform clock moves.
    again.settle(Duration::from_secs(10)).await.unwrap();
    let (_, one) = get(format!("{}/_local/executions/{id}", again.url())).await;
    assert_eq!(one["status"], "RUNNING");
    advance(&again, "PT24H").await;
    let url = format!("{}/_local/executions/{id}", again.url());
    let mut last = Value::Null;
    for _ in 0..300 {
        last = get(url.clone()).await.1;
        if last["status"] != "RUNNING" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(last["status"], "SUCCEEDED", "{last}");
    assert_eq!(
        last["output"],
        json!({"post": "p-1", "review": {"decision": "approved"}})
    );
    let page = reqwest::get(format!("{}/_local/executions/{id}/graph", again.url()))
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(page
        .headers()
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = page.text().await.unwrap();
    assert!(
        html.contains(r#"data-state="Ask" data-outcome="succeeded""#),
        "{html}"
    );
    assert!(html.contains(r#"data-state="Rejected" data-outcome="not-reached""#));
    let (status, _) = get(format!("{}/_local/executions/{MACHINE}:nope", again.url())).await;
    assert_eq!(status, 404);
    again.stop().await;
    let _ = std::fs::remove_dir_all(&state_dir);
}

#[tokio::test]
async fn asl_run_answers_as_aws_reports_and_routes_check_their_input() {
    let seen = Arc::new(Mutex::new(vec![]));
    let local = LocalPlatform::start(options(&template(), &seen).await)
        .await
        .unwrap();
    let client = reqwest::Client::new();
    let run = |body: Value| {
        let client = client.clone();
        let url = format!("{}/_local/asl/run", local.url());
        async move {
            let r = client.post(url).json(&body).send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let (s, b) = run(json!({
        "definition": {"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"sum.$": "States.MathAdd($.a, $.b)"}, "End": true}}},
        "input": {"a": 2, "b": 3}
    }))
    .await;
    assert_eq!(
        (s, b),
        (200, json!({"status": "SUCCEEDED", "output": {"sum": 5}}))
    );
    let (s, b) = run(json!({
        "definition": {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Nope", "Cause": "because"}}},
        "input": {}
    }))
    .await;
    assert_eq!(
        (s, b),
        (
            200,
            json!({"status": "FAILED", "error": "Nope", "cause": "because"})
        )
    );
    let (s, b) = run(json!({
        "definition": {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:000000000000:function:X", "End": true}}}
    }))
    .await;
    assert_eq!(s, 400, "{b}");
    let (s, b) = run(json!({"definition": {"QueryLanguage": "JSONata", "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}})).await;
    assert_eq!(s, 400);
    assert!(b.to_string().contains("QueryLanguage"), "{b}");
    let (s, _) = get(format!("{}/_local/executions?status=DONE", local.url())).await;
    assert_eq!(s, 400);
    let (s, b) = get(format!(
        "{}/_local/executions?stateMachine=Nope",
        local.url()
    ))
    .await;
    assert_eq!(s, 400);
    assert!(b.to_string().contains(MACHINE), "{b}");
    local.stop().await;
}

#[tokio::test]
async fn a_state_machine_the_runner_cannot_run_stops_the_platform_naming_it() {
    let seen = Arc::new(Mutex::new(vec![]));
    let template = template();
    let file = template
        .parent()
        .unwrap()
        .join("statemachines/review.asl.json");
    std::fs::write(
        &file,
        r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Assign":{"x":1},"End":true}}}"#,
    )
    .unwrap();
    let err = LocalPlatform::start(options(&template, &seen).await)
        .await
        .err()
        .expect("refused");
    let msg = err.to_string();
    assert!(
        msg.contains("statemachines/review.asl.json") && msg.contains("Assign"),
        "{msg}"
    );
    assert!(msg.contains("ReviewStateMachine"), "{msg}");
}

fn repo() -> std::path::PathBuf {
    nexus_devenv::repo_root()
}

/// The graph page in Debian's Chromium (headless, offline): every state is
/// drawn with the colour of what happened to it, and clicking a state shows
/// its input and output. Needs `chromium` and `playwright-core`, both
/// installed by `make tools`.
#[tokio::test]
async fn the_graph_page_colours_states_and_shows_a_clicked_state_in_a_browser() {
    let browser = std::env::var_os("NEXUS_CHROMIUM")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| "/usr/bin/chromium".into());
    assert!(
        browser.is_file(),
        "chromium not found: `make tools` installs it (or set NEXUS_CHROMIUM)"
    );
    let modules = repo().join(".tools/node_modules");
    assert!(
        modules.join("playwright-core").exists(),
        "no playwright-core in .tools: run `make tools`"
    );
    let seen = Arc::new(Mutex::new(vec![]));
    let local = LocalPlatform::start(options(&template(), &seen).await)
        .await
        .unwrap();
    let wf = local.workflows();
    let machine = wf.machine(MACHINE).unwrap().arn.clone();
    wf.start(&machine, Some("rejected-post"), &json!({"post": "p-2"}))
        .unwrap();
    wait_for("the token", || !seen.lock().unwrap().is_empty()).await;
    let token = seen.lock().unwrap()[0]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    // A second execution stays on its token.
    wf.start(&machine, Some("waiting-post"), &json!({"post": "p-3"}))
        .unwrap();
    wait_for("the second token", || seen.lock().unwrap().len() == 2).await;
    wf.send_task_success(&token, &json!({"decision": "rejected"}))
        .unwrap();
    advance(&local, "P1D").await;
    let id = format!("{MACHINE}:rejected-post");
    wait_for("the rejection", || {
        wf.get(&id)
            .is_some_and(|v| v.status == nexus_asl::Status::Failed)
    })
    .await;
    let waiting = reqwest::get(format!(
        "{}/_local/executions/{MACHINE}:waiting-post/graph",
        local.url()
    ))
    .await
    .unwrap()
    .text()
    .await
    .unwrap();
    assert!(waiting.contains(r#"data-state="Ask" data-outcome="waiting""#));

    let screenshot = repo().join("target/workflow-graph.png");
    let run = tokio::process::Command::new("node")
        .arg(repo().join("tests/browser/workflow-graph.cjs"))
        .arg(format!("{}/_local/executions/{id}/graph", local.url()))
        .arg(&browser)
        .arg("Ask")
        .arg(&screenshot)
        .env("NODE_PATH", &modules)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(180), run)
        .await
        .expect("the browser run finishes within 3 minutes")
        .expect("node runs");
    assert!(
        out.status.success(),
        "browser run failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["external"], json!([]), "{report}");
    assert_eq!(report["consoleErrors"], json!([]), "{report}");
    let outcome = |s: &str| {
        report["states"][s]["outcome"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    };
    assert_eq!(outcome("Ask"), "succeeded");
    assert_eq!(outcome("Cool down"), "succeeded");
    assert_eq!(outcome("Decide"), "succeeded");
    assert_eq!(outcome("Rejected"), "failed");
    assert_eq!(outcome("Approved"), "not-reached");
    let fill = |s: &str| {
        report["states"][s]["fill"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    };
    assert_ne!(fill("Rejected"), fill("Ask"), "failed and succeeded differ");
    assert_ne!(fill("Approved"), fill("Ask"));
    assert!(report["states"]["Ask"]["visible"].as_bool().unwrap());
    let panel = &report["panel"];
    assert_eq!(panel["selected"], "Ask");
    assert!(panel["input"].as_str().unwrap().contains("p-2"), "{panel}");
    assert!(
        panel["output"].as_str().unwrap().contains("rejected"),
        "{panel}"
    );
    local.stop().await;
}

/// The `Workflows` port a function gets (`Platform.workflows`), on the
/// local runner: idempotent starts by name, describe, and the task-token
/// callbacks with AWS's errors.
#[tokio::test]
async fn task_tokens_through_the_workflows_port() {
    use nexus_ports::workflows::{ExecutionName, ExecutionStatus};
    let seen = Arc::new(Mutex::new(vec![]));
    let local = LocalPlatform::start(options(&template(), &seen).await)
        .await
        .unwrap();
    let wf = local.platform().workflows.clone();
    let name = ExecutionName::for_key("org_1/post_1");
    let input = json!({"post": "p-9"});
    let started = wf.start("review", &name, &input).await.unwrap();
    assert_eq!(
        started.execution_arn,
        wf.execution_arn("review", &name).unwrap()
    );
    assert_eq!(wf.start("review", &name, &input).await.unwrap(), started);
    let other = wf
        .start("review", &name, &json!({"post": "other"}))
        .await
        .unwrap_err();
    assert_eq!(other.code(), "ExecutionAlreadyExists");
    assert_eq!(
        wf.start("nope", &name, &input).await.unwrap_err().code(),
        "UnknownStateMachine"
    );

    wait_for("the token", || !seen.lock().unwrap().is_empty()).await;
    let token = seen.lock().unwrap()[0]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    wf.send_task_heartbeat(&token).await.unwrap();
    wf.send_task_success(&token, &json!({"decision": "approved"}))
        .await
        .unwrap();
    let reuse = wf.send_task_success(&token, &json!({})).await.unwrap_err();
    assert_eq!(reuse.code(), "TaskTimedOut");
    assert!(reuse.is_task_closed());
    let bad = wf
        .send_task_failure("forged", None, None)
        .await
        .unwrap_err();
    assert_eq!(bad.code(), "InvalidToken");

    advance(&local, "P1D").await;
    let mut d = wf.describe(&started.execution_arn).await.unwrap();
    for _ in 0..300 {
        if d.status != ExecutionStatus::Running {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        d = wf.describe(&started.execution_arn).await.unwrap();
    }
    assert_eq!(d.status, ExecutionStatus::Succeeded);
    assert_eq!(d.input, Some(input.clone()));
    // Closed, same input: the same start (as the AWS adapter answers).
    assert_eq!(wf.start("review", &name, &input).await.unwrap(), started);
    local.stop().await;
}

/// The DynamoDB, EventBridge and SQS integrations act on the platform's own
/// table, bus and queues, with Step Functions' result and error shapes: a
/// conditional put that fails is caught as
/// `DynamoDB.ConditionalCheckFailedException`.
#[tokio::test]
async fn service_integrations_use_the_platforms_table_bus_and_queues() {
    use nexus_ports::workflows::{ExecutionName, ExecutionStatus};
    let extra = r#"  ServicesStateMachine:
    Type: AWS::Serverless::StateMachine
    Properties:
      Type: STANDARD
      DefinitionUri: statemachines/services.asl.json
      DefinitionSubstitutions:
        TableName: !Ref Table
        BusName: !Ref EventBus
        QueueUrl: !Ref AuditDeadLetterQueue
"#;
    let key = json!({"PK": {"S.$": "$.pk"}, "SK": {"S": "PROBE"}});
    let asl = json!({
            "StartAt": "Put",
            "States": {
                "Put": {
                    "Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem",
                    "Parameters": {"TableName": "${TableName}", "Item": {"PK": {"S.$": "$.pk"}, "SK": {"S": "PROBE"}, "v": {"N": "1"}}},
                    "ResultPath": "$.put", "Next": "Get"
                },
                "Get": {
                    "Type": "Task", "Resource": "arn:aws:states:::dynamodb:getItem",
                    "Parameters": {"TableName": "${TableName}", "Key": key, "ConsistentRead": true},
                    "ResultSelector": {"v.$": "$.Item.v.N"}, "ResultPath": "$.got", "Next": "Put again"
                },
                "Put again": {
                    "Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem",
                    "Parameters": {"TableName": "${TableName}", "Item": {"PK": {"S.$": "$.pk"}, "SK": {"S": "PROBE"}},
                                   "ConditionExpression": "attribute_not_exists(PK)"},
                    "Catch": [{"ErrorEquals": ["DynamoDB.ConditionalCheckFailedException"], "ResultPath": "$.caught", "Next": "Tell"}],
                    "Next": "Tell"
                },
                "Tell": {
                    "Type": "Task", "Resource": "arn:aws:states:::events:putEvents",
                    "Parameters": {"Entries": [{"Source": "nexus.probe", "DetailType": "Probed", "EventBusName": "${BusName}", "Detail": {"pk.$": "$.pk"}}]},
                    "ResultPath": "$.events", "Next": "Queue"
                },
                "Queue": {
                    "Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
                    "Parameters": {"QueueUrl": "${QueueUrl}", "MessageBody.$": "$.pk"},
                    "ResultPath": "$.sqs", "End": true
                }
            }
    });
    let local = LocalPlatform::start(Options {
        template: template_with(extra, &[("services.asl.json", asl)]),
        ..Options::ephemeral(nexus_devenv::dynamodb_local::shared_endpoint().await)
    })
    .await
    .unwrap();
    let wf = local.platform().workflows.clone();
    let started = wf
        .start(
            "services",
            &ExecutionName::for_key("probe-1"),
            &json!({"pk": "PROBE#1"}),
        )
        .await
        .unwrap();
    let mut done = None;
    for _ in 0..500 {
        let d = wf.describe(&started.execution_arn).await.unwrap();
        if d.status != ExecutionStatus::Running {
            done = Some(d);
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let d = done.expect("finished");
    assert_eq!(d.status, ExecutionStatus::Succeeded, "{d:?}");
    let out = d.output.unwrap();
    assert_eq!(out["got"], json!({"v": "1"}));
    assert_eq!(
        out["put"]["SdkHttpMetadata"]["HttpStatusCode"], 200,
        "{out}"
    );
    assert_eq!(
        out["caught"]["Error"], "DynamoDB.ConditionalCheckFailedException",
        "{out}"
    );
    assert!(
        out["caught"]["Cause"]
            .as_str()
            .unwrap()
            .contains("Service: AmazonDynamoDBv2; Status Code: 400; Error Code: ConditionalCheckFailedException"),
        "{out}"
    );
    assert_eq!(out["events"]["FailedEntryCount"], 0, "{out}");
    assert!(out["events"]["Entries"][0]["EventId"].is_string(), "{out}");
    let md5: String = {
        use md5::{Digest, Md5};
        Md5::digest(b"PROBE#1")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    assert_eq!(out["sqs"]["MD5OfMessageBody"], md5, "{out}");
    let item = local
        .store()
        .get_raw(&nexus_store::Key::new("PROBE#1", "PROBE"))
        .await
        .unwrap()
        .expect("the item the workflow put");
    assert!(item.contains_key("v"));
    let letters = local.dead_letters();
    let message: Value = letters
        .iter()
        .filter(|p| {
            p.to_string_lossy()
                .contains("-message-AuditDeadLetterQueue-")
        })
        .map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
        .next()
        .expect("the queued message");
    assert_eq!(message["Body"], "PROBE#1");
    assert_eq!(message["MessageId"], out["sqs"]["MessageId"]);
}
