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

/// What the `auth` and `me` functions are built with.
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

    /// Production wiring: Platform from the environment, keys from Secrets
    /// Manager (`JWT_KEY_SECRET_ARN`), SES (`MAIL_FROM`), KMS (`KMS_KEY_ID`).
    pub async fn from_env() -> Result<Self, String> {
        use nexus_auth::KeySource;
        let var =
            |k: &str| std::env::var(k).map_err(|_| format!("environment variable {k} is required"));
        let sdk =
            nexus_ports::aws_config::load_defaults(nexus_ports::BehaviorVersion::latest()).await;
        let config = nexus_ports::Config::from_env()?;
        let keys = nexus_auth::SecretsManagerKeys::new(
            nexus_auth::aws_sdk_secretsmanager::Client::new(&sdk),
            var("JWT_KEY_SECRET_ARN")?,
        )
        .load()
        .await?;
        Ok(Self {
            platform: nexus_ports::Platform::from_sdk(config, &sdk, None),
            keys,
            issuer: var("JWT_ISSUER")?,
            cipher: std::sync::Arc::new(nexus_ports::cipher::KmsCipher::new(
                nexus_ports::aws_sdk_kms::Client::new(&sdk),
                var("KMS_KEY_ID")?,
            )),
        })
    }
}
