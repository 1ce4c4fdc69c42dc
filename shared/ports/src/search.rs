//! The creator search index, as the functions get it in AWS: the embedded
//! tantivy index shipped through the media bucket as snapshots — one writer
//! (`search-indexer`, reserved concurrency 1) publishes, readers (`creators`,
//! `campaigns`) follow the published manifest every 30 s. The scheme and its
//! tests live in `nexus_search::snapshot` (see shared/search/README.md). The
//! local platform shares one in-memory index instead.

use std::sync::Arc;

use nexus_search::snapshot::{S3Snapshots, SnapshotReader, SnapshotWriter};
use nexus_search::{CreatorSearch, IndexOptions};

use crate::Platform;

/// Where snapshots live in the media bucket (`SEARCH_SNAPSHOT_PREFIX`).
pub const SNAPSHOT_PREFIX: &str = "search/creators/";

async fn snapshots(platform: &Platform) -> S3Snapshots {
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(platform.config.s3_path_style)
            .build(),
    );
    let prefix = std::env::var("SEARCH_SNAPSHOT_PREFIX").unwrap_or_else(|_| SNAPSHOT_PREFIX.into());
    S3Snapshots::new(s3, platform.config.media_bucket.clone(), prefix)
}

/// A read replica for API functions.
pub async fn replica(platform: &Platform) -> Result<Arc<dyn CreatorSearch>, String> {
    let dir = std::env::temp_dir().join("nexus-search-replica");
    Ok(Arc::new(SnapshotReader::new(
        snapshots(platform).await,
        dir,
    )))
}

/// The single writer (the `search-indexer` function).
pub async fn writer(platform: &Platform) -> Result<Arc<dyn CreatorSearch>, String> {
    let dir = std::env::temp_dir().join("nexus-search-writer");
    let w = SnapshotWriter::open(snapshots(platform).await, dir, IndexOptions::default())
        .await
        .map_err(|e| e.to_string())?;
    Ok(Arc::new(w))
}
