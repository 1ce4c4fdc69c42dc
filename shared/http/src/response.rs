//! Responses: JSON, problem+json and HTML, with `x-request-id` on every one.

use std::future::Future;

use lambda_http::{Body, Request, Response};
use nexus_core::error::PROBLEM_CONTENT_TYPE;
use nexus_core::Error;
use serde::Serialize;

use crate::context::request_id;

pub const JSON: &str = "application/json";
pub const HTML: &str = "text/html; charset=utf-8";

/// A successful answer, before it becomes an HTTP response.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiResponse {
    pub status: u16,
    pub content_type: String,
    pub body: String,
    pub location: Option<String>,
    pub headers: Vec<(String, String)>,
}

impl ApiResponse {
    pub fn json<T: Serialize>(status: u16, value: &T) -> Result<Self, Error> {
        Ok(Self {
            status,
            content_type: JSON.into(),
            body: serde_json::to_string(value).map_err(Error::internal)?,
            location: None,
            headers: vec![],
        })
    }

    pub fn ok<T: Serialize>(value: &T) -> Result<Self, Error> {
        Self::json(200, value)
    }

    pub fn created<T: Serialize>(value: &T, location: impl Into<String>) -> Result<Self, Error> {
        let mut r = Self::json(201, value)?;
        r.location = Some(location.into());
        Ok(r)
    }

    pub fn no_content() -> Self {
        Self {
            status: 204,
            content_type: String::new(),
            body: String::new(),
            location: None,
            headers: vec![],
        }
    }

    pub fn html(body: String) -> Self {
        Self {
            status: 200,
            content_type: HTML.into(),
            body,
            location: None,
            headers: vec![],
        }
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    fn into_response(self, request_id: &str) -> Response<Body> {
        let mut b = Response::builder()
            .status(self.status)
            .header("x-request-id", request_id);
        if !self.content_type.is_empty() {
            b = b.header("content-type", self.content_type);
        }
        if let Some(l) = self.location {
            b = b.header("location", l);
        }
        for (k, v) in self.headers {
            b = b.header(k, v);
        }
        let body = if self.body.is_empty() {
            Body::Empty
        } else {
            Body::Text(self.body)
        };
        b.body(body).unwrap_or_else(|_| Response::new(Body::Empty))
    }
}

/// A page of a listing: `{"items": [...], "nextCursor": "…"}`.
///
/// Document a list operation with `body = ListEnvelope<T>`: the schema is
/// generic, so each list gets its own `items` type.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListEnvelope<T: Serialize> {
    /// This page, in the listing's order.
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub next_cursor: Option<String>,
}

/// The body of a `202 Accepted`: `{"status": "accepted"}` (or what was started, e.g. `code-sent`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Accepted {
    #[schema(example = "accepted")]
    pub status: &'static str,
}

/// The RFC 9457 response for an error.
pub fn problem(err: &Error, request_id: &str, instance: Option<&str>) -> Response<Body> {
    let p = err.to_problem(Some(request_id), instance);
    let body = serde_json::to_string(&p).unwrap_or_else(|_| "{}".into());
    let mut b = Response::builder()
        .status(err.status())
        .header("content-type", PROBLEM_CONTENT_TYPE)
        .header("x-request-id", request_id);
    if let Some(secs) = err.retry_after() {
        b = b.header("retry-after", secs.to_string());
    }
    if let Error::MethodNotAllowed { allow } = err {
        b = b.header("allow", allow.join(", "));
    }
    b.body(Body::Text(body))
        .unwrap_or_else(|_| Response::new(Body::Empty))
}

/// Run a handler body and turn its result into the HTTP response: errors
/// become problems, 5xx causes are logged once here (never sent), and every
/// response carries the request id.
pub async fn serve<F, Fut>(req: Request, f: F) -> Response<Body>
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Result<ApiResponse, Error>>,
{
    let request_id = request_id(&req);
    let path = req.uri().path().to_owned();
    let route = crate::context::route_key(&req);
    match f(req).await {
        Ok(r) => r.into_response(&request_id),
        Err(e) => {
            if e.status() >= 500 {
                tracing::error!(request.id = %request_id, route = %route, error.code = e.code(), error.cause = %e, "request failed");
            } else {
                tracing::info!(request.id = %request_id, route = %route, error.code = e.code(), status = e.status(), "request refused");
            }
            problem(&e, &request_id, Some(&path))
        }
    }
}
