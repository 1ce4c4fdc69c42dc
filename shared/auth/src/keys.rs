//! Signing keys and where they come from.

use async_trait::async_trait;
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use jsonwebtoken::{DecodingKey, EncodingKey};
use sha2::{Digest, Sha256};
use std::path::PathBuf;

/// One Ed25519 key: signing material (when current) and verification key.
#[derive(Clone)]
pub struct Key {
    pub kid: String,
    pub(crate) encoding: EncodingKey,
    pub(crate) decoding: DecodingKey,
    /// Raw public key, base64url (the JWK `x`).
    pub x: String,
}

impl Key {
    /// Derive the key pair from a secret string.
    pub fn from_secret(secret: &str) -> Result<Self, String> {
        if secret.len() < 32 {
            return Err("signing secret must be at least 32 characters".into());
        }
        let seed: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
        let pair =
            Ed25519KeyPair::from_seed_unchecked(&seed).map_err(|e| format!("ed25519 seed: {e}"))?;
        let pkcs8 = pair.to_pkcs8().map_err(|e| format!("ed25519 pkcs8: {e}"))?;
        let public = pair.public_key().as_ref().to_vec();
        let kid = Sha256::digest(&public)
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(Self {
            kid,
            encoding: EncodingKey::from_ed_der(pkcs8.as_ref()),
            decoding: DecodingKey::from_ed_der(&public),
            x: B64.encode(&public),
        })
    }
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// The current signing key and the keys still accepted for verification.
#[derive(Clone, Debug)]
pub struct KeyRing {
    pub current: Key,
    pub previous: Vec<Key>,
}

impl KeyRing {
    pub fn from_secrets(current: &str, previous: &[String]) -> Result<Self, String> {
        Ok(Self {
            current: Key::from_secret(current)?,
            previous: previous
                .iter()
                .map(|p| Key::from_secret(p))
                .collect::<Result<_, _>>()?,
        })
    }

    pub fn find(&self, kid: &str) -> Option<&Key> {
        std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.kid == kid)
    }

    /// Public keys as a JWKS document (for other services that verify tokens).
    pub fn jwks(&self) -> serde_json::Value {
        let keys: Vec<_> = std::iter::once(&self.current)
            .chain(&self.previous)
            .map(|k| serde_json::json!({"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": k.kid, "x": k.x}))
            .collect();
        serde_json::json!({ "keys": keys })
    }
}

#[async_trait]
pub trait KeySource: Send + Sync {
    async fn load(&self) -> Result<KeyRing, String>;
}

/// The Secrets Manager secret `JWT_KEY_SECRET_ARN`: `AWSCURRENT` signs,
/// `AWSPREVIOUS` (if any) still verifies (feature `secretsmanager`).
#[cfg(feature = "secretsmanager")]
pub struct SecretsManagerKeys {
    client: aws_sdk_secretsmanager::Client,
    secret_id: String,
}

#[cfg(feature = "secretsmanager")]
impl SecretsManagerKeys {
    pub fn new(client: aws_sdk_secretsmanager::Client, secret_id: String) -> Self {
        Self { client, secret_id }
    }

    async fn stage(&self, stage: &str) -> Result<Option<String>, String> {
        match self
            .client
            .get_secret_value()
            .secret_id(&self.secret_id)
            .version_stage(stage)
            .send()
            .await
        {
            Ok(out) => Ok(out.secret_string),
            Err(e) => {
                let se = e.into_service_error();
                if se.is_resource_not_found_exception() {
                    Ok(None)
                } else {
                    Err(format!("GetSecretValue {stage}: {se}"))
                }
            }
        }
    }
}

#[cfg(feature = "secretsmanager")]
#[async_trait]
impl KeySource for SecretsManagerKeys {
    async fn load(&self) -> Result<KeyRing, String> {
        let current = self
            .stage("AWSCURRENT")
            .await?
            .ok_or("the JWT key secret has no AWSCURRENT version")?;
        let previous = self
            .stage("AWSPREVIOUS")
            .await?
            .into_iter()
            .collect::<Vec<_>>();
        KeyRing::from_secrets(&current, &previous)
    }
}

/// A secret kept in a file (the local platform's `.nexus/keys/jwt-secret`),
/// created with 64 random characters on first use.
pub struct FileKeys {
    pub path: PathBuf,
}

#[async_trait]
impl KeySource for FileKeys {
    async fn load(&self) -> Result<KeyRing, String> {
        let secret = match std::fs::read_to_string(&self.path) {
            Ok(s) => s.trim().to_owned(),
            Err(_) => {
                use rand::distr::{Alphanumeric, SampleString};
                let s = Alphanumeric.sample_string(&mut rand::rng(), 64);
                if let Some(dir) = self.path.parent() {
                    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
                }
                std::fs::write(&self.path, &s)
                    .map_err(|e| format!("{}: {e}", self.path.display()))?;
                restrict(&self.path);
                s
            }
        };
        KeyRing::from_secrets(&secret, &[])
    }
}

#[cfg(unix)]
fn restrict(path: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
}
#[cfg(not(unix))]
fn restrict(_: &std::path::Path) {}

#[cfg(test)]
mod tests {
    use super::*;
    use wiremock::matchers::{body_partial_json, method};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    #[tokio::test]
    async fn secrets_manager_current_and_previous_versions() {
        let server = MockServer::start().await;
        let ok = |s: &str, stage: &str| {
            ResponseTemplate::new(200).set_body_raw(
                serde_json::json!({"ARN": "arn:aws:secretsmanager:us-east-1:1:secret:jwt", "Name": "jwt", "SecretString": s, "VersionId": "v", "VersionStages": [stage]}).to_string(),
                "application/x-amz-json-1.1",
            )
        };
        Mock::given(method("POST"))
            .and(body_partial_json(
                serde_json::json!({"VersionStage": "AWSCURRENT"}),
            ))
            .respond_with(ok(&"c".repeat(40), "AWSCURRENT"))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(body_partial_json(
                serde_json::json!({"VersionStage": "AWSPREVIOUS"}),
            ))
            .respond_with(ok(&"p".repeat(40), "AWSPREVIOUS"))
            .mount(&server)
            .await;
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_secretsmanager::config::Credentials::new(
                "a", "b", None, None, "t",
            ))
            .endpoint_url(server.uri())
            .load()
            .await;
        let ring = SecretsManagerKeys::new(aws_sdk_secretsmanager::Client::new(&sdk), "jwt".into())
            .load()
            .await
            .unwrap();
        assert_eq!(
            ring.current.kid,
            Key::from_secret(&"c".repeat(40)).unwrap().kid
        );
        assert_eq!(ring.previous.len(), 1);
        assert_eq!(ring.jwks()["keys"].as_array().unwrap().len(), 2);
    }

    #[tokio::test]
    async fn missing_previous_version_is_fine_and_errors_surface() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(body_partial_json(
                serde_json::json!({"VersionStage": "AWSPREVIOUS"}),
            ))
            .respond_with(ResponseTemplate::new(400).set_body_raw(
                r#"{"__type":"ResourceNotFoundException","Message":"no such version"}"#,
                "application/x-amz-json-1.1",
            ))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(body_partial_json(
                serde_json::json!({"VersionStage": "AWSCURRENT"}),
            ))
            .respond_with(ResponseTemplate::new(200).set_body_raw(
                serde_json::json!({"SecretString": "x".repeat(64)}).to_string(),
                "application/x-amz-json-1.1",
            ))
            .mount(&server)
            .await;
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_secretsmanager::config::Credentials::new(
                "a", "b", None, None, "t",
            ))
            .endpoint_url(server.uri())
            .load()
            .await;
        let ring = SecretsManagerKeys::new(aws_sdk_secretsmanager::Client::new(&sdk), "jwt".into())
            .load()
            .await
            .unwrap();
        assert!(ring.previous.is_empty());
    }

    #[tokio::test]
    async fn file_keys_are_created_once_and_kept() {
        let path = std::env::temp_dir()
            .join(format!("nexus-keys-{}", ulid::Ulid::new()))
            .join("jwt-secret");
        let a = FileKeys { path: path.clone() }.load().await.unwrap();
        let b = FileKeys { path: path.clone() }.load().await.unwrap();
        assert_eq!(a.current.kid, b.current.kid);
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn short_secrets_are_refused() {
        assert!(Key::from_secret("short").is_err());
    }
}
