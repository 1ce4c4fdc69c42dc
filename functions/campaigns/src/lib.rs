//! `/v1/campaigns/**`: a brand's campaigns (CRUD of drafts, lifecycle
//! transitions, matches), direct invitations, and applications (creators
//! apply; the brand shortlists, rejects, counters or accepts — acceptance
//! creates the contract).

use std::sync::Arc;

use lambda_http::{Body, Request, Response};
use nexus_core::ids::{ApplicationId, CampaignId, OrgId, UserId};
use nexus_core::plans::Plan;
use nexus_core::principal::{Permission, Principal};
use nexus_core::user::AccountType;
use nexus_core::{Error, Problem};
use nexus_http::idempotency::idempotent;
use nexus_http::{
    json_body, limit_param, path_param, principal, query_param, route_key, serve, ApiResponse,
    ListEnvelope,
};
use nexus_market::application::{Application, ApplyInput, DecisionInput, InviteInput};
use nexus_market::campaign::{Campaign, CampaignInput};
use nexus_market::contract::Contract;
use nexus_market::lifecycle::CampaignStatus;
use nexus_market::{discovery, flows, repo};
use nexus_matching::Embedder;
use nexus_search::CreatorSearch;
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

#[derive(Clone)]
pub struct State {
    pub platform: nexus_ports::Platform,
    pub search: Arc<dyn CreatorSearch>,
    /// Text embeddings for matching: Bedrock Titan, or the offline
    /// `local-hashing-vectoriser` (`EMBEDDINGS=local-hashing`).
    pub embedder: Arc<dyn Embedder>,
}

/// The ports this function calls (the table with paging, the creator index
/// replica, and `embedder`): `main.rs` wires them from AWS, the local
/// platform from its stand-ins (and the local-hashing vectoriser).
pub async fn state(
    w: &(impl nexus_ports::WirePaging + nexus_ports::WireSearch),
    embedder: Arc<dyn Embedder>,
) -> Result<State, String> {
    Ok(State {
        platform: nexus_ports::Platform::new(w)?.paging(w)?,
        search: w.search_replica().await?,
        embedder,
    })
}

/// The embedder `EMBEDDINGS` selects: Bedrock Titan v2 (`bedrock`, the
/// default) or the offline `local-hashing` vectoriser.
pub fn embedder_from_env(sdk: &nexus_ports::SdkConfig) -> Result<Arc<dyn Embedder>, String> {
    match std::env::var("EMBEDDINGS").as_deref() {
        Ok("bedrock") | Err(_) => Ok(Arc::new(
            nexus_matching::BedrockEmbedder::new(aws_sdk_bedrockruntime::Client::new(sdk), 512)
                .map_err(|e| e.to_string())?,
        )),
        Ok("local-hashing") => Ok(Arc::new(nexus_matching::LocalHashingVectoriser::default())),
        Ok(other) => Err(format!("EMBEDDINGS={other}: use bedrock or local-hashing")),
    }
}

pub async fn handler(state: &State, req: Request) -> Response<Body> {
    serve(req, |req| async move {
        match route_key(&req).as_str() {
            "POST /v1/campaigns" => create(state, &req).await,
            "GET /v1/campaigns" => list(state, &req).await,
            "GET /v1/campaigns/{campaignId}" => get(state, &req).await,
            "PATCH /v1/campaigns/{campaignId}" => update(state, &req).await,
            "DELETE /v1/campaigns/{campaignId}" => delete(state, &req).await,
            "POST /v1/campaigns/{campaignId}/transitions" => transition(state, &req).await,
            "GET /v1/campaigns/{campaignId}/matches" => matches(state, &req).await,
            "POST /v1/campaigns/{campaignId}/invitations" => invite(state, &req).await,
            "POST /v1/campaigns/{campaignId}/applications" => apply(state, &req).await,
            "GET /v1/campaigns/{campaignId}/applications" => list_applications(state, &req).await,
            "GET /v1/campaigns/{campaignId}/applications/{applicationId}" => {
                get_application(state, &req).await
            }
            "POST /v1/campaigns/{campaignId}/applications/{applicationId}/decisions" => {
                decide(state, &req).await
            }
            "POST /v1/campaigns/{campaignId}/applications/{applicationId}/withdraw" => {
                withdraw(state, &req).await
            }
            _ => Err(Error::RouteNotFound {
                method: req.method().to_string(),
                path: req.uri().path().into(),
            }),
        }
    })
    .await
}

fn campaign_id(req: &Request) -> Result<CampaignId, Error> {
    path_param(req, "campaignId", "campaign")
}

/// The caller's brand organization, with permission `p` there.
fn brand(caller: &Principal, p: Permission) -> Result<OrgId, Error> {
    let org = caller.org.clone().ok_or(Error::NotFound {
        resource: "campaign",
    })?;
    caller.require(&org, p, "campaign")?;
    Ok(org)
}

async fn plan_of(state: &State, org: &OrgId) -> Result<Plan, Error> {
    Ok(nexus_store::repos::orgs::get(&state.platform.store, org)
        .await?
        .ok_or(Error::NotFound {
            resource: "organization",
        })?
        .plan)
}

const P400: &str = "Invalid fields (each with its JSON pointer)";

/// Create a campaign as a draft. Everything but the title may come later; what is given is validated.
#[utoipa::path(post, path = "/v1/campaigns", tag = "campaigns", operation_id = "create_campaign", request_body = CampaignInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")), security(("bearer" = [])),
    responses((status = 201, description = "The draft", body = Campaign),
              (status = 400, description = P400, body = Problem, content_type = "application/problem+json"),
              (status = 403, description = "Needs campaigns:write", body = Problem, content_type = "application/problem+json"),
              (status = 404, description = "The caller acts in no brand organization", body = Problem, content_type = "application/problem+json"),
              (status = 409, description = "The same Idempotency-Key is still in progress (`Retry-After`)", body = Problem, content_type = "application/problem+json"),
              (status = 422, description = "Idempotency-Key reused with another body", body = Problem, content_type = "application/problem+json")))]
async fn create(state: &State, req: &Request) -> Result<ApiResponse, Error> {
    let caller = principal(req)?;
    let org = brand(&caller, Permission::CampaignsWrite)?;
    let body: CampaignInput = json_body(req)?;
    let now = state.platform.clock.now();
    idempotent(&state.platform.store, &caller, req, now, || async {
        let c = flows::create_campaign(&state.platform.store, &org, &caller.id, body, now).await?;
        ApiResponse::created(&c, format!("/v1/campaigns/{}", c.id))
    })
    .await
}

/// The organization's campaigns, newest first.
#[utoipa::path(get, path = "/v1/campaigns", tag = "campaigns", operation_id = "list_campaigns",
    params(("limit" = Option<u32>, Query, description = "1–100"), ("cursor" = Option<String>, Query, description = "")), security(("bearer" = [])),
    responses((status = 200, description = "`{items, nextCursor}`", body = ListEnvelope<Campaign>),
              (status = 404, description = "The caller acts in no brand organization", body = Problem, content_type = "application/problem+json")))]
async fn list(state: &State, req: &Request) -> Result<ApiResponse, Error> {
    let org = brand(&principal(req)?, Permission::CampaignsRead)?;
    let page = repo::campaigns_of(
        &state.platform.store,
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

/// One campaign (brand members; creators use the marketplace).
#[utoipa::path(get, path = "/v1/campaigns/{campaignId}", tag = "campaigns", operation_id = "get_campaign",
    params(("campaignId" = String, Path, description = "`cmp_…`")), security(("bearer" = [])),
    responses((status = 200, description = "The campaign", body = Campaign),
              (status = 404, description = "Not found (or another tenant's)", body = Problem, content_type = "application/problem+json")))]
async fn get(state: &State, req: &Request) -> Result<ApiResponse, Error> {
    let org = brand(&principal(req)?, Permission::CampaignsRead)?;
    ApiResponse::ok(&repo::campaign(&state.platform.store, &org, &campaign_id(req)?).await?)
}

/// Edit a draft; each section given replaces the draft's.
#[utoipa::path(patch, path = "/v1/campaigns/{campaignId}", tag = "campaigns", operation_id = "update_campaign", request_body = CampaignInput,
    params(("campaignId" = String, Path, description = "`cmp_…`")), security(("bearer" = [])),
    responses((status = 200, description = "The draft", body = Campaign),
              (status = 400, description = P400, body = Problem, content_type = "application/problem+json"),
              (status = 409, description = "Not a draft any more", body = Problem, content_type = "application/problem+json")))]
async fn update(state: &State, req: &Request) -> Result<ApiResponse, Error> {
    let caller = principal(req)?;
    let org = brand(&caller, Permission::CampaignsWrite)?;
    let body: CampaignInput = json_body(req)?;
    let c = flows::update_campaign(
        &state.platform.store,
        &org,
        &campaign_id(req)?,
        &caller.id,
        body,
        state.platform.clock.now(),
    )
    .await?;
    ApiResponse::ok(&c)
}

/// Delete a draft. Published campaigns are cancelled (and archived) through transitions.
#[utoipa::path(delete, path = "/v1/campaigns/{campaignId}", tag = "campaigns", operation_id = "delete_campaign",
    params(("campaignId" = String, Path, description = "`cmp_…`")), security(("bearer" = [])),
    responses((status = 204, description = "Deleted"),
              (status = 404, description = "Not found", body = Problem, content_type = "application/problem+json"),
              (status = 409, description = "Not a draft", body = Problem, content_type = "application/problem+json")))]
async fn delete(state: &State, req: &Request) -> Result<ApiResponse, Error> {
    let caller = principal(req)?;
    let org = brand(&caller, Permission::CampaignsWrite)?;
    flows::delete_campaign(
        &state.platform.store,
        &org,
        &campaign_id(req)?,
        &caller.id,
        state.platform.clock.now(),
    )
    .await?;
    Ok(ApiResponse::no_content())
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct TransitionBody {
    /// `PUBLISHED`, `PAUSED`, `CANCELLED`, `COMPLETED`, `ARCHIVED`, or the state a paused campaign resumes to.
    pub to: Option<String>,
}

/// Move the campaign through its lifecycle. A move the lifecycle doesn't
/// allow is a 409 whose `allowed` lists the moves open from here; publishing
/// an incomplete campaign is a 400 naming what is missing; publishing beyond
/// the plan's active campaigns is a 402.
#[utoipa::path(post, path = "/v1/campaigns/{campaignId}/transitions", tag = "campaigns", operation_id = "transition_campaign", request_body = TransitionBody,
    params(("campaignId" = String, Path, description = "`cmp_…`")), security(("bearer" = [])),
    responses((status = 200, description = "The campaign in its new state", body = Campaign),
              (status = 400, description = "Unknown state, or publishing needs more", body = Problem, content_type = "application/problem+json"),
              (status = 402, description = "Plan limit: active campaigns", body = Problem, content_type = "application/problem+json"),
              (status = 409, description = "Transition not allowed (`allowed` lists the valid ones)", body = Problem, content_type = "application/problem+json")))]
async fn transition(state: &State, req: &Request) -> Result<ApiResponse, Error> {
    let caller = principal(req)?;
    let org = brand(&caller, Permission::CampaignsWrite)?;
    let body: TransitionBody = json_body(req)?;
    let mut v = nexus_core::validation::Validator::new();
    let to = v.parse(
        "/to",
        body.to.as_deref(),
        "unknown_value",
        CampaignStatus::parse,
    );
    v.finish()?;
    let to = to.ok_or_else(|| Error::internal("validated"))?;
    let plan = plan_of(state, &org).await?;
    let c = flows::transition_campaign(
        &state.platform.store,
        &org,
        &campaign_id(req)?,
        to,
        plan,
        &caller.id,
        state.platform.clock.now(),
    )
    .await?;
    ApiResponse::ok(&c)
}

/// One ranked creator with the score of each factor.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MatchItem {
    pub creator_id: String,
    pub handle: String,
    pub display_name: String,
    /// 0–100.
    pub score: f64,
    /// `audienceOverlap`, `contentSimilarity`, `performance`, `budgetFit`, `brandSafety`: score 0–1, weight, contribution and explanation.
    #[schema(value_type = Vec<Object>)]
    pub factors: Vec<nexus_matching::Factor>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Matches {
    pub items: Vec<MatchItem>,
    /// Which embedder measured content similarity (`local-hashing-vectoriser` offline).
    pub embedder: String,
    pub candidates: usize,
}

/// Creators ranked for this campaign by an explainable score: audience
/// overlap with the target, niche/style similarity (text embeddings),
/// performance history, budget fit and brand safety.
#[utoipa::path(get, path = "/v1/campaigns/{campaignId}/matches", tag = "campaigns", operation_id = "campaign_matches",
    params(("campaignId" = String, Path, description = "`cmp_…`"), ("limit" = Option<u32>, Query, description = "1–100, default 20")), security(("bearer" = [])),
    responses((status = 200, description = "Best matches first", body = Matches),
              (status = 404, description = "No such campaign", body = Problem, content_type = "application/problem+json")))]
async fn matches(state: &State, req: &Request) -> Result<ApiResponse, Error> {
    let org = brand(&principal(req)?, Permission::CampaignsRead)?;
    let limit = query_param(req, "limit")
        .map(|_| limit_param(req))
        .transpose()?
        .unwrap_or(20) as usize;
    let c = repo::campaign(&state.platform.store, &org, &campaign_id(req)?).await?;
    // Candidates from the index (two pages of 100), then full profiles for scoring.
    let mut ids = vec![];
    let mut q = discovery::candidate_query(&c, 100);
    for _ in 0..2 {
        let page = state.search.search(&q).await?;
        ids.extend(page.hits.into_iter().map(|h| h.creator_id));
        match page.next_cursor {
            Some(cur) => q.cursor = Some(cur),
            None => break,
        }
    }
    let mut tasks = tokio::task::JoinSet::new();
    for id in ids {
        let store = state.platform.store.clone();
        tasks.spawn(async move {
            match id.parse::<UserId>() {
                Ok(id) => repo::profile(&store, &id).await,
                Err(_) => Ok(None),
            }
        });
    }
    let mut profiles = vec![];
    while let Some(r) = tasks.join_next().await {
        if let Some(p) = r.map_err(Error::internal)?? {
            if c.ineligibility(&p).is_none() {
                profiles.push(p);
            }
        }
    }
    let features: Vec<_> = profiles
        .iter()
        .map(|p| discovery::features(p, &c))
        .collect();
    let ranked =
        nexus_matching::rank(&discovery::target(&c), &features, state.embedder.as_ref()).await?;
    let items = ranked
        .into_iter()
        .take(limit)
        .filter_map(|(id, s)| {
            let p = profiles.iter().find(|p| p.creator_id.as_str() == id)?;
            Some(MatchItem {
                creator_id: id,
                handle: p.handle.clone(),
                display_name: p.display_name.clone(),
                score: s.total,
                factors: s.factors,
            })
        })
        .collect();
    ApiResponse::ok(&Matches {
        items,
        embedder: state.embedder.name().to_owned(),
        candidates: profiles.len(),
    })
}

/// Invite a creator directly (also into invite-only campaigns).
#[utoipa::path(post, path = "/v1/campaigns/{campaignId}/invitations", tag = "applications", operation_id = "invite_creator", request_body = InviteInput,
    params(("campaignId" = String, Path, description = "`cmp_…`"), ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")), security(("bearer" = [])),
    responses((status = 201, description = "The invitation (an application in state `invited`)", body = Application),
              (status = 400, description = P400, body = Problem, content_type = "application/problem+json"),
              (status = 409, description = "Already invited or applied; campaign not running", body = Problem, content_type = "application/problem+json")))]
async fn invite(state: &State, req: &Request) -> Result<ApiResponse, Error> {
    let caller = principal(req)?;
    let org = brand(&caller, Permission::CampaignsWrite)?;
    let id = campaign_id(req)?;
    let body: InviteInput = json_body(req)?;
    let mut v = nexus_core::validation::Validator::new();
    let creator = v.parse(
        "/creatorId",
        body.creator_id.as_deref(),
        "invalid_format",
        |s| {
            s.parse::<UserId>()
                .map_err(|_| "a creator's user id (usr_…)")
        },
    );
    let message = body
        .message
        .and_then(|m| v.text("/message", Some(m), 0, 1000));
    v.finish()?;
    let creator = creator.ok_or_else(|| Error::internal("validated"))?;
    let now = state.platform.clock.now();
    idempotent(&state.platform.store, &caller, req, now, || async {
        let a = flows::invite(
            &state.platform.store,
            &org,
            &id,
            &creator,
            message,
            &caller.id,
            now,
        )
        .await?;
        ApiResponse::created(&a, format!("/v1/campaigns/{id}/applications/{}", a.id))
    })
    .await
}

/// Apply to a campaign (creator accounts): pitch, proposed fee in the campaign's currency, sample links.
#[utoipa::path(post, path = "/v1/campaigns/{campaignId}/applications", tag = "applications", operation_id = "apply",
    request_body = ApplyInput, params(("campaignId" = String, Path, description = "`cmp_…`"), ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")), security(("bearer" = [])),
    responses((status = 201, description = "The application", body = Application),
              (status = 400, description = P400, body = Problem, content_type = "application/problem+json"),
              (status = 403, description = "Not a creator account", body = Problem, content_type = "application/problem+json"),
              (status = 404, description = "No such campaign visible to you", body = Problem, content_type = "application/problem+json"),
              (status = 409, description = "Closed, not eligible, or already applied", body = Problem, content_type = "application/problem+json")))]
async fn apply(state: &State, req: &Request) -> Result<ApiResponse, Error> {
    let caller = principal(req)?;
    let me = caller.creator_id()?;
    let id = campaign_id(req)?;
    let body: ApplyInput = json_body(req)?;
    let now = state.platform.clock.now();
    idempotent(&state.platform.store, &caller, req, now, || async {
        let a = flows::apply(&state.platform.store, &id, &me, body, now).await?;
        ApiResponse::created(&a, format!("/v1/campaigns/{id}/applications/{}", a.id))
    })
    .await
}

/// Applications and invitations of a campaign (brand).
#[utoipa::path(get, path = "/v1/campaigns/{campaignId}/applications", tag = "applications", operation_id = "list_applications",
    params(("campaignId" = String, Path, description = "`cmp_…`"), ("limit" = Option<u32>, Query, description = "1–100"), ("cursor" = Option<String>, Query, description = "")), security(("bearer" = [])),
    responses((status = 200, description = "`{items, nextCursor}`", body = ListEnvelope<Application>)))]
async fn list_applications(state: &State, req: &Request) -> Result<ApiResponse, Error> {
    let org = brand(&principal(req)?, Permission::CampaignsRead)?;
    let id = campaign_id(req)?;
    repo::campaign(&state.platform.store, &org, &id).await?;
    let page = repo::applications_of_campaign(
        &state.platform.store,
        &org,
        &id,
        limit_param(req)?,
        query_param(req, "cursor"),
    )
    .await?;
    ApiResponse::ok(&ListEnvelope {
        items: page.items,
        next_cursor: page.next_cursor,
    })
}

async fn application_for(
    state: &State,
    caller: &Principal,
    req: &Request,
) -> Result<(OrgId, Application), Error> {
    let id = campaign_id(req)?;
    let app: ApplicationId = path_param(req, "applicationId", "application")?;
    if caller.account == Some(AccountType::Creator) {
        let me = caller.user_id()?;
        let org = repo::tenant_of(
            &state.platform.store,
            &format!("CAMPAIGN#{id}"),
            "application",
        )
        .await?;
        let a = repo::application(&state.platform.store, &org, &id, &app).await?;
        if a.creator_id != me {
            return Err(Error::NotFound {
                resource: "application",
            });
        }
        return Ok((org, a));
    }
    let org = caller.org.clone().ok_or(Error::NotFound {
        resource: "application",
    })?;
    caller.require(&org, Permission::CampaignsRead, "application")?;
    Ok((
        org.clone(),
        repo::application(&state.platform.store, &org, &id, &app).await?,
    ))
}

/// One application (the brand, or the creator who applied).
#[utoipa::path(get, path = "/v1/campaigns/{campaignId}/applications/{applicationId}", tag = "applications", operation_id = "get_application",
    params(("campaignId" = String, Path, description = "`cmp_…`"), ("applicationId" = String, Path, description = "`app_…`")), security(("bearer" = [])),
    responses((status = 200, description = "The application", body = Application),
              (status = 404, description = "Not found", body = Problem, content_type = "application/problem+json")))]
async fn get_application(state: &State, req: &Request) -> Result<ApiResponse, Error> {
    let caller = principal(req)?;
    ApiResponse::ok(&application_for(state, &caller, req).await?.1)
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DecisionResult {
    pub application: Application,
    /// Created when the decision is `accept`; both parties then accept its terms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contract: Option<Contract>,
}

/// Shortlist, reject (with a reason), counter-offer (fee, note) or accept.
/// Accepting reserves the fee in the budget and a creator slot of the plan,
/// and creates the contract; going over either is a 409 / 402.
#[utoipa::path(post, path = "/v1/campaigns/{campaignId}/applications/{applicationId}/decisions", tag = "applications", operation_id = "decide_application",
    request_body = DecisionInput, params(("campaignId" = String, Path, description = "`cmp_…`"), ("applicationId" = String, Path, description = "`app_…`")), security(("bearer" = [])),
    responses((status = 200, description = "Decided", body = DecisionResult),
              (status = 400, description = P400, body = Problem, content_type = "application/problem+json"),
              (status = 402, description = "Plan limit: creators per campaign", body = Problem, content_type = "application/problem+json"),
              (status = 409, description = "Budget exceeded, decision not open, campaign not running", body = Problem, content_type = "application/problem+json")))]
async fn decide(state: &State, req: &Request) -> Result<ApiResponse, Error> {
    let caller = principal(req)?;
    let org = brand(&caller, Permission::CampaignsWrite)?;
    let app: ApplicationId = path_param(req, "applicationId", "application")?;
    let body: DecisionInput = json_body(req)?;
    let plan = plan_of(state, &org).await?;
    let (application, contract) = flows::decide(
        &state.platform.store,
        flows::Brand {
            org: &org,
            plan,
            actor: &caller.id,
        },
        &campaign_id(req)?,
        &app,
        body,
        state.platform.clock.now(),
    )
    .await?;
    ApiResponse::ok(&DecisionResult {
        application,
        contract,
    })
}

/// Withdraw your application or decline an invitation (creator).
#[utoipa::path(post, path = "/v1/campaigns/{campaignId}/applications/{applicationId}/withdraw", tag = "applications", operation_id = "withdraw_application",
    params(("campaignId" = String, Path, description = "`cmp_…`"), ("applicationId" = String, Path, description = "`app_…`")), security(("bearer" = [])),
    responses((status = 200, description = "Withdrawn", body = Application),
              (status = 404, description = "Not your application", body = Problem, content_type = "application/problem+json"),
              (status = 409, description = "Already decided", body = Problem, content_type = "application/problem+json")))]
async fn withdraw(state: &State, req: &Request) -> Result<ApiResponse, Error> {
    let caller = principal(req)?;
    let me = caller.creator_id()?;
    let (_, a) = application_for(state, &caller, req).await?;
    let a = flows::withdraw(
        &state.platform.store,
        &a.campaign_id,
        &me,
        state.platform.clock.now(),
    )
    .await?;
    ApiResponse::ok(&a)
}

#[derive(OpenApi)]
#[openapi(
    paths(
        create,
        list,
        get,
        update,
        delete,
        transition,
        matches,
        invite,
        apply,
        list_applications,
        get_application,
        decide,
        withdraw
    ),
    components(schemas(
        Campaign,
        CampaignInput,
        TransitionBody,
        Matches,
        MatchItem,
        Application,
        ApplyInput,
        InviteInput,
        DecisionInput,
        DecisionResult,
        Contract,
        Problem
    ))
)]
pub struct Api;

pub fn openapi() -> utoipa::openapi::OpenApi {
    Api::openapi()
}
