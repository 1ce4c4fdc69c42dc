//! The HTTP API: routes, the Lambda REQUEST authorizer and CORS from
//! `template.yaml`, with API Gateway's own answers (`workflows-and-events.md` §5):
//!
//! | situation | answer |
//! |---|---|
//! | no route and no `$default` route | 404 `{"message":"Not Found"}` |
//! | body over 10 MB | 413 `{"message":"Request Entity Too Large"}` |
//! | authorizer says `isAuthorized: false` | 403 `{"message":"Forbidden"}` |
//! | authorizer or function error, panic, Lambda timeout, response over 6 MB | 500 `{"message":"Internal Server Error"}` |
//! | integration timeout (30 s) | 503 `{"message":"Service Unavailable"}` |
//!
//! Unmatched requests (no route, or another method on a known path) go to
//! the `$default` route's function, as on AWS. Every request gets a new
//! `requestId`, echoed as `apigw-requestid`, and one log line.

pub mod cors;
pub mod payload;

mod executions;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, State};
use axum::response::Response;
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use lambda_runtime::LambdaEvent;
use nexus_wiring::router::{Match, RouteTable};
use nexus_wiring::template::{Route, Template};
use serde_json::Value;

use crate::functions::{invoke, Function, Functions, Handler, InvokeError};
use crate::worker::Shutdown;
use cors::CorsPolicy;

/// HTTP API payload limit.
pub const MAX_REQUEST_BYTES: usize = 10 * 1024 * 1024;
/// Lambda's synchronous response limit: a bigger response is a function error.
pub const MAX_RESPONSE_BYTES: usize = 6 * 1024 * 1024;
/// Lambda authorizer response limit.
pub const AUTHORIZER_TIMEOUT: Duration = Duration::from_secs(10);
/// The `apiId` of the local API.
pub const API_ID: &str = "local";

/// Local-only routes: never in template.yaml, never deployed, always under
/// `/_local/`. Add `(method, path, handler)` entries here (a path ending in
/// `/*` serves everything beneath it). They bypass the
/// authorizer but get CORS headers.
type LocalRoute = (
    &'static str,
    &'static str,
    fn(Arc<Gateway>, axum::extract::Request) -> crate::functions::BoxFuture<Response>,
);
const LOCAL_ROUTES: &[LocalRoute] = &[
    ("GET", "/_local/outbox", local_outbox),
    ("GET", "/_local/clock", local_clock),
    ("POST", "/_local/clock", local_clock),
    ("GET", "/_local/schedules", local_schedules),
    ("GET", "/_local/executions", executions::list),
    ("GET", "/_local/executions/*", executions::one),
    ("POST", "/_local/asl/run", executions::asl_run),
];
pub const LOCAL_PREFIX: &str = "/_local/";

/// What local-only routes can see.
#[derive(Clone)]
pub struct LocalContext {
    pub platform: nexus_ports::Platform,
    /// The SES stand-in every function's Mailer writes to.
    pub mail: Arc<nexus_ports::mail::LocalOutbox>,
    /// Every function's `Platform.clock`.
    pub clock: Arc<crate::clock::LocalClock>,
    /// Every function's `Platform.scheduler`.
    pub scheduler: crate::scheduler::LocalScheduler,
    /// The Step Functions runner.
    pub workflows: crate::workflows::LocalWorkflows,
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut r = Response::new(axum::body::Body::from(body.to_string()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// A 400 `application/problem+json`, like the functions' own.
fn local_problem(e: nexus_core::Error, instance: &str) -> Response {
    let p = e.to_problem(None, Some(instance));
    let mut r = json_response(
        StatusCode::from_u16(p.status).unwrap_or(StatusCode::BAD_REQUEST),
        &serde_json::to_value(&p).unwrap_or_default(),
    );
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(nexus_core::error::PROBLEM_CONTENT_TYPE),
    );
    r
}

/// `GET /_local/clock`: `{"now", "offsetSeconds"}` of the local clock.
/// `POST /_local/clock` with `{"advance": "PT2H"}` (ISO 8601 duration, or
/// seconds) or `{"set": "<RFC 3339>"}` moves it forward and answers the same.
fn local_clock(
    gw: Arc<Gateway>,
    req: axum::extract::Request,
) -> crate::functions::BoxFuture<Response> {
    use nexus_core::time::Clock;
    use nexus_core::Error;
    Box::pin(async move {
        let clock = gw.local.clock.clone();
        let mut now = clock.now();
        if req.method() == Method::POST {
            let bytes = match axum::body::to_bytes(req.into_body(), 64 * 1024).await {
                Ok(b) => b,
                Err(e) => {
                    return local_problem(Error::MalformedRequest(e.to_string()), "/_local/clock")
                }
            };
            let body: Value = match serde_json::from_slice(&bytes) {
                Ok(v @ Value::Object(_)) => v,
                Ok(_) => return local_problem(Error::MalformedRequest("the body is a JSON object: {\"advance\": \"PT2H\"} or {\"set\": \"<RFC 3339>\"}".into()), "/_local/clock"),
                Err(e) => return local_problem(Error::MalformedRequest(e.to_string()), "/_local/clock"),
            };
            let moved = match (body.get("advance"), body.get("set")) {
                (Some(a), None) => crate::clock::parse_advance(a)
                    .map_err(|e| Error::field("/advance", "invalid_format", e))
                    .and_then(|d| {
                        clock
                            .advance(d)
                            .map_err(|e| Error::field("/advance", "out_of_range", e))
                    }),
                (None, Some(Value::String(t))) => t
                    .parse::<jiff::Timestamp>()
                    .map_err(|e| {
                        Error::field(
                            "/set",
                            "invalid_format",
                            format!("{t:?} is not an RFC 3339 time: {e}"),
                        )
                    })
                    .and_then(|t| {
                        clock
                            .set(t)
                            .map_err(|e| Error::field("/set", "out_of_range", e))
                    }),
                (None, Some(_)) => Err(Error::field(
                    "/set",
                    "invalid_type",
                    "set is an RFC 3339 time string",
                )),
                _ => Err(Error::field(
                    "/",
                    "invalid_format",
                    "give exactly one of advance or set",
                )),
            };
            match moved {
                Ok(t) => {
                    now = t;
                    // Timers on the clock (Wait states, retries, timeouts) are due now.
                    gw.local.workflows.wake();
                }
                Err(e) => return local_problem(e, "/_local/clock"),
            }
        }
        json_response(
            StatusCode::OK,
            &serde_json::json!({
                "now": now.to_string(),
                "offsetSeconds": clock.offset().as_secs_f64(),
            }),
        )
    })
}

/// `GET /_local/schedules`: `{"items": [...]}`, the pending one-time
/// schedules, soonest first; `?state=fired|failed|skipped|all` lists what
/// became of past ones instead (oldest first).
fn local_schedules(
    gw: Arc<Gateway>,
    req: axum::extract::Request,
) -> crate::functions::BoxFuture<Response> {
    Box::pin(async move {
        let state = req.uri().query().and_then(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == "state")
                .map(|(_, v)| v.into_owned())
        });
        let s = &gw.local.scheduler;
        let items = match state.as_deref() {
            None | Some("pending") => s.pending(),
            Some("all") => s.outcomes(None),
            Some(st @ ("fired" | "failed" | "skipped")) => s.outcomes(Some(st)),
            Some(other) => {
                return local_problem(
                    nexus_core::Error::field(
                        "query/state",
                        "unknown_value",
                        format!("{other:?}: state is one of pending, fired, failed, skipped, all"),
                    ),
                    "/_local/schedules",
                )
            }
        };
        json_response(StatusCode::OK, &serde_json::json!({ "items": items }))
    })
}

/// `GET /_local/outbox?to=<email>`: `{"items": [...]}`, the messages the
/// local Mailer stored (all, or to `to`), newest first.
fn local_outbox(
    gw: Arc<Gateway>,
    req: axum::extract::Request,
) -> crate::functions::BoxFuture<Response> {
    Box::pin(async move {
        let to = req.uri().query().and_then(|q| {
            // A '+' in an unencoded address (`a+tag@x.com`) decodes to a space, which no address has.
            url::form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == "to")
                .map(|(_, v)| v.replace(' ', "+"))
        });
        let items = gw.local.mail.list(to.as_deref());
        let mut r = Response::new(axum::body::Body::from(
            serde_json::json!({ "items": items }).to_string(),
        ));
        r.headers_mut().insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        r
    })
}

/// The HTTP API of one template.
pub struct Gateway {
    routes: RouteTable,
    default_route: Option<Route>,
    /// Authorizer name → its function.
    authorizers: HashMap<String, Function>,
    functions: Functions,
    cors: Option<CorsPolicy>,
    port: u16,
    integration_timeout: Duration,
    /// For local-only routes.
    pub local: LocalContext,
}

impl Gateway {
    /// Check every route and authorizer against the functions, so a wiring
    /// mistake stops start-up instead of failing a request.
    pub fn new(
        template: &Template,
        functions: Functions,
        local: LocalContext,
        port: u16,
        integration_timeout: Duration,
    ) -> Result<Self, String> {
        let routes = template.routes();
        let mut authorizers = HashMap::new();
        for a in template.authorizers() {
            if a.payload_version != "2.0" || !a.simple_responses {
                return Err(format!(
                    "authorizer {}: only AuthorizerPayloadFormatVersion '2.0' with EnableSimpleResponses: true is supported locally",
                    a.name
                ));
            }
            let function = functions
                .expect(&a.function, "authorizer", &format!("authorizer {}", a.name))?
                .clone();
            authorizers.insert(a.name.clone(), function);
        }
        for r in &routes {
            let what = format!("route {}", r.route_key());
            functions.expect(&r.function, "HTTP", &what)?;
            if let Some(a) = &r.authorizer {
                if !authorizers.contains_key(a) {
                    return Err(format!(
                        "{what} uses authorizer {a}, which the HttpApi does not declare"
                    ));
                }
            }
        }
        Ok(Self {
            default_route: routes.iter().find(|r| r.path == "$default").cloned(),
            routes: RouteTable::new(routes),
            authorizers,
            functions,
            cors: template.cors().map(CorsPolicy::new),
            port,
            integration_timeout,
            local,
        })
    }

    /// Number of routes, `$default` included.
    pub fn route_count(&self) -> usize {
        self.routes.routes().len() + usize::from(self.default_route.is_some())
    }
}

/// Serve until `shutdown` fires (in-flight requests are finished).
pub async fn serve(
    listener: tokio::net::TcpListener,
    gateway: Arc<Gateway>,
    mut shutdown: Shutdown,
) -> std::io::Result<()> {
    let app = axum::Router::new().fallback(handle).with_state(gateway);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move { shutdown.triggered().await })
    .await
}

fn message(status: StatusCode, text: &str) -> Response {
    let mut r = Response::new(axum::body::Body::from(
        serde_json::json!({ "message": text }).to_string(),
    ));
    *r.status_mut() = status;
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

fn internal_error() -> Response {
    message(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
}

async fn handle(
    State(gw): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: axum::extract::Request,
) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let origin = req
        .headers()
        .get(http::header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let request_id = crate::uuid4();

    let mut resp = match &gw.cors {
        Some(cors) if CorsPolicy::is_preflight(&method, req.headers()) => {
            let mut r = Response::new(axum::body::Body::empty());
            *r.status_mut() = StatusCode::NO_CONTENT;
            *r.headers_mut() = cors.preflight(req.headers());
            r
        }
        cors => {
            let mut r = dispatch(&gw, req, peer, &request_id).await;
            if let Some(cors) = cors {
                cors.decorate(origin.as_deref(), r.headers_mut());
            }
            r
        }
    };
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        resp.headers_mut().insert("apigw-requestid", v);
    }
    tracing::info!(
        status = resp.status().as_u16(),
        ms = started.elapsed().as_millis() as u64,
        "{method} {path}"
    );
    resp
}

async fn dispatch(
    gw: &Arc<Gateway>,
    req: axum::extract::Request,
    peer: SocketAddr,
    request_id: &str,
) -> Response {
    if req.uri().path().starts_with(LOCAL_PREFIX) {
        if let Some((_, _, local)) = LOCAL_ROUTES.iter().find(|(m, p, _)| {
            let path = req.uri().path();
            req.method().as_str() == *m
                && (path == *p
                    || p.strip_suffix('*').is_some_and(|prefix| {
                        path.len() > prefix.len() && path.starts_with(prefix)
                    }))
        }) {
            return local(gw.clone(), req).await;
        }
    }

    let (route, params) = match gw.routes.find(req.method().as_str(), req.uri().path()) {
        Match::Found { route, params } => (route.clone(), params),
        Match::NotFound | Match::MethodNotAllowed { .. } => match &gw.default_route {
            Some(d) => (d.clone(), vec![]),
            None => return message(StatusCode::NOT_FOUND, "Not Found"),
        },
    };

    let (parts, body) = req.into_parts();
    let too_big = || message(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large");
    let declared = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_REQUEST_BYTES as u64) {
        return too_big();
    }
    let Ok(body) = axum::body::to_bytes(body, MAX_REQUEST_BYTES).await else {
        return too_big();
    };

    let meta = payload::Meta {
        request_id: request_id.to_owned(),
        now: jiff::Timestamp::now(),
        api_id: API_ID.into(),
        port: gw.port,
    };
    let incoming = payload::Incoming {
        method: &parts.method,
        uri: &parts.uri,
        version: parts.version,
        headers: &parts.headers,
        body: &body,
        source_ip: peer.ip(),
    };
    let route_key = route.route_key();
    let mut event = payload::request(
        &incoming,
        payload::Matched {
            route_key: &route_key,
            path_params: &params,
        },
        &meta,
    );

    if let Some(name) = &route.authorizer {
        match authorize(gw, name, &event, &meta, &parts.method, parts.uri.path()).await {
            Ok(context) => payload::set_authorizer_context(&mut event, context),
            Err(resp) => return resp,
        }
    }

    let Some(function) = gw.functions.get(&route.function) else {
        tracing::error!(function = %route.function, "route target vanished");
        return internal_error();
    };
    call_http(gw, function, event, request_id).await
}

/// Run the route's authorizer: `Ok(context)` when authorized, else the response to send.
async fn authorize(
    gw: &Gateway,
    name: &str,
    request: &Value,
    meta: &payload::Meta,
    method: &Method,
    raw_path: &str,
) -> Result<Value, Response> {
    let Some(f) = gw.authorizers.get(name) else {
        tracing::error!(authorizer = name, "unknown authorizer");
        return Err(internal_error());
    };
    let Handler::Authorizer(handler) = &f.handler else {
        return Err(internal_error());
    };
    let event = payload::authorizer_request(request, &payload::route_arn(meta, method, raw_path));
    let event = match serde_json::from_value(event) {
        Ok(e) => e,
        Err(e) => {
            tracing::error!(authorizer = name, error = %e, "authorizer event does not parse");
            return Err(internal_error());
        }
    };
    let limit = f.timeout().min(AUTHORIZER_TIMEOUT);
    match invoke(
        handler(LambdaEvent::new(event, f.context(&crate::uuid4(), limit))),
        limit,
    )
    .await
    {
        Ok(Ok(r)) if r.is_authorized => Ok(r.context),
        Ok(Ok(_)) => Err(message(StatusCode::FORBIDDEN, "Forbidden")),
        Ok(Err(d)) => {
            tracing::error!(function = %f.def.logical_id, error.type = %d.error_type, error.message = %d.error_message, "authorizer failed");
            Err(internal_error())
        }
        Err(e) => {
            tracing::error!(function = %f.def.logical_id, "authorizer {e}");
            Err(internal_error())
        }
    }
}

async fn call_http(gw: &Gateway, f: &Function, event: Value, request_id: &str) -> Response {
    let Handler::Http(handler) = &f.handler else {
        return internal_error();
    };
    let handler = handler.clone();
    let function_timeout = f.timeout();
    let limit = function_timeout.min(gw.integration_timeout);
    let ctx = f.context(request_id, limit);
    let text = event.to_string();
    let run = Box::pin(async move {
        let mut req = lambda_http::request::from_str(&text)
            .map_err(|e| format!("payload does not parse: {e}"))?;
        req.extensions_mut().insert(ctx);
        Ok::<_, String>(handler(req).await)
    });
    let logical_id = &f.def.logical_id;
    match invoke(run, limit).await {
        Ok(Ok(resp)) => into_http(resp).unwrap_or_else(|e| {
            tracing::error!(function = %logical_id, "{e}");
            internal_error()
        }),
        Ok(Err(e)) => {
            tracing::error!(function = %logical_id, "{e}");
            internal_error()
        }
        Err(InvokeError::Timeout(_)) if function_timeout < gw.integration_timeout => {
            tracing::error!(function = %logical_id, "Task timed out after {} seconds (Timeout in template.yaml)", function_timeout.as_secs());
            internal_error()
        }
        Err(InvokeError::Timeout(t)) => {
            tracing::error!(function = %logical_id, "integration timed out after {t:?}");
            message(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable")
        }
        Err(e) => {
            tracing::error!(function = %logical_id, "function {e}");
            internal_error()
        }
    }
}

/// A function's response as API Gateway returns it: duplicate headers
/// comma-joined (`set-cookie` kept apart), body bytes; over 6 MB is an error.
fn into_http(resp: lambda_http::Response<lambda_http::Body>) -> Result<Response, String> {
    let (parts, body) = resp.into_parts();
    let bytes: Vec<u8> = match body {
        lambda_http::Body::Empty => vec![],
        lambda_http::Body::Text(t) => t.into_bytes(),
        lambda_http::Body::Binary(b) => b,
        other => other.as_ref().to_vec(),
    };
    if bytes.len() > MAX_RESPONSE_BYTES {
        return Err(format!(
            "response payload of {} bytes exceeds Lambda's 6 MB limit",
            bytes.len()
        ));
    }
    let mut headers = HeaderMap::new();
    for name in parts.headers.keys() {
        let mut values = parts.headers.get_all(name).iter();
        if name == http::header::SET_COOKIE {
            for v in values {
                headers.append(name.clone(), v.clone());
            }
        } else if parts.headers.get_all(name).iter().count() > 1 {
            let joined = values
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .collect::<Vec<_>>()
                .join(",");
            headers.insert(
                name.clone(),
                HeaderValue::from_str(&joined).map_err(|e| format!("header {name}: {e}"))?,
            );
        } else if let Some(v) = values.next() {
            headers.insert(name.clone(), v.clone());
        }
    }
    let mut out = Response::new(axum::body::Body::from(bytes));
    *out.status_mut() = parts.status;
    *out.headers_mut() = headers;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_join_duplicate_headers_but_keep_cookies_apart() {
        let r = http::Response::builder()
            .status(201)
            .header("x-a", "1")
            .header("x-a", "2")
            .header("set-cookie", "a=1")
            .header("set-cookie", "b=2")
            .body(lambda_http::Body::Text("hi".into()))
            .unwrap();
        let out = into_http(r).unwrap();
        assert_eq!(out.status(), 201);
        assert_eq!(out.headers()["x-a"], "1,2");
        assert_eq!(out.headers().get_all("set-cookie").iter().count(), 2);
    }

    #[test]
    fn oversized_responses_are_function_errors() {
        let r = http::Response::builder()
            .body(lambda_http::Body::Binary(vec![0; MAX_RESPONSE_BYTES + 1]))
            .unwrap();
        assert!(into_http(r).is_err());
    }
}
