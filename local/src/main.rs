//! `make dev`: run the NEXUS topology on this machine until Ctrl-C.

use std::process::ExitCode;

use clap::Parser;
use nexus_local::config::Cli;
use nexus_local::LocalPlatform;
use tracing_subscriber::EnvFilter;

/// `info` for our crates (the nexus_* libraries and every registered
/// function), `warn` for everything else; `RUST_LOG` overrides.
fn log_filter() -> EnvFilter {
    if let Ok(f) = EnvFilter::try_from_default_env() {
        return f;
    }
    let ours = [
        "nexus_local",
        "nexus_core",
        "nexus_store",
        "nexus_http",
        "nexus_ports",
        "nexus_auth",
        "nexus_devenv",
        "nexus_wiring",
    ]
    .into_iter()
    .map(str::to_owned)
    .chain(
        nexus_local::registered_functions()
            .into_iter()
            .map(|f| f.replace('-', "_")),
    );
    let directives: Vec<String> = std::iter::once("warn".to_owned())
        .chain(ours.map(|c| format!("{c}=info")))
        .collect();
    EnvFilter::new(directives.join(","))
}

async fn stop_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    tracing_subscriber::fmt()
        .with_env_filter(log_filter())
        .with_ansi(ansi)
        .init();
    let opts = Cli::parse().into_options();
    let local = match LocalPlatform::start(opts).await {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(e.exit_code());
        }
    };
    println!("{}", local.banner());
    stop_signal().await;
    println!("stopping…");
    local.stop().await;
    ExitCode::SUCCESS
}
