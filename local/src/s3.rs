//! Embedded S3: `s3s-fs` (objects as files under `<state dir>/s3/<bucket>/`)
//! behind `s3s`' SigV4 verification for the local static credentials, so
//! URLs presigned by the production `nexus_ports::S3Media` work unchanged
//! (path-style). One bucket per `AWS::S3::Bucket` in the template.
//!
//! s3s-fs has no CORS, lifecycle, notifications or versioning
//! (`media-moderation-ai.md` §1.7).

use std::net::SocketAddr;
use std::path::Path;

use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use crate::worker::Shutdown;

/// The local name of a template bucket: `<prefix>-<logical id without
/// "Bucket", kebab-case>`, e.g. `nexus-local-media` for `MediaBucket`,
/// made a valid S3 bucket name.
pub fn bucket_name(prefix: &str, logical_id: &str) -> String {
    let base = logical_id
        .strip_suffix("Bucket")
        .filter(|b| !b.is_empty())
        .unwrap_or(logical_id);
    let mut kebab = String::new();
    for (i, c) in base.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            kebab.push('-');
        }
        kebab.push(c.to_ascii_lowercase());
    }
    let raw = format!("{prefix}-{kebab}").to_ascii_lowercase();
    let mut name: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    name.truncate(63);
    name.trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_owned()
}

/// Create the bucket folders (s3s-fs buckets are top-level folders).
pub fn create_buckets(root: &Path, names: &[String]) -> Result<(), String> {
    for n in names {
        let dir = root.join(n);
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("creating bucket {n} at {}: {e}", dir.display()))?;
    }
    Ok(())
}

/// Build the S3 service over `root`.
pub fn service(root: &Path) -> Result<s3s::service::S3Service, String> {
    let fs = s3s_fs::FileSystem::new(root)
        .map_err(|e| format!("embedded S3 at {}: {e:?}", root.display()))?;
    let mut b = s3s::service::S3ServiceBuilder::new(fs);
    b.set_auth(s3s::auth::SimpleAuth::from_single(
        crate::ACCESS_KEY,
        crate::SECRET_KEY,
    ));
    Ok(b.build())
}

/// Accept connections until `shutdown`; open connections end with it.
pub async fn serve(
    listener: TcpListener,
    service: s3s::service::S3Service,
    mut shutdown: Shutdown,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = shutdown.triggered() => break,
            accepted = listener.accept() => match accepted {
                Ok((sock, _)) => {
                    let svc = service.clone();
                    while connections.try_join_next().is_some() {}
                    connections.spawn(async move {
                        let conn = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(sock), svc);
                        if let Err(e) = conn.await {
                            tracing::debug!("s3 connection: {e}");
                        }
                    });
                }
                Err(e) => {
                    tracing::warn!("s3 accept: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            },
        }
    }
    connections.abort_all();
}

/// `http://127.0.0.1:<port>`
pub fn endpoint(addr: SocketAddr) -> String {
    format!("http://{addr}")
}

#[cfg(test)]
mod tests {
    use super::bucket_name;

    #[test]
    fn bucket_names_are_valid_and_readable() {
        assert_eq!(
            bucket_name("nexus-local", "MediaBucket"),
            "nexus-local-media"
        );
        assert_eq!(
            bucket_name("nexus-local", "RawUploadsBucket"),
            "nexus-local-raw-uploads"
        );
        assert_eq!(bucket_name("My_Table", "Bucket"), "my-table-bucket");
        assert!(bucket_name(&"x".repeat(80), "MediaBucket").len() <= 63);
    }
}
