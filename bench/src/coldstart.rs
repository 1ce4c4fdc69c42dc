//! A minimal Lambda Runtime API (with Secrets Manager and S3 stand-ins) to time
//! a function binary's init: spawn → first `GET /2018-06-01/runtime/invocation/next`.

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::routing::{any, get};
use axum::Router;
use nexus_wiring::template::{EnvValue, Template};
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

/// S3 `GetObject` of a key that doesn't exist: what the search indexer's
/// first cold start sees when it looks for a published index snapshot.
async fn no_such_key() -> axum::response::Response {
    axum::response::IntoResponse::into_response((
        axum::http::StatusCode::NOT_FOUND,
        [("content-type", "application/xml")],
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey</Code>\
         <Message>The specified key does not exist.</Message></Error>",
    ))
}

/// The environment `template.yaml` gives a function, with stand-ins where
/// only CloudFormation knows the value: a parameter's `Default`, an ARN-shaped
/// name for `*_ARN` references, the logical id for other references.
pub fn template_env(template: &Template, logical_id: &str) -> Vec<(String, String)> {
    template
        .environment(logical_id)
        .into_iter()
        .map(|(name, value)| {
            let value = match value {
                EnvValue::Text(text) => text,
                EnvValue::Ref(id) => match template.parameter_default(&id) {
                    Some(default) => default,
                    None if name.ends_with("_ARN") => {
                        format!("arn:aws:bench:us-east-1:000000000000:nexus-bench/{id}")
                    }
                    None => format!("nexus-bench-{id}"),
                },
                EnvValue::Expression => format!("nexus-bench-{}", name.to_lowercase()),
            };
            (name, value)
        })
        .collect()
}

/// A function binary started as Lambda starts it: the Runtime API at `addr`,
/// the Lambda variables, test credentials, every AWS endpoint at `addr`
/// (stand-ins), then `env` (the function's own, from the template), and
/// `RUST_LOG=error` (init and handler logs are not what is timed).
pub fn lambda_process(
    bin: &std::path::Path,
    addr: std::net::SocketAddr,
    env: &[(String, String)],
) -> tokio::process::Command {
    let mut c = tokio::process::Command::new(bin);
    c.env_clear()
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
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env("RUST_LOG", "error");
    c
}

/// Times `runs` cold inits of `bin` with `env` (see [`template_env`]) on top
/// of what the Lambda service sets.
pub async fn measure(
    bin: &Path,
    env: &[(String, String)],
    runs: usize,
) -> Result<Vec<f64>, String> {
    if !bin.is_file() {
        return Err(format!("{} not built", bin.display()));
    }
    let api = Api {
        polled: Arc::new(Mutex::new(None)),
    };
    let app = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route("/", any(secrets))
        .fallback(no_such_key)
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
        let mut child = lambda_process(bin, addr, env)
            // Path-style S3 addressing, so the SDK talks to this stand-in.
            .env("S3_FORCE_PATH_STYLE", "true")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| e.to_string())?;
        // The first poll, or the process exiting during init, or 10 s.
        let polled = tokio::select! {
            at = rx.recv() => at,
            _ = child.wait() => None,
            _ = tokio::time::sleep(Duration::from_secs(10)) => None,
        };
        let _ = child.start_kill();
        let output = child.wait_with_output().await.map_err(|e| e.to_string())?;
        match polled {
            Some(at) => out.push(at.duration_since(started).as_secs_f64() * 1000.0),
            None => {
                // Say why: the last line the function wrote (its init error).
                let stderr = String::from_utf8_lossy(&output.stderr);
                let why = stderr.lines().rev().find(|l| !l.trim().is_empty());
                return Err(format!(
                    "init ended without a Runtime API poll: {}",
                    why.unwrap_or("nothing on stderr (timed out after 10 s?)")
                ));
            }
        }
    }
    server.abort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_environment_comes_from_the_template() {
        let template = nexus_devenv::load_template().unwrap();
        let env = |id: &str| -> std::collections::BTreeMap<String, String> {
            super::template_env(&template, id).into_iter().collect()
        };
        let milestones = env("MilestonesFunction");
        assert_eq!(milestones["STAGE"], "dev", "a parameter's default");
        assert_eq!(milestones["TABLE_NAME"], "nexus-bench-Table");
        assert_eq!(
            milestones["REMINDERS_TARGET_ARN"],
            "arn:aws:bench:us-east-1:000000000000:nexus-bench/RemindersFunction"
        );
        assert!(!milestones.contains_key("CURSOR_KEY_SECRET_ARN"));
        let campaigns = env("CampaignsFunction");
        assert_eq!(
            campaigns["CURSOR_KEY_SECRET_ARN"],
            "arn:aws:bench:us-east-1:000000000000:nexus-bench/CursorKeySecret"
        );
        assert_eq!(campaigns["EMBEDDINGS"], "bedrock");
        assert_eq!(campaigns["SEARCH_SNAPSHOT_PREFIX"], "search/creators/");
        assert!(!campaigns.contains_key("SCHEDULE_GROUP"));
    }

    #[tokio::test]
    async fn a_function_that_fails_init_is_reported_with_its_error() {
        let dir = std::env::temp_dir().join(format!("nexus-bench-{}", ulid::Ulid::new()));
        std::fs::create_dir_all(&dir).unwrap();
        let bin = dir.join("broken");
        std::fs::write(
            &bin,
            "#!/bin/sh\necho starting >&2\necho 'Error: environment variable FOO is required' >&2\nexit 1\n",
        )
        .unwrap();
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        let started = std::time::Instant::now();
        let err = super::measure(&bin, &[], 3).await.unwrap_err();
        assert_eq!(
            err,
            "init ended without a Runtime API poll: Error: environment variable FOO is required"
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "no 10 s wait"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
