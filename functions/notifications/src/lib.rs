//! `/v1/notifications/**`: the caller's in-app notifications. They belong to
//! a person (creator or brand member), never to an organization: the tenant
//! is the user, so API keys are refused and nobody reaches another user's.

use lambda_http::{Body, Request, Response};
use nexus_core::ids::NotificationId;
use nexus_core::{Error, FieldError, Problem};
use nexus_http::{
    limit_param, path_param, principal, query_param, route_key, serve, ApiResponse, ListEnvelope,
};
use nexus_market::notification::{Notification, UnreadCount};
use nexus_market::repo;
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

pub type State = nexus_ports::Platform;

/// The ports this function calls: `main.rs` wires them from AWS, the local
/// platform from its stand-ins (see `nexus_ports::wiring`).
pub async fn state(w: &impl nexus_ports::WirePaging) -> Result<State, String> {
    nexus_ports::Platform::new(w)?.paging(w)
}

/// Answer of `POST /v1/notifications/read-all`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MarkedAll {
    /// Notifications this call marked read.
    pub marked: u64,
    /// Still unread afterwards (non-zero only past the per-call bound: call again).
    pub unread: u64,
}

pub async fn handler(state: &State, req: Request) -> Response<Body> {
    serve(req, |req| async move {
        match route_key(&req).as_str() {
            "GET /v1/notifications" => list(state, &req).await,
            "GET /v1/notifications/unread-count" => unread_count(state, &req).await,
            "POST /v1/notifications/{notificationId}/read" => mark_read(state, &req).await,
            "POST /v1/notifications/read-all" => mark_all_read(state, &req).await,
            _ => Err(Error::RouteNotFound {
                method: req.method().to_string(),
                path: req.uri().path().into(),
            }),
        }
    })
    .await
}

/// `?unread=true|false` (absent: all).
fn unread_param(req: &Request) -> Result<bool, Error> {
    match query_param(req, "unread").as_deref() {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(Error::Validation(vec![FieldError::new(
            "query/unread",
            "invalid_format",
            "unread must be true or false",
        )])),
    }
}

/// The caller's notifications, newest first. With `unread=true` a page holds only unread ones (and may be shorter than `limit`; follow `nextCursor`).
#[utoipa::path(get, path = "/v1/notifications", tag = "notifications", operation_id = "list_notifications",
    params(
        ("limit" = Option<u32>, Query, description = "1–100, default 50"),
        ("cursor" = Option<String>, Query, description = "`nextCursor` of the previous page"),
        ("unread" = Option<bool>, Query, description = "`true`: only unread notifications"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page: `{items, nextCursor}`", body = ListEnvelope<Notification>),
        (status = 400, description = "Bad limit, cursor or unread", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "API keys have no notifications", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list(state: &State, req: &Request) -> Result<ApiResponse, Error> {
    let user = principal(req)?.user_id()?;
    let only_unread = unread_param(req)?;
    let page = repo::notifications(
        &state.store,
        &user,
        limit_param(req)?,
        query_param(req, "cursor"),
    )
    .await?;
    ApiResponse::ok(&ListEnvelope {
        items: page
            .items
            .into_iter()
            .filter(|n| !only_unread || !n.read)
            .collect(),
        next_cursor: page.next_cursor,
    })
}

/// How many of the caller's notifications are unread.
#[utoipa::path(get, path = "/v1/notifications/unread-count", tag = "notifications", operation_id = "get_unread_count",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The count", body = UnreadCount),
        (status = 401, description = "No valid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "API keys have no notifications", body = Problem, content_type = "application/problem+json"),
    ))]
async fn unread_count(state: &State, req: &Request) -> Result<ApiResponse, Error> {
    let user = principal(req)?.user_id()?;
    ApiResponse::ok(&UnreadCount {
        unread: repo::unread(&state.store, &user).await?,
    })
}

/// Mark one notification read. Idempotent: marking it again changes nothing.
#[utoipa::path(post, path = "/v1/notifications/{notificationId}/read", tag = "notifications", operation_id = "mark_notification_read",
    params(("notificationId" = String, Path, description = "Notification id (`ntf_…`)")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Read"),
        (status = 401, description = "No valid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "API keys have no notifications", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such notification for this caller", body = Problem, content_type = "application/problem+json"),
    ))]
async fn mark_read(state: &State, req: &Request) -> Result<ApiResponse, Error> {
    let user = principal(req)?.user_id()?;
    let id: NotificationId = path_param(req, "notificationId", "notification")?;
    repo::mark_read(&state.store, &user, &id).await?;
    Ok(ApiResponse::no_content())
}

/// Mark the caller's unread notifications read (up to 500 per call, newest first).
#[utoipa::path(post, path = "/v1/notifications/read-all", tag = "notifications", operation_id = "mark_all_notifications_read",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "How many were marked, and how many are still unread", body = MarkedAll),
        (status = 401, description = "No valid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "API keys have no notifications", body = Problem, content_type = "application/problem+json"),
    ))]
async fn mark_all_read(state: &State, req: &Request) -> Result<ApiResponse, Error> {
    let user = principal(req)?.user_id()?;
    let marked = repo::mark_all_read(&state.store, &user).await?;
    ApiResponse::ok(&MarkedAll {
        marked,
        unread: repo::unread(&state.store, &user).await?,
    })
}

#[derive(OpenApi)]
#[openapi(
    paths(list, unread_count, mark_read, mark_all_read),
    components(schemas(Notification, UnreadCount, MarkedAll, Problem))
)]
pub struct Api;

pub fn openapi() -> utoipa::openapi::OpenApi {
    Api::openapi()
}
