//! `make bench`: prints the figures the foundation is judged by.
//!
//! 1. Release binary size of every function in template.yaml (host build,
//!    stripped; plus the arm64 `bootstrap` from `make build` when present).
//! 2. Cold init: process start → first `GET /runtime/invocation/next` against
//!    a small local Lambda Runtime API, with the environment template.yaml
//!    gives the function (the function's init includes loading AWS config
//!    and, for the authorizer, fetching its key from a local Secrets Manager
//!    stand-in; the search indexer looks for a snapshot in an S3 stand-in).
//! 3. Latency (p50/p99) and requests/s through the local gateway for
//!    `GET /health` and a store round-trip (`POST /v1/orgs` + `GET /v1/orgs/{id}`).
//! 4. Creator search: bulk indexing time, index size and query latency
//!    (p50/p95/p99) over synthetic profiles (`--search-docs`, default 1M).
//!
//! Figures only; nothing here asserts a time.

mod coldstart;
mod load;
mod search;

use clap::Parser;

#[derive(Parser, Debug)]
#[command(about = "NEXUS benchmarks: binary sizes, cold init, gateway latency, creator search")]
struct Args {
    /// Cold starts per function.
    #[arg(long, default_value_t = 15)]
    cold_runs: usize,
    /// Requests per load scenario.
    #[arg(long, default_value_t = 2000)]
    requests: usize,
    /// Concurrent clients in the load scenarios.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Skip building release binaries (use what's in target/release).
    #[arg(long)]
    no_build: bool,
    /// Synthetic creator profiles in the search section.
    #[arg(long, default_value_t = 1_000_000)]
    search_docs: usize,
    /// Queries in the search section.
    #[arg(long, default_value_t = 1000)]
    search_queries: usize,
    /// Only these sections: sizes, cold, load, search (comma-separated).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
}

pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (p / 100.0 * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let want = |s: &str| args.only.is_empty() || args.only.iter().any(|o| o == s);
    if args.only.len() == 1 && want("search") {
        // Needs neither the template nor release function binaries.
        return search::run(args.search_docs, args.search_queries).await;
    }
    let root = nexus_devenv::repo_root();
    let template = nexus_devenv::load_template()?;
    let functions: Vec<String> = template.functions().into_iter().map(|f| f.name).collect();

    if want("sizes") || want("cold") {
        if !args.no_build {
            eprintln!(
                "building release binaries for {} functions…",
                functions.len()
            );
            let mut cmd = std::process::Command::new("cargo");
            cmd.current_dir(&root)
                .args(["build", "--release", "--bins"]);
            for f in &functions {
                cmd.args(["-p", f]);
            }
            let status = cmd.status()?;
            if !status.success() {
                return Err("cargo build --release failed".into());
            }
        }
        println!("\n## Function binaries (release, stripped)\n");
        println!("| function | host x86_64 | arm64 bootstrap (make build) |");
        println!("|---|---:|---:|");
        for f in template.functions() {
            let host = std::fs::metadata(root.join("target/release").join(&f.name))
                .map(|m| m.len())
                .ok();
            let arm = std::fs::metadata(
                root.join(".aws-sam/build")
                    .join(&f.logical_id)
                    .join("bootstrap"),
            )
            .map(|m| m.len())
            .ok();
            let mb = |b: Option<u64>| {
                b.map(|b| format!("{:.1} MB", b as f64 / 1_048_576.0))
                    .unwrap_or_else(|| "—".into())
            };
            println!("| {} | {} | {} |", f.name, mb(host), mb(arm));
        }
    }
    if want("cold") {
        println!(
            "\n## Cold init (process start → first Runtime API poll), {} runs each\n",
            args.cold_runs
        );
        println!("| function | p50 | p99 | max |");
        println!("|---|---:|---:|---:|");
        for def in template.functions() {
            let f = &def.name;
            let bin = root.join("target/release").join(f);
            let env = coldstart::template_env(&template, &def.logical_id);
            match coldstart::measure(&bin, &env, args.cold_runs).await {
                Ok(mut ms) => {
                    ms.sort_by(|a, b| a.total_cmp(b));
                    println!(
                        "| {f} | {:.1} ms | {:.1} ms | {:.1} ms |",
                        percentile(&ms, 50.0),
                        percentile(&ms, 99.0),
                        ms.last().copied().unwrap_or(f64::NAN)
                    );
                }
                Err(e) => println!("| {f} | failed: {e} | | |"),
            }
        }
    }
    if want("load") {
        load::run(args.requests, args.concurrency).await?;
    }
    if want("search") {
        search::run(args.search_docs, args.search_queries).await?;
    }
    Ok(())
}
