//! Typed repositories, one module per aggregate.

pub mod audit;
pub mod orgs;
