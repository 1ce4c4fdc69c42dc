//! DynamoDB Local (AWS's own emulator, Java 17) as a child process.
//!
//! The jar comes from the npm package `amplify-dynamodb-simulator`, installed
//! into `.tools/` by `make tools`. The process is tied to ours: a small shell
//! watchdog stops it within a second of our exit, even on a crash or when a
//! test binary never drops it.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error("DynamoDB Local is not installed at {0} (run `make tools`, or set NEXUS_DYNAMODB_LOCAL_DIR to the folder holding DynamoDBLocal.jar)")]
    NotInstalled(PathBuf),
    #[error("port {0} is already in use; pick another with --dynamodb-port or set DYNAMODB_ENDPOINT to use a running DynamoDB")]
    PortInUse(u16),
    #[error("could not start java ({0}); DynamoDB Local needs Java 17+ on PATH")]
    Spawn(std::io::Error),
    #[error("DynamoDB Local did not become ready on port {port} within {secs}s: {log}")]
    NotReady { port: u16, secs: u64, log: String },
}

pub struct DynamoDbLocal {
    port: u16,
    child: Child,
    log: std::path::PathBuf,
}

impl Drop for DynamoDbLocal {
    /// Stop the watchdog with SIGTERM so its trap stops Java (SIGKILL would
    /// orphan Java, keeping the port and the data directory's lock).
    fn drop(&mut self) {
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill")
                .arg("-TERM")
                .arg(pid.to_string())
                .status();
        }
        let _ = std::fs::remove_file(&self.log);
    }
}

impl DynamoDbLocal {
    /// Where the emulator lives: `NEXUS_DYNAMODB_LOCAL_DIR`, else `.tools/` in the repo.
    pub fn install_dir() -> PathBuf {
        std::env::var_os("NEXUS_DYNAMODB_LOCAL_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                crate::repo_root().join(".tools/node_modules/amplify-dynamodb-simulator/emulator")
            })
    }

    /// Start on `port` (0 = any free port). With `data_dir`, state persists
    /// there (`-dbPath`); without, it lives in memory.
    pub async fn start(port: u16, data_dir: Option<&Path>) -> Result<Self, LaunchError> {
        let dir = Self::install_dir();
        if !dir.join("DynamoDBLocal.jar").is_file() {
            return Err(LaunchError::NotInstalled(dir));
        }
        let port = if port == 0 { free_port() } else { port };
        if TcpListener::bind(("127.0.0.1", port)).is_err() {
            return Err(LaunchError::PortInUse(port));
        }
        let storage = match data_dir {
            Some(d) => {
                std::fs::create_dir_all(d).map_err(LaunchError::Spawn)?;
                format!("-dbPath '{}'", d.display())
            }
            None => "-inMemory".to_owned(),
        };
        let log = std::env::temp_dir().join(format!("nexus-dynamodb-local-{port}.log"));
        let script = format!(
            "java -Djava.library.path=DynamoDBLocal_lib -jar DynamoDBLocal.jar {storage} -port {port} -disableTelemetry >'{log}' 2>&1 & child=$!; \
             trap 'kill $child 2>/dev/null' EXIT INT TERM; \
             while kill -0 {parent} 2>/dev/null && kill -0 $child 2>/dev/null; do sleep 0.5; done",
            log = log.display(),
            parent = std::process::id(),
        );
        let child = Command::new("bash")
            .arg("-c")
            .arg(script)
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(LaunchError::Spawn)?;
        let me = Self {
            port,
            child,
            log: log.clone(),
        };
        let secs = 60;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        let client = aws_sdk_dynamodb::Client::new(&crate::local_sdk_config(&me.endpoint()).await);
        loop {
            if client.list_tables().limit(1).send().await.is_ok() {
                return Ok(me);
            }
            if tokio::time::Instant::now() > deadline {
                let log = std::fs::read_to_string(&log).unwrap_or_default();
                return Err(LaunchError::NotReady {
                    port,
                    secs,
                    log: log.chars().take(2000).collect(),
                });
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    /// Stop DynamoDB Local and wait until its port is free again.
    pub async fn stop(self) {
        let port = self.port;
        drop(self);
        for _ in 0..100 {
            if TcpListener::bind(("127.0.0.1", port)).is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// A free TCP port on loopback (bound, then released).
pub fn free_port() -> u16 {
    TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

static SHARED: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
static SHARED_PROCESS: std::sync::OnceLock<std::sync::Mutex<Option<DynamoDbLocal>>> =
    std::sync::OnceLock::new();

/// The endpoint tests use: `DYNAMODB_ENDPOINT` when set, else one in-memory
/// DynamoDB Local started for this test process. Fails loudly (never skips)
/// when neither is possible.
pub async fn shared_endpoint() -> String {
    SHARED
        .get_or_init(|| async {
            if let Ok(e) = std::env::var("DYNAMODB_ENDPOINT") {
                return e;
            }
            let ddb = DynamoDbLocal::start(0, None)
                .await
                .unwrap_or_else(|e| panic!("integration tests need DynamoDB Local: {e}"));
            let endpoint = ddb.endpoint();
            let _ = SHARED_PROCESS.set(std::sync::Mutex::new(Some(ddb)));
            endpoint
        })
        .await
        .clone()
}
