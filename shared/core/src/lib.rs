//! NEXUS domain core: the vocabulary every other crate speaks.
//!
//! Pure code only (no I/O): typed prefixed ids, money, time, the closed error
//! enum and its RFC 9457 mapping, validation, opaque cursors, the plan
//! catalogue, roles and permissions, domain events and the organization
//! aggregate.

pub mod cursor;
pub mod error;
pub mod events;
pub mod ids;
pub mod money;
pub mod org;
pub mod password;
pub mod plans;
pub mod principal;
pub mod time;
pub mod user;
pub mod validation;

pub use error::{Error, FieldError, Problem, Result};
pub use ids::{EventId, OrgId, UserId};
pub use money::{Currency, Money};
pub use time::{Clock, SystemClock, Timestamp};
