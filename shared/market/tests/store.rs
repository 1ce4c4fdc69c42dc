//! Marketplace flows against DynamoDB Local: races on budget, creator slots
//! and active-campaign slots are settled by conditional writes, and
//! redelivered events are counted once.

use nexus_core::cursor::CursorKey;
use nexus_core::ids::UserId;
use nexus_core::plans::Plan;
use nexus_core::principal::{Principal, PrincipalKind, Role};
use nexus_core::user::AccountType;
use nexus_core::{OrgId, Timestamp};
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

async fn store() -> Store {
    let endpoint = nexus_devenv::dynamodb_local::shared_endpoint().await;
    let client = aws_sdk_dynamodb::Client::new(&nexus_devenv::local_sdk_config(&endpoint).await);
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

#[tokio::test]
async fn concurrent_acceptances_never_over_commit_the_budget() {
    let store = store().await;
    let org = OrgId::new();
    // Room for one 60 000 fee, not two.
    let (c, apps) = two_applicants(&store, &org, 100_000, 60_000).await;
    let accept = |app| {
        let store = store.clone();
        let (org, cid) = (org.clone(), c.id.clone());
        async move {
            let d: DecisionInput = serde_json::from_value(json!({"decision": "accept"})).unwrap();
            flows::decide(
                &store,
                flows::Brand {
                    org: &org,
                    plan: Plan::Growth,
                    actor: "usr_x",
                },
                &cid,
                &app,
                d,
                now(),
            )
            .await
        }
    };
    let (a, b) = tokio::join!(accept(apps[0].clone()), accept(apps[1].clone()));
    let results = [a, b];
    let ok = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(ok, 1, "exactly one acceptance fits: {results:?}");
    let err = results.iter().find_map(|r| r.as_ref().err()).unwrap();
    assert_eq!(err.status(), 409);
    assert_eq!(err.code(), "budget-exceeded");
    let stored = repo::campaign(&store, &org, &c.id).await.unwrap();
    let budget = stored.budget.unwrap();
    assert_eq!(budget.committed, 60_000);
    assert!(budget.committed + budget.spent <= budget.total.amount);
    assert_eq!(stored.creator_count, 1);
}

#[tokio::test]
async fn concurrent_acceptances_respect_creators_per_campaign() {
    let store = store().await;
    let org = OrgId::new();
    let (c, apps) = two_applicants(&store, &org, 1_000_000, 1_000).await;
    // Fill the Free plan's 5 creator slots but one.
    let mut stored = repo::campaign(&store, &org, &c.id).await.unwrap();
    let v = stored.version;
    stored.creator_count = 4;
    store
        .commit(nexus_store::Tx::new().write(nexus_store::Write::replace(&stored, v).unwrap()))
        .await
        .unwrap();
    let accept = |app| {
        let store = store.clone();
        let (org, cid) = (org.clone(), c.id.clone());
        async move {
            let d: DecisionInput = serde_json::from_value(json!({"decision": "accept"})).unwrap();
            flows::decide(
                &store,
                flows::Brand {
                    org: &org,
                    plan: Plan::Free,
                    actor: "usr_x",
                },
                &cid,
                &app,
                d,
                now(),
            )
            .await
        }
    };
    let (a, b) = tokio::join!(accept(apps[0].clone()), accept(apps[1].clone()));
    let errs: Vec<_> = [a, b].into_iter().filter_map(|r| r.err()).collect();
    assert_eq!(errs.len(), 1);
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

#[tokio::test]
async fn concurrent_publishes_take_at_most_the_plans_active_slots() {
    let store = store().await;
    let org = OrgId::new();
    let by = UserId::new();
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
    let publish = |id| {
        let store = store.clone();
        let org = org.clone();
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
    let results = futures_join4(
        publish(ids[0].clone()),
        publish(ids[1].clone()),
        publish(ids[2].clone()),
        publish(ids[3].clone()),
    )
    .await;
    let ok = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(ok, 2, "Free allows 2 active campaigns: {results:?}");
    for e in results.iter().filter_map(|r| r.as_ref().err()) {
        assert_eq!(e.status(), 402, "{e}");
        assert!(e.to_string().contains("active campaigns"));
    }
    assert_eq!(repo::active_count(&store, &org).await.unwrap(), 2);
    // Cancelling one frees its slot.
    let published = ids
        .iter()
        .find(|id| results[ids.iter().position(|x| x == *id).unwrap()].is_ok())
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

async fn futures_join4<T>(
    a: impl std::future::Future<Output = T>,
    b: impl std::future::Future<Output = T>,
    c: impl std::future::Future<Output = T>,
    d: impl std::future::Future<Output = T>,
) -> Vec<T> {
    let (a, b, c, d) = tokio::join!(a, b, c, d);
    vec![a, b, c, d]
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
