//! The Cipher port: encrypting secrets that must be read back (TOTP seeds,
//! OAuth tokens). KMS in AWS (with an encryption context binding each
//! ciphertext to its purpose and owner); locally, AES-256-GCM with a key file.

use async_trait::async_trait;
use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use rand::Rng;
use std::collections::BTreeMap;

/// `context` (e.g. `{"purpose": "totp", "user": "usr_…"}`) must be the same to decrypt.
#[async_trait]
pub trait Cipher: Send + Sync {
    async fn encrypt(
        &self,
        plaintext: &[u8],
        context: &BTreeMap<String, String>,
    ) -> Result<String, String>;
    async fn decrypt(
        &self,
        ciphertext: &str,
        context: &BTreeMap<String, String>,
    ) -> Result<Vec<u8>, String>;
}

/// KMS `Encrypt`/`Decrypt` with an encryption context (feature `kms`).
#[cfg(feature = "kms")]
pub struct KmsCipher {
    client: aws_sdk_kms::Client,
    key_id: String,
}

#[cfg(feature = "kms")]
impl KmsCipher {
    pub fn new(client: aws_sdk_kms::Client, key_id: String) -> Self {
        Self { client, key_id }
    }
}

#[cfg(feature = "kms")]
#[async_trait]
impl Cipher for KmsCipher {
    async fn encrypt(
        &self,
        plaintext: &[u8],
        context: &BTreeMap<String, String>,
    ) -> Result<String, String> {
        let out = self
            .client
            .encrypt()
            .key_id(&self.key_id)
            .plaintext(aws_sdk_kms::primitives::Blob::new(plaintext))
            .set_encryption_context(Some(context.clone().into_iter().collect()))
            .send()
            .await
            .map_err(|e| format!("KMS Encrypt: {}", e.into_service_error()))?;
        let blob = out
            .ciphertext_blob
            .ok_or("KMS Encrypt returned no ciphertext")?;
        Ok(format!("kms:{}", B64.encode(blob.as_ref())))
    }

    async fn decrypt(
        &self,
        ciphertext: &str,
        context: &BTreeMap<String, String>,
    ) -> Result<Vec<u8>, String> {
        let raw = ciphertext
            .strip_prefix("kms:")
            .ok_or("not a KMS ciphertext")?;
        let bytes = B64.decode(raw).map_err(|e| e.to_string())?;
        let out = self
            .client
            .decrypt()
            .key_id(&self.key_id)
            .ciphertext_blob(aws_sdk_kms::primitives::Blob::new(bytes))
            .set_encryption_context(Some(context.clone().into_iter().collect()))
            .send()
            .await
            .map_err(|e| format!("KMS Decrypt: {}", e.into_service_error()))?;
        Ok(out
            .plaintext
            .ok_or("KMS Decrypt returned no plaintext")?
            .into_inner())
    }
}

/// Local stand-in for KMS: AES-256-GCM, the context as associated data.
pub struct LocalCipher {
    key: LessSafeKey,
}

impl LocalCipher {
    pub fn new(key: [u8; 32]) -> Result<Self, String> {
        Ok(Self {
            key: LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &key).map_err(|e| e.to_string())?),
        })
    }
}

fn aad(context: &BTreeMap<String, String>) -> Vec<u8> {
    serde_json::to_vec(context).unwrap_or_default()
}

#[async_trait]
impl Cipher for LocalCipher {
    async fn encrypt(
        &self,
        plaintext: &[u8],
        context: &BTreeMap<String, String>,
    ) -> Result<String, String> {
        let nonce_bytes: [u8; NONCE_LEN] = rand::rng().random();
        let mut buf = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce_bytes),
                Aad::from(aad(context)),
                &mut buf,
            )
            .map_err(|e| e.to_string())?;
        let mut out = nonce_bytes.to_vec();
        out.extend(buf);
        Ok(format!("local:{}", B64.encode(out)))
    }

    async fn decrypt(
        &self,
        ciphertext: &str,
        context: &BTreeMap<String, String>,
    ) -> Result<Vec<u8>, String> {
        let raw = B64
            .decode(
                ciphertext
                    .strip_prefix("local:")
                    .ok_or("not a local ciphertext")?,
            )
            .map_err(|e| e.to_string())?;
        if raw.len() < NONCE_LEN {
            return Err("ciphertext too short".into());
        }
        let (nonce, sealed) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|e| e.to_string())?;
        let mut buf = sealed.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(aad(context)), &mut buf)
            .map_err(|_| "decryption failed".to_string())?;
        Ok(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wiremock::matchers::{header, method};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    fn ctx(user: &str) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("purpose".to_string(), "totp".to_string()),
            ("user".to_string(), user.to_string()),
        ])
    }

    #[tokio::test]
    async fn local_cipher_round_trips_and_binds_the_context() {
        let c = LocalCipher::new([7; 32]).unwrap();
        let ct = c.encrypt(b"JBSWY3DPEHPK3PXP", &ctx("usr_1")).await.unwrap();
        assert!(!ct.contains("JBSWY3DP"));
        assert_eq!(
            c.decrypt(&ct, &ctx("usr_1")).await.unwrap(),
            b"JBSWY3DPEHPK3PXP"
        );
        assert!(
            c.decrypt(&ct, &ctx("usr_2")).await.is_err(),
            "another user's context can't open it"
        );
        assert!(LocalCipher::new([8; 32])
            .unwrap()
            .decrypt(&ct, &ctx("usr_1"))
            .await
            .is_err());
    }

    #[tokio::test]
    async fn kms_adapter_speaks_the_kms_api() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(header("x-amz-target", "TrentService.Encrypt"))
            .respond_with(ResponseTemplate::new(200).set_body_raw(
                serde_json::json!({"CiphertextBlob": B64.encode(b"sealed"), "KeyId": "arn:aws:kms:us-east-1:1:key/k", "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}).to_string(),
                "application/x-amz-json-1.1",
            ))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(header("x-amz-target", "TrentService.Decrypt"))
            .respond_with(ResponseTemplate::new(400).set_body_raw(
                r#"{"__type":"InvalidCiphertextException","message":""}"#,
                "application/x-amz-json-1.1",
            ))
            .mount(&server)
            .await;
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_kms::config::Credentials::new(
                "a", "b", None, None, "t",
            ))
            .endpoint_url(server.uri())
            .load()
            .await;
        let c = KmsCipher::new(aws_sdk_kms::Client::new(&sdk), "alias/nexus".into());
        let ct = c.encrypt(b"secret", &ctx("usr_1")).await.unwrap();
        assert_eq!(ct, format!("kms:{}", B64.encode(b"sealed")));
        let req = &server.received_requests().await.unwrap()[0];
        let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
        assert_eq!(body["EncryptionContext"]["user"], "usr_1");
        assert_eq!(body["KeyId"], "alias/nexus");
        let err = c.decrypt(&ct, &ctx("usr_1")).await.unwrap_err();
        assert!(err.contains("InvalidCiphertext"), "{err}");
    }
}
