//! Who is calling: the principal the authorizer resolved, its active
//! organization and role, and the one permission matrix every handler consults.

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::ids::OrgId;

/// Roles within an organization, most powerful first. `Staff` is NEXUS
/// platform staff (admin console), outside any tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Owner,
    Admin,
    Manager,
    Analyst,
    Viewer,
    Staff,
}

impl Role {
    pub const ORG_ROLES: [Role; 5] = [
        Role::Owner,
        Role::Admin,
        Role::Manager,
        Role::Analyst,
        Role::Viewer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Manager => "manager",
            Role::Analyst => "analyst",
            Role::Viewer => "viewer",
            Role::Staff => "staff",
        }
    }

    /// Power within an organization: 4 for `owner` down to 0 for `viewer`;
    /// `staff` holds no tenant power.
    fn power(self) -> u8 {
        match self {
            Role::Owner => 4,
            Role::Admin => 3,
            Role::Manager => 2,
            Role::Analyst => 1,
            Role::Viewer | Role::Staff => 0,
        }
    }

    /// The less powerful of two roles (e.g. what an agency member may do in a
    /// client brand: no more than the grant, no more than their agency role).
    pub fn weaker(self, other: Role) -> Role {
        if other.power() < self.power() {
            other
        } else {
            self
        }
    }

    /// The more powerful of two roles.
    pub fn stronger(self, other: Role) -> Role {
        if other.power() > self.power() {
            other
        } else {
            self
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        [
            Role::Owner,
            Role::Admin,
            Role::Manager,
            Role::Analyst,
            Role::Viewer,
            Role::Staff,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }
}

/// Everything a handler can require. Each route declares exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    OrgRead,
    OrgUpdate,
    OrgDelete,
    MembersRead,
    MembersManage,
    ApiKeysManage,
    AuditRead,
    CampaignsRead,
    CampaignsWrite,
    ContentRead,
    ContentModerate,
    AnalyticsRead,
    BillingManage,
}

impl Permission {
    pub const ALL: [Permission; 13] = [
        Permission::OrgRead,
        Permission::OrgUpdate,
        Permission::OrgDelete,
        Permission::MembersRead,
        Permission::MembersManage,
        Permission::ApiKeysManage,
        Permission::AuditRead,
        Permission::CampaignsRead,
        Permission::CampaignsWrite,
        Permission::ContentRead,
        Permission::ContentModerate,
        Permission::AnalyticsRead,
        Permission::BillingManage,
    ];

    /// The API-key scope that grants this permission (`<group>:read|write`).
    pub fn scope(self) -> &'static str {
        match self {
            Permission::OrgRead | Permission::MembersRead | Permission::AuditRead => "org:read",
            Permission::OrgUpdate
            | Permission::OrgDelete
            | Permission::MembersManage
            | Permission::ApiKeysManage => "org:write",
            Permission::CampaignsRead => "campaigns:read",
            Permission::CampaignsWrite => "campaigns:write",
            Permission::ContentRead => "content:read",
            Permission::ContentModerate => "content:write",
            Permission::AnalyticsRead => "analytics:read",
            Permission::BillingManage => "billing:write",
        }
    }
}

/// The permissions an API-key scope grants (`<group>:write` includes the
/// group's read permissions, as [`Principal::require`] applies it).
pub fn scope_permissions(scope: &str) -> Vec<Permission> {
    let read = scope
        .strip_suffix(":write")
        .map(|group| format!("{group}:read"));
    Permission::ALL
        .into_iter()
        .filter(|p| p.scope() == scope || read.as_deref() == Some(p.scope()))
        .collect()
}

/// May a member with `role` issue an API key carrying `scope`? Only when the
/// role holds every permission the scope grants: a credential never grants
/// more than its creator holds (so an admin can't issue `org:write`, which
/// includes deleting the organization, nor `billing:write`). A scope that
/// grants nothing today (`billing:read`) exceeds no role.
pub fn role_may_issue_scope(role: Role, scope: &str) -> bool {
    scope_permissions(scope)
        .into_iter()
        .all(|p| role_allows(role, p))
}

/// The permission matrix: which organization role holds which permission.
/// docs/permissions.md renders this table; a test keeps them in step.
pub fn role_allows(role: Role, p: Permission) -> bool {
    use Permission::*;
    use Role::*;
    match role {
        Owner => true,
        Admin => !matches!(p, OrgDelete | BillingManage),
        Manager => matches!(
            p,
            OrgRead
                | MembersRead
                | CampaignsRead
                | CampaignsWrite
                | ContentRead
                | ContentModerate
                | AnalyticsRead
        ),
        Analyst => matches!(
            p,
            OrgRead | MembersRead | CampaignsRead | ContentRead | AnalyticsRead
        ),
        Viewer => matches!(p, OrgRead | CampaignsRead | ContentRead),
        // Staff act through the admin console, not as members of a tenant.
        Staff => false,
    }
}

/// The matrix as a Markdown table (rendered into docs/permissions.md; a test
/// keeps the two equal).
pub fn matrix_markdown() -> String {
    let mut out = String::from("| permission | API-key scope |");
    for r in Role::ORG_ROLES {
        out.push_str(&format!(" {} |", r.as_str()));
    }
    out.push_str("\n|---|---|");
    for _ in Role::ORG_ROLES {
        out.push_str("---|");
    }
    for p in Permission::ALL {
        out.push_str(&format!("\n| {p:?} | `{}` |", p.scope()));
        for r in Role::ORG_ROLES {
            out.push_str(if role_allows(r, p) { " ✓ |" } else { "   |" });
        }
    }
    out.push('\n');
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PrincipalKind {
    User,
    ApiKey,
}

/// The authenticated caller, as the authorizer put it in the request context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub kind: PrincipalKind,
    /// `usr_…` for users, `key_…` for API keys.
    pub id: String,
    /// The active organization (tokens are scoped to one org at a time).
    pub org: Option<OrgId>,
    /// Role in the active organization (API keys act with the scopes below instead).
    pub role: Option<Role>,
    /// API-key scopes (`campaigns:read`, …); empty for users.
    pub scopes: Vec<String>,
    /// `brand` or `creator` for users (older tokens carry none); `None` for API keys.
    pub account: Option<crate::user::AccountType>,
    /// NEXUS platform staff.
    pub staff: bool,
    /// The login session (refresh-token family) of a user's access token.
    pub session: Option<String>,
}

impl Principal {
    /// Check that the caller may do `p` inside `org`.
    ///
    /// Another tenant's resource is reported as not found, so ids can't be
    /// probed; the right tenant with too weak a role gets 403.
    pub fn require(&self, org: &OrgId, p: Permission, resource: &'static str) -> Result<(), Error> {
        if self.org.as_ref() != Some(org) {
            return Err(Error::NotFound { resource });
        }
        let allowed = match self.kind {
            PrincipalKind::User => self.role.is_some_and(|r| role_allows(r, p)),
            PrincipalKind::ApiKey => {
                let needed = p.scope();
                let (group, _) = needed.split_once(':').unwrap_or((needed, ""));
                // A write scope implies read on the same group.
                self.scopes.iter().any(|s| {
                    s == needed || (needed.ends_with(":read") && *s == format!("{group}:write"))
                })
            }
        };
        if allowed {
            Ok(())
        } else {
            Err(Error::Forbidden(format!(
                "your {} does not allow this action",
                match self.kind {
                    PrincipalKind::User => "role",
                    PrincipalKind::ApiKey => "API key's scopes",
                }
            )))
        }
    }

    /// Creator accounts only (their own profile, applications, contracts).
    pub fn creator_id(&self) -> Result<crate::ids::UserId, Error> {
        let id = self.user_id()?;
        if self.account == Some(crate::user::AccountType::Creator) {
            Ok(id)
        } else {
            Err(Error::Forbidden(
                "this action is for creator accounts".into(),
            ))
        }
    }

    /// NEXUS staff only (the admin console: verification reviews, …).
    pub fn require_staff(&self) -> Result<crate::ids::UserId, Error> {
        let id = self.user_id()?;
        if self.staff {
            Ok(id)
        } else {
            Err(Error::Forbidden("this action is for NEXUS staff".into()))
        }
    }

    /// Users only (e.g. creating organizations is not for API keys).
    pub fn user_id(&self) -> Result<crate::ids::UserId, Error> {
        match self.kind {
            PrincipalKind::User => self
                .id
                .parse()
                .map_err(|_| Error::Unauthenticated("invalid principal".into())),
            PrincipalKind::ApiKey => Err(Error::Forbidden(
                "this action needs a user, not an API key".into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(org: &OrgId, role: Role) -> Principal {
        Principal {
            kind: PrincipalKind::User,
            id: crate::ids::UserId::new().to_string(),
            org: Some(org.clone()),
            role: Some(role),
            scopes: vec![],
            account: None,
            staff: false,
            session: None,
        }
    }

    #[test]
    fn matrix_is_monotonic_in_role_power() {
        // Anything a weaker role may do, every stronger org role may do too.
        let order = Role::ORG_ROLES;
        for p in Permission::ALL {
            for w in order.windows(2) {
                assert!(
                    !role_allows(w[1], p) || role_allows(w[0], p),
                    "{:?} allows {p:?} but {:?} does not",
                    w[1],
                    w[0]
                );
            }
        }
        assert!(role_allows(Role::Owner, Permission::BillingManage));
        assert!(!role_allows(Role::Admin, Permission::BillingManage));
        assert!(!role_allows(Role::Viewer, Permission::MembersRead));
        assert!(Permission::ALL
            .iter()
            .all(|p| !role_allows(Role::Staff, *p)));
    }

    #[test]
    fn docs_show_the_matrix_in_force() {
        let doc = include_str!("../../../docs/permissions.md");
        assert!(
            doc.contains(&matrix_markdown()),
            "docs/permissions.md is out of date; paste:\n{}",
            matrix_markdown()
        );
    }

    #[test]
    fn other_tenant_is_not_found_and_weak_role_is_forbidden() {
        let a = OrgId::new();
        let b = OrgId::new();
        assert_eq!(
            user(&a, Role::Owner)
                .require(&b, Permission::OrgRead, "organization")
                .unwrap_err()
                .status(),
            404
        );
        assert_eq!(
            user(&a, Role::Viewer)
                .require(&a, Permission::OrgUpdate, "organization")
                .unwrap_err()
                .status(),
            403
        );
        assert!(user(&a, Role::Viewer)
            .require(&a, Permission::OrgRead, "organization")
            .is_ok());
    }

    #[test]
    fn weaker_and_stronger_roles() {
        use Role::*;
        assert_eq!(Admin.weaker(Viewer), Viewer);
        assert_eq!(Viewer.weaker(Admin), Viewer);
        assert_eq!(Owner.weaker(Manager), Manager);
        assert_eq!(Analyst.weaker(Analyst), Analyst);
        assert_eq!(Manager.stronger(Admin), Admin);
        assert_eq!(Staff.weaker(Owner), Staff);
        for a in Role::ORG_ROLES {
            for b in Role::ORG_ROLES {
                let w = a.weaker(b);
                // The weaker role never allows what either of the two doesn't.
                for p in Permission::ALL {
                    assert!(!role_allows(w, p) || (role_allows(a, p) && role_allows(b, p)));
                }
            }
        }
    }

    #[test]
    fn keys_carry_only_scopes_the_creating_role_holds() {
        use Role::*;
        assert!(role_may_issue_scope(Owner, "billing:write"));
        assert!(role_may_issue_scope(Owner, "org:write"));
        // Admins hold neither billing nor organization deletion.
        assert!(!role_may_issue_scope(Admin, "billing:write"));
        assert!(!role_may_issue_scope(Admin, "org:write"));
        assert!(role_may_issue_scope(Admin, "org:read"));
        assert!(role_may_issue_scope(Admin, "campaigns:write"));
        assert!(role_may_issue_scope(Admin, "analytics:read"));
        // A write scope includes the group's reads.
        assert_eq!(
            scope_permissions("campaigns:write"),
            [Permission::CampaignsRead, Permission::CampaignsWrite]
        );
        // org:read includes the audit log, which managers can't read.
        assert!(!role_may_issue_scope(Manager, "org:read"));
        assert!(role_may_issue_scope(Manager, "content:write"));
        assert!(!role_may_issue_scope(Viewer, "analytics:read"));
        assert!(!role_may_issue_scope(Staff, "campaigns:read"));
        assert!(scope_permissions("billing:read").is_empty());
        assert!(role_may_issue_scope(Viewer, "billing:read"));
    }

    #[test]
    fn api_key_scopes() {
        let org = OrgId::new();
        let key = Principal {
            kind: PrincipalKind::ApiKey,
            id: "key_x".into(),
            org: Some(org.clone()),
            role: None,
            scopes: vec!["campaigns:write".into()],
            account: None,
            staff: false,
            session: None,
        };
        assert!(key
            .require(&org, Permission::CampaignsRead, "campaign")
            .is_ok());
        assert!(key
            .require(&org, Permission::CampaignsWrite, "campaign")
            .is_ok());
        assert_eq!(
            key.require(&org, Permission::OrgRead, "organization")
                .unwrap_err()
                .status(),
            403
        );
        assert_eq!(key.user_id().unwrap_err().status(), 403);
    }
}
