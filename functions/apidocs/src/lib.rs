//! `GET /openapi.json`, `GET /docs` and `GET /docs/{file}`.
//!
//! The document is generated from each function crate's `openapi()` (utoipa
//! annotations on the handlers) by `tests/openapi.rs`, which checks it in as
//! `openapi.json` and fails when it drifts from the code. Embedding the
//! generated file keeps this function from linking every other function.
//!
//! `/docs` is Swagger UI (assets vendored into the binary by
//! `utoipa-swagger-ui`: no CDN, works offline), reading `/openapi.json` and
//! sending "try it out" requests to this same origin.

use std::borrow::Cow;
use std::io::Read;
use std::sync::Arc;

use lambda_http::{Body, Request, Response};
use nexus_core::Error;
use nexus_http::{path_param, request_id, route_key, serve, ApiResponse};
use utoipa::OpenApi;
use utoipa_swagger_ui::Config;

/// The served document (OpenAPI 3.1), generated from the code.
pub const OPENAPI_JSON: &str = include_str!("../openapi.json");

/// Where the UI lives; its assets are `/docs/<file>`.
const DOCS: &str = "/docs";

/// Built once per execution environment.
pub struct State {
    config: Arc<Config<'static>>,
    index: String,
}

impl State {
    pub fn new() -> Result<Self, String> {
        let config = Arc::new(
            Config::new(["/openapi.json"])
                // No top bar: it would let the page load any other URL's document.
                .use_base_layout()
                // The public validator badge would call out to the internet.
                .validator_url("none")
                .deep_linking(true)
                .display_request_duration(true)
                .filter(true)
                .try_it_out_enabled(false)
                .persist_authorization(false),
        );
        let index = utoipa_swagger_ui::serve("index.html", config.clone())
            .map_err(|e| e.to_string())?
            .ok_or("Swagger UI has no index.html")?;
        let index = String::from_utf8(decoded(&index.bytes, index.gzpipped)?.into_owned())
            .map_err(|e| e.to_string())?;
        // Served at /docs (no trailing slash): its relative asset links resolve under /docs/.
        let index = index.replacen("<head>", &format!("<head>\n    <base href=\"{DOCS}/\">"), 1);
        if !index.contains("<base href") {
            return Err("Swagger UI's index.html has no <head>".into());
        }
        Ok(Self { config, index })
    }
}

pub async fn handler(state: &State, req: Request) -> Response<Body> {
    if route_key(&req) == "GET /docs/{file}" {
        if let Some(resp) = asset(state, &req) {
            return resp;
        }
    }
    serve(req, |req| async move {
        match route_key(&req).as_str() {
            "GET /openapi.json" => Ok(get_openapi()),
            "GET /docs" => Ok(get_docs(state)),
            "GET /docs/{file}" => Err(Error::NotFound { resource: "file" }),
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
    responses((status = 200, description = "OpenAPI 3.1 document", content_type = "application/json", body = Object,
        headers(("cache-control" = String)))))]
fn get_openapi() -> ApiResponse {
    ApiResponse {
        status: 200,
        content_type: "application/json".into(),
        body: OPENAPI_JSON.into(),
        location: None,
        headers: vec![("cache-control".into(), "public, max-age=300".into())],
    }
}

/// The API reference: Swagger UI on this document, with "try it out" against this deployment.
#[utoipa::path(get, path = "/docs", tag = "platform", operation_id = "get_docs",
    responses((status = 200, description = "Swagger UI", content_type = "text/html", body = String,
        headers(("cache-control" = String)))))]
fn get_docs(state: &State) -> ApiResponse {
    ApiResponse::html(state.index.clone()).header("cache-control", "public, max-age=300")
}

/// A static asset of the API reference page (scripts, styles, icons).
#[utoipa::path(get, path = "/docs/{file}", tag = "platform", operation_id = "get_docs_asset",
    params(("file" = String, Path, description = "e.g. `swagger-ui-bundle.js`")),
    responses(
        (status = 200, description = "The asset; gzip-encoded when the client accepts it",
            content(
                (String = "text/javascript"),
                (String = "text/css"),
                (String = "text/html"),
                (String = "image/png"),
            ),
            headers(
                ("content-encoding" = String, description = "`gzip` when the client accepts it"),
                ("cache-control" = String),
            )),
        (status = 404, description = "No such asset", body = nexus_core::Problem, content_type = "application/problem+json"),
    ))]
fn asset(state: &State, req: &Request) -> Option<Response<Body>> {
    let file: String = path_param(req, "file", "file").ok()?;
    let found = utoipa_swagger_ui::serve(&file, state.config.clone()).ok()??;
    let accepts_gzip = req
        .headers()
        .get_all("accept-encoding")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|c| {
            let mut parts = c.split(';').map(str::trim);
            parts.next().is_some_and(|n| n.eq_ignore_ascii_case("gzip"))
                && parts.all(|q| q.replace(' ', "") != "q=0")
        });
    let gzip = found.gzpipped && accepts_gzip;
    let bytes = if found.gzpipped && !gzip {
        decoded(&found.bytes, true).ok()?.into_owned()
    } else {
        found.bytes.into_owned()
    };
    let mut b = Response::builder()
        .status(200)
        .header("content-type", found.content_type)
        .header("cache-control", "public, max-age=3600")
        .header("vary", "accept-encoding")
        .header("x-request-id", request_id(req));
    if gzip {
        b = b.header("content-encoding", "gzip");
    }
    b.body(Body::Binary(bytes)).ok()
}

/// The bytes of an asset, gunzipped when stored gzipped.
fn decoded(bytes: &[u8], gzipped: bool) -> Result<Cow<'_, [u8]>, String> {
    if !gzipped {
        return Ok(Cow::Borrowed(bytes));
    }
    let mut out = Vec::with_capacity(bytes.len() * 4);
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .map_err(|e| format!("gunzip: {e}"))?;
    Ok(Cow::Owned(out))
}

#[derive(OpenApi)]
#[openapi(paths(get_openapi, get_docs, asset))]
struct Api;

/// This function's fragment of the document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    Api::openapi()
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::RequestExt;
    use std::collections::HashMap;

    async fn get(route: &str, file: Option<&str>, accept_gzip: bool) -> Response<Body> {
        let path = match file {
            Some(f) => format!("/docs/{f}"),
            None => route.trim_start_matches("GET ").to_owned(),
        };
        let mut b = http::Request::builder().method("GET").uri(path);
        if accept_gzip {
            b = b.header("accept-encoding", "gzip, deflate, br");
        }
        let mut req = b.body(Body::Empty).unwrap();
        req.extensions_mut()
            .insert(lambda_http::request::RequestContext::ApiGatewayV2(
                serde_json::from_value(
                    serde_json::json!({ "routeKey": route, "http": { "method": "GET" } }),
                )
                .unwrap(),
            ));
        let req = match file {
            Some(f) => req.with_path_parameters(HashMap::from([("file".to_owned(), f.to_owned())])),
            None => req,
        };
        handler(&State::new().unwrap(), req).await
    }

    fn bytes(r: &Response<Body>) -> &[u8] {
        match r.body() {
            Body::Binary(b) => b,
            Body::Text(t) => t.as_bytes(),
            Body::Empty => &[],
            _ => unreachable!(),
        }
    }

    #[tokio::test]
    async fn docs_is_swagger_ui_on_this_document() {
        let r = get("GET /docs", None, false).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "text/html; charset=utf-8");
        let html = std::str::from_utf8(bytes(&r)).unwrap();
        assert!(html.contains("<base href=\"/docs/\">"), "{html}");
        assert!(html.contains("swagger-ui-bundle.js"), "{html}");
        assert!(!html.contains("//unpkg") && !html.contains("cdn"), "{html}");

        let init = get("GET /docs/{file}", Some("swagger-initializer.js"), true).await;
        assert_eq!(init.status(), 200);
        let js = std::str::from_utf8(bytes(&init)).unwrap();
        assert!(js.contains("\"/openapi.json\""), "{js}");
        assert!(js.contains("\"validatorUrl\": \"none\""), "{js}");
    }

    #[tokio::test]
    async fn assets_are_gzipped_only_for_clients_that_take_gzip() {
        let gz = get("GET /docs/{file}", Some("swagger-ui-bundle.js"), true).await;
        assert_eq!(gz.status(), 200);
        assert_eq!(gz.headers()["content-encoding"], "gzip");
        assert!(gz.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("javascript"));
        let plain = get("GET /docs/{file}", Some("swagger-ui-bundle.js"), false).await;
        assert!(plain.headers().get("content-encoding").is_none());
        assert_eq!(decoded(bytes(&gz), true).unwrap(), bytes(&plain));
        assert!(bytes(&plain).len() > 100_000);
    }

    #[tokio::test]
    async fn sample_event_gets_the_gzipped_stylesheet() {
        let req =
            lambda_http::request::from_str(include_str!("../../../events/apidocs-docs-asset.json"))
                .unwrap();
        let r = handler(&State::new().unwrap(), req).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "text/css");
        assert_eq!(r.headers()["content-encoding"], "gzip");
        assert_eq!(r.headers()["x-request-id"], "Example-RequestId-0002");
        let css = decoded(bytes(&r), true).unwrap();
        assert!(std::str::from_utf8(&css).unwrap().contains(".swagger-ui"));
    }

    #[tokio::test]
    async fn unknown_asset_is_a_404_problem() {
        let r = get("GET /docs/{file}", Some("nope.js"), true).await;
        assert_eq!(r.status(), 404);
        assert_eq!(r.headers()["content-type"], "application/problem+json");
    }

    #[tokio::test]
    async fn serves_the_embedded_document() {
        let r = get("GET /openapi.json", None, false).await;
        assert_eq!(r.status(), 200);
        let v: serde_json::Value = serde_json::from_slice(bytes(&r)).unwrap();
        assert!(v["openapi"].as_str().unwrap().starts_with("3.1"));
    }
}
