//! `--only warm`: handler latency of the real function binaries, warm.
//!
//! Each binary (the one `--only sizes` built with `--profile`) runs against
//! a small Lambda Runtime API that feeds it the same sample event over and
//! over; the figure is the time from handing out an event (`/next`) to the
//! function posting its response. AWS calls go to stand-ins: DynamoDB to
//! DynamoDB Local (a table created as template.yaml declares it), Secrets
//! Manager to the same stand-in as the cold-start section. So this compares
//! build profiles on the production code path: request parsing, SigV4,
//! the HTTP client, JSON and the handler itself.

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Path as UrlPath, State};
use axum::http::HeaderMap;
use axum::routing::{any, get, post};
use axum::Router;
use nexus_devenv::CreateTable;
use tokio::sync::{mpsc, Mutex};

/// The secret the Secrets Manager stand-in returns (JWT keys, cursor key).
const SECRET: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

/// One warm scenario: a function and the event it gets.
pub struct Scenario {
    pub function: &'static str,
    pub what: &'static str,
    pub event: serde_json::Value,
}

/// The scenarios: a table read (`GET /health`), token verification (the
/// authorizer with a real EdDSA token), a query answered as JSON
/// (`GET /v1/orgs`), and the OpenAPI document (`GET /openapi.json`).
pub fn scenarios(root: &Path, issuer: &str) -> Result<Vec<Scenario>, String> {
    let event = |name: &str| -> Result<serde_json::Value, String> {
        let text = std::fs::read_to_string(root.join("events").join(name))
            .map_err(|e| format!("events/{name}: {e}"))?;
        serde_json::from_str(&text).map_err(|e| format!("events/{name}: {e}"))
    };
    let keys = nexus_auth::KeyRing::from_secrets(SECRET, &[])?;
    let now = jiff::Timestamp::now().as_second();
    let token = keys
        .issue(&nexus_auth::AccessClaims::for_user(
            issuer,
            "usr_01JDQ8M3ZP6T0N7W4C5B2X9Y8K",
            Some(("org_01JDQ8M3ZP6T0N7W4C5B2X9Y8M", "owner")),
            now,
        ))
        .map_err(|e| e.to_string())?;
    let mut authorizer = event("authorizer.json")?;
    authorizer["headers"]["authorization"] = format!("Bearer {token}").into();
    Ok(vec![
        Scenario {
            function: "health",
            what: "GET /health (DynamoDB GetItem)",
            event: event("health-get.json")?,
        },
        Scenario {
            function: "authorizer",
            what: "authorizer (EdDSA JWT)",
            event: authorizer,
        },
        Scenario {
            function: "orgs",
            what: "GET /v1/orgs (DynamoDB Query + JSON)",
            event: event("orgs-list.json")?,
        },
        Scenario {
            function: "apidocs",
            what: "GET /openapi.json",
            event: event("apidocs-openapi.json")?,
        },
    ])
}

#[derive(Clone)]
struct Api {
    queue: Arc<Mutex<VecDeque<(String, String)>>>,
    sent: Arc<Mutex<HashMap<String, Instant>>>,
    done: mpsc::UnboundedSender<(String, Result<f64, String>)>,
}

async fn next(State(api): State<Api>) -> axum::response::Response {
    let item = api.queue.lock().await.pop_front();
    let Some((id, body)) = item else {
        tokio::time::sleep(Duration::from_secs(60)).await;
        return axum::response::IntoResponse::into_response(axum::http::StatusCode::NO_CONTENT);
    };
    let deadline = jiff::Timestamp::now().as_millisecond() + 10_000;
    api.sent.lock().await.insert(id.clone(), Instant::now());
    axum::response::IntoResponse::into_response((
        [
            ("lambda-runtime-aws-request-id", id),
            ("lambda-runtime-deadline-ms", deadline.to_string()),
            (
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:000000000000:function:bench".into(),
            ),
            ("content-type", "application/json".into()),
        ],
        body,
    ))
}

async fn finished(api: &Api, id: String, outcome: Result<(), String>) {
    let at = Instant::now();
    let sent = api.sent.lock().await.remove(&id);
    let ms = sent.map(|s| at.duration_since(s).as_secs_f64() * 1000.0);
    let _ = api.done.send((
        id,
        outcome.and_then(|()| ms.ok_or_else(|| "unknown request id".into())),
    ));
}

async fn response(State(api): State<Api>, UrlPath(id): UrlPath<String>) -> axum::http::StatusCode {
    finished(&api, id, Ok(())).await;
    axum::http::StatusCode::ACCEPTED
}

async fn error(
    State(api): State<Api>,
    UrlPath(id): UrlPath<String>,
    _: HeaderMap,
    body: String,
) -> axum::http::StatusCode {
    finished(&api, id, Err(body)).await;
    axum::http::StatusCode::ACCEPTED
}

/// Secrets Manager `GetSecretValue` (JWT keys, cursor key).
async fn secrets() -> axum::response::Response {
    let body = serde_json::json!({"ARN": "arn:aws:secretsmanager:us-east-1:000000000000:secret:s", "Name": "s", "SecretString": SECRET, "VersionId": "v1", "VersionStages": ["AWSCURRENT"]});
    axum::response::IntoResponse::into_response((
        [("content-type", "application/x-amz-json-1.1")],
        body.to_string(),
    ))
}

/// `runs` warm invocations of `bin` with `event` (after `warmup` unmeasured
/// ones): latencies in ms, or the first error the function reported.
pub async fn measure(
    bin: &Path,
    env: &[(String, String)],
    dynamodb: &str,
    event: &serde_json::Value,
    warmup: usize,
    runs: usize,
) -> Result<Vec<f64>, String> {
    if !bin.is_file() {
        return Err(format!("{} not built", bin.display()));
    }
    let (tx, mut rx) = mpsc::unbounded_channel();
    let body = event.to_string();
    let api = Api {
        queue: Arc::new(Mutex::new(
            (0..warmup + runs)
                .map(|i| (format!("req-{i}"), body.clone()))
                .collect(),
        )),
        sent: Arc::default(),
        done: tx,
    };
    let app = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route(
            "/2018-06-01/runtime/invocation/{id}/response",
            post(response),
        )
        .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
        .route("/", any(secrets))
        .with_state(api);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let mut child = crate::coldstart::lambda_process(bin, addr, env)
        // The store talks to DynamoDB Local; other AWS calls to the stand-ins.
        .env("AWS_ENDPOINT_URL_DYNAMODB", dynamodb)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| e.to_string())?;
    let mut out = vec![];
    let result = async {
        for i in 0..warmup + runs {
            let got = tokio::time::timeout(Duration::from_secs(20), rx.recv()).await;
            match got {
                Ok(Some((_, Ok(ms)))) if i >= warmup => out.push(ms),
                Ok(Some((_, Ok(_)))) => {}
                Ok(Some((id, Err(e)))) => return Err(format!("{id} failed: {e}")),
                Ok(None) | Err(_) => return Err("no response within 20 s".into()),
            }
        }
        Ok(())
    }
    .await;
    let _ = child.start_kill();
    let _ = child.wait().await;
    server.abort();
    result.map(|()| out)
}

/// Creates the table the template environment names, in DynamoDB Local.
pub async fn table(endpoint: &str, name: &str) -> Result<(), String> {
    let sdk = nexus_devenv::local_sdk_config(endpoint).await;
    nexus_devenv::load_template()
        .map_err(|e| e.to_string())?
        .table()
        .map_err(|e| e.to_string())?
        .create(&aws_sdk_dynamodb::Client::new(&sdk), name)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}
