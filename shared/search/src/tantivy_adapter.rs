//! [`TantivySearch`]: the embedded adapter (RAM directory for tests and the
//! local platform, mmap directory for Lambda and the bench).
//!
//! # Index layout
//!
//! * Text (BM25, lowercased and ASCII-folded; bio also English-stemmed):
//!   `handle` (boost 3), `niches_text` (2), `display_name` (1.5), `bio` (1).
//!   User text is tokenized with each field's own analyzer and turned into
//!   term queries (OR), so no query syntax reaches the engine: quotes, colons
//!   and unicode are just text.
//! * Exact filters (raw, indexed): `niche`, `language`, `country`, `verified`.
//! * FAST numeric columns, range-filtered and sorted through the columnar
//!   store: `followers_<platform>` / `engagement_<platform>` for each of
//!   [`crate::PLATFORMS`], `followers_max` / `engagement_max` over all
//!   accounts, `reputation`, `updated_at`.
//! * `audience`: one indexed multi-valued `u64` per (dimension, key, share)
//!   packed as `dim << 32 | key << 16 | basis_points`, with dimension 0 =
//!   country (two letters → 0..676, so every ISO code is covered without a
//!   field per country), 1 = age band, 2 = gender. "US share ≥ 0.25" is then
//!   the term range `[0|US|2500, 0|US|10000]`: exact at basis-point
//!   precision, one range over the inverted index whatever the country.
//! * Rates: the creator's lowest amount per currency. Common currencies
//!   ([`RATE_CURRENCIES`]) get a single-valued FAST column each
//!   (`rate_USD`, …): bounds are columnar ranges, `RateAsc` reads the same
//!   column, and creators without a rate in that currency have no value, so
//!   they never match a bound. Any other ISO 4217 code goes to `rate_other`,
//!   a multi-valued FAST `u64` of `currency << 44 | amount` (currency: three
//!   letters → 0..17576) filtered by the range `[cur|min, cur|max]`: correct
//!   for every code, just slower than a dedicated column.
//! * `creator_id`: raw, indexed (delete by term) and FAST (dictionary-encoded
//!   column; hits are read from it, there is no doc store payload).
//!
//! # Ranking and pagination
//!
//! A custom collector ranks by an order-preserving `u64` sort key (larger
//! first) and then `creator_id` ascending. Within a segment `creator_id`
//! ordinals sort like the ids, so the per-segment top-k compares integers and
//! only the k survivors are turned into strings for the cross-segment merge.
//! The cursor is a search-after key (sort key + `creator_id` of the last hit);
//! the next page keeps documents strictly after it, so ties across a page
//! boundary neither repeat nor vanish. Filter-only and field-sorted queries
//! run without scoring.
//!
//! # Threads
//!
//! Queries run on `search_threads` threads, one segment each;
//! [`TantivySearch::compact`] merges the index into that many segments of
//! similar size so a query over 1M profiles uses every core (1 on a small
//! Lambda, where searching stays on the calling thread).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::ops::Bound;
use std::path::Path;
use std::sync::{Arc, Mutex};

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Column, StrColumn};
use tantivy::directory::MmapDirectory;
use tantivy::query::{AllQuery, BooleanQuery, BoostQuery, Occur, Query, RangeQuery, TermQuery};
use tantivy::schema::{
    Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions, FAST,
    INDEXED, STRING,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer,
    TextAnalyzer,
};
use tantivy::{
    DocId, Index, IndexReader, IndexWriter, ReloadPolicy, Score, SegmentOrdinal, SegmentReader,
    TantivyDocument, Term,
};

use crate::cursor::{self, After};
use crate::query::{basis_points, clamp_amount, country_index, currency_index, plan, Plan, SortBy};
use crate::{
    CreatorDoc, CreatorSearch, Hit, SearchError, SearchPage, SearchQuery, AGE_BANDS, GENDERS,
    PLATFORMS,
};

const TEXT_ANALYZER: &str = "nexus_text";
const STEM_ANALYZER: &str = "nexus_stem";

/// Currencies with their own rate column (others share `rate_other`).
pub const RATE_CURRENCIES: [&str; 28] = [
    "USD", "EUR", "GBP", "CAD", "AUD", "BRL", "INR", "MXN", "JPY", "IDR", "PHP", "NGN", "TRY",
    "KRW", "ZAR", "ARS", "CHF", "SEK", "NOK", "DKK", "PLN", "CNY", "HKD", "SGD", "NZD", "AED",
    "SAR", "COP",
];

/// Column for a currency index: `Some(position in RATE_CURRENCIES)` or the shared one.
fn rate_column(currency: u64) -> Option<usize> {
    RATE_CURRENCIES
        .iter()
        .position(|c| currency_index(c) == Some(currency))
}

fn rate_name(currency: u64) -> String {
    rate_column(currency).map_or("rate_other".into(), |i| {
        format!("rate_{}", RATE_CURRENCIES[i])
    })
}

const DIM_COUNTRY: u64 = 0;
const DIM_AGE: u64 = 1;
const DIM_GENDER: u64 = 2;

fn audience_key(dim: u64, key: u64, bp: u64) -> u64 {
    (dim << 32) | (key << 16) | bp.min(10_000)
}

fn rate_key(currency: u64, amount: u64) -> u64 {
    (currency << 44) | amount
}

#[derive(Clone)]
struct Fields {
    creator_id: Field,
    handle: Field,
    display_name: Field,
    niches_text: Field,
    bio: Field,
    niche: Field,
    language: Field,
    country: Field,
    verified: Field,
    reputation: Field,
    updated_at: Field,
    followers_max: Field,
    engagement_max: Field,
    followers: [Field; PLATFORMS.len()],
    engagement: [Field; PLATFORMS.len()],
    audience: Field,
    rates: [Field; RATE_CURRENCIES.len()],
    rate_other: Field,
}

fn followers_name(p: Option<usize>) -> String {
    p.map_or("followers_max".into(), |i| {
        format!("followers_{}", PLATFORMS[i])
    })
}

fn engagement_name(p: Option<usize>) -> String {
    p.map_or("engagement_max".into(), |i| {
        format!("engagement_{}", PLATFORMS[i])
    })
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = |analyzer: &str| {
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(analyzer)
                .set_index_option(IndexRecordOption::WithFreqs),
        )
    };
    let fast = || NumericOptions::default().set_fast();
    let creator_id = b.add_text_field("creator_id", STRING | FAST);
    let handle = b.add_text_field("handle", text(TEXT_ANALYZER));
    let display_name = b.add_text_field("display_name", text(TEXT_ANALYZER));
    let niches_text = b.add_text_field("niches_text", text(TEXT_ANALYZER));
    let bio = b.add_text_field("bio", text(STEM_ANALYZER));
    let niche = b.add_text_field("niche", STRING);
    let language = b.add_text_field("language", STRING);
    let country = b.add_text_field("country", STRING);
    let verified = b.add_bool_field("verified", INDEXED);
    let reputation = b.add_f64_field("reputation", fast());
    let updated_at = b.add_i64_field("updated_at", fast());
    let followers_max = b.add_u64_field("followers_max", fast());
    let engagement_max = b.add_f64_field("engagement_max", fast());
    let followers = PLATFORMS.map(|p| b.add_u64_field(&format!("followers_{p}"), fast()));
    let engagement = PLATFORMS.map(|p| b.add_f64_field(&format!("engagement_{p}"), fast()));
    let audience = b.add_u64_field("audience", INDEXED);
    let rates = RATE_CURRENCIES.map(|c| b.add_u64_field(&format!("rate_{c}"), fast()));
    // Range queries pick the columnar path for FAST fields.
    let rate_other = b.add_u64_field("rate_other", FAST);
    let fields = Fields {
        creator_id,
        handle,
        display_name,
        niches_text,
        bio,
        niche,
        language,
        country,
        verified,
        reputation,
        updated_at,
        followers_max,
        engagement_max,
        followers,
        engagement,
        audience,
        rates,
        rate_other,
    };
    (b.build(), fields)
}

fn register_analyzers(index: &Index) {
    let base = || {
        TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(RemoveLongFilter::limit(48))
            .filter(LowerCaser)
            .filter(AsciiFoldingFilter)
    };
    index.tokenizers().register(TEXT_ANALYZER, base().build());
    index.tokenizers().register(
        STEM_ANALYZER,
        base().filter(Stemmer::new(Language::English)).build(),
    );
}

/// Writer sizing and search parallelism.
#[derive(Debug, Clone, Copy)]
pub struct IndexOptions {
    pub writer_threads: usize,
    /// Total indexing heap across writer threads (tantivy needs ≥ 15 MB per thread).
    pub heap_bytes: usize,
    /// Threads one query may use (one segment each); 1 searches on the caller's thread.
    pub search_threads: usize,
}

impl Default for IndexOptions {
    /// Writer: up to 4 threads, 96 MB each. Search: one thread per core, up to 4.
    fn default() -> Self {
        let cores = std::thread::available_parallelism()
            .map_or(1, usize::from)
            .clamp(1, 4);
        Self {
            writer_threads: cores,
            heap_bytes: cores * 96 * 1024 * 1024,
            search_threads: cores,
        }
    }
}

struct Inner {
    index: Index,
    reader: IndexReader,
    writer: Mutex<Option<IndexWriter>>,
    /// Opened by [`TantivySearch::open_read_only`]: never creates a writer.
    read_only: bool,
    options: IndexOptions,
    fields: Fields,
}

/// Embedded tantivy implementation of [`CreatorSearch`].
#[derive(Clone)]
pub struct TantivySearch {
    inner: Arc<Inner>,
}

fn backend(e: impl std::fmt::Display) -> SearchError {
    SearchError::Backend(e.to_string())
}

impl TantivySearch {
    /// An index in RAM (tests, the local platform).
    pub fn in_memory() -> Result<Self, SearchError> {
        let (schema, fields) = schema();
        let options = IndexOptions {
            writer_threads: 1,
            heap_bytes: 32 * 1024 * 1024,
            search_threads: 1,
        };
        Self::with_index(Index::create_in_ram(schema), fields, options)
    }

    /// The index in `dir` (memory-mapped), created with its directory when absent.
    pub fn open(dir: &Path) -> Result<Self, SearchError> {
        Self::open_with(dir, IndexOptions::default())
    }

    pub fn open_with(dir: &Path, options: IndexOptions) -> Result<Self, SearchError> {
        let (index, fields) = Self::open_dir(dir)?;
        Self::with_index(index, fields, options)
    }

    /// The index in `dir` without an index writer (no writer lock, no
    /// indexing heap, no merges or file deletions): a replica whose files are
    /// replaced from outside (see `snapshot::SnapshotReader`), made visible
    /// by [`TantivySearch::reload`]. `upsert`/`remove` fail with
    /// [`SearchError::Backend`]. An empty index is created when `dir` has none.
    pub fn open_read_only(dir: &Path, options: IndexOptions) -> Result<Self, SearchError> {
        let (index, fields) = Self::open_dir(dir)?;
        Self::build(index, fields, options, false)
    }

    fn open_dir(dir: &Path) -> Result<(Index, Fields), SearchError> {
        std::fs::create_dir_all(dir).map_err(backend)?;
        let (schema, fields) = schema();
        let directory = MmapDirectory::open(dir).map_err(backend)?;
        let index = Index::open_or_create(directory, schema).map_err(backend)?;
        Ok((index, fields))
    }

    fn with_index(
        index: Index,
        fields: Fields,
        options: IndexOptions,
    ) -> Result<Self, SearchError> {
        Self::build(index, fields, options, true)
    }

    fn build(
        mut index: Index,
        fields: Fields,
        options: IndexOptions,
        writable: bool,
    ) -> Result<Self, SearchError> {
        register_analyzers(&index);
        if options.search_threads > 1 {
            index
                .set_multithread_executor(options.search_threads)
                .map_err(backend)?;
        }
        let writer = if writable {
            Some(
                index
                    .writer_with_num_threads(options.writer_threads, options.heap_bytes)
                    .map_err(backend)?,
            )
        } else {
            None
        };
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(backend)?;
        Ok(Self {
            inner: Arc::new(Inner {
                index,
                reader,
                writer: Mutex::new(writer),
                read_only: !writable,
                options,
                fields,
            }),
        })
    }

    /// Synchronous upsert of any number of documents with a single commit:
    /// the bulk-load path (the trait's `upsert` runs it on a blocking thread).
    pub fn upsert_blocking(
        &self,
        docs: impl IntoIterator<Item = CreatorDoc>,
    ) -> Result<u64, SearchError> {
        self.inner.upsert(docs)
    }

    /// Synchronous search (the trait's `search` runs it on a blocking thread).
    pub fn search_blocking(&self, q: &SearchQuery) -> Result<SearchPage, SearchError> {
        self.inner.search(q)
    }

    /// Waits for background merges, then merges the index into
    /// `search_threads` segments of similar size (run after a bulk load).
    pub fn compact(&self) -> Result<(), SearchError> {
        self.inner.compact()
    }

    /// Segments currently searchable.
    pub fn segment_count(&self) -> usize {
        self.inner.reader.searcher().segment_readers().len()
    }

    /// Documents currently searchable.
    pub fn num_docs(&self) -> u64 {
        self.inner.reader.searcher().num_docs()
    }

    /// Makes the last commit in the index directory searchable: after its
    /// `meta.json` was replaced from outside (a snapshot pull). Commits made
    /// through this handle are visible without it.
    pub fn reload(&self) -> Result<(), SearchError> {
        self.inner.reader.reload().map_err(backend)
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, SearchError> + Send + 'static,
) -> Result<T, SearchError> {
    tokio::task::spawn_blocking(f).await.map_err(backend)?
}

#[async_trait::async_trait]
impl CreatorSearch for TantivySearch {
    async fn upsert(&self, docs: Vec<CreatorDoc>) -> Result<(), SearchError> {
        let inner = self.inner.clone();
        blocking(move || inner.upsert(docs).map(|_| ())).await
    }

    async fn remove(&self, creator_id: &str) -> Result<(), SearchError> {
        let inner = self.inner.clone();
        let id = creator_id.to_string();
        blocking(move || inner.remove(&id)).await
    }

    async fn search(&self, q: &SearchQuery) -> Result<SearchPage, SearchError> {
        let inner = self.inner.clone();
        let q = q.clone();
        blocking(move || inner.search(&q)).await
    }
}

impl Inner {
    fn with_writer<T>(
        &self,
        f: impl FnOnce(&mut IndexWriter) -> Result<T, SearchError>,
    ) -> Result<T, SearchError> {
        let mut guard = self
            .writer
            .lock()
            .map_err(|_| SearchError::Backend("index writer lock poisoned".into()))?;
        let writer = guard.as_mut().ok_or_else(|| {
            SearchError::Backend(if self.read_only {
                "read-only index".into()
            } else {
                "index writer unavailable".into()
            })
        })?;
        let out = f(writer)?;
        self.reader.reload().map_err(backend)?;
        Ok(out)
    }

    fn upsert(&self, docs: impl IntoIterator<Item = CreatorDoc>) -> Result<u64, SearchError> {
        self.with_writer(|w| {
            let mut n = 0;
            for doc in docs {
                let tdoc = self.to_document(&doc)?;
                // Deletes apply to documents added before them, including
                // earlier ones in this batch: the last copy of an id wins.
                w.delete_term(Term::from_field_text(
                    self.fields.creator_id,
                    &doc.creator_id,
                ));
                w.add_document(tdoc).map_err(backend)?;
                n += 1;
            }
            w.commit().map_err(backend)?;
            Ok(n)
        })
    }

    fn remove(&self, creator_id: &str) -> Result<(), SearchError> {
        self.with_writer(|w| {
            w.delete_term(Term::from_field_text(self.fields.creator_id, creator_id));
            w.commit().map_err(backend)?;
            Ok(())
        })
    }

    fn compact(&self) -> Result<(), SearchError> {
        if self.read_only {
            return Err(SearchError::Backend("read-only index".into()));
        }
        let mut guard = self
            .writer
            .lock()
            .map_err(|_| SearchError::Backend("index writer lock poisoned".into()))?;
        if let Some(w) = guard.take() {
            w.wait_merging_threads().map_err(backend)?;
        }
        let mut w: IndexWriter = self
            .index
            .writer_with_num_threads(self.options.writer_threads, self.options.heap_bytes)
            .map_err(backend)?;
        // Largest first into the lightest group: similar-sized segments.
        let mut metas = self.index.searchable_segment_metas().map_err(backend)?;
        metas.sort_by_key(|m| Reverse(m.num_docs()));
        let groups = self.options.search_threads.clamp(1, metas.len().max(1));
        let mut plan: Vec<(u64, Vec<tantivy::index::SegmentId>)> = vec![(0, Vec::new()); groups];
        for m in metas {
            if let Some(g) = plan.iter_mut().min_by_key(|g| g.0) {
                g.0 += u64::from(m.num_docs());
                g.1.push(m.id());
            }
        }
        // Merges run concurrently; wait for all of them.
        let merges: Vec<_> = plan
            .iter()
            .filter(|g| g.1.len() > 1)
            .map(|g| w.merge(&g.1))
            .collect();
        for m in merges {
            m.wait().map_err(backend)?;
        }
        w.garbage_collect_files().wait().map_err(backend)?;
        *guard = Some(w);
        self.reader.reload().map_err(backend)
    }

    fn to_document(&self, d: &CreatorDoc) -> Result<TantivyDocument, SearchError> {
        let f = &self.fields;
        let invalid = |detail: &str| SearchError::InvalidDoc {
            creator_id: d.creator_id.clone(),
            detail: detail.into(),
        };
        if d.creator_id.trim().is_empty() {
            return Err(invalid("creator_id is empty"));
        }
        let mut doc = TantivyDocument::default();
        doc.add_text(f.creator_id, &d.creator_id);
        doc.add_text(f.handle, &d.handle);
        doc.add_text(f.display_name, &d.display_name);
        doc.add_text(f.bio, &d.bio);
        for n in &d.niches {
            let n = n.trim().to_lowercase();
            doc.add_text(f.niches_text, &n);
            doc.add_text(f.niche, &n);
        }
        for l in &d.languages {
            doc.add_text(f.language, l.trim().to_lowercase());
        }
        if let Some(c) = &d.country {
            doc.add_text(f.country, c.trim().to_ascii_uppercase());
        }
        doc.add_bool(f.verified, d.verified);
        let reputation = if d.reputation.is_finite() {
            d.reputation
        } else {
            0.0
        };
        doc.add_f64(f.reputation, reputation);
        doc.add_i64(f.updated_at, d.updated_at);

        let mut followers: [Option<u64>; PLATFORMS.len()] = [None; PLATFORMS.len()];
        let mut engagement: [Option<f64>; PLATFORMS.len()] = [None; PLATFORMS.len()];
        let (mut fmax, mut emax) = (None::<u64>, None::<f64>);
        for p in &d.platforms {
            let er = if p.engagement_rate.is_finite() {
                p.engagement_rate.max(0.0)
            } else {
                0.0
            };
            fmax = Some(fmax.map_or(p.followers, |m| m.max(p.followers)));
            emax = Some(emax.map_or(er, |m| m.max(er)));
            if let Some(i) = PLATFORMS
                .iter()
                .position(|k| k.eq_ignore_ascii_case(p.platform.trim()))
            {
                followers[i] = Some(followers[i].map_or(p.followers, |m| m.max(p.followers)));
                engagement[i] = Some(engagement[i].map_or(er, |m| m.max(er)));
            }
        }
        for i in 0..PLATFORMS.len() {
            if let Some(v) = followers[i] {
                doc.add_u64(f.followers[i], v);
            }
            if let Some(v) = engagement[i] {
                doc.add_f64(f.engagement[i], v);
            }
        }
        if let Some(v) = fmax {
            doc.add_u64(f.followers_max, v);
        }
        if let Some(v) = emax {
            doc.add_f64(f.engagement_max, v);
        }

        // Unknown keys are not filterable and are left out.
        let shares = d
            .audience
            .countries
            .iter()
            .filter_map(|(k, v)| Some((DIM_COUNTRY, country_index(k.trim())?, *v)))
            .chain(d.audience.age.iter().filter_map(|(k, v)| {
                Some((
                    DIM_AGE,
                    AGE_BANDS.iter().position(|b| b == &k.trim())? as u64,
                    *v,
                ))
            }))
            .chain(d.audience.gender.iter().filter_map(|(k, v)| {
                let i = GENDERS
                    .iter()
                    .position(|g| g.eq_ignore_ascii_case(k.trim()))?;
                Some((DIM_GENDER, i as u64, *v))
            }));
        for (dim, key, share) in shares {
            if share.is_finite() {
                doc.add_u64(f.audience, audience_key(dim, key, basis_points(share)));
            }
        }

        let mut lowest: HashMap<u64, u64> = HashMap::new();
        for r in &d.rates {
            if let Some(c) = currency_index(r.currency.trim()) {
                let a = clamp_amount(r.amount_minor);
                lowest
                    .entry(c)
                    .and_modify(|m| *m = (*m).min(a))
                    .or_insert(a);
            }
        }
        let mut lowest: Vec<_> = lowest.into_iter().collect();
        lowest.sort_unstable();
        for (c, a) in lowest {
            match rate_column(c) {
                Some(i) => doc.add_u64(f.rates[i], a),
                None => doc.add_u64(f.rate_other, rate_key(c, a)),
            }
        }
        Ok(doc)
    }

    fn text_query(&self, text: &str) -> Option<Box<dyn Query>> {
        let f = &self.fields;
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for (field, analyzer, boost) in [
            (f.handle, TEXT_ANALYZER, 3.0),
            (f.niches_text, TEXT_ANALYZER, 2.0),
            (f.display_name, TEXT_ANALYZER, 1.5),
            (f.bio, STEM_ANALYZER, 1.0),
        ] {
            let Some(mut analyzer) = self.index.tokenizers().get(analyzer) else {
                continue;
            };
            let mut stream = analyzer.token_stream(text);
            let mut seen = Vec::new();
            while stream.advance() {
                let t = stream.token().text.clone();
                if seen.contains(&t) || seen.len() >= 16 {
                    continue;
                }
                let term = TermQuery::new(
                    Term::from_field_text(field, &t),
                    IndexRecordOption::WithFreqs,
                );
                clauses.push((
                    Occur::Should,
                    Box::new(BoostQuery::new(Box::new(term), boost)),
                ));
                seen.push(t);
            }
        }
        (!clauses.is_empty()).then(|| Box::new(BooleanQuery::new(clauses)) as Box<dyn Query>)
    }

    fn filters(&self, p: &Plan) -> Vec<Box<dyn Query>> {
        let f = &self.fields;
        let mut out: Vec<Box<dyn Query>> = Vec::new();
        let term = |field: Field, v: &str| -> Box<dyn Query> {
            Box::new(TermQuery::new(
                Term::from_field_text(field, v),
                IndexRecordOption::Basic,
            ))
        };
        if !p.niches.is_empty() {
            let any = p
                .niches
                .iter()
                .map(|n| (Occur::Should, term(f.niche, n)))
                .collect();
            out.push(Box::new(BooleanQuery::new(any)));
        }
        if let Some(c) = &p.country {
            out.push(term(f.country, c));
        }
        if let Some(l) = &p.language {
            out.push(term(f.language, l));
        }
        if let Some(v) = p.verified {
            out.push(Box::new(TermQuery::new(
                Term::from_field_bool(f.verified, v),
                IndexRecordOption::Basic,
            )));
        }
        let followers = p.platform.map_or(f.followers_max, |i| f.followers[i]);
        if let Some(q) = range(
            followers,
            p.followers.0,
            p.followers.1,
            Term::from_field_u64,
        ) {
            out.push(q);
        }
        let engagement = p.platform.map_or(f.engagement_max, |i| f.engagement[i]);
        if let Some(q) = range(
            engagement,
            p.engagement.0,
            p.engagement.1,
            Term::from_field_f64,
        ) {
            out.push(q);
        }
        if let Some(q) = range(f.reputation, p.reputation_min, None, Term::from_field_f64) {
            out.push(q);
        }
        for (dim, share) in [
            (DIM_COUNTRY, p.audience_country),
            (DIM_AGE, p.audience_age),
            (DIM_GENDER, p.audience_gender),
        ] {
            if let Some((key, bp)) = share {
                let (lo, hi) = (audience_key(dim, key, bp), audience_key(dim, key, 10_000));
                out.extend(range(f.audience, Some(lo), Some(hi), Term::from_field_u64));
            }
        }
        if let Some((c, lo, hi)) = p.rate {
            out.extend(match rate_column(c) {
                Some(i) => range(f.rates[i], Some(lo), Some(hi), Term::from_field_u64),
                None => range(
                    f.rate_other,
                    Some(rate_key(c, lo)),
                    Some(rate_key(c, hi)),
                    Term::from_field_u64,
                ),
            });
        }
        out
    }

    fn search(&self, q: &SearchQuery) -> Result<SearchPage, SearchError> {
        let p = plan(q)?;
        let text = p.text.as_deref().and_then(|t| self.text_query(t));
        let sort = match p.sort {
            // Text without a single token (e.g. only punctuation) ranks like no text.
            SortBy::Score if text.is_none() => SortBy::Reputation,
            s => s,
        };
        let filters = self.filters(&p);
        let query: Box<dyn Query> = match (text, filters.is_empty()) {
            (None, true) => Box::new(AllQuery),
            (text, _) => {
                let mut clauses: Vec<(Occur, Box<dyn Query>)> =
                    text.into_iter().map(|t| (Occur::Must, t)).collect();
                // Filters do not change the score.
                clauses.extend(filters.into_iter().map(|f| {
                    (
                        Occur::Must,
                        Box::new(BoostQuery::new(f, 0.0)) as Box<dyn Query>,
                    )
                }));
                Box::new(BooleanQuery::new(clauses))
            }
        };
        let collector = PageCollector {
            sort,
            limit: p.limit,
            after: p.after.clone(),
            field_names: SortFieldNames::new(sort),
        };
        let searcher = self.reader.searcher();
        let fruit = searcher.search(&*query, &collector).map_err(backend)?;
        let next_cursor = (fruit.remaining > p.limit as u64)
            .then(|| fruit.hits.last())
            .flatten()
            .map(|h| {
                cursor::encode(
                    &sort.tag(),
                    &After {
                        key: h.key,
                        creator_id: h.creator_id.clone(),
                    },
                )
            });
        Ok(SearchPage {
            hits: fruit
                .hits
                .into_iter()
                .map(|h| Hit {
                    creator_id: h.creator_id,
                    score: h.score,
                })
                .collect(),
            total: fruit.total,
            next_cursor,
        })
    }
}

fn range<T: Copy>(
    field: Field,
    min: Option<T>,
    max: Option<T>,
    term: impl Fn(Field, T) -> Term,
) -> Option<Box<dyn Query>> {
    if min.is_none() && max.is_none() {
        return None;
    }
    let bound = |v: Option<T>| v.map_or(Bound::Unbounded, |v| Bound::Included(term(field, v)));
    Some(Box::new(RangeQuery::new(bound(min), bound(max))))
}

// ---- collector -------------------------------------------------------------

/// Order-preserving map of an `f64` onto `u64`.
fn f64_key(v: f64) -> u64 {
    let bits = v.to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    }
}

fn f32_key(v: f32) -> u64 {
    f64_key(f64::from(v))
}

fn i64_key(v: i64) -> u64 {
    (v as u64) ^ (1 << 63)
}

struct SortFieldNames {
    column: Option<String>,
}

impl SortFieldNames {
    fn new(sort: SortBy) -> Self {
        let column = match sort {
            SortBy::Score => None,
            SortBy::Reputation => Some("reputation".into()),
            SortBy::Followers(p) => Some(followers_name(p)),
            SortBy::Engagement(p) => Some(engagement_name(p)),
            SortBy::RateAsc(c) => Some(rate_name(c)),
            SortBy::Newest => Some("updated_at".into()),
        };
        Self { column }
    }
}

struct PageCollector {
    sort: SortBy,
    limit: usize,
    after: Option<After>,
    field_names: SortFieldNames,
}

/// Per-document sort key source for one segment. Missing values rank last (key 0).
enum KeySource {
    Score,
    U64(Column<u64>),
    F64(Column<f64>),
    I64(Column<i64>),
    /// Ascending amount in a currency's own column.
    U64Asc(Column<u64>),
    /// Lowest amount in the currency whose packed values lie in `lo..=hi`.
    RateAsc {
        column: Column<u64>,
        lo: u64,
        hi: u64,
    },
}

impl KeySource {
    #[inline]
    fn key(&self, doc: DocId, score: Score) -> u64 {
        match self {
            KeySource::Score => f32_key(score),
            KeySource::U64(c) => c.first(doc).unwrap_or(0),
            KeySource::F64(c) => c.first(doc).map_or(0, f64_key),
            KeySource::I64(c) => c.first(doc).map_or(0, i64_key),
            KeySource::U64Asc(c) => c.first(doc).map_or(0, |v| u64::MAX - v),
            KeySource::RateAsc { column, lo, hi } => column
                .values_for_doc(doc)
                .find(|v| (*lo..=*hi).contains(v))
                .map_or(0, |v| u64::MAX - (v - lo)),
        }
    }
}

struct SegmentHit {
    key: u64,
    creator_id: String,
    score: f32,
}

struct PageFruit {
    total: u64,
    /// Matches after the cursor.
    remaining: u64,
    hits: Vec<SegmentHit>,
}

/// Heap entry; `Ord` is "ranks better", so the heap of `Reverse` keeps the worst on top.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Ranked {
    key: u64,
    ord: Reverse<u64>,
    score_bits: u32,
}

struct PageSegmentCollector {
    keys: KeySource,
    ids: StrColumn,
    limit: usize,
    /// (key, smallest id ordinal that is after the cursor on an equal key).
    after: Option<(u64, u64)>,
    heap: BinaryHeap<Reverse<Ranked>>,
    total: u64,
    remaining: u64,
}

impl Collector for PageCollector {
    type Fruit = PageFruit;
    type Child = PageSegmentCollector;

    fn for_segment(
        &self,
        _ord: SegmentOrdinal,
        segment: &SegmentReader,
    ) -> tantivy::Result<PageSegmentCollector> {
        let ff = segment.fast_fields();
        let ids = ff.str("creator_id")?.ok_or_else(|| {
            tantivy::TantivyError::SchemaError("creator_id is not a fast field".into())
        })?;
        let name = self.field_names.column.as_deref().unwrap_or_default();
        let keys = match self.sort {
            SortBy::Score => KeySource::Score,
            SortBy::Followers(_) => KeySource::U64(ff.u64(name)?),
            SortBy::Reputation | SortBy::Engagement(_) => KeySource::F64(ff.f64(name)?),
            SortBy::Newest => KeySource::I64(ff.i64(name)?),
            SortBy::RateAsc(c) if rate_column(c).is_some() => KeySource::U64Asc(ff.u64(name)?),
            SortBy::RateAsc(c) => KeySource::RateAsc {
                column: ff.u64(name)?,
                lo: rate_key(c, 0),
                hi: rate_key(c, crate::query::MAX_AMOUNT),
            },
        };
        let after = match &self.after {
            None => None,
            Some(a) => {
                let (lower, _) = ids.dictionary().term_bounds_to_ord(
                    Bound::Excluded(a.creator_id.as_bytes()),
                    Bound::Unbounded,
                )?;
                let first_after = match lower {
                    Bound::Included(o) => o,
                    Bound::Excluded(o) => o.saturating_add(1),
                    Bound::Unbounded => 0,
                };
                Some((a.key, first_after))
            }
        };
        Ok(PageSegmentCollector {
            keys,
            ids,
            limit: self.limit,
            after,
            heap: BinaryHeap::with_capacity(self.limit + 1),
            total: 0,
            remaining: 0,
        })
    }

    fn requires_scoring(&self) -> bool {
        self.sort == SortBy::Score
    }

    fn merge_fruits(&self, fruits: Vec<PageFruit>) -> tantivy::Result<PageFruit> {
        let mut total = 0;
        let mut remaining = 0;
        let mut hits = Vec::new();
        for f in fruits {
            total += f.total;
            remaining += f.remaining;
            hits.extend(f.hits);
        }
        hits.sort_by(|a, b| {
            b.key
                .cmp(&a.key)
                .then_with(|| a.creator_id.cmp(&b.creator_id))
        });
        hits.truncate(self.limit);
        Ok(PageFruit {
            total,
            remaining,
            hits,
        })
    }
}

impl PageSegmentCollector {
    #[inline]
    fn ord(&self, doc: DocId) -> u64 {
        self.ids.ords().first(doc).unwrap_or(u64::MAX)
    }
}

impl SegmentCollector for PageSegmentCollector {
    type Fruit = PageFruit;

    #[inline]
    fn collect(&mut self, doc: DocId, score: Score) {
        self.total += 1;
        let key = self.keys.key(doc, score);
        let mut ord = None;
        if let Some((after_key, first_ord)) = self.after {
            if key > after_key {
                return;
            }
            if key == after_key {
                let o = self.ord(doc);
                if o < first_ord {
                    return;
                }
                ord = Some(o);
            }
        }
        self.remaining += 1;
        if self.heap.len() >= self.limit {
            let Some(Reverse(worst)) = self.heap.peek() else {
                return;
            };
            if key < worst.key {
                return;
            }
            let o = ord.unwrap_or_else(|| self.ord(doc));
            if (key, Reverse(o)) <= (worst.key, worst.ord) {
                return;
            }
            ord = Some(o);
            self.heap.pop();
        }
        let ord = ord.unwrap_or_else(|| self.ord(doc));
        self.heap.push(Reverse(Ranked {
            key,
            ord: Reverse(ord),
            score_bits: score.to_bits(),
        }));
    }

    fn harvest(self) -> PageFruit {
        let mut hits = Vec::with_capacity(self.heap.len());
        let mut buf = String::new();
        for Reverse(r) in self.heap {
            buf.clear();
            // Every live document has an id; an unreadable one is skipped.
            if matches!(self.ids.ord_to_str(r.ord.0, &mut buf), Ok(true)) {
                hits.push(SegmentHit {
                    key: r.key,
                    creator_id: buf.clone(),
                    score: f32::from_bits(r.score_bits),
                });
            }
        }
        PageFruit {
            total: self.total,
            remaining: self.remaining,
            hits,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_keys_preserve_order() {
        let vs = [
            f64::NEG_INFINITY,
            -5.5,
            -0.0,
            0.0,
            1e-9,
            0.5,
            99.9,
            f64::INFINITY,
        ];
        for w in vs.windows(2) {
            assert!(f64_key(w[0]) <= f64_key(w[1]), "{w:?}");
        }
        assert!(i64_key(-1) < i64_key(0) && i64_key(0) < i64_key(i64::MAX));
    }
}
