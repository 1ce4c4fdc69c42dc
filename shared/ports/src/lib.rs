//! Ports for every side effect, their AWS adapters, and the [`Platform`]
//! bundle a function is built with.
//!
//! Production builds each adapter from the Lambda environment
//! ([`Platform::from_env`]); the local platform builds the same adapters
//! against local endpoints (DynamoDB Local, the embedded S3 server) and
//! replaces the event bus, the scheduler and the clock with its own.

pub mod cipher;
pub mod config;
pub mod events;
pub mod mail;
pub mod media;
pub mod scheduler;
pub mod search;

use std::sync::Arc;

use nexus_core::time::{Clock, SystemClock};
use nexus_store::Store;

pub use aws_config::{BehaviorVersion, SdkConfig};
pub use config::Config;
pub use events::{EventBridgeBus, EventBus, OutboxEvent, PublishFailure};
pub use media::{MediaStore, PresignedRequest, S3Media};
pub use scheduler::{EventBridgeScheduler, OneTimeSchedule, ScheduleTarget, Scheduler};
pub use {aws_config, aws_sdk_kms, aws_sdk_sesv2};

/// Everything a function needs, built once per execution environment.
#[derive(Clone)]
pub struct Platform {
    pub config: Config,
    pub store: Store,
    pub events: Arc<dyn EventBus>,
    pub media: Arc<dyn MediaStore>,
    pub clock: Arc<dyn Clock>,
    /// One-time schedules (EventBridge Scheduler; the local runner locally).
    pub scheduler: Arc<dyn Scheduler>,
}

impl Platform {
    /// Production wiring from the Lambda environment (`TABLE_NAME`, …).
    /// `AWS_ENDPOINT_URL_*` variables redirect any client, without code changes.
    pub async fn from_env() -> Result<Self, String> {
        let config = Config::from_env()?;
        let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        Ok(Self::from_sdk(config, &sdk, None))
    }

    /// Wiring from an SDK configuration; `events` replaces EventBridge (local bus).
    pub fn from_sdk(
        config: Config,
        sdk: &aws_config::SdkConfig,
        events: Option<Arc<dyn EventBus>>,
    ) -> Self {
        let store = Store::new(
            aws_sdk_dynamodb::Client::new(sdk),
            config.table_name.clone(),
            config.cursor_key.clone(),
        );
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(sdk)
                .force_path_style(config.s3_path_style)
                .build(),
        );
        let events = events.unwrap_or_else(|| {
            Arc::new(EventBridgeBus::new(
                aws_sdk_eventbridge::Client::new(sdk),
                config.event_bus_name.clone(),
            ))
        });
        let scheduler = Arc::new(EventBridgeScheduler::new(
            aws_sdk_scheduler::Client::new(sdk),
            config
                .schedule_group
                .clone()
                .unwrap_or_else(|| "default".into()),
        ));
        Self {
            media: Arc::new(S3Media::new(s3, config.media_bucket.clone())),
            events,
            store,
            clock: Arc::new(SystemClock),
            scheduler,
            config,
        }
    }

    /// Replace the scheduler (the local platform's runner).
    pub fn with_scheduler(mut self, scheduler: Arc<dyn Scheduler>) -> Self {
        self.scheduler = scheduler;
        self
    }

    /// Replace the clock (the local platform's adjustable clock, tests).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
}
