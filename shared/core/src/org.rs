//! The organization aggregate: brands and agencies are the tenants of NEXUS.

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::events::DomainEvent;
use crate::ids::{OrgId, UserId};
use crate::plans::Plan;
use crate::principal::Role;
use crate::time::Timestamp;
use crate::validation::{one_of, Validator};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum OrgKind {
    Brand,
    Agency,
}

impl OrgKind {
    const VALUES: [(&'static str, OrgKind); 2] =
        [("brand", OrgKind::Brand), ("agency", OrgKind::Agency)];
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Organization {
    pub id: OrgId,
    pub name: String,
    pub kind: OrgKind,
    pub plan: Plan,
    pub created_by: UserId,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    /// Optimistic-locking version, incremented on every change.
    pub version: u64,
}

/// A user's membership of an organization.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Membership {
    pub org_id: OrgId,
    pub user_id: UserId,
    pub role: Role,
    pub org_name: String,
    pub org_kind: OrgKind,
    #[schema(value_type = String, format = DateTime)]
    pub joined_at: Timestamp,
}

/// A validated request to create an organization.
#[derive(Debug, Clone, PartialEq)]
pub struct NewOrganization {
    pub name: String,
    pub kind: OrgKind,
}

impl NewOrganization {
    /// Parse the wire fields, collecting every field error.
    pub fn parse(name: Option<String>, kind: Option<String>) -> Result<Self> {
        let mut v = Validator::new();
        let name = v.text("/name", name, 2, 100);
        let kind = v.parse("/kind", kind.as_deref(), "unknown_value", |k| {
            one_of(k, &OrgKind::VALUES)
        });
        v.finish()?;
        match (name, kind) {
            (Some(name), Some(kind)) => Ok(Self { name, kind }),
            _ => Err(crate::Error::internal("validator passed without values")),
        }
    }
}

/// Everything creating an organization writes, in one transaction.
#[derive(Debug, Clone)]
pub struct OrgCreated {
    pub org: Organization,
    pub owner: Membership,
    pub event: DomainEvent,
}

/// Create an organization: the creator becomes its owner; new orgs start on Free.
pub fn create(input: NewOrganization, creator: UserId, now: Timestamp) -> OrgCreated {
    let org = Organization {
        id: OrgId::new(),
        name: input.name,
        kind: input.kind,
        plan: Plan::Free,
        created_by: creator.clone(),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let owner = Membership {
        org_id: org.id.clone(),
        user_id: creator.clone(),
        role: Role::Owner,
        org_name: org.name.clone(),
        org_kind: org.kind,
        joined_at: now,
    };
    let event = DomainEvent::new(
        "orgs",
        "OrganizationCreated",
        Some(org.id.clone()),
        creator.to_string(),
        now,
        serde_json::json!({ "orgId": org.id, "name": org.name, "kind": org.kind, "plan": org.plan }),
    );
    OrgCreated { org, owner, event }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    #[test]
    fn parse_collects_all_field_errors() {
        let Err(Error::Validation(errs)) = NewOrganization::parse(None, Some("shop".into())) else {
            panic!()
        };
        assert_eq!(errs.len(), 2);
        assert_eq!(errs[0].pointer, "/name");
        assert_eq!(errs[1].pointer, "/kind");
        assert!(errs[1].detail.contains("brand, agency"));
    }

    #[test]
    fn creator_becomes_owner_on_free() {
        let u = UserId::new();
        let input = NewOrganization::parse(Some(" Acme ".into()), Some("brand".into())).unwrap();
        let c = create(input, u.clone(), Timestamp::UNIX_EPOCH);
        assert_eq!(c.org.name, "Acme");
        assert_eq!(c.org.plan, Plan::Free);
        assert_eq!(c.owner.role, Role::Owner);
        assert_eq!(c.owner.user_id, u);
        assert_eq!(c.event.tenant.as_ref(), Some(&c.org.id));
        assert_eq!(c.event.detail_type, "OrganizationCreated");
    }
}
