//! Creator search: the [`CreatorSearch`] port and its embedded tantivy
//! adapter, [`TantivySearch`].
//!
//! The port is what the rest of NEXUS sees: documents in ([`CreatorDoc`]),
//! structured queries out ([`SearchQuery`] → [`SearchPage`] of creator ids).
//! It is deliberately narrow (upsert, remove, search) so an OpenSearch adapter
//! can implement it later without leaking engine concepts into callers.
//!
//! Pagination uses an opaque *search-after* cursor: the sort key and the
//! `creator_id` of the last hit of the previous page (see
//! [`tantivy_adapter`]). Every sort is total: ties are broken by `creator_id`
//! ascending, so pages never overlap and never skip a creator while the index
//! is unchanged.
//!
//! The engine is behind the `tantivy` feature: without it the crate is the
//! port and its types only. With the `s3` feature, [`snapshot`] ships the tantivy index through S3 for
//! Lambda: one [`SnapshotWriter`] publishes, many [`SnapshotReader`]s pull
//! (see `README.md`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[cfg(feature = "bench")]
pub mod bench;
#[cfg(feature = "tantivy")]
mod cursor;
#[cfg(feature = "tantivy")]
mod query;
#[cfg(feature = "s3")]
pub mod snapshot;
#[cfg(feature = "tantivy")]
pub mod tantivy_adapter;

#[cfg(feature = "s3")]
pub use snapshot::{S3Snapshots, SnapshotReader, SnapshotWriter};
#[cfg(feature = "tantivy")]
pub use tantivy_adapter::{IndexOptions, TantivySearch, RATE_CURRENCIES};

/// Platforms a [`PlatformStats`] or [`SearchQuery::platform`] may name.
pub const PLATFORMS: [&str; 6] = [
    "tiktok",
    "instagram",
    "youtube",
    "x",
    "linkedin",
    "pinterest",
];
/// Audience age bands a query may filter on.
pub const AGE_BANDS: [&str; 6] = ["13-17", "18-24", "25-34", "35-44", "45-54", "55+"];
/// Audience genders a query may filter on.
pub const GENDERS: [&str; 3] = ["female", "male", "other"];
/// Largest page.
pub const MAX_LIMIT: usize = 100;

/// One creator as the search index sees it (denormalised from the profile,
/// linked social accounts, audience snapshots and the rate card).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatorDoc {
    /// `usr_…` id of the creator account; the document key.
    pub creator_id: String,
    pub handle: String,
    pub display_name: String,
    pub bio: String,
    /// Lowercase slugs, e.g. `beauty`, `fitness`.
    pub niches: Vec<String>,
    /// e.g. `tutorial`, `unboxing`.
    pub content_styles: Vec<String>,
    /// ISO 639-1 codes.
    pub languages: Vec<String>,
    /// ISO 3166-1 alpha-2.
    pub country: Option<String>,
    pub city: Option<String>,
    /// One per linked social account.
    pub platforms: Vec<PlatformStats>,
    /// Merged audience distributions.
    pub audience: Audience,
    /// Rate card entries.
    pub rates: Vec<RateDoc>,
    pub verified: bool,
    /// 0..=100.
    pub reputation: f64,
    /// Epoch seconds.
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlatformStats {
    /// One of [`PLATFORMS`].
    pub platform: String,
    pub followers: u64,
    pub avg_views: u64,
    /// Fraction 0..1.
    pub engagement_rate: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Audience {
    /// Age band (see [`AGE_BANDS`]) → share 0..1.
    pub age: BTreeMap<String, f64>,
    /// `female` | `male` | `other` → share 0..1.
    pub gender: BTreeMap<String, f64>,
    /// ISO 3166-1 alpha-2 → share 0..1.
    pub countries: BTreeMap<String, f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RateDoc {
    pub platform: String,
    pub deliverable: String,
    /// Minor units of `currency` (cents).
    pub amount_minor: i64,
    /// ISO 4217.
    pub currency: String,
}

/// Result order. Every order ends with `creator_id` ascending as tiebreak.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Sort {
    /// Text relevance (BM25) when `text` is given; otherwise reputation, highest first.
    #[default]
    Relevance,
    /// Followers (on `platform` when set, else the largest account) descending.
    FollowersDesc,
    /// Engagement rate (on `platform` when set, else the best account) descending.
    EngagementDesc,
    ReputationDesc,
    /// Lowest rate in `rate_currency` ascending; creators without a rate in it last.
    RateAsc,
    /// `updated_at` descending.
    Newest,
}

/// A structured creator search. All filters combine with AND.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SearchQuery {
    /// Free text over handle (boosted), display name, niches and bio.
    pub text: Option<String>,
    /// Any of these niches.
    pub niches: Vec<String>,
    /// When set, follower/engagement ranges (and sorts) use that platform's
    /// stats and creators without an account there do not match a range;
    /// otherwise they use the maximum over the creator's platforms.
    pub platform: Option<String>,
    pub followers_min: Option<u64>,
    pub followers_max: Option<u64>,
    pub engagement_min: Option<f64>,
    pub engagement_max: Option<f64>,
    pub country: Option<String>,
    pub language: Option<String>,
    /// (country code, minimum share).
    pub audience_country: Option<(String, f64)>,
    /// (age band, minimum share).
    pub audience_age: Option<(String, f64)>,
    /// (gender, minimum share).
    pub audience_gender: Option<(String, f64)>,
    /// Bounds on the creator's lowest rate in `rate_currency` (required when
    /// a bound is set); creators without a rate in that currency are excluded.
    pub rate_min: Option<i64>,
    pub rate_max: Option<i64>,
    pub rate_currency: Option<String>,
    pub verified: Option<bool>,
    pub reputation_min: Option<f64>,
    pub sort: Sort,
    /// 1..=100.
    pub limit: usize,
    /// Opaque, from [`SearchPage::next_cursor`] of the previous page.
    pub cursor: Option<String>,
}

impl Default for SearchQuery {
    fn default() -> Self {
        Self {
            text: None,
            niches: Vec::new(),
            platform: None,
            followers_min: None,
            followers_max: None,
            engagement_min: None,
            engagement_max: None,
            country: None,
            language: None,
            audience_country: None,
            audience_age: None,
            audience_gender: None,
            rate_min: None,
            rate_max: None,
            rate_currency: None,
            verified: None,
            reputation_min: None,
            sort: Sort::Relevance,
            limit: 20,
            cursor: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchPage {
    pub hits: Vec<Hit>,
    /// Creators matching the filters (all pages).
    pub total: u64,
    /// Present when more hits follow.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Hit {
    pub creator_id: String,
    /// Text relevance when the page is ranked by it, else 0.
    pub score: f32,
}

/// Closed set of search failures.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SearchError {
    /// The cursor was not produced by this search (or for another sort).
    #[error("invalid cursor")]
    BadCursor,
    /// A query field is out of range or unknown.
    #[error("invalid query field {pointer}: {detail}")]
    InvalidQuery {
        /// JSON Pointer of the field, e.g. `/limit`.
        pointer: &'static str,
        code: &'static str,
        detail: String,
    },
    /// A document cannot be indexed (a bug upstream, not user input).
    #[error("invalid creator document {creator_id:?}: {detail}")]
    InvalidDoc { creator_id: String, detail: String },
    /// The engine failed (I/O, corrupt index, lock).
    #[error("search backend: {0}")]
    Backend(String),
}

#[cfg(feature = "tantivy")]
impl SearchError {
    pub(crate) fn invalid(
        pointer: &'static str,
        code: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        SearchError::InvalidQuery {
            pointer,
            code,
            detail: detail.into(),
        }
    }
}

impl From<SearchError> for nexus_core::Error {
    fn from(e: SearchError) -> Self {
        match e {
            SearchError::BadCursor => nexus_core::Error::field(
                "/cursor",
                "invalid_format",
                "cursor is not one returned by a previous page of this search",
            ),
            SearchError::InvalidQuery {
                pointer,
                code,
                detail,
            } => nexus_core::Error::field(pointer, code, detail),
            e @ (SearchError::InvalidDoc { .. } | SearchError::Backend(_)) => {
                nexus_core::Error::internal(e)
            }
        }
    }
}

/// The creator search port.
///
/// Kept narrow (no engine types, no scroll/aggregation APIs) so a managed
/// OpenSearch adapter can implement it later with the same semantics.
#[async_trait::async_trait]
pub trait CreatorSearch: Send + Sync {
    /// Inserts or replaces documents by `creator_id`; they are visible to
    /// [`CreatorSearch::search`] when this returns.
    async fn upsert(&self, docs: Vec<CreatorDoc>) -> Result<(), SearchError>;
    /// Removes a creator; removing an absent one is not an error.
    async fn remove(&self, creator_id: &str) -> Result<(), SearchError>;
    async fn search(&self, q: &SearchQuery) -> Result<SearchPage, SearchError>;
}
