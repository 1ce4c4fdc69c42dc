//! Opaque, tamper-checked pagination cursors.
//!
//! A cursor is `base64url(payload) "." base64url(HMAC-SHA256(key, scope "\n" payload))`.
//! The payload is whatever the store needs to resume (a DynamoDB
//! `LastEvaluatedKey`), but clients can't read it meaningfully, forge it, or
//! replay it in another scope: the scope binds a cursor to one tenant and one
//! listing, so a cursor from org A's member list is refused for org B's.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::{Error, FieldError};

type HmacSha256 = Hmac<Sha256>;

/// The secret that signs cursors (from `CURSOR_KEY`).
#[derive(Clone)]
pub struct CursorKey(Vec<u8>);

impl CursorKey {
    pub fn new(secret: impl AsRef<[u8]>) -> Self {
        Self(secret.as_ref().to_vec())
    }
}

impl std::fmt::Debug for CursorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CursorKey(***)")
    }
}

impl CursorKey {
    fn mac(&self, scope: &str, payload: &str) -> HmacSha256 {
        // HMAC accepts keys of any length.
        let mut mac = HmacSha256::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(scope.as_bytes());
        mac.update(b"\n");
        mac.update(payload.as_bytes());
        mac
    }

    /// Seal `payload` into a cursor valid only for `scope`.
    pub fn seal(&self, scope: &str, payload: &serde_json::Value) -> String {
        let payload = B64.encode(payload.to_string());
        let tag = B64.encode(self.mac(scope, &payload).finalize().into_bytes());
        format!("{payload}.{tag}")
    }

    /// Open a cursor; any tampering, truncation or scope change is a 400 on `query/cursor`.
    pub fn open(&self, scope: &str, cursor: &str) -> Result<serde_json::Value, Error> {
        let invalid = || {
            Error::Validation(vec![FieldError::new(
                "query/cursor",
                "invalid_cursor",
                "cursor is not valid for this listing; start again without a cursor",
            )])
        };
        if cursor.len() > 2048 {
            return Err(invalid());
        }
        let (payload, tag) = cursor.split_once('.').ok_or_else(invalid)?;
        let tag = B64.decode(tag).map_err(|_| invalid())?;
        self.mac(scope, payload)
            .verify_slice(&tag)
            .map_err(|_| invalid())?;
        let json = B64.decode(payload).map_err(|_| invalid())?;
        serde_json::from_slice(&json).map_err(|_| invalid())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trip_in_scope() {
        let k = CursorKey::new("secret");
        let c = k.seal(
            "org_A/members",
            &json!({"PK": "T#org_A", "SK": "MEMBER#usr_1"}),
        );
        assert!(
            !c.contains("MEMBER"),
            "payload is not readable as plain text"
        );
        assert_eq!(k.open("org_A/members", &c).unwrap()["SK"], "MEMBER#usr_1");
    }

    #[test]
    fn refuses_other_scope_tampering_and_other_keys() {
        let k = CursorKey::new("secret");
        let c = k.seal("org_A/members", &json!({"SK": "x"}));
        assert!(k.open("org_B/members", &c).is_err());
        assert!(CursorKey::new("other").open("org_A/members", &c).is_err());
        let (p, t) = c.split_once('.').unwrap();
        let forged = format!("{}.{t}", B64.encode(r#"{"SK":"y"}"#));
        assert!(k.open("org_A/members", &forged).is_err());
        assert!(k.open("org_A/members", p).is_err());
        assert!(k.open("org_A/members", "").is_err());
        assert!(k.open("org_A/members", "!!.??").is_err());
        let e = k.open("org_B/members", &c).unwrap_err();
        assert_eq!(e.status(), 400);
    }
}
