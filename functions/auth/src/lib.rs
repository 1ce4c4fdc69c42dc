//! `/v1/auth/**`: registration, e-mail verification, login (+ MFA), token
//! refresh, logout, password reset and switching the active organization.

use lambda_http::{Body, Request, Response};
use nexus_core::ids::OrgId;
use nexus_core::user::Registration;
use nexus_core::{Error, FieldError, Problem};
use nexus_http::context::client;
use nexus_http::{json_body, principal, route_key, serve, ApiResponse};
use nexus_identity::account::RegistrationAccepted;
use nexus_identity::login::{LoginOutcome, MfaChallenge};
use nexus_identity::{account, login, Origin, TokenPair};
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
#[serde(rename_all = "camelCase")]
pub struct RegisterBody {
    #[schema(example = "jane@example.com")]
    pub email: Option<String>,
    /// At least 10 characters; common and breached patterns, your name and your e-mail are refused.
    pub password: Option<String>,
    pub name: Option<String>,
    /// `brand` (default) or `creator`.
    pub account_type: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct TokenBody {
    pub token: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginBody {
    pub email: String,
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MfaVerifyBody {
    pub mfa_token: String,
    /// A TOTP code, the e-mailed code, or a recovery code.
    pub code: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefreshBody {
    pub refresh_token: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ForgotBody {
    pub email: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ResetBody {
    pub token: String,
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SwitchOrgBody {
    #[schema(value_type = String)]
    pub org_id: String,
}

pub async fn handler(state: &State, req: Request) -> Response<Body> {
    serve(req, |req| async move {
        match route_key(&req).as_str() {
            "POST /v1/auth/register" => register(state, &req).await,
            "POST /v1/auth/verify-email" => verify_email(state, &req).await,
            "POST /v1/auth/login" => login_route(state, &req).await,
            "POST /v1/auth/mfa/verify" => mfa_verify(state, &req).await,
            "POST /v1/auth/refresh" => refresh(state, &req).await,
            "POST /v1/auth/logout" => logout(state, &req).await,
            "POST /v1/auth/password/forgot" => forgot(state, &req).await,
            "POST /v1/auth/password/reset" => reset(state, &req).await,
            "POST /v1/auth/switch-org" => switch_org(state, &req).await,
            _ => Err(Error::RouteNotFound {
                method: req.method().to_string(),
                path: req.uri().path().into(),
            }),
        }
    })
    .await
}

fn origin(req: &Request) -> Origin {
    let (ip, user_agent) = client(req);
    Origin { ip, user_agent }
}

/// Ask for an account. The answer is the same whether or not the address is
/// taken: a new address gets a verification link by e-mail (login is refused
/// until it is used); the owner of an existing account is told instead. An
/// unverified account with the address is replaced.
#[utoipa::path(post, path = "/v1/auth/register", tag = "auth", operation_id = "register", request_body = RegisterBody,
    responses(
        (status = 202, description = "Accepted; check the inbox", body = RegistrationAccepted),
        (status = 400, description = "Invalid fields, weak password", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many e-mails to this address or from this client (`Retry-After`)", body = Problem, content_type = "application/problem+json"),
    ))]
async fn register(state: &State, req: &Request) -> Result<ApiResponse, Error> {
    let b: RegisterBody = json_body(req)?;
    let reg = Registration::parse(b.email, b.password, b.name, b.account_type)?;
    let accepted = account::register(&state.deps(), reg, &origin(req)).await?;
    ApiResponse::json(202, &accepted)
}

/// Verify the e-mail address with the token from the verification e-mail.
#[utoipa::path(post, path = "/v1/auth/verify-email", tag = "auth", operation_id = "verify_email", request_body = TokenBody,
    responses((status = 204, description = "Verified"), (status = 400, description = "Invalid, used or expired token", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many bad tokens from this client (`Retry-After`)", body = Problem, content_type = "application/problem+json")))]
async fn verify_email(state: &State, req: &Request) -> Result<ApiResponse, Error> {
    let b: TokenBody = json_body(req)?;
    account::verify_email(&state.deps(), &b.token, &origin(req)).await?;
    Ok(ApiResponse::no_content())
}

/// Log in. Returns tokens, or an MFA challenge when a second factor is enabled.
#[utoipa::path(post, path = "/v1/auth/login", tag = "auth", operation_id = "login", request_body = LoginBody,
    responses(
        (status = 200, description = "Tokens, or `{mfaRequired, mfaToken, methods}`", body = LoginOutcome),
        (status = 401, description = "Wrong e-mail or password", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`email-not-verified`", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many attempts: the account's delay after repeated failures, or this client's failures (`Retry-After`)", body = Problem, content_type = "application/problem+json"),
    ))]
async fn login_route(state: &State, req: &Request) -> Result<ApiResponse, Error> {
    let b: LoginBody = json_body(req)?;
    let outcome = login::login(&state.deps(), &b.email, &b.password, &origin(req)).await?;
    ApiResponse::ok(&outcome)
}

/// Complete an MFA login with a TOTP, e-mailed or recovery code.
#[utoipa::path(post, path = "/v1/auth/mfa/verify", tag = "auth", operation_id = "verify_mfa", request_body = MfaVerifyBody,
    responses(
        (status = 200, description = "Tokens", body = TokenPair),
        (status = 400, description = "Wrong code", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Challenge invalid, expired or out of attempts (5 codes per challenge)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong codes for the account, or bad tokens from this client (`Retry-After`)", body = Problem, content_type = "application/problem+json"),
    ))]
async fn mfa_verify(state: &State, req: &Request) -> Result<ApiResponse, Error> {
    let b: MfaVerifyBody = json_body(req)?;
    let tokens = login::verify_mfa(&state.deps(), &b.mfa_token, &b.code, &origin(req)).await?;
    ApiResponse::ok(&tokens)
}

/// Exchange a refresh token for new tokens. Refresh tokens are single use; presenting one twice revokes the session. A password reset or second-factor change ends every earlier session.
#[utoipa::path(post, path = "/v1/auth/refresh", tag = "auth", operation_id = "refresh", request_body = RefreshBody,
    responses((status = 200, description = "Tokens", body = TokenPair), (status = 401, description = "Invalid, reused or revoked", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many bad tokens from this client (`Retry-After`)", body = Problem, content_type = "application/problem+json")))]
async fn refresh(state: &State, req: &Request) -> Result<ApiResponse, Error> {
    let b: RefreshBody = json_body(req)?;
    ApiResponse::ok(&login::refresh(&state.deps(), &b.refresh_token, &origin(req)).await?)
}

/// End the current session (its refresh tokens stop working; the access token expires on its own).
#[utoipa::path(post, path = "/v1/auth/logout", tag = "auth", operation_id = "logout", security(("bearer" = [])),
    responses((status = 204, description = "Logged out"), (status = 401, description = "Not logged in", body = Problem, content_type = "application/problem+json")))]
async fn logout(state: &State, req: &Request) -> Result<ApiResponse, Error> {
    let caller = principal(req)?;
    login::logout(&state.deps(), &caller).await?;
    Ok(ApiResponse::no_content())
}

/// Ask for a password-reset e-mail. The answer is the same whether or not the account exists.
#[utoipa::path(post, path = "/v1/auth/password/forgot", tag = "auth", operation_id = "forgot_password", request_body = ForgotBody,
    responses((status = 202, description = "If the account exists, an e-mail is on its way", body = nexus_http::Accepted),
        (status = 429, description = "Too many e-mails to this address or from this client (`Retry-After`)", body = Problem, content_type = "application/problem+json")))]
async fn forgot(state: &State, req: &Request) -> Result<ApiResponse, Error> {
    let b: ForgotBody = json_body(req)?;
    account::forgot_password(&state.deps(), &b.email, &origin(req)).await?;
    ApiResponse::json(202, &serde_json::json!({"status": "accepted"}))
}

/// Set a new password with the token from the reset e-mail. Every session of the account ends.
#[utoipa::path(post, path = "/v1/auth/password/reset", tag = "auth", operation_id = "reset_password", request_body = ResetBody,
    responses((status = 204, description = "Password changed; all sessions ended"), (status = 400, description = "Invalid token or weak password", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many bad tokens from this client (`Retry-After`)", body = Problem, content_type = "application/problem+json")))]
async fn reset(state: &State, req: &Request) -> Result<ApiResponse, Error> {
    let b: ResetBody = json_body(req)?;
    account::reset_password(&state.deps(), &b.token, &b.password, &origin(req)).await?;
    Ok(ApiResponse::no_content())
}

/// New tokens scoped to another organization the caller belongs to (directly or through an agency grant), within the caller's session (logging out ends both).
#[utoipa::path(post, path = "/v1/auth/switch-org", tag = "auth", operation_id = "switch_org", request_body = SwitchOrgBody, security(("bearer" = [])),
    responses(
        (status = 200, description = "Tokens scoped to the organization", body = TokenPair),
        (status = 401, description = "Not logged in, or the session has ended (logout, password reset, revoked)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "API keys can't switch organizations", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not a member of that organization", body = Problem, content_type = "application/problem+json"),
    ))]
async fn switch_org(state: &State, req: &Request) -> Result<ApiResponse, Error> {
    let caller = principal(req)?;
    let b: SwitchOrgBody = json_body(req)?;
    let org: OrgId = b.org_id.parse().map_err(|e: nexus_core::ids::InvalidId| {
        Error::Validation(vec![FieldError::new(
            "/orgId",
            "invalid_format",
            e.to_string(),
        )])
    })?;
    ApiResponse::ok(&login::switch_org(&state.deps(), &caller, &org).await?)
}

#[derive(OpenApi)]
#[openapi(
    paths(
        register,
        verify_email,
        login_route,
        mfa_verify,
        refresh,
        logout,
        forgot,
        reset,
        switch_org
    ),
    components(schemas(
        RegisterBody,
        TokenBody,
        LoginBody,
        MfaVerifyBody,
        RefreshBody,
        ForgotBody,
        ResetBody,
        SwitchOrgBody,
        TokenPair,
        LoginOutcome,
        MfaChallenge,
        RegistrationAccepted
    ))
)]
pub struct Api;

pub fn openapi() -> utoipa::openapi::OpenApi {
    Api::openapi()
}
