//! `GET /openapi.json` and `GET /docs`.
//!
//! The document is assembled from each function crate's `openapi()` (utoipa
//! annotations on the handlers), so it is generated from code, never written
//! by hand. `/docs` renders the same document as one self-contained HTML page
//! (no CDN: it works offline and behind strict CSPs).

use lambda_http::{Body, Request, Response};
use nexus_core::error::PROBLEM_BASE;
use nexus_core::Error;
use nexus_http::{route_key, serve, ApiResponse};
use serde_json::Value;
use utoipa::openapi::{InfoBuilder, OpenApi, OpenApiBuilder, ServerBuilder};

/// Built once per execution environment.
pub struct State {
    json: String,
    html: String,
}

/// The complete OpenAPI 3.1 document of the NEXUS HTTP API.
pub fn document() -> OpenApi {
    let base = OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("NEXUS API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "Creator (UGC) marketing, end to end. JSON over HTTPS; errors are RFC 9457 \
                     `application/problem+json` with a stable `type`; lists page with an opaque `cursor`; \
                     creating POSTs accept `Idempotency-Key`.",
                ))
                .build(),
        )
        .servers(Some([ServerBuilder::new().url("/").description(Some("This deployment")).build()]))
        .build();
    let mut doc = nexus_http::openapi::merge(
        base,
        [
            health::openapi(),
            <DocsApi as utoipa::OpenApi>::openapi(),
            auth::openapi(),
            me::openapi(),
            orgs::openapi(),
            invitations::openapi(),
            notifications::openapi(),
            creators::openapi(),
            campaigns::openapi(),
            marketplace::openapi(),
            contracts::openapi(),
            staff::openapi(),
        ],
    );
    utoipa::Modify::modify(&nexus_http::openapi::SecurityAddon, &mut doc);
    doc
}

impl State {
    pub fn new() -> Result<Self, String> {
        let doc = document();
        let json = doc.to_pretty_json().map_err(|e| e.to_string())?;
        let value: Value = serde_json::from_str(&json).map_err(|e| e.to_string())?;
        Ok(Self {
            html: render(&value),
            json,
        })
    }
}

pub async fn handler(state: &State, req: Request) -> Response<Body> {
    serve(req, |req| async move {
        match route_key(&req).as_str() {
            "GET /openapi.json" => Ok(get_openapi(state)),
            "GET /docs" => Ok(get_docs(state)),
            _ => Err(Error::RouteNotFound {
                method: req.method().to_string(),
                path: req.uri().path().into(),
            }),
        }
    })
    .await
}

/// This document: the OpenAPI 3.1 description of the NEXUS API.
#[utoipa::path(get, path = "/openapi.json", tag = "platform", operation_id = "get_openapi",
    responses((status = 200, description = "OpenAPI 3.1 document", content_type = "application/json")))]
fn get_openapi(state: &State) -> ApiResponse {
    ApiResponse {
        status: 200,
        content_type: "application/json".into(),
        body: state.json.clone(),
        location: None,
        headers: vec![("cache-control".into(), "public, max-age=300".into())],
    }
}

/// A readable API reference page (this document, rendered).
#[utoipa::path(get, path = "/docs", tag = "platform", operation_id = "get_docs",
    responses((status = 200, description = "HTML reference", content_type = "text/html")))]
fn get_docs(state: &State) -> ApiResponse {
    ApiResponse::html(state.html.clone())
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(get_openapi, get_docs))]
struct DocsApi;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn schema_name(v: &Value) -> String {
    if let Some(r) = v.get("$ref").and_then(Value::as_str) {
        return r.rsplit('/').next().unwrap_or(r).to_owned();
    }
    if let Some(items) = v.get("items") {
        return format!("{}[]", schema_name(items));
    }
    match v.get("type") {
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" | "),
        _ => "object".into(),
    }
}

/// One readable page: endpoints grouped by tag, then schemas and problem types.
fn render(doc: &Value) -> String {
    let mut ops: Vec<(String, String, String, &Value)> = vec![];
    if let Some(paths) = doc["paths"].as_object() {
        for (path, item) in paths {
            for (method, op) in item.as_object().into_iter().flatten() {
                let tag = op["tags"][0].as_str().unwrap_or("other").to_owned();
                ops.push((tag, path.clone(), method.to_uppercase(), op));
            }
        }
    }
    ops.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    let mut out = String::new();
    out.push_str(concat!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
        "<title>NEXUS API reference</title><style>",
        "body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1d2330}",
        "h1{margin-bottom:0}h2{border-bottom:1px solid #d8dce5;padding-bottom:.3rem;margin-top:2.5rem;text-transform:capitalize}",
        ".op{border:1px solid #d8dce5;border-radius:6px;margin:1rem 0;padding:.6rem 1rem}",
        ".m{display:inline-block;min-width:4.2rem;font:600 13px monospace;padding:2px 6px;border-radius:4px;color:#fff;text-align:center}",
        ".GET{background:#2f7d4f}.POST{background:#2b5fb4}.PATCH,.PUT{background:#a0661b}.DELETE{background:#b23b3b}",
        "code{background:#f2f4f8;padding:1px 4px;border-radius:3px}table{border-collapse:collapse;margin:.4rem 0}",
        "td,th{border:1px solid #e1e4ea;padding:3px 8px;text-align:left;vertical-align:top}.lock{color:#8a6d00}",
        "</style></head><body>"
    ));
    out.push_str(&format!(
        "<h1>{}</h1><p>Version {} · <a href=\"/openapi.json\">openapi.json</a> (OpenAPI {})</p><p>{}</p>",
        esc(doc["info"]["title"].as_str().unwrap_or("API")),
        esc(doc["info"]["version"].as_str().unwrap_or("")),
        esc(doc["openapi"].as_str().unwrap_or("")),
        esc(doc["info"]["description"].as_str().unwrap_or("")),
    ));
    let mut current = String::new();
    for (tag, path, method, op) in &ops {
        if *tag != current {
            out.push_str(&format!("<h2>{}</h2>", esc(tag)));
            current = tag.clone();
        }
        let secured = op
            .get("security")
            .and_then(Value::as_array)
            .is_some_and(|s| !s.is_empty());
        out.push_str(&format!(
            "<div class=\"op\" id=\"{}\"><span class=\"m {method}\">{method}</span> <code>{}</code>{}<p>{}</p>",
            esc(op["operationId"].as_str().unwrap_or("")),
            esc(path),
            if secured { " <span class=\"lock\" title=\"needs a bearer token or API key\">🔒 auth</span>" } else { "" },
            esc(op["summary"].as_str().or(op["description"].as_str()).unwrap_or("")),
        ));
        if let Some(params) = op["parameters"].as_array().filter(|p| !p.is_empty()) {
            out.push_str("<table><tr><th>parameter</th><th>in</th><th>description</th></tr>");
            for p in params {
                out.push_str(&format!(
                    "<tr><td><code>{}</code>{}</td><td>{}</td><td>{}</td></tr>",
                    esc(p["name"].as_str().unwrap_or("")),
                    if p["required"].as_bool() == Some(true) {
                        " *"
                    } else {
                        ""
                    },
                    esc(p["in"].as_str().unwrap_or("")),
                    esc(p["description"].as_str().unwrap_or("")),
                ));
            }
            out.push_str("</table>");
        }
        if let Some(content) = op["requestBody"]["content"].as_object() {
            for (ct, c) in content {
                out.push_str(&format!(
                    "<p>Body: <code>{}</code> <a href=\"#schema-{n}\">{n}</a></p>",
                    esc(ct),
                    n = esc(&schema_name(&c["schema"]))
                ));
            }
        }
        out.push_str("<table><tr><th>status</th><th>meaning</th><th>body</th></tr>");
        for (status, r) in op["responses"].as_object().into_iter().flatten() {
            let body = r["content"]
                .as_object()
                .and_then(|c| c.values().next())
                .map(|c| schema_name(&c["schema"]))
                .unwrap_or_default();
            out.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(status),
                esc(r["description"].as_str().unwrap_or("")),
                if body.is_empty() {
                    String::new()
                } else {
                    format!("<a href=\"#schema-{b}\">{b}</a>", b = esc(&body))
                },
            ));
        }
        out.push_str("</table></div>");
    }
    out.push_str("<h2>Schemas</h2>");
    for (name, s) in doc["components"]["schemas"]
        .as_object()
        .into_iter()
        .flatten()
    {
        out.push_str(&format!(
            "<div class=\"op\" id=\"schema-{n}\"><b>{n}</b> <small>{}</small>",
            esc(s["description"].as_str().unwrap_or("")),
            n = esc(name)
        ));
        if let Some(props) = s["properties"].as_object() {
            let required: Vec<&str> = s["required"]
                .as_array()
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            out.push_str("<table><tr><th>field</th><th>type</th><th>description</th></tr>");
            for (f, p) in props {
                out.push_str(&format!(
                    "<tr><td><code>{}</code>{}</td><td>{}</td><td>{}</td></tr>",
                    esc(f),
                    if required.contains(&f.as_str()) {
                        " *"
                    } else {
                        ""
                    },
                    esc(&schema_name(p)),
                    esc(p["description"].as_str().unwrap_or("")),
                ));
            }
            out.push_str("</table>");
        } else if let Some(values) = s["enum"].as_array() {
            out.push_str(&format!(
                "<p>One of: {}</p>",
                values
                    .iter()
                    .map(|v| format!("<code>{}</code>", esc(&v.to_string())))
                    .collect::<Vec<_>>()
                    .join(" ")
            ));
        }
        out.push_str("</div>");
    }
    out.push_str(&format!(
        "<h2>Problems</h2><p>Every error is <code>application/problem+json</code> (RFC 9457) with a stable <code>type</code> under <code>{}</code>, a <code>requestId</code>, and for validation failures an <code>errors</code> array of <code>{{pointer, code, detail}}</code>. See docs/api.md in the repository for each type.</p></body></html>",
        esc(PROBLEM_BASE)
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_is_openapi_3_1_with_every_template_route() {
        let v: Value = serde_json::from_str(&State::new().unwrap().json).unwrap();
        assert!(v["openapi"].as_str().unwrap().starts_with("3.1"));
        assert!(v["components"]["securitySchemes"]["bearer"].is_object());
        let template =
            nexus_wiring::template::Template::parse(include_str!("../../../template.yaml"))
                .unwrap();
        for r in template.routes() {
            if r.path == "$default" {
                continue;
            }
            let op = &v["paths"][&r.path][r.method.to_lowercase()];
            assert!(op.is_object(), "{} is not documented", r.route_key());
            assert_eq!(
                op.get("security").is_some(),
                r.authorizer.is_some(),
                "{}: security must match the template's authorizer",
                r.route_key()
            );
        }
    }

    #[test]
    fn docs_page_lists_operations_and_escapes() {
        let s = State::new().unwrap();
        assert!(s.html.contains("/v1/orgs/{orgId}"));
        assert!(s.html.contains("create_org"));
        assert_eq!(esc("<script>"), "&lt;script&gt;");
    }
}
