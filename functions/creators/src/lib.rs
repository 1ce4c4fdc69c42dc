//! `/v1/creators/**`: creator discovery for brands (search with filters,
//! one profile) and the creator's own profile (`/v1/creators/me`: profile,
//! social accounts, portfolio, verification requests).

use std::collections::BTreeMap;
use std::sync::Arc;

use lambda_http::{Body, Request, Response};
use nexus_core::ids::UserId;
use nexus_core::principal::{Permission, Principal};
use nexus_core::user::AccountType;
use nexus_core::{Error, Problem};
use nexus_http::idempotency::idempotent;
use nexus_http::{
    json_body, limit_param, path_param, principal, query_param, route_key, serve, ApiResponse,
    ListEnvelope,
};
use nexus_market::creator::{
    CreatorProfile, PortfolioInput, ProfileInput, SocialAccountInput, VerificationInput,
    VerificationRequest,
};
use nexus_market::vocab::SocialPlatform;
use nexus_market::{discovery, flows, repo};
use nexus_search::CreatorSearch;
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

#[derive(Clone)]
pub struct State {
    pub platform: nexus_ports::Platform,
    /// Read replica of the creator index (see `shared/search/README.md`).
    pub search: Arc<dyn CreatorSearch>,
}

/// The ports this function calls: `main.rs` wires them from AWS (the index
/// snapshot in the media bucket, refreshed every 30 s), the local platform
/// from its stand-ins.
pub async fn state(
    w: &(impl nexus_ports::WirePaging + nexus_ports::WireSearch),
) -> Result<State, String> {
    Ok(State {
        platform: nexus_ports::Platform::new(w)?.paging(w)?,
        search: w.search_replica().await?,
    })
}

pub async fn handler(state: &State, req: Request) -> Response<Body> {
    serve(req, |req| async move {
        match route_key(&req).as_str() {
            "GET /v1/creators" => search(state, &req).await,
            "GET /v1/creators/{creatorId}" => get(state, &req).await,
            "GET /v1/creators/me" => me(state, &req).await,
            "PUT /v1/creators/me" => save(state, &req).await,
            "DELETE /v1/creators/me" => delete(state, &req).await,
            "POST /v1/creators/me/social-accounts" => link(state, &req).await,
            "DELETE /v1/creators/me/social-accounts/{platform}" => unlink(state, &req).await,
            "POST /v1/creators/me/portfolio" => add_portfolio(state, &req).await,
            "DELETE /v1/creators/me/portfolio/{itemId}" => remove_portfolio(state, &req).await,
            "POST /v1/creators/me/verification-requests" => request_verification(state, &req).await,
            "GET /v1/creators/me/verification-requests" => list_verifications(state, &req).await,
            _ => Err(Error::RouteNotFound {
                method: req.method().to_string(),
                path: req.uri().path().into(),
            }),
        }
    })
    .await
}

/// Brand members (or API keys) with `campaigns:read` in their active organization.
fn brand_reader(caller: &Principal) -> Result<(), Error> {
    let org = caller
        .org
        .clone()
        .ok_or_else(|| Error::Forbidden("creator discovery is for brand organizations".into()))?;
    caller.require(&org, Permission::CampaignsRead, "creator")
}

/// One search hit with the profile it points at.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SearchResult {
    /// Text relevance (0 when sorting by a field).
    pub score: f32,
    pub creator: CreatorProfile,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SearchResults {
    pub items: Vec<SearchResult>,
    /// Matches of the query in total.
    pub total: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

const SEARCH_PARAMS: &[&str] = &[
    "q",
    "niche",
    "platform",
    "followersMin",
    "followersMax",
    "engagementMin",
    "engagementMax",
    "country",
    "language",
    "audienceCountry",
    "audienceAge",
    "audienceGender",
    "rateMin",
    "rateMax",
    "currency",
    "verified",
    "reputationMin",
    "sort",
    "limit",
    "cursor",
];

/// Search creators: free text over handle, name, niches and bio, with filters and sorting.
#[utoipa::path(get, path = "/v1/creators", tag = "creators", operation_id = "search_creators",
    params(
        ("q" = Option<String>, Query, description = "Free text over handle, display name, niches and bio"),
        ("niche" = Option<String>, Query, description = "Comma-separated niches (any of)"),
        ("platform" = Option<String>, Query, description = "Follower/engagement ranges apply to this platform"),
        ("followersMin" = Option<u64>, Query, description = ""), ("followersMax" = Option<u64>, Query, description = ""),
        ("engagementMin" = Option<f64>, Query, description = "Fraction 0–1"), ("engagementMax" = Option<f64>, Query, description = "Fraction 0–1"),
        ("country" = Option<String>, Query, description = "Creator's country (ISO 3166-1)"), ("language" = Option<String>, Query, description = "ISO 639-1"),
        ("audienceCountry" = Option<String>, Query, description = "`US:0.3`: at least 30 % of the audience in the US"),
        ("audienceAge" = Option<String>, Query, description = "`18-24:0.4`"), ("audienceGender" = Option<String>, Query, description = "`female:0.5`"),
        ("rateMin" = Option<i64>, Query, description = "Minor units"), ("rateMax" = Option<i64>, Query, description = "Minor units"),
        ("currency" = Option<String>, Query, description = "Currency of the rate range / rate sort"),
        ("verified" = Option<bool>, Query, description = ""), ("reputationMin" = Option<f64>, Query, description = "0–100"),
        ("sort" = Option<String>, Query, description = "`relevance` (default), `followers`, `engagement`, `reputation`, `rate`, `newest`"),
        ("limit" = Option<u32>, Query, description = "1–100, default 20"), ("cursor" = Option<String>, Query, description = "`nextCursor` of the previous page"),
    ),
    security(("bearer" = [])),
    responses((status = 200, description = "One page of matching creators", body = SearchResults),
              (status = 400, description = "Bad filter (field pointer `query/<name>`)", body = Problem, content_type = "application/problem+json"),
              (status = 403, description = "Not a brand member with campaigns:read", body = Problem, content_type = "application/problem+json")))]
async fn search(state: &State, req: &Request) -> Result<ApiResponse, Error> {
    brand_reader(&principal(req)?)?;
    let params: BTreeMap<String, String> = SEARCH_PARAMS
        .iter()
        .filter_map(|k| query_param(req, k).map(|v| ((*k).to_owned(), v)))
        .collect();
    let q = discovery::parse_query(&params)?;
    let page = state.search.search(&q).await?;
    let mut tasks = tokio::task::JoinSet::new();
    for (i, hit) in page.hits.iter().enumerate() {
        let store = state.platform.store.clone();
        let id: Option<UserId> = hit.creator_id.parse().ok();
        tasks.spawn(async move {
            match id {
                Some(id) => (i, repo::profile(&store, &id).await),
                None => (i, Ok(None)),
            }
        });
    }
    let mut found: Vec<(usize, CreatorProfile)> = vec![];
    while let Some(r) = tasks.join_next().await {
        let (i, p) = r.map_err(Error::internal)?;
        // A profile the index still has but the table no longer does is skipped.
        if let Some(p) = p? {
            found.push((i, p));
        }
    }
    found.sort_by_key(|(i, _)| *i);
    ApiResponse::ok(&SearchResults {
        items: found
            .into_iter()
            .map(|(i, creator)| SearchResult {
                score: page.hits[i].score,
                creator,
            })
            .collect(),
        total: page.total,
        next_cursor: page.next_cursor,
    })
}

/// A creator's profile, with badges and reputation factor by factor. Brands with `campaigns:read`, or the creator.
#[utoipa::path(get, path = "/v1/creators/{creatorId}", tag = "creators", operation_id = "get_creator",
    params(("creatorId" = String, Path, description = "The creator's user id (`usr_…`)")), security(("bearer" = [])),
    responses((status = 200, description = "The profile", body = CreatorProfile),
              (status = 404, description = "No such creator profile", body = Problem, content_type = "application/problem+json")))]
async fn get(state: &State, req: &Request) -> Result<ApiResponse, Error> {
    let caller = principal(req)?;
    let id: UserId = path_param(req, "creatorId", "creator profile")?;
    let own = caller.account == Some(AccountType::Creator) && caller.id == id.as_str();
    if !own {
        brand_reader(&caller).map_err(|e| match e {
            Error::NotFound { .. } => Error::NotFound {
                resource: "creator profile",
            },
            other => other,
        })?;
    }
    ApiResponse::ok(&flows::my_profile(&state.platform.store, &id).await?)
}

/// Your creator profile.
#[utoipa::path(get, path = "/v1/creators/me", tag = "creator profile", operation_id = "get_my_profile", security(("bearer" = [])),
    responses((status = 200, description = "Your profile", body = CreatorProfile),
              (status = 403, description = "Not a creator account", body = Problem, content_type = "application/problem+json"),
              (status = 404, description = "No profile yet (PUT one)", body = Problem, content_type = "application/problem+json")))]
async fn me(state: &State, req: &Request) -> Result<ApiResponse, Error> {
    let me = principal(req)?.creator_id()?;
    ApiResponse::ok(&flows::my_profile(&state.platform.store, &me).await?)
}

/// Create or replace your profile (handle, bio, niches, languages, location, rate card, availability).
#[utoipa::path(put, path = "/v1/creators/me", tag = "creator profile", operation_id = "save_my_profile", request_body = ProfileInput, security(("bearer" = [])),
    responses((status = 200, description = "Updated", body = CreatorProfile), (status = 201, description = "Created", body = CreatorProfile),
              (status = 400, description = "Invalid fields (e.g. handle taken)", body = Problem, content_type = "application/problem+json"),
              (status = 403, description = "Not a creator account", body = Problem, content_type = "application/problem+json")))]
async fn save(state: &State, req: &Request) -> Result<ApiResponse, Error> {
    let me = principal(req)?.creator_id()?;
    let body: ProfileInput = json_body(req)?;
    let (p, created) =
        flows::save_profile(&state.platform.store, &me, body, state.platform.clock.now()).await?;
    if created {
        ApiResponse::created(&p, "/v1/creators/me")
    } else {
        ApiResponse::ok(&p)
    }
}

/// Delete your profile and free its handle (refused while a contract is open).
#[utoipa::path(delete, path = "/v1/creators/me", tag = "creator profile", operation_id = "delete_my_profile", security(("bearer" = [])),
    responses((status = 204, description = "Deleted"),
              (status = 404, description = "No profile", body = Problem, content_type = "application/problem+json"),
              (status = 409, description = "Open contracts", body = Problem, content_type = "application/problem+json")))]
async fn delete(state: &State, req: &Request) -> Result<ApiResponse, Error> {
    let me = principal(req)?.creator_id()?;
    flows::delete_profile(&state.platform.store, &me, state.platform.clock.now()).await?;
    Ok(ApiResponse::no_content())
}

/// Link (or refresh) the account of one platform with its statistics and audience.
#[utoipa::path(post, path = "/v1/creators/me/social-accounts", tag = "creator profile", operation_id = "link_social_account", request_body = SocialAccountInput, security(("bearer" = [])),
    responses((status = 200, description = "The profile", body = CreatorProfile),
              (status = 400, description = "Invalid fields", body = Problem, content_type = "application/problem+json")))]
async fn link(state: &State, req: &Request) -> Result<ApiResponse, Error> {
    let me = principal(req)?.creator_id()?;
    let body: SocialAccountInput = json_body(req)?;
    let now = state.platform.clock.now();
    let account = body.parse(now)?;
    let p = flows::edit_profile(&state.platform.store, &me, now, |p| {
        p.link(account.clone(), now);
        Ok(())
    })
    .await?;
    ApiResponse::ok(&p)
}

/// Unlink one platform's account.
#[utoipa::path(delete, path = "/v1/creators/me/social-accounts/{platform}", tag = "creator profile", operation_id = "unlink_social_account",
    params(("platform" = String, Path, description = "`tiktok`, `instagram`, `x`, `linkedin`, `youtube`, `pinterest`")), security(("bearer" = [])),
    responses((status = 200, description = "The profile", body = CreatorProfile),
              (status = 404, description = "Not linked", body = Problem, content_type = "application/problem+json")))]
async fn unlink(state: &State, req: &Request) -> Result<ApiResponse, Error> {
    let me = principal(req)?.creator_id()?;
    let raw: String = path_param(req, "platform", "social account")?;
    let platform = SocialPlatform::parse(&raw).map_err(|_| Error::NotFound {
        resource: "social account",
    })?;
    let now = state.platform.clock.now();
    let p =
        flows::edit_profile(&state.platform.store, &me, now, |p| p.unlink(platform, now)).await?;
    ApiResponse::ok(&p)
}

/// Add a portfolio item (a link to your content).
#[utoipa::path(post, path = "/v1/creators/me/portfolio", tag = "creator profile", operation_id = "add_portfolio_item", request_body = PortfolioInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")), security(("bearer" = [])),
    responses((status = 201, description = "The profile with the item", body = CreatorProfile),
              (status = 400, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
              (status = 409, description = "Portfolio full", body = Problem, content_type = "application/problem+json")))]
async fn add_portfolio(state: &State, req: &Request) -> Result<ApiResponse, Error> {
    let caller = principal(req)?;
    let me = caller.creator_id()?;
    let body: PortfolioInput = json_body(req)?;
    let item = body.parse(format!("pf_{}", nexus_core::ids::EventId::new().ulid()))?;
    let now = state.platform.clock.now();
    idempotent(&state.platform.store, &caller, req, now, || async {
        let p = flows::edit_profile(&state.platform.store, &me, now, |p| {
            p.add_portfolio(item.clone(), now)
        })
        .await?;
        ApiResponse::created(&p, "/v1/creators/me")
    })
    .await
}

/// Remove a portfolio item.
#[utoipa::path(delete, path = "/v1/creators/me/portfolio/{itemId}", tag = "creator profile", operation_id = "remove_portfolio_item",
    params(("itemId" = String, Path, description = "`pf_…`")), security(("bearer" = [])),
    responses((status = 200, description = "The profile", body = CreatorProfile),
              (status = 404, description = "No such item", body = Problem, content_type = "application/problem+json")))]
async fn remove_portfolio(state: &State, req: &Request) -> Result<ApiResponse, Error> {
    let me = principal(req)?.creator_id()?;
    let id: String = path_param(req, "itemId", "portfolio item")?;
    let now = state.platform.clock.now();
    let p = flows::edit_profile(&state.platform.store, &me, now, |p| {
        p.remove_portfolio(&id, now)
    })
    .await?;
    ApiResponse::ok(&p)
}

/// Ask NEXUS staff to verify you (social account, document, video selfie or phone).
#[utoipa::path(post, path = "/v1/creators/me/verification-requests", tag = "creator profile", operation_id = "request_verification", request_body = VerificationInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")), security(("bearer" = [])),
    responses((status = 201, description = "Pending review", body = VerificationRequest),
              (status = 400, description = "Invalid fields (e.g. social account not linked)", body = Problem, content_type = "application/problem+json"),
              (status = 404, description = "No creator profile yet (PUT /v1/creators/me first)", body = Problem, content_type = "application/problem+json"),
              (status = 409, description = "One of this kind is already pending", body = Problem, content_type = "application/problem+json")))]
async fn request_verification(state: &State, req: &Request) -> Result<ApiResponse, Error> {
    let caller = principal(req)?;
    let me = caller.creator_id()?;
    let body: VerificationInput = json_body(req)?;
    let now = state.platform.clock.now();
    idempotent(&state.platform.store, &caller, req, now, || async {
        let r = flows::request_verification(&state.platform.store, &me, body, now).await?;
        ApiResponse::created(&r, "/v1/creators/me/verification-requests")
    })
    .await
}

/// Your verification requests, newest first.
#[utoipa::path(get, path = "/v1/creators/me/verification-requests", tag = "creator profile", operation_id = "list_my_verifications",
    params(("limit" = Option<u32>, Query, description = "1–100"), ("cursor" = Option<String>, Query, description = "")), security(("bearer" = [])),
    responses((status = 200, description = "`{items, nextCursor}`", body = ListEnvelope<VerificationRequest>)))]
async fn list_verifications(state: &State, req: &Request) -> Result<ApiResponse, Error> {
    let me = principal(req)?.creator_id()?;
    let page = repo::verifications_of(
        &state.platform.store,
        &me,
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
        search,
        get,
        me,
        save,
        delete,
        link,
        unlink,
        add_portfolio,
        remove_portfolio,
        request_verification,
        list_verifications
    ),
    components(schemas(
        CreatorProfile,
        SearchResults,
        SearchResult,
        ProfileInput,
        SocialAccountInput,
        PortfolioInput,
        VerificationInput,
        VerificationRequest,
        Problem
    ))
)]
pub struct Api;

pub fn openapi() -> utoipa::openapi::OpenApi {
    Api::openapi()
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_route_is_documented_once() {
        let doc = serde_json::to_value(super::openapi()).unwrap();
        let me = &doc["paths"]["/v1/creators/me"];
        for m in ["get", "put", "delete"] {
            assert!(me[m].is_object(), "{m} /v1/creators/me: {me}");
        }
    }
}
