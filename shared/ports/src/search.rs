//! The creator search index, as the functions get it in AWS (feature
//! `search`): the embedded tantivy index shipped through the media bucket as
//! snapshots — one writer (`search-indexer`, reserved concurrency 1)
//! publishes, readers (`creators`, `campaigns`) follow the published manifest
//! every 30 s. The scheme and its tests live in `nexus_search::snapshot` (see
//! shared/search/README.md). The local platform shares one in-memory index
//! instead. Functions get it through [`crate::WireSearch`].

use std::sync::Arc;

use nexus_search::snapshot::{S3Snapshots, SnapshotReader, SnapshotWriter};
use nexus_search::{CreatorSearch, IndexOptions};

use crate::Config;

/// Where snapshots live in the media bucket (`SEARCH_SNAPSHOT_PREFIX`).
pub const SNAPSHOT_PREFIX: &str = "search/creators/";

fn snapshots(s3: aws_sdk_s3::Client, config: &Config) -> Result<S3Snapshots, String> {
    let bucket = Config::required(&config.media_bucket, "MEDIA_BUCKET", "the creator index")?;
    let prefix = std::env::var("SEARCH_SNAPSHOT_PREFIX").unwrap_or_else(|_| SNAPSHOT_PREFIX.into());
    Ok(S3Snapshots::new(s3, bucket, prefix))
}

/// A read replica for API functions.
pub async fn replica(
    s3: aws_sdk_s3::Client,
    config: &Config,
) -> Result<Arc<dyn CreatorSearch>, String> {
    let dir = std::env::temp_dir().join("nexus-search-replica");
    Ok(Arc::new(SnapshotReader::new(snapshots(s3, config)?, dir)))
}

/// The single writer (the `search-indexer` function).
pub async fn writer(
    s3: aws_sdk_s3::Client,
    config: &Config,
) -> Result<Arc<dyn CreatorSearch>, String> {
    let dir = std::env::temp_dir().join("nexus-search-writer");
    let w = SnapshotWriter::open(snapshots(s3, config)?, dir, IndexOptions::default())
        .await
        .map_err(|e| e.to_string())?;
    Ok(Arc::new(w))
}
