//! Configuration from the environment `template.yaml` sets.

use nexus_core::cursor::CursorKey;

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
        })
    }
}
