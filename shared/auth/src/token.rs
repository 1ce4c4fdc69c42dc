//! Issuing and verifying access tokens.

use jsonwebtoken::{Algorithm, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::keys::KeyRing;

pub const AUDIENCE: &str = "nexus-api";
/// Access tokens live 15 minutes; refresh tokens (opaque, stored hashed) renew them.
pub const ACCESS_TOKEN_TTL_SECS: i64 = 15 * 60;

/// Claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    /// `usr_…`
    pub sub: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    /// Active organization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    /// Role in the active organization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Account type: `brand` or `creator`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acct: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub staff: bool,
    /// Session (refresh-token family) this token belongs to; logout revokes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("token is malformed")]
    Malformed,
    #[error("token uses an unsupported algorithm")]
    Algorithm,
    #[error("token was signed by an unknown key")]
    UnknownKey,
    #[error("token signature is invalid")]
    Signature,
    #[error("token has expired")]
    Expired,
    #[error("token is not valid for this API")]
    Claims,
    #[error("signing failed: {0}")]
    Signing(String),
}

impl KeyRing {
    pub fn issue(&self, claims: &AccessClaims) -> Result<String, TokenError> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.current.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.current.encoding)
            .map_err(|e| TokenError::Signing(e.to_string()))
    }

    /// Verify signature (EdDSA only; `alg: none` and HMAC confusion are
    /// refused), key id, issuer, audience and expiry (no leeway beyond 30 s).
    pub fn verify(&self, token: &str, issuer: &str) -> Result<AccessClaims, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed)?;
        if header.alg != Algorithm::EdDSA {
            return Err(TokenError::Algorithm);
        }
        let key = header
            .kid
            .as_deref()
            .and_then(|k| self.find(k))
            .ok_or(TokenError::UnknownKey)?;
        let mut v = Validation::new(Algorithm::EdDSA);
        v.set_audience(&[AUDIENCE]);
        v.set_issuer(&[issuer]);
        v.leeway = 30;
        v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        jsonwebtoken::decode::<AccessClaims>(token, &key.decoding, &v)
            .map(|d| d.claims)
            .map_err(|e| {
                use jsonwebtoken::errors::ErrorKind::*;
                match e.kind() {
                    ExpiredSignature => TokenError::Expired,
                    InvalidSignature => TokenError::Signature,
                    InvalidAudience
                    | InvalidIssuer
                    | MissingRequiredClaim(_)
                    | ImmatureSignature => TokenError::Claims,
                    InvalidAlgorithm => TokenError::Algorithm,
                    _ => TokenError::Malformed,
                }
            })
    }
}

impl AccessClaims {
    /// Claims for a user, valid for [`ACCESS_TOKEN_TTL_SECS`] from `now`.
    pub fn for_user(issuer: &str, user: &str, org: Option<(&str, &str)>, now_secs: i64) -> Self {
        Self {
            iss: issuer.to_owned(),
            sub: user.to_owned(),
            aud: AUDIENCE.to_owned(),
            iat: now_secs,
            exp: now_secs + ACCESS_TOKEN_TTL_SECS,
            jti: ulid::Ulid::new().to_string(),
            org: org.map(|(o, _)| o.to_owned()),
            role: org.map(|(_, r)| r.to_owned()),
            acct: Some("brand".into()),
            staff: false,
            sid: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    use base64::Engine;

    const ISS: &str = "https://api.nexus.test";

    fn ring(secret: char) -> KeyRing {
        KeyRing::from_secrets(&secret.to_string().repeat(40), &[]).unwrap()
    }

    fn now() -> i64 {
        jiff::Timestamp::now().as_second()
    }

    #[test]
    fn issued_tokens_verify_with_their_claims() {
        let r = ring('a');
        let c = AccessClaims::for_user(ISS, "usr_1", Some(("org_1", "owner")), now());
        let t = r.issue(&c).unwrap();
        assert_eq!(r.verify(&t, ISS).unwrap(), c);
    }

    #[test]
    fn forged_expired_and_foreign_tokens_are_refused() {
        let r = ring('a');
        let c = AccessClaims::for_user(ISS, "usr_1", None, now());
        let t = r.issue(&c).unwrap();
        // Another key with the same kid can't exist; another ring doesn't know this kid.
        assert_eq!(ring('b').verify(&t, ISS), Err(TokenError::UnknownKey));
        // Wrong issuer.
        assert_eq!(r.verify(&t, "https://evil"), Err(TokenError::Claims));
        // Expired beyond leeway.
        let old = AccessClaims {
            iat: now() - 4000,
            exp: now() - 3600,
            ..c.clone()
        };
        assert_eq!(
            r.verify(&r.issue(&old).unwrap(), ISS),
            Err(TokenError::Expired)
        );
        // Tampered payload keeps the signature of the original.
        let parts: Vec<&str> = t.split('.').collect();
        let evil = AccessClaims {
            role: Some("owner".into()),
            org: Some("org_2".into()),
            ..c.clone()
        };
        let forged = format!(
            "{}.{}.{}",
            parts[0],
            B64.encode(serde_json::to_vec(&evil).unwrap()),
            parts[2]
        );
        assert_eq!(r.verify(&forged, ISS), Err(TokenError::Signature));
        // alg: none.
        let none_header = B64.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let unsigned = format!("{none_header}.{}.", parts[1]);
        assert!(matches!(
            r.verify(&unsigned, ISS),
            Err(TokenError::Malformed | TokenError::Algorithm)
        ));
        // HS256 with the public key as secret (algorithm confusion).
        let hs = jsonwebtoken::encode(
            &Header {
                kid: Some(r.current.kid.clone()),
                ..Header::new(Algorithm::HS256)
            },
            &c,
            &jsonwebtoken::EncodingKey::from_secret(r.current.x.as_bytes()),
        )
        .unwrap();
        assert_eq!(r.verify(&hs, ISS), Err(TokenError::Algorithm));
        assert_eq!(r.verify("not.a.jwt", ISS), Err(TokenError::Malformed));
        assert_eq!(r.verify("", ISS), Err(TokenError::Malformed));
    }

    #[test]
    fn previous_keys_still_verify_after_rotation() {
        let old = ring('a');
        let t = old
            .issue(&AccessClaims::for_user(ISS, "usr_1", None, now()))
            .unwrap();
        let rotated = KeyRing::from_secrets(&"b".repeat(40), &["a".repeat(40)]).unwrap();
        assert!(rotated.verify(&t, ISS).is_ok());
        assert_ne!(rotated.current.kid, old.current.kid);
    }
}
