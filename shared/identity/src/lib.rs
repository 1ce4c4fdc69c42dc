//! Identity use cases, written once and called by the thin `auth` and `me`
//! functions: registration and e-mail verification, login with throttling,
//! suspicious-login detection and MFA, refresh-token rotation, logout,
//! password reset, MFA enrolment, and switching the active organization;
//! and the account e-mails the `account-mail` worker sends off the request
//! path ([`mail`]).
//!
//! Every dependency comes in through [`Deps`] (ports), so the same code runs
//! in Lambda and in the local platform.

pub mod account;
pub mod apikey;
pub mod limits;
pub mod login;
pub mod mail;
pub mod mfa;
pub mod scope;
pub mod tenancy;
pub mod tokens;

use nexus_auth::KeyRing;
use nexus_core::time::Clock;
use nexus_ports::cipher::Cipher;
use nexus_ports::{WireCipher, Wiring};
use nexus_store::Store;

pub use tokens::TokenPair;

/// What identity use cases need.
#[derive(Clone, Copy)]
pub struct Deps<'a> {
    pub store: &'a Store,
    pub cipher: &'a dyn Cipher,
    pub keys: &'a KeyRing,
    pub issuer: &'a str,
    pub clock: &'a dyn Clock,
}

/// Where a request came from (for throttling and new-login detection).
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub ip: String,
    pub user_agent: String,
}

/// Short, non-reversible fingerprint of personal data used as a key (IPs, e-mails).
pub fn fingerprint(s: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(s.as_bytes())
        .iter()
        .take(12)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Identity's keys and settings, from the function's wiring: Secrets
/// Manager (`JWT_KEY_SECRET_ARN`) and `JWT_ISSUER` in AWS
/// ([`nexus_ports::Aws`], feature `secretsmanager`); the local platform's key
/// file and options locally.
#[async_trait::async_trait]
pub trait WireIdentity: Wiring {
    /// The token signing keys.
    async fn keys(&self) -> Result<KeyRing, String>;
    /// Expected `iss` of access tokens.
    fn issuer(&self) -> Result<String, String>;
}

#[cfg(feature = "secretsmanager")]
fn env(k: &str, what: &str) -> Result<String, String> {
    std::env::var(k).map_err(|_| format!("environment variable {k} is required for {what}"))
}

#[cfg(feature = "secretsmanager")]
#[async_trait::async_trait]
impl WireIdentity for nexus_ports::Aws {
    async fn keys(&self) -> Result<KeyRing, String> {
        use nexus_auth::KeySource;
        nexus_auth::SecretsManagerKeys::new(
            nexus_auth::aws_sdk_secretsmanager::Client::new(self.sdk()),
            env("JWT_KEY_SECRET_ARN", "the token signing keys")?,
        )
        .load()
        .await
    }

    fn issuer(&self) -> Result<String, String> {
        env("JWT_ISSUER", "access tokens")
    }
}

/// What the identity functions (`auth`, `me`, `orgs`, `invitations`) are
/// built with. [`State::new`] wires the platform and the keys; a function
/// adds the cipher only if it calls it (it stays [`nexus_ports::Unwired`]
/// otherwise). None of them sends mail: the `account-mail` worker does
/// ([`mail`]).
pub struct State {
    pub platform: nexus_ports::Platform,
    pub keys: KeyRing,
    pub issuer: String,
    pub cipher: std::sync::Arc<dyn Cipher>,
}

impl State {
    pub fn deps(&self) -> Deps<'_> {
        Deps {
            store: &self.platform.store,
            cipher: self.cipher.as_ref(),
            keys: &self.keys,
            issuer: &self.issuer,
            clock: self.platform.clock.as_ref(),
        }
    }

    /// The platform and the token keys; the cipher unwired.
    pub async fn new(
        w: &impl WireIdentity,
        platform: nexus_ports::Platform,
    ) -> Result<Self, String> {
        Ok(Self {
            platform,
            keys: w.keys().await?,
            issuer: w.issuer()?,
            cipher: std::sync::Arc::new(nexus_ports::Unwired("cipher")),
        })
    }

    /// Encryption of TOTP seeds (KMS in AWS, a local key locally).
    pub fn cipher(mut self, w: &impl WireCipher) -> Result<Self, String> {
        self.cipher = w.cipher()?;
        Ok(self)
    }
}
