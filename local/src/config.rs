//! What a local platform is started with: [`Options`] for in-process use and
//! [`Cli`] (flags and environment) for `make dev`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::functions::Handler;
use crate::parity::ParityMode;

/// Where DynamoDB comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DynamoDb {
    /// Start DynamoDB Local on this port (0 = any free port), with data in
    /// `<state dir>/dynamodb/`.
    Start { port: u16 },
    /// Use a running DynamoDB (e.g. `DYNAMODB_ENDPOINT=http://localhost:8000`).
    Endpoint(String),
}

/// Timeouts, polling and retry pacing. Retry *counts* come from
/// `template.yaml`; only the waits between attempts are local choices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timing {
    /// API Gateway's integration timeout (30 s on AWS): 503 after it.
    pub integration_timeout: Duration,
    /// How often a stream poller asks for records when the shard is idle
    /// (Lambda polls 4 times a second).
    pub stream_poll_interval: Duration,
    /// First wait before a retry (stream batches, rule deliveries); doubles
    /// on every attempt up to `retry_backoff_cap`.
    pub retry_backoff_base: Duration,
    /// Longest wait between two retries.
    pub retry_backoff_cap: Duration,
    /// How often the scheduler runner compares schedules with the local clock.
    pub scheduler_tick: Duration,
    /// Local bound on a schedule target's `MaximumRetryAttempts` (AWS allows
    /// up to 185 over 24 h; locally a failing target is dead-lettered sooner).
    pub scheduler_max_retries: u32,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            integration_timeout: Duration::from_secs(30),
            stream_poll_interval: Duration::from_millis(250),
            retry_backoff_base: Duration::from_millis(200),
            retry_backoff_cap: Duration::from_secs(10),
            scheduler_tick: Duration::from_secs(1),
            scheduler_max_retries: 10,
        }
    }
}

impl Timing {
    /// The wait before retry `attempt` (1-based): exponential, capped, with
    /// up to 20 % jitter.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .retry_backoff_base
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
        let capped = exp.min(self.retry_backoff_cap);
        let jitter = capped.mul_f64(rand::random::<f64>() * 0.2);
        capped.saturating_sub(jitter)
    }
}

/// How to start a [`crate::LocalPlatform`].
#[derive(Clone)]
pub struct Options {
    /// API port on 127.0.0.1 (0 = any free port).
    pub port: u16,
    /// Embedded S3 port on 127.0.0.1 (0 = any free port).
    pub s3_port: u16,
    pub dynamodb: DynamoDb,
    /// Table name (`TABLE_NAME`); buckets are named `<table>-<bucket>`.
    pub table_name: String,
    /// Local state: DynamoDB data, S3 objects, keys, stream checkpoints, schedules, dead letters.
    pub state_dir: PathBuf,
    /// Wipe `state_dir` before starting.
    pub fresh: bool,
    /// Remove `state_dir` on [`crate::LocalPlatform::stop`] (temporary platforms).
    pub remove_state_on_stop: bool,
    /// The template to run.
    pub template: PathBuf,
    /// Expected `iss` of access tokens (`JWT_ISSUER`).
    pub jwt_issuer: String,
    /// Base URL of the web app, for links in e-mails (`APP_URL`).
    pub app_url: String,
    /// Sender of e-mail (the `MailFrom` parameter; `MAIL_FROM` is
    /// "NEXUS <this>"). The local outbox keeps mail; IAM parity checks
    /// `ses:FromAddress` against it.
    pub mail_from: String,
    /// `STAGE`; also names the bus `nexus-<stage>`.
    pub stage: String,
    pub timing: Timing,
    /// Replace registered handlers by function crate name (e.g. `"audit"`):
    /// tests use this to make a function fail, panic or hang.
    pub overrides: BTreeMap<String, Handler>,
    /// What a call a function's template.yaml policies would not allow does:
    /// a `parity` warning (`make dev`), or also an `AccessDeniedException`
    /// like AWS (tests). See [`crate::parity`].
    pub parity: ParityMode,
    /// Simulate Step Functions' quotas (StartExecution and StateTransition
    /// token buckets with AWS's defaults; see [`crate::workflows::quotas`]).
    /// Off for development; `make dev ARGS=--aws-quotas` turns it on.
    pub aws_quotas: bool,
}

pub const DEFAULT_PORT: u16 = 4000;
pub const DEFAULT_S3_PORT: u16 = 4566;
pub const DEFAULT_DYNAMODB_PORT: u16 = 8000;
pub const DEFAULT_TABLE: &str = "nexus-local";
pub const DEFAULT_ISSUER: &str = "https://api.nexus.local";
pub const DEFAULT_APP_URL: &str = "https://app.nexus.local";
pub const DEFAULT_MAIL_FROM: &str = "no-reply@nexus.local";

impl Default for Options {
    /// `make dev`: the repository's template and `.nexus/`, default ports.
    fn default() -> Self {
        let root = nexus_devenv::repo_root();
        Self {
            port: DEFAULT_PORT,
            s3_port: DEFAULT_S3_PORT,
            dynamodb: DynamoDb::Start {
                port: DEFAULT_DYNAMODB_PORT,
            },
            table_name: DEFAULT_TABLE.into(),
            state_dir: root.join(".nexus"),
            fresh: false,
            remove_state_on_stop: false,
            template: root.join("template.yaml"),
            jwt_issuer: DEFAULT_ISSUER.into(),
            app_url: DEFAULT_APP_URL.into(),
            mail_from: DEFAULT_MAIL_FROM.into(),
            stage: "local".into(),
            timing: Timing::default(),
            overrides: BTreeMap::new(),
            parity: ParityMode::Warn,
            aws_quotas: false,
        }
    }
}

impl Options {
    /// A throw-away platform for tests and benchmarks: free ports, its own
    /// table on `dynamodb_endpoint`, a temporary state directory removed on
    /// stop, and short retry waits.
    pub fn ephemeral(dynamodb_endpoint: impl Into<String>) -> Self {
        let id = ulid::Ulid::new().to_string().to_lowercase();
        Self {
            port: 0,
            s3_port: 0,
            dynamodb: DynamoDb::Endpoint(dynamodb_endpoint.into()),
            table_name: format!("nexus-test-{id}"),
            state_dir: std::env::temp_dir().join(format!("nexus-local-{id}")),
            fresh: true,
            remove_state_on_stop: true,
            timing: Timing {
                retry_backoff_base: Duration::from_millis(5),
                retry_backoff_cap: Duration::from_millis(20),
                stream_poll_interval: Duration::from_millis(100),
                scheduler_tick: Duration::from_millis(50),
                scheduler_max_retries: 3,
                ..Timing::default()
            },
            parity: ParityMode::Refuse,
            ..Self::default()
        }
    }

    /// Replace the handler of one function crate (see [`Options::overrides`]).
    pub fn with_override(mut self, function: &str, handler: Handler) -> Self {
        self.overrides.insert(function.to_owned(), handler);
        self
    }
}

/// `nexus-local` command line (`make dev ARGS=...`).
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "nexus-local",
    version,
    about = "Run the NEXUS template.yaml topology on this machine, offline."
)]
pub struct Cli {
    /// Wipe the state directory (DynamoDB data, S3 objects, keys, checkpoints) first.
    #[arg(long)]
    pub fresh: bool,
    /// API port on 127.0.0.1 (0 = any free port).
    #[arg(long, default_value_t = DEFAULT_PORT)]
    pub port: u16,
    /// Embedded S3 port on 127.0.0.1 (0 = any free port).
    #[arg(long, default_value_t = DEFAULT_S3_PORT)]
    pub s3_port: u16,
    /// DynamoDB Local port (0 = any free port); ignored with --dynamodb-endpoint.
    #[arg(long, default_value_t = DEFAULT_DYNAMODB_PORT)]
    pub dynamodb_port: u16,
    /// Use this running DynamoDB instead of starting DynamoDB Local.
    #[arg(long, env = "DYNAMODB_ENDPOINT")]
    pub dynamodb_endpoint: Option<String>,
    /// Table name.
    #[arg(long, env = "NEXUS_TABLE_NAME", default_value = DEFAULT_TABLE)]
    pub table_name: String,
    /// State directory [default: <repo>/.nexus].
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
    /// Template to run [default: <repo>/template.yaml].
    #[arg(long)]
    pub template: Option<PathBuf>,
    /// Expected `iss` claim of access tokens.
    #[arg(long, env = "JWT_ISSUER", default_value = DEFAULT_ISSUER)]
    pub jwt_issuer: String,
    /// Base URL of the web app (links in e-mails).
    #[arg(long, env = "APP_URL", default_value = DEFAULT_APP_URL)]
    pub app_url: String,
    /// Simulate AWS quotas (Step Functions StartExecution and state-transition buckets).
    #[arg(long)]
    pub aws_quotas: bool,
}

impl Cli {
    pub fn into_options(self) -> Options {
        let defaults = Options::default();
        Options {
            port: self.port,
            s3_port: self.s3_port,
            dynamodb: match self.dynamodb_endpoint.filter(|e| !e.trim().is_empty()) {
                Some(e) => DynamoDb::Endpoint(e),
                None => DynamoDb::Start {
                    port: self.dynamodb_port,
                },
            },
            table_name: self.table_name,
            state_dir: self.state_dir.unwrap_or(defaults.state_dir.clone()),
            fresh: self.fresh,
            template: self.template.unwrap_or(defaults.template.clone()),
            jwt_issuer: self.jwt_issuer,
            app_url: self.app_url,
            aws_quotas: self.aws_quotas,
            ..defaults
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn flags_map_to_options() {
        let o = Cli::try_parse_from([
            "nexus-local",
            "--fresh",
            "--port",
            "0",
            "--dynamodb-endpoint",
            "http://x:1",
        ])
        .unwrap()
        .into_options();
        assert!(o.fresh);
        assert!(!o.aws_quotas);
        let q = Cli::try_parse_from(["nexus-local", "--aws-quotas"])
            .unwrap()
            .into_options();
        assert!(q.aws_quotas);
        assert_eq!(o.port, 0);
        assert_eq!(o.dynamodb, DynamoDb::Endpoint("http://x:1".into()));
        let o = Cli::try_parse_from(["nexus-local", "--dynamodb-port", "0"])
            .unwrap()
            .into_options();
        // DYNAMODB_ENDPOINT may be set in the test environment.
        if std::env::var_os("DYNAMODB_ENDPOINT").is_none() {
            assert_eq!(o.dynamodb, DynamoDb::Start { port: 0 });
        }
        assert_eq!(o.s3_port, DEFAULT_S3_PORT);
        assert!(o.state_dir.ends_with(".nexus"));
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let t = Timing {
            retry_backoff_base: Duration::from_millis(100),
            retry_backoff_cap: Duration::from_secs(1),
            ..Timing::default()
        };
        assert!(
            t.backoff(1) <= Duration::from_millis(100) && t.backoff(1) >= Duration::from_millis(80)
        );
        assert!(
            t.backoff(3) <= Duration::from_millis(400)
                && t.backoff(3) >= Duration::from_millis(320)
        );
        assert!(
            t.backoff(200) <= Duration::from_secs(1)
                && t.backoff(200) >= Duration::from_millis(800)
        );
    }
}
