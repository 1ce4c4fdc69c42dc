//! The local platform's [`Wiring`]: every port a function may ask for, with
//! local adapters (DynamoDB Local, the embedded S3 server, the in-process
//! bus, the local scheduler and clock, the mail outbox, the local cipher, one
//! shared in-memory creator index, the key file). Each function's state is
//! built by the same `state` function its `main.rs` calls with
//! [`nexus_ports::Aws`], so a port the function does not ask for is
//! [`nexus_ports::Unwired`] here too.
//!
//! With IAM parity on ([`LocalWiring::parity`]), [`LocalWiring::for_function`]
//! gives each function a copy whose ports check every call against that
//! function's `Policies` in template.yaml ([`crate::parity`]): the SDK
//! clients (DynamoDB, S3) through an interceptor, the other stand-ins
//! through guarded wrappers, the secrets at wiring time.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use nexus_core::cursor::CursorKey;
use nexus_core::time::Clock;
use nexus_ports::cipher::Cipher;
use nexus_ports::mail::{LocalOutbox, Mailer};
use nexus_ports::{
    Config, EventBus, MediaStore, Scheduler, WireCipher, WireEvents, WireMail, WireMedia,
    WirePaging, WireScheduler, WireSearch, WireWorkflows, Wiring, Workflows,
};
use nexus_store::{CursorKeySource, Store};
use nexus_wiring::policy::Request;
use nexus_wiring::template::{EnvValue, Template};

use crate::parity::{guarded, Guard, LocalNames, Parity, ParityInterceptor};

#[derive(Clone)]
pub struct LocalWiring {
    pub config: Config,
    /// SDK configuration for DynamoDB Local and the embedded S3 server.
    pub sdk: aws_config::SdkConfig,
    pub cursor_key: CursorKey,
    pub clock: Arc<dyn Clock>,
    pub events: Arc<dyn EventBus>,
    pub scheduler: Arc<dyn Scheduler>,
    pub mail: Arc<LocalOutbox>,
    pub cipher: Arc<dyn Cipher>,
    /// The creator index: one in-memory tantivy index that the
    /// `search-indexer` writes and `creators`/`campaigns` read (in AWS, an
    /// S3 snapshot between one writer and many readers).
    pub search: Arc<dyn nexus_search::CreatorSearch>,
    pub keys: nexus_auth::KeyRing,
    pub issuer: String,
    /// `<state dir>/dlq/`: queues functions write to themselves
    /// ([`crate::dlq::LocalQueue`]).
    pub dead_letters: crate::dlq::DeadLetters,
    /// IAM parity for the whole platform (`None`: every call is allowed, as
    /// for the local-only routes and the tests' direct table access).
    pub parity: Option<ParitySetup>,
    /// This copy's function and its guard ([`LocalWiring::for_function`]).
    pub guard: Option<FunctionGuard>,
    /// The ports asked for through this wiring (shared by its clones): what
    /// a function's state asks for, when it is built alone (tests compare it
    /// with the function's environment and policies in template.yaml).
    pub asked: Arc<Mutex<BTreeSet<&'static str>>>,
    /// The Step Functions runner, filled once the platform has opened it
    /// (it invokes the functions, which are built first).
    pub workflows: crate::workflows::port::RunnerSlot,
}

/// What every function's guard is made from.
#[derive(Clone)]
pub struct ParitySetup {
    pub parity: Arc<Parity>,
    pub template: Arc<Template>,
    pub names: Arc<LocalNames>,
}

impl ParitySetup {
    /// The local name or ARN of `X` / `X.Attr` (e.g. `DataKey.Arn`).
    fn arn(&self, name: &str) -> String {
        self.names
            .lookup(&self.template, name)
            .unwrap_or_else(|| format!("arn:aws:unknown:::{name}"))
    }
}

/// One function's guard and the environment template.yaml gives it.
#[derive(Clone)]
pub struct FunctionGuard {
    pub guard: Guard,
    pub setup: ParitySetup,
    pub logical_id: String,
}

impl FunctionGuard {
    /// The resource a variable of the function's environment refers to
    /// (`!Ref X` / `!GetAtt X.Attr`), or its literal value.
    fn env(&self, var: &str) -> Option<String> {
        match self
            .setup
            .template
            .environment(&self.logical_id)
            .remove(var)?
        {
            EnvValue::Ref(id) => self.setup.names.lookup(&self.setup.template, &id),
            EnvValue::Text(t) => Some(t),
            EnvValue::Expression => None,
        }
    }

    /// Check a call made while wiring (reading a secret at init).
    fn check(&self, action: &str, resource: String) -> Result<(), String> {
        self.guard.check(&[Request::new(action, resource)])
    }
}

impl LocalWiring {
    /// The wiring function `logical_id` gets: with parity on, its ports are
    /// guarded by its policies.
    pub fn for_function(&self, logical_id: &str) -> Result<Self, String> {
        let mut w = self.clone();
        if let Some(setup) = &self.parity {
            w.guard = Some(FunctionGuard {
                guard: Guard::for_function(
                    &setup.template,
                    logical_id,
                    &setup.names,
                    setup.parity.clone(),
                )?,
                setup: setup.clone(),
                logical_id: logical_id.to_owned(),
            });
        }
        Ok(w)
    }

    fn ask(&self, port: &'static str) {
        self.asked
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(port);
    }

    /// A copy with an empty [`LocalWiring::asked`] record.
    pub fn recording(&self) -> Self {
        Self {
            asked: Arc::default(),
            ..self.clone()
        }
    }

    /// The ports asked for so far (`table`, `paging`, `events`, `media`,
    /// `scheduler`, `mailer`, `cipher`, `search`, `keys`).
    pub fn asked(&self) -> BTreeSet<&'static str> {
        self.asked.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

fn need(v: &Option<String>, var: &str, what: &str) -> Result<String, String> {
    Config::required(v, var, what)
}

impl Wiring for LocalWiring {
    fn config(&self) -> &Config {
        &self.config
    }

    fn table(&self) -> Result<Store, String> {
        self.ask("table");
        let mut dynamodb = aws_sdk_dynamodb::config::Builder::from(&self.sdk);
        if let Some(g) = &self.guard {
            dynamodb = dynamodb.interceptor(ParityInterceptor(g.guard.clone()));
        }
        Ok(Store::without_cursor_key(
            aws_sdk_dynamodb::Client::from_conf(dynamodb.build()),
            need(&self.config.table_name, "TABLE_NAME", "the table")?,
        ))
    }

    fn clock(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }
}

impl WirePaging for LocalWiring {
    fn cursor_key(&self) -> Result<Arc<dyn CursorKeySource>, String> {
        self.ask("paging");
        if let Some(g) = &self.guard {
            // Read on first use in AWS; checked here, once.
            g.check(
                "secretsmanager:GetSecretValue",
                g.env("CURSOR_KEY_SECRET_ARN")
                    .unwrap_or_else(|| g.setup.arn("CursorKeySecret")),
            )?;
        }
        Ok(Arc::new(self.cursor_key.clone()))
    }
}

impl WireEvents for LocalWiring {
    fn events(&self) -> Result<Arc<dyn EventBus>, String> {
        self.ask("events");
        Ok(match &self.guard {
            Some(g) => Arc::new(guarded::Bus {
                inner: self.events.clone(),
                guard: g.guard.clone(),
                bus_arn: g.setup.arn("EventBus.Arn"),
            }),
            None => self.events.clone(),
        })
    }
}

impl WireMedia for LocalWiring {
    /// The production S3 adapter against the embedded S3 server.
    fn media(&self) -> Result<Arc<dyn MediaStore>, String> {
        self.ask("media");
        let mut s3 = aws_sdk_s3::config::Builder::from(&self.sdk).force_path_style(true);
        if let Some(g) = &self.guard {
            s3 = s3.interceptor(ParityInterceptor(g.guard.clone()));
        }
        let s3 = aws_sdk_s3::Client::from_conf(s3.build());
        Ok(Arc::new(nexus_ports::S3Media::new(
            s3,
            need(
                &self.config.media_bucket,
                "MEDIA_BUCKET",
                "the media bucket",
            )?,
        )))
    }
}

impl WireScheduler for LocalWiring {
    fn scheduler(&self) -> Result<Arc<dyn Scheduler>, String> {
        self.ask("scheduler");
        Ok(match &self.guard {
            Some(g) => Arc::new(guarded::Schedules {
                inner: self.scheduler.clone(),
                guard: g.guard.clone(),
                group: g
                    .env("SCHEDULE_GROUP")
                    .unwrap_or_else(|| g.setup.arn("ScheduleGroup")),
            }),
            None => self.scheduler.clone(),
        })
    }
}

/// The local runner, for the state machines the function names. (IAM
/// parity does not check `states:*` calls yet.)
impl WireWorkflows for LocalWiring {
    fn workflows(&self, machines: &[&str]) -> Result<Arc<dyn Workflows>, String> {
        self.ask("workflows");
        Ok(Arc::new(crate::workflows::port::RunnerPort::new(
            self.workflows.clone(),
            machines,
        )?))
    }
}

impl WireMail for LocalWiring {
    fn mailer(&self) -> Result<Arc<dyn Mailer>, String> {
        self.ask("mailer");
        Ok(match &self.guard {
            Some(g) => Arc::new(guarded::Mail {
                inner: self.mail.clone(),
                guard: g.guard.clone(),
                from: g.setup.arn("MailFrom"),
            }),
            None => self.mail.clone(),
        })
    }
}

impl nexus_ports::WireDeadLetters for LocalWiring {
    /// `OUTBOX_DLQ_URL` is `!Ref OutboxEventDeadLetterQueue` (tests/tests/template.rs).
    fn dead_letters(&self) -> Result<Arc<dyn nexus_ports::events::DeadLetterQueue>, String> {
        self.ask("dead-letters");
        let queue: Arc<dyn nexus_ports::events::DeadLetterQueue> =
            Arc::new(crate::dlq::LocalQueue::new(
                self.dead_letters.clone(),
                crate::functions::OUTBOX_DEAD_LETTER_QUEUE,
            ));
        Ok(match &self.guard {
            Some(g) => Arc::new(guarded::Queue {
                inner: queue,
                guard: g.guard.clone(),
                queue_arn: crate::queue_arn(crate::functions::OUTBOX_DEAD_LETTER_QUEUE),
            }),
            None => queue,
        })
    }
}

impl WireCipher for LocalWiring {
    fn cipher(&self) -> Result<Arc<dyn Cipher>, String> {
        self.ask("cipher");
        Ok(match &self.guard {
            Some(g) => Arc::new(guarded::Keys {
                inner: self.cipher.clone(),
                guard: g.guard.clone(),
                key_arn: g.setup.arn("DataKey.Arn"),
            }),
            None => self.cipher.clone(),
        })
    }
}

impl LocalWiring {
    /// The shared index, checked as the S3 snapshot calls of the function's
    /// `SEARCH_SNAPSHOT_PREFIX` in `MEDIA_BUCKET`.
    fn guarded_search(&self) -> Arc<dyn nexus_search::CreatorSearch> {
        match &self.guard {
            Some(g) => Arc::new(guarded::Search {
                inner: self.search.clone(),
                guard: g.guard.clone(),
                bucket: g
                    .env("MEDIA_BUCKET")
                    .or_else(|| self.config.media_bucket.clone())
                    .unwrap_or_default(),
                prefix: g.env("SEARCH_SNAPSHOT_PREFIX").unwrap_or_default(),
            }),
            None => self.search.clone(),
        }
    }
}

#[async_trait::async_trait]
impl WireSearch for LocalWiring {
    async fn search_replica(&self) -> Result<Arc<dyn nexus_search::CreatorSearch>, String> {
        self.ask("search");
        Ok(self.guarded_search())
    }

    async fn search_writer(&self) -> Result<Arc<dyn nexus_search::CreatorSearch>, String> {
        self.ask("search");
        Ok(self.guarded_search())
    }
}

#[async_trait::async_trait]
impl nexus_identity::WireIdentity for LocalWiring {
    async fn keys(&self) -> Result<nexus_auth::KeyRing, String> {
        self.ask("keys");
        if let Some(g) = &self.guard {
            g.check(
                "secretsmanager:GetSecretValue",
                g.env("JWT_KEY_SECRET_ARN")
                    .unwrap_or_else(|| g.setup.arn("JwtKeySecret")),
            )?;
        }
        Ok(self.keys.clone())
    }

    fn issuer(&self) -> Result<String, String> {
        Ok(self.issuer.clone())
    }
}

impl LocalWiring {
    /// A platform with every port wired (the local-only routes and tests
    /// that look at the table; never a function's state).
    pub fn full_platform(&self) -> Result<nexus_ports::Platform, String> {
        let machines: Vec<String> = self
            .parity
            .as_ref()
            .map(|p| {
                p.template
                    .resources_of_type("AWS::Serverless::StateMachine")
                    .into_iter()
                    .filter_map(|(id, _)| crate::workflows::port::machine_name(&id))
                    .collect()
            })
            .unwrap_or_default();
        let machines: Vec<&str> = machines.iter().map(String::as_str).collect();
        nexus_ports::Platform::new(self)?
            .paging(self)?
            .events(self)?
            .media(self)?
            .scheduler(self)?
            .workflows(self, &machines)
    }
}
