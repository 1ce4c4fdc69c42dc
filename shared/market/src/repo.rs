//! DynamoDB items of the marketplace (single table; see shared/store/README.md).
//!
//! | item | PK | SK | GSI1PK / GSI1SK | GSI2PK / GSI2SK |
//! |---|---|---|---|---|
//! | creator profile | `C#<usr>` | `PROFILE` | | |
//! | handle claim | `UNIQUE#handle#<handle>` | `UNIQUE` | | |
//! | verification request | `C#<usr>` | `VERIFY#<vrq>` | `VERIFY#<status>` / `<createdAt>#<vrq>` | `VRQ#<vrq>` / `VRQ` |
//! | reputation event marker | `C#<usr>` | `REPEVT#<evt>` (TTL) | | |
//! | campaign | `T#<org>` | `CAMPAIGN#<cmp>` | `MARKET` / `<createdAt>#<cmp>` while public and open | |
//! | campaign → tenant ref | `CAMPAIGN#<cmp>` | `REF` | | |
//! | active-campaign counter | `T#<org>` | `COUNTER#ACTIVE_CAMPAIGNS` | | |
//! | application | `T#<org>` | `APP#<cmp>#<app>` | `C#<usr>` / `APP#<app>` | |
//! | one application per creator and campaign | `UNIQUE#application#<cmp>#<usr>` | `UNIQUE` | | |
//! | contract | `T#<org>` | `CONTRACT#<ctr>` | `C#<usr>` / `CONTRACT#<ctr>` | `T#<org>#CMP#<cmp>` / `CONTRACT#<ctr>` |
//! | contract → tenant ref | `CONTRACT#<ctr>` | `REF` | | |
//! | notification | `U#<usr>` | `NTF#<evt ulid>` | | |
//! | unread counter | `U#<usr>` | `NTFCOUNT` | | |
//!
//! Creators are their own tenant (`C#<usr>`); brands' items live under
//! `T#<org>`. The `REF` items let a creator reach a brand's campaign or
//! contract by id with a strongly consistent read, and the handler then
//! checks that the caller is a party.

use aws_sdk_dynamodb::types::AttributeValue;
use nexus_core::ids::{ApplicationId, CampaignId, ContractId, OrgId, UserId, VerificationId};
use nexus_core::Error;
use nexus_store::entity::{tenant_pk, Entity, Key};
use nexus_store::store::{Index, Page, Query};
use nexus_store::tx::{unique_key, Tx, Write};
use nexus_store::{Store, StoreError};
use serde::{Deserialize, Serialize};

use crate::application::Application;
use crate::campaign::{Campaign, Visibility};
use crate::contract::Contract;
use crate::creator::{CreatorProfile, VerificationRequest};
use crate::notification::Notification;

pub fn creator_pk(u: &UserId) -> String {
    format!("C#{u}")
}

impl Entity for CreatorProfile {
    const KIND: &'static str = "CREATOR";
    fn key(&self) -> Key {
        profile_key(&self.creator_id)
    }
}

pub fn profile_key(u: &UserId) -> Key {
    Key::new(creator_pk(u), "PROFILE")
}

impl Entity for VerificationRequest {
    const KIND: &'static str = "VERIFICATION";
    fn key(&self) -> Key {
        Key::new(creator_pk(&self.creator_id), format!("VERIFY#{}", self.id))
    }
    fn gsi1(&self) -> Option<Key> {
        Some(Key::new(
            format!("VERIFY#{}", self.status),
            format!("{}#{}", self.created_at, self.id),
        ))
    }
    fn gsi2(&self) -> Option<Key> {
        Some(Key::new(format!("VRQ#{}", self.id), "VRQ"))
    }
}

impl Entity for Campaign {
    const KIND: &'static str = "CAMPAIGN";
    fn key(&self) -> Key {
        campaign_key(&self.org_id, &self.id)
    }
    fn gsi1(&self) -> Option<Key> {
        (self.visibility == Visibility::Public && self.status.accepts_creators())
            .then(|| Key::new("MARKET", format!("{}#{}", self.created_at, self.id)))
    }
}

pub fn campaign_key(org: &OrgId, id: &CampaignId) -> Key {
    Key::new(tenant_pk(org), format!("CAMPAIGN#{id}"))
}

impl Entity for Application {
    const KIND: &'static str = "APPLICATION";
    fn key(&self) -> Key {
        application_key(&self.org_id, &self.campaign_id, &self.id)
    }
    fn gsi1(&self) -> Option<Key> {
        Some(Key::new(
            creator_pk(&self.creator_id),
            format!("APP#{}", self.id),
        ))
    }
}

pub fn application_key(org: &OrgId, c: &CampaignId, id: &ApplicationId) -> Key {
    Key::new(tenant_pk(org), format!("APP#{c}#{id}"))
}

impl Entity for Contract {
    const KIND: &'static str = "CONTRACT";
    fn key(&self) -> Key {
        contract_key(&self.org_id, &self.id)
    }
    fn gsi1(&self) -> Option<Key> {
        Some(Key::new(
            creator_pk(&self.creator_id),
            format!("CONTRACT#{}", self.id),
        ))
    }
    fn gsi2(&self) -> Option<Key> {
        Some(Key::new(
            format!("{}#CMP#{}", tenant_pk(&self.org_id), self.campaign_id),
            format!("CONTRACT#{}", self.id),
        ))
    }
}

pub fn contract_key(org: &OrgId, id: &ContractId) -> Key {
    Key::new(tenant_pk(org), format!("CONTRACT#{id}"))
}

impl Entity for Notification {
    const KIND: &'static str = "NOTIFICATION";
    fn key(&self) -> Key {
        Key::new(
            format!("U#{}", self.user_id),
            format!("NTF#{}", self.id.ulid()),
        )
    }
}

pub fn unread_key(u: &UserId) -> Key {
    Key::new(format!("U#{u}"), "NTFCOUNT")
}

/// Points a globally unique id (`CAMPAIGN#cmp_…`) at its tenant.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantRef {
    pub target: String,
    pub org_id: OrgId,
}

impl Entity for TenantRef {
    const KIND: &'static str = "REF";
    fn key(&self) -> Key {
        Key::new(self.target.clone(), "REF")
    }
}

pub fn campaign_ref(c: &Campaign) -> TenantRef {
    TenantRef {
        target: format!("CAMPAIGN#{}", c.id),
        org_id: c.org_id.clone(),
    }
}

pub fn contract_ref(c: &Contract) -> TenantRef {
    TenantRef {
        target: format!("CONTRACT#{}", c.id),
        org_id: c.org_id.clone(),
    }
}

pub fn active_counter_key(org: &OrgId) -> Key {
    Key::new(tenant_pk(org), "COUNTER#ACTIVE_CAMPAIGNS")
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// Move the org's active-campaign count by `delta`; taking a slot is
/// conditional on the plan's `max` (so two publishes can't both take the last).
pub fn active_counter(org: &OrgId, delta: i64, max: Option<u64>) -> Write {
    let (condition, mut values) = match (delta > 0, max) {
        (true, Some(max)) => (
            Some("attribute_not_exists(#n) OR #n < :max".to_owned()),
            vec![(":max".to_owned(), n(max as i64))],
        ),
        _ => (None, vec![]),
    };
    values.push((":d".into(), n(delta)));
    Write::Update {
        key: active_counter_key(org),
        update: "ADD #n :d".into(),
        condition,
        names: vec![("#n".into(), "n".into())],
        values,
        label: "active campaigns".into(),
    }
}

pub async fn active_count(store: &Store, org: &OrgId) -> Result<u64, Error> {
    let item = store.get_raw(&active_counter_key(org)).await?;
    Ok(item
        .and_then(|i| {
            i.get("n")
                .and_then(|v| v.as_n().ok())
                .and_then(|s| s.parse::<i64>().ok())
        })
        .unwrap_or(0)
        .max(0) as u64)
}

pub async fn profile(store: &Store, u: &UserId) -> Result<Option<CreatorProfile>, Error> {
    Ok(store.get(&profile_key(u)).await?)
}

pub async fn campaign(store: &Store, org: &OrgId, id: &CampaignId) -> Result<Campaign, Error> {
    store
        .get(&campaign_key(org, id))
        .await?
        .ok_or(Error::NotFound {
            resource: "campaign",
        })
}

/// The tenant of a campaign or contract id, for parties outside the tenant.
pub async fn tenant_of(
    store: &Store,
    target: &str,
    resource: &'static str,
) -> Result<OrgId, Error> {
    store
        .get::<TenantRef>(&Key::new(target, "REF"))
        .await?
        .map(|r| r.org_id)
        .ok_or(Error::NotFound { resource })
}

pub async fn contract(store: &Store, org: &OrgId, id: &ContractId) -> Result<Contract, Error> {
    store
        .get(&contract_key(org, id))
        .await?
        .ok_or(Error::NotFound {
            resource: "contract",
        })
}

pub async fn application(
    store: &Store,
    org: &OrgId,
    c: &CampaignId,
    id: &ApplicationId,
) -> Result<Application, Error> {
    store
        .get(&application_key(org, c, id))
        .await?
        .ok_or(Error::NotFound {
            resource: "application",
        })
}

/// The application id a creator holds for a campaign, if any.
pub async fn application_of(
    store: &Store,
    c: &CampaignId,
    creator: &UserId,
) -> Result<Option<ApplicationId>, Error> {
    let item = store
        .get_raw(&unique_key("application", &format!("{c}#{creator}")))
        .await?;
    Ok(item
        .and_then(|i| i.get("owner").and_then(|v| v.as_s().ok()).cloned())
        .and_then(|s| s.parse().ok()))
}

pub fn application_claim(a: &Application) -> Write {
    Write::Unique {
        kind: "application",
        value: format!("{}#{}", a.campaign_id, a.creator_id),
        owner: a.id.to_string(),
    }
}

pub async fn verification(
    store: &Store,
    id: &VerificationId,
) -> Result<VerificationRequest, Error> {
    // GSI2 finds the creator; the table read is strongly consistent.
    let q = Query::new(Index::Gsi2, format!("VRQ#{id}"), format!("staff/vrq/{id}")).limit(1);
    let found: Page<VerificationRequest> = store.query(q).await?;
    let Some(hit) = found.items.into_iter().next() else {
        return Err(Error::NotFound {
            resource: "verification request",
        });
    };
    store.get(&hit.key()).await?.ok_or(Error::NotFound {
        resource: "verification request",
    })
}

pub async fn verifications_by_status(
    store: &Store,
    status: &str,
    limit: u32,
    cursor: Option<String>,
) -> Result<Page<VerificationRequest>, Error> {
    store
        .query(
            Query::new(
                Index::Gsi1,
                format!("VERIFY#{status}"),
                format!("staff/verify/{status}"),
            )
            .limit(limit)
            .cursor(cursor),
        )
        .await
}

pub async fn verifications_of(
    store: &Store,
    u: &UserId,
    limit: u32,
    cursor: Option<String>,
) -> Result<Page<VerificationRequest>, Error> {
    store
        .query(
            Query::new(Index::Table, creator_pk(u), format!("{u}/verify"))
                .prefix("VERIFY#")
                .newest_first()
                .limit(limit)
                .cursor(cursor),
        )
        .await
}

pub async fn campaigns_of(
    store: &Store,
    org: &OrgId,
    limit: u32,
    cursor: Option<String>,
) -> Result<Page<Campaign>, Error> {
    store
        .query(
            Query::new(Index::Table, tenant_pk(org), format!("{org}/campaigns"))
                .prefix("CAMPAIGN#")
                .newest_first()
                .limit(limit)
                .cursor(cursor),
        )
        .await
}

pub async fn marketplace(
    store: &Store,
    limit: u32,
    cursor: Option<String>,
) -> Result<Page<Campaign>, Error> {
    store
        .query(
            Query::new(Index::Gsi1, "MARKET", "marketplace")
                .newest_first()
                .limit(limit)
                .cursor(cursor),
        )
        .await
}

pub async fn applications_of_campaign(
    store: &Store,
    org: &OrgId,
    c: &CampaignId,
    limit: u32,
    cursor: Option<String>,
) -> Result<Page<Application>, Error> {
    store
        .query(
            Query::new(Index::Table, tenant_pk(org), format!("{org}/{c}/apps"))
                .prefix(format!("APP#{c}#"))
                .limit(limit)
                .cursor(cursor),
        )
        .await
}

pub async fn applications_of_creator(
    store: &Store,
    u: &UserId,
    limit: u32,
    cursor: Option<String>,
) -> Result<Page<Application>, Error> {
    store
        .query(
            Query::new(Index::Gsi1, creator_pk(u), format!("{u}/apps"))
                .prefix("APP#")
                .newest_first()
                .limit(limit)
                .cursor(cursor),
        )
        .await
}

pub async fn contracts_of_creator(
    store: &Store,
    u: &UserId,
    limit: u32,
    cursor: Option<String>,
) -> Result<Page<Contract>, Error> {
    store
        .query(
            Query::new(Index::Gsi1, creator_pk(u), format!("{u}/contracts"))
                .prefix("CONTRACT#")
                .newest_first()
                .limit(limit)
                .cursor(cursor),
        )
        .await
}

pub async fn contracts_of_campaign(
    store: &Store,
    org: &OrgId,
    c: &CampaignId,
    limit: u32,
    cursor: Option<String>,
) -> Result<Page<Contract>, Error> {
    store
        .query(
            Query::new(
                Index::Gsi2,
                format!("{}#CMP#{c}", tenant_pk(org)),
                format!("{org}/{c}/contracts"),
            )
            .limit(limit)
            .cursor(cursor),
        )
        .await
}

pub async fn notifications(
    store: &Store,
    u: &UserId,
    limit: u32,
    cursor: Option<String>,
) -> Result<Page<Notification>, Error> {
    store
        .query(
            Query::new(Index::Table, format!("U#{u}"), format!("{u}/ntf"))
                .prefix("NTF#")
                .newest_first()
                .limit(limit)
                .cursor(cursor),
        )
        .await
}

pub async fn unread(store: &Store, u: &UserId) -> Result<u64, Error> {
    let item = store.get_raw(&unread_key(u)).await?;
    Ok(item
        .and_then(|i| {
            i.get("n")
                .and_then(|v| v.as_n().ok())
                .and_then(|s| s.parse::<i64>().ok())
        })
        .unwrap_or(0)
        .max(0) as u64)
}

/// Store a notification once (per event and recipient) and count it unread.
/// `false`: it already existed (a redelivered event).
pub async fn notify(store: &Store, n: &Notification) -> Result<bool, Error> {
    let tx = Tx::new().write(Write::create(n)?).write(Write::Update {
        key: unread_key(&n.user_id),
        update: "ADD #n :one".into(),
        condition: None,
        names: vec![("#n".into(), "n".into())],
        values: vec![(":one".into(), AttributeValue::N("1".into()))],
        label: "unread".into(),
    });
    match store.commit(tx).await {
        Ok(()) => Ok(true),
        Err(StoreError::ConditionFailed { label }) if label == "notification" => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Mark one notification read (once: the counter moves only on the first time).
pub async fn mark_read(
    store: &Store,
    u: &UserId,
    id: &nexus_core::ids::NotificationId,
) -> Result<(), Error> {
    let tx = Tx::new()
        .write(Write::Update {
            key: Key::new(format!("U#{u}"), format!("NTF#{}", id.ulid())),
            update: "SET #read = :t".into(),
            condition: Some("attribute_exists(PK) AND #read = :f".into()),
            names: vec![("#read".into(), "read".into())],
            values: vec![
                (":t".into(), AttributeValue::Bool(true)),
                (":f".into(), AttributeValue::Bool(false)),
            ],
            label: "notification".into(),
        })
        .write(Write::Update {
            key: unread_key(u),
            update: "ADD #n :minus".into(),
            condition: Some("#n > :zero".into()),
            names: vec![("#n".into(), "n".into())],
            values: vec![
                (":minus".into(), AttributeValue::N("-1".into())),
                (":zero".into(), AttributeValue::N("0".into())),
            ],
            label: "unread".into(),
        });
    match store.commit(tx).await {
        Ok(()) => Ok(()),
        Err(StoreError::ConditionFailed { label }) if label == "notification" => {
            // Already read, or not there.
            let exists = store
                .get_raw(&Key::new(format!("U#{u}"), format!("NTF#{}", id.ulid())))
                .await?
                .is_some();
            if exists {
                Ok(())
            } else {
                Err(Error::NotFound {
                    resource: "notification",
                })
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// At most this many notifications are looked at by one [`mark_all_read`].
pub const MARK_ALL_MAX: usize = 500;

/// Mark the user's unread notifications read, newest first, looking at no more
/// than [`MARK_ALL_MAX`] of them (older ones stay as they are; call again).
/// Each goes through [`mark_read`], so the counter moves once per notification
/// even when this races another reader. Returns how many this call marked.
pub async fn mark_all_read(store: &Store, u: &UserId) -> Result<u64, Error> {
    let mut marked = 0;
    let mut seen = 0;
    let mut cursor = None;
    loop {
        let page = notifications(store, u, 100, cursor).await?;
        seen += page.items.len();
        for n in page.items.iter().filter(|n| !n.read) {
            mark_read(store, u, &n.id).await?;
            marked += 1;
        }
        cursor = page.next_cursor;
        if cursor.is_none() || seen >= MARK_ALL_MAX {
            return Ok(marked);
        }
    }
}

/// Run `attempt` again when a versioned write lost a race (the item changed
/// between read and write, or the store's own conflict retries ran out), up
/// to 5 times with jittered backoff; the domain re-decides on fresh state.
pub async fn retrying<T, F, Fut>(mut attempt: F) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, Retry>>,
{
    let backoff = nexus_store::ConflictRetry::default();
    for tried in 1..=5 {
        match attempt().await {
            Ok(v) => return Ok(v),
            // Spread the losers out so they don't collide again in step.
            Err(Retry::Lost) => backoff.backoff(tried).await,
            Err(Retry::Failed(e)) => return Err(e),
        }
    }
    Err(Error::Unavailable {
        detail: "too many concurrent changes; retry shortly".into(),
        retry_after_secs: 1,
    })
}

/// Outcome of one optimistic attempt.
#[derive(Debug)]
pub enum Retry {
    /// A versioned item changed under us: read again and retry.
    Lost,
    Failed(Error),
}

impl From<Error> for Retry {
    fn from(e: Error) -> Self {
        Retry::Failed(e)
    }
}

/// Commit; a failed version condition on one of `versioned` labels is [`Retry::Lost`].
pub async fn commit(store: &Store, tx: Tx, versioned: &[&str]) -> Result<(), Retry> {
    match store.commit(tx).await {
        Ok(()) => Ok(()),
        Err(StoreError::ConditionFailed { label }) if versioned.contains(&label.as_str()) => {
            Err(Retry::Lost)
        }
        // The store retried the same write and kept colliding: decide again
        // on what is there now.
        Err(StoreError::TransactionConflict) => Err(Retry::Lost),
        Err(StoreError::ConditionFailed { label }) if label == "active campaigns" => {
            Err(Retry::Failed(Error::conflict(
                "active-campaigns-changed",
                "another campaign took the last active-campaign slot of your plan",
            )))
        }
        Err(e) => Err(Retry::Failed(e.into())),
    }
}

/// "This event was already counted" (reputation), kept 30 days.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReputationMarker {
    pub creator_id: UserId,
    pub event_id: String,
    pub expires_at: i64,
}

impl ReputationMarker {
    pub fn new(
        creator: &UserId,
        e: &nexus_core::events::DomainEvent,
        now: nexus_core::Timestamp,
    ) -> Self {
        Self {
            creator_id: creator.clone(),
            event_id: e.id.to_string(),
            expires_at: now.as_second() + 30 * 86_400,
        }
    }
}

impl Entity for ReputationMarker {
    const KIND: &'static str = "REPEVT";
    fn key(&self) -> Key {
        Key::new(
            creator_pk(&self.creator_id),
            format!("REPEVT#{}", self.event_id),
        )
    }
    fn expires_at(&self) -> Option<i64> {
        Some(self.expires_at)
    }
}
