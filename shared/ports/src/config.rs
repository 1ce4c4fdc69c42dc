//! Configuration from the environment `template.yaml` sets.

use nexus_core::cursor::CursorKey;

use crate::scheduler::{RetryPolicy, ScheduleTarget};

#[derive(Clone, Debug)]
pub struct Config {
    /// `TABLE_NAME`
    pub table_name: String,
    /// `EVENT_BUS_NAME`
    pub event_bus_name: String,
    /// `MEDIA_BUCKET`
    pub media_bucket: String,
    /// `CURSOR_KEY` (HMAC key for pagination cursors; resolved from Secrets Manager at deploy).
    pub cursor_key: CursorKey,
    /// `STAGE` (dev, staging, prod, local)
    pub stage: String,
    /// Path-style S3 addressing (`S3_FORCE_PATH_STYLE=true`), needed by local S3 servers.
    pub s3_path_style: bool,
    /// `SCHEDULE_GROUP`: the EventBridge Scheduler group of one-time schedules
    /// (set on functions that schedule; `default` when absent).
    pub schedule_group: Option<String>,
    /// `SCHEDULER_ROLE_ARN`: the role Scheduler assumes to invoke targets.
    pub scheduler_role_arn: Option<String>,
    /// `REMINDERS_TARGET_ARN`: the reminders function, target of reminder schedules.
    pub reminders_target_arn: Option<String>,
    /// `SCHEDULE_DLQ_ARN`: the dead-letter queue of reminder schedules.
    pub schedule_dlq_arn: Option<String>,
}

impl Config {
    pub fn from_env() -> Result<Self, String> {
        let var =
            |k: &str| std::env::var(k).map_err(|_| format!("environment variable {k} is required"));
        Ok(Self {
            table_name: var("TABLE_NAME")?,
            event_bus_name: var("EVENT_BUS_NAME")?,
            media_bucket: var("MEDIA_BUCKET")?,
            cursor_key: CursorKey::new(var("CURSOR_KEY")?),
            stage: std::env::var("STAGE").unwrap_or_else(|_| "dev".into()),
            s3_path_style: std::env::var("S3_FORCE_PATH_STYLE").is_ok_and(|v| v == "true"),
            schedule_group: optional("SCHEDULE_GROUP"),
            scheduler_role_arn: optional("SCHEDULER_ROLE_ARN"),
            reminders_target_arn: optional("REMINDERS_TARGET_ARN"),
            schedule_dlq_arn: optional("SCHEDULE_DLQ_ARN"),
        })
    }

    /// The target of reminder schedules (`REMINDERS_TARGET_ARN`, assumed with
    /// `SCHEDULER_ROLE_ARN`, dead-lettered to `SCHEDULE_DLQ_ARN`). Functions that schedule reminders call this at
    /// init so a missing variable fails the cold start, not a request.
    pub fn reminders_target(&self) -> Result<ScheduleTarget, String> {
        let need = |v: &Option<String>, k: &str| {
            v.clone().ok_or_else(|| {
                format!(
                    "environment variable {k} is required to schedule reminders; \
                     give the function SCHEDULE_GROUP, SCHEDULER_ROLE_ARN, SCHEDULE_DLQ_ARN and REMINDERS_TARGET_ARN \
                     in template.yaml (see SchedulerInvokeRole)"
                )
            })
        };
        Ok(ScheduleTarget {
            arn: need(&self.reminders_target_arn, "REMINDERS_TARGET_ARN")?,
            role_arn: need(&self.scheduler_role_arn, "SCHEDULER_ROLE_ARN")?,
            retry: RetryPolicy::default(),
            dead_letter_arn: Some(need(&self.schedule_dlq_arn, "SCHEDULE_DLQ_ARN")?),
        })
    }
}

fn optional(k: &str) -> Option<String> {
    std::env::var(k).ok().filter(|v| !v.trim().is_empty())
}
