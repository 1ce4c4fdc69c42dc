//! `cargo run --release -p nexus-search --features bench --example bench_search -- --docs 1000000`
//!
//! Same measurement as `make bench ARGS="--only search"`, without building the
//! rest of the workspace. Flags: `--docs N` (1 000 000), `--queries N` (1000),
//! `--seed N` (42), `--dir PATH` (kept; default: a temporary directory).

use nexus_search::bench::{print, run, Options};

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let mut opts = Options::default();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--docs" => opts.docs = value()?.replace('_', "").parse()?,
            "--queries" => opts.queries = value()?.replace('_', "").parse()?,
            "--seed" => opts.seed = value()?.parse()?,
            "--dir" => opts.dir = Some(value()?.into()),
            other => return Err(format!("unknown flag {other}").into()),
        }
    }
    let report = run(&opts)?;
    print(&report);
    Ok(())
}
