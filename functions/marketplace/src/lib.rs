//! `/v1/marketplace/**`: creators browse the public campaigns that are open
//! for applications and that they are eligible for (country, language,
//! platforms, followers), with filters and text search.

use lambda_http::{Body, Request, Response};
use nexus_core::ids::CampaignId;
use nexus_core::validation::Validator;
use nexus_core::{Error, Problem};
use nexus_http::{
    limit_param, path_param, principal, query_param, route_key, serve, ApiResponse, ListEnvelope,
};
use nexus_market::campaign::{CampaignType, MarketCampaign};
use nexus_market::vocab::SocialPlatform;
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
            "GET /v1/marketplace/campaigns" => browse(state, &req).await,
            "GET /v1/marketplace/campaigns/{campaignId}" => get(state, &req).await,
            _ => Err(Error::RouteNotFound {
                method: req.method().to_string(),
                path: req.uri().path().into(),
            }),
        }
    })
    .await
}

/// Open campaigns you can apply to, newest first. A page may hold fewer
/// than `limit` items (eligibility is checked per page); follow `nextCursor`.
#[utoipa::path(get, path = "/v1/marketplace/campaigns", tag = "marketplace", operation_id = "browse_campaigns",
    params(
        ("type" = Option<String>, Query, description = "`ugc`, `brand_ambassador`, `product_review`, `social_media`, `influencer`, `event`"),
        ("platform" = Option<String>, Query, description = "A deliverable on this platform"),
        ("niche" = Option<String>, Query, description = ""),
        ("q" = Option<String>, Query, description = "Words in the title, brief or niches"),
        ("limit" = Option<u32>, Query, description = "1–100"), ("cursor" = Option<String>, Query, description = ""),
    ),
    security(("bearer" = [])),
    responses((status = 200, description = "`{items, nextCursor}`", body = ListEnvelope<MarketCampaign>),
              (status = 400, description = "Bad filter", body = Problem, content_type = "application/problem+json"),
              (status = 403, description = "Not a creator account", body = Problem, content_type = "application/problem+json"),
              (status = 409, description = "No creator profile yet", body = Problem, content_type = "application/problem+json")))]
async fn browse(state: &State, req: &Request) -> Result<ApiResponse, Error> {
    let me = principal(req)?.creator_id()?;
    let mut v = Validator::new();
    let kind = query_param(req, "type")
        .and_then(|t| v.parse("query/type", Some(&t), "unknown_value", CampaignType::parse));
    let platform = query_param(req, "platform").and_then(|p| {
        v.parse(
            "query/platform",
            Some(&p),
            "unknown_value",
            SocialPlatform::parse,
        )
    });
    v.finish()?;
    let niche = query_param(req, "niche").map(|n| n.trim().to_lowercase());
    let text = query_param(req, "q");
    let profile = repo::profile(&state.store, &me).await?.ok_or_else(|| {
        Error::conflict(
            "no-profile",
            "create your creator profile first: eligibility depends on it",
        )
    })?;
    let now = state.clock.now();
    let page =
        repo::marketplace(&state.store, limit_param(req)?, query_param(req, "cursor")).await?;
    let items: Vec<MarketCampaign> = page
        .items
        .iter()
        .filter(|c| c.open_for_applications(now) && c.ineligibility(&profile).is_none())
        .filter(|c| c.matches_filters(kind, platform, niche.as_deref(), text.as_deref()))
        .map(MarketCampaign::from)
        .collect();
    ApiResponse::ok(&ListEnvelope {
        items,
        next_cursor: page.next_cursor,
    })
}

/// One campaign as creators see it (public ones, or invite-only ones you were invited to).
#[utoipa::path(get, path = "/v1/marketplace/campaigns/{campaignId}", tag = "marketplace", operation_id = "get_market_campaign",
    params(("campaignId" = String, Path, description = "`cmp_…`")), security(("bearer" = [])),
    responses((status = 200, description = "The campaign", body = MarketCampaign),
              (status = 404, description = "Not visible to you", body = Problem, content_type = "application/problem+json")))]
async fn get(state: &State, req: &Request) -> Result<ApiResponse, Error> {
    let me = principal(req)?.creator_id()?;
    let id: CampaignId = path_param(req, "campaignId", "campaign")?;
    let c = flows::campaign_for_creator(&state.store, &id, &me).await?;
    ApiResponse::ok(&MarketCampaign::from(&c))
}

#[derive(OpenApi)]
#[openapi(paths(browse, get), components(schemas(MarketCampaign, Problem)))]
pub struct Api;

pub fn openapi() -> utoipa::openapi::OpenApi {
    Api::openapi()
}
