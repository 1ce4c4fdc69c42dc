//! Identity use cases, written once and called by the thin `auth` and `me`
//! functions: registration and e-mail verification, login with throttling,
//! suspicious-login detection and MFA, refresh-token rotation, logout,
//! password reset, MFA enrolment, and switching the active organization.
//!
//! Every dependency comes in through [`Deps`] (ports), so the same code runs
//! in Lambda and in the local platform.

pub mod account;
pub mod apikey;
pub mod login;
pub mod mfa;
pub mod scope;
pub mod tenancy;
pub mod tokens;

use nexus_auth::KeyRing;
use nexus_core::time::Clock;
use nexus_ports::cipher::Cipher;
use nexus_ports::mail::Mailer;
use nexus_ports::{WireCipher, WireMail, Wiring};
use nexus_store::Store;

pub use tokens::TokenPair;

/// What identity use cases need.
#[derive(Clone, Copy)]
pub struct Deps<'a> {
    pub store: &'a Store,
    pub mailer: &'a dyn Mailer,
    pub cipher: &'a dyn Cipher,
    pub keys: &'a KeyRing,
    pub issuer: &'a str,
    pub clock: &'a dyn Clock,
    /// Base URL of the web app, for links in e-mails.
    pub app_url: &'a str,
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
/// Manager (`JWT_KEY_SECRET_ARN`), `JWT_ISSUER` and `APP_URL` in AWS
/// ([`nexus_ports::Aws`]); the local platform's key file and options locally.
#[async_trait::async_trait]
pub trait WireIdentity: Wiring {
    /// The token signing keys.
    async fn keys(&self) -> Result<KeyRing, String>;
    /// Expected `iss` of access tokens.
    fn issuer(&self) -> Result<String, String>;
    /// Base URL of the web app, for links in e-mails.
    fn app_url(&self) -> Result<String, String>;
}

fn env(k: &str, what: &str) -> Result<String, String> {
    std::env::var(k).map_err(|_| format!("environment variable {k} is required for {what}"))
}

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

    fn app_url(&self) -> Result<String, String> {
        env("APP_URL", "links in e-mails")
    }
}

/// What the identity functions (`auth`, `me`, `orgs`, `invitations`) are
/// built with. [`State::new`] wires the platform and the keys; each function
/// adds the mailer and the cipher only if it calls them (they stay
/// [`nexus_ports::Unwired`] otherwise).
pub struct State {
    pub platform: nexus_ports::Platform,
    pub keys: KeyRing,
    pub issuer: String,
    /// Set by [`State::mailer`] (only mail has links).
    pub app_url: String,
    pub mailer: std::sync::Arc<dyn Mailer>,
    pub cipher: std::sync::Arc<dyn Cipher>,
}

impl State {
    pub fn deps(&self) -> Deps<'_> {
        Deps {
            store: &self.platform.store,
            mailer: self.mailer.as_ref(),
            cipher: self.cipher.as_ref(),
            keys: &self.keys,
            issuer: &self.issuer,
            clock: self.platform.clock.as_ref(),
            app_url: &self.app_url,
        }
    }

    /// The platform and the token keys; mail and the cipher unwired.
    pub async fn new(
        w: &impl WireIdentity,
        platform: nexus_ports::Platform,
    ) -> Result<Self, String> {
        Ok(Self {
            platform,
            keys: w.keys().await?,
            issuer: w.issuer()?,
            app_url: String::new(),
            mailer: std::sync::Arc::new(nexus_ports::Unwired("mailer")),
            cipher: std::sync::Arc::new(nexus_ports::Unwired("cipher")),
        })
    }

    /// E-mail (SES in AWS, the local outbox locally) and the app URL its links use.
    pub fn mailer(mut self, w: &(impl WireIdentity + WireMail)) -> Result<Self, String> {
        self.mailer = w.mailer()?;
        self.app_url = w.app_url()?;
        Ok(self)
    }

    /// Encryption of TOTP seeds (KMS in AWS, a local key locally).
    pub fn cipher(mut self, w: &impl WireCipher) -> Result<Self, String> {
        self.cipher = w.cipher()?;
        Ok(self)
    }
}
