//! The tantivy index shipped through S3, for Lambda (feature `s3`).
//!
//! Lambda has only `/tmp` and no shared disk, so one writer (the
//! `search-indexer` function, reserved concurrency 1) builds the index in its
//! `/tmp` and *publishes* snapshots to S3; the API functions *pull* the latest
//! snapshot into their own `/tmp` and search it there.
//!
//! # Layout under `prefix` (e.g. `search/creators/`)
//!
//! * `files/<name>`: immutable tantivy files (segment components
//!   `<segment uuid>.{idx,pos,term,store,fast,fieldnorm}` and delete bitsets
//!   `<segment uuid>.<opstamp>.del`). tantivy never rewrites a file under the
//!   same name, so each is uploaded once and shared by every generation that
//!   lists it.
//! * `gen/<generation>/meta.json`, `gen/<generation>/.managed.json`: the
//!   files tantivy rewrites on every commit, stored per generation.
//! * `manifest.json`: `{"version":1,"generation":"<ulid>","files":[{"name",
//!   "size","key"}]}`, the only object that is overwritten.
//!
//! # Consistency
//!
//! [`S3Snapshots::publish`] uploads every file of one commit first and
//! writes `manifest.json` last. S3 is strongly consistent for read-after-write
//! (including overwrites), so a reader that GETs a manifest can GET every key
//! it lists: they were all written before it. Readers only ever follow a
//! manifest, never list the bucket, so a half-finished publish (crash between
//! uploads) is invisible: it leaves unreferenced objects, never a torn index.
//! [`S3Snapshots::pull`] mirrors the order locally: segment files first, then
//! `meta.json` by rename (atomic), and only then deletes local files the new
//! manifest no longer lists, so the local `meta.json` always names files that
//! exist.
//!
//! This relies on a **single writer**: two concurrent publishers would each
//! write a manifest from their own history, and the last one wins (the other
//! one's changes are lost until those documents are upserted again). The
//! indexer's reserved concurrency of 1 is what guarantees it.
//!
//! Objects are never deleted by this module: generations and segments that
//! merged away accumulate under `gen/` and `files/` (see README caveats).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_s3::error::{DisplayErrorContext, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;

use crate::{
    CreatorDoc, CreatorSearch, IndexOptions, SearchError, SearchPage, SearchQuery, TantivySearch,
};

/// Files tantivy rewrites on each commit: stored per generation.
const MUTABLE: [&str; 2] = [".managed.json", "meta.json"];
const MANIFEST: &str = "manifest.json";
const MANIFEST_VERSION: u32 = 1;
/// Prefix of the pull's temporary download files (never index files).
const TMP_PREFIX: &str = ".snapshot-";
/// A publish restarts when a background merge removed a file it was
/// uploading; this bounds the restarts.
const PUBLISH_ATTEMPTS: usize = 4;

/// Default for [`SnapshotReader::refresh_interval`].
pub const DEFAULT_REFRESH: Duration = Duration::from_secs(30);

/// The snapshot manifest (`<prefix>manifest.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Format version of this document (currently 1).
    pub version: u32,
    /// ULID of the publish; lexicographic order is publish order.
    pub generation: String,
    pub files: Vec<ManifestFile>,
}

/// One file of a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestFile {
    /// File name in the index directory.
    pub name: String,
    pub size: u64,
    /// Object key in the bucket.
    pub key: String,
}

/// Where snapshots live: `s3://<bucket>/<prefix>…`.
#[derive(Debug, Clone)]
pub struct S3Snapshots {
    pub client: aws_sdk_s3::Client,
    pub bucket: String,
    /// Ends with `/` unless empty, e.g. `search/creators/`.
    pub prefix: String,
}

fn backend(e: impl std::fmt::Display) -> SearchError {
    SearchError::Backend(e.to_string())
}

fn s3_error<E, R>(op: &str, key: &str, e: SdkError<E, R>) -> SearchError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    SearchError::Backend(format!("s3 {op} {key}: {}", DisplayErrorContext(e)))
}

fn io_error(what: &str, path: &Path, e: std::io::Error) -> SearchError {
    SearchError::Backend(format!("{what} {}: {e}", path.display()))
}

/// Lock files and our own temporaries are never part of a snapshot.
fn is_index_file(name: &str) -> bool {
    let lock = name.starts_with(".tantivy-") && name.ends_with(".lock");
    !lock && !name.starts_with(TMP_PREFIX)
}

/// A manifest name must be a plain file name (it becomes a local path).
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains(['/', '\\'])
        && is_index_file(name)
}

/// The segments `meta.json` references: (simple uuid, delete opstamp).
fn committed_segments(meta_json: &[u8]) -> Result<Vec<(String, Option<u64>)>, SearchError> {
    #[derive(Deserialize)]
    struct Meta {
        segments: Vec<Segment>,
    }
    #[derive(Deserialize)]
    struct Segment {
        segment_id: String,
        deletes: Option<Deletes>,
    }
    #[derive(Deserialize)]
    struct Deletes {
        opstamp: u64,
    }
    let meta: Meta = serde_json::from_slice(meta_json)
        .map_err(|e| SearchError::Backend(format!("unreadable meta.json: {e}")))?;
    Ok(meta
        .segments
        .into_iter()
        .map(|s| {
            (
                s.segment_id.replace('-', "").to_ascii_lowercase(),
                s.deletes.map(|d| d.opstamp),
            )
        })
        .collect())
}

/// Segment component extensions tantivy writes for every segment.
const COMPONENTS: [&str; 6] = ["idx", "pos", "term", "store", "fast", "fieldnorm"];

/// One consistent commit of a local index: the bytes of its mutable files
/// and the immutable files its `meta.json` references, with sizes.
struct LocalCommit {
    mutable: Vec<(&'static str, Vec<u8>)>,
    immutable: Vec<(String, u64)>,
}

/// Reads `meta.json` once and resolves the files it names. `Ok(None)` when a
/// named file is gone already (a merge finished and collected it): retry.
fn read_commit(dir: &Path) -> Result<Option<LocalCommit>, SearchError> {
    let meta_path = dir.join("meta.json");
    let meta = match std::fs::read(&meta_path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(SearchError::Backend(format!(
                "no committed index in {}",
                dir.display()
            )))
        }
        Err(e) => return Err(io_error("reading", &meta_path, e)),
    };
    let managed_path = dir.join(".managed.json");
    let managed = match std::fs::read(&managed_path) {
        Ok(b) => Some(b),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(io_error("reading", &managed_path, e)),
    };
    let mut immutable = Vec::new();
    for (uuid, del) in committed_segments(&meta)? {
        let names = COMPONENTS
            .iter()
            .map(|ext| format!("{uuid}.{ext}"))
            .chain(del.map(|op| format!("{uuid}.{op}.del")));
        for name in names {
            let path = dir.join(&name);
            match std::fs::metadata(&path) {
                Ok(m) => immutable.push((name, m.len())),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(io_error("reading", &path, e)),
            }
        }
    }
    let mut mutable = vec![("meta.json", meta)];
    if let Some(m) = managed {
        mutable.insert(0, (".managed.json", m));
    }
    Ok(Some(LocalCommit { mutable, immutable }))
}

impl S3Snapshots {
    pub fn new(
        client: aws_sdk_s3::Client,
        bucket: impl Into<String>,
        prefix: impl Into<String>,
    ) -> Self {
        Self {
            client,
            bucket: bucket.into(),
            prefix: prefix.into(),
        }
    }

    fn key(&self, rest: &str) -> String {
        format!("{}{rest}", self.prefix)
    }

    fn immutable_key(&self, name: &str) -> String {
        self.key(&format!("files/{name}"))
    }

    fn generation_key(&self, generation: &str, name: &str) -> String {
        self.key(&format!("gen/{generation}/{name}"))
    }

    /// The current manifest; `None` when nothing was published yet.
    pub async fn manifest(&self) -> Result<Option<Manifest>, SearchError> {
        let key = self.key(MANIFEST);
        let out = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&key)
            .send()
            .await
        {
            Ok(out) => out,
            Err(SdkError::ServiceError(e)) if e.err().is_no_such_key() => return Ok(None),
            Err(e) => return Err(s3_error("GetObject", &key, e)),
        };
        let body = out
            .body
            .collect()
            .await
            .map_err(|e| SearchError::Backend(format!("s3 GetObject {key}: {e}")))?;
        let manifest: Manifest = serde_json::from_slice(&body.into_bytes())
            .map_err(|e| SearchError::Backend(format!("unreadable {key}: {e}")))?;
        if manifest.version != MANIFEST_VERSION {
            return Err(SearchError::Backend(format!(
                "{key}: unsupported manifest version {}",
                manifest.version
            )));
        }
        if let Some(f) = manifest.files.iter().find(|f| !valid_name(&f.name)) {
            return Err(SearchError::Backend(format!(
                "{key}: invalid file name {:?}",
                f.name
            )));
        }
        Ok(Some(manifest))
    }

    /// Publishes the last commit of the index in `dir` and returns its
    /// generation. Call it after the writer committed (and not concurrently
    /// with another publish). Immutable files already listed by the current
    /// manifest with the same size are not uploaded again; `meta.json` and
    /// `.managed.json` are stored under the new generation; `manifest.json`
    /// is written last.
    pub async fn publish(&self, dir: &Path) -> Result<String, SearchError> {
        let previous: HashMap<String, (u64, String)> = self
            .manifest()
            .await?
            .map(|m| {
                m.files
                    .into_iter()
                    .map(|f| (f.name, (f.size, f.key)))
                    .collect()
            })
            .unwrap_or_default();
        for _ in 0..PUBLISH_ATTEMPTS {
            if let Some(generation) = self.try_publish(dir, &previous).await? {
                return Ok(generation);
            }
        }
        Err(SearchError::Backend(format!(
            "publish {}: index files kept changing (background merges)",
            dir.display()
        )))
    }

    /// `Ok(None)`: a file of the commit disappeared (a merge committed
    /// meanwhile); the caller retries with the newer commit.
    async fn try_publish(
        &self,
        dir: &Path,
        previous: &HashMap<String, (u64, String)>,
    ) -> Result<Option<String>, SearchError> {
        let dir_owned = dir.to_path_buf();
        let commit = tokio::task::spawn_blocking(move || read_commit(&dir_owned))
            .await
            .map_err(backend)??;
        let Some(commit) = commit else {
            return Ok(None);
        };
        let mut files = Vec::with_capacity(commit.immutable.len() + commit.mutable.len());
        for (name, size) in commit.immutable {
            let key = self.immutable_key(&name);
            let uploaded = previous
                .get(&name)
                .is_some_and(|(s, k)| *s == size && *k == key);
            if !uploaded {
                let path = dir.join(&name);
                let body = match ByteStream::from_path(&path).await {
                    Ok(b) => b,
                    Err(_) if !path.exists() => return Ok(None),
                    Err(e) => return Err(backend(format!("reading {}: {e}", path.display()))),
                };
                if let Err(e) = self
                    .client
                    .put_object()
                    .bucket(&self.bucket)
                    .key(&key)
                    .content_length(size as i64)
                    .body(body)
                    .send()
                    .await
                {
                    if !path.exists() {
                        return Ok(None);
                    }
                    return Err(s3_error("PutObject", &key, e));
                }
            }
            files.push(ManifestFile { name, size, key });
        }
        let generation = ulid::Ulid::new().to_string();
        for (name, bytes) in commit.mutable {
            let key = self.generation_key(&generation, name);
            let size = bytes.len() as u64;
            self.put_bytes(&key, bytes).await?;
            files.push(ManifestFile {
                name: name.to_string(),
                size,
                key,
            });
        }
        let manifest = Manifest {
            version: MANIFEST_VERSION,
            generation: generation.clone(),
            files,
        };
        let body = serde_json::to_vec(&manifest).map_err(backend)?;
        self.put_bytes(&self.key(MANIFEST), body).await?;
        Ok(Some(generation))
    }

    async fn put_bytes(&self, key: &str, bytes: Vec<u8>) -> Result<(), SearchError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|e| s3_error("PutObject", key, e))?;
        Ok(())
    }

    /// Brings `dir` to the published snapshot. `Ok(None)` when nothing was
    /// published yet or the manifest's generation is `known` (one GET, no
    /// downloads); otherwise downloads the missing immutable files, then
    /// `.managed.json` and `meta.json` (temp file + rename), then deletes
    /// local index files the manifest does not list, and returns the new
    /// generation.
    pub async fn pull(
        &self,
        dir: &Path,
        known: Option<&str>,
    ) -> Result<Option<String>, SearchError> {
        let Some(manifest) = self.manifest().await? else {
            return Ok(None);
        };
        if known == Some(manifest.generation.as_str()) {
            return Ok(None);
        }
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| io_error("creating", dir, e))?;
        let (mut mutable, immutable): (Vec<_>, Vec<_>) = manifest
            .files
            .iter()
            .partition(|f| MUTABLE.contains(&f.name.as_str()));
        for f in immutable {
            let path = dir.join(&f.name);
            let present = tokio::fs::metadata(&path)
                .await
                .is_ok_and(|m| m.is_file() && m.len() == f.size);
            if !present {
                self.download(f, dir).await?;
            }
        }
        // meta.json last: it is what makes the new segments part of the index.
        mutable.sort_by_key(|f| f.name == "meta.json");
        for f in mutable {
            self.download(f, dir).await?;
        }
        let listed: HashSet<&str> = manifest.files.iter().map(|f| f.name.as_str()).collect();
        let mut entries = tokio::fs::read_dir(dir)
            .await
            .map_err(|e| io_error("listing", dir, e))?;
        while let Some(entry) = entries
            .next_entry()
            .await
            .map_err(|e| io_error("listing", dir, e))?
        {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let stale_tmp = name.starts_with(TMP_PREFIX);
            if stale_tmp || (is_index_file(name) && !listed.contains(name)) {
                let path = entry.path();
                if path.is_file() {
                    tokio::fs::remove_file(&path)
                        .await
                        .map_err(|e| io_error("removing", &path, e))?;
                }
            }
        }
        Ok(Some(manifest.generation))
    }

    /// Streams one object to `<dir>/.snapshot-<name>.tmp`, checks its size
    /// and renames it to `<dir>/<name>`.
    async fn download(&self, f: &ManifestFile, dir: &Path) -> Result<(), SearchError> {
        let tmp = dir.join(format!("{TMP_PREFIX}{}.tmp", f.name));
        let out = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&f.key)
            .send()
            .await
            .map_err(|e| s3_error("GetObject", &f.key, e))?;
        let mut body = out.body;
        let mut file = tokio::fs::File::create(&tmp)
            .await
            .map_err(|e| io_error("creating", &tmp, e))?;
        let mut written = 0u64;
        while let Some(chunk) = body.next().await {
            let chunk =
                chunk.map_err(|e| SearchError::Backend(format!("s3 GetObject {}: {e}", f.key)))?;
            written += chunk.len() as u64;
            file.write_all(&chunk)
                .await
                .map_err(|e| io_error("writing", &tmp, e))?;
        }
        file.flush()
            .await
            .map_err(|e| io_error("writing", &tmp, e))?;
        drop(file);
        if written != f.size {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(SearchError::Backend(format!(
                "s3 GetObject {}: {written} bytes, manifest says {}",
                f.key, f.size
            )));
        }
        let path = dir.join(&f.name);
        tokio::fs::rename(&tmp, &path)
            .await
            .map_err(|e| io_error("renaming into", &path, e))
    }
}

/// Time source of [`SnapshotReader`]'s refresh interval (tests inject one).
pub trait Clock: Send + Sync {
    fn now(&self) -> Instant;
}

/// [`Instant::now`].
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

struct ReaderState {
    search: Option<TantivySearch>,
    generation: Option<String>,
    checked_at: Option<Instant>,
}

/// Read-only [`CreatorSearch`] over the published snapshot (the API
/// functions). Pulls into `dir` on first use, then checks the manifest at
/// most once per refresh interval and reloads when its generation changed:
/// results are at most one interval (plus the indexer's lag) behind the last
/// publish.
///
/// When a refresh fails after a generation was loaded, the replica keeps
/// serving it (logged at warn) and retries after the next interval; with
/// nothing loaded yet the error is returned. `upsert`/`remove` fail.
pub struct SnapshotReader {
    snapshots: S3Snapshots,
    dir: PathBuf,
    options: IndexOptions,
    refresh: Duration,
    clock: Arc<dyn Clock>,
    state: tokio::sync::Mutex<ReaderState>,
}

impl SnapshotReader {
    /// A replica in `dir` (under `/tmp` on Lambda), refreshed every
    /// [`DEFAULT_REFRESH`], with default [`IndexOptions`]. Nothing is
    /// fetched until the first search.
    pub fn new(snapshots: S3Snapshots, dir: impl Into<PathBuf>) -> Self {
        Self {
            snapshots,
            dir: dir.into(),
            options: IndexOptions::default(),
            refresh: DEFAULT_REFRESH,
            clock: Arc::new(SystemClock),
            state: tokio::sync::Mutex::new(ReaderState {
                search: None,
                generation: None,
                checked_at: None,
            }),
        }
    }

    /// Minimum time between two manifest checks (the staleness bound).
    pub fn refresh_interval(mut self, every: Duration) -> Self {
        self.refresh = every;
        self
    }

    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Search threads (writer fields are ignored: no writer is opened).
    pub fn index_options(mut self, options: IndexOptions) -> Self {
        self.options = options;
        self
    }

    /// The generation being served (`None` before the first pull or while
    /// nothing was published).
    pub async fn generation(&self) -> Option<String> {
        self.state.lock().await.generation.clone()
    }

    /// Checks the manifest now, whatever the interval; returns the
    /// generation served afterwards.
    pub async fn refresh(&self) -> Result<Option<String>, SearchError> {
        let mut state = self.state.lock().await;
        self.refresh_locked(&mut state).await?;
        Ok(state.generation.clone())
    }

    async fn refresh_locked(&self, state: &mut ReaderState) -> Result<(), SearchError> {
        let pulled = self
            .snapshots
            .pull(&self.dir, state.generation.as_deref())
            .await;
        let now = self.clock.now();
        match pulled {
            Ok(generation) => {
                let changed = generation.is_some();
                if let Some(g) = generation {
                    state.generation = Some(g);
                }
                match &state.search {
                    Some(search) if changed => {
                        let search = search.clone();
                        tokio::task::spawn_blocking(move || search.reload())
                            .await
                            .map_err(backend)??;
                    }
                    Some(_) => {}
                    None => {
                        let (dir, options) = (self.dir.clone(), self.options);
                        let search = tokio::task::spawn_blocking(move || {
                            TantivySearch::open_read_only(&dir, options)
                        })
                        .await
                        .map_err(backend)??;
                        state.search = Some(search);
                    }
                }
                state.checked_at = Some(now);
                Ok(())
            }
            Err(e) if state.search.is_some() => {
                tracing::warn!(
                    error = %e,
                    search.generation = state.generation.as_deref().unwrap_or("-"),
                    "search snapshot refresh failed; serving the loaded generation"
                );
                state.checked_at = Some(now);
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    async fn current(&self) -> Result<TantivySearch, SearchError> {
        let mut state = self.state.lock().await;
        let due = match state.checked_at {
            None => true,
            Some(at) => self.clock.now().saturating_duration_since(at) >= self.refresh,
        };
        if due || state.search.is_none() {
            self.refresh_locked(&mut state).await?;
        }
        state
            .search
            .clone()
            .ok_or_else(|| SearchError::Backend("search replica not loaded".into()))
    }
}

#[async_trait::async_trait]
impl CreatorSearch for SnapshotReader {
    async fn upsert(&self, _docs: Vec<CreatorDoc>) -> Result<(), SearchError> {
        Err(SearchError::Backend("read-only replica".into()))
    }

    async fn remove(&self, _creator_id: &str) -> Result<(), SearchError> {
        Err(SearchError::Backend("read-only replica".into()))
    }

    async fn search(&self, q: &SearchQuery) -> Result<SearchPage, SearchError> {
        self.current().await?.search(q).await
    }
}

/// The single writer (the indexer function): a [`TantivySearch`] in `dir`
/// that publishes a snapshot after every `upsert`/`remove`.
///
/// [`SnapshotWriter::open`] pulls first, so a cold start continues from the
/// last snapshot. A change returns only after its snapshot is published; if
/// publishing fails the call fails (the event is retried, upserts and removes
/// are idempotent) and the next successful publish includes it anyway.
pub struct SnapshotWriter {
    snapshots: S3Snapshots,
    dir: PathBuf,
    search: TantivySearch,
    /// Serialises change + publish; holds the last published generation.
    generation: tokio::sync::Mutex<Option<String>>,
}

impl SnapshotWriter {
    pub async fn open(
        snapshots: S3Snapshots,
        dir: impl Into<PathBuf>,
        options: IndexOptions,
    ) -> Result<Self, SearchError> {
        let dir = dir.into();
        let generation = snapshots.pull(&dir, None).await?;
        let open_dir = dir.clone();
        let search =
            tokio::task::spawn_blocking(move || TantivySearch::open_with(&open_dir, options))
                .await
                .map_err(backend)??;
        Ok(Self {
            snapshots,
            dir,
            search,
            generation: tokio::sync::Mutex::new(generation),
        })
    }

    /// The local index (bulk loads with `upsert_blocking`, `compact`; follow
    /// them with [`SnapshotWriter::publish`]).
    pub fn index(&self) -> &TantivySearch {
        &self.search
    }

    /// The generation last pulled or published (`None`: nothing yet).
    pub async fn generation(&self) -> Option<String> {
        self.generation.lock().await.clone()
    }

    /// Publishes the current commit.
    pub async fn publish(&self) -> Result<String, SearchError> {
        let mut generation = self.generation.lock().await;
        let g = self.snapshots.publish(&self.dir).await?;
        *generation = Some(g.clone());
        Ok(g)
    }
}

#[async_trait::async_trait]
impl CreatorSearch for SnapshotWriter {
    async fn upsert(&self, docs: Vec<CreatorDoc>) -> Result<(), SearchError> {
        let mut generation = self.generation.lock().await;
        self.search.upsert(docs).await?;
        *generation = Some(self.snapshots.publish(&self.dir).await?);
        Ok(())
    }

    async fn remove(&self, creator_id: &str) -> Result<(), SearchError> {
        let mut generation = self.generation.lock().await;
        self.search.remove(creator_id).await?;
        *generation = Some(self.snapshots.publish(&self.dir).await?);
        Ok(())
    }

    async fn search(&self, q: &SearchQuery) -> Result<SearchPage, SearchError> {
        self.search.search(q).await
    }
}
