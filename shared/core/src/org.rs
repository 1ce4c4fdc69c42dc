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
    /// Seats in use (kept in step with memberships, transactionally).
    #[serde(default = "one")]
    pub member_count: u64,
    /// Owners (an organization always keeps at least one).
    #[serde(default = "one")]
    pub owner_count: u64,
}

fn one() -> u64 {
    1
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
    /// The member's e-mail and name when they joined (for member lists).
    #[serde(default)]
    pub user_email: String,
    #[serde(default)]
    pub user_name: String,
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
    create_for(input, creator, String::new(), String::new(), now)
}

/// [`create`], recording the creator's e-mail and name on the membership.
pub fn create_for(
    input: NewOrganization,
    creator: UserId,
    email: String,
    name: String,
    now: Timestamp,
) -> OrgCreated {
    let org = Organization {
        id: OrgId::new(),
        name: input.name,
        kind: input.kind,
        plan: Plan::Free,
        created_by: creator.clone(),
        created_at: now,
        updated_at: now,
        version: 1,
        member_count: 1,
        owner_count: 1,
    };
    let owner = Membership {
        org_id: org.id.clone(),
        user_id: creator.clone(),
        role: Role::Owner,
        org_name: org.name.clone(),
        org_kind: org.kind,
        joined_at: now,
        user_email: email,
        user_name: name,
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

/// Roles that can be given by invitation or grant (ownership only moves by transfer).
pub const GRANTABLE_ROLES: [(&str, Role); 4] = [
    ("admin", Role::Admin),
    ("manager", Role::Manager),
    ("analyst", Role::Analyst),
    ("viewer", Role::Viewer),
];

/// Parse a role given to someone else (never `owner` or `staff`).
pub fn parse_grantable_role(pointer: &str, role: Option<&str>) -> Result<Role> {
    let mut v = Validator::new();
    let r = v.parse(pointer, role, "unknown_value", |r| {
        one_of(r, &GRANTABLE_ROLES)
    });
    v.finish()?;
    r.ok_or_else(|| crate::Error::internal("validator passed without a role"))
}

/// May `actor` (with `actor_role`) change `target`'s role from `from` to `to`?
/// Owners may do anything (including making another owner); admins manage
/// non-owners only and can't create owners.
pub fn check_role_change(actor_role: Role, from: Role, to: Role) -> Result<()> {
    let forbidden = |d: &str| Err(crate::Error::Forbidden(d.into()));
    match actor_role {
        Role::Owner => Ok(()),
        Role::Admin if from == Role::Owner => forbidden("only an owner can change an owner's role"),
        Role::Admin if to == Role::Owner => forbidden("only an owner can transfer ownership"),
        Role::Admin => Ok(()),
        _ => forbidden("your role does not allow managing members"),
    }
}

/// Who may give an agency access to a brand (or change the role of a grant):
/// the brand's owners only. An admin could otherwise grant a brand role to
/// an agency they own and keep it after being demoted or removed.
pub fn check_grant_agency(actor_role: Role) -> Result<()> {
    if actor_role == Role::Owner {
        Ok(())
    } else {
        Err(crate::Error::Forbidden(
            "only an owner of the brand can give an agency access".into(),
        ))
    }
}

/// The role an agency member acts with in a client brand: the grant's role,
/// capped by the member's own role in the agency (an agency viewer stays a
/// viewer whatever the grant says).
pub fn role_through_grant(granted: Role, agency_role: Role) -> Role {
    granted.weaker(agency_role)
}

/// Check that every one of `scopes` grants only permissions the creator of
/// a key holds (`holds`; see [`crate::principal::role_may_issue_scope`]):
/// a credential never grants more than its creator. `holder` names the
/// creator's power in the field errors (`your role (admin)`).
pub fn check_scopes_within(
    scopes: &[String],
    holds: impl Fn(crate::principal::Permission) -> bool,
    holder: &str,
) -> Result<()> {
    let mut v = Validator::new();
    for (i, s) in scopes.iter().enumerate() {
        if !crate::principal::scope_permissions(s)
            .into_iter()
            .all(&holds)
        {
            v.error(
                &format!("/scopes/{i}"),
                "exceeds_role",
                format!(
                    "'{s}' allows more than {holder} does; a key can't hold more than its creator"
                ),
            );
        }
    }
    v.finish()
}

/// API-key scope groups and levels (`campaigns:read`, `org:write`, …).
pub const SCOPE_GROUPS: [&str; 5] = ["org", "campaigns", "content", "analytics", "billing"];

/// Parse and de-duplicate API-key scopes.
pub fn parse_scopes(scopes: Option<Vec<String>>) -> Result<Vec<String>> {
    let mut v = Validator::new();
    let scopes = scopes.unwrap_or_default();
    if scopes.is_empty() {
        v.error(
            "/scopes",
            "required",
            "give at least one scope, e.g. campaigns:read",
        );
    }
    let mut out = vec![];
    for (i, s) in scopes.iter().enumerate() {
        match s.split_once(':') {
            Some((g, l)) if SCOPE_GROUPS.contains(&g) && (l == "read" || l == "write") => {
                if !out.contains(s) {
                    out.push(s.clone());
                }
            }
            _ => v.error(
                &format!("/scopes/{i}"),
                "unknown_value",
                format!(
                    "'{}' is not a scope; use <group>:read or <group>:write with group one of {}",
                    s.chars().take(40).collect::<String>(),
                    SCOPE_GROUPS.join(", ")
                ),
            ),
        }
    }
    v.finish()?;
    Ok(out)
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
    fn role_changes_follow_the_owner_admin_rules() {
        use Role::*;
        assert!(check_role_change(Owner, Admin, Owner).is_ok());
        assert!(check_role_change(Owner, Owner, Viewer).is_ok());
        assert!(check_role_change(Admin, Viewer, Manager).is_ok());
        assert_eq!(
            check_role_change(Admin, Owner, Viewer)
                .unwrap_err()
                .status(),
            403
        );
        assert_eq!(
            check_role_change(Admin, Viewer, Owner)
                .unwrap_err()
                .status(),
            403
        );
        assert_eq!(
            check_role_change(Manager, Viewer, Analyst)
                .unwrap_err()
                .status(),
            403
        );
        assert!(parse_grantable_role("/role", Some("owner")).is_err());
        assert_eq!(
            parse_grantable_role("/role", Some("viewer")).unwrap(),
            Viewer
        );
    }

    #[test]
    fn only_owners_grant_and_grants_are_capped_by_the_agency_role() {
        use Role::*;
        assert!(check_grant_agency(Owner).is_ok());
        for r in [Admin, Manager, Analyst, Viewer, Staff] {
            assert_eq!(check_grant_agency(r).unwrap_err().status(), 403);
        }
        assert_eq!(role_through_grant(Manager, Owner), Manager);
        assert_eq!(role_through_grant(Admin, Viewer), Viewer);
        assert_eq!(role_through_grant(Viewer, Admin), Viewer);
        assert_eq!(role_through_grant(Analyst, Manager), Analyst);
    }

    #[test]
    fn key_scopes_stay_within_the_creators_role() {
        let scopes: Vec<String> = ["campaigns:write", "org:write", "billing:write"]
            .map(String::from)
            .into();
        let role = |r: Role| move |p| crate::principal::role_allows(r, p);
        assert!(check_scopes_within(&scopes, role(Role::Owner), "your role (owner)").is_ok());
        let Err(Error::Validation(e)) =
            check_scopes_within(&scopes, role(Role::Admin), "your role (admin)")
        else {
            panic!()
        };
        assert!(e[0].detail.contains("your role (admin)"), "{}", e[0].detail);
        assert_eq!(
            e.iter().map(|e| e.pointer.as_str()).collect::<Vec<_>>(),
            ["/scopes/1", "/scopes/2"]
        );
        assert!(e.iter().all(|e| e.code == "exceeds_role"));
    }

    #[test]
    fn scopes_are_group_and_level() {
        assert_eq!(
            parse_scopes(Some(vec![
                "campaigns:read".into(),
                "campaigns:read".into(),
                "org:write".into()
            ]))
            .unwrap(),
            ["campaigns:read", "org:write"]
        );
        let Err(Error::Validation(e)) =
            parse_scopes(Some(vec!["campaigns:admin".into(), "x".into()]))
        else {
            panic!()
        };
        assert_eq!(e[0].pointer, "/scopes/0");
        assert_eq!(e.len(), 2);
        assert!(parse_scopes(None).is_err());
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
