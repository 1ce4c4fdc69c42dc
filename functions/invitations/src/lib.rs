//! `/v1/invitations/{token}/accept`: join an organization by invitation.

use lambda_http::{Body, Request, Response};
use nexus_core::org::Membership;
use nexus_core::{Error, Problem};
use nexus_http::{path_param, principal, route_key, serve, ApiResponse};
use utoipa::OpenApi;

pub type State = nexus_identity::State;

/// The ports this function calls: `main.rs` wires them from AWS, the local
/// platform from its stand-ins (see `nexus_ports::wiring`).
pub async fn state(w: &impl nexus_identity::WireIdentity) -> Result<State, String> {
    nexus_identity::State::new(w, nexus_ports::Platform::new(w)?).await
}

pub async fn handler(state: &State, req: Request) -> Response<Body> {
    serve(req, |req| async move {
        match route_key(&req).as_str() {
            "POST /v1/invitations/{token}/accept" => accept(state, &req).await,
            _ => Err(Error::RouteNotFound {
                method: req.method().to_string(),
                path: req.uri().path().into(),
            }),
        }
    })
    .await
}

/// Accept an invitation as the user it was e-mailed to; creates the membership (a seat must be free).
#[utoipa::path(post, path = "/v1/invitations/{token}/accept", tag = "members", operation_id = "accept_invitation",
    params(("token" = String, Path, description = "The token from the invitation e-mail")), security(("bearer" = [])),
    responses(
        (status = 200, description = "Now a member", body = Membership),
        (status = 402, description = "`limit-reached`: no seat left", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Sent to another e-mail address", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Invalid, used or expired invitation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`already-member`", body = Problem, content_type = "application/problem+json"),
    ))]
async fn accept(state: &State, req: &Request) -> Result<ApiResponse, Error> {
    let caller = principal(req)?;
    let token: String = path_param(req, "token", "invitation")?;
    let m = nexus_identity::tenancy::accept_invitation(&state.deps(), &caller, &token).await?;
    ApiResponse::ok(&m)
}

#[derive(OpenApi)]
#[openapi(paths(accept), components(schemas(Membership)))]
pub struct Api;

pub fn openapi() -> utoipa::openapi::OpenApi {
    Api::openapi()
}
