//! `/v1/orgs/**`: organizations (brands and agencies, the tenants of NEXUS),
//! their members, invitations, agency grants, API keys and audit log.
//!
//! Handlers parse the request and call `nexus_identity::tenancy`, which
//! authorizes (a member whose token is scoped to another organization gets
//! `org-not-active`, not `404`) and re-reads the caller's role for writes.

use lambda_http::{Body, Request, Response};
use nexus_core::ids::{ApiKeyId, InvitationId, OrgId, UserId};
use nexus_core::org::{Membership, NewOrganization, OrgKind, Organization};
use nexus_core::{Error, Problem};
use nexus_http::idempotency::idempotent;
use nexus_http::{
    json_body, limit_param, path_param, principal, query_param, route_key, serve, ApiResponse,
    ListEnvelope,
};
use nexus_identity::tenancy::{self, CreatedKey, InvitationSent};
use nexus_store::repos::apikeys::ApiKey;
use nexus_store::repos::audit::AuditEntry;
use nexus_store::repos::orgs::{self, AgencyGrant, Invitation};
use serde::Deserialize;
use utoipa::{OpenApi, ToSchema};

pub type State = nexus_identity::State;

/// The ports this function calls: `main.rs` wires them from AWS, the local
/// platform from its stand-ins (see `nexus_ports::wiring`).
pub async fn state(
    w: &(impl nexus_identity::WireIdentity + nexus_ports::WirePaging),
) -> Result<State, String> {
    nexus_identity::State::new(w, nexus_ports::Platform::new(w)?.paging(w)?).await
}

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

#[derive(Debug, Deserialize, ToSchema)]
pub struct InviteBody {
    pub email: Option<String>,
    /// `admin`, `manager`, `analyst` or `viewer`.
    pub role: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RoleBody {
    /// `owner` (owners only), `admin`, `manager`, `analyst` or `viewer`.
    pub role: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ApiKeyBody {
    pub name: Option<String>,
    /// `<group>:read|write` with group `org`, `campaigns`, `content`, `analytics`, `billing`.
    pub scopes: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GrantBody {
    pub agency_org_id: Option<String>,
    /// `admin`, `manager`, `analyst` or `viewer`: the most the agency's members act with in this
    /// brand (each is capped by their own agency role).
    pub role: Option<String>,
}

pub async fn handler(state: &State, req: Request) -> Response<Body> {
    serve(req, |req| async move {
        match route_key(&req).as_str() {
            "POST /v1/orgs" => create_org(state, &req).await,
            "GET /v1/orgs" => list_orgs(state, &req).await,
            "GET /v1/orgs/{orgId}" => get_org(state, &req).await,
            "POST /v1/orgs/{orgId}/invitations" => invite(state, &req).await,
            "GET /v1/orgs/{orgId}/invitations" => list_invitations(state, &req).await,
            "DELETE /v1/orgs/{orgId}/invitations/{invitationId}" => {
                cancel_invitation(state, &req).await
            }
            "GET /v1/orgs/{orgId}/members" => list_members(state, &req).await,
            "PATCH /v1/orgs/{orgId}/members/{userId}" => change_role(state, &req).await,
            "DELETE /v1/orgs/{orgId}/members/{userId}" => remove_member(state, &req).await,
            "POST /v1/orgs/{orgId}/api-keys" => create_key(state, &req).await,
            "GET /v1/orgs/{orgId}/api-keys" => list_keys(state, &req).await,
            "GET /v1/orgs/{orgId}/api-keys/{keyId}" => get_key(state, &req).await,
            "DELETE /v1/orgs/{orgId}/api-keys/{keyId}" => revoke_key(state, &req).await,
            "POST /v1/orgs/{orgId}/agency-grants" => grant(state, &req).await,
            "GET /v1/orgs/{orgId}/agency-grants" => list_grants(state, &req).await,
            "DELETE /v1/orgs/{orgId}/agency-grants/{agencyOrgId}" => {
                revoke_grant(state, &req).await
            }
            "GET /v1/orgs/{orgId}/audit-log" => audit_log(state, &req).await,
            _ => Err(Error::RouteNotFound {
                method: req.method().to_string(),
                path: req.uri().path().into(),
            }),
        }
    })
    .await
}

fn org_id(req: &Request) -> Result<OrgId, Error> {
    path_param(req, "orgId", "organization")
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
    caller.user_id()?;
    let body: CreateOrg = json_body(req)?;
    let input = NewOrganization::parse(body.name, body.kind)?;
    let now = state.platform.clock.now();
    idempotent(&state.platform.store, &caller, req, now, || async {
        let org = tenancy::create_org(&state.deps(), &caller, input).await?;
        ApiResponse::created(&org, format!("/v1/orgs/{}", org.id))
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
        (status = 200, description = "One page of memberships: `{items, nextCursor}`", body = ListEnvelope<Membership>),
        (status = 400, description = "Bad limit or cursor", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid credentials", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_orgs(state: &State, req: &Request) -> Result<ApiResponse, Error> {
    let user = principal(req)?.user_id()?;
    let page = orgs::list_for_user(
        &state.platform.store,
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

/// One organization. Other tenants' organizations are reported as not found;
/// one you belong to while your token is scoped to another answers
/// `403 org-not-active`: call `POST /v1/auth/switch-org` with its id first.
#[utoipa::path(get, path = "/v1/orgs/{orgId}", tag = "organizations", operation_id = "get_org",
    params(("orgId" = String, Path, description = "Organization id (`org_…`)")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The organization", body = Organization),
        (status = 401, description = "No valid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`org-not-active`: you belong to it, but your token is scoped to another organization; `POST /v1/auth/switch-org` first", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such organization for this caller", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_org(state: &State, req: &Request) -> Result<ApiResponse, Error> {
    let caller = principal(req)?;
    let org_id = org_id(req)?;
    ApiResponse::ok(&tenancy::get_org(&state.deps(), &caller, &org_id).await?)
}

/// Invite someone by e-mail (owner/admin, as of now, not as of the token). Seats in use plus pending
/// invitations can't exceed the plan. Inviting an address again replaces its invitation: the new role
/// holds and the earlier link stops working.
#[utoipa::path(post, path = "/v1/orgs/{orgId}/invitations", tag = "members", operation_id = "invite_member", request_body = InviteBody,
    params(("orgId" = String, Path), ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: a replay returns the first answer and sends no second e-mail")), security(("bearer" = [])),
    responses(
        (status = 201, description = "Invitation e-mailed", body = InvitationSent, headers(("location" = String))),
        (status = 400, description = "Invalid e-mail or role", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 402, description = "`limit-reached`: no seat left on the plan", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Your current role does not allow inviting, or `org-not-active`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such organization for this caller", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invitation-changed`: the address was invited again meanwhile, or the same Idempotency-Key is still in progress", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Idempotency-Key reused with another body", body = Problem, content_type = "application/problem+json"),
    ))]
async fn invite(state: &State, req: &Request) -> Result<ApiResponse, Error> {
    let caller = principal(req)?;
    let org = org_id(req)?;
    let b: InviteBody = json_body(req)?;
    let now = state.platform.clock.now();
    idempotent(&state.platform.store, &caller, req, now, || async {
        let sent = tenancy::invite(&state.deps(), &caller, &org, b.email, b.role).await?;
        ApiResponse::created(&sent, format!("/v1/orgs/{org}/invitations"))
    })
    .await
}

/// Pending invitations (owner/admin): whom, with which role, until when. Tokens are never shown.
#[utoipa::path(get, path = "/v1/orgs/{orgId}/invitations", tag = "members", operation_id = "list_invitations",
    params(("orgId" = String, Path), ("limit" = Option<u32>, Query, description = "1–100, default 50"), ("cursor" = Option<String>, Query, description = "`nextCursor` of the previous page")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of pending invitations: `{items, nextCursor}`", body = ListEnvelope<Invitation>),
        (status = 400, description = "Bad limit or cursor", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role does not allow managing members, or `org-not-active`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such organization for this caller", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_invitations(state: &State, req: &Request) -> Result<ApiResponse, Error> {
    let caller = principal(req)?;
    let org = org_id(req)?;
    let page = tenancy::list_invitations(
        &state.deps(),
        &caller,
        &org,
        limit_param(req)?,
        query_param(req, "cursor"),
    )
    .await?;
    ApiResponse::ok(&ListEnvelope {
        items: page.items,
        next_cursor: page.next_cursor,
    })
}

/// Cancel a pending invitation (owner/admin): its link stops working and its seat is free again.
#[utoipa::path(delete, path = "/v1/orgs/{orgId}/invitations/{invitationId}", tag = "members", operation_id = "cancel_invitation",
    params(("orgId" = String, Path), ("invitationId" = String, Path, description = "`inv_…`, from the invitation or the list")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Cancelled"),
        (status = 401, description = "No valid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Your current role does not allow managing members, or `org-not-active`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such pending invitation (accepted, expired, replaced or cancelled), or no such organization for this caller", body = Problem, content_type = "application/problem+json"),
    ))]
async fn cancel_invitation(state: &State, req: &Request) -> Result<ApiResponse, Error> {
    let caller = principal(req)?;
    let org = org_id(req)?;
    let id: InvitationId = path_param(req, "invitationId", "invitation")?;
    tenancy::cancel_invitation(&state.deps(), &caller, &org, &id).await?;
    Ok(ApiResponse::no_content())
}

/// Members and their roles.
#[utoipa::path(get, path = "/v1/orgs/{orgId}/members", tag = "members", operation_id = "list_members",
    params(("orgId" = String, Path), ("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)), security(("bearer" = [])),
    responses(
        (status = 200, description = "`{items, nextCursor}`", body = ListEnvelope<Membership>),
        (status = 400, description = "Bad limit or cursor", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role does not allow reading members, or `org-not-active`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such organization for this caller", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_members(state: &State, req: &Request) -> Result<ApiResponse, Error> {
    let caller = principal(req)?;
    let org = org_id(req)?;
    let page = tenancy::list_members(
        &state.deps(),
        &caller,
        &org,
        limit_param(req)?,
        query_param(req, "cursor"),
    )
    .await?;
    ApiResponse::ok(&ListEnvelope {
        items: page.items,
        next_cursor: page.next_cursor,
    })
}

/// Change a member's role. Only owners touch owners; giving `owner` shares ownership (then the old owner can step down).
#[utoipa::path(patch, path = "/v1/orgs/{orgId}/members/{userId}", tag = "members", operation_id = "change_member_role", request_body = RoleBody,
    params(("orgId" = String, Path), ("userId" = String, Path)), security(("bearer" = [])),
    responses(
        (status = 200, description = "Updated membership", body = Membership),
        (status = 400, description = "Unknown role", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed with your current role (re-read, not taken from the token), or `org-not-active`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such member, or no such organization for this caller", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`last-owner`, or `member-changed` meanwhile", body = Problem, content_type = "application/problem+json"),
    ))]
async fn change_role(state: &State, req: &Request) -> Result<ApiResponse, Error> {
    let caller = principal(req)?;
    let org = org_id(req)?;
    let user: UserId = path_param(req, "userId", "member")?;
    let b: RoleBody = json_body(req)?;
    ApiResponse::ok(&tenancy::change_role(&state.deps(), &caller, &org, &user, b.role).await?)
}

/// Remove a member, or leave (your own user id). The last owner can't leave.
#[utoipa::path(delete, path = "/v1/orgs/{orgId}/members/{userId}", tag = "members", operation_id = "remove_member",
    params(("orgId" = String, Path), ("userId" = String, Path)), security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "No valid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed with your current role, or `org-not-active`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such member, or no such organization for this caller", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`last-owner`, or `member-changed` meanwhile", body = Problem, content_type = "application/problem+json"),
    ))]
async fn remove_member(state: &State, req: &Request) -> Result<ApiResponse, Error> {
    let caller = principal(req)?;
    let org = org_id(req)?;
    let user: UserId = path_param(req, "userId", "member")?;
    tenancy::remove_member(&state.deps(), &caller, &org, &user).await?;
    Ok(ApiResponse::no_content())
}

/// Create an API key (shown once). Needs a plan with API access.
#[utoipa::path(post, path = "/v1/orgs/{orgId}/api-keys", tag = "api keys", operation_id = "create_api_key", request_body = ApiKeyBody,
    params(("orgId" = String, Path)), security(("bearer" = [])),
    responses(
        (status = 201, description = "The key, shown once", body = CreatedKey, headers(("location" = String))),
        (status = 400, description = "Invalid name or scopes; `exceeds_role` for a scope granting more than your current role holds", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 402, description = "`limit-reached`: the plan has no API access", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed with your current role, or `org-not-active`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such organization for this caller", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_key(state: &State, req: &Request) -> Result<ApiResponse, Error> {
    let caller = principal(req)?;
    let org = org_id(req)?;
    let b: ApiKeyBody = json_body(req)?;
    let created = tenancy::create_api_key(&state.deps(), &caller, &org, b.name, b.scopes).await?;
    ApiResponse::created(&created, format!("/v1/orgs/{org}/api-keys/{}", created.id))
}

/// API keys (never the secrets).
#[utoipa::path(get, path = "/v1/orgs/{orgId}/api-keys", tag = "api keys", operation_id = "list_api_keys",
    params(("orgId" = String, Path), ("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)), security(("bearer" = [])),
    responses(
        (status = 200, description = "`{items, nextCursor}`", body = ListEnvelope<ApiKey>),
        (status = 400, description = "Bad limit or cursor", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role does not allow managing keys, or `org-not-active`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such organization for this caller", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_keys(state: &State, req: &Request) -> Result<ApiResponse, Error> {
    let caller = principal(req)?;
    let org = org_id(req)?;
    let page = tenancy::list_api_keys(
        &state.deps(),
        &caller,
        &org,
        limit_param(req)?,
        query_param(req, "cursor"),
    )
    .await?;
    ApiResponse::ok(&ListEnvelope {
        items: page.items,
        next_cursor: page.next_cursor,
    })
}

/// One API key, with its last use.
#[utoipa::path(get, path = "/v1/orgs/{orgId}/api-keys/{keyId}", tag = "api keys", operation_id = "get_api_key",
    params(("orgId" = String, Path), ("keyId" = String, Path)), security(("bearer" = [])),
    responses(
        (status = 200, description = "The key", body = ApiKey),
        (status = 401, description = "No valid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role does not allow managing keys, or `org-not-active`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such key, or no such organization for this caller", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_key(state: &State, req: &Request) -> Result<ApiResponse, Error> {
    let caller = principal(req)?;
    let org = org_id(req)?;
    let id: ApiKeyId = path_param(req, "keyId", "API key")?;
    ApiResponse::ok(&tenancy::get_api_key(&state.deps(), &caller, &org, &id).await?)
}

/// Revoke an API key; it stops working at once.
#[utoipa::path(delete, path = "/v1/orgs/{orgId}/api-keys/{keyId}", tag = "api keys", operation_id = "revoke_api_key",
    params(("orgId" = String, Path), ("keyId" = String, Path)), security(("bearer" = [])),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, description = "No valid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed with your current role, or `org-not-active`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such key, or no such organization for this caller", body = Problem, content_type = "application/problem+json"),
    ))]
async fn revoke_key(state: &State, req: &Request) -> Result<ApiResponse, Error> {
    let caller = principal(req)?;
    let org = org_id(req)?;
    let id: ApiKeyId = path_param(req, "keyId", "API key")?;
    tenancy::revoke_api_key(&state.deps(), &caller, &org, &id).await?;
    Ok(ApiResponse::no_content())
}

/// Give an agency access to this brand (brand owners only; granting again changes the role). Each member
/// of the agency can then `switch-org` into the brand and act with the lower of `role` and their own agency role.
#[utoipa::path(post, path = "/v1/orgs/{orgId}/agency-grants", tag = "organizations", operation_id = "grant_agency", request_body = GrantBody,
    params(("orgId" = String, Path), ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")), security(("bearer" = [])),
    responses(
        (status = 201, description = "Granted", body = AgencyGrant, headers(("location" = String))),
        (status = 400, description = "Unknown agency or role", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a brand owner (as of now), or `org-not-active`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such organization for this caller", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`not-a-brand`: only brands grant agency access; or the same Idempotency-Key is still in progress", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Idempotency-Key reused with another body", body = Problem, content_type = "application/problem+json"),
    ))]
async fn grant(state: &State, req: &Request) -> Result<ApiResponse, Error> {
    let caller = principal(req)?;
    let org = org_id(req)?;
    let b: GrantBody = json_body(req)?;
    let now = state.platform.clock.now();
    idempotent(&state.platform.store, &caller, req, now, || async {
        let g =
            tenancy::grant_agency(&state.deps(), &caller, &org, b.agency_org_id, b.role).await?;
        ApiResponse::created(&g, format!("/v1/orgs/{org}/agency-grants"))
    })
    .await
}

/// Agencies with access to this brand, in agency-id order.
#[utoipa::path(get, path = "/v1/orgs/{orgId}/agency-grants", tag = "organizations", operation_id = "list_agency_grants",
    params(("orgId" = String, Path), ("limit" = Option<u32>, Query, description = "1–100, default 50"), ("cursor" = Option<String>, Query, description = "`nextCursor` of the previous page")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "`{items, nextCursor}`", body = ListEnvelope<AgencyGrant>),
        (status = 400, description = "Bad limit or cursor", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`org-not-active`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such organization for this caller", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_grants(state: &State, req: &Request) -> Result<ApiResponse, Error> {
    let caller = principal(req)?;
    let org = org_id(req)?;
    let page = tenancy::list_grants(
        &state.deps(),
        &caller,
        &org,
        limit_param(req)?,
        query_param(req, "cursor"),
    )
    .await?;
    ApiResponse::ok(&ListEnvelope {
        items: page.items,
        next_cursor: page.next_cursor,
    })
}

/// End an agency's access to this brand (brand owners and admins). Immediate: its members can't switch or
/// refresh into the brand any more, and tokens they already hold for it can no longer write.
#[utoipa::path(delete, path = "/v1/orgs/{orgId}/agency-grants/{agencyOrgId}", tag = "organizations", operation_id = "revoke_agency_grant",
    params(("orgId" = String, Path, description = "The brand"), ("agencyOrgId" = String, Path, description = "The agency (`org_…`)")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, description = "No valid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed with your current role, or `org-not-active`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "This agency has no grant here, or no such organization for this caller", body = Problem, content_type = "application/problem+json"),
    ))]
async fn revoke_grant(state: &State, req: &Request) -> Result<ApiResponse, Error> {
    let caller = principal(req)?;
    let org = org_id(req)?;
    let agency: OrgId = path_param(req, "agencyOrgId", "agency grant")?;
    tenancy::revoke_grant(&state.deps(), &caller, &org, &agency).await?;
    Ok(ApiResponse::no_content())
}

/// The organization's append-only audit log, newest first (owner/admin).
#[utoipa::path(get, path = "/v1/orgs/{orgId}/audit-log", tag = "organizations", operation_id = "get_audit_log",
    params(("orgId" = String, Path), ("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)), security(("bearer" = [])),
    responses(
        (status = 200, description = "`{items, nextCursor}`", body = ListEnvelope<AuditEntry>),
        (status = 400, description = "Bad limit or cursor", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role does not allow reading it, or `org-not-active`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such organization for this caller", body = Problem, content_type = "application/problem+json"),
    ))]
async fn audit_log(state: &State, req: &Request) -> Result<ApiResponse, Error> {
    let caller = principal(req)?;
    let org = org_id(req)?;
    let page = tenancy::audit_log(
        &state.deps(),
        &caller,
        &org,
        limit_param(req)?,
        query_param(req, "cursor"),
    )
    .await?;
    ApiResponse::ok(&ListEnvelope {
        items: page.items,
        next_cursor: page.next_cursor,
    })
}

#[derive(OpenApi)]
#[openapi(
    paths(
        create_org,
        list_orgs,
        get_org,
        invite,
        list_invitations,
        cancel_invitation,
        list_members,
        change_role,
        remove_member,
        create_key,
        list_keys,
        get_key,
        revoke_key,
        grant,
        list_grants,
        revoke_grant,
        audit_log
    ),
    components(schemas(
        CreateOrg,
        Organization,
        Membership,
        OrgKind,
        Problem,
        InviteBody,
        RoleBody,
        ApiKeyBody,
        GrantBody,
        InvitationSent,
        Invitation,
        CreatedKey,
        ApiKey,
        AgencyGrant,
        AuditEntry
    ))
)]
pub struct Api;

pub fn openapi() -> utoipa::openapi::OpenApi {
    Api::openapi()
}
