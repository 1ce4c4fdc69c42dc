//! Which role a user holds in an organization: directly (membership) or
//! through an agency that the organization granted access to, and the
//! checks built on it.
//!
//! An access token's `role` is a cache that can be 15 minutes old. What it
//! may still decide: reads. What it may not: writes, which use the role read
//! here (the authorizer re-resolves it for every write, and the member,
//! invitation, API-key and grant writes re-read it themselves, since they
//! decide on its value).

use nexus_auth::Identity;
use nexus_core::ids::{OrgId, UserId};
use nexus_core::principal::{role_allows, Permission, Principal, PrincipalKind, Role};
use nexus_core::Error;
use nexus_store::repos::orgs;
use nexus_store::Store;

use crate::Deps;

/// The user's current role in `org`: a direct membership decides; otherwise
/// the strongest role an agency grant gives them (capped by their agency role).
pub async fn role_in(d: &Deps<'_>, user: &UserId, org: &OrgId) -> Result<Option<Role>, Error> {
    current_role(d.store, user, org).await
}

/// [`role_in`] with only a store (for the authorizer).
pub async fn current_role(
    store: &Store,
    user: &UserId,
    org: &OrgId,
) -> Result<Option<Role>, Error> {
    if let Some(m) = orgs::membership(store, org, user).await? {
        return Ok(Some(m.role));
    }
    orgs::role_via_agency(store, org, user).await
}

/// Methods that only read; every other method is a write.
pub fn is_read(method: &str) -> bool {
    matches!(method, "GET" | "HEAD" | "OPTIONS")
}

/// For a write, replace a user token's role claim by the role held now
/// (none when the membership or grant is gone, so every permission check
/// refuses it). Reads and API keys pass unchanged: keys are looked up on
/// every request and carry their own scopes.
pub async fn current_for(
    store: &Store,
    identity: Identity,
    method: &str,
) -> Result<Identity, Error> {
    match identity {
        Identity::User {
            id,
            org: Some(org),
            role,
            account,
            staff,
            session,
        } if !is_read(method) => {
            let current = match (id.parse::<UserId>(), org.parse::<OrgId>()) {
                (Ok(user), Ok(o)) => current_role(store, &user, &o).await?,
                _ => None,
            };
            if current.map(Role::as_str) != role.as_deref() {
                tracing::info!(
                    user.id = %id,
                    token.role = role.as_deref().unwrap_or(""),
                    current.role = current.map(Role::as_str).unwrap_or(""),
                    "role changed since the token was issued; acting with the current one"
                );
            }
            Ok(Identity::User {
                id,
                org: Some(org),
                role: current.map(|r| r.as_str().to_owned()),
                account,
                staff,
                session,
            })
        }
        other => Ok(other),
    }
}

/// `Principal::require`, and for a user whose token is scoped to another
/// organization they do belong to (directly or through an agency), the
/// `org-not-active` problem naming `POST /v1/auth/switch-org` instead of
/// `404`. Everyone else still gets `404`: the lookup runs for every
/// mismatch, and only members learn anything from its result.
pub async fn require(
    d: &Deps<'_>,
    caller: &Principal,
    org: &OrgId,
    p: Permission,
    resource: &'static str,
) -> Result<(), Error> {
    match caller.require(org, p, resource) {
        Err(Error::NotFound { resource })
            if caller.kind == PrincipalKind::User && caller.org.as_ref() != Some(org) =>
        {
            let user = caller.user_id()?;
            match current_role(d.store, &user, org).await? {
                Some(_) => Err(Error::OrgNotActive { org: org.clone() }),
                None => Err(Error::NotFound { resource }),
            }
        }
        other => other,
    }
}

/// For a write that decides on the caller's role: check `p` against the
/// token (tenant, then role), then against the role held now, which is
/// returned. A demoted member acts with the lower role at once; a removed
/// member or a revoked agency is refused (403: they knew the organization).
/// API keys act with their scopes (looked up on every request).
pub async fn require_current(
    d: &Deps<'_>,
    caller: &Principal,
    org: &OrgId,
    p: Permission,
) -> Result<Option<Role>, Error> {
    require(d, caller, org, p, "organization").await?;
    if caller.kind == PrincipalKind::ApiKey {
        return Ok(None);
    }
    let user = caller.user_id()?;
    let role = current_role(d.store, &user, org).await?.ok_or_else(|| {
        Error::Forbidden(
            "you no longer have access to this organization; switch to another one".into(),
        )
    })?;
    check_current(role, p)?;
    Ok(Some(role))
}

/// The permission check against a freshly read role.
pub fn check_current(role: Role, p: Permission) -> Result<(), Error> {
    if role_allows(role, p) {
        Ok(())
    } else {
        Err(Error::Forbidden(format!(
            "your role is now {}, which does not allow this action",
            role.as_str()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_safe_methods_are_reads() {
        for m in ["GET", "HEAD", "OPTIONS"] {
            assert!(is_read(m));
        }
        for m in ["POST", "PUT", "PATCH", "DELETE", "get"] {
            assert!(!is_read(m), "{m}");
        }
    }

    #[test]
    fn current_role_decides_writes() {
        assert!(check_current(Role::Admin, Permission::MembersManage).is_ok());
        let e = check_current(Role::Viewer, Permission::MembersManage).unwrap_err();
        assert_eq!(e.status(), 403);
        assert!(e.to_string().contains("now viewer"), "{e}");
    }
}
