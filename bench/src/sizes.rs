//! `--only sizes`: every function built alone, the way `sam build` builds it
//! (`cargo lambda build` in the function's directory), so that cargo resolves
//! features for that function's dependency graph only. A build of all
//! functions in one cargo invocation would unify features across them and
//! hide what each function really links.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use nexus_wiring::template::Function;

/// Size targets of issue #11: functions whose only AWS client is DynamoDB,
/// and every other function (stripped release binary).
const DYNAMODB_ONLY_TARGET_MB: f64 = 6.0;
const TARGET_MB: f64 = 8.0;

/// AWS SDK crates that `aws-config` brings for its credential providers,
/// not clients a function calls.
const CONFIG_INTERNAL: &[&str] = &["aws-sdk-sts", "aws-sdk-sso", "aws-sdk-ssooidc"];

/// Cargo's target directory (the workspace may share one across checkouts).
pub fn target_dir(root: &Path) -> PathBuf {
    let out = Command::new("cargo")
        .current_dir(root)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .output();
    out.ok()
        .and_then(|o| serde_json::from_slice::<serde_json::Value>(&o.stdout).ok())
        .and_then(|m| m["target_directory"].as_str().map(PathBuf::from))
        .unwrap_or_else(|| root.join("target"))
}

/// Builds each function alone with `profile` and copies its binary to `bins`
/// (so a later build of another function, or of the workspace, can't change
/// what is measured).
pub fn build_each(
    root: &Path,
    bins: &Path,
    profile: &str,
    functions: &[String],
) -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all(bins)?;
    let out_dir = target_dir(root).join(if profile == "dev" { "debug" } else { profile });
    eprintln!(
        "building {} functions one at a time (profile {profile})…",
        functions.len()
    );
    let mut times = vec![];
    for f in functions {
        let started = Instant::now();
        let status = Command::new("cargo")
            .current_dir(root)
            .args(["build", "--profile", profile, "-p", f, "--bin", f])
            .status()?;
        if !status.success() {
            return Err(format!("cargo build --profile {profile} -p {f} failed").into());
        }
        let secs = started.elapsed().as_secs_f64();
        eprintln!("built {f} in {secs:.0} s");
        times.push((f.clone(), secs));
        std::fs::copy(out_dir.join(f), bins.join(f))?;
    }
    let total: f64 = times.iter().map(|(_, s)| s).sum();
    std::fs::write(
        bins.join("build-times.tsv"),
        times
            .iter()
            .map(|(f, s)| format!("{f}\t{s:.1}\n"))
            .collect::<String>(),
    )?;
    eprintln!("built all functions one at a time in {total:.0} s");
    Ok(())
}

/// The AWS SDK clients (and the search engine) in `function`'s dependency
/// graph, as cargo resolves it when building that function alone.
pub fn linked_clients(root: &Path, function: &str) -> Vec<String> {
    let out = Command::new("cargo")
        .current_dir(root)
        .args([
            "tree", "-p", function, "-e", "normal", "--prefix", "none", "-f", "{p}",
        ])
        .output();
    let Ok(out) = out else { return vec![] };
    let mut names: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| (n.starts_with("aws-sdk-") && !CONFIG_INTERNAL.contains(n)) || *n == "tantivy")
        .map(|n| n.trim_start_matches("aws-sdk-").to_owned())
        .collect();
    names.sort();
    names.dedup();
    names
}

pub fn print(root: &Path, bins: &Path, profile: &str, functions: &[Function]) {
    let times: std::collections::HashMap<String, String> =
        std::fs::read_to_string(bins.join("build-times.tsv"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split_once('\t'))
            .map(|(f, s)| (f.to_owned(), s.to_owned()))
            .collect();
    println!("\n## Function binaries (profile {profile}, stripped, each built alone)\n");
    println!(
        "| function | links | host x86_64 | target | build s (incremental) | arm64 bootstrap (make build) |"
    );
    println!("|---|---|---:|---:|---:|---:|");
    let mb = |b: Option<u64>| {
        b.map(|b| format!("{:.1} MB", b as f64 / 1_048_576.0))
            .unwrap_or_else(|| "—".into())
    };
    for f in functions {
        let host = std::fs::metadata(bins.join(&f.name)).map(|m| m.len()).ok();
        let arm = std::fs::metadata(
            root.join(".aws-sam/build")
                .join(&f.logical_id)
                .join("bootstrap"),
        )
        .map(|m| m.len())
        .ok();
        let links = linked_clients(root, &f.name);
        let target = if links.iter().all(|l| l == "dynamodb") {
            DYNAMODB_ONLY_TARGET_MB
        } else {
            TARGET_MB
        };
        let verdict = match host {
            Some(b) if b as f64 / 1_048_576.0 <= target => "ok",
            Some(_) => "OVER",
            None => "",
        };
        println!(
            "| {} | {} | {} | ≤ {target:.0} MB {verdict} | {} | {} |",
            f.name,
            if links.is_empty() {
                "—".into()
            } else {
                links.join(", ")
            },
            mb(host),
            times.get(&f.name).map(String::as_str).unwrap_or("—"),
            mb(arm)
        );
    }
}
