//! Who is calling: resolve the credentials of a request into an identity the
//! authorizer passes to handlers as context.
//!
//! The authorizer *authenticates*; handlers *authorize* (permission matrix,
//! tenant check). A request with missing or bad credentials is still passed
//! through as `anonymous` with the reason, so the handler answers with a
//! proper RFC 9457 `401` problem instead of API Gateway's bare
//! `{"message":"Forbidden"}`; `nexus_http::principal` refuses anonymous
//! callers on every protected route.

use crate::keys::KeyRing;
use crate::token::TokenError;

/// The authorizer's verdict, flattened into its simple-response context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    User {
        id: String,
        org: Option<String>,
        role: Option<String>,
        /// `brand` or `creator`.
        account: Option<String>,
        staff: bool,
        session: Option<String>,
    },
    ApiKey {
        id: String,
        org: String,
        scopes: Vec<String>,
    },
    Anonymous {
        reason: &'static str,
    },
}

impl Identity {
    /// Context keys as `nexus_http::context::claims` reads them.
    pub fn context(&self) -> serde_json::Value {
        match self {
            Identity::User {
                id,
                org,
                role,
                account,
                staff,
                session,
            } => serde_json::json!({
                "principalType": "user",
                "principalId": id,
                "orgId": org.clone().unwrap_or_default(),
                "role": role.clone().unwrap_or_default(),
                "accountType": account.clone().unwrap_or_default(),
                "scopes": "",
                "staff": staff,
                "sessionId": session.clone().unwrap_or_default(),
            }),
            Identity::ApiKey { id, org, scopes } => serde_json::json!({
                "principalType": "apiKey",
                "principalId": id,
                "orgId": org,
                "role": "",
                "scopes": scopes.join(" "),
                "staff": false,
                "sessionId": "",
            }),
            Identity::Anonymous { reason } => {
                serde_json::json!({ "principalType": "anonymous", "authError": reason })
            }
        }
    }
}

/// The API key in a request, if it carries one (`X-Api-Key`, or a bearer
/// token that looks like a key).
pub fn api_key<'a>(authorization: Option<&'a str>, x_api_key: Option<&'a str>) -> Option<&'a str> {
    if let Some(k) = x_api_key.map(str::trim).filter(|k| !k.is_empty()) {
        return Some(k);
    }
    authorization
        .map(str::trim)
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| t.starts_with("nxk_"))
}

/// Resolve an `Authorization` header value.
pub fn authenticate(keys: &KeyRing, issuer: &str, authorization: Option<&str>) -> Identity {
    let Some(value) = authorization.map(str::trim).filter(|v| !v.is_empty()) else {
        return Identity::Anonymous { reason: "missing" };
    };
    let Some(token) = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
    else {
        return Identity::Anonymous { reason: "scheme" };
    };
    match keys.verify(token, issuer) {
        Ok(c) => Identity::User {
            id: c.sub,
            org: c.org,
            role: c.role,
            account: c.acct,
            staff: c.staff,
            session: c.sid,
        },
        Err(TokenError::Expired) => Identity::Anonymous { reason: "expired" },
        Err(_) => Identity::Anonymous { reason: "invalid" },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::AccessClaims;

    #[test]
    fn resolves_users_and_explains_refusals() {
        let keys = KeyRing::from_secrets(&"k".repeat(40), &[]).unwrap();
        let now = jiff::Timestamp::now().as_second();
        let t = keys
            .issue(&AccessClaims::for_user(
                "iss",
                "usr_1",
                Some(("org_1", "admin")),
                now,
            ))
            .unwrap();
        assert_eq!(
            authenticate(&keys, "iss", Some(&format!("Bearer {t}"))),
            Identity::User {
                id: "usr_1".into(),
                org: Some("org_1".into()),
                role: Some("admin".into()),
                account: Some("brand".into()),
                staff: false,
                session: None,
            }
        );
        assert_eq!(
            authenticate(&keys, "iss", None),
            Identity::Anonymous { reason: "missing" }
        );
        assert_eq!(
            authenticate(&keys, "iss", Some("Basic abc")),
            Identity::Anonymous { reason: "scheme" }
        );
        assert_eq!(
            authenticate(&keys, "iss", Some("Bearer nope")),
            Identity::Anonymous { reason: "invalid" }
        );
        let old = AccessClaims {
            exp: now - 3600,
            iat: now - 4000,
            ..AccessClaims::for_user("iss", "usr_1", None, now)
        };
        assert_eq!(
            authenticate(
                &keys,
                "iss",
                Some(&format!("Bearer {}", keys.issue(&old).unwrap()))
            ),
            Identity::Anonymous { reason: "expired" }
        );
        assert_eq!(
            Identity::Anonymous { reason: "expired" }.context()["principalType"],
            "anonymous"
        );
    }
}
