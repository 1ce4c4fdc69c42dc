//! Authenticating API keys (for the authorizer).

use nexus_auth::Identity;
use nexus_core::plans::Level;
use nexus_core::{Error, Timestamp};
use nexus_store::repos::{apikeys, orgs};
use nexus_store::Store;

/// Resolve a presented API key: it must exist, match its stored hash, not be
/// revoked, and its organization's plan must include API access.
pub async fn authenticate(
    store: &Store,
    presented: &str,
    now: Timestamp,
) -> Result<Identity, Error> {
    let invalid = Identity::Anonymous { reason: "invalid" };
    let Some((org, id)) = apikeys::parse(presented) else {
        return Ok(invalid);
    };
    let Some(key) = apikeys::get(store, &org, &id).await? else {
        return Ok(invalid);
    };
    if !nexus_auth::secrets::ct_eq(&key.hash, &nexus_auth::secrets::token_hash(presented)) {
        return Ok(invalid);
    }
    if key.revoked_at.is_some() {
        return Ok(Identity::Anonymous { reason: "revoked" });
    }
    let plan_ok = orgs::get(store, &org)
        .await?
        .is_some_and(|o| o.plan.limits().api_access != Level::None);
    if !plan_ok {
        return Ok(Identity::Anonymous { reason: "plan" });
    }
    if let Err(e) = apikeys::touch(store, &org, &id, now).await {
        tracing::warn!(error = %e, "could not record API key use");
    }
    Ok(Identity::ApiKey {
        id: id.to_string(),
        org: org.to_string(),
        scopes: key.scopes,
    })
}
