//! HTTP glue for handlers behind API Gateway HTTP API (payload 2.0):
//! request ids, the principal from the authorizer context, path/query
//! parameters, JSON bodies with field errors, responses and RFC 9457
//! problems, `Idempotency-Key` replay, and cursor-paged list envelopes.
//!
//! A handler is `parse → shared domain call → view`; everything here is the
//! parse and view part, written once.

pub mod body;
pub mod context;
pub mod idempotency;
pub mod openapi;
pub mod response;

pub use body::{json_body, MAX_BODY_BYTES};
pub use context::{limit_param, path_param, principal, query_param, request_id, route_key};
pub use response::{problem, serve, Accepted, ApiResponse, ListEnvelope};
