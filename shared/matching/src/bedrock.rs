//! Production embedder: Amazon Titan Text Embeddings V2 through Bedrock
//! `InvokeModel`. Titan V2 takes one text per call, so a batch becomes one
//! call per text with at most [`BedrockEmbedder::DEFAULT_CONCURRENCY`] calls
//! in flight.

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_bedrockruntime::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_bedrockruntime::operation::invoke_model::InvokeModelError;
use aws_sdk_bedrockruntime::primitives::Blob;
use serde::{Deserialize, Serialize};
use tokio::task::JoinSet;

use crate::embed::{EmbedError, Embedder};

/// Titan Text Embeddings V2 on Bedrock.
#[derive(Debug, Clone)]
pub struct BedrockEmbedder {
    inner: Arc<Inner>,
    concurrency: usize,
}

#[derive(Debug)]
struct Inner {
    client: aws_sdk_bedrockruntime::Client,
    model_id: String,
    dimensions: usize,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TitanRequest<'a> {
    input_text: &'a str,
    dimensions: usize,
    normalize: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TitanResponse {
    embedding: Vec<f32>,
    #[allow(dead_code)]
    input_text_token_count: Option<u64>,
}

impl BedrockEmbedder {
    pub const NAME: &'static str = "bedrock-titan-embed-text-v2";
    pub const MODEL_ID: &'static str = "amazon.titan-embed-text-v2:0";
    /// Output sizes Titan V2 supports.
    pub const SUPPORTED_DIMENSIONS: [usize; 3] = [256, 512, 1024];
    pub const DEFAULT_CONCURRENCY: usize = 4;

    /// `dimensions` must be 256, 512 or 1024.
    pub fn new(
        client: aws_sdk_bedrockruntime::Client,
        dimensions: usize,
    ) -> Result<Self, EmbedError> {
        if !Self::SUPPORTED_DIMENSIONS.contains(&dimensions) {
            return Err(EmbedError::Invalid(format!(
                "Titan V2 supports 256, 512 or 1024 dimensions, not {dimensions}"
            )));
        }
        Ok(Self {
            inner: Arc::new(Inner {
                client,
                model_id: Self::MODEL_ID.into(),
                dimensions,
            }),
            concurrency: Self::DEFAULT_CONCURRENCY,
        })
    }

    /// Caps calls in flight (at least 1).
    pub fn with_concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }
}

impl Inner {
    async fn embed_one(&self, text: &str) -> Result<Vec<f32>, EmbedError> {
        // Titan rejects empty input; blank text carries no content anyway.
        if text.trim().is_empty() {
            return Ok(vec![0.0; self.dimensions]);
        }
        let body = serde_json::to_vec(&TitanRequest {
            input_text: text,
            dimensions: self.dimensions,
            normalize: true,
        })
        .map_err(|e| EmbedError::Invalid(e.to_string()))?;
        let out = self
            .client
            .invoke_model()
            .model_id(&self.model_id)
            .content_type("application/json")
            .accept("application/json")
            .body(Blob::new(body))
            .send()
            .await
            .map_err(map_sdk_error)?;
        let resp: TitanResponse = serde_json::from_slice(out.body().as_ref())
            .map_err(|e| EmbedError::Unavailable(format!("unreadable Titan response: {e}")))?;
        if resp.embedding.len() != self.dimensions {
            return Err(EmbedError::Unavailable(format!(
                "Titan returned {} dimensions, expected {}",
                resp.embedding.len(),
                self.dimensions
            )));
        }
        Ok(resp.embedding)
    }
}

fn map_sdk_error(e: SdkError<InvokeModelError>) -> EmbedError {
    let status = e.raw_response().map(|r| r.status().as_u16());
    let detail = match (e.code(), e.message()) {
        (Some(code), Some(msg)) => format!("{code}: {msg}"),
        _ => DisplayErrorContext(&e).to_string(),
    };
    match e.as_service_error() {
        Some(InvokeModelError::ThrottlingException(_)) => EmbedError::Throttled(detail),
        Some(InvokeModelError::ValidationException(_)) => EmbedError::Invalid(detail),
        _ if status == Some(429) => EmbedError::Throttled(detail),
        _ => EmbedError::Unavailable(detail),
    }
}

#[async_trait]
impl Embedder for BedrockEmbedder {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn dimensions(&self) -> usize {
        self.inner.dimensions
    }

    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let mut out: Vec<Option<Vec<f32>>> = vec![None; texts.len()];
        let mut pending = texts.iter().cloned().enumerate();
        let mut running = JoinSet::new();
        loop {
            while running.len() < self.concurrency {
                let Some((i, text)) = pending.next() else {
                    break;
                };
                let inner = Arc::clone(&self.inner);
                running.spawn(async move { (i, inner.embed_one(&text).await) });
            }
            let Some(joined) = running.join_next().await else {
                break;
            };
            let (i, result) = joined
                .map_err(|e| EmbedError::Unavailable(format!("embedding task failed: {e}")))?;
            // Dropping the JoinSet on error aborts the calls still in flight.
            out[i] = Some(result?);
        }
        Ok(out.into_iter().map(Option::unwrap_or_default).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_bedrockruntime::config::retry::RetryConfig;
    use aws_sdk_bedrockruntime::config::{BehaviorVersion, Credentials, Region};
    use wiremock::matchers::{header, method, path_regex};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    fn client(server: &MockServer) -> aws_sdk_bedrockruntime::Client {
        let config = aws_sdk_bedrockruntime::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url(server.uri())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("AKIDTEST", "secret", None, None, "test"))
            .retry_config(RetryConfig::disabled())
            .build();
        aws_sdk_bedrockruntime::Client::from_conf(config)
    }

    const INVOKE_PATH: &str = r"^/model/amazon\.titan-embed-text-v2(:|%3A)0/invoke$";

    fn vector(seed: f32) -> Vec<f32> {
        (0..256)
            .map(|i| ((i as f32) * 0.01 + seed).sin() / 11.3)
            .collect()
    }

    #[tokio::test]
    async fn embeds_each_text_with_one_invoke_model_call() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path_regex(INVOKE_PATH))
            .and(header("content-type", "application/json"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "embedding": vector(0.5),
                "inputTextTokenCount": 9,
                "embeddingsByType": { "float": vector(0.5) }
            })))
            .expect(3)
            .mount(&server)
            .await;
        let embedder = BedrockEmbedder::new(client(&server), 256).unwrap();
        let texts: Vec<String> = ["vegan meal prep", "   ", "trail running", "budget travel"]
            .map(String::from)
            .to_vec();
        let vectors = embedder.embed(&texts).await.unwrap();
        assert_eq!(vectors.len(), 4);
        assert_eq!(vectors[0], vector(0.5));
        assert!(
            vectors[1].iter().all(|x| *x == 0.0),
            "blank text is not sent"
        );
        assert_eq!(embedder.dimensions(), 256);

        let requests = server.received_requests().await.unwrap();
        let mut sent: Vec<String> = requests
            .iter()
            .map(|r| {
                let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
                assert_eq!(body["dimensions"], 256);
                assert_eq!(body["normalize"], true);
                assert!(r.headers.contains_key("authorization"), "request is signed");
                body["inputText"].as_str().unwrap().to_string()
            })
            .collect();
        sent.sort();
        assert_eq!(sent, ["budget travel", "trail running", "vegan meal prep"]);
    }

    #[tokio::test]
    async fn throttling_is_retryable() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path_regex(INVOKE_PATH))
            .respond_with(
                ResponseTemplate::new(429)
                    .insert_header(
                        "x-amzn-errortype",
                        "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/",
                    )
                    .insert_header("x-amzn-requestid", "5d9a3c1e-0000-4000-8000-000000000001")
                    .set_body_json(serde_json::json!({"message": "Too many requests"})),
            )
            .mount(&server)
            .await;
        let embedder = BedrockEmbedder::new(client(&server), 256).unwrap();
        let err = embedder.embed(&["hello".into()]).await.unwrap_err();
        assert!(
            matches!(&err, EmbedError::Throttled(m) if m.contains("Too many requests")),
            "{err:?}"
        );
        assert!(err.is_retryable());
        let core: nexus_core::Error = err.into();
        assert_eq!(core.status(), 503);
    }

    #[tokio::test]
    async fn validation_errors_are_not_retryable() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path_regex(INVOKE_PATH))
            .respond_with(
                ResponseTemplate::new(400)
                    .insert_header(
                        "x-amzn-errortype",
                        "ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/",
                    )
                    .set_body_json(serde_json::json!({
                        "message": "Malformed input request: expected maxLength: 50000, actual: 61234, please reformat your input and try again."
                    })),
            )
            .mount(&server)
            .await;
        let embedder = BedrockEmbedder::new(client(&server), 256).unwrap();
        let err = embedder.embed(&["x".repeat(61_234)]).await.unwrap_err();
        assert!(
            matches!(&err, EmbedError::Invalid(m) if m.contains("ValidationException")),
            "{err:?}"
        );
        assert!(!err.is_retryable());
    }

    #[tokio::test]
    async fn other_failures_are_unavailable() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(
                ResponseTemplate::new(500)
                    .insert_header("x-amzn-errortype", "InternalServerException")
                    .set_body_json(serde_json::json!({"message": "boom"})),
            )
            .mount(&server)
            .await;
        let embedder = BedrockEmbedder::new(client(&server), 256).unwrap();
        let err = embedder.embed(&["hello".into()]).await.unwrap_err();
        assert!(matches!(err, EmbedError::Unavailable(_)), "{err:?}");
    }

    #[tokio::test]
    async fn wrong_dimension_count_is_unavailable() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                serde_json::json!({"embedding": [0.1, 0.2], "inputTextTokenCount": 1}),
            ))
            .mount(&server)
            .await;
        let embedder = BedrockEmbedder::new(client(&server), 256).unwrap();
        let err = embedder.embed(&["hello".into()]).await.unwrap_err();
        assert!(matches!(err, EmbedError::Unavailable(_)), "{err:?}");
    }

    #[test]
    fn unsupported_dimensions_are_refused() {
        let config = aws_sdk_bedrockruntime::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .build();
        let client = aws_sdk_bedrockruntime::Client::from_conf(config);
        assert!(matches!(
            BedrockEmbedder::new(client, 300),
            Err(EmbedError::Invalid(_))
        ));
    }
}
