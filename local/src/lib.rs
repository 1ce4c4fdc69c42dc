//! The NEXUS local platform: the topology `template.yaml` deploys, on one
//! machine and offline.
//!
//! | AWS | here |
//! |---|---|
//! | API Gateway HTTP API (payload 2.0, Lambda REQUEST authorizer, CORS) | [`gateway`]: axum on `127.0.0.1`, exact payload JSON parsed by `lambda_http` |
//! | Lambda functions | [`functions`]: the function crates' `handler`s, called in-process |
//! | DynamoDB (+ Streams) | DynamoDB Local (Java), started by [`nexus_devenv`] |
//! | DynamoDB stream event source mappings | [`streams`]: a poller per `template.yaml` stream source |
//! | EventBridge bus + rules | [`eventbridge`]: an in-process [`nexus_ports::EventBus`] and pattern matcher |
//! | S3 | [`s3`]: embedded `s3s-fs` with SigV4 (presigned URLs work unchanged) |
//! | EventBridge Scheduler (one-time schedules) | [`scheduler`]: a [`nexus_ports::Scheduler`] and a runner driven by the adjustable [`clock`] |
//! | Step Functions (`AWS::Serverless::StateMachine`) | [`workflows`]: the [`nexus_asl`] interpreter bound to the functions, the clock and the state directory |
//!
//! Wiring is read from `template.yaml` only: routes, authorizers, stream
//! sources, rules, table and buckets are never listed in Rust. The one Rust
//! list is [`functions`]' registry (function crate → handler).
//!
//! In-process use (tests, benchmarks):
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let endpoint = nexus_devenv::dynamodb_local::shared_endpoint().await;
//! let local = nexus_local::LocalPlatform::start(nexus_local::Options::ephemeral(endpoint)).await?;
//! let health = reqwest::get(format!("{}/health", local.url())).await?;
//! assert_eq!(health.status(), 200);
//! local.settle(std::time::Duration::from_secs(10)).await?; // streams + bus idle
//! let _store = &local.platform().store;
//! local.stop().await;
//! # Ok(()) }
//! ```

pub mod clock;
pub mod config;
pub mod dlq;
pub mod eventbridge;
pub mod functions;
pub mod gateway;
pub mod parity;
pub mod platform;
pub mod s3;
pub mod scheduler;
pub mod state;
pub mod streams;
pub mod wiring;
pub mod worker;
pub mod workflows;

pub use clock::LocalClock;
pub use config::{DynamoDb, Options, Timing};
pub use functions::{registered_functions, Handler};
pub use platform::{LocalPlatform, SettleTimeout, StartError};

/// Account id of every local ARN and envelope.
pub const ACCOUNT_ID: &str = "000000000000";
/// Region of the local SDK configuration, envelopes and stream records.
pub const REGION: &str = "us-east-1";
/// Static credentials of the local SDK configuration; the embedded S3 server
/// verifies SigV4 signatures made with them.
pub const ACCESS_KEY: &str = "local";
pub const SECRET_KEY: &str = "local";

/// The ARN of a local function (by logical id).
pub fn function_arn(logical_id: &str) -> String {
    format!("arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{logical_id}")
}

/// The ARN of a local SQS queue (by logical id); dead letters addressed to it
/// are written to `<state dir>/dlq/`.
pub fn queue_arn(logical_id: &str) -> String {
    format!("arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{logical_id}")
}

/// A random RFC 4122 version-4 UUID (EventBridge event ids, request ids).
pub fn uuid4() -> String {
    uuid::Builder::from_random_bytes(rand::random())
        .into_uuid()
        .to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn uuid4_has_the_version_and_variant_bits() {
        let u = super::uuid4();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert!(matches!(&u[19..20], "8" | "9" | "a" | "b"), "{u}");
        assert_ne!(u, super::uuid4());
    }
}
