//! The NEXUS single-table DynamoDB store.
//!
//! One table (`PK`, `SK`, overloaded `GSI1`/`GSI2`, TTL attribute `expiresAt`,
//! numeric `version` for optimistic locking). Entities are typed via
//! [`Entity`] and `serde_dynamo`; multi-item invariants and the outbox use
//! `TransactWriteItems`; listings page with opaque, tenant-bound cursors.
//! Access patterns are documented in this crate's README.md.

pub use aws_sdk_dynamodb;

pub mod cursors;
pub mod entity;
pub mod error;
pub mod idempotency;
pub mod repos;
pub mod retry;
pub mod store;
pub mod tx;

pub use cursors::CursorKeySource;
pub use entity::{attr, Entity, Key};
pub use error::StoreError;
pub use idempotency::{Claim, StoredResponse};
pub use retry::ConflictRetry;
pub use store::{Index, Page, Query, Store};
pub use tx::{Tx, Write};
