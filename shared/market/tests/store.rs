//! Marketplace flows against DynamoDB Local: races on budget, creator slots
//! and active-campaign slots are settled by conditional writes, and
//! redelivered events are counted once.

use nexus_core::cursor::CursorKey;
use nexus_core::ids::UserId;
use nexus_core::plans::Plan;
use nexus_core::principal::{Principal, PrincipalKind, Role};
use nexus_core::user::AccountType;
use nexus_core::{OrgId, Timestamp};
use nexus_devenv::conflicts::ConflictingDynamo;
use nexus_devenv::race::race;
use nexus_devenv::CreateTable;
use nexus_market::application::{ApplyInput, DecisionInput};
use nexus_market::campaign::CampaignInput;
use nexus_market::contract::{AcceptInput, DeliverableMove};
use nexus_market::creator::ProfileInput;
use nexus_market::flows;
use nexus_market::lifecycle::CampaignStatus;
use nexus_market::repo;
use nexus_store::Store;
use serde_json::json;
use std::time::Duration;

async fn store() -> Store {
    let endpoint = nexus_devenv::dynamodb_local::shared_endpoint().await;
    table(&endpoint).await
}

async fn table(endpoint: &str) -> Store {
    let client = aws_sdk_dynamodb::Client::new(&nexus_devenv::local_sdk_config(endpoint).await);
    let name = format!(
        "nexus-test-{}",
        ulid::Ulid::new().to_string().to_lowercase()
    );
    nexus_devenv::load_template()
        .unwrap()
        .table()
        .unwrap()
        .create(&client, &name)
        .await
        .unwrap();
    Store::new(client, name, CursorKey::new("k"))
}

/// A store on its own table behind [`ConflictingDynamo`], which applies
/// DynamoDB's transaction-conflict rule (DynamoDB Local alone serializes
/// transactions) and counts the times two writes met.
async fn contended() -> (Store, ConflictingDynamo) {
    let endpoint = nexus_devenv::dynamodb_local::shared_endpoint().await;
    let front = ConflictingDynamo::start(&endpoint, Duration::from_millis(5))
        .await
        .unwrap();
    (table(front.endpoint()).await, front)
}

/// Rounds of each race: enough that the writes meet (asserted through the
/// front's contention count), cheap enough for `make test`.
const ROUNDS: usize = 8;

fn now() -> Timestamp {
    "2026-11-28T10:00:00Z".parse().unwrap()
}

fn campaign_input(total: i64, per_creator: Option<i64>) -> CampaignInput {
    let mut v = json!({
        "title": "Winter glow launch",
        "type": "ugc",
        "brief": {"objectives": "Launch the winter serum", "keyMessages": ["glow in 7 days"]},
        "deliverables": [{"type": "video", "platform": "tiktok", "dueAt": "2027-01-10T12:00:00Z"}],
        "usageRights": {"type": "non_exclusive", "durationDays": 90, "territories": ["US"], "channels": ["organic_social"]},
        "budget": {"total": {"amount": total, "currency": "USD"}},
        "dates": {"applicationsCloseAt": "2026-12-15T00:00:00Z", "startAt": "2027-01-01T00:00:00Z", "endAt": "2027-01-31T00:00:00Z"}
    });
    if let Some(p) = per_creator {
        v["budget"]["perCreator"] = json!({"amount": p, "currency": "USD"});
    }
    serde_json::from_value(v).unwrap()
}

async fn creator(store: &Store, handle: &str) -> UserId {
    let id = UserId::new();
    let input: ProfileInput =
        serde_json::from_value(json!({"handle": handle, "displayName": handle})).unwrap();
    flows::save_profile(store, &id, input, now()).await.unwrap();
    id
}

fn creator_principal(id: &UserId) -> Principal {
    Principal {
        kind: PrincipalKind::User,
        id: id.to_string(),
        org: None,
        role: None,
        scopes: vec![],
        account: Some(AccountType::Creator),
        staff: false,
        session: None,
    }
}

fn brand_principal(org: &OrgId) -> Principal {
    Principal {
        kind: PrincipalKind::User,
        id: UserId::new().to_string(),
        org: Some(org.clone()),
        role: Some(Role::Manager),
        scopes: vec![],
        account: Some(AccountType::Brand),
        staff: false,
        session: None,
    }
}

/// Two applications for `fee` each on a published campaign.
async fn two_applicants(
    store: &Store,
    org: &OrgId,
    total: i64,
    fee: i64,
) -> (
    nexus_market::campaign::Campaign,
    Vec<nexus_core::ids::ApplicationId>,
) {
    let by = UserId::new();
    let c = flows::create_campaign(store, org, by.as_str(), campaign_input(total, None), now())
        .await
        .unwrap();
    flows::transition_campaign(
        store,
        org,
        &c.id,
        CampaignStatus::Published,
        Plan::Growth,
        "usr_x",
        now(),
    )
    .await
    .unwrap();
    let mut apps = vec![];
    for h in ["ana.makes", "ben.films"] {
        let u = creator(
            store,
            &format!("{h}{}", &ulid::Ulid::new().to_string()[20..].to_lowercase()),
        )
        .await;
        let input: ApplyInput = serde_json::from_value(json!({"pitch": "Calm skincare tutorials that convert.", "proposedFee": {"amount": fee, "currency": "USD"}})).unwrap();
        apps.push(
            flows::apply(store, &c.id, &u, input, now())
                .await
                .unwrap()
                .id,
        );
    }
    (c, apps)
}

/// Accept `app` on `campaign` as the brand, on `plan`.
fn accept(
    store: &Store,
    org: &OrgId,
    campaign: &nexus_core::ids::CampaignId,
    app: &nexus_core::ids::ApplicationId,
    plan: Plan,
) -> impl std::future::Future<
    Output = Result<
        (
            nexus_market::application::Application,
            Option<nexus_market::contract::Contract>,
        ),
        nexus_core::Error,
    >,
> + Send
       + 'static {
    let (store, org, cid, app) = (store.clone(), org.clone(), campaign.clone(), app.clone());
    async move {
        let d: DecisionInput = serde_json::from_value(json!({"decision": "accept"})).unwrap();
        flows::decide(
            &store,
            flows::Brand {
                org: &org,
                plan,
                actor: "usr_x",
            },
            &cid,
            &app,
            d,
            now(),
        )
        .await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_acceptances_never_over_commit_the_budget() {
    let (store, front) = contended().await;
    let org = OrgId::new();
    let mut met = 0;
    for round in 0..ROUNDS {
        // Room for one 60 000 fee, not two.
        let (c, apps) = two_applicants(&store, &org, 100_000, 60_000).await;
        let before = front.contention();
        let results = race(
            apps.iter()
                .map(|a| accept(&store, &org, &c.id, a, Plan::Growth))
                .collect(),
        )
        .await;
        met += usize::from(front.contention() > before);
        let ok = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(
            ok, 1,
            "round {round}: exactly one acceptance fits: {results:?}"
        );
        let err = results.iter().find_map(|r| r.as_ref().err()).unwrap();
        assert_eq!(err.status(), 409);
        assert_eq!(err.code(), "budget-exceeded");
        let stored = repo::campaign(&store, &org, &c.id).await.unwrap();
        let budget = stored.budget.unwrap();
        assert_eq!(budget.committed, 60_000);
        assert!(budget.committed + budget.spent <= budget.total.amount);
        assert_eq!(stored.creator_count, 1);
    }
    assert!(met > 0, "in {ROUNDS} rounds the two acceptances never met");
    eprintln!("budget race: the writes met in {met} of {ROUNDS} rounds");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_acceptances_respect_creators_per_campaign() {
    let (store, front) = contended().await;
    let org = OrgId::new();
    let mut met = 0;
    for round in 0..ROUNDS {
        let (c, apps) = two_applicants(&store, &org, 1_000_000, 1_000).await;
        // Fill the Free plan's 5 creator slots but one.
        let mut stored = repo::campaign(&store, &org, &c.id).await.unwrap();
        let v = stored.version;
        stored.creator_count = 4;
        store
            .commit(nexus_store::Tx::new().write(nexus_store::Write::replace(&stored, v).unwrap()))
            .await
            .unwrap();
        let before = front.contention();
        let results = race(
            apps.iter()
                .map(|a| accept(&store, &org, &c.id, a, Plan::Free))
                .collect(),
        )
        .await;
        met += usize::from(front.contention() > before);
        let errs: Vec<_> = results.into_iter().filter_map(|r| r.err()).collect();
        assert_eq!(errs.len(), 1, "round {round}: {errs:?}");
        assert_eq!(errs[0].status(), 402);
        assert!(errs[0].to_string().contains("creators per campaign"));
        assert_eq!(
            repo::campaign(&store, &org, &c.id)
                .await
                .unwrap()
                .creator_count,
            5
        );
    }
    assert!(met > 0, "in {ROUNDS} rounds the two acceptances never met");
    eprintln!("creator-slot race: the writes met in {met} of {ROUNDS} rounds");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_publishes_take_at_most_the_plans_active_slots() {
    let (store, front) = contended().await;
    let by = UserId::new();
    let mut met = 0;
    for round in 0..ROUNDS {
        let org = OrgId::new();
        let mut ids = vec![];
        for _ in 0..4 {
            ids.push(
                flows::create_campaign(
                    &store,
                    &org,
                    by.as_str(),
                    campaign_input(10_000, None),
                    now(),
                )
                .await
                .unwrap()
                .id,
            );
        }
        let publish = |id: &nexus_core::ids::CampaignId| {
            let (store, org, id) = (store.clone(), org.clone(), id.clone());
            async move {
                flows::transition_campaign(
                    &store,
                    &org,
                    &id,
                    CampaignStatus::Published,
                    Plan::Free,
                    "usr_x",
                    now(),
                )
                .await
            }
        };
        let before = front.contention();
        let results = race(ids.iter().map(publish).collect()).await;
        met += usize::from(front.contention() > before);
        let ok = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(
            ok, 2,
            "round {round}: Free allows 2 active campaigns: {results:?}"
        );
        for e in results.iter().filter_map(|r| r.as_ref().err()) {
            assert_eq!(e.status(), 402, "{e}");
            assert!(e.to_string().contains("active campaigns"));
        }
        assert_eq!(repo::active_count(&store, &org).await.unwrap(), 2);
        if round == 0 {
            // Cancelling one frees its slot.
            let published = ids
                .iter()
                .zip(&results)
                .find_map(|(id, r)| r.is_ok().then_some(id))
                .unwrap();
            flows::transition_campaign(
                &store,
                &org,
                published,
                CampaignStatus::Cancelled,
                Plan::Free,
                "usr_x",
                now(),
            )
            .await
            .unwrap();
            assert_eq!(repo::active_count(&store, &org).await.unwrap(), 1);
        }
    }
    assert!(met > 0, "in {ROUNDS} rounds the publishes never met");
    eprintln!("active-campaign race: the writes met in {met} of {ROUNDS} rounds");
}

#[tokio::test]
async fn signing_submitting_and_approving_drive_the_campaign_and_reputation_once() {
    let store = store().await;
    let org = OrgId::new();
    let (c, apps) = two_applicants(&store, &org, 100_000, 40_000).await;
    let d: DecisionInput = serde_json::from_value(json!({"decision": "accept"})).unwrap();
    let brand_ctx = flows::Brand {
        org: &org,
        plan: Plan::Growth,
        actor: "usr_x",
    };
    let (_, k) = flows::decide(&store, brand_ctx, &c.id, &apps[0], d, now())
        .await
        .unwrap();
    let k = k.unwrap();
    let brand = brand_principal(&org);
    let me = creator_principal(&k.creator_id);
    let acc = || AcceptInput {
        terms_hash: Some(k.terms_hash.clone()),
    };
    flows::accept_contract(&store, &k.id, &me, "203.0.113.9", acc(), now())
        .await
        .unwrap();
    assert_eq!(
        repo::campaign(&store, &org, &c.id).await.unwrap().status,
        CampaignStatus::Published
    );
    let signed = flows::accept_contract(&store, &k.id, &brand, "198.51.100.1", acc(), now())
        .await
        .unwrap();
    assert_eq!(signed.acceptances.len(), 2);
    assert_eq!(
        repo::campaign(&store, &org, &c.id).await.unwrap().status,
        CampaignStatus::Active
    );
    // Another creator is not a party.
    let stranger = creator_principal(&UserId::new());
    assert_eq!(
        flows::contract_for(&store, &k.id, &stranger, false)
            .await
            .unwrap_err()
            .status(),
        404
    );
    let mv = |to: &str| DeliverableMove {
        to: Some(to.into()),
        note: None,
    };
    flows::move_deliverable(&store, &k.id, 1, &me, mv("SUBMITTED"), now())
        .await
        .unwrap();
    assert_eq!(
        repo::campaign(&store, &org, &c.id).await.unwrap().status,
        CampaignStatus::InProgress
    );
    flows::move_deliverable(&store, &k.id, 1, &brand, mv("APPROVED"), now())
        .await
        .unwrap();
    let done = repo::campaign(&store, &org, &c.id).await.unwrap();
    assert_eq!(done.status, CampaignStatus::Completed);
    let b = done.budget.unwrap();
    assert_eq!((b.committed, b.spent), (0, 40_000));
    assert_eq!(
        repo::active_count(&store, &org).await.unwrap(),
        0,
        "completion frees the slot"
    );

    // Reputation counts an event once even when it is delivered twice.
    let e = nexus_core::events::DomainEvent::new(
        "contracts",
        "DeliverableTransitioned",
        Some(org.clone()),
        "usr_x",
        now(),
        json!({"creatorId": k.creator_id, "firstSubmission": true, "late": false, "to": "SUBMITTED"}),
    );
    let first = flows::apply_reputation(&store, &e, now()).await.unwrap();
    assert!(first.is_some());
    assert_eq!(
        flows::apply_reputation(&store, &e, now()).await.unwrap(),
        None
    );
    let p = repo::profile(&store, &k.creator_id).await.unwrap().unwrap();
    assert_eq!(p.stats.delivered, 1);
    assert_eq!(p.stats.on_time, 1);
}
