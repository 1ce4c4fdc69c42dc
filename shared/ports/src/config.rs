//! Configuration from the environment `template.yaml` sets.
//!
//! Reading it never fails for a variable a function may not have: each
//! adapter asks for the variables it needs when it is wired, so a function
//! fails its cold start naming the variable only if it wires a port that
//! needs it.

use crate::scheduler::{RetryPolicy, ScheduleTarget};

#[derive(Clone, Debug, Default)]
pub struct Config {
    /// `TABLE_NAME` (the table).
    pub table_name: Option<String>,
    /// `EVENT_BUS_NAME` (the event bus).
    pub event_bus_name: Option<String>,
    /// `MEDIA_BUCKET` (media, search snapshots).
    pub media_bucket: Option<String>,
    /// `CURSOR_KEY_SECRET_ARN`: the Secrets Manager secret whose value signs
    /// pagination cursors (resolved on first use; never a plaintext variable).
    pub cursor_key_secret_arn: Option<String>,
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
    /// `APP_URL`: base URL of the web app, for links in e-mails (set on the
    /// functions that send them).
    pub app_url: Option<String>,
}

impl Config {
    pub fn from_env() -> Self {
        Self {
            table_name: optional("TABLE_NAME"),
            event_bus_name: optional("EVENT_BUS_NAME"),
            media_bucket: optional("MEDIA_BUCKET"),
            cursor_key_secret_arn: optional("CURSOR_KEY_SECRET_ARN"),
            stage: std::env::var("STAGE").unwrap_or_else(|_| "dev".into()),
            s3_path_style: std::env::var("S3_FORCE_PATH_STYLE").is_ok_and(|v| v == "true"),
            schedule_group: optional("SCHEDULE_GROUP"),
            scheduler_role_arn: optional("SCHEDULER_ROLE_ARN"),
            reminders_target_arn: optional("REMINDERS_TARGET_ARN"),
            schedule_dlq_arn: optional("SCHEDULE_DLQ_ARN"),
            app_url: optional("APP_URL"),
        }
    }

    /// The value of a variable a port needs, or an error naming it and `what`
    /// needs it (e.g. `required(&c.table_name, "TABLE_NAME", "the table")`).
    pub fn required(value: &Option<String>, var: &str, what: &str) -> Result<String, String> {
        value.clone().ok_or_else(|| {
            format!("environment variable {var} is required to wire {what} (see template.yaml)")
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
