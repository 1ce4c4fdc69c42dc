//! Organizations and memberships.
//!
//! | item | PK | SK | GSI1PK | GSI1SK |
//! |---|---|---|---|---|
//! | organization | `T#<orgId>` | `ORG` | | |
//! | membership | `T#<orgId>` | `MEMBER#<userId>` | `USER#<userId>` | `ORG#<orgId>` |

use nexus_core::ids::{OrgId, UserId};
use nexus_core::org::{Membership, OrgCreated, Organization};
use nexus_core::Error;

use crate::entity::{tenant_pk, Entity, Key};
use crate::store::{Index, Page, Query, Store};
use crate::tx::{Tx, Write};

impl Entity for Organization {
    const KIND: &'static str = "ORG";
    fn key(&self) -> Key {
        org_key(&self.id)
    }
}

impl Entity for Membership {
    const KIND: &'static str = "MEMBER";
    fn key(&self) -> Key {
        member_key(&self.org_id, &self.user_id)
    }
    fn gsi1(&self) -> Option<Key> {
        Some(Key::new(
            format!("USER#{}", self.user_id),
            format!("ORG#{}", self.org_id),
        ))
    }
}

pub fn org_key(org: &OrgId) -> Key {
    Key::new(tenant_pk(org), "ORG")
}

pub fn member_key(org: &OrgId, user: &UserId) -> Key {
    Key::new(tenant_pk(org), format!("MEMBER#{user}"))
}

/// Organization, owner membership and `OrganizationCreated`, atomically.
pub async fn create(store: &Store, c: &OrgCreated) -> Result<(), Error> {
    let tx = Tx::new()
        .write(Write::create(&c.org)?)
        .write(Write::create(&c.owner)?)
        .event(c.event.clone());
    store.commit(tx).await?;
    Ok(())
}

pub async fn get(store: &Store, org: &OrgId) -> Result<Option<Organization>, Error> {
    Ok(store.get(&org_key(org)).await?)
}

pub async fn membership(
    store: &Store,
    org: &OrgId,
    user: &UserId,
) -> Result<Option<Membership>, Error> {
    Ok(store.get(&member_key(org, user)).await?)
}

/// The organizations a user belongs to, oldest membership first.
pub async fn list_for_user(
    store: &Store,
    user: &UserId,
    limit: u32,
    cursor: Option<String>,
) -> Result<Page<Membership>, Error> {
    let q = Query::new(Index::Gsi1, format!("USER#{user}"), format!("{user}/orgs"))
        .prefix("ORG#")
        .limit(limit)
        .cursor(cursor);
    store.query(q).await
}

/// An agency's access to a client brand, granted by the brand.
///
/// | item | PK | SK | GSI1PK | GSI1SK |
/// |---|---|---|---|---|
/// | grant | `T#<brandOrgId>` | `GRANT#<agencyOrgId>` | `AGENCY#<agencyOrgId>` | `CLIENT#<brandOrgId>` |
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgencyGrant {
    #[schema(value_type = String)]
    pub brand_org_id: OrgId,
    #[schema(value_type = String)]
    pub agency_org_id: OrgId,
    pub agency_name: String,
    /// The role agency members act with inside the brand.
    pub role: nexus_core::principal::Role,
    #[schema(value_type = String)]
    pub granted_by: UserId,
    #[schema(value_type = String, format = DateTime)]
    pub granted_at: nexus_core::Timestamp,
}

impl Entity for AgencyGrant {
    const KIND: &'static str = "GRANT";
    fn key(&self) -> Key {
        grant_key(&self.brand_org_id, &self.agency_org_id)
    }
    fn gsi1(&self) -> Option<Key> {
        Some(Key::new(
            format!("AGENCY#{}", self.agency_org_id),
            format!("CLIENT#{}", self.brand_org_id),
        ))
    }
}

pub fn grant_key(brand: &OrgId, agency: &OrgId) -> Key {
    Key::new(tenant_pk(brand), format!("GRANT#{agency}"))
}

/// The grants a brand gave (at most 100 agencies are considered).
pub async fn grants_of(store: &Store, brand: &OrgId) -> Result<Vec<AgencyGrant>, Error> {
    let q = Query::new(Index::Table, tenant_pk(brand), format!("{brand}/grants"))
        .prefix("GRANT#")
        .limit(100);
    Ok(store.query(q).await?.items)
}

/// The role a user holds in `brand` through an agency they belong to.
pub async fn role_via_agency(
    store: &Store,
    brand: &OrgId,
    user: &UserId,
) -> Result<Option<nexus_core::principal::Role>, Error> {
    for g in grants_of(store, brand).await? {
        if membership(store, &g.agency_org_id, user).await?.is_some() {
            return Ok(Some(g.role));
        }
    }
    Ok(None)
}

/// Members of an organization, in user-id order.
pub async fn list_members(
    store: &Store,
    org: &OrgId,
    limit: u32,
    cursor: Option<String>,
) -> Result<Page<Membership>, Error> {
    let q = Query::new(Index::Table, tenant_pk(org), format!("{org}/members"))
        .prefix("MEMBER#")
        .limit(limit)
        .cursor(cursor);
    store.query(q).await
}

fn n(v: u64) -> aws_sdk_dynamodb::types::AttributeValue {
    aws_sdk_dynamodb::types::AttributeValue::N(v.to_string())
}

/// Add a member, taking a seat: the seat count and the membership change
/// together, and the count can't pass `max_seats` even under concurrency.
pub async fn add_member(
    store: &Store,
    m: &Membership,
    max_seats: Option<u64>,
    extra: Tx,
) -> Result<(), Error> {
    let owner = u64::from(m.role == nexus_core::principal::Role::Owner);
    let (condition, mut values) = match max_seats {
        Some(max) => (
            "attribute_exists(#pk) AND memberCount < :max".to_string(),
            vec![(":max".to_string(), n(max))],
        ),
        None => ("attribute_exists(#pk)".to_string(), vec![]),
    };
    values.push((":one".into(), n(1)));
    values.push((":owner".into(), n(owner)));
    let tx = extra
        .write(Write::Update {
            key: org_key(&m.org_id),
            update: "ADD memberCount :one, ownerCount :owner".into(),
            condition: Some(condition),
            names: vec![("#pk".into(), crate::attr::PK.into())],
            values,
            label: "seats".into(),
        })
        .write(Write::create(m)?);
    match store.commit(tx).await {
        Err(crate::StoreError::ConditionFailed { label }) if label == "member" => Err(
            Error::conflict("already-member", "this user is already a member"),
        ),
        Err(crate::StoreError::ConditionFailed { label }) if label == "seats" => {
            Err(Error::conflict("seats-changed", "no seat left"))
        }
        other => Ok(other?),
    }
}

/// Change a member's role (`from` must still be current). An organization
/// always keeps at least one owner.
pub async fn change_role(
    store: &Store,
    m: &Membership,
    to: nexus_core::principal::Role,
    extra: Tx,
) -> Result<Membership, Error> {
    use nexus_core::principal::Role;
    let mut next = m.clone();
    next.role = to;
    let delta: i64 = i64::from(to == Role::Owner) - i64::from(m.role == Role::Owner);
    let mut tx = extra.write(Write::Update {
        key: member_key(&m.org_id, &m.user_id),
        update: "SET #role = :to".into(),
        condition: Some("#role = :from".into()),
        names: vec![("#role".into(), "role".into())],
        values: vec![
            (
                ":to".into(),
                aws_sdk_dynamodb::types::AttributeValue::S(to.as_str().into()),
            ),
            (
                ":from".into(),
                aws_sdk_dynamodb::types::AttributeValue::S(m.role.as_str().into()),
            ),
        ],
        label: "member".into(),
    });
    if delta != 0 {
        tx = tx.write(owner_delta(&m.org_id, delta));
    }
    commit_membership_change(store, tx).await?;
    Ok(next)
}

fn owner_delta(org: &OrgId, delta: i64) -> Write {
    let (condition, values) = if delta < 0 {
        (
            Some("ownerCount > :one".to_string()),
            vec![
                (
                    ":d".to_string(),
                    aws_sdk_dynamodb::types::AttributeValue::N(delta.to_string()),
                ),
                (":one".to_string(), n(1)),
            ],
        )
    } else {
        (
            None,
            vec![(
                ":d".to_string(),
                aws_sdk_dynamodb::types::AttributeValue::N(delta.to_string()),
            )],
        )
    };
    Write::Update {
        key: org_key(org),
        update: "ADD ownerCount :d".into(),
        condition,
        names: vec![],
        values,
        label: "owners".into(),
    }
}

async fn commit_membership_change(store: &Store, tx: Tx) -> Result<(), Error> {
    match store.commit(tx).await {
        Err(crate::StoreError::ConditionFailed { label }) if label == "owners" => {
            Err(Error::conflict(
                "last-owner",
                "an organization needs at least one owner; make someone else owner first",
            ))
        }
        Err(crate::StoreError::ConditionFailed { label }) if label == "member" => {
            Err(Error::conflict(
                "member-changed",
                "the membership changed meanwhile; reload and retry",
            ))
        }
        other => Ok(other?),
    }
}

/// Remove a member, freeing the seat (never the last owner). One update of
/// the organization item carries both counters: a transaction may touch an
/// item only once.
pub async fn remove_member(store: &Store, m: &Membership, extra: Tx) -> Result<(), Error> {
    use aws_sdk_dynamodb::types::AttributeValue;
    let owner = m.role == nexus_core::principal::Role::Owner;
    let mut values = vec![(":minus".to_string(), AttributeValue::N("-1".into()))];
    let (update, condition, label) = if owner {
        values.push((":one".into(), n(1)));
        (
            "ADD memberCount :minus, ownerCount :minus",
            Some("ownerCount > :one".to_string()),
            "owners",
        )
    } else {
        ("ADD memberCount :minus", None, "seats")
    };
    let tx = extra
        .write(Write::DeleteIf {
            key: member_key(&m.org_id, &m.user_id),
            condition: "#role = :from".into(),
            names: vec![("#role".into(), "role".into())],
            values: vec![(":from".into(), AttributeValue::S(m.role.as_str().into()))],
            label: "member".into(),
        })
        .write(Write::Update {
            key: org_key(&m.org_id),
            update: update.into(),
            condition,
            names: vec![],
            values,
            label: label.into(),
        });
    commit_membership_change(store, tx).await
}

/// A pending invitation (one per e-mail per organization; re-inviting replaces it).
///
/// | item | PK | SK |
/// |---|---|---|
/// | invitation | `T#<orgId>` | `INVITE#<email>` (TTL) |
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Invitation {
    pub org_id: OrgId,
    pub email: String,
    pub role: nexus_core::principal::Role,
    pub invited_by: UserId,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: nexus_core::Timestamp,
    /// Epoch seconds.
    pub expires_at: i64,
}

impl Entity for Invitation {
    const KIND: &'static str = "INVITE";
    fn key(&self) -> Key {
        invitation_key(&self.org_id, &self.email)
    }
    fn expires_at(&self) -> Option<i64> {
        Some(self.expires_at)
    }
}

pub fn invitation_key(org: &OrgId, email: &str) -> Key {
    Key::new(tenant_pk(org), format!("INVITE#{email}"))
}

/// Pending, unexpired invitations of an organization.
pub async fn pending_invitations(
    store: &Store,
    org: &OrgId,
    now: nexus_core::Timestamp,
) -> Result<Vec<Invitation>, Error> {
    let q = Query::new(Index::Table, tenant_pk(org), format!("{org}/invites"))
        .prefix("INVITE#")
        .limit(100);
    Ok(store
        .query::<Invitation>(q)
        .await?
        .items
        .into_iter()
        .filter(|i| i.expires_at > now.as_second())
        .collect())
}
