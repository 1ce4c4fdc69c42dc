//! Typed repositories, one module per aggregate.

pub mod apikeys;
pub mod audit;
pub mod mailjobs;
pub mod orgs;
pub mod sessions;
pub mod throttle;
pub mod tokens;
pub mod users;
