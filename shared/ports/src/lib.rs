//! Ports for every side effect, their AWS adapters, and the [`Platform`]
//! bundle a function is built with.
//!
//! Each AWS adapter sits behind a Cargo feature (`eventbridge`, `s3`,
//! `scheduler`, `ses`, `kms`, `sqs`, `search`, `paging`, `sfn`), so a function compiles and
//! links only the clients it calls. A function asks for its ports through a
//! [`Wiring`] ([`wiring`]): production wires them from AWS ([`Aws`]), the
//! local platform with its stand-ins; a port nobody asked for stays
//! [`Unwired`] and fails loudly when called.

pub mod cipher;
pub mod config;
#[cfg(feature = "paging")]
pub mod cursor_key;
pub mod events;
pub mod mail;
pub mod media;
pub mod scheduler;
#[cfg(feature = "search")]
pub mod search;
pub mod unwired;
pub mod wiring;
pub mod workflows;

use std::sync::Arc;

use nexus_core::time::Clock;
use nexus_store::Store;

pub use aws_config;
pub use aws_config::{BehaviorVersion, SdkConfig};
pub use config::Config;
pub use events::{EventBus, OutboxEvent, PublishFailure};
pub use media::{MediaStore, PresignedRequest};
pub use scheduler::{OneTimeSchedule, ScheduleTarget, Scheduler};
pub use unwired::Unwired;
pub use wiring::{
    Aws, WireCipher, WireDeadLetters, WireEvents, WireMail, WireMedia, WirePaging, WireScheduler,
    WireSearch, WireWorkflows, Wiring,
};
pub use workflows::{Execution, ExecutionName, ExecutionStatus, Started, WorkflowError, Workflows};

#[cfg(feature = "eventbridge")]
pub use events::EventBridgeBus;
#[cfg(feature = "s3")]
pub use media::S3Media;
#[cfg(feature = "scheduler")]
pub use scheduler::EventBridgeScheduler;
#[cfg(feature = "sfn")]
pub use workflows::StepFunctions;

/// The table, the clock and the ports a function asked for, built once per
/// execution environment. Start with [`Platform::new`] (table and clock) and
/// add ports with the builder methods; the rest stay [`Unwired`].
///
/// ```no_run
/// # async fn demo() -> Result<(), String> {
/// use nexus_ports::{Aws, Platform, WirePaging, WireScheduler};
/// // In a function's lib.rs: the one place that says what it calls.
/// pub fn wire(w: &(impl WirePaging + WireScheduler)) -> Result<Platform, String> {
///     Platform::new(w)?.paging(w)?.scheduler(w)
/// }
/// // In its main.rs (features "paging" and "scheduler" of nexus-ports):
/// let platform = wire(&Aws::from_env().await?)?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Platform {
    pub config: Config,
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub events: Arc<dyn EventBus>,
    pub media: Arc<dyn MediaStore>,
    /// One-time schedules (EventBridge Scheduler; the local runner locally).
    pub scheduler: Arc<dyn Scheduler>,
    /// Step Functions executions and task-token callbacks.
    pub workflows: Arc<dyn Workflows>,
}

impl Platform {
    /// The table (without a cursor key) and the clock; every other port unwired.
    pub fn new(w: &impl Wiring) -> Result<Self, String> {
        Ok(Self {
            config: w.config().clone(),
            store: w.table()?,
            clock: w.clock(),
            events: Arc::new(Unwired("events")),
            media: Arc::new(Unwired("media")),
            scheduler: Arc::new(Unwired("scheduler")),
            workflows: Arc::new(Unwired("workflows")),
        })
    }

    /// The pagination cursor key: every function that queries the table.
    pub fn paging(mut self, w: &impl WirePaging) -> Result<Self, String> {
        self.store = self.store.with_cursor_key_source(w.cursor_key()?);
        Ok(self)
    }

    /// The event bus.
    pub fn events(mut self, w: &impl WireEvents) -> Result<Self, String> {
        self.events = w.events()?;
        Ok(self)
    }

    /// The media bucket.
    pub fn media(mut self, w: &impl WireMedia) -> Result<Self, String> {
        self.media = w.media()?;
        Ok(self)
    }

    /// One-time schedules.
    pub fn scheduler(mut self, w: &impl WireScheduler) -> Result<Self, String> {
        self.scheduler = w.scheduler()?;
        Ok(self)
    }

    /// Step Functions: `machines` are the logical names of the state
    /// machines the function starts (empty if it only answers task tokens).
    pub fn workflows(mut self, w: &impl WireWorkflows, machines: &[&str]) -> Result<Self, String> {
        self.workflows = w.workflows(machines)?;
        Ok(self)
    }

    /// Replace the clock (tests).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sdk() -> SdkConfig {
        SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .build()
    }

    fn config() -> Config {
        Config {
            table_name: Some("t".into()),
            event_bus_name: Some("b".into()),
            media_bucket: Some("m".into()),
            cursor_key_secret_arn: Some("arn:aws:secretsmanager:us-east-1:1:secret:c".into()),
            stage: "test".into(),
            ..Config::default()
        }
    }

    #[tokio::test]
    async fn a_port_the_function_did_not_ask_for_fails_naming_it() {
        let platform = Platform::new(&Aws::new(config(), sdk())).unwrap();
        let err = platform.events.publish(&[]).await.unwrap_err();
        assert!(
            err.contains("`events` port is not wired") && err.contains(".events(w)"),
            "{err}"
        );
        let err = platform.media.size("k").await.unwrap_err();
        assert!(err.contains("`media` port is not wired"), "{err}");
        let err = platform.scheduler.cancel("s").await.unwrap_err();
        assert_eq!(err.status(), 500);
        assert!(
            matches!(&err, nexus_core::Error::Internal(m) if m.contains("`scheduler` port is not wired")),
            "{err:?}"
        );
        let err = platform
            .workflows
            .send_task_heartbeat("token")
            .await
            .unwrap_err();
        assert!(
            err.message().contains("`workflows` port is not wired"),
            "{err}"
        );
        assert_eq!(nexus_core::Error::from(err).status(), 500);
        // And the table refuses queries until paging is wired.
        let q = nexus_store::Query::new(nexus_store::Index::Table, "T#a", "a/x");
        let err = platform
            .store
            .query::<nexus_core::org::Membership>(q)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, nexus_core::Error::Internal(m) if m.contains("no pagination cursor key wired")),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn wired_ports_replace_the_stand_ins() {
        let aws = Aws::new(config(), sdk());
        let platform = Platform::new(&aws)
            .unwrap()
            .paging(&aws)
            .unwrap()
            .events(&aws)
            .unwrap()
            .scheduler(&aws)
            .unwrap();
        // No call is made here; a wired port is no longer the stand-in.
        assert!(format!("{:?}", platform.store).contains("Lazy"));
        let unwired = Platform::new(&aws).unwrap();
        assert!(format!("{:?}", unwired.store).contains("Unwired"));
    }

    #[test]
    fn wiring_a_port_without_its_variable_names_the_variable() {
        let aws = Aws::new(Config::default(), sdk());
        let err = Platform::new(&aws).err().unwrap();
        assert!(
            err.contains("TABLE_NAME is required to wire the table"),
            "{err}"
        );
        let aws = Aws::new(
            Config {
                table_name: Some("t".into()),
                ..Config::default()
            },
            sdk(),
        );
        let err = Platform::new(&aws).unwrap().paging(&aws).err().unwrap();
        assert!(err.contains("CURSOR_KEY_SECRET_ARN"), "{err}");
        let err = Platform::new(&aws).unwrap().events(&aws).err().unwrap();
        assert!(err.contains("EVENT_BUS_NAME"), "{err}");
        let err = Platform::new(&aws)
            .unwrap()
            .workflows(&aws, &["unit-test-unset"])
            .err()
            .unwrap();
        assert!(err.contains("UNIT_TEST_UNSET_STATE_MACHINE_ARN"), "{err}");
        // A function that only answers task tokens names no machine.
        assert!(Platform::new(&aws).unwrap().workflows(&aws, &[]).is_ok());
    }
}
