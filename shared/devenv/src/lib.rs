//! What the local platform and the tests share: reading `template.yaml` (the
//! single source of truth for wiring), running DynamoDB Local, and creating
//! the table exactly as the template declares it.

pub mod conflicts;
pub mod dynamodb_local;
pub mod race;
pub mod table;

pub use nexus_wiring::template;
pub use table::CreateTable;

/// The repository's `template.yaml`.
pub fn load_template() -> Result<template::Template, template::TemplateError> {
    template::Template::load(&repo_root().join("template.yaml"))
}

use std::path::PathBuf;

/// The repository root: the nearest ancestor of the current directory holding
/// `template.yaml`, else the checkout this crate was built from.
pub fn repo_root() -> PathBuf {
    if let Ok(cwd) = std::env::current_dir() {
        for dir in cwd.ancestors() {
            if dir.join("template.yaml").is_file() && dir.join("Cargo.toml").is_file() {
                return dir.to_path_buf();
            }
        }
    }
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// AWS SDK configuration for local endpoints: static test credentials, a fixed
/// region, and the given endpoint.
pub async fn local_sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "local",
            "local",
            None,
            None,
            "nexus-local",
        ))
        .endpoint_url(endpoint)
        .load()
        .await
}
