//! `make bench`: prints the figures the foundation is judged by.
//!
//! 1. Release binary size of every function in template.yaml, each built
//!    alone as `sam build` builds it (host build, stripped; plus the arm64
//!    `bootstrap` from `make build` when present), and the AWS SDK clients
//!    it links.
//! 2. Cold init: process start → first `GET /runtime/invocation/next` against
//!    a small local Lambda Runtime API, with the environment template.yaml
//!    gives the function (the function's init includes loading AWS config
//!    and, for the authorizer, fetching its key from a local Secrets Manager
//!    stand-in; the search indexer looks for a snapshot in an S3 stand-in).
//! 3. Warm handler latency of the real binaries (`--only warm`): the same
//!    sample event over and over through a local Runtime API, AWS calls to
//!    DynamoDB Local and stand-ins; compares build profiles (`--profile`).
//! 4. Latency (p50/p99) and requests/s through the local gateway for
//!    `GET /health` and a store round-trip (`POST /v1/orgs` + `GET /v1/orgs/{id}`).
//! 5. Creator search: bulk indexing time, index size and query latency
//!    (p50/p95/p99) over synthetic profiles (`--search-docs`, default 1M).
//! 6. The Step Functions runner (`--only workflows`): executions/s and the
//!    cost of a transition for a 10-state Pass/Choice machine and a 5-task
//!    Lambda machine (interpreter alone, local runner), with the core count.
//!
//! Figures only; nothing here asserts a time.

mod coldstart;
mod load;
mod search;
mod sizes;
mod warm;
mod workflows;

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
    /// Skip building the function binaries (use those the last build left in
    /// target/nexus-bench/<profile>/).
    #[arg(long)]
    no_build: bool,
    /// Cargo profile the function binaries are built with (`release`, or a
    /// candidate such as `release-thin-o3`; see bench/README.md).
    #[arg(long, default_value = "release")]
    profile: String,
    /// Synthetic creator profiles in the search section.
    #[arg(long, default_value_t = 1_000_000)]
    search_docs: usize,
    /// Queries in the search section.
    #[arg(long, default_value_t = 1000)]
    search_queries: usize,
    /// Executions per row in the workflows section.
    #[arg(long, default_value_t = 2000)]
    workflow_executions: usize,
    /// Only these sections: sizes, cold, warm, load, search, workflows (comma-separated).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Only these functions in the sizes, cold and warm sections
    /// (comma-separated crate names; all by default).
    #[arg(long, value_delimiter = ',')]
    functions: Vec<String>,
    /// Measured warm invocations per scenario (after 20 unmeasured ones).
    #[arg(long, default_value_t = 300)]
    warm_runs: usize,
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
    if args.only.len() == 1 && want("workflows") {
        return workflows::run(args.workflow_executions).await;
    }
    let root = nexus_devenv::repo_root();
    let template = nexus_devenv::load_template()?;
    let defs: Vec<_> = template
        .functions()
        .into_iter()
        .filter(|f| args.functions.is_empty() || args.functions.contains(&f.name))
        .collect();
    let functions: Vec<String> = defs.iter().map(|f| f.name.clone()).collect();

    let bins = sizes::target_dir(&root)
        .join("nexus-bench")
        .join(&args.profile);
    if want("sizes") || want("cold") {
        if !args.no_build {
            sizes::build_each(&root, &bins, &args.profile, &functions)?;
        }
        sizes::print(&root, &bins, &args.profile, &defs);
    }
    if want("cold") {
        println!(
            "\n## Cold init (process start → first Runtime API poll), {} runs each\n",
            args.cold_runs
        );
        println!("| function | p50 | p99 | max |");
        println!("|---|---:|---:|---:|");
        for def in &defs {
            let f = &def.name;
            let bin = bins.join(f);
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
    if want("warm") {
        println!(
            "\n## Warm handler latency (profile {}, event handed out → response posted), {} runs each\n",
            args.profile, args.warm_runs
        );
        println!("| scenario | function | p50 | p99 | mean |");
        println!("|---|---|---:|---:|---:|");
        let dynamodb = nexus_devenv::dynamodb_local::shared_endpoint().await;
        let issuer = template
            .parameter_default("JwtIssuer")
            .unwrap_or_else(|| "https://api.nexus.local".into());
        for s in warm::scenarios(&root, &issuer)? {
            let Some(def) = defs.iter().find(|d| d.name == s.function) else {
                continue;
            };
            let env = coldstart::template_env(&template, &def.logical_id);
            if let Some((_, table)) = env.iter().find(|(k, _)| k == "TABLE_NAME") {
                warm::table(&dynamodb, table).await?;
            }
            let bin = bins.join(s.function);
            match warm::measure(&bin, &env, &dynamodb, &s.event, 20, args.warm_runs).await {
                Ok(mut ms) => {
                    ms.sort_by(|a, b| a.total_cmp(b));
                    println!(
                        "| {} | {} | {:.2} ms | {:.2} ms | {:.2} ms |",
                        s.what,
                        s.function,
                        percentile(&ms, 50.0),
                        percentile(&ms, 99.0),
                        ms.iter().sum::<f64>() / ms.len().max(1) as f64
                    );
                }
                Err(e) => println!("| {} | {} | failed: {e} | | |", s.what, s.function),
            }
        }
    }
    if want("load") {
        load::run(args.requests, args.concurrency).await?;
    }
    if want("search") {
        search::run(args.search_docs, args.search_queries).await?;
    }
    if want("workflows") {
        workflows::run(args.workflow_executions).await?;
    }
    Ok(())
}
