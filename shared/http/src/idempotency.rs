//! `Idempotency-Key` on creating POSTs: the first request runs and its
//! response is stored; a retry with the same key and body gets the stored
//! response (with `idempotent-replayed: true`); the same key with a different
//! body is refused (422); a retry while the first is running gets 409.

use std::future::Future;

use lambda_http::{Body, Request};
use nexus_core::{Error, FieldError, Timestamp};
use nexus_store::idempotency::IdemTiming;
use nexus_store::{Claim, Store, StoredResponse};
use sha2::{Digest, Sha256};

use crate::response::ApiResponse;

pub const HEADER: &str = "idempotency-key";

/// Run `f` at most once per (scope, route, key). `scope` is the caller
/// (`usr_…`/`key_…`), so keys never collide across principals.
pub async fn idempotent<F, Fut>(
    store: &Store,
    scope: &str,
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
