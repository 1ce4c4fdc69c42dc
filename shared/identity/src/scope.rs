//! Which role a user holds in an organization: directly (membership) or
//! through an agency that the organization granted access to.

use nexus_core::ids::{OrgId, UserId};
use nexus_core::principal::Role;
use nexus_core::Error;
use nexus_store::repos::orgs;

use crate::Deps;

pub async fn role_in(d: &Deps<'_>, user: &UserId, org: &OrgId) -> Result<Option<Role>, Error> {
    if let Some(m) = orgs::membership(d.store, org, user).await? {
        return Ok(Some(m.role));
    }
    orgs::role_via_agency(d.store, org, user).await
}
