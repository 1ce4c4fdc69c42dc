//! `/v1/contracts/**`: contracts between a brand and a creator — both parties
//! accept the terms (time, IP and the SHA-256 of the canonical terms are
//! kept), cancel by agreement, move deliverables, and the brand rates the
//! creator once the contract is completed.
//!
//! Parties: the contract's creator (creator account) and members of the
//! brand organization (`campaigns:read` to read, `campaigns:write` to act).
//! Anyone else gets 404.

use lambda_http::{Body, Request, Response};
use nexus_core::ids::{CampaignId, ContractId};
use nexus_core::principal::Permission;
use nexus_core::user::AccountType;
use nexus_core::{Error, Problem};
use nexus_http::{
    json_body, limit_param, path_param, principal, query_param, route_key, serve, ApiResponse,
    ListEnvelope,
};
use nexus_market::contract::{AcceptInput, CancelInput, Contract, DeliverableMove, RatingInput};
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
            "GET /v1/contracts" => list(state, &req).await,
            "GET /v1/contracts/{contractId}" => get(state, &req).await,
            "POST /v1/contracts/{contractId}/accept" => accept(state, &req).await,
            "POST /v1/contracts/{contractId}/cancel" => cancel(state, &req).await,
            "POST /v1/contracts/{contractId}/rating" => rate(state, &req).await,
            "POST /v1/contracts/{contractId}/deliverables/{n}/transitions" => {
                move_deliverable(state, &req).await
            }
            _ => Err(Error::RouteNotFound {
                method: req.method().to_string(),
                path: req.uri().path().into(),
            }),
        }
    })
    .await
}

fn contract_id(req: &Request) -> Result<ContractId, Error> {
    path_param(req, "contractId", "contract")
}

/// What a reader sees: past-due deliverables are flagged as of now.
fn view(state: &State, mut k: Contract) -> Contract {
    k.mark_overdue(state.clock.now());
    k
}

/// The caller's contracts: a creator's own, or a brand's for one campaign (`campaignId` required).
#[utoipa::path(get, path = "/v1/contracts", tag = "contracts", operation_id = "list_contracts",
    params(("campaignId" = Option<String>, Query, description = "Brands: the campaign (required)"),
           ("limit" = Option<u32>, Query, description = "1–100, default 50"), ("cursor" = Option<String>, Query, description = "`nextCursor` of the previous page")),
    security(("bearer" = [])),
    responses((status = 200, description = "`{items, nextCursor}`", body = ListEnvelope<Contract>),
              (status = 400, description = "Bad query", body = Problem, content_type = "application/problem+json"),
              (status = 401, description = "No valid credentials", body = Problem, content_type = "application/problem+json")))]
async fn list(state: &State, req: &Request) -> Result<ApiResponse, Error> {
    let caller = principal(req)?;
    let (limit, cursor) = (limit_param(req)?, query_param(req, "cursor"));
    let page = if caller.account == Some(AccountType::Creator) {
        repo::contracts_of_creator(&state.store, &caller.user_id()?, limit, cursor).await?
    } else {
        let org = caller
            .org
            .clone()
            .ok_or(Error::Forbidden("switch to an organization first".into()))?;
        caller.require(&org, Permission::CampaignsRead, "contract")?;
        let campaign: CampaignId = query_param(req, "campaignId")
            .ok_or_else(|| Error::field("query/campaignId", "required", "campaignId is required"))?
            .parse()
            .map_err(|_| Error::field("query/campaignId", "invalid_format", "not a campaign id"))?;
        repo::contracts_of_campaign(&state.store, &org, &campaign, limit, cursor).await?
    };
    ApiResponse::ok(&ListEnvelope {
        items: page.items.into_iter().map(|k| view(state, k)).collect(),
        next_cursor: page.next_cursor,
    })
}

/// One contract, with its terms, `termsHash`, acceptances and deliverables.
#[utoipa::path(get, path = "/v1/contracts/{contractId}", tag = "contracts", operation_id = "get_contract",
    params(("contractId" = String, Path, description = "`ctr_…`")), security(("bearer" = [])),
    responses((status = 200, description = "The contract", body = Contract),
              (status = 404, description = "Not a party to this contract", body = Problem, content_type = "application/problem+json")))]
async fn get(state: &State, req: &Request) -> Result<ApiResponse, Error> {
    let caller = principal(req)?;
    let (k, _) = flows::contract_for(&state.store, &contract_id(req)?, &caller, false).await?;
    ApiResponse::ok(&view(state, k))
}

/// Accept the terms as your party. Send the `termsHash` you were shown; a
/// different hash is a 409 (the terms changed). Both parties: the contract is signed.
#[utoipa::path(post, path = "/v1/contracts/{contractId}/accept", tag = "contracts", operation_id = "accept_contract",
    params(("contractId" = String, Path, description = "`ctr_…`")), request_body = AcceptInput, security(("bearer" = [])),
    responses((status = 200, description = "The contract with the acceptance", body = Contract),
              (status = 400, description = "Missing termsHash", body = Problem, content_type = "application/problem+json"),
              (status = 404, description = "Not a party", body = Problem, content_type = "application/problem+json"),
              (status = 409, description = "Terms changed, already accepted, or not pending", body = Problem, content_type = "application/problem+json")))]
async fn accept(state: &State, req: &Request) -> Result<ApiResponse, Error> {
    let caller = principal(req)?;
    let body: AcceptInput = json_body(req)?;
    let (ip, _) = nexus_http::context::client(req);
    let k = flows::accept_contract(
        &state.store,
        &contract_id(req)?,
        &caller,
        &ip,
        body,
        state.clock.now(),
    )
    .await?;
    ApiResponse::ok(&view(state, k))
}

/// Cancel with a reason. Before signature either party may withdraw; a
/// signed contract is cancelled when the other party agrees (calls this too).
#[utoipa::path(post, path = "/v1/contracts/{contractId}/cancel", tag = "contracts", operation_id = "cancel_contract",
    params(("contractId" = String, Path, description = "`ctr_…`")), request_body = CancelInput, security(("bearer" = [])),
    responses((status = 200, description = "Cancelled, or the cancellation request recorded", body = Contract),
              (status = 400, description = "Missing reason", body = Problem, content_type = "application/problem+json"),
              (status = 404, description = "Not a party", body = Problem, content_type = "application/problem+json"),
              (status = 409, description = "Closed, or awaiting the other party", body = Problem, content_type = "application/problem+json")))]
async fn cancel(state: &State, req: &Request) -> Result<ApiResponse, Error> {
    let caller = principal(req)?;
    let body: CancelInput = json_body(req)?;
    let k = flows::cancel_contract(
        &state.store,
        &contract_id(req)?,
        &caller,
        body,
        state.clock.now(),
    )
    .await?;
    ApiResponse::ok(&view(state, k))
}

/// The brand rates the creator (1–5) after a completed contract; feeds reputation.
#[utoipa::path(post, path = "/v1/contracts/{contractId}/rating", tag = "contracts", operation_id = "rate_contract",
    params(("contractId" = String, Path, description = "`ctr_…`")), request_body = RatingInput, security(("bearer" = [])),
    responses((status = 200, description = "Rated", body = Contract),
              (status = 400, description = "Score not 1–5", body = Problem, content_type = "application/problem+json"),
              (status = 403, description = "Creators don't rate themselves", body = Problem, content_type = "application/problem+json"),
              (status = 409, description = "Not completed, or already rated", body = Problem, content_type = "application/problem+json")))]
async fn rate(state: &State, req: &Request) -> Result<ApiResponse, Error> {
    let caller = principal(req)?;
    let body: RatingInput = json_body(req)?;
    let k = flows::rate_contract(
        &state.store,
        &contract_id(req)?,
        &caller,
        body,
        state.clock.now(),
    )
    .await?;
    ApiResponse::ok(&view(state, k))
}

/// Move deliverable `n`: the creator submits (`SUBMITTED`); the brand
/// requests changes, approves or rejects. A refused move is a 409 listing
/// the moves open to you.
#[utoipa::path(post, path = "/v1/contracts/{contractId}/deliverables/{n}/transitions", tag = "contracts", operation_id = "move_deliverable",
    params(("contractId" = String, Path, description = "`ctr_…`"), ("n" = u32, Path, description = "1-based deliverable number")),
    request_body = DeliverableMove, security(("bearer" = [])),
    responses((status = 200, description = "The contract after the move", body = Contract),
              (status = 400, description = "Unknown state or missing note", body = Problem, content_type = "application/problem+json"),
              (status = 404, description = "Not a party, or no such deliverable", body = Problem, content_type = "application/problem+json"),
              (status = 409, description = "Move not allowed (lists the allowed ones)", body = Problem, content_type = "application/problem+json")))]
async fn move_deliverable(state: &State, req: &Request) -> Result<ApiResponse, Error> {
    let caller = principal(req)?;
    let n: u32 = path_param(req, "n", "deliverable")?;
    let body: DeliverableMove = json_body(req)?;
    let k = flows::move_deliverable(
        &state.store,
        &contract_id(req)?,
        n,
        &caller,
        body,
        state.clock.now(),
    )
    .await?;
    ApiResponse::ok(&view(state, k))
}

#[derive(OpenApi)]
#[openapi(
    paths(list, get, accept, cancel, rate, move_deliverable),
    components(schemas(
        Contract,
        AcceptInput,
        CancelInput,
        RatingInput,
        DeliverableMove,
        Problem
    ))
)]
pub struct Api;

pub fn openapi() -> utoipa::openapi::OpenApi {
    Api::openapi()
}
