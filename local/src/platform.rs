//! Start and stop the whole local platform, and wait for it to settle.
//!
//! [`LocalPlatform::start`] reads the template, checks the wiring (every
//! function registered, every route/authorizer/stream source/rule pointing
//! at a handler of the right kind, every event pattern valid) before it
//! binds a port, then starts, in order: the state directory, the API and S3
//! listeners, DynamoDB (DynamoDB Local or `DYNAMODB_ENDPOINT`) and the
//! table, the embedded S3 server and buckets, the event bus, the function
//! states, the gateway and the workers.
//!
//! Every function gets the platform's [`LocalClock`] as `Platform.clock` and
//! the [`LocalScheduler`] as `Platform.scheduler`; the config carries the
//! scheduling variables a deployed function would get from the template:
//! `SCHEDULE_GROUP` = `nexus-<stage>`, `SCHEDULER_ROLE_ARN` =
//! `arn:aws:iam::000000000000:role/SchedulerInvokeRole`,
//! `REMINDERS_TARGET_ARN` = the local ARN ([`crate::function_arn`]) of the
//! template function whose `CodeUri` is `functions/reminders`, and
//! `SCHEDULE_DLQ_ARN` = the local ARN ([`crate::queue_arn`]) of the queue a
//! function's `SCHEDULE_DLQ_ARN` refers to in the template.
//!
//! # Workers: the extension point
//!
//! Background components implement [`Worker`] (in [`crate::worker`], which
//! both this module and the workers import): a name, an [`Activity`]
//! (what [`LocalPlatform::settle`] watches) and `run`, which loops until the
//! [`Shutdown`] fires. Today the workers are the stream consumers (one per
//! `Type: DynamoDB` event in the template), built in
//! [`LocalPlatform::start`] where the `workers` list is assembled, and the
//! one-time schedule runner ([`crate::scheduler::SchedulerRunner`]) and the
//! Step Functions runner ([`crate::workflows::LocalWorkflows`]): they get the
//! shutdown signal, are joined on stop, and count towards `settle` through
//! their `Activity` (`Activity::counting` for work in flight,
//! `Activity::polling` for a timer loop).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nexus_devenv::dynamodb_local::{DynamoDbLocal, LaunchError};
use nexus_devenv::CreateTable;
use nexus_wiring::template::{EnvValue, Template};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::clock::LocalClock;
use crate::config::{DynamoDb, Options};
use crate::dlq::DeadLetters;
use crate::eventbridge::{self, LocalBus};
use crate::functions::{self, Deps, Functions};
use crate::gateway::{self, Gateway};
use crate::scheduler::{AsyncInvoke, LocalScheduler};
use crate::state::StateDir;
use crate::streams::{self, ConsumerConfig, StreamConsumer};
use crate::worker::{Activity, Shutdown, Worker};

/// Why the platform did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("port {port} is already in use; pick another with {flag}")]
    PortInUse { port: u16, flag: &'static str },
    #[error("{0}")]
    Template(String),
    #[error("template.yaml declares {0}, with no handler registered in local/src/functions.rs")]
    Unregistered(String),
    #[error("template.yaml wiring: {0}")]
    Wiring(String),
    #[error("state directory: {0}")]
    State(String),
    #[error("DynamoDB: {0}")]
    DynamoDb(String),
    #[error("{0}")]
    Other(String),
}

impl StartError {
    /// Process exit code: 2 for a busy port, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            StartError::PortInUse { .. } => 2,
            _ => 1,
        }
    }
}

/// [`LocalPlatform::settle`] ran out of time; `busy` names what was still working.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the platform did not settle within {after:?}: {busy} is still busy")]
pub struct SettleTimeout {
    pub busy: String,
    pub after: Duration,
}

/// Counts of what the template wired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub functions: usize,
    pub routes: usize,
    pub rules: usize,
    pub stream_sources: usize,
    pub state_machines: usize,
}

/// A running local platform.
pub struct LocalPlatform {
    api: SocketAddr,
    s3: SocketAddr,
    dynamodb_endpoint: String,
    /// Stopped (SIGTERM to its watchdog) in [`LocalPlatform::stop`] or on drop.
    dynamodb_local: Option<DynamoDbLocal>,
    table_name: String,
    buckets: Vec<(String, String)>,
    state: StateDir,
    remove_state_on_stop: bool,
    platform: nexus_ports::Platform,
    keys: nexus_auth::KeyRing,
    issuer: String,
    mail: Arc<nexus_ports::mail::LocalOutbox>,
    bus: LocalBus,
    clock: Arc<LocalClock>,
    scheduler: LocalScheduler,
    workflows: crate::workflows::LocalWorkflows,
    activities: Vec<(String, Arc<Activity>)>,
    parity: Arc<crate::parity::Parity>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<(String, JoinHandle<()>)>,
    summary: Summary,
}

async fn bind(port: u16, flag: &'static str) -> Result<tokio::net::TcpListener, StartError> {
    tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AddrInUse => StartError::PortInUse { port, flag },
            _ => StartError::Other(format!("cannot listen on 127.0.0.1:{port} ({flag}): {e}")),
        })
}

/// Per-service endpoints: DynamoDB and the Streams API on the DynamoDB
/// endpoint, S3 on the embedded server. (An `endpoint_url` set on the
/// SdkConfig would win over these for every service, so none is set.)
#[derive(Debug)]
struct ServiceEndpoints {
    dynamodb: String,
    s3: String,
}

impl aws_types::service_config::LoadServiceConfig for ServiceEndpoints {
    fn load_config(&self, key: aws_types::service_config::ServiceConfigKey<'_>) -> Option<String> {
        if key.profile() != "endpoint_url" {
            return None;
        }
        match key.service_id() {
            "DynamoDB" | "DynamoDB Streams" => Some(self.dynamodb.clone()),
            "S3" => Some(self.s3.clone()),
            _ => None,
        }
    }
}

/// The SDK configuration every local client is built from: static
/// credentials, [`crate::REGION`], and [`ServiceEndpoints`]. Process
/// environment endpoints (`AWS_ENDPOINT_URL*`) are deliberately ignored.
pub async fn sdk_config(dynamodb: &str, s3: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(crate::REGION))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            crate::ACCESS_KEY,
            crate::SECRET_KEY,
            None,
            None,
            "nexus-local",
        ))
        .load()
        .await
        .to_builder()
        .service_config(ServiceEndpoints {
            dynamodb: dynamodb.to_owned(),
            s3: s3.to_owned(),
        })
        .build()
}

fn relative(path: &Path) -> String {
    let root = nexus_devenv::repo_root();
    path.strip_prefix(&root)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| path.display().to_string())
}

impl LocalPlatform {
    pub async fn start(opts: Options) -> Result<Self, StartError> {
        let (cleanup, dir) = (opts.remove_state_on_stop, opts.state_dir.clone());
        let started = Self::start_inner(opts).await;
        if started.is_err() && cleanup {
            let _ = StateDir::remove(&dir);
        }
        started
    }

    async fn start_inner(opts: Options) -> Result<Self, StartError> {
        // 1. The template and its wiring, before anything is started.
        let template =
            Template::load(&opts.template).map_err(|e| StartError::Template(e.to_string()))?;
        let defs = template.functions();
        let missing = functions::unregistered(&defs, &opts.overrides);
        if !missing.is_empty() {
            let names: Vec<String> = missing
                .iter()
                .map(|f| format!("{} ({})", f.logical_id, f.code_uri))
                .collect();
            return Err(StartError::Unregistered(names.join(", ")));
        }
        let rules =
            eventbridge::compile_patterns(&template.event_rules()).map_err(StartError::Wiring)?;
        let sources = template
            .stream_sources()
            .into_iter()
            .map(|s| streams::compile_filters(&s).map(|f| (s, f)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(StartError::Wiring)?;
        let table_def = template
            .table()
            .map_err(|e| StartError::Template(e.to_string()))?;
        let media_logical_id = media_bucket(&template, &opts.template);
        let bus_name = format!("nexus-{}", opts.stage);
        let machines = crate::workflows::machines::load(
            &template,
            opts.template.parent().unwrap_or(Path::new(".")),
            &crate::workflows::machines::LocalNames {
                table_name: &opts.table_name,
                bus_name: &bus_name,
                parameters: &[("Stage", opts.stage.clone())],
            },
        )
        .map_err(StartError::Wiring)?;

        // 2. State and ports.
        let state = StateDir::open(&opts.state_dir, opts.fresh).map_err(StartError::State)?;
        let api_listener = bind(opts.port, "--port").await?;
        let s3_listener = bind(opts.s3_port, "--s3-port").await?;
        let api = api_listener
            .local_addr()
            .map_err(|e| StartError::Other(e.to_string()))?;
        let s3 = s3_listener
            .local_addr()
            .map_err(|e| StartError::Other(e.to_string()))?;

        // 3. DynamoDB and the table.
        let (dynamodb_endpoint, dynamodb_local) = match &opts.dynamodb {
            DynamoDb::Endpoint(e) => (e.trim_end_matches('/').to_owned(), None),
            DynamoDb::Start { port } => {
                let ddb = DynamoDbLocal::start(*port, Some(&state.dynamodb()))
                    .await
                    .map_err(|e| match e {
                        LaunchError::PortInUse(port) => StartError::PortInUse {
                            port,
                            flag: "--dynamodb-port (or set DYNAMODB_ENDPOINT)",
                        },
                        other => StartError::DynamoDb(other.to_string()),
                    })?;
                (ddb.endpoint(), Some(ddb))
            }
        };
        let sdk = sdk_config(&dynamodb_endpoint, &crate::s3::endpoint(s3)).await;
        let created = table_def
            .create(&aws_sdk_dynamodb::Client::new(&sdk), &opts.table_name)
            .await
            .map_err(|e| StartError::DynamoDb(format!("{e} (endpoint {dynamodb_endpoint})")))?;
        tracing::debug!(table = %opts.table_name, created, "table ready");

        // 4. S3.
        let buckets: Vec<(String, String)> = template
            .buckets()
            .into_iter()
            .map(|id| (crate::s3::bucket_name(&opts.table_name, &id), id))
            .collect();
        let names: Vec<String> = buckets.iter().map(|(n, _)| n.clone()).collect();
        crate::s3::create_buckets(&state.s3(), &names).map_err(StartError::State)?;
        let s3_service = crate::s3::service(&state.s3()).map_err(StartError::Other)?;
        let media_bucket = buckets
            .iter()
            .find(|(_, id)| Some(id) == media_logical_id.as_ref())
            .or(buckets.first())
            .map(|(n, _)| n.clone())
            .unwrap_or_else(|| format!("{}-media", opts.table_name));

        // 5. Keys, the bus, the ports bundle and the functions.
        let cursor_key = state.cursor_key().map_err(StartError::State)?;
        let keys = nexus_auth::KeySource::load(&nexus_auth::FileKeys {
            path: state.keys().join("jwt-secret"),
        })
        .await
        .map_err(StartError::State)?;
        let dlq = DeadLetters::new(state.dlq());
        let parity = crate::parity::Parity::new(opts.parity);
        let bus = LocalBus::new(
            format!("nexus-{}", opts.stage),
            dlq.clone(),
            opts.timing.clone(),
        );
        let clock = Arc::new(LocalClock::new());
        let scheduler = LocalScheduler::open(
            state.scheduler(),
            format!("nexus-{}", opts.stage),
            clock.clone(),
        )
        .map_err(StartError::State)?;
        let config = nexus_ports::Config {
            table_name: Some(opts.table_name.clone()),
            event_bus_name: Some(bus.name().to_owned()),
            media_bucket: Some(media_bucket),
            // The local key comes from the state directory, not Secrets Manager.
            cursor_key_secret_arn: None,
            stage: opts.stage.clone(),
            s3_path_style: true,
            schedule_group: Some(scheduler.group().to_owned()),
            scheduler_role_arn: Some(format!(
                "arn:aws:iam::{}:role/SchedulerInvokeRole",
                crate::ACCOUNT_ID
            )),
            reminders_target_arn: defs
                .iter()
                .find(|f| f.name == "reminders")
                .map(|f| crate::function_arn(&f.logical_id)),
            // The queue a scheduling function's SCHEDULE_DLQ_ARN names.
            schedule_dlq_arn: defs.iter().find_map(|f| {
                match template
                    .environment(&f.logical_id)
                    .remove("SCHEDULE_DLQ_ARN")
                {
                    Some(EnvValue::Ref(id)) => Some(crate::queue_arn(&id)),
                    _ => None,
                }
            }),
            app_url: Some(opts.app_url.clone()),
        };
        let mail = Arc::new(nexus_ports::mail::LocalOutbox::default());
        let cipher =
            nexus_ports::cipher::LocalCipher::new(state.data_key().map_err(StartError::State)?)
                .map_err(StartError::Other)?;
        let deps = Deps {
            config,
            sdk: sdk.clone(),
            cursor_key: nexus_core::cursor::CursorKey::new(cursor_key),
            clock: clock.clone(),
            events: Arc::new(bus.clone()),
            scheduler: Arc::new(scheduler.clone()),
            mail: mail.clone(),
            cipher: Arc::new(cipher),
            search: Arc::new(
                nexus_search::TantivySearch::in_memory()
                    .map_err(|e| StartError::Other(e.to_string()))?,
            ),
            dead_letters: dlq.clone(),
            keys: keys.clone(),
            issuer: opts.jwt_issuer.clone(),
            parity: Some(crate::wiring::ParitySetup {
                parity: parity.clone(),
                names: Arc::new(crate::parity::LocalNames::for_platform(
                    &template,
                    &[
                        ("MailFrom", opts.mail_from.clone()),
                        ("AppUrl", opts.app_url.clone()),
                        ("JwtIssuer", opts.jwt_issuer.clone()),
                        ("Stage", opts.stage.clone()),
                    ],
                    &opts.table_name,
                    &buckets,
                    bus.name(),
                    scheduler.group(),
                )),
                template: Arc::new(template.clone()),
            }),
            guard: None,
            asked: Default::default(),
            workflows: Default::default(),
        };
        let platform = deps.full_platform().map_err(StartError::Other)?;
        let functions = Functions::build(&defs, &deps, &opts.overrides)
            .await
            .map_err(StartError::Wiring)?;
        bus.attach(eventbridge::bind_rules(rules, &functions).map_err(StartError::Wiring)?)
            .map_err(StartError::Other)?;
        let workflows = crate::workflows::LocalWorkflows::open(
            machines,
            functions.clone(),
            clock.clone(),
            state.workflows(),
            opts.aws_quotas.then(crate::workflows::Quotas::default),
            opts.timing.scheduler_tick,
        )
        .map_err(StartError::State)?;
        workflows.attach_services(crate::workflows::services::Services {
            dynamodb: platform.store.client().clone(),
            bus: Arc::new(bus.clone()),
            queues: dlq.clone(),
        });
        workflows.resume();
        // Functions' `Platform.workflows` reach the runner from now on.
        let _ = deps.workflows.set(workflows.clone());
        let local = gateway::LocalContext {
            platform: platform.clone(),
            mail: mail.clone(),
            clock: clock.clone(),
            scheduler: scheduler.clone(),
            workflows: workflows.clone(),
        };
        let gateway = Gateway::new(
            &template,
            functions.clone(),
            local,
            api.port(),
            opts.timing.integration_timeout,
        )
        .map_err(StartError::Wiring)?;

        let mut workers: Vec<Arc<dyn Worker>> = vec![];
        for (source, filters) in &sources {
            let function = functions
                .expect(
                    &source.function,
                    "DynamoDB stream",
                    &format!("stream source of {}", source.function),
                )
                .map_err(StartError::Wiring)?;
            workers.push(Arc::new(
                StreamConsumer::new(ConsumerConfig {
                    source: source.clone(),
                    filters: filters.clone(),
                    function: function.clone(),
                    table: opts.table_name.clone(),
                    sdk: sdk.clone(),
                    checkpoint_dir: state.streams(),
                    dlq: dlq.clone(),
                    timing: opts.timing.clone(),
                })
                .map_err(StartError::Wiring)?,
            ));
        }
        workers.push(Arc::new(
            scheduler
                .runner(
                    &functions,
                    &template
                        .scheduler_targets()
                        .into_iter()
                        .map(|id| {
                            let config = template.event_invoke_config(&id);
                            let invoke = AsyncInvoke {
                                retries: config.as_ref().map_or(2, |c| c.maximum_retry_attempts),
                                on_failure: config
                                    .and_then(|c| c.on_failure)
                                    .map(|q| crate::queue_arn(&q)),
                            };
                            (id, invoke)
                        })
                        .collect::<Vec<_>>(),
                    dlq.clone(),
                    opts.timing.clone(),
                )
                .map_err(StartError::Wiring)?,
        ));
        workers.push(Arc::new(workflows.clone()));

        // 6. Run.
        let (shutdown, rx) = watch::channel(false);
        let mut tasks = vec![];
        let summary = Summary {
            functions: functions.len(),
            routes: gateway.route_count(),
            rules: bus.rules().len(),
            stream_sources: sources.len(),
            state_machines: workflows.machines().count(),
        };
        let gw_shutdown = Shutdown::new(rx.clone());
        tasks.push((
            "gateway".to_owned(),
            tokio::spawn(async move {
                if let Err(e) = gateway::serve(api_listener, Arc::new(gateway), gw_shutdown).await {
                    tracing::error!("gateway stopped: {e}");
                }
            }),
        ));
        tasks.push((
            "s3".to_owned(),
            tokio::spawn(crate::s3::serve(
                s3_listener,
                s3_service,
                Shutdown::new(rx.clone()),
            )),
        ));
        let mut activities = vec![("event bus".to_owned(), bus.activity())];
        for w in workers {
            activities.push((w.name(), w.activity()));
            tasks.push((
                w.name(),
                tokio::spawn(w.clone().run(Shutdown::new(rx.clone()))),
            ));
        }

        Ok(Self {
            api,
            s3,
            dynamodb_endpoint,
            dynamodb_local,
            table_name: opts.table_name,
            buckets,
            state,
            remove_state_on_stop: opts.remove_state_on_stop,
            platform,
            keys,
            issuer: opts.jwt_issuer,
            mail,
            bus,
            clock,
            scheduler,
            workflows,
            activities,
            parity,
            shutdown,
            tasks,
            summary,
        })
    }

    /// Calls functions made that their template.yaml policies do not allow
    /// (each distinct one once; see [`crate::parity`]).
    pub fn parity_violations(&self) -> Vec<crate::parity::Violation> {
        self.parity.violations()
    }

    /// `http://127.0.0.1:<port>` (no trailing slash).
    pub fn url(&self) -> String {
        format!("http://{}", self.api)
    }
    pub fn addr(&self) -> SocketAddr {
        self.api
    }
    pub fn s3_endpoint(&self) -> String {
        crate::s3::endpoint(self.s3)
    }
    pub fn dynamodb_endpoint(&self) -> &str {
        &self.dynamodb_endpoint
    }
    pub fn table_name(&self) -> &str {
        &self.table_name
    }
    /// `(bucket name, logical id)` per template bucket.
    pub fn buckets(&self) -> &[(String, String)] {
        &self.buckets
    }
    pub fn state_dir(&self) -> &Path {
        self.state.root()
    }
    pub fn dead_letters(&self) -> Vec<PathBuf> {
        DeadLetters::new(self.state.dlq()).list()
    }
    /// The ports bundle the functions run with (store, media, local bus, clock).
    pub fn platform(&self) -> &nexus_ports::Platform {
        &self.platform
    }
    pub fn store(&self) -> &nexus_store::Store {
        &self.platform.store
    }
    pub fn bus(&self) -> &LocalBus {
        &self.bus
    }
    /// The access-token keys the authorizer verifies with (tests issue tokens).
    pub fn keys(&self) -> &nexus_auth::KeyRing {
        &self.keys
    }
    pub fn issuer(&self) -> &str {
        &self.issuer
    }
    /// What the functions' Mailer (the SES stand-in) has "sent".
    pub fn mail(&self) -> &nexus_ports::mail::LocalOutbox {
        &self.mail
    }
    /// The adjustable clock every function reads (`Platform.clock`).
    pub fn clock(&self) -> &LocalClock {
        &self.clock
    }
    /// The functions' `Platform.scheduler`, with its pending schedules and outcomes.
    pub fn scheduler(&self) -> &LocalScheduler {
        &self.scheduler
    }
    /// The Step Functions runner (what the `Workflows` port calls locally).
    pub fn workflows(&self) -> &crate::workflows::LocalWorkflows {
        &self.workflows
    }
    pub fn summary(&self) -> Summary {
        self.summary
    }

    /// Wait until the stream consumers have caught up and no event delivery
    /// is in flight, repeatedly, until a full round sees no new work.
    pub async fn settle(&self, timeout: Duration) -> Result<(), SettleTimeout> {
        let deadline = Instant::now() + timeout;
        let work = || self.activities.iter().map(|(_, a)| a.work()).sum::<u64>();
        loop {
            let before = work();
            for (name, a) in &self.activities {
                let position = a.position();
                while !a.idle_since(position) {
                    if Instant::now() >= deadline {
                        return Err(SettleTimeout {
                            busy: name.clone(),
                            after: timeout,
                        });
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
            if work() == before {
                return Ok(());
            }
        }
    }

    /// Stop everything: the gateway finishes in-flight requests (up to 5 s),
    /// workers stop, pending deliveries are dropped, DynamoDB Local exits
    /// with this process. Removes the state of an ephemeral platform.
    pub async fn stop(mut self) {
        let _ = self.shutdown.send(true);
        for (name, mut task) in std::mem::take(&mut self.tasks) {
            if tokio::time::timeout(Duration::from_secs(5), &mut task)
                .await
                .is_err()
            {
                tracing::warn!("{name} did not stop in time; aborting it");
                task.abort();
            }
        }
        let dropped = self.bus.abort_deliveries();
        if dropped > 0 {
            tracing::warn!("{dropped} event deliveries were still in flight and were dropped");
        }
        if let Some(ddb) = self.dynamodb_local.take() {
            ddb.stop().await;
        }
        if self.remove_state_on_stop {
            let _ = StateDir::remove(self.state.root());
        }
    }

    /// What `make dev` prints at start-up.
    pub fn banner(&self) -> String {
        let s = self.summary;
        let ddb = match &self.dynamodb_local {
            Some(_) => format!(
                "DynamoDB Local, data in {}",
                relative(&self.state.dynamodb())
            ),
            None => "external".into(),
        };
        let buckets = self
            .buckets
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "NEXUS local platform\n\
             \x20 API        {url}   ({routes} routes, {functions} functions)\n\
             \x20 DynamoDB   {ddb_url}   table {table} ({ddb})\n\
             \x20 S3         {s3}   buckets {buckets} (path-style, access key {ak} / secret {sk})\n\
             \x20 Events     bus {bus}: {rules} rule(s), {streams} stream source(s)\n\
             \x20 Mail       {url}/_local/outbox?to=<address>   (what the functions \"sent\")\n\
             \x20 Workflows  {url}/_local/executions   ({machines} state machine(s){quotas})\n\
             \x20 Schedules  {url}/_local/schedules   ·   clock {url}/_local/clock (POST {{\"advance\":\"PT2H\"}})\n\
             \x20 State      {state}\n\
             Try: curl {url}/health   ·   API docs: {url}/docs   ·   Ctrl-C stops everything",
            url = self.url(),
            routes = s.routes,
            functions = s.functions,
            ddb_url = self.dynamodb_endpoint,
            table = self.table_name,
            s3 = self.s3_endpoint(),
            ak = crate::ACCESS_KEY,
            sk = crate::SECRET_KEY,
            bus = self.bus.name(),
            rules = s.rules,
            streams = s.stream_sources,
            machines = s.state_machines,
            quotas = if self.workflows.quotas_on() { ", AWS quotas on" } else { "" },
            state = relative(self.state.root()),
        )
    }
}

impl Drop for LocalPlatform {
    fn drop(&mut self) {
        // Tasks see the signal (or the dropped sender) and end.
        let _ = self.shutdown.send(true);
    }
}

/// The logical id `MEDIA_BUCKET` refers to in the template's
/// `Globals.Function.Environment.Variables`, if any.
fn media_bucket(template: &Template, path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let root: serde_yaml::Value = serde_yaml::from_str(&text).ok()?;
    let var = root
        .get("Globals")?
        .get("Function")?
        .get("Environment")?
        .get("Variables")?
        .get("MEDIA_BUCKET")?;
    Template::resolve_ref(var).filter(|id| template.buckets().contains(id))
}
