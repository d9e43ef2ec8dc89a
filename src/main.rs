//! The `swivel` command: `serve` runs the DNS server, `check` validates a configuration.

use clap::{Parser, Subcommand};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use swivel::app::{self, Source};
use swivel::diag::Diagnostics;
use swivel::failover::runtime::{self as failover, Handle};
use tokio::signal::unix::{signal, SignalKind};
use tracing::{error, info, warn};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const EXAMPLES: &str = "Examples:
  swivel serve                                   run the built-in demo on 127.0.0.1:5353
  dig @127.0.0.1 -p 5353 www.example.test A      query it
  swivel check --config /etc/swivel/swivel.toml  validate a configuration and its zones
  swivel serve --config /etc/swivel/swivel.toml  serve it; `kill -HUP <pid>` reloads it";

/// An authoritative DNS server with health checks and DNS failover built in, built for speed.
#[derive(Parser)]
#[command(name = "swivel", version, propagate_version = true, after_help = EXAMPLES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the DNS server.
    ///
    /// Loads the configuration and every zone, then answers over UDP and TCP on every
    /// `server.listen` address. SIGHUP reloads the configuration and zones without dropping
    /// queries; if anything is wrong the old data keeps being served. Without --config it
    /// runs a built-in demo: zone example.test. on 127.0.0.1:5353.
    Serve {
        /// The configuration file (TOML); see docs/CONFIGURATION.md.
        #[arg(short, long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Check a configuration and every zone it names, then exit.
    ///
    /// Prints each zone with its record count and exits 0, or prints every problem with
    /// file and line to stderr and exits 1.
    Check {
        /// The configuration file (TOML) to check.
        #[arg(short, long, value_name = "FILE")]
        config: PathBuf,
    },
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Serve { config } => serve(config),
        Command::Check { config } => check(&config),
    }
}

fn check(path: &Path) -> ExitCode {
    match app::load(&Source::File(path.to_path_buf())) {
        Ok(loaded) => {
            let summary = loaded.summary();
            println!("{}: configuration OK", path.display());
            for addr in &loaded.config.server.listen {
                println!("listen {addr} (UDP and TCP)");
            }
            for zone in &summary.zones {
                println!(
                    "zone {} from {}: {} records",
                    zone.origin,
                    zone.file.display(),
                    zone.records
                );
            }
            println!("total: {summary}");
            ExitCode::SUCCESS
        }
        Err(diagnostics) => {
            for diagnostic in &diagnostics.0 {
                eprintln!("{diagnostic}");
            }
            eprintln!(
                "{}: {}; configuration refused",
                path.display(),
                count_errors(&diagnostics)
            );
            ExitCode::FAILURE
        }
    }
}

fn serve(config: Option<PathBuf>) -> ExitCode {
    init_logging();
    let source = match config {
        Some(path) => Source::File(path),
        None => {
            info!(
                "no --config given: running the built-in demo configuration (zone example.test.)"
            );
            Source::BuiltInDemo
        }
    };
    let loaded = match app::load(&source) {
        Ok(loaded) => loaded,
        Err(diagnostics) => {
            log_diagnostics(&diagnostics);
            error!("refusing to start: {}", count_errors(&diagnostics));
            return ExitCode::FAILURE;
        }
    };
    log_summary(&loaded.summary());
    let runtime = match build_runtime() {
        Ok(runtime) => runtime,
        Err(e) => {
            error!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Signal handlers go in before the sockets open: a SIGHUP that arrives once queries are
    // answered must reload, never kill the process.
    let _context = runtime.enter();
    let signals = (
        signal(SignalKind::hangup()),
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    );
    let (Ok(mut hangup), Ok(mut terminate), Ok(mut interrupt)) = signals else {
        error!("cannot install signal handlers");
        return ExitCode::FAILURE;
    };
    let config = loaded.config.clone();
    let started = match runtime.block_on(failover::start(loaded, source.clone())) {
        Ok(started) => started,
        Err(message) => {
            error!("refusing to start: {message}");
            return ExitCode::FAILURE;
        }
    };
    let server = match swivel::server::start(
        &config.server.settings(),
        started.table.clone(),
        runtime.handle(),
    ) {
        Ok(server) => server,
        Err(e) => {
            let addrs: Vec<String> = config.server.listen.iter().map(|a| a.to_string()).collect();
            error!("cannot listen on {}: {e}", addrs.join(", "));
            return ExitCode::FAILURE;
        }
    };
    for addr in &server.local_addrs {
        info!("listening on {addr} (UDP and TCP)");
    }
    if source == Source::BuiltInDemo {
        if let Some(addr) = server.local_addrs.first() {
            info!(
                "running the built-in demo; query it with: dig @{} -p {} www.example.test A",
                addr.ip(),
                addr.port()
            );
        }
    }
    info!("ready; send SIGHUP to reload the configuration and zones");
    let handle = started.handle;
    runtime.block_on(async {
        loop {
            tokio::select! {
                _ = hangup.recv() => reload(&handle).await,
                _ = terminate.recv() => break,
                _ = interrupt.recv() => break,
            }
        }
    });
    info!("shutting down");
    ExitCode::SUCCESS
}

/// Reloads through the failover runtime, which owns the table (workers keep serving).
async fn reload(handle: &Handle) {
    info!("SIGHUP: reloading the configuration and zones");
    match handle.reload().await {
        Ok(report) => {
            log_summary(&report.summary);
            for key in &report.restart_needed {
                warn!("{key} changed in the configuration; restart swivel to apply it (still using the old value)");
            }
            info!("reload done: now serving the new data");
        }
        Err(diagnostics) => {
            log_diagnostics(&diagnostics);
            error!(
                "reload refused: {}; still serving the previous data",
                count_errors(&diagnostics)
            );
        }
    }
}

/// TCP and (later) the control plane run here; UDP workers are OS threads of their own.
fn build_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores.clamp(1, 2))
        .thread_name("swivel-async")
        .enable_all()
        .build()
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .init();
}

fn log_summary(summary: &app::Summary) {
    for zone in &summary.zones {
        info!(
            "zone {} from {}: {} records",
            zone.origin,
            zone.file.display(),
            zone.records
        );
    }
    info!("loaded {summary}");
}

fn log_diagnostics(diagnostics: &Diagnostics) {
    for diagnostic in &diagnostics.0 {
        error!("{diagnostic}");
    }
}

fn count_errors(diagnostics: &Diagnostics) -> String {
    match diagnostics.0.len() {
        1 => "1 error".to_string(),
        n => format!("{n} errors"),
    }
}
