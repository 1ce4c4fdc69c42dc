//! Local-only routes of the Step Functions runner:
//!
//! - `GET /_local/executions?stateMachine=&status=`: `{"items": [...]}`,
//!   newest first (`stateMachine` is a logical id or ARN; `status` one of
//!   RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED);
//! - `GET /_local/executions/{id}`: status, input, output or error and
//!   cause, and `history` (`GetExecutionHistory`'s `events`);
//! - `GET /_local/executions/{id}/graph`: the execution drawn as a graph
//!   (HTML page, see [`crate::workflows::graph`]);
//! - `POST /_local/asl/run` `{definition, input}`: runs a definition without
//!   Task states and answers `{status: SUCCEEDED, output}` or
//!   `{status, error, cause}`.
//!
//! `{id}` is `<state machine logical id>:<execution name>` (as listed), or
//! the execution ARN.

use std::sync::Arc;

use axum::response::Response;
use http::{HeaderValue, StatusCode};
use nexus_asl::Status;
use nexus_core::time::Clock;
use nexus_core::Error;
use serde_json::{json, Value};

use super::{json_response, local_problem, Gateway};
use crate::functions::BoxFuture;

fn query(req: &axum::extract::Request, key: &str) -> Option<String> {
    req.uri().query().and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.into_owned())
    })
}

fn parse_status(s: &str) -> Option<Status> {
    serde_json::from_value(json!(s)).ok()
}

pub(super) fn list(gw: Arc<Gateway>, req: axum::extract::Request) -> BoxFuture<Response> {
    Box::pin(async move {
        let machine = query(&req, "stateMachine").filter(|m| !m.is_empty());
        let status = match query(&req, "status").filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => match parse_status(&s) {
                Some(st) => Some(st),
                None => {
                    return local_problem(
                        Error::field(
                            "query/status",
                            "unknown_value",
                            format!("{s:?}: status is one of RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED"),
                        ),
                        "/_local/executions",
                    )
                }
            },
        };
        let wf = &gw.local.workflows;
        if let Some(m) = &machine {
            if wf.machine(m).is_none() {
                let known: Vec<&str> = wf.machines().map(|m| m.logical_id.as_str()).collect();
                return local_problem(
                    Error::field(
                        "query/stateMachine",
                        "unknown_value",
                        format!(
                            "{m:?} is not a state machine of the template ({})",
                            known.join(", ")
                        ),
                    ),
                    "/_local/executions",
                );
            }
        }
        let items = wf.list(machine.as_deref(), status);
        json_response(StatusCode::OK, &json!({ "items": items }))
    })
}

pub(super) fn one(gw: Arc<Gateway>, req: axum::extract::Request) -> BoxFuture<Response> {
    Box::pin(async move {
        let path = req.uri().path().to_owned();
        let rest = path.trim_start_matches("/_local/executions/");
        let decoded = percent_decode(rest);
        let (raw, graph) = match decoded.strip_suffix("/graph") {
            Some(id) => (id.to_owned(), true),
            None => (decoded.clone(), false),
        };
        let id = crate::workflows::id_of_arn(&raw)
            .map(str::to_owned)
            .unwrap_or(raw);
        let wf = &gw.local.workflows;
        if graph {
            return match wf.graph_page(&id) {
                Some(html) => {
                    let mut r = Response::new(axum::body::Body::from(html));
                    r.headers_mut().insert(
                        http::header::CONTENT_TYPE,
                        HeaderValue::from_static("text/html; charset=utf-8"),
                    );
                    r
                }
                None => local_problem(
                    Error::NotFound {
                        resource: "execution",
                    },
                    &path,
                ),
            };
        }
        match (wf.get(&id), wf.history(&id)) {
            (Some(view), Some(history)) => {
                let mut body = serde_json::to_value(&view).unwrap_or_default();
                body["history"] = Value::Array(history);
                body["graph"] = json!(format!("/_local/executions/{id}/graph"));
                json_response(StatusCode::OK, &body)
            }
            _ => local_problem(
                Error::NotFound {
                    resource: "execution",
                },
                &path,
            ),
        }
    })
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| s.to_owned())
}

pub(super) fn asl_run(gw: Arc<Gateway>, req: axum::extract::Request) -> BoxFuture<Response> {
    const ROUTE: &str = "/_local/asl/run";
    Box::pin(async move {
        let bytes = match axum::body::to_bytes(req.into_body(), 2 * 1024 * 1024).await {
            Ok(b) => b,
            Err(e) => return local_problem(Error::MalformedRequest(e.to_string()), ROUTE),
        };
        let body: Value = match serde_json::from_slice(&bytes) {
            Ok(v @ Value::Object(_)) => v,
            Ok(_) => {
                return local_problem(
                    Error::MalformedRequest(
                        "the body is a JSON object: {\"definition\": {...}, \"input\": ...}".into(),
                    ),
                    ROUTE,
                )
            }
            Err(e) => return local_problem(Error::MalformedRequest(e.to_string()), ROUTE),
        };
        let text = match body.get("definition") {
            Some(Value::String(s)) => s.clone(),
            Some(v @ Value::Object(_)) => v.to_string(),
            _ => {
                return local_problem(
                    Error::field(
                        "/definition",
                        "required",
                        "definition is the state machine (a JSON object or its text)",
                    ),
                    ROUTE,
                )
            }
        };
        let input = body.get("input").cloned().unwrap_or(json!({}));
        let def = match nexus_asl::Definition::parse(&text, "definition") {
            Ok(d) => d,
            Err(e) => {
                return local_problem(
                    Error::field("/definition", "invalid_definition", e.to_string()),
                    ROUTE,
                )
            }
        };
        match nexus_asl::run_without_tasks(&def, input, gw.local.clock.now()) {
            Ok(result) => json_response(
                StatusCode::OK,
                &serde_json::to_value(&result).unwrap_or_default(),
            ),
            Err(e) => local_problem(
                Error::field("/definition", "has_tasks", e.to_string()),
                ROUTE,
            ),
        }
    })
}
