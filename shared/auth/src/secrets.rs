//! Secrets users hold: passwords (argon2id), opaque tokens (refresh, e-mail
//! verification, reset, invitation, MFA challenge: random, stored as SHA-256),
//! one-time codes, TOTP and recovery codes.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use rand::Rng;
use sha2::{Digest, Sha256};

/// argon2id with OWASP's 2024 minimum (19 MiB, 2 passes, 1 lane): ~25 ms on a Lambda vCPU.
fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

pub fn hash_password(password: &str) -> Result<String, String> {
    let salt_bytes: [u8; 16] = rand::rng().random();
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| e.to_string())?;
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| argon2().verify_password(password.as_bytes(), &h).is_ok())
}

/// A hash to compare against when the account doesn't exist, so a login for
/// an unknown e-mail costs the same time as a wrong password.
pub fn dummy_password_check(password: &str) {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let phc = DUMMY.get_or_init(|| hash_password("dummy-password-for-timing").unwrap_or_default());
    let _ = verify_password(password, phc);
}

/// A new opaque token: `<prefix>_<43 chars of base64url>` (256 bits).
pub fn new_token(prefix: &str) -> String {
    let bytes: [u8; 32] = rand::rng().random();
    format!("{prefix}_{}", B64.encode(bytes))
}

/// What is stored for a token: its SHA-256 (hex). High-entropy tokens need no salt.
pub fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A numeric one-time code (e-mail OTP), `digits` long.
pub fn numeric_code(digits: u32) -> String {
    let n: u32 = rand::rng().random_range(0..10u32.pow(digits));
    format!("{n:0width$}", width = digits as usize)
}

/// Ten single-use recovery codes, `xxxx-xxxx-xxxx` (lower-case base32).
pub fn recovery_codes() -> Vec<String> {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
    let mut rng = rand::rng();
    (0..10)
        .map(|_| {
            (0..3)
                .map(|_| {
                    (0..4)
                        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
                        .collect::<String>()
                })
                .collect::<Vec<_>>()
                .join("-")
        })
        .collect()
}

/// Constant-time string equality.
pub fn ct_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

pub mod totp {
    //! RFC 6238 TOTP: SHA-1, 6 digits, 30 s steps, ±1 step of clock skew —
    //! what every authenticator app understands.

    use totp_rs::{Algorithm, Secret, TOTP};

    fn build(secret_b32: &str, account: &str) -> Result<TOTP, String> {
        let bytes = Secret::Encoded(secret_b32.to_owned())
            .to_bytes()
            .map_err(|e| format!("{e:?}"))?;
        TOTP::new(
            Algorithm::SHA1,
            6,
            1,
            30,
            bytes,
            Some("NEXUS".into()),
            account.to_owned(),
        )
        .map_err(|e| e.to_string())
    }

    /// A new 160-bit secret, base32.
    pub fn new_secret() -> String {
        Secret::generate_secret().to_encoded().to_string()
    }

    /// `otpauth://totp/NEXUS:<account>?secret=…&issuer=NEXUS…`
    pub fn uri(secret_b32: &str, account: &str) -> Result<String, String> {
        Ok(build(secret_b32, account)?.get_url())
    }

    /// The code for a time (tests and the enrolment check).
    pub fn code_at(secret_b32: &str, unix_secs: u64) -> Result<String, String> {
        Ok(build(secret_b32, "x")?.generate(unix_secs))
    }

    /// Whether `code` is valid at `unix_secs` (±30 s). Returns the time step
    /// it matched, so a caller can refuse a replay of the same step.
    pub fn verify(secret_b32: &str, code: &str, unix_secs: u64) -> Option<u64> {
        let t = build(secret_b32, "x").ok()?;
        let code = code.trim().replace(' ', "");
        let step = unix_secs / 30;
        [step.saturating_sub(1), step, step + 1]
            .into_iter()
            .find(|s| super::ct_eq(&t.generate(s * 30), &code))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let h = hash_password("violet-kayak-47-orbit").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_password("violet-kayak-47-orbit", &h));
        assert!(!verify_password("violet-kayak-47-orbiT", &h));
        assert!(!verify_password("x", "not a phc string"));
        assert_ne!(h, hash_password("violet-kayak-47-orbit").unwrap(), "salted");
    }

    #[test]
    fn tokens_are_random_prefixed_and_stored_hashed() {
        let a = new_token("rt");
        assert!(a.starts_with("rt_") && a.len() == 46);
        assert_ne!(a, new_token("rt"));
        assert_eq!(token_hash(&a).len(), 64);
        assert_eq!(token_hash(&a), token_hash(&a));
        assert_eq!(numeric_code(6).len(), 6);
        let codes = recovery_codes();
        assert_eq!(codes.len(), 10);
        assert!(codes.iter().all(|c| c.len() == 14));
    }

    #[test]
    fn totp_matches_rfc6238_timing_and_skew() {
        let secret = totp::new_secret();
        let now = 1_795_860_000u64;
        let code = totp::code_at(&secret, now).unwrap();
        assert_eq!(totp::verify(&secret, &code, now), Some(now / 30));
        assert!(
            totp::verify(&secret, &code, now + 30).is_some(),
            "one step of skew"
        );
        assert!(
            totp::verify(&secret, &code, now + 90).is_none(),
            "not three steps later"
        );
        assert!(totp::verify(&secret, "000000", now).is_none() || code == "000000");
        let uri = totp::uri(&secret, "jane@example.com").unwrap();
        assert!(
            uri.starts_with("otpauth://totp/NEXUS:jane%40example.com?secret="),
            "{uri}"
        );
        // RFC 6238 appendix B vector (SHA-1, T=59 s): 94287082 → last 6 digits.
        let rfc = totp_rs::Secret::Raw(b"12345678901234567890".to_vec())
            .to_encoded()
            .to_string();
        assert_eq!(totp::code_at(&rfc, 59).unwrap(), "287082");
    }
}
