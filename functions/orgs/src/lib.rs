//! `/v1/orgs`: organizations (brands and agencies), the tenants of NEXUS.

use lambda_http::{Body, Request, Response};
use nexus_core::ids::OrgId;
use nexus_core::org::{self, Membership, NewOrganization, OrgKind, Organization};
use nexus_core::principal::Permission;
use nexus_core::{Error, Problem};
use nexus_http::idempotency::idempotent;
use nexus_http::{
    json_body, limit_param, path_param, principal, query_param, route_key, serve, ApiResponse,
    ListEnvelope,
};
use nexus_store::repos::orgs;
use serde::Deserialize;
use utoipa::{OpenApi, ToSchema};

pub type State = nexus_ports::Platform;

/// Body of `POST /v1/orgs`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateOrg {
    /// 2–100 characters.
    #[schema(example = "Acme Beauty")]
    pub name: Option<String>,
    /// `brand` or `agency`.
    #[schema(value_type = Option<OrgKind>)]
    pub kind: Option<String>,
}

pub async fn handler(state: &State, req: Request) -> Response<Body> {
    serve(req, |req| async move {
        match route_key(&req).as_str() {
            "POST /v1/orgs" => create_org(state, &req).await,
            "GET /v1/orgs" => list_orgs(state, &req).await,
            "GET /v1/orgs/{orgId}" => get_org(state, &req).await,
            _ => Err(Error::RouteNotFound {
                method: req.method().to_string(),
                path: req.uri().path().into(),
            }),
        }
    })
    .await
}

/// Create an organization; the caller becomes its owner. New organizations start on the Free plan.
#[utoipa::path(post, path = "/v1/orgs", tag = "organizations", operation_id = "create_org",
    request_body = CreateOrg,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: the same key and body return the first response.")),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = Organization, headers(("location" = String))),
        (status = 400, description = "Invalid body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Same Idempotency-Key still in progress", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Idempotency-Key reused with another body", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_org(state: &State, req: &Request) -> Result<ApiResponse, Error> {
    let caller = principal(req)?;
    let user = caller.user_id()?;
    let body: CreateOrg = json_body(req)?;
    let input = NewOrganization::parse(body.name, body.kind)?;
    let now = state.clock.now();
    idempotent(&state.store, &caller.id, req, now, || async {
        let created = org::create(input, user, now);
        orgs::create(&state.store, &created).await?;
        ApiResponse::created(&created.org, format!("/v1/orgs/{}", created.org.id))
    })
    .await
}

/// Organizations the caller belongs to, with the caller's role in each.
#[utoipa::path(get, path = "/v1/orgs", tag = "organizations", operation_id = "list_orgs",
    params(
        ("limit" = Option<u32>, Query, description = "1–100, default 50"),
        ("cursor" = Option<String>, Query, description = "`nextCursor` of the previous page"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of memberships: `{items, nextCursor}`", body = Vec<Membership>),
        (status = 400, description = "Bad limit or cursor", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid credentials", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_orgs(state: &State, req: &Request) -> Result<ApiResponse, Error> {
    let user = principal(req)?.user_id()?;
    let page = orgs::list_for_user(
        &state.store,
        &user,
        limit_param(req)?,
        query_param(req, "cursor"),
    )
    .await?;
    ApiResponse::ok(&ListEnvelope {
        items: page.items,
        next_cursor: page.next_cursor,
    })
}

/// One organization. Other tenants' organizations are reported as not found.
#[utoipa::path(get, path = "/v1/orgs/{orgId}", tag = "organizations", operation_id = "get_org",
    params(("orgId" = String, Path, description = "Organization id (`org_…`)")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The organization", body = Organization),
        (status = 401, description = "No valid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role does not allow reading it", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such organization for this caller", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_org(state: &State, req: &Request) -> Result<ApiResponse, Error> {
    let caller = principal(req)?;
    let org_id: OrgId = path_param(req, "orgId", "organization")?;
    caller.require(&org_id, Permission::OrgRead, "organization")?;
    let org = orgs::get(&state.store, &org_id)
        .await?
        .ok_or(Error::NotFound {
            resource: "organization",
        })?;
    ApiResponse::ok(&org)
}

#[derive(OpenApi)]
#[openapi(
    paths(create_org, list_orgs, get_org),
    components(schemas(CreateOrg, Organization, Membership, OrgKind, Problem))
)]
pub struct Api;

pub fn openapi() -> utoipa::openapi::OpenApi {
    Api::openapi()
}
