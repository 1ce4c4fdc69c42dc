//! `/v1/staff/**`: the NEXUS admin console. Staff review creator
//! verification requests; an approval grants the badge.

use lambda_http::{Body, Request, Response};
use nexus_core::ids::VerificationId;
use nexus_core::validation::Validator;
use nexus_core::{Error, Problem};
use nexus_http::{
    json_body, limit_param, path_param, principal, query_param, route_key, serve, ApiResponse,
    ListEnvelope,
};
use nexus_market::creator::{ReviewInput, VerificationRequest, VerificationStatus};
use nexus_market::{flows, repo};
use utoipa::OpenApi;

pub type State = nexus_ports::Platform;

/// The ports this function calls: `main.rs` wires them from AWS, the local
/// platform from its stand-ins (see `nexus_ports::wiring`).
pub async fn state(w: &impl nexus_ports::WirePaging) -> Result<State, String> {
    nexus_ports::Platform::new(w)?.paging(w)
}

pub async fn handler(state: &State, req: Request) -> Response<Body> {
    serve(req, |req| async move {
        match route_key(&req).as_str() {
            "GET /v1/staff/verification-requests" => list(state, &req).await,
            "POST /v1/staff/verification-requests/{requestId}/decision" => {
                decide(state, &req).await
            }
            _ => Err(Error::RouteNotFound {
                method: req.method().to_string(),
                path: req.uri().path().into(),
            }),
        }
    })
    .await
}

/// Verification requests by status (default `pending`), oldest first: the review queue.
#[utoipa::path(get, path = "/v1/staff/verification-requests", tag = "staff", operation_id = "list_verification_requests",
    params(("status" = Option<String>, Query, description = "`pending` (default), `approved`, `rejected`"),
           ("limit" = Option<u32>, Query, description = "1–100"), ("cursor" = Option<String>, Query, description = "")),
    security(("bearer" = [])),
    responses((status = 200, description = "`{items, nextCursor}`", body = ListEnvelope<VerificationRequest>),
              (status = 403, description = "Staff only", body = Problem, content_type = "application/problem+json")))]
async fn list(state: &State, req: &Request) -> Result<ApiResponse, Error> {
    principal(req)?.require_staff()?;
    let mut v = Validator::new();
    let status = v
        .parse(
            "query/status",
            Some(query_param(req, "status").as_deref().unwrap_or("pending")),
            "unknown_value",
            VerificationStatus::parse,
        )
        .unwrap_or(VerificationStatus::Pending);
    v.finish()?;
    let page = repo::verifications_by_status(
        &state.store,
        status.as_str(),
        limit_param(req)?,
        query_param(req, "cursor"),
    )
    .await?;
    ApiResponse::ok(&ListEnvelope {
        items: page.items,
        next_cursor: page.next_cursor,
    })
}

/// Approve (grants the badge) or reject (with a reason shown to the creator) a pending request. Staff never
/// review their own request. A social badge is for the account the request named: if the creator has linked
/// another handle on that platform since, approving is `409 account-changed` (reject it instead).
#[utoipa::path(post, path = "/v1/staff/verification-requests/{requestId}/decision", tag = "staff", operation_id = "review_verification_request",
    params(("requestId" = String, Path, description = "`vrq_…`")), request_body = ReviewInput, security(("bearer" = [])),
    responses((status = 200, description = "Reviewed", body = VerificationRequest),
              (status = 400, description = "Bad decision or missing reason", body = Problem, content_type = "application/problem+json"),
              (status = 401, description = "No valid credentials", body = Problem, content_type = "application/problem+json"),
              (status = 403, description = "Staff only, and never for your own request", body = Problem, content_type = "application/problem+json"),
              (status = 404, description = "No such request", body = Problem, content_type = "application/problem+json"),
              (status = 409, description = "`invalid-transition`: already reviewed; `account-changed`: the social account was relinked since", body = Problem, content_type = "application/problem+json")))]
async fn decide(state: &State, req: &Request) -> Result<ApiResponse, Error> {
    let staff = principal(req)?.require_staff()?;
    let id: VerificationId = path_param(req, "requestId", "verification request")?;
    let body: ReviewInput = json_body(req)?;
    let r = flows::review_verification(&state.store, &staff, &id, body, state.clock.now()).await?;
    ApiResponse::ok(&r)
}

#[derive(OpenApi)]
#[openapi(
    paths(list, decide),
    components(schemas(VerificationRequest, ReviewInput, Problem))
)]
pub struct Api;

pub fn openapi() -> utoipa::openapi::OpenApi {
    Api::openapi()
}
