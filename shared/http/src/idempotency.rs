//! `Idempotency-Key` on creating POSTs: the first request runs and its
//! response is stored; a retry with the same key and body gets the stored
//! response (with `idempotent-replayed: true`); the same key with a different
//! body is refused (422); a retry while the first is running gets 409.

use std::future::Future;

use lambda_http::{Body, Request};
use nexus_core::principal::Principal;
use nexus_core::{Error, FieldError, Timestamp};
use nexus_store::idempotency::IdemTiming;
use nexus_store::{Claim, Store, StoredResponse};
use sha2::{Digest, Sha256};

use crate::response::ApiResponse;

pub const HEADER: &str = "idempotency-key";

/// Everything that changes the answer to a replayed request: the caller and
/// the organization their token acts in. A user's key used again after
/// `switch-org` is a new request in the other organization, never a replay
/// of the first one's response.
pub fn scope_of(caller: &Principal) -> String {
    match &caller.org {
        Some(org) => format!("{}@{org}", caller.id),
        None => caller.id.clone(),
    }
}

/// Run `f` at most once per (caller, active organization, route, key); see
/// [`scope_of`].
pub async fn idempotent<F, Fut>(
    store: &Store,
    caller: &Principal,
    req: &Request,
    now: Timestamp,
    f: F,
) -> Result<ApiResponse, Error>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<ApiResponse, Error>>,
{
    let Some(raw) = req.headers().get(HEADER) else {
        return f().await;
    };
    let scope = scope_of(caller);
    let scope = scope.as_str();
    let key = raw
        .to_str()
        .ok()
        .filter(|k| (1..=255).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| {
            Error::Validation(vec![FieldError::new(
                "header/idempotency-key",
                "invalid_format",
                "Idempotency-Key must be 1-255 visible ASCII characters",
            )])
        })?;
    let route = crate::context::route_key(req);
    let slot = format!("{route}#{key}");
    let hash = request_hash(req);
    let t = IdemTiming::new(now);
    match store.idem_claim(scope, &slot, &hash, t).await? {
        Claim::Replay(r) => Ok(ApiResponse {
            status: r.status,
            content_type: r.content_type,
            body: r.body,
            location: r.location,
            headers: vec![("idempotent-replayed".into(), "true".into())],
        }),
        Claim::InProgress => Err(Error::IdempotencyInProgress),
        Claim::Mismatch => Err(Error::IdempotencyKeyReused),
        Claim::Proceed => match f().await {
            Ok(resp) => {
                let stored = StoredResponse {
                    status: resp.status,
                    content_type: resp.content_type.clone(),
                    location: resp.location.clone(),
                    body: resp.body.clone(),
                };
                if let Err(e) = store.idem_complete(scope, &slot, &hash, &stored, t).await {
                    // The work is done; failing the request now would invite a duplicate.
                    tracing::warn!(error = %e, "could not store idempotent response");
                }
                Ok(resp)
            }
            Err(e) => {
                if let Err(re) = store.idem_release(scope, &slot).await {
                    tracing::warn!(error = %re, "could not release idempotency claim");
                }
                Err(e)
            }
        },
    }
}

/// SHA-256 over method, path and body: what makes two requests "the same".
pub fn request_hash(req: &Request) -> String {
    let mut h = Sha256::new();
    h.update(req.method().as_str());
    h.update(b" ");
    h.update(req.uri().path());
    h.update(b"\n");
    match req.body() {
        Body::Text(t) => h.update(t.as_bytes()),
        Body::Binary(b) => h.update(b),
        _ => {}
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use nexus_core::ids::OrgId;
    use nexus_core::principal::PrincipalKind;

    fn user(org: Option<OrgId>) -> Principal {
        Principal {
            kind: PrincipalKind::User,
            id: "usr_01JDQ8M3ZP6T0N7W4C5B2X9Y8K".into(),
            org,
            role: None,
            scopes: vec![],
            account: None,
            staff: false,
            session: None,
        }
    }

    #[test]
    fn keys_are_scoped_to_caller_and_organization() {
        let (a, b) = (OrgId::new(), OrgId::new());
        let in_a = scope_of(&user(Some(a.clone())));
        assert_ne!(in_a, scope_of(&user(Some(b))));
        assert_ne!(in_a, scope_of(&user(None)));
        assert_eq!(in_a, scope_of(&user(Some(a.clone()))));
        assert!(in_a.starts_with("usr_") && in_a.ends_with(a.as_str()));
        let mut other = user(Some(a));
        other.id = "usr_01JDQ8M3ZP6T0N7W4C5B2X9Y8E".into();
        assert_ne!(in_a, scope_of(&other));
    }
}
