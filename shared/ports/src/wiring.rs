//! Where a function's ports come from.
//!
//! A function declares the ports it calls once, in its library: a `state`
//! function generic over a [`Wiring`] that also implements one capability
//! trait per optional port (`impl WirePaging + WireScheduler`, …). Its
//! `main.rs` calls it with [`Aws`]; the local platform calls the same
//! function with its own wiring (local adapters), so both build the same
//! state and an unwired port fails the same way in both.
//!
//! [`Aws`] implements a capability trait only with the nexus-ports feature
//! of its client, so a function built alone (as `sam build` builds it) that
//! asks for a port without enabling the feature does not compile, and a
//! function that does not ask for a port neither compiles nor links its
//! client.

use std::sync::Arc;

use nexus_core::time::{Clock, SystemClock};
use nexus_store::{CursorKeySource, Store};

use crate::cipher::Cipher;
use crate::config::Config;
use crate::events::EventBus;
use crate::mail::Mailer;
use crate::media::MediaStore;
use crate::scheduler::Scheduler;
use crate::workflows::Workflows;

/// What every function environment offers: configuration, the table and the clock.
pub trait Wiring: Send + Sync {
    fn config(&self) -> &Config;
    /// The table, without a cursor key ([`WirePaging`] adds it).
    fn table(&self) -> Result<Store, String>;
    fn clock(&self) -> Arc<dyn Clock> {
        Arc::new(SystemClock)
    }
}

/// The pagination cursor key, for functions that query (feature `paging`).
pub trait WirePaging: Wiring {
    fn cursor_key(&self) -> Result<Arc<dyn CursorKeySource>, String>;
}

/// The event bus (feature `eventbridge`).
pub trait WireEvents: Wiring {
    fn events(&self) -> Result<Arc<dyn EventBus>, String>;
}

/// The media bucket (feature `s3`).
pub trait WireMedia: Wiring {
    fn media(&self) -> Result<Arc<dyn MediaStore>, String>;
}

/// One-time schedules (feature `scheduler`).
pub trait WireScheduler: Wiring {
    fn scheduler(&self) -> Result<Arc<dyn Scheduler>, String>;
}

/// Step Functions executions and task-token callbacks (feature `sfn`).
///
/// `machines` are the logical names of the state machines the function
/// starts (`statemachines/<name>.asl.json`), each resolved from
/// `<NAME>_STATE_MACHINE_ARN` ([`crate::workflows::arn_variable`]); empty
/// for a function that only answers task tokens.
pub trait WireWorkflows: Wiring {
    fn workflows(&self, machines: &[&str]) -> Result<Arc<dyn Workflows>, String>;
}

/// E-mail (feature `ses`).
pub trait WireMail: Wiring {
    fn mailer(&self) -> Result<Arc<dyn Mailer>, String>;
}

/// The outbox publisher's dead-letter queue for events that can never be
/// published (feature `sqs`, `OUTBOX_DLQ_URL`).
pub trait WireDeadLetters: Wiring {
    fn dead_letters(&self) -> Result<Arc<dyn crate::events::DeadLetterQueue>, String>;
}

/// Encryption of secrets kept at rest (feature `kms`).
pub trait WireCipher: Wiring {
    fn cipher(&self) -> Result<Arc<dyn Cipher>, String>;
}

/// The creator index (feature `search`): a read replica for API functions,
/// the single writer for the indexer.
#[async_trait::async_trait]
pub trait WireSearch: Wiring {
    async fn search_replica(&self) -> Result<Arc<dyn nexus_search::CreatorSearch>, String>;
    async fn search_writer(&self) -> Result<Arc<dyn nexus_search::CreatorSearch>, String>;
}

/// Production wiring: the Lambda environment and the AWS SDK.
///
/// `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>` redirect any client
/// without code changes (the bench's cold-start stand-ins use this).
pub struct Aws {
    config: Config,
    sdk: aws_config::SdkConfig,
}

impl Aws {
    /// Reads [`Config`] and loads the SDK configuration (region and
    /// credentials from the environment). Nothing is called over the network.
    pub async fn from_env() -> Result<Self, String> {
        let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        Ok(Self::new(Config::from_env(), sdk))
    }

    pub fn new(config: Config, sdk: aws_config::SdkConfig) -> Self {
        Self { config, sdk }
    }

    /// The SDK configuration, for clients a function builds itself.
    pub fn sdk(&self) -> &aws_config::SdkConfig {
        &self.sdk
    }

    #[cfg(feature = "s3")]
    pub(crate) fn s3(&self) -> aws_sdk_s3::Client {
        aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&self.sdk)
                .force_path_style(self.config.s3_path_style)
                .build(),
        )
    }
}

impl Wiring for Aws {
    fn config(&self) -> &Config {
        &self.config
    }

    fn table(&self) -> Result<Store, String> {
        let table = Config::required(&self.config.table_name, "TABLE_NAME", "the table")?;
        Ok(Store::without_cursor_key(
            aws_sdk_dynamodb::Client::new(&self.sdk),
            table,
        ))
    }
}

#[cfg(feature = "paging")]
impl WirePaging for Aws {
    fn cursor_key(&self) -> Result<Arc<dyn CursorKeySource>, String> {
        let arn = Config::required(
            &self.config.cursor_key_secret_arn,
            "CURSOR_KEY_SECRET_ARN",
            "the pagination cursor key",
        )?;
        Ok(Arc::new(crate::cursor_key::SecretsManagerCursorKey::new(
            aws_sdk_secretsmanager::Client::new(&self.sdk),
            arn,
        )))
    }
}

#[cfg(feature = "eventbridge")]
impl WireEvents for Aws {
    fn events(&self) -> Result<Arc<dyn EventBus>, String> {
        let bus = Config::required(
            &self.config.event_bus_name,
            "EVENT_BUS_NAME",
            "the event bus",
        )?;
        Ok(Arc::new(crate::events::EventBridgeBus::new(
            aws_sdk_eventbridge::Client::new(&self.sdk),
            bus,
        )))
    }
}

#[cfg(feature = "s3")]
impl WireMedia for Aws {
    fn media(&self) -> Result<Arc<dyn MediaStore>, String> {
        let bucket = Config::required(
            &self.config.media_bucket,
            "MEDIA_BUCKET",
            "the media bucket",
        )?;
        Ok(Arc::new(crate::media::S3Media::new(self.s3(), bucket)))
    }
}

#[cfg(feature = "scheduler")]
impl WireScheduler for Aws {
    fn scheduler(&self) -> Result<Arc<dyn Scheduler>, String> {
        Ok(Arc::new(crate::scheduler::EventBridgeScheduler::new(
            aws_sdk_scheduler::Client::new(&self.sdk),
            self.config
                .schedule_group
                .clone()
                .unwrap_or_else(|| "default".into()),
        )))
    }
}

#[cfg(feature = "sfn")]
impl WireWorkflows for Aws {
    fn workflows(&self, machines: &[&str]) -> Result<Arc<dyn Workflows>, String> {
        let arns = crate::workflows::resolve_machines(machines, |var| std::env::var(var).ok())?;
        Ok(Arc::new(crate::workflows::StepFunctions::new(
            aws_sdk_sfn::Client::new(&self.sdk),
            arns,
        )))
    }
}

#[cfg(feature = "ses")]
impl WireMail for Aws {
    fn mailer(&self) -> Result<Arc<dyn Mailer>, String> {
        let from = std::env::var("MAIL_FROM")
            .map_err(|_| "environment variable MAIL_FROM is required to wire e-mail".to_owned())?;
        Ok(Arc::new(crate::mail::SesMailer::new(
            aws_sdk_sesv2::Client::new(&self.sdk),
            from,
        )))
    }
}

#[cfg(feature = "sqs")]
impl WireDeadLetters for Aws {
    fn dead_letters(&self) -> Result<Arc<dyn crate::events::DeadLetterQueue>, String> {
        let queue = std::env::var("OUTBOX_DLQ_URL").map_err(|_| {
            "environment variable OUTBOX_DLQ_URL is required to wire the dead-letter queue"
                .to_owned()
        })?;
        Ok(Arc::new(crate::events::SqsDeadLetterQueue::from_conf(
            &self.sdk, queue,
        )))
    }
}

#[cfg(feature = "kms")]
impl WireCipher for Aws {
    fn cipher(&self) -> Result<Arc<dyn Cipher>, String> {
        let key = std::env::var("KMS_KEY_ID").map_err(|_| {
            "environment variable KMS_KEY_ID is required to wire the cipher".to_owned()
        })?;
        Ok(Arc::new(crate::cipher::KmsCipher::new(
            aws_sdk_kms::Client::new(&self.sdk),
            key,
        )))
    }
}

#[cfg(feature = "search")]
#[async_trait::async_trait]
impl WireSearch for Aws {
    async fn search_replica(&self) -> Result<Arc<dyn nexus_search::CreatorSearch>, String> {
        crate::search::replica(self.s3(), &self.config).await
    }

    async fn search_writer(&self) -> Result<Arc<dyn nexus_search::CreatorSearch>, String> {
        crate::search::writer(self.s3(), &self.config).await
    }
}
