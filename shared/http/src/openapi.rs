//! Pieces every function's OpenAPI fragment shares: the security schemes, the
//! document's front matter, and the merge of every function's fragment into
//! the one document `GET /openapi.json` serves.
//!
//! Annotating a handler (see docs/api.md, "Documenting an operation"):
//! - a list answers `body = ListEnvelope<T>` (`{items, nextCursor}`), never `Vec<T>`;
//! - every problem the handler can answer is listed with
//!   `body = Problem, content_type = "application/problem+json"`;
//! - a body-less answer (204) has no `body`.
//!
//! What the shared HTTP code answers for every handler is added here once
//! ([`standard_responses`]): 400/413/415 for JSON bodies, 400 for query
//! parameters, 404 for path ids, 401/403 for authenticated routes, 409/422 and
//! `idempotent-replayed` for `Idempotency-Key`, `location` on 201,
//! `retry-after` on 429/503 and an idempotent operation's 409.
//!
//! The integration tests validate every response they receive against the
//! served document, so an undocumented status, content type or field fails them.

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, Ref, RefOr,
    ResponseBuilder, ServerBuilder, Type,
};

/// Adds the bearer/API-key security schemes.
pub struct SecurityAddon;

impl utoipa::Modify for SecurityAddon {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi
            .components
            .get_or_insert_with(|| ComponentsBuilder::new().build());
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "Access token from POST /v1/auth/login, or an API key.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "apiKey",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("x-api-key"))),
        );
    }
}

/// Merge fragments into one document.
pub fn merge(mut base: OpenApi, parts: impl IntoIterator<Item = OpenApi>) -> OpenApi {
    for p in parts {
        base.merge(p);
    }
    base
}

/// The complete document: front matter, every function's fragment, security schemes.
pub fn document(version: &str, parts: impl IntoIterator<Item = OpenApi>) -> OpenApi {
    let base = OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("NEXUS API")
                .version(version)
                .description(Some(
                    "Creator (UGC) marketing, end to end. JSON over HTTPS; errors are RFC 9457 \
                     `application/problem+json` with a stable `type`; lists answer \
                     `{items, nextCursor}` and page with the opaque `cursor`; creating POSTs \
                     accept `Idempotency-Key`.",
                ))
                .build(),
        )
        .servers(Some([ServerBuilder::new()
            .url("/")
            .description(Some("This deployment"))
            .build()]))
        .build();
    let mut doc = merge(base, parts);
    utoipa::Modify::modify(&SecurityAddon, &mut doc);
    standard_responses(&mut doc);
    doc
}

const PROBLEM_JSON: &str = "application/problem+json";

fn problem(description: &str) -> RefOr<utoipa::openapi::Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                PROBLEM_JSON,
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build(),
            )
            .build(),
    )
}

fn operations(doc: &mut OpenApi) -> impl Iterator<Item = &mut Operation> {
    doc.paths.paths.values_mut().flat_map(|item| {
        [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.options,
            &mut item.head,
            &mut item.patch,
            &mut item.trace,
        ]
        .into_iter()
        .filter_map(Option::as_mut)
    })
}

/// Document, on every operation, the answers the shared HTTP code gives for
/// it (an operation's own description of a status is kept):
/// - a JSON request body: 400 (malformed or invalid), 413 (too large), 415 (not JSON);
/// - query parameters: 400 (e.g. `limit` out of range, a bad `cursor`);
/// - path parameters: 404 (an id that doesn't parse names nothing);
/// - security: 401 (no valid credentials), 403 (the permission matrix: role,
///   account type, API key scopes, plan);
/// - `Idempotency-Key`: 409 (same key in progress), 422 (same key, other body)
///   and the `idempotent-replayed` header on successful answers;
/// - every operation: 503 (the data store stayed busy after retries);
/// - every 201 carries `location`; every 429 and 503 (and an idempotent
///   operation's 409) `retry-after`.
pub fn standard_responses(doc: &mut OpenApi) {
    for op in operations(doc) {
        let params = op.parameters.as_deref().unwrap_or_default();
        let has = |at: ParameterIn, name: Option<&str>| {
            params.iter().any(|p| {
                p.parameter_in == at && name.is_none_or(|n| p.name.eq_ignore_ascii_case(n))
            })
        };
        let idempotent = has(ParameterIn::Header, Some("Idempotency-Key"));
        let mut add = vec![];
        if op.request_body.is_some() {
            add.push((
                "400",
                "Malformed or invalid body (`errors` points at each field)",
            ));
            add.push(("413", "Body over the size limit"));
            add.push(("415", "Body is not `application/json`"));
        }
        if has(ParameterIn::Query, None) {
            add.push(("400", "Invalid query parameter (`errors` points at it)"));
        }
        if has(ParameterIn::Path, None) {
            add.push(("404", "No such resource, or not visible to the caller"));
        }
        if op.security.as_ref().is_some_and(|s| !s.is_empty()) {
            add.push(("401", "No valid credentials"));
            add.push((
                "403",
                "Not allowed: the caller's role, account type (brand or creator), credential \
                 (user session or API key and its scopes) or plan does not permit this",
            ));
        }
        // Any operation can meet a data store that keeps throttling or
        // conflicting after the SDK's and the store's retries.
        add.push((
            "503",
            "Temporarily unavailable (the data store is busy): retry after `Retry-After` seconds",
        ));
        if idempotent {
            add.push(("409", "Same Idempotency-Key still in progress"));
            add.push(("422", "Idempotency-Key reused with another body"));
        }
        for (status, description) in add {
            op.responses
                .responses
                .entry(status.to_owned())
                .or_insert_with(|| problem(description));
        }
        for (status, response) in op.responses.responses.iter_mut() {
            let RefOr::T(r) = response else { continue };
            if idempotent && status.starts_with('2') {
                r.headers.entry("idempotent-replayed".into()).or_insert_with(|| {
                    HeaderBuilder::new()
                        .schema(utoipa::openapi::ObjectBuilder::new().schema_type(Type::String))
                        .description(Some(
                            "`true` when this is the stored answer to an earlier request with the same Idempotency-Key",
                        ))
                        .build()
                });
            }
            if status == "201" {
                r.headers.entry("location".into()).or_insert_with(|| {
                    HeaderBuilder::new()
                        .schema(utoipa::openapi::ObjectBuilder::new().schema_type(Type::String))
                        .description(Some("Path of the created resource"))
                        .build()
                });
            }
            // Throttled (429), unavailable (503), and the same Idempotency-Key still in progress (409).
            if status == "429" || status == "503" || (idempotent && status == "409") {
                r.headers.entry("retry-after".into()).or_insert_with(|| {
                    HeaderBuilder::new()
                        .schema(utoipa::openapi::ObjectBuilder::new().schema_type(Type::Integer))
                        .description(Some("Seconds to wait before trying again"))
                        .build()
                });
            }
        }
    }
}
