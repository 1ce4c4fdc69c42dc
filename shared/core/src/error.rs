//! The one closed error enum of NEXUS and its single mapping to RFC 9457
//! `application/problem+json` (status, stable `type` URI, title) and to Lambda
//! `Diagnostic` error types for Step Functions `Retry`/`Catch`.
//!
//! Adapters convert their failures into this enum; anything unexpected becomes
//! [`Error::Internal`], whose cause is logged but never shown to clients.

use serde::{Deserialize, Serialize};

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Base of every problem `type` URI. Each code has a section in docs/api.md.
pub const PROBLEM_BASE: &str = "https://docs.nexus.dev/problems/";

/// One invalid input field, addressed by a JSON Pointer into the request
/// (`/brief/budget/currency`) or `query/<name>` / `path/<name>` / `header/<name>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FieldError {
    /// JSON Pointer (RFC 6901) to the field in the body, or `query/…`, `path/…`, `header/…`.
    pub pointer: String,
    /// Machine-readable reason: `required`, `invalid_type`, `too_short`, `too_long`, `invalid_format`, `unknown_value`, `out_of_range`, …
    pub code: String,
    /// Human-readable explanation.
    pub detail: String,
}

impl FieldError {
    pub fn new(
        pointer: impl Into<String>,
        code: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            pointer: pointer.into(),
            code: code.into(),
            detail: detail.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Input parsed but broke one or more rules.
    #[error("validation failed: {}", summarize(.0))]
    Validation(Vec<FieldError>),
    /// The body could not be parsed at all (malformed JSON).
    #[error("malformed request: {0}")]
    MalformedRequest(String),
    #[error("unsupported media type; expected {expected}")]
    UnsupportedMediaType { expected: &'static str },
    #[error("payload too large; limit is {limit_bytes} bytes")]
    PayloadTooLarge { limit_bytes: usize },
    /// No valid credentials.
    #[error("unauthenticated: {0}")]
    Unauthenticated(String),
    /// Authenticated, but not allowed.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The account's e-mail address is not verified yet.
    #[error("verify your e-mail address first: open the link we sent when you registered")]
    EmailNotVerified,
    /// The resource does not exist *for this caller* (other tenants' resources
    /// are reported the same way, so existence is not leaked).
    #[error("{resource} not found")]
    NotFound { resource: &'static str },
    /// The caller belongs to this organization, but their access token is
    /// scoped to another one: `POST /v1/auth/switch-org` first. Only ever
    /// answered to members (directly or through an agency grant), so it
    /// reveals nothing to anyone else, who gets `NotFound`.
    #[error("your access token is scoped to another organization; call POST /v1/auth/switch-org with {{\"orgId\": \"{org}\"}} for tokens scoped to this one, then retry")]
    OrgNotActive { org: crate::ids::OrgId },
    #[error("no route for {method} {path}")]
    RouteNotFound { method: String, path: String },
    #[error("method not allowed; allowed: {}", .allow.join(", "))]
    MethodNotAllowed { allow: Vec<String> },
    /// The request conflicts with current state (`code` names which rule).
    #[error("conflict ({code}): {detail}")]
    Conflict { code: &'static str, detail: String },
    /// A state machine refused a move; `allowed` lists where `from` may go.
    #[error("{resource} cannot move from {from} to {to}; allowed: {}", if .allowed.is_empty() { "none".to_owned() } else { .allowed.join(", ") })]
    InvalidTransition {
        resource: &'static str,
        from: String,
        to: String,
        allowed: Vec<String>,
    },
    /// A plan limit would be exceeded.
    #[error("plan limit '{limit}' reached: {max} on plan {plan}")]
    LimitReached {
        limit: &'static str,
        plan: String,
        max: u64,
    },
    #[error("too many requests; retry after {retry_after_secs}s")]
    Throttled { retry_after_secs: u64 },
    /// A request with the same `Idempotency-Key` is still being processed.
    #[error("a request with this Idempotency-Key is in progress")]
    IdempotencyInProgress,
    /// The `Idempotency-Key` was used before with a different request.
    #[error("this Idempotency-Key was used with a different request")]
    IdempotencyKeyReused,
    /// A dependency is temporarily unavailable; retrying later may succeed.
    #[error("service unavailable: {detail}")]
    Unavailable {
        detail: String,
        retry_after_secs: u64,
    },
    /// A bug or an unexpected dependency failure. The cause is logged, never shown.
    #[error("internal error: {0}")]
    Internal(String),
}

fn summarize(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| format!("{} {}", e.pointer, e.code))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Error {
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Error::Internal(cause.to_string())
    }

    pub fn field(
        pointer: impl Into<String>,
        code: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        Error::Validation(vec![FieldError::new(pointer, code, detail)])
    }

    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        Error::Conflict {
            code,
            detail: detail.into(),
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            Error::Validation(_) | Error::MalformedRequest(_) => 400,
            Error::Unauthenticated(_) => 401,
            Error::LimitReached { .. } => 402,
            Error::Forbidden(_) | Error::EmailNotVerified | Error::OrgNotActive { .. } => 403,
            Error::NotFound { .. } | Error::RouteNotFound { .. } => 404,
            Error::MethodNotAllowed { .. } => 405,
            Error::Conflict { .. }
            | Error::InvalidTransition { .. }
            | Error::IdempotencyInProgress => 409,
            Error::PayloadTooLarge { .. } => 413,
            Error::UnsupportedMediaType { .. } => 415,
            Error::IdempotencyKeyReused => 422,
            Error::Throttled { .. } => 429,
            Error::Internal(_) => 500,
            Error::Unavailable { .. } => 503,
        }
    }

    /// Stable machine code; the last segment of the problem `type` URI.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Validation(_) => "validation-failed",
            Error::MalformedRequest(_) => "malformed-request",
            Error::UnsupportedMediaType { .. } => "unsupported-media-type",
            Error::PayloadTooLarge { .. } => "payload-too-large",
            Error::Unauthenticated(_) => "unauthenticated",
            Error::Forbidden(_) => "forbidden",
            Error::EmailNotVerified => "email-not-verified",
            Error::OrgNotActive { .. } => "org-not-active",
            Error::NotFound { .. } => "not-found",
            Error::RouteNotFound { .. } => "route-not-found",
            Error::MethodNotAllowed { .. } => "method-not-allowed",
            Error::Conflict { code, .. } => code,
            Error::InvalidTransition { .. } => "invalid-transition",
            Error::LimitReached { .. } => "limit-reached",
            Error::Throttled { .. } => "throttled",
            Error::IdempotencyInProgress => "idempotency-in-progress",
            Error::IdempotencyKeyReused => "idempotency-key-reused",
            Error::Unavailable { .. } => "unavailable",
            Error::Internal(_) => "internal",
        }
    }

    pub fn title(&self) -> &'static str {
        match self {
            Error::Validation(_) => "Your request has invalid fields",
            Error::MalformedRequest(_) => "The request body is not valid JSON",
            Error::UnsupportedMediaType { .. } => "Unsupported media type",
            Error::PayloadTooLarge { .. } => "Payload too large",
            Error::Unauthenticated(_) => "Authentication required",
            Error::Forbidden(_) => "Not allowed",
            Error::EmailNotVerified => "E-mail address not verified",
            Error::OrgNotActive { .. } => "Another organization is active",
            Error::NotFound { .. } => "Not found",
            Error::RouteNotFound { .. } => "No such route",
            Error::MethodNotAllowed { .. } => "Method not allowed",
            Error::Conflict { .. } => "Conflict with the current state",
            Error::InvalidTransition { .. } => "Transition not allowed",
            Error::LimitReached { .. } => "Plan limit reached",
            Error::Throttled { .. } => "Too many requests",
            Error::IdempotencyInProgress => "Request already in progress",
            Error::IdempotencyKeyReused => "Idempotency-Key reused with a different request",
            Error::Unavailable { .. } => "Temporarily unavailable",
            Error::Internal(_) => "Internal error",
        }
    }

    /// Seconds a client should wait before retrying, when it should.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Error::Throttled { retry_after_secs }
            | Error::Unavailable {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            Error::IdempotencyInProgress => Some(1),
            _ => None,
        }
    }

    /// Error type seen by Step Functions (`Retry`/`Catch` `ErrorEquals`).
    pub fn diagnostic_type(&self) -> &'static str {
        match self {
            Error::Validation(_)
            | Error::MalformedRequest(_)
            | Error::UnsupportedMediaType { .. }
            | Error::PayloadTooLarge { .. }
            | Error::IdempotencyKeyReused => "Invalid",
            Error::Unauthenticated(_)
            | Error::Forbidden(_)
            | Error::EmailNotVerified
            | Error::OrgNotActive { .. } => "Forbidden",
            Error::NotFound { .. }
            | Error::RouteNotFound { .. }
            | Error::MethodNotAllowed { .. } => "NotFound",
            Error::Conflict { .. } | Error::InvalidTransition { .. } => "Conflict",
            Error::LimitReached { .. } => "LimitReached",
            Error::Throttled { .. } => "Throttled",
            Error::IdempotencyInProgress | Error::Unavailable { .. } => "Retryable",
            Error::Internal(_) => "Internal",
        }
    }

    /// The RFC 9457 body for this error. Internal causes are replaced by a
    /// generic detail; the request id lets support find the logged cause.
    pub fn to_problem(&self, request_id: Option<&str>, instance: Option<&str>) -> Problem {
        let mut p = Problem {
            type_uri: format!("{PROBLEM_BASE}{}", self.code()),
            title: self.title().to_owned(),
            status: self.status(),
            detail: None,
            instance: instance.map(str::to_owned),
            request_id: request_id.map(str::to_owned),
            errors: Vec::new(),
            extensions: serde_json::Map::new(),
        };
        match self {
            Error::Validation(errors) => {
                p.detail = Some(match errors.len() {
                    1 => format!("{}: {}", errors[0].pointer, errors[0].detail),
                    n => format!("{n} fields are invalid"),
                });
                p.errors = errors.clone();
            }
            Error::Internal(_) => p.detail = Some(
                "Something went wrong on our side. Quote the request id if you contact support."
                    .into(),
            ),
            Error::LimitReached { limit, plan, max } => {
                p.detail = Some(format!(
                    "Your {plan} plan allows {max} {limit}. Upgrade the plan to go further."
                ));
                p.extensions.insert("limit".into(), (*limit).into());
                p.extensions.insert("plan".into(), plan.as_str().into());
                p.extensions.insert("max".into(), (*max).into());
            }
            Error::OrgNotActive { org } => {
                p.detail = Some(self.to_string());
                p.extensions.insert("orgId".into(), org.as_str().into());
            }
            Error::MethodNotAllowed { allow } => {
                p.detail = Some(self.to_string());
                p.extensions.insert("allow".into(), allow.clone().into());
            }
            Error::Conflict { detail, .. } => p.detail = Some(detail.clone()),
            Error::InvalidTransition {
                from, to, allowed, ..
            } => {
                p.detail = Some(self.to_string());
                p.extensions.insert("from".into(), from.as_str().into());
                p.extensions.insert("to".into(), to.as_str().into());
                p.extensions
                    .insert("allowed".into(), allowed.clone().into());
            }
            Error::Unavailable { detail, .. } => p.detail = Some(detail.clone()),
            Error::MalformedRequest(d) | Error::Unauthenticated(d) | Error::Forbidden(d) => {
                p.detail = Some(d.clone())
            }
            _ => p.detail = Some(self.to_string()),
        }
        if let Some(secs) = self.retry_after() {
            p.extensions.insert("retryAfter".into(), secs.into());
        }
        p
    }
}

/// An RFC 9457 problem document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    /// Stable URI naming the problem type.
    #[serde(rename = "type")]
    pub type_uri: String,
    pub title: String,
    pub status: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// The request id (also in the `x-request-id` header).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Per-field errors, for `validation-failed`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Problem-specific members (`limit`, `allow`, `retryAfter`, …).
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub extensions: serde_json::Map<String, serde_json::Value>,
}

pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

#[cfg(feature = "lambda")]
impl From<Error> for lambda_runtime::Diagnostic {
    fn from(e: Error) -> Self {
        lambda_runtime::Diagnostic {
            error_type: e.diagnostic_type().to_owned(),
            error_message: e.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_has_a_4xx_or_5xx_status_and_a_stable_type() {
        let all = [
            Error::Validation(vec![FieldError::new(
                "/name",
                "required",
                "name is required",
            )]),
            Error::MalformedRequest("x".into()),
            Error::UnsupportedMediaType {
                expected: "application/json",
            },
            Error::PayloadTooLarge { limit_bytes: 10 },
            Error::Unauthenticated("x".into()),
            Error::Forbidden("x".into()),
            Error::EmailNotVerified,
            Error::OrgNotActive {
                org: crate::ids::OrgId::new(),
            },
            Error::NotFound {
                resource: "organization",
            },
            Error::RouteNotFound {
                method: "GET".into(),
                path: "/x".into(),
            },
            Error::MethodNotAllowed {
                allow: vec!["GET".into()],
            },
            Error::conflict("version-conflict", "x"),
            Error::LimitReached {
                limit: "seats",
                plan: "free".into(),
                max: 1,
            },
            Error::Throttled {
                retry_after_secs: 3,
            },
            Error::IdempotencyInProgress,
            Error::IdempotencyKeyReused,
            Error::Unavailable {
                detail: "x".into(),
                retry_after_secs: 1,
            },
            Error::Internal("db exploded".into()),
        ];
        for e in &all {
            assert!((400..600).contains(&e.status()), "{e:?}");
            let p = e.to_problem(Some("req-1"), None);
            assert!(p.type_uri.starts_with(PROBLEM_BASE));
            assert!(!p.type_uri.contains(' '));
            assert_eq!(p.status, e.status());
            assert!(
                !e.diagnostic_type().contains("::"),
                "named, not a Rust type"
            );
        }
    }

    #[test]
    fn internal_cause_is_never_shown() {
        let p = Error::Internal("password=hunter2 in connection string".into())
            .to_problem(Some("r"), None);
        let body = serde_json::to_string(&p).unwrap();
        assert!(!body.contains("hunter2"));
        assert!(body.contains("\"requestId\":\"r\""));
    }

    #[test]
    fn validation_problem_lists_fields() {
        let e = Error::Validation(vec![
            FieldError::new("/name", "required", "name is required"),
            FieldError::new(
                "/kind",
                "unknown_value",
                "kind must be one of brand, agency",
            ),
        ]);
        let v = serde_json::to_value(e.to_problem(None, Some("/v1/orgs"))).unwrap();
        assert_eq!(v["status"], 400);
        assert_eq!(
            v["type"],
            "https://docs.nexus.dev/problems/validation-failed"
        );
        assert_eq!(v["errors"][1]["pointer"], "/kind");
        assert_eq!(v["instance"], "/v1/orgs");
    }

    #[test]
    fn limit_and_retry_extensions() {
        let v = serde_json::to_value(
            Error::LimitReached {
                limit: "seats",
                plan: "starter".into(),
                max: 3,
            }
            .to_problem(None, None),
        )
        .unwrap();
        assert_eq!(v["limit"], "seats");
        assert_eq!(v["max"], 3);
        let v = serde_json::to_value(
            Error::Throttled {
                retry_after_secs: 7,
            }
            .to_problem(None, None),
        )
        .unwrap();
        assert_eq!(v["retryAfter"], 7);
    }

    #[test]
    fn org_not_active_says_how_to_switch() {
        let org = crate::ids::OrgId::new();
        let v =
            serde_json::to_value(Error::OrgNotActive { org: org.clone() }.to_problem(None, None))
                .unwrap();
        assert_eq!(v["status"], 403);
        assert_eq!(v["type"], format!("{PROBLEM_BASE}org-not-active"));
        assert_eq!(v["orgId"], org.as_str());
        let detail = v["detail"].as_str().unwrap();
        assert!(detail.contains("POST /v1/auth/switch-org"), "{detail}");
        assert!(
            detail.contains(&format!("{{\"orgId\": \"{org}\"}}")),
            "{detail}"
        );
    }
}
