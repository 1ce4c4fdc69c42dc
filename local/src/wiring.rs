//! The local platform's [`Wiring`]: every port a function may ask for, with
//! local adapters (DynamoDB Local, the embedded S3 server, the in-process
//! bus, the local scheduler and clock, the mail outbox, the local cipher, one
//! shared in-memory creator index, the key file). Each function's state is
//! built by the same `state` function its `main.rs` calls with
//! [`nexus_ports::Aws`], so a port the function does not ask for is
//! [`nexus_ports::Unwired`] here too.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use nexus_core::cursor::CursorKey;
use nexus_core::time::Clock;
use nexus_ports::cipher::Cipher;
use nexus_ports::mail::{LocalOutbox, Mailer};
use nexus_ports::{
    Config, EventBus, MediaStore, Scheduler, WireCipher, WireEvents, WireMail, WireMedia,
    WirePaging, WireScheduler, WireSearch, Wiring,
};
use nexus_store::{CursorKeySource, Store};

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
    /// The ports asked for through this wiring (shared by its clones): what
    /// a function's state asks for, when it is built alone (tests compare it
    /// with the function's environment and policies in template.yaml).
    pub asked: Arc<Mutex<BTreeSet<&'static str>>>,
}

impl LocalWiring {
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
        Ok(Store::without_cursor_key(
            aws_sdk_dynamodb::Client::new(&self.sdk),
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
        Ok(Arc::new(self.cursor_key.clone()))
    }
}

impl WireEvents for LocalWiring {
    fn events(&self) -> Result<Arc<dyn EventBus>, String> {
        self.ask("events");
        Ok(self.events.clone())
    }
}

impl WireMedia for LocalWiring {
    /// The production S3 adapter against the embedded S3 server.
    fn media(&self) -> Result<Arc<dyn MediaStore>, String> {
        self.ask("media");
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&self.sdk)
                .force_path_style(true)
                .build(),
        );
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
        Ok(self.scheduler.clone())
    }
}

impl WireMail for LocalWiring {
    fn mailer(&self) -> Result<Arc<dyn Mailer>, String> {
        self.ask("mailer");
        Ok(self.mail.clone())
    }
}

impl nexus_ports::WireDeadLetters for LocalWiring {
    /// `OUTBOX_DLQ_URL` is `!Ref OutboxEventDeadLetterQueue` (tests/tests/template.rs).
    fn dead_letters(&self) -> Result<Arc<dyn nexus_ports::events::DeadLetterQueue>, String> {
        self.ask("dead-letters");
        Ok(Arc::new(crate::dlq::LocalQueue::new(
            self.dead_letters.clone(),
            crate::functions::OUTBOX_DEAD_LETTER_QUEUE,
        )))
    }
}

impl WireCipher for LocalWiring {
    fn cipher(&self) -> Result<Arc<dyn Cipher>, String> {
        self.ask("cipher");
        Ok(self.cipher.clone())
    }
}

#[async_trait::async_trait]
impl WireSearch for LocalWiring {
    async fn search_replica(&self) -> Result<Arc<dyn nexus_search::CreatorSearch>, String> {
        self.ask("search");
        Ok(self.search.clone())
    }

    async fn search_writer(&self) -> Result<Arc<dyn nexus_search::CreatorSearch>, String> {
        self.ask("search");
        Ok(self.search.clone())
    }
}

#[async_trait::async_trait]
impl nexus_identity::WireIdentity for LocalWiring {
    async fn keys(&self) -> Result<nexus_auth::KeyRing, String> {
        self.ask("keys");
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
        nexus_ports::Platform::new(self)?
            .paging(self)?
            .events(self)?
            .media(self)?
            .scheduler(self)
    }
}
