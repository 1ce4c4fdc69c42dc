//! Use cases: read, let the domain decide, write the change and its events in
//! one transaction (versioned writes; a lost race re-reads and re-decides).

use nexus_core::events::DomainEvent;
use nexus_core::ids::{ApplicationId, CampaignId, ContractId, OrgId, UserId, VerificationId};
use nexus_core::plans::Plan;
use nexus_core::{Error, Timestamp};
use nexus_store::tx::{Tx, Write};
use nexus_store::Store;
use serde_json::json;

use crate::application::{Application, ApplyInput, Decided, DecisionInput};
use crate::campaign::{active_delta, Campaign, CampaignInput, Moved, Visibility};
use crate::contract::{
    AcceptInput, Accepted, CancelInput, Cancelled, Contract, ContractTerms, DeliverableMove, Party,
    RatingInput,
};
use crate::creator::{
    CreatorProfile, ProfileInput, ReviewInput, VerificationInput, VerificationRequest,
};
use crate::events::{event, kind, CAMPAIGNS, CONTRACTS, CREATORS};
use crate::lifecycle::{CampaignStatus, Trigger};
use crate::repo::{self, commit, retrying, Retry};

fn profile_event(p: &CreatorProfile, actor: &str, now: Timestamp) -> DomainEvent {
    event(
        CREATORS,
        kind::PROFILE_UPDATED,
        None,
        actor,
        now,
        json!({"creatorId": p.creator_id}),
    )
}

// ------------------------------------------------------------------ creators

/// Create or replace the editable profile. The handle is unique.
pub async fn save_profile(
    store: &Store,
    creator: &UserId,
    input: ProfileInput,
    now: Timestamp,
) -> Result<(CreatorProfile, bool), Error> {
    let fields = input.parse()?;
    retrying(|| {
        let fields = fields.clone();
        async move {
            let existing = repo::profile(store, creator).await?;
            let created = existing.is_none();
            let (mut tx, p) = match existing {
                None => {
                    let p = CreatorProfile::new(creator.clone(), fields, now);
                    (Tx::new().write(Write::create(&p).map_err(Error::from)?), p)
                }
                Some(mut p) => {
                    let old_handle = p.handle.clone();
                    let version = p.version;
                    p.apply(fields, now);
                    let mut tx = Tx::new().write(Write::replace(&p, version).map_err(Error::from)?);
                    if old_handle != p.handle {
                        tx = tx.write(Write::ReleaseUnique {
                            kind: "handle",
                            value: old_handle,
                            owner: creator.to_string(),
                        });
                    }
                    (tx, p)
                }
            };
            if created || tx.len() > 1 {
                tx = tx.write(Write::Unique {
                    kind: "handle",
                    value: p.handle.clone(),
                    owner: creator.to_string(),
                });
            }
            tx = tx.event(profile_event(&p, creator.as_str(), now));
            match store.commit(tx).await {
                Ok(()) => Ok((p, created)),
                Err(nexus_store::StoreError::ConditionFailed { label })
                    if label == "unique handle" =>
                {
                    Err(Retry::Failed(Error::Validation(vec![
                        nexus_core::FieldError::new("/handle", "taken", "this handle is taken"),
                    ])))
                }
                Err(nexus_store::StoreError::ConditionFailed { label }) if label == "creator" => {
                    Err(Retry::Lost)
                }
                Err(e) => Err(Retry::Failed(e.into())),
            }
        }
    })
    .await
}

pub async fn my_profile(store: &Store, creator: &UserId) -> Result<CreatorProfile, Error> {
    repo::profile(store, creator).await?.ok_or(Error::NotFound {
        resource: "creator profile",
    })
}

/// Change the profile with `f` (link accounts, portfolio, …).
pub async fn edit_profile<F>(
    store: &Store,
    creator: &UserId,
    now: Timestamp,
    f: F,
) -> Result<CreatorProfile, Error>
where
    F: Fn(&mut CreatorProfile) -> Result<(), Error>,
{
    retrying(|| async {
        let mut p = my_profile(store, creator).await?;
        let version = p.version;
        f(&mut p)?;
        let tx = Tx::new()
            .write(Write::replace(&p, version).map_err(Error::from)?)
            .event(profile_event(&p, creator.as_str(), now));
        commit(store, tx, &["creator"]).await?;
        p.version = version + 1;
        Ok(p)
    })
    .await
}

/// Delete the profile (and free the handle). Refused while a contract is
/// waiting for signatures or signed: those need the creator.
pub async fn delete_profile(store: &Store, creator: &UserId, now: Timestamp) -> Result<(), Error> {
    let p = my_profile(store, creator).await?;
    let mut cursor = None;
    loop {
        let page = repo::contracts_of_creator(store, creator, 100, cursor).await?;
        if page.items.iter().any(|k| {
            matches!(
                k.status,
                crate::contract::ContractStatus::PendingSignatures
                    | crate::contract::ContractStatus::Signed
            )
        }) {
            return Err(Error::conflict(
                "open-contracts",
                "finish or cancel your open contracts before deleting your profile",
            ));
        }
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    let tx = Tx::new()
        .write(Write::Delete {
            key: repo::profile_key(creator),
            expected_version: Some(p.version),
            label: "creator".into(),
        })
        .write(Write::ReleaseUnique {
            kind: "handle",
            value: p.handle.clone(),
            owner: creator.to_string(),
        })
        .event(event(
            CREATORS,
            kind::PROFILE_DELETED,
            None,
            creator.as_str(),
            now,
            json!({"creatorId": creator}),
        ));
    commit(store, tx, &[]).await.map_err(|e| match e {
        Retry::Lost => Error::conflict("conflict", "the profile changed; retry"),
        Retry::Failed(e) => e,
    })
}

pub async fn request_verification(
    store: &Store,
    creator: &UserId,
    input: VerificationInput,
    now: Timestamp,
) -> Result<VerificationRequest, Error> {
    let p = my_profile(store, creator).await?;
    let r = input.parse(&p, now)?;
    let mine = repo::verifications_of(store, creator, 100, None).await?;
    if mine
        .items
        .iter()
        .any(|x| x.kind == r.kind && x.status == crate::creator::VerificationStatus::Pending)
    {
        return Err(Error::conflict(
            "verification-pending",
            format!("a {} verification is already waiting for review", r.kind),
        ));
    }
    let tx = Tx::new().write(Write::create(&r)?).event(event(
        CREATORS,
        kind::VERIFICATION_REQUESTED,
        None,
        creator.as_str(),
        now,
        json!({"requestId": r.id, "creatorId": creator, "kind": r.kind}),
    ));
    store.commit(tx).await?;
    Ok(r)
}

/// Staff decision; an approval grants the badge in the same transaction.
pub async fn review_verification(
    store: &Store,
    staff: &UserId,
    id: &VerificationId,
    input: ReviewInput,
    now: Timestamp,
) -> Result<VerificationRequest, Error> {
    retrying(|| {
        let input = input.clone();
        async move {
            let mut r = repo::verification(store, id).await?;
            let rv = r.version;
            r.review(staff.clone(), input, now)?;
            let mut tx = Tx::new().write(Write::replace(&r, rv).map_err(Error::from)?);
            if r.status == crate::creator::VerificationStatus::Approved {
                let mut p = my_profile(store, &r.creator_id).await?;
                let pv = p.version;
                p.grant_badge(&r, now)?;
                tx = tx.write(Write::replace(&p, pv).map_err(Error::from)?).event(profile_event(&p, staff.as_str(), now));
            }
            tx = tx.event(event(
                CREATORS,
                kind::VERIFICATION_REVIEWED,
                None,
                staff.as_str(),
                now,
                json!({"requestId": r.id, "creatorId": r.creator_id, "kind": r.kind, "status": r.status, "reason": r.reason}),
            ));
            commit(store, tx, &["verification", "creator"]).await?;
            r.version = rv + 1;
            Ok(r)
        }
    })
    .await
}

// ------------------------------------------------------------------ campaigns

fn campaign_moved(c: &Campaign, m: &Moved, actor: &str, now: Timestamp) -> DomainEvent {
    event(
        CAMPAIGNS,
        kind::CAMPAIGN_TRANSITIONED,
        Some(c.org_id.clone()),
        actor,
        now,
        json!({"campaignId": c.id, "campaignTitle": c.title, "orgId": c.org_id, "from": m.from, "to": m.to,
               "trigger": format!("{:?}", m.trigger)}),
    )
}

/// The campaign write (versioned) plus the active-slot counter when the move changes it.
fn campaign_writes(
    mut tx: Tx,
    c: &Campaign,
    version: u64,
    moved: Option<&Moved>,
    plan: Plan,
    actor: &str,
    now: Timestamp,
) -> Result<Tx, Error> {
    tx = tx.write(Write::replace(c, version)?);
    if let Some(m) = moved {
        let delta = active_delta(m);
        if delta != 0 {
            tx = tx.write(repo::active_counter(
                &c.org_id,
                delta,
                plan.max(nexus_core::plans::Limit::ActiveCampaigns),
            ));
        }
        tx = tx.event(campaign_moved(c, m, actor, now));
    }
    Ok(tx)
}

pub async fn create_campaign(
    store: &Store,
    org: &OrgId,
    by: &str,
    input: CampaignInput,
    now: Timestamp,
) -> Result<Campaign, Error> {
    let mut c = Campaign::new_draft(org.clone(), by, now);
    input.apply_to(&mut c, now)?;
    let tx = Tx::new()
        .write(Write::create(&c)?)
        .write(Write::create(&repo::campaign_ref(&c))?)
        .event(event(
            CAMPAIGNS,
            kind::CAMPAIGN_CREATED,
            Some(org.clone()),
            by,
            now,
            json!({"campaignId": c.id, "campaignTitle": c.title, "orgId": org}),
        ));
    store.commit(tx).await?;
    Ok(c)
}

pub async fn update_campaign(
    store: &Store,
    org: &OrgId,
    id: &CampaignId,
    actor: &str,
    input: CampaignInput,
    now: Timestamp,
) -> Result<Campaign, Error> {
    retrying(|| {
        let input = input.clone();
        async move {
            let mut c = repo::campaign(store, org, id).await?;
            if c.status != CampaignStatus::Draft {
                return Err(Error::conflict(
                    "campaign-locked",
                    format!("only drafts can be edited; this campaign is {}", c.status),
                )
                .into());
            }
            let v = c.version;
            input.apply_to(&mut c, now)?;
            let tx = Tx::new()
                .write(Write::replace(&c, v).map_err(Error::from)?)
                .event(event(
                    CAMPAIGNS,
                    kind::CAMPAIGN_UPDATED,
                    Some(org.clone()),
                    actor,
                    now,
                    json!({"campaignId": c.id, "orgId": org}),
                ));
            commit(store, tx, &["campaign"]).await?;
            c.version = v + 1;
            Ok(c)
        }
    })
    .await
}

/// Delete a draft (published campaigns are cancelled and archived instead).
pub async fn delete_campaign(
    store: &Store,
    org: &OrgId,
    id: &CampaignId,
    actor: &str,
    now: Timestamp,
) -> Result<(), Error> {
    let c = repo::campaign(store, org, id).await?;
    if c.status != CampaignStatus::Draft {
        return Err(Error::conflict(
            "campaign-locked",
            format!(
                "only drafts can be deleted; cancel a {} campaign instead",
                c.status
            ),
        ));
    }
    let tx = Tx::new()
        .write(Write::Delete {
            key: repo::campaign_key(org, id),
            expected_version: Some(c.version),
            label: "campaign".into(),
        })
        .write(Write::Delete {
            key: nexus_store::Key::new(format!("CAMPAIGN#{id}"), "REF"),
            expected_version: None,
            label: "ref".into(),
        })
        .event(event(
            CAMPAIGNS,
            kind::CAMPAIGN_DELETED,
            Some(org.clone()),
            actor,
            now,
            json!({"campaignId": id, "orgId": org}),
        ));
    commit(store, tx, &[]).await.map_err(|e| match e {
        Retry::Lost => Error::conflict("conflict", "the campaign changed; retry"),
        Retry::Failed(e) => e,
    })
}

/// A person's move (`POST /transitions`), with the plan's active-campaign limit.
pub async fn transition_campaign(
    store: &Store,
    org: &OrgId,
    id: &CampaignId,
    to: CampaignStatus,
    plan: Plan,
    actor: &str,
    now: Timestamp,
) -> Result<Campaign, Error> {
    retrying(|| async move {
        let mut c = repo::campaign(store, org, id).await?;
        let v = c.version;
        let moved = c.transition(to, Trigger::Manual, now)?;
        if active_delta(&moved) > 0 {
            Campaign::check_active_limit(plan, repo::active_count(store, org).await?)?;
        }
        let tx = campaign_writes(Tx::new(), &c, v, Some(&moved), plan, actor, now)?;
        match commit(store, tx, &["campaign"]).await {
            Err(Retry::Failed(Error::Conflict {
                code: "active-campaigns-changed",
                ..
            })) => {
                // The counter moved under us: report the limit like a direct check would.
                Campaign::check_active_limit(plan, repo::active_count(store, org).await?)?;
                return Err(Retry::Lost);
            }
            other => other?,
        }
        c.version = v + 1;
        Ok(c)
    })
    .await
}

fn app_data(c: &Campaign, a: &Application) -> serde_json::Value {
    json!({"campaignId": c.id, "campaignTitle": c.title, "applicationId": a.id, "creatorId": a.creator_id, "orgId": c.org_id})
}

/// A brand invites a creator (one application per creator and campaign).
pub async fn invite(
    store: &Store,
    org: &OrgId,
    id: &CampaignId,
    creator: &UserId,
    message: Option<String>,
    actor: &str,
    now: Timestamp,
) -> Result<Application, Error> {
    let c = repo::campaign(store, org, id).await?;
    if !matches!(
        c.status,
        CampaignStatus::Draft
            | CampaignStatus::Published
            | CampaignStatus::Active
            | CampaignStatus::InProgress
    ) {
        return Err(Error::conflict(
            "campaign-not-running",
            format!("a {} campaign can't invite creators", c.status),
        ));
    }
    if repo::profile(store, creator).await?.is_none() {
        return Err(Error::field(
            "/creatorId",
            "not_found",
            "no creator profile with this id",
        ));
    }
    let a = Application::invitation(c.id.clone(), org.clone(), creator.clone(), message, now);
    let tx = Tx::new()
        .write(Write::create(&a)?)
        .write(repo::application_claim(&a))
        .event(event(
            CAMPAIGNS,
            kind::CREATOR_INVITED,
            Some(org.clone()),
            actor,
            now,
            app_data(&c, &a),
        ));
    match store.commit(tx).await {
        Err(nexus_store::StoreError::ConditionFailed { label })
            if label == "unique application" =>
        {
            Err(Error::conflict(
                "already-in-campaign",
                "this creator was already invited or applied",
            ))
        }
        other => other.map_err(Error::from).map(|()| a),
    }
}

/// A campaign as a creator may see it (public and open, or invited).
pub async fn campaign_for_creator(
    store: &Store,
    id: &CampaignId,
    creator: &UserId,
) -> Result<Campaign, Error> {
    let org = repo::tenant_of(store, &format!("CAMPAIGN#{id}"), "campaign").await?;
    let c = repo::campaign(store, &org, id).await?;
    let invited = repo::application_of(store, id, creator).await?.is_some();
    let visible = invited || (c.visibility == Visibility::Public && c.status.accepts_creators());
    if visible {
        Ok(c)
    } else {
        Err(Error::NotFound {
            resource: "campaign",
        })
    }
}

pub async fn apply(
    store: &Store,
    id: &CampaignId,
    creator: &UserId,
    input: ApplyInput,
    now: Timestamp,
) -> Result<Application, Error> {
    let pitch = input.parse()?;
    let c = campaign_for_creator(store, id, creator).await?;
    if !c.open_for_applications(now) {
        return Err(Error::conflict(
            "applications-closed",
            "this campaign is not taking applications",
        ));
    }
    let profile = my_profile(store, creator)
        .await
        .map_err(|_| Error::conflict("no-profile", "create your creator profile first"))?;
    if let Some(why) = c.ineligibility(&profile) {
        return Err(Error::conflict("not-eligible", why));
    }
    if let Some(budget) = &c.budget {
        if pitch.proposed_fee.currency != budget.total.currency {
            return Err(Error::field(
                "/proposedFee/currency",
                "currency_mismatch",
                format!("this campaign pays in {}", budget.total.currency.code()),
            ));
        }
    }
    let existing = repo::application_of(store, id, creator).await?;
    let (mut a, tx) = match existing {
        Some(app_id) => {
            let mut a = repo::application(store, &c.org_id, id, &app_id).await?;
            let v = a.version;
            a.apply(pitch, now)?;
            let tx = Tx::new().write(Write::replace(&a, v)?);
            a.version = v + 1;
            (a, tx)
        }
        None => {
            if c.visibility == Visibility::InviteOnly {
                return Err(Error::NotFound {
                    resource: "campaign",
                });
            }
            let mut a =
                Application::invitation(c.id.clone(), c.org_id.clone(), creator.clone(), None, now);
            a.invited = false;
            a.apply(pitch, now)?;
            (
                a.clone(),
                Tx::new()
                    .write(Write::create(&a)?)
                    .write(repo::application_claim(&a)),
            )
        }
    };
    a.updated_at = now;
    let tx = tx.event(event(
        CAMPAIGNS,
        kind::APPLICATION_SUBMITTED,
        Some(c.org_id.clone()),
        creator.as_str(),
        now,
        app_data(&c, &a),
    ));
    match store.commit(tx).await {
        Err(nexus_store::StoreError::ConditionFailed { .. }) => Err(Error::conflict(
            "already-applied",
            "you already applied to this campaign",
        )),
        other => other.map_err(Error::from).map(|()| a),
    }
}

pub async fn withdraw(
    store: &Store,
    id: &CampaignId,
    creator: &UserId,
    now: Timestamp,
) -> Result<Application, Error> {
    let org = repo::tenant_of(store, &format!("CAMPAIGN#{id}"), "campaign").await?;
    let app_id = repo::application_of(store, id, creator)
        .await?
        .ok_or(Error::NotFound {
            resource: "application",
        })?;
    retrying(|| {
        let (org, app_id) = (org.clone(), app_id.clone());
        async move {
            let mut a = repo::application(store, &org, id, &app_id).await?;
            let v = a.version;
            a.withdraw(now)?;
            let tx = Tx::new().write(Write::replace(&a, v).map_err(Error::from)?).event(event(
                CAMPAIGNS, kind::APPLICATION_WITHDRAWN, Some(org.clone()), creator.as_str(), now,
                json!({"campaignId": id, "applicationId": a.id, "creatorId": creator, "orgId": org})));
            commit(store, tx, &["application"]).await?;
            a.version = v + 1;
            Ok(a)
        }
    })
    .await
}

/// The brand decides; `accept` reserves budget and a creator slot and creates the contract.
/// Who acts for a brand: the organization, its plan, and the caller's id.
#[derive(Debug, Clone)]
pub struct Brand<'a> {
    pub org: &'a OrgId,
    pub plan: Plan,
    pub actor: &'a str,
}

pub async fn decide(
    store: &Store,
    brand: Brand<'_>,
    id: &CampaignId,
    app_id: &ApplicationId,
    input: DecisionInput,
    now: Timestamp,
) -> Result<(Application, Option<Contract>), Error> {
    let Brand { org, plan, actor } = brand;
    retrying(|| {
        let input = input.clone();
        async move {
            let mut a = repo::application(store, org, id, app_id).await?;
            let av = a.version;
            let decided = a.decide(input, now)?;
            let decision = match &decided {
                Decided::Shortlisted => "shortlist",
                Decided::Rejected => "reject",
                Decided::Countered => "counter",
                Decided::Accept(_) => "accept",
            };
            let mut c = repo::campaign(store, org, id).await?;
            let mut data = app_data(&c, &a);
            data["decision"] = json!(decision);
            data["reason"] = json!(a.rejection_reason);
            if let Some(co) = &a.counter_offer {
                data["counterFee"] = json!(co.fee);
            }
            let mut contract = None;
            let mut tx = Tx::new();
            if let Decided::Accept(fee) = decided {
                let cv = c.version;
                c.reserve(fee, plan, now)?;
                let cid = ContractId::new();
                let terms =
                    ContractTerms::from_campaign(cid.clone(), &c, a.creator_id.clone(), fee)?;
                let k = Contract::new(cid, a.id.clone(), terms, now)?;
                a.contract_id = Some(k.id.clone());
                tx = campaign_writes(tx, &c, cv, None, plan, actor, now)?
                    .write(Write::create(&k).map_err(Error::from)?)
                    .write(Write::create(&repo::contract_ref(&k)).map_err(Error::from)?)
                    .event(event(
                        CONTRACTS,
                        kind::CONTRACT_CREATED,
                        Some(org.clone()),
                        actor,
                        now,
                        contract_data(&c, &k, None),
                    ));
                data["contractId"] = json!(k.id);
                contract = Some(k);
            }
            tx = tx
                .write(Write::replace(&a, av).map_err(Error::from)?)
                .event(event(
                    CAMPAIGNS,
                    kind::APPLICATION_DECIDED,
                    Some(org.clone()),
                    actor,
                    now,
                    data,
                ));
            commit(store, tx, &["application", "campaign"]).await?;
            a.version = av + 1;
            Ok((a, contract))
        }
    })
    .await
}

// ------------------------------------------------------------------ contracts

fn contract_data(c: &Campaign, k: &Contract, reason: Option<&str>) -> serde_json::Value {
    json!({"contractId": k.id, "campaignId": c.id, "campaignTitle": c.title, "creatorId": k.creator_id, "orgId": k.org_id, "reason": reason})
}

/// Who the caller is in a contract: the creator party, or a brand member with `CampaignsWrite`.
pub async fn contract_for(
    store: &Store,
    id: &ContractId,
    caller: &nexus_core::principal::Principal,
    write: bool,
) -> Result<(Contract, Party), Error> {
    use nexus_core::principal::Permission;
    let org = repo::tenant_of(store, &format!("CONTRACT#{id}"), "contract").await?;
    let k = repo::contract(store, &org, id).await?;
    if caller.account == Some(nexus_core::user::AccountType::Creator) {
        let me = caller.user_id()?;
        if me == k.creator_id {
            return Ok((k, Party::Creator));
        }
        return Err(Error::NotFound {
            resource: "contract",
        });
    }
    caller.require(
        &org,
        if write {
            Permission::CampaignsWrite
        } else {
            Permission::CampaignsRead
        },
        "contract",
    )?;
    Ok((k, Party::Brand))
}

/// A party accepts the terms (hash must match); both: signed, campaign may go ACTIVE.
pub async fn accept_contract(
    store: &Store,
    id: &ContractId,
    caller: &nexus_core::principal::Principal,
    ip: &str,
    input: AcceptInput,
    now: Timestamp,
) -> Result<Contract, Error> {
    let user = caller.user_id()?;
    retrying(|| {
        let input = input.clone();
        let user = user.clone();
        async move {
            let (mut k, party) = contract_for(store, id, caller, true).await?;
            let kv = k.version;
            let outcome = k.accept(party, user.clone(), ip, input, now)?;
            let mut c = repo::campaign(store, &k.org_id, &k.campaign_id).await?;
            let mut tx = Tx::new().write(Write::replace(&k, kv).map_err(Error::from)?).event(event(
                CONTRACTS, kind::CONTRACT_ACCEPTED, Some(k.org_id.clone()), user.as_str(), now,
                json!({"contractId": k.id, "party": party, "termsHash": k.terms_hash, "creatorId": k.creator_id, "orgId": k.org_id})));
            if outcome == Accepted::Signed {
                let cv = c.version;
                let moved = c.contract_signed(k.deliverables.len() as u32, now);
                tx = campaign_writes(tx, &c, cv, moved.as_ref(), Plan::Enterprise, user.as_str(), now)?.event(event(
                    CONTRACTS, kind::CONTRACT_SIGNED, Some(k.org_id.clone()), user.as_str(), now,
                    json!({"contractId": k.id, "campaignId": c.id, "campaignTitle": c.title, "creatorId": k.creator_id, "orgId": k.org_id,
                           "timeZone": c.time_zone, "deliverables": k.deliverables.iter().map(|d| json!({"n": d.n, "dueAt": d.due_at})).collect::<Vec<_>>()})));
            }
            commit(store, tx, &["contract", "campaign"]).await?;
            k.version = kv + 1;
            Ok(k)
        }
    })
    .await
}

pub async fn cancel_contract(
    store: &Store,
    id: &ContractId,
    caller: &nexus_core::principal::Principal,
    input: CancelInput,
    now: Timestamp,
) -> Result<Contract, Error> {
    let actor = caller.id.clone();
    retrying(|| {
        let input = input.clone();
        let actor = actor.clone();
        async move {
            let (mut k, party) = contract_for(store, id, caller, true).await?;
            let kv = k.version;
            let outcome = k.cancel(party, input, now)?;
            let mut c = repo::campaign(store, &k.org_id, &k.campaign_id).await?;
            let reason = k.cancellation.as_ref().map(|x| x.reason.clone());
            let mut tx = Tx::new().write(Write::replace(&k, kv).map_err(Error::from)?);
            match outcome {
                Cancelled::Requested => {
                    tx = tx.event(event(
                        CONTRACTS,
                        kind::CONTRACT_CANCELLATION_REQUESTED,
                        Some(k.org_id.clone()),
                        &actor,
                        now,
                        contract_data(&c, &k, reason.as_deref()),
                    ));
                }
                Cancelled::Done {
                    was_signed,
                    unspent,
                    open,
                } => {
                    let cv = c.version;
                    c.release(unspent, open, was_signed, now);
                    let moved = c.complete_if_done(now);
                    let mut data = contract_data(&c, &k, reason.as_deref());
                    data["wasSigned"] = json!(was_signed);
                    data["deliverables"] = json!(k.deliverables.len());
                    tx =
                        campaign_writes(tx, &c, cv, moved.as_ref(), Plan::Enterprise, &actor, now)?
                            .event(event(
                                CONTRACTS,
                                kind::CONTRACT_CANCELLED,
                                Some(k.org_id.clone()),
                                &actor,
                                now,
                                data,
                            ));
                }
            }
            commit(store, tx, &["contract", "campaign"]).await?;
            k.version = kv + 1;
            Ok(k)
        }
    })
    .await
}

pub async fn move_deliverable(
    store: &Store,
    id: &ContractId,
    n: u32,
    caller: &nexus_core::principal::Principal,
    input: DeliverableMove,
    now: Timestamp,
) -> Result<Contract, Error> {
    let user = caller.user_id()?;
    retrying(|| {
        let input = input.clone();
        let user = user.clone();
        async move {
            let (mut k, party) = contract_for(store, id, caller, true).await?;
            let kv = k.version;
            let m = k.move_deliverable(n, party, user.clone(), input, now)?;
            let mut c = repo::campaign(store, &k.org_id, &k.campaign_id).await?;
            let cv = c.version;
            let mut moves = vec![];
            if m.first_submission {
                moves.extend(c.submitted(now));
            }
            if m.to.resolved() {
                moves.extend(c.resolved(m.spent, now));
            }
            let note = k.deliverable(n)?.history.last().and_then(|h| h.note.clone());
            let mut tx = Tx::new().write(Write::replace(&k, kv).map_err(Error::from)?).event(event(
                CONTRACTS, kind::DELIVERABLE_TRANSITIONED, Some(k.org_id.clone()), user.as_str(), now,
                json!({"contractId": k.id, "campaignId": c.id, "campaignTitle": c.title, "creatorId": k.creator_id, "orgId": k.org_id, "n": n,
                       "from": m.from, "to": m.to, "late": m.late, "firstSubmission": m.first_submission, "firstPass": m.first_pass, "note": note})));
            tx = tx.write(Write::replace(&c, cv).map_err(Error::from)?);
            for mv in &moves {
                tx = tx.event(campaign_moved(&c, mv, user.as_str(), now));
                if active_delta(mv) != 0 {
                    tx = tx.write(repo::active_counter(&c.org_id, active_delta(mv), None));
                }
            }
            if m.contract_completed {
                tx = tx.event(event(CONTRACTS, kind::CONTRACT_COMPLETED, Some(k.org_id.clone()), user.as_str(), now, contract_data(&c, &k, None)));
            }
            commit(store, tx, &["contract", "campaign"]).await?;
            k.version = kv + 1;
            Ok(k)
        }
    })
    .await
}

pub async fn rate_contract(
    store: &Store,
    id: &ContractId,
    caller: &nexus_core::principal::Principal,
    input: RatingInput,
    now: Timestamp,
) -> Result<Contract, Error> {
    let user = caller.user_id()?;
    retrying(|| {
        let input = input.clone();
        let user = user.clone();
        async move {
            let (mut k, party) = contract_for(store, id, caller, true).await?;
            if party != Party::Brand {
                return Err(Error::Forbidden("the brand rates the creator".into()).into());
            }
            let kv = k.version;
            let score = k.rate(user.clone(), input, now)?;
            let tx = Tx::new().write(Write::replace(&k, kv).map_err(Error::from)?).event(event(
                CONTRACTS, kind::CREATOR_RATED, Some(k.org_id.clone()), user.as_str(), now,
                json!({"contractId": k.id, "creatorId": k.creator_id, "orgId": k.org_id, "score": score})));
            commit(store, tx, &["contract"]).await?;
            k.version = kv + 1;
            Ok(k)
        }
    })
    .await
}

/// A reminder schedule fired (`due_soon` or `overdue`) for deliverable `n`.
/// Emits the reminder event only while the deliverable still waits; overdue
/// also flags it. Safe to run twice (the flag is set once; events carry the schedule's execution).
pub async fn reminder_fired(
    store: &Store,
    org: &OrgId,
    id: &ContractId,
    n: u32,
    overdue: bool,
    now: Timestamp,
) -> Result<bool, Error> {
    retrying(|| async move {
        let mut k = repo::contract(store, org, id).await?;
        let kv = k.version;
        let d = k.deliverable(n)?.clone();
        let waiting = k.status == crate::contract::ContractStatus::Signed
            && matches!(d.status, crate::contract::DeliverableStatus::Pending | crate::contract::DeliverableStatus::ChangesRequested);
        if !waiting {
            return Ok(false);
        }
        let data = json!({"contractId": k.id, "campaignId": k.campaign_id, "campaignTitle": k.terms.campaign_title, "creatorId": k.creator_id, "orgId": k.org_id, "n": n, "dueAt": d.due_at});
        let tx = if overdue {
            if !k.mark_overdue(now).contains(&n) {
                return Ok(false); // already flagged by an earlier run
            }
            Tx::new().write(Write::replace(&k, kv).map_err(Error::from)?).event(event(CONTRACTS, kind::DELIVERABLE_OVERDUE, Some(org.clone()), "system", now, data))
        } else {
            let Some(d) = k.deliverables.iter_mut().find(|d| d.n == n).filter(|d| !d.reminded) else {
                return Ok(false); // already reminded by an earlier run
            };
            d.reminded = true;
            Tx::new().write(Write::replace(&k, kv).map_err(Error::from)?).event(event(CONTRACTS, kind::DELIVERABLE_DUE_SOON, Some(org.clone()), "system", now, data))
        };
        commit(store, tx, &["contract"]).await?;
        Ok(true)
    })
    .await
}

// ------------------------------------------------------------------ reputation

/// Fold one domain event into the creator's counters and recompute the
/// score, once per event (a marker item with the event id is created in the
/// same transaction). Returns the new score, or `None` when the event doesn't
/// count or was seen before.
pub async fn apply_reputation(
    store: &Store,
    e: &DomainEvent,
    now: Timestamp,
) -> Result<Option<f64>, Error> {
    let d = &e.data;
    let Some(creator) = d["creatorId"]
        .as_str()
        .and_then(|s| s.parse::<UserId>().ok())
    else {
        return Ok(None);
    };
    let bump = |s: &mut crate::reputation::CreatorStats| -> bool {
        match e.detail_type.as_str() {
            kind::DELIVERABLE_TRANSITIONED => {
                let mut hit = false;
                if d["firstSubmission"] == json!(true) {
                    s.delivered += 1;
                    s.on_time += u32::from(d["late"] != json!(true));
                    hit = true;
                }
                match d["to"].as_str() {
                    Some("APPROVED") => {
                        s.reviewed += 1;
                        s.first_pass += u32::from(d["firstPass"] == json!(true));
                        true
                    }
                    Some("REJECTED") => {
                        s.reviewed += 1;
                        true
                    }
                    _ => hit,
                }
            }
            kind::CREATOR_RATED => match d["score"].as_u64() {
                Some(score @ 1..=5) => {
                    s.ratings += 1;
                    s.rating_sum += score as u32;
                    true
                }
                _ => false,
            },
            kind::CONTRACT_CANCELLED if d["wasSigned"] == json!(true) => {
                s.cancellations += 1;
                true
            }
            kind::CONTRACT_COMPLETED => {
                s.completed_contracts += 1;
                true
            }
            _ => false,
        }
    };
    retrying(|| {
        let creator = creator.clone();
        async move {
            let Some(mut p) = repo::profile(store, &creator).await? else {
                return Ok(None);
            };
            let v = p.version;
            if !bump(&mut p.stats) {
                return Ok(None);
            }
            p.touch(now);
            let marker = repo::ReputationMarker::new(&creator, e, now);
            let tx = Tx::new()
                .write(Write::create(&marker).map_err(Error::from)?)
                .write(Write::replace(&p, v).map_err(Error::from)?)
                .event(event(
                    CREATORS,
                    kind::REPUTATION_UPDATED,
                    None,
                    "system",
                    now,
                    json!({"creatorId": creator, "score": p.reputation.score, "cause": e.id}),
                ));
            match store.commit(tx).await {
                Ok(()) => Ok(Some(p.reputation.score)),
                Err(nexus_store::StoreError::ConditionFailed { label }) if label == "repevt" => {
                    Ok(None)
                }
                Err(nexus_store::StoreError::ConditionFailed { label }) if label == "creator" => {
                    Err(Retry::Lost)
                }
                Err(e) => Err(Retry::Failed(e.into())),
            }
        }
    })
    .await
}
