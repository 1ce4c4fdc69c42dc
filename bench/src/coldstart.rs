//! A minimal Lambda Runtime API (and Secrets Manager stand-in) to time a
//! function binary's init: spawn → first `GET /2018-06-01/runtime/invocation/next`.

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::routing::{any, get};
use axum::Router;
use tokio::sync::{mpsc, Mutex};

#[derive(Clone)]
struct Api {
    polled: Arc<Mutex<Option<mpsc::Sender<Instant>>>>,
}

async fn next(State(api): State<Api>) -> axum::response::Response {
    let at = Instant::now();
    if let Some(tx) = api.polled.lock().await.as_ref() {
        let _ = tx.send(at).await;
    }
    // Hold the poll: the function stays idle until it is killed.
    tokio::time::sleep(Duration::from_secs(30)).await;
    axum::response::IntoResponse::into_response(axum::http::StatusCode::NO_CONTENT)
}

/// Secrets Manager `GetSecretValue` for the authorizer's key.
async fn secrets() -> axum::response::Response {
    let body = serde_json::json!({"ARN": "arn:aws:secretsmanager:us-east-1:000000000000:secret:jwt", "Name": "jwt", "SecretString": "b".repeat(64), "VersionId": "v1", "VersionStages": ["AWSCURRENT"]});
    axum::response::IntoResponse::into_response((
        [("content-type", "application/x-amz-json-1.1")],
        body.to_string(),
    ))
}

pub async fn measure(bin: &Path, runs: usize) -> Result<Vec<f64>, String> {
    if !bin.is_file() {
        return Err(format!("{} not built", bin.display()));
    }
    let api = Api {
        polled: Arc::new(Mutex::new(None)),
    };
    let app = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route("/", any(secrets))
        .with_state(api.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let mut out = vec![];
    for _ in 0..runs {
        let (tx, mut rx) = mpsc::channel(1);
        *api.polled.lock().await = Some(tx);
        let started = Instant::now();
        let mut child = tokio::process::Command::new(bin)
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", "bench")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "bench")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "bench")
            .env("AWS_SECRET_ACCESS_KEY", "bench")
            .env("AWS_ENDPOINT_URL", format!("http://{addr}"))
            .env("TABLE_NAME", "nexus-bench")
            .env("EVENT_BUS_NAME", "nexus-bench")
            .env("MEDIA_BUCKET", "nexus-bench")
            .env("CURSOR_KEY", "bench-cursor-key")
            .env(
                "JWT_KEY_SECRET_ARN",
                "arn:aws:secretsmanager:us-east-1:000000000000:secret:jwt",
            )
            .env("JWT_ISSUER", "https://api.nexus.local")
            .env("APP_URL", "https://app.nexus.local")
            .env("MAIL_FROM", "no-reply@nexus.dev")
            .env("KMS_KEY_ID", "alias/nexus-bench")
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| e.to_string())?;
        let polled = tokio::time::timeout(Duration::from_secs(10), rx.recv()).await;
        let _ = child.kill().await;
        match polled {
            Ok(Some(at)) => out.push(at.duration_since(started).as_secs_f64() * 1000.0),
            _ => return Err("no Runtime API poll within 10 s (init failed?)".into()),
        }
    }
    server.abort();
    Ok(out)
}
