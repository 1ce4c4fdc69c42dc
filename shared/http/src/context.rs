//! What API Gateway tells a handler about the request.

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use nexus_core::principal::{Principal, PrincipalKind, Role};
use nexus_core::{Error, FieldError};

/// Keys the authorizer puts in its simple-response `context`
/// (`requestContext.authorizer.lambda`).
pub mod claims {
    pub const PRINCIPAL_ID: &str = "principalId";
    pub const PRINCIPAL_TYPE: &str = "principalType";
    pub const ORG_ID: &str = "orgId";
    pub const ROLE: &str = "role";
    /// Space-separated API-key scopes.
    pub const SCOPES: &str = "scopes";
    pub const STAFF: &str = "staff";
    /// `brand` or `creator` (users only).
    pub const ACCOUNT_TYPE: &str = "accountType";
    pub const SESSION_ID: &str = "sessionId";
    /// Why an anonymous caller has no principal (`missing`, `expired`, `invalid`, …).
    pub const AUTH_ERROR: &str = "authError";
}

/// The API Gateway request id (also returned as `x-request-id`).
pub fn request_id(req: &Request) -> String {
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.request_id.clone(),
        _ => None,
    }
    .unwrap_or_else(|| format!("local-{}", ulid::Ulid::new()))
}

/// `METHOD /path/{param}` as declared in template.yaml, or `$default`.
pub fn route_key(req: &Request) -> String {
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.route_key.clone(),
        _ => None,
    }
    .unwrap_or_else(|| format!("{} {}", req.method(), req.uri().path()))
}

/// The caller, as the authorizer resolved it. Absent or malformed context is
/// 401: a protected route never runs without a principal.
pub fn principal(req: &Request) -> Result<Principal, Error> {
    let unauth = || Error::Unauthenticated("a valid access token or API key is required".into());
    let Some(RequestContext::ApiGatewayV2(ctx)) = req.request_context_ref() else {
        return Err(unauth());
    };
    // `fields` is the simple-response context (`requestContext.authorizer.lambda`).
    let Some(c) = ctx
        .authorizer
        .as_ref()
        .map(|a| &a.fields)
        .filter(|f| !f.is_empty())
    else {
        return Err(unauth());
    };
    let text = |k: &str| c.get(k).and_then(|v| v.as_str()).filter(|s| !s.is_empty());
    let kind = match text(claims::PRINCIPAL_TYPE) {
        Some("user") => PrincipalKind::User,
        Some("apiKey") => PrincipalKind::ApiKey,
        // The authorizer passes bad credentials through with the reason.
        _ => {
            return Err(Error::Unauthenticated(
                match text(claims::AUTH_ERROR) {
                    Some("expired") => "the access token has expired; refresh it",
                    Some("invalid") => "the access token or API key is not valid",
                    Some("revoked") => "the API key has been revoked",
                    Some("scheme") => "use `Authorization: Bearer <token>` or `X-Api-Key: <key>`",
                    Some("plan") => {
                        return Err(Error::Forbidden(
                            "API access is not included in your organization's plan".into(),
                        ))
                    }
                    _ => "a valid access token or API key is required",
                }
                .into(),
            ))
        }
    };
    let id = text(claims::PRINCIPAL_ID).ok_or_else(unauth)?.to_owned();
    let org = match text(claims::ORG_ID) {
        Some(o) => Some(o.parse().map_err(|_| unauth())?),
        None => None,
    };
    Ok(Principal {
        kind,
        id,
        org,
        role: text(claims::ROLE).and_then(Role::parse),
        scopes: text(claims::SCOPES)
            .map(|s| s.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default(),
        account: match text(claims::ACCOUNT_TYPE) {
            Some("creator") => Some(nexus_core::user::AccountType::Creator),
            Some("brand") => Some(nexus_core::user::AccountType::Brand),
            _ => None,
        },
        staff: c
            .get(claims::STAFF)
            .is_some_and(|v| v.as_bool() == Some(true) || v.as_str() == Some("true")),
        session: text(claims::SESSION_ID).map(str::to_owned),
    })
}

/// A typed path parameter. A malformed id can't name anything, so it is 404
/// (before any store call), not 400.
pub fn path_param<T: std::str::FromStr>(
    req: &Request,
    name: &str,
    resource: &'static str,
) -> Result<T, Error> {
    req.path_parameters_ref()
        .and_then(|p| p.first(name))
        .and_then(|v| v.parse().ok())
        .ok_or(Error::NotFound { resource })
}

pub fn query_param(req: &Request, name: &str) -> Option<String> {
    req.query_string_parameters_ref()
        .and_then(|q| q.first(name))
        .map(str::to_owned)
}

/// `?limit=` (1–100, default 50).
pub fn limit_param(req: &Request) -> Result<u32, Error> {
    match query_param(req, "limit") {
        None => Ok(50),
        Some(v) => v
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=100).contains(n))
            .ok_or_else(|| {
                Error::Validation(vec![FieldError::new(
                    "query/limit",
                    "out_of_range",
                    "limit must be an integer from 1 to 100",
                )])
            }),
    }
}

/// The caller's IP address and user agent, as API Gateway saw them.
pub fn client(req: &Request) -> (String, String) {
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => (
            ctx.http.source_ip.clone().unwrap_or_default(),
            ctx.http.user_agent.clone().unwrap_or_default(),
        ),
        _ => (String::new(), String::new()),
    }
}
