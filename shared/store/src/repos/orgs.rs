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
