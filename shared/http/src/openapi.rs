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
//! The integration tests validate every response they receive against the
//! served document, so an undocumented status, content type or field fails them.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ComponentsBuilder, InfoBuilder, OpenApi, OpenApiBuilder, ServerBuilder};

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
    doc
}
