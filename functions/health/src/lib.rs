//! `GET /health`: is the API up, and can it read its table?

use std::time::Instant;

use lambda_http::{Body, Request, Response};
use nexus_core::Error;
use nexus_http::{route_key, serve, ApiResponse};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

pub type State = nexus_ports::Platform;

/// The ports this function calls: `main.rs` wires them from AWS, the local
/// platform from its stand-ins (see `nexus_ports::wiring`).
pub async fn state(w: &impl nexus_ports::Wiring) -> Result<State, String> {
    nexus_ports::Platform::new(w)
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Health {
    /// `ok` or `unavailable`.
    pub status: &'static str,
    pub checks: Checks,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Checks {
    pub table: Check,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Check {
    pub status: &'static str,
    pub latency_ms: u64,
}

pub async fn handler(state: &State, req: Request) -> Response<Body> {
    serve(req, |req| async move {
        match route_key(&req).as_str() {
            "GET /health" => health(state).await,
            _ => Err(Error::RouteNotFound {
                method: req.method().to_string(),
                path: req.uri().path().into(),
            }),
        }
    })
    .await
}

/// Health of the API and its table.
#[utoipa::path(get, path = "/health", tag = "platform", operation_id = "get_health",
    responses(
        (status = 200, description = "The API can read its table", body = Health),
        (status = 503, description = "The table is unreachable", body = Health,
            headers(("retry-after" = u64, description = "Seconds to wait before checking again"))),
    ))]
async fn health(state: &State) -> Result<ApiResponse, Error> {
    let started = Instant::now();
    let table = state.store.ping().await;
    let latency_ms = started.elapsed().as_millis() as u64;
    match table {
        Ok(()) => ApiResponse::ok(&Health {
            status: "ok",
            checks: Checks {
                table: Check {
                    status: "ok",
                    latency_ms,
                },
            },
        }),
        Err(e) => {
            tracing::error!(error.cause = %e, "health check: table unreachable");
            ApiResponse::json(
                503,
                &Health {
                    status: "unavailable",
                    checks: Checks {
                        table: Check {
                            status: "error",
                            latency_ms,
                        },
                    },
                },
            )
            .map(|r| r.header("retry-after", "5"))
        }
    }
}

#[derive(OpenApi)]
#[openapi(paths(health), components(schemas(Health, Checks, Check)))]
pub struct Api;

pub fn openapi() -> utoipa::openapi::OpenApi {
    Api::openapi()
}
