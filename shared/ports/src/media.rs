//! The media bucket port: presigned uploads and downloads. The same S3
//! adapter serves AWS and the local platform's embedded S3 server.

use std::time::Duration;

use async_trait::async_trait;
#[cfg(feature = "s3")]
use aws_sdk_s3::presigning::PresigningConfig;

/// A presigned HTTP request a client performs directly against the bucket.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PresignedRequest {
    pub method: String,
    pub url: String,
    /// Headers the client must send exactly (they are part of the signature).
    pub headers: Vec<(String, String)>,
    pub expires_in_secs: u64,
}

#[async_trait]
pub trait MediaStore: Send + Sync {
    async fn presign_upload(
        &self,
        key: &str,
        content_type: &str,
        expires: Duration,
    ) -> Result<PresignedRequest, String>;
    async fn presign_download(
        &self,
        key: &str,
        expires: Duration,
    ) -> Result<PresignedRequest, String>;
    /// Size in bytes, or `None` when the object does not exist.
    async fn size(&self, key: &str) -> Result<Option<u64>, String>;
}

/// Presigned S3 requests and `HeadObject` (feature `s3`).
#[cfg(feature = "s3")]
pub struct S3Media {
    client: aws_sdk_s3::Client,
    bucket: String,
}

#[cfg(feature = "s3")]
impl S3Media {
    pub fn new(client: aws_sdk_s3::Client, bucket: String) -> Self {
        Self { client, bucket }
    }
}

#[cfg(feature = "s3")]
fn presigned(r: aws_sdk_s3::presigning::PresignedRequest, expires: Duration) -> PresignedRequest {
    PresignedRequest {
        method: r.method().to_owned(),
        url: r.uri().to_owned(),
        headers: r
            .headers()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        expires_in_secs: expires.as_secs(),
    }
}

#[cfg(feature = "s3")]
#[async_trait]
impl MediaStore for S3Media {
    async fn presign_upload(
        &self,
        key: &str,
        content_type: &str,
        expires: Duration,
    ) -> Result<PresignedRequest, String> {
        let cfg = PresigningConfig::expires_in(expires).map_err(|e| e.to_string())?;
        let r = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .presigned(cfg)
            .await
            .map_err(|e| format!("presign PutObject: {e}"))?;
        Ok(presigned(r, expires))
    }

    async fn presign_download(
        &self,
        key: &str,
        expires: Duration,
    ) -> Result<PresignedRequest, String> {
        let cfg = PresigningConfig::expires_in(expires).map_err(|e| e.to_string())?;
        let r = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(cfg)
            .await
            .map_err(|e| format!("presign GetObject: {e}"))?;
        Ok(presigned(r, expires))
    }

    async fn size(&self, key: &str) -> Result<Option<u64>, String> {
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(o) => Ok(o.content_length().map(|n| n.max(0) as u64)),
            Err(e) => {
                let se = e.into_service_error();
                if se.is_not_found() {
                    Ok(None)
                } else {
                    Err(format!("HeadObject: {se}"))
                }
            }
        }
    }
}
