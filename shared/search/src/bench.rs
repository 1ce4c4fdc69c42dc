//! Synthetic creator profiles and query-latency measurement (feature `bench`),
//! shared by `examples/bench_search.rs` and `nexus-bench --only search`.
//!
//! Everything is seeded: the same `(docs, seed)` gives the same profiles and
//! the same queries. Figures only; nothing here asserts a time.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::{
    Audience, CreatorDoc, PlatformStats, RateDoc, SearchQuery, Sort, TantivySearch, AGE_BANDS,
    GENDERS, PLATFORMS,
};

pub const NICHES: [&str; 30] = [
    "beauty",
    "fashion",
    "fitness",
    "food",
    "travel",
    "gaming",
    "tech",
    "finance",
    "parenting",
    "pets",
    "music",
    "comedy",
    "education",
    "sports",
    "diy",
    "home",
    "cars",
    "health",
    "wellness",
    "photography",
    "art",
    "books",
    "movies",
    "outdoors",
    "skincare",
    "crypto",
    "business",
    "dance",
    "sustainability",
    "lifestyle",
];

/// (country, weight, currency, language)
pub const COUNTRIES: [(&str, u32, &str, &str); 20] = [
    ("US", 30, "USD", "en"),
    ("GB", 8, "GBP", "en"),
    ("BR", 7, "BRL", "pt"),
    ("IN", 7, "INR", "hi"),
    ("DE", 5, "EUR", "de"),
    ("FR", 5, "EUR", "fr"),
    ("MX", 4, "MXN", "es"),
    ("ES", 4, "EUR", "es"),
    ("CA", 4, "CAD", "en"),
    ("AU", 3, "AUD", "en"),
    ("IT", 3, "EUR", "it"),
    ("ID", 3, "IDR", "id"),
    ("JP", 3, "JPY", "ja"),
    ("PH", 3, "PHP", "en"),
    ("NG", 2, "NGN", "en"),
    ("TR", 2, "TRY", "tr"),
    ("NL", 2, "EUR", "nl"),
    ("KR", 2, "KRW", "ko"),
    ("ZA", 2, "ZAR", "en"),
    ("AR", 1, "ARS", "es"),
];

const STYLES: [&str; 10] = [
    "tutorial",
    "unboxing",
    "review",
    "vlog",
    "haul",
    "challenge",
    "asmr",
    "interview",
    "live",
    "shorts",
];
const WORDS: [&str; 24] = [
    "daily", "real", "the", "its", "just", "hey", "with", "by", "mini", "big", "urban", "wild",
    "happy", "simply", "pro", "club", "studio", "world", "life", "cozy", "bold", "fresh", "true",
    "nova",
];
const FIRST: [&str; 16] = [
    "Ana", "Ben", "Chloe", "Diego", "Emma", "Farah", "Gabe", "Hana", "Ivan", "Jade", "Kofi",
    "Lena", "Mateo", "Nina", "Omar", "Priya",
];
const LAST: [&str; 12] = [
    "Silva", "Smith", "Kim", "Garcia", "Müller", "Rossi", "Tanaka", "Patel", "Okafor", "Dubois",
    "Nguyen", "Cohen",
];
const FILLER: [&str; 20] = [
    "sharing",
    "honest",
    "tips",
    "every",
    "week",
    "collabs",
    "welcome",
    "brands",
    "stories",
    "love",
    "helping",
    "people",
    "create",
    "better",
    "routines",
    "favourite",
    "finds",
    "behind",
    "scenes",
    "community",
];

fn normal(rng: &mut StdRng) -> f64 {
    // Box–Muller.
    let u1: f64 = rng.random_range(f64::EPSILON..1.0);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

fn pick<'a, T>(rng: &mut StdRng, xs: &'a [T]) -> &'a T {
    &xs[rng.random_range(0..xs.len())]
}

/// Niche index with a skewed (roughly Zipf) popularity.
fn niche(rng: &mut StdRng) -> &'static str {
    let u: f64 = rng.random();
    NICHES[((u * u) * NICHES.len() as f64) as usize % NICHES.len()]
}

fn country(rng: &mut StdRng) -> usize {
    let total: u32 = COUNTRIES.iter().map(|c| c.1).sum();
    let mut x = rng.random_range(0..total);
    for (i, c) in COUNTRIES.iter().enumerate() {
        if x < c.1 {
            return i;
        }
        x -= c.1;
    }
    0
}

/// Random split of 1.0 over `n` parts, rounded to basis points.
fn split(rng: &mut StdRng, n: usize) -> Vec<f64> {
    let raw: Vec<f64> = (0..n)
        .map(|_| -rng.random_range(f64::EPSILON..1.0f64).ln())
        .collect();
    let sum: f64 = raw.iter().sum();
    raw.into_iter()
        .map(|r| (r / sum * 10_000.0).round() / 10_000.0)
        .collect()
}

/// The `i`-th synthetic profile stream: deterministic for a seed.
pub fn profiles(n: usize, seed: u64) -> impl Iterator<Item = CreatorDoc> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n).map(move |i| profile(&mut rng, i))
}

fn profile(rng: &mut StdRng, i: usize) -> CreatorDoc {
    let home = country(rng);
    let (cc, _, currency, lang) = COUNTRIES[home];
    let n_niches = rng.random_range(1..=3);
    let mut niches: Vec<String> = (0..n_niches).map(|_| niche(rng).to_string()).collect();
    niches.dedup();
    let main = niches[0].clone();

    // Followers: log-normal, median ≈ 6k, long tail into the millions.
    let base = (8.7 + 1.9 * normal(rng)).exp();
    let n_platforms = rng.random_range(1..=4);
    let mut platforms: Vec<PlatformStats> = Vec::with_capacity(n_platforms);
    for _ in 0..n_platforms {
        let p = *pick(rng, &PLATFORMS);
        if platforms.iter().any(|s| s.platform == p) {
            continue;
        }
        let followers = (base * (0.6 * normal(rng)).exp()).clamp(50.0, 300_000_000.0) as u64;
        // Engagement falls with audience size.
        let er =
            (0.25 * (followers as f64).powf(-0.18) * (0.4 * normal(rng)).exp()).clamp(0.001, 0.5);
        platforms.push(PlatformStats {
            platform: p.to_string(),
            followers,
            avg_views: (followers as f64 * er * rng.random_range(3.0..12.0)) as u64,
            engagement_rate: (er * 10_000.0).round() / 10_000.0,
        });
    }
    let top = platforms.iter().map(|p| p.followers).max().unwrap_or(0);

    let mut countries = BTreeMap::new();
    let home_share = rng.random_range(0.3..0.85);
    countries.insert(
        cc.to_string(),
        (home_share * 10_000.0f64).round() / 10_000.0,
    );
    let others = rng.random_range(1..=4);
    for s in split(rng, others) {
        let (o, ..) = COUNTRIES[country(rng)];
        *countries.entry(o.to_string()).or_insert(0.0) +=
            ((1.0 - home_share) * s * 10_000.0).round() / 10_000.0;
    }
    let age = AGE_BANDS
        .iter()
        .zip(split(rng, AGE_BANDS.len()))
        .map(|(b, s)| (b.to_string(), s))
        .collect();
    let female = rng.random_range(0.05..0.95f64);
    let other = 0.02;
    let gender = GENDERS
        .iter()
        .zip([female * 0.98, (1.0 - female) * 0.98, other])
        .map(|(g, s)| (g.to_string(), (s * 10_000.0).round() / 10_000.0))
        .collect();

    let n_rates = rng.random_range(0..=3);
    let rates = (0..n_rates)
        .map(|_| {
            let p = pick(rng, &platforms).platform.clone();
            let cur = if rng.random_bool(0.3) {
                "USD"
            } else {
                currency
            };
            RateDoc {
                platform: p,
                deliverable: pick(rng, &["post", "story", "video", "reel"]).to_string(),
                // ~1 cent per follower, ±, floored at $20.
                amount_minor: ((top as f64 * rng.random_range(0.3..2.0)).max(2_000.0)) as i64,
                currency: cur.to_string(),
            }
        })
        .collect();

    let mut languages = vec![lang.to_string()];
    if lang != "en" && rng.random_bool(0.4) {
        languages.push("en".into());
    }
    let bio = format!(
        "{} {} {} {} {} {} {}",
        pick(rng, &FILLER),
        main,
        pick(rng, &FILLER),
        pick(rng, &FILLER),
        pick(rng, &STYLES),
        pick(rng, &FILLER),
        niche(rng),
    );
    CreatorDoc {
        creator_id: format!("usr_{i:010}"),
        handle: format!("{}{}{}", pick(rng, &WORDS), main, i % 1000),
        display_name: format!("{} {}", pick(rng, &FIRST), pick(rng, &LAST)),
        bio,
        niches,
        content_styles: vec![pick(rng, &STYLES).to_string()],
        languages,
        country: Some(cc.to_string()),
        city: None,
        platforms,
        audience: Audience {
            age,
            gender,
            countries,
        },
        rates,
        verified: rng.random_bool(0.1),
        reputation: ((60.0 + 15.0 * normal(rng)).clamp(0.0, 100.0) * 10.0).round() / 10.0,
        updated_at: 1_760_000_000 - rng.random_range(0..31_536_000),
    }
}

/// Query mix: `(kind, query)`; kinds are stable labels for the per-kind table.
pub fn queries(n: usize, seed: u64) -> Vec<(&'static str, SearchQuery)> {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed);
    (0..n)
        .map(|i| {
            let cc = COUNTRIES[country(&mut rng)].0.to_string();
            let base = SearchQuery {
                limit: 20,
                ..SearchQuery::default()
            };
            match i % 10 {
                0 | 1 => (
                    "text+filters",
                    SearchQuery {
                        text: Some(format!("{} {}", niche(&mut rng), pick(&mut rng, &STYLES))),
                        country: Some(cc),
                        followers_min: Some(10_000),
                        ..base
                    },
                ),
                2 => (
                    "text only",
                    SearchQuery {
                        text: Some(format!("{} {}", pick(&mut rng, &WORDS), niche(&mut rng))),
                        ..base
                    },
                ),
                3 | 4 => (
                    "filters only",
                    SearchQuery {
                        niches: vec![niche(&mut rng).into(), niche(&mut rng).into()],
                        country: Some(cc),
                        followers_min: Some(5_000),
                        followers_max: Some(500_000),
                        engagement_min: Some(0.01),
                        ..base
                    },
                ),
                5 => (
                    "audience",
                    SearchQuery {
                        audience_country: Some((cc, 0.3)),
                        audience_age: Some((pick(&mut rng, &AGE_BANDS).to_string(), 0.2)),
                        audience_gender: Some(("female".into(), 0.6)),
                        sort: Sort::FollowersDesc,
                        ..base
                    },
                ),
                6 => (
                    "rate range",
                    SearchQuery {
                        rate_currency: Some("USD".into()),
                        rate_min: Some(10_000),
                        rate_max: Some(rng.random_range(50_000..500_000)),
                        niches: vec![niche(&mut rng).into()],
                        sort: Sort::RateAsc,
                        ..base
                    },
                ),
                7 => (
                    "platform sort",
                    SearchQuery {
                        platform: Some(pick(&mut rng, &PLATFORMS).to_string()),
                        followers_min: Some(1_000),
                        sort: *pick(&mut rng, &[Sort::FollowersDesc, Sort::EngagementDesc]),
                        ..base
                    },
                ),
                8 => (
                    "sort all",
                    SearchQuery {
                        verified: Some(rng.random_bool(0.5)),
                        sort: *pick(
                            &mut rng,
                            &[Sort::ReputationDesc, Sort::Newest, Sort::Relevance],
                        ),
                        ..base
                    },
                ),
                _ => (
                    "broad filters",
                    SearchQuery {
                        language: Some("en".into()),
                        reputation_min: Some(50.0),
                        engagement_min: Some(0.02),
                        sort: Sort::EngagementDesc,
                        ..base
                    },
                ),
            }
        })
        .collect()
}

#[derive(Debug, Clone)]
pub struct Options {
    pub docs: usize,
    pub queries: usize,
    pub seed: u64,
    /// Index directory; a fresh temporary one when `None` (removed afterwards).
    pub dir: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            docs: 1_000_000,
            queries: 1_000,
            seed: 42,
            dir: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Latency {
    pub kind: String,
    pub count: usize,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub mean_hits: f64,
    pub mean_total: f64,
}

#[derive(Debug, Clone)]
pub struct Report {
    pub docs: u64,
    pub generate: Duration,
    pub index: Duration,
    pub compact: Duration,
    pub segments_before_compact: usize,
    pub segments: usize,
    pub index_bytes: u64,
    pub open: Duration,
    pub overall: Latency,
    pub by_kind: Vec<Latency>,
    pub queries_per_sec: f64,
    pub hits_per_sec: f64,
}

pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (p / 100.0 * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn latency(kind: &str, mut ms: Vec<f64>, hits: &[usize], totals: &[u64]) -> Latency {
    ms.sort_by(f64::total_cmp);
    let n = hits.len().max(1) as f64;
    Latency {
        kind: kind.into(),
        count: ms.len(),
        p50_ms: percentile(&ms, 50.0),
        p95_ms: percentile(&ms, 95.0),
        p99_ms: percentile(&ms, 99.0),
        max_ms: ms.last().copied().unwrap_or(f64::NAN),
        mean_hits: hits.iter().sum::<usize>() as f64 / n,
        mean_total: totals.iter().sum::<u64>() as f64 / n,
    }
}

fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// Generates, bulk-indexes (one commit), compacts, reopens and queries.
/// Progress goes to stderr.
pub fn run(opts: &Options) -> Result<Report, Box<dyn std::error::Error + Send + Sync>> {
    let (dir, temporary) = match &opts.dir {
        Some(d) => (d.clone(), false),
        None => (
            std::env::temp_dir().join(format!("nexus-search-bench-{}", std::process::id())),
            true,
        ),
    };
    let _ = std::fs::remove_dir_all(&dir);

    eprintln!("generating {} profiles…", opts.docs);
    let t = Instant::now();
    let docs: Vec<CreatorDoc> = profiles(opts.docs, opts.seed).collect();
    let generate = t.elapsed();

    eprintln!("indexing into {}…", dir.display());
    let search = TantivySearch::open(&dir)?;
    let t = Instant::now();
    search.upsert_blocking(docs)?;
    let index = t.elapsed();
    let segments_before_compact = search.segment_count();
    let t = Instant::now();
    search.compact()?;
    let compact = t.elapsed();
    let segments = search.segment_count();
    let docs = search.num_docs();
    drop(search);
    let index_bytes = dir_size(&dir);

    // Reopen as a fresh process (e.g. a Lambda cold start) would.
    let t = Instant::now();
    let search = TantivySearch::open(&dir)?;
    let open = t.elapsed();

    let qs = queries(opts.queries, opts.seed);
    eprintln!("running {} queries…", qs.len());
    // kind → (latencies ms, hits, totals)
    type Samples = (Vec<f64>, Vec<usize>, Vec<u64>);
    let mut per_kind: BTreeMap<&str, Samples> = BTreeMap::new();
    let (mut all_ms, mut all_hits, mut all_totals) = (Vec::new(), Vec::new(), Vec::new());
    let wall = Instant::now();
    for (kind, q) in &qs {
        let t = Instant::now();
        let page = search.search_blocking(q)?;
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        let e = per_kind.entry(kind).or_default();
        e.0.push(ms);
        e.1.push(page.hits.len());
        e.2.push(page.total);
        all_ms.push(ms);
        all_hits.push(page.hits.len());
        all_totals.push(page.total);
        // Every fifth query also fetches its next page through the cursor.
        if let (Some(c), 0) = (page.next_cursor, all_ms.len() % 5) {
            let next = SearchQuery {
                cursor: Some(c),
                ..q.clone()
            };
            let t = Instant::now();
            let page = search.search_blocking(&next)?;
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            let e = per_kind.entry("next page (cursor)").or_default();
            e.0.push(ms);
            e.1.push(page.hits.len());
            e.2.push(page.total);
            all_ms.push(ms);
            all_hits.push(page.hits.len());
            all_totals.push(page.total);
        }
    }
    let wall = wall.elapsed().as_secs_f64();
    let report = Report {
        docs,
        generate,
        index,
        compact,
        segments_before_compact,
        segments,
        index_bytes,
        open,
        queries_per_sec: all_ms.len() as f64 / wall,
        hits_per_sec: all_hits.iter().sum::<usize>() as f64 / wall,
        overall: latency("all", all_ms, &all_hits, &all_totals),
        by_kind: per_kind
            .into_iter()
            .map(|(k, (ms, h, t))| latency(k, ms, &h, &t))
            .collect(),
    };
    drop(search);
    if temporary {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(report)
}

/// Markdown, in the style of the other `make bench` sections.
pub fn print(r: &Report) {
    println!(
        "\n## Creator search (embedded tantivy, {} profiles)\n",
        r.docs
    );
    println!("| step | figure |");
    println!("|---|---:|");
    println!("| generate profiles | {:.1} s |", r.generate.as_secs_f64());
    println!(
        "| bulk index (one commit) | {:.1} s ({:.0} docs/s) |",
        r.index.as_secs_f64(),
        r.docs as f64 / r.index.as_secs_f64()
    );
    println!(
        "| merge {} segments → {} | {:.1} s |",
        r.segments_before_compact,
        r.segments,
        r.compact.as_secs_f64()
    );
    println!(
        "| index size on disk | {:.1} MB |",
        r.index_bytes as f64 / 1_048_576.0
    );
    println!(
        "| open index (mmap) | {:.1} ms |",
        r.open.as_secs_f64() * 1000.0
    );
    println!(
        "| throughput (1 thread) | {:.0} queries/s, {:.0} hits/s |",
        r.queries_per_sec, r.hits_per_sec
    );
    println!("\n| queries | n | p50 | p95 | p99 | max | mean hits | mean total |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for l in r.by_kind.iter().chain(std::iter::once(&r.overall)) {
        println!(
            "| {} | {} | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} ms | {:.1} | {:.0} |",
            l.kind, l.count, l.p50_ms, l.p95_ms, l.p99_ms, l.max_ms, l.mean_hits, l.mean_total
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_is_deterministic_and_plausible() {
        let a: Vec<_> = profiles(200, 7).collect();
        let b: Vec<_> = profiles(200, 7).collect();
        assert_eq!(a, b);
        for d in &a {
            assert!(!d.platforms.is_empty() && !d.niches.is_empty());
            let s: f64 = d.audience.countries.values().sum();
            assert!((s - 1.0).abs() < 0.01, "{s}");
            assert!((0.0..=100.0).contains(&d.reputation));
        }
        assert_eq!(queries(50, 7), queries(50, 7));
    }
}
