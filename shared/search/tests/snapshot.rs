//! The S3 snapshot scheme against a real S3-protocol server in-process
//! (`s3s-fs`, as the local platform runs it): one writer publishes, readers
//! in other directories pull.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use hyper_util::rt::TokioIo;
use nexus_search::snapshot::{Clock, S3Snapshots, SnapshotReader, SnapshotWriter};
use nexus_search::{
    Audience, CreatorDoc, CreatorSearch, IndexOptions, PlatformStats, SearchError, SearchQuery,
};

const ACCESS: &str = "AKIDSNAPSHOT";
const SECRET: &str = "SECRETSNAPSHOT";
const BUCKET: &str = "nexus-test-search";
const PREFIX: &str = "search/creators/";

/// A directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(label: &str) -> Self {
        let p = std::env::temp_dir().join(format!("nexus-snapshot-{label}-{}", ulid::Ulid::new()));
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }
    fn path(&self) -> &Path {
        &self.0
    }
    fn join(&self, p: &str) -> PathBuf {
        self.0.join(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `METHOD /path` of every request the server received.
type RequestLog = Arc<Mutex<Vec<String>>>;

#[derive(Clone)]
struct Logged {
    inner: s3s::service::S3Service,
    log: RequestLog,
}

impl hyper::service::Service<http::Request<hyper::body::Incoming>> for Logged {
    type Response = <s3s::service::S3Service as hyper::service::Service<
        http::Request<hyper::body::Incoming>,
    >>::Response;
    type Error = <s3s::service::S3Service as hyper::service::Service<
        http::Request<hyper::body::Incoming>,
    >>::Error;
    type Future = <s3s::service::S3Service as hyper::service::Service<
        http::Request<hyper::body::Incoming>,
    >>::Future;

    fn call(&self, req: http::Request<hyper::body::Incoming>) -> Self::Future {
        self.log
            .lock()
            .unwrap()
            .push(format!("{} {}", req.method(), req.uri().path()));
        hyper::service::Service::call(&self.inner, req)
    }
}

struct S3 {
    client: aws_sdk_s3::Client,
    log: RequestLog,
    _root: TempDir,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for S3 {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl S3 {
    async fn start() -> Self {
        let root = TempDir::new("s3");
        std::fs::create_dir_all(root.join(BUCKET)).unwrap();
        let fs = s3s_fs::FileSystem::new(root.path()).expect("s3s-fs root");
        let mut b = s3s::service::S3ServiceBuilder::new(fs);
        b.set_auth(s3s::auth::SimpleAuth::from_single(ACCESS, SECRET));
        let log = RequestLog::default();
        let svc = Logged {
            inner: b.build(),
            log: log.clone(),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    continue;
                };
                let svc = svc.clone();
                tokio::spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(sock), svc)
                        .await;
                });
            }
        });
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .credentials_provider(Credentials::new(ACCESS, SECRET, None, None, "test"))
            .region(Region::new("us-east-1"))
            .endpoint_url(format!("http://{addr}"))
            .force_path_style(true)
            .build();
        Self {
            client: aws_sdk_s3::Client::from_conf(config),
            log,
            _root: root,
            server,
        }
    }

    fn snapshots(&self) -> S3Snapshots {
        S3Snapshots::new(self.client.clone(), BUCKET, PREFIX)
    }

    fn take_log(&self) -> Vec<String> {
        std::mem::take(&mut *self.log.lock().unwrap())
    }
}

/// A clock the test moves by hand.
struct ManualClock {
    base: Instant,
    offset: Mutex<Duration>,
}

impl ManualClock {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            base: Instant::now(),
            offset: Mutex::new(Duration::ZERO),
        })
    }
    fn advance(&self, by: Duration) {
        *self.offset.lock().unwrap() += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        self.base + *self.offset.lock().unwrap()
    }
}

fn options() -> IndexOptions {
    IndexOptions {
        writer_threads: 1,
        heap_bytes: 32 * 1024 * 1024,
        search_threads: 1,
    }
}

fn creator(id: &str, bio: &str) -> CreatorDoc {
    CreatorDoc {
        creator_id: id.into(),
        handle: format!("handle_{id}"),
        display_name: "Someone".into(),
        bio: bio.into(),
        niches: vec!["lifestyle".into()],
        content_styles: vec!["vlog".into()],
        languages: vec!["en".into()],
        country: Some("US".into()),
        city: None,
        platforms: vec![PlatformStats {
            platform: "instagram".into(),
            followers: 1_000,
            avg_views: 100,
            engagement_rate: 0.02,
        }],
        audience: Audience::default(),
        rates: vec![],
        verified: false,
        reputation: 50.0,
        updated_at: 1_700_000_000,
    }
}

fn all() -> SearchQuery {
    SearchQuery {
        limit: 100,
        ..SearchQuery::default()
    }
}

fn text(t: &str) -> SearchQuery {
    SearchQuery {
        text: Some(t.into()),
        ..all()
    }
}

async fn ids(s: &dyn CreatorSearch, q: SearchQuery) -> Vec<String> {
    let mut v: Vec<String> = s
        .search(&q)
        .await
        .unwrap()
        .hits
        .into_iter()
        .map(|h| h.creator_id)
        .collect();
    v.sort();
    v
}

fn reader(s3: &S3, dir: &TempDir, clock: Arc<ManualClock>) -> SnapshotReader {
    SnapshotReader::new(s3.snapshots(), dir.path())
        .refresh_interval(Duration::from_secs(30))
        .clock(clock)
        .index_options(options())
}

#[tokio::test]
async fn reader_in_another_dir_finds_what_the_writer_published() {
    let s3 = S3::start().await;
    let (wdir, rdir) = (TempDir::new("w"), TempDir::new("r"));
    let writer = SnapshotWriter::open(s3.snapshots(), wdir.path(), options())
        .await
        .unwrap();
    assert_eq!(writer.generation().await, None);
    writer
        .upsert(vec![
            creator("usr_a", "baking sourdough"),
            creator("usr_b", "trail running"),
        ])
        .await
        .unwrap();
    let published = writer.generation().await.expect("published");

    let r = reader(&s3, &rdir, ManualClock::new());
    assert_eq!(ids(&r, all()).await, ["usr_a", "usr_b"]);
    assert_eq!(ids(&r, text("sourdough")).await, ["usr_a"]);
    assert_eq!(r.generation().await.as_deref(), Some(published.as_str()));

    // The manifest names per-generation mutable files and shared immutable ones.
    let manifest = s3.snapshots().manifest().await.unwrap().unwrap();
    assert_eq!(manifest.generation, published);
    for f in &manifest.files {
        if f.name == "meta.json" || f.name == ".managed.json" {
            assert_eq!(f.key, format!("{PREFIX}gen/{published}/{}", f.name));
        } else {
            assert_eq!(f.key, format!("{PREFIX}files/{}", f.name));
        }
        assert!(!f.name.ends_with(".lock"), "{}", f.name);
        let local = std::fs::metadata(rdir.join(&f.name)).unwrap();
        assert_eq!(local.len(), f.size, "{}", f.name);
    }
    assert!(manifest.files.iter().any(|f| f.name == "meta.json"));
}

#[tokio::test]
async fn reader_sees_updates_and_removals_after_its_refresh_interval_not_before() {
    let s3 = S3::start().await;
    let (wdir, rdir) = (TempDir::new("w"), TempDir::new("r"));
    let writer = SnapshotWriter::open(s3.snapshots(), wdir.path(), options())
        .await
        .unwrap();
    writer
        .upsert(vec![
            creator("usr_a", "baking sourdough"),
            creator("usr_b", "trail running"),
            creator("usr_c", "street photography"),
        ])
        .await
        .unwrap();
    let clock = ManualClock::new();
    let r = reader(&s3, &rdir, clock.clone());
    assert_eq!(ids(&r, all()).await, ["usr_a", "usr_b", "usr_c"]);

    writer
        .upsert(vec![creator("usr_a", "ceramics and pottery")])
        .await
        .unwrap();
    writer.remove("usr_b").await.unwrap();

    clock.advance(Duration::from_secs(29));
    assert_eq!(ids(&r, all()).await, ["usr_a", "usr_b", "usr_c"]);
    assert_eq!(ids(&r, text("sourdough")).await, ["usr_a"]);
    assert!(ids(&r, text("pottery")).await.is_empty());

    clock.advance(Duration::from_secs(1));
    assert_eq!(ids(&r, all()).await, ["usr_a", "usr_c"]);
    assert!(ids(&r, text("sourdough")).await.is_empty());
    assert_eq!(ids(&r, text("pottery")).await, ["usr_a"]);
    assert_eq!(r.generation().await, writer.generation().await);

    // Local files the new manifest no longer lists are gone.
    let manifest = s3.snapshots().manifest().await.unwrap().unwrap();
    let listed: Vec<&str> = manifest.files.iter().map(|f| f.name.as_str()).collect();
    for entry in std::fs::read_dir(rdir.path()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        assert!(
            listed.contains(&name.as_str()) || name.ends_with(".lock"),
            "stale local file {name}"
        );
    }
}

#[tokio::test]
async fn a_new_writer_in_a_fresh_dir_continues_from_the_snapshot() {
    let s3 = S3::start().await;
    let first_dir = TempDir::new("w1");
    let first = SnapshotWriter::open(s3.snapshots(), first_dir.path(), options())
        .await
        .unwrap();
    first
        .upsert(vec![
            creator("usr_a", "baking sourdough"),
            creator("usr_b", "trail running"),
        ])
        .await
        .unwrap();
    let g1 = first.generation().await.unwrap();
    let m1 = s3.snapshots().manifest().await.unwrap().unwrap();
    assert_eq!(m1.generation, g1);
    drop(first);

    // Cold start: another /tmp.
    let second_dir = TempDir::new("w2");
    let second = SnapshotWriter::open(s3.snapshots(), second_dir.path(), options())
        .await
        .unwrap();
    assert_eq!(second.generation().await.as_deref(), Some(g1.as_str()));
    assert_eq!(ids(&second, all()).await, ["usr_a", "usr_b"]);
    s3.take_log();
    second
        .upsert(vec![creator("usr_c", "street photography")])
        .await
        .unwrap();
    let g2 = second.generation().await.unwrap();
    assert!(g2 > g1, "generations are ordered: {g1} then {g2}");

    // Only the new segment and the per-generation files were uploaded.
    let puts: Vec<String> = s3
        .take_log()
        .into_iter()
        .filter(|r| r.starts_with("PUT "))
        .collect();
    for p in &puts {
        assert!(
            !m1.files.iter().any(|f| p.ends_with(&format!("/{}", f.key))),
            "re-uploaded {p}"
        );
    }
    assert!(puts.iter().any(|p| p.ends_with("/manifest.json")));
    assert!(puts.last().unwrap().ends_with("/manifest.json"), "{puts:?}");

    let r = reader(&s3, &TempDir::new("r"), ManualClock::new());
    assert_eq!(ids(&r, all()).await, ["usr_a", "usr_b", "usr_c"]);
}

#[tokio::test]
async fn reader_without_a_snapshot_returns_an_empty_page_and_is_read_only() {
    let s3 = S3::start().await;
    let rdir = TempDir::new("r");
    let r = reader(&s3, &rdir, ManualClock::new());
    let page = r.search(&all()).await.unwrap();
    assert!(page.hits.is_empty());
    assert_eq!(page.total, 0);
    assert_eq!(page.next_cursor, None);
    assert_eq!(r.generation().await, None);
    assert_eq!(s3.snapshots().pull(rdir.path(), None).await.unwrap(), None);

    assert!(matches!(
        r.upsert(vec![creator("usr_a", "x")]).await,
        Err(SearchError::Backend(_))
    ));
    assert!(matches!(
        r.remove("usr_a").await,
        Err(SearchError::Backend(_))
    ));
    // Query validation still applies.
    let bad = SearchQuery { limit: 0, ..all() };
    assert!(matches!(
        r.search(&bad).await,
        Err(SearchError::InvalidQuery { .. })
    ));
}

#[tokio::test]
async fn unchanged_generation_downloads_nothing() {
    let s3 = S3::start().await;
    let (wdir, rdir) = (TempDir::new("w"), TempDir::new("r"));
    let writer = SnapshotWriter::open(s3.snapshots(), wdir.path(), options())
        .await
        .unwrap();
    writer
        .upsert(vec![creator("usr_a", "baking sourdough")])
        .await
        .unwrap();
    let clock = ManualClock::new();
    let r = reader(&s3, &rdir, clock.clone());
    assert_eq!(ids(&r, all()).await, ["usr_a"]);
    let first_pull = s3.take_log();
    assert!(first_pull.len() > 2, "{first_pull:?}");

    // Within the interval: no request at all.
    clock.advance(Duration::from_secs(10));
    assert_eq!(ids(&r, all()).await, ["usr_a"]);
    assert_eq!(s3.take_log(), Vec::<String>::new());

    // After it: the manifest only.
    clock.advance(Duration::from_secs(30));
    assert_eq!(ids(&r, all()).await, ["usr_a"]);
    assert_eq!(
        s3.take_log(),
        [format!("GET /{BUCKET}/{PREFIX}manifest.json")]
    );

    // `pull` with the known generation: same.
    let g = r.generation().await.unwrap();
    assert_eq!(
        s3.snapshots().pull(rdir.path(), Some(&g)).await.unwrap(),
        None
    );
    assert_eq!(s3.take_log().len(), 1);

    // Unknown generation, files present locally: only mutable files travel.
    let meta_mtime = std::fs::metadata(rdir.join("meta.json"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(
        s3.snapshots().pull(rdir.path(), None).await.unwrap(),
        Some(g.clone())
    );
    let gets = s3.take_log();
    assert!(
        gets.iter()
            .all(|r| r.ends_with("manifest.json") || r.contains(&format!("/gen/{g}/"))),
        "{gets:?}"
    );
    assert!(
        std::fs::metadata(rdir.join("meta.json"))
            .unwrap()
            .modified()
            .unwrap()
            >= meta_mtime
    );
}
