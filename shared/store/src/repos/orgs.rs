//! Organizations and memberships.
//!
//! | item | PK | SK | GSI1PK | GSI1SK |
//! |---|---|---|---|---|
//! | organization | `T#<orgId>` | `ORG` | | |
//! | membership | `T#<orgId>` | `MEMBER#<userId>` | `USER#<userId>` | `ORG#<orgId>` |
//! | agency grant | `T#<brandOrgId>` | `GRANT#<agencyOrgId>` | `AGENCY#<agencyOrgId>` | `CLIENT#<brandOrgId>` |
//! | invitation | `T#<orgId>` | `INVITE#<email>` (TTL) | | |

use nexus_core::ids::{InvitationId, OrgId, UserId};
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

/// One page of the grants a brand gave, in agency-id order.
pub async fn grants_page(
    store: &Store,
    brand: &OrgId,
    limit: u32,
    cursor: Option<String>,
) -> Result<Page<AgencyGrant>, Error> {
    let q = Query::new(Index::Table, tenant_pk(brand), format!("{brand}/grants"))
        .prefix("GRANT#")
        .limit(limit)
        .cursor(cursor);
    store.query(q).await
}

/// Every grant a brand gave (all pages; needs no cursor key).
pub async fn grants_of(store: &Store, brand: &OrgId) -> Result<Vec<AgencyGrant>, Error> {
    let q = Query::new(Index::Table, tenant_pk(brand), format!("{brand}/grants"))
        .prefix("GRANT#")
        .limit(100);
    store.query_all(q).await
}

pub async fn grant(
    store: &Store,
    brand: &OrgId,
    agency: &OrgId,
) -> Result<Option<AgencyGrant>, Error> {
    Ok(store.get(&grant_key(brand, agency)).await?)
}

/// Remove an agency's access to a brand (with `extra`, e.g. its event).
pub async fn revoke_grant(
    store: &Store,
    brand: &OrgId,
    agency: &OrgId,
    extra: Tx,
) -> Result<(), Error> {
    let tx = extra.write(Write::Delete {
        key: grant_key(brand, agency),
        expected_version: None,
        label: "grant".into(),
    });
    match store.commit(tx).await {
        Err(crate::StoreError::ConditionFailed { label }) if label == "grant" => {
            Err(Error::NotFound {
                resource: "agency grant",
            })
        }
        other => Ok(other?),
    }
}

/// The role a user holds in `brand` through the agencies they belong to:
/// each grant's role capped by the user's role in that agency, the
/// strongest of those when several of their agencies hold grants. Read
/// consistently from the table (grants, then the user's membership of each
/// granted agency), so a revoked grant or a lowered agency role counts at once.
pub async fn role_via_agency(
    store: &Store,
    brand: &OrgId,
    user: &UserId,
) -> Result<Option<nexus_core::principal::Role>, Error> {
    let mut best: Option<nexus_core::principal::Role> = None;
    for g in grants_of(store, brand).await? {
        if let Some(m) = membership(store, &g.agency_org_id, user).await? {
            let r = nexus_core::org::role_through_grant(g.role, m.role);
            best = Some(best.map_or(r, |b| b.stronger(r)));
        }
    }
    Ok(best)
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

/// A pending invitation (one per e-mail per organization; re-inviting
/// replaces it and its token, so only the newest link works).
///
/// | item | PK | SK |
/// |---|---|---|
/// | invitation | `T#<orgId>` | `INVITE#<email>` (TTL) |
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Invitation {
    #[schema(value_type = String)]
    pub id: InvitationId,
    #[schema(value_type = String)]
    pub org_id: OrgId,
    pub email: String,
    pub role: nexus_core::principal::Role,
    #[schema(value_type = String)]
    pub invited_by: UserId,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: nexus_core::Timestamp,
    /// Epoch seconds.
    pub expires_at: i64,
    /// SHA-256 of the invitation token: accepting requires the token of the
    /// current invitation. Never returned by the API.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schema(ignore)]
    pub token_hash: String,
    #[serde(default)]
    #[schema(ignore)]
    pub version: u64,
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

/// The invitation of `email`, pending or expired (TTL deletion lags).
pub async fn invitation(
    store: &Store,
    org: &OrgId,
    email: &str,
) -> Result<Option<Invitation>, Error> {
    Ok(store.get(&invitation_key(org, email)).await?)
}

/// One page of an organization's unexpired invitations, in e-mail order
/// (a page may hold fewer than `limit` when some expired).
pub async fn invitations_page(
    store: &Store,
    org: &OrgId,
    now: nexus_core::Timestamp,
    limit: u32,
    cursor: Option<String>,
) -> Result<Page<Invitation>, Error> {
    let q = Query::new(Index::Table, tenant_pk(org), format!("{org}/invites"))
        .prefix("INVITE#")
        .limit(limit)
        .cursor(cursor);
    let mut page: Page<Invitation> = store.query(q).await?;
    page.items.retain(|i| i.expires_at > now.as_second());
    Ok(page)
}

/// Every pending, unexpired invitation of an organization (all pages).
pub async fn pending_invitations(
    store: &Store,
    org: &OrgId,
    now: nexus_core::Timestamp,
) -> Result<Vec<Invitation>, Error> {
    let mut out = vec![];
    let mut cursor = None;
    loop {
        let page = invitations_page(store, org, now, 100, cursor).await?;
        out.extend(page.items);
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return Ok(out),
        }
    }
}

/// Invite (or re-invite) in one transaction: the invitation item is created,
/// or replaced only if it is still the one `previous` read (a concurrent
/// re-invitation is a conflict, not two live links); the previous token is
/// deleted, so its link stops working; the new token is stored.
pub async fn put_invitation(
    store: &Store,
    invitation: &Invitation,
    previous: Option<&Invitation>,
    extra: Tx,
) -> Result<(), Error> {
    let tx = match previous {
        None => extra.write(Write::create(invitation)?),
        Some(old) => {
            let tx = extra.write(Write::replace(invitation, old.version)?);
            match old.token_hash.as_str() {
                "" => tx,
                hash => tx.write(delete_token(hash)),
            }
        }
    };
    match store.commit(tx).await {
        Err(crate::StoreError::ConditionFailed { label }) if label == "invite" => {
            Err(Error::conflict(
                "invitation-changed",
                "this address was invited again meanwhile; reload and retry",
            ))
        }
        other => Ok(other?),
    }
}

/// The write that binds a freshly mailed token to invitation `id` (if it is
/// still the current invitation of its address).
pub fn set_invitation_token(
    org: &OrgId,
    email: &str,
    id: &InvitationId,
    token_hash: &str,
) -> Write {
    Write::Update {
        key: invitation_key(org, email),
        update: "SET tokenHash = :h".into(),
        condition: Some("id = :id".into()),
        names: vec![],
        values: vec![
            (
                ":h".into(),
                aws_sdk_dynamodb::types::AttributeValue::S(token_hash.into()),
            ),
            (
                ":id".into(),
                aws_sdk_dynamodb::types::AttributeValue::S(id.to_string()),
            ),
        ],
        label: "invite".into(),
    }
}

/// Cancel a pending invitation: it and its token go, so the link stops working.
pub async fn cancel_invitation(
    store: &Store,
    invitation: &Invitation,
    extra: Tx,
) -> Result<(), Error> {
    let tx = extra
        .write(Write::Delete {
            key: invitation_key(&invitation.org_id, &invitation.email),
            expected_version: Some(invitation.version),
            label: "invite".into(),
        })
        .write(delete_token(&invitation.token_hash));
    match store.commit(tx).await {
        Err(crate::StoreError::ConditionFailed { label }) if label == "invite" => {
            Err(Error::NotFound {
                resource: "invitation",
            })
        }
        other => Ok(other?),
    }
}

/// Delete a one-time token record unless it was used (a missing record is fine).
fn delete_token(hash: &str) -> Write {
    Write::DeleteIf {
        key: crate::repos::tokens::token_key(hash),
        condition: "attribute_not_exists(usedAt)".into(),
        names: vec![],
        values: vec![],
        label: "old invitation token".into(),
    }
}

/// The condition accepting an invitation puts on its item: it still exists
/// and is the invitation this token was issued for.
pub fn accept_invitation_write(org: &OrgId, email: &str, token_hash: &str) -> Write {
    Write::DeleteIf {
        key: invitation_key(org, email),
        condition: "tokenHash = :h".into(),
        names: vec![],
        values: vec![(
            ":h".into(),
            aws_sdk_dynamodb::types::AttributeValue::S(token_hash.into()),
        )],
        label: "pending invitation".into(),
    }
}
