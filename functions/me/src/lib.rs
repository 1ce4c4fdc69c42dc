//! `/v1/me/**`: the caller's own account and second factors.

use lambda_http::{Body, Request, Response};
use nexus_core::user::UserView;
use nexus_core::{Error, Problem};
use nexus_http::{json_body, principal, route_key, serve, ApiResponse};
use nexus_identity::mfa::{self, TotpEnrolment};
use nexus_store::repos::users;
use serde::Deserialize;
use utoipa::{OpenApi, ToSchema};

pub type State = nexus_identity::State;

/// The ports this function calls: `main.rs` wires them from AWS, the local
/// platform from its stand-ins (see `nexus_ports::wiring`).
pub async fn state(
    w: &(impl nexus_identity::WireIdentity + nexus_ports::WirePaging + nexus_ports::WireCipher),
) -> Result<State, String> {
    nexus_identity::State::new(w, nexus_ports::Platform::new(w)?.paging(w)?)
        .await?
        .cipher(w)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PasswordBody {
    /// The account's current password (re-authentication).
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CodeBody {
    /// A 6-digit code (or, to disable a factor, a recovery code).
    pub code: String,
}

pub async fn handler(state: &State, req: Request) -> Response<Body> {
    serve(req, |req| async move {
        match route_key(&req).as_str() {
            "GET /v1/me" => get_me(state, &req).await,
            "POST /v1/me/mfa/totp" => totp_enrol(state, &req).await,
            "POST /v1/me/mfa/totp/confirm" => totp_confirm(state, &req).await,
            "POST /v1/me/mfa/email" => email_start(state, &req).await,
            "POST /v1/me/mfa/email/confirm" => email_confirm(state, &req).await,
            "POST /v1/me/mfa/{method}/disable" => disable(state, &req).await,
            _ => Err(Error::RouteNotFound {
                method: req.method().to_string(),
                path: req.uri().path().into(),
            }),
        }
    })
    .await
}

/// The caller's account.
#[utoipa::path(get, path = "/v1/me", tag = "me", operation_id = "get_me", security(("bearer" = [])),
    responses((status = 200, description = "The account", body = UserView), (status = 401, description = "Not logged in", body = Problem, content_type = "application/problem+json")))]
async fn get_me(state: &State, req: &Request) -> Result<ApiResponse, Error> {
    let id = principal(req)?.user_id()?;
    let user = users::get(&state.platform.store, &id)
        .await?
        .ok_or_else(|| Error::Unauthenticated("unknown user".into()))?;
    ApiResponse::ok(&user.view())
}

/// Start TOTP enrolment (needs the password): the secret, an otpauth URI and ten recovery codes (shown once). Nothing works until a first code confirms it.
#[utoipa::path(post, path = "/v1/me/mfa/totp", tag = "me", operation_id = "enrol_totp", request_body = PasswordBody, security(("bearer" = [])),
    responses((status = 200, description = "Enrolment (pending until confirmed)", body = TotpEnrolment),
        (status = 400, description = "Wrong password", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already enabled", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong passwords for the account (`Retry-After`)", body = Problem, content_type = "application/problem+json")))]
async fn totp_enrol(state: &State, req: &Request) -> Result<ApiResponse, Error> {
    let id = principal(req)?.user_id()?;
    let b: PasswordBody = json_body(req)?;
    ApiResponse::ok(&mfa::totp_enrol(&state.deps(), &id, &b.password).await?)
}

/// Turn TOTP (and its recovery codes) on with a first code from the authenticator app. The account's other sessions end.
#[utoipa::path(post, path = "/v1/me/mfa/totp/confirm", tag = "me", operation_id = "confirm_totp", request_body = CodeBody, security(("bearer" = [])),
    responses((status = 204, description = "TOTP enabled"), (status = 400, description = "Wrong code", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`mfa-not-enrolled`: start enrolment first", body = Problem, content_type = "application/problem+json")))]
async fn totp_confirm(state: &State, req: &Request) -> Result<ApiResponse, Error> {
    let caller = principal(req)?;
    let id = caller.user_id()?;
    let b: CodeBody = json_body(req)?;
    mfa::totp_confirm(&state.deps(), &id, caller.session.as_deref(), &b.code).await?;
    Ok(ApiResponse::no_content())
}

/// E-mail a code to turn on sign-in codes by e-mail.
#[utoipa::path(post, path = "/v1/me/mfa/email", tag = "me", operation_id = "start_email_otp", security(("bearer" = [])),
    responses((status = 202, description = "Code sent", body = nexus_http::Accepted)))]
async fn email_start(state: &State, req: &Request) -> Result<ApiResponse, Error> {
    let id = principal(req)?.user_id()?;
    mfa::email_otp_start(&state.deps(), &id).await?;
    ApiResponse::json(202, &serde_json::json!({"status": "code-sent"}))
}

/// Turn on e-mail sign-in codes with the code just e-mailed. The account's other sessions end.
#[utoipa::path(post, path = "/v1/me/mfa/email/confirm", tag = "me", operation_id = "confirm_email_otp", request_body = CodeBody, security(("bearer" = [])),
    responses((status = 204, description = "E-mail OTP enabled"), (status = 400, description = "Wrong code", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong codes for the account (`Retry-After`)", body = Problem, content_type = "application/problem+json")))]
async fn email_confirm(state: &State, req: &Request) -> Result<ApiResponse, Error> {
    let caller = principal(req)?;
    let id = caller.user_id()?;
    let b: CodeBody = json_body(req)?;
    mfa::email_otp_confirm(&state.deps(), &id, caller.session.as_deref(), &b.code).await?;
    Ok(ApiResponse::no_content())
}

/// Turn a second factor (`totp` or `email`) off; needs a current TOTP code or a recovery code. The account's other sessions end.
#[utoipa::path(post, path = "/v1/me/mfa/{method}/disable", tag = "me", operation_id = "disable_mfa", request_body = CodeBody, security(("bearer" = [])),
    params(("method" = String, Path, description = "`totp` or `email`")),
    responses((status = 204, description = "Disabled"), (status = 400, description = "Wrong code", body = Problem, content_type = "application/problem+json"), (status = 404, description = "Unknown method", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong codes for the account (`Retry-After`)", body = Problem, content_type = "application/problem+json")))]
async fn disable(state: &State, req: &Request) -> Result<ApiResponse, Error> {
    let caller = principal(req)?;
    let id = caller.user_id()?;
    let method: String = nexus_http::path_param(req, "method", "MFA method")?;
    let b: CodeBody = json_body(req)?;
    mfa::disable(
        &state.deps(),
        &id,
        caller.session.as_deref(),
        &method,
        &b.code,
    )
    .await?;
    Ok(ApiResponse::no_content())
}

#[derive(OpenApi)]
#[openapi(
    paths(get_me, totp_enrol, totp_confirm, email_start, email_confirm, disable),
    components(schemas(PasswordBody, CodeBody, UserView, TotpEnrolment))
)]
pub struct Api;

pub fn openapi() -> utoipa::openapi::OpenApi {
    Api::openapi()
}
