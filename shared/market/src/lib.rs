//! Creators, campaigns and the marketplace.
//!
//! Pure domain rules (profiles, verification, reputation, the campaign
//! lifecycle, budget and plan limits, applications, contracts with provable
//! terms, deliverables) and their DynamoDB repositories in [`repo`].
//! Handlers parse and authorize, call these, and map the result.

pub mod application;
pub mod campaign;
pub mod contract;
pub mod creator;
pub mod discovery;
pub mod events;
pub mod flows;
pub mod input;
pub mod lifecycle;
pub mod notification;
pub mod notify;
pub mod repo;
pub mod reputation;
pub mod vocab;

pub use input::Audience;
