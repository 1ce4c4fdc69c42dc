//! `--only search`: creator search over synthetic profiles with the embedded
//! tantivy adapter. The generator and measurement live in `nexus_search::bench`
//! (also runnable alone: `cargo run --release -p nexus-search --features bench
//! --example bench_search -- --docs N`).

use nexus_search::bench::{print, run as measure, Options};

pub async fn run(docs: usize, queries: usize) -> Result<(), Box<dyn std::error::Error>> {
    let opts = Options {
        docs,
        queries,
        ..Options::default()
    };
    // Indexing and queries are blocking, CPU-bound work.
    let report = tokio::task::spawn_blocking(move || measure(&opts))
        .await?
        .map_err(|e| e.to_string())?;
    print(&report);
    Ok(())
}
