//! The pagination cursor key from Secrets Manager (feature `paging`).
//!
//! The template passes the secret's ARN (`CURSOR_KEY_SECRET_ARN`), never its
//! value: a CloudFormation dynamic reference in `Environment` would put the
//! key in plaintext in the function's configuration, readable by anyone with
//! `lambda:GetFunctionConfiguration`. The store resolves it with
//! `GetSecretValue` the first time a cursor is sealed or opened and keeps it
//! for the execution environment's lifetime, so cold starts don't wait for it.

use async_trait::async_trait;
use nexus_core::cursor::CursorKey;
use nexus_store::CursorKeySource;

/// `GetSecretValue` of the `AWSCURRENT` version; the whole `SecretString` is the key.
pub struct SecretsManagerCursorKey {
    client: aws_sdk_secretsmanager::Client,
    secret_id: String,
}

/// Shorter secrets are refused: the template generates 64 characters.
pub const MIN_KEY_LEN: usize = 32;

impl SecretsManagerCursorKey {
    pub fn new(client: aws_sdk_secretsmanager::Client, secret_id: String) -> Self {
        Self { client, secret_id }
    }
}

#[async_trait]
impl CursorKeySource for SecretsManagerCursorKey {
    async fn cursor_key(&self) -> Result<CursorKey, String> {
        let out = self
            .client
            .get_secret_value()
            .secret_id(&self.secret_id)
            .send()
            .await
            .map_err(|e| {
                use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
                format!(
                    "GetSecretValue {}: {}",
                    self.secret_id,
                    e.code().or(e.message()).unwrap_or("request failed")
                )
            })?;
        let secret = out
            .secret_string
            .ok_or_else(|| format!("secret {} has no SecretString", self.secret_id))?;
        if secret.len() < MIN_KEY_LEN {
            return Err(format!(
                "secret {} is shorter than {MIN_KEY_LEN} characters",
                self.secret_id
            ));
        }
        Ok(CursorKey::new(secret))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wiremock::matchers::{body_partial_json, header, method};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    const ARN: &str =
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:nexus-dev-CursorKeySecret-AbCdEf";

    async fn source(server: &MockServer) -> SecretsManagerCursorKey {
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("eu-west-1"))
            .credentials_provider(aws_sdk_secretsmanager::config::Credentials::new(
                "a", "b", None, None, "t",
            ))
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .endpoint_url(server.uri())
            .load()
            .await;
        SecretsManagerCursorKey::new(aws_sdk_secretsmanager::Client::new(&sdk), ARN.into())
    }

    #[tokio::test]
    async fn reads_the_current_secret_string() {
        let server = MockServer::start().await;
        // A GetSecretValue response as Secrets Manager sends it.
        Mock::given(method("POST"))
            .and(header("x-amz-target", "secretsmanager.GetSecretValue"))
            .and(body_partial_json(serde_json::json!({"SecretId": ARN})))
            .respond_with(
                ResponseTemplate::new(200).set_body_raw(
                    serde_json::json!({
                        "ARN": ARN,
                        "Name": "nexus-dev-CursorKeySecret-AbCdEf",
                        "VersionId": "d1c8f09e-4b1d-4c6e-9a8f-0c2f7a3b5e61",
                        "SecretString": "k".repeat(64),
                        "VersionStages": ["AWSCURRENT"],
                        "CreatedDate": 1.733218e9
                    })
                    .to_string(),
                    "application/x-amz-json-1.1",
                ),
            )
            .expect(1)
            .mount(&server)
            .await;
        let key = source(&server).await.cursor_key().await.unwrap();
        // The same key as one built from the value: cursors interoperate.
        let payload = serde_json::json!({"PK": "T#a"});
        let sealed = key.seal("a/members", &payload);
        assert_eq!(
            CursorKey::new("k".repeat(64))
                .open("a/members", &sealed)
                .unwrap(),
            payload
        );
    }

    #[tokio::test]
    async fn access_denied_and_missing_secrets_are_errors_naming_the_secret() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(400).set_body_raw(
                r#"{"__type":"AccessDeniedException","Message":"User: arn:aws:sts::123456789012:assumed-role/nexus-dev-HealthFunctionRole/h is not authorized to perform: secretsmanager:GetSecretValue"}"#,
                "application/x-amz-json-1.1",
            ))
            .mount(&server)
            .await;
        let err = source(&server).await.cursor_key().await.unwrap_err();
        assert!(err.contains("AccessDeniedException"), "{err}");
        assert!(err.contains(ARN), "{err}");

        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(400).set_body_raw(
                r#"{"__type":"ResourceNotFoundException","Message":"Secrets Manager can't find the specified secret."}"#,
                "application/x-amz-json-1.1",
            ))
            .mount(&server)
            .await;
        let err = source(&server).await.cursor_key().await.unwrap_err();
        assert!(err.contains("ResourceNotFoundException"), "{err}");
    }

    #[tokio::test]
    async fn binary_or_short_secrets_are_refused() {
        for body in [
            serde_json::json!({"ARN": ARN, "SecretBinary": "a2V5"}),
            serde_json::json!({"ARN": ARN, "SecretString": "short"}),
        ] {
            let server = MockServer::start().await;
            Mock::given(method("POST"))
                .respond_with(
                    ResponseTemplate::new(200)
                        .set_body_raw(body.to_string(), "application/x-amz-json-1.1"),
                )
                .mount(&server)
                .await;
            assert!(source(&server).await.cursor_key().await.is_err());
        }
    }
}
