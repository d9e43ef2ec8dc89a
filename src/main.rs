//! The `swivel` command: `serve` runs the DNS server, `probe` runs a probe agent that
//! reports to responders, `check` validates a configuration, `ctl` talks to a running
//! server's control API.

use clap::{Parser, Subcommand};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use swivel::app::{self, Source};
use swivel::control::{self, count_errors, ctl};
use swivel::diag::Diagnostics;
use swivel::failover::runtime as failover;
use tokio::signal::unix::{signal, SignalKind};
use tracing::{error, info};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const EXAMPLES: &str = "Examples:
  swivel serve                                   run the built-in demo on 127.0.0.1:5353
  dig @127.0.0.1 -p 5353 www.example.test A      query it
  swivel check --config /etc/swivel/swivel.toml  validate a configuration and its zones
  swivel serve --config /etc/swivel/swivel.toml  serve it; `kill -HUP <pid>` reloads it
  swivel ctl status                              pools, endpoints and health of a running server
  swivel ctl override www.example.test. 192.0.2.1 down   drain an endpoint (survives restarts)
  swivel ctl reload                              reload like SIGHUP, printing any errors
  swivel probe --config /etc/swivel/swivel.toml  check from here and report to [probe] report_to";

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
        /// Log lines as human-readable text or as one JSON object per line.
        #[arg(long, value_name = "FORMAT", default_value = "text", value_parser = ["text", "json"])]
        log_format: String,
    },
    /// Run a probe agent: check the pools' endpoints from here and report to responders.
    ///
    /// Reads the same file format as `serve`: the [[pool]] tables and [probe] (name,
    /// report_to, token); zones and [server] are not used. Every result is sent to each
    /// responder in report_to, which counts it as this checker's view (its [[checker]]
    /// table must have this name and token). SIGHUP re-reads the pools.
    Probe {
        /// The configuration file (TOML); see docs/MULTI-LOCATION.md.
        #[arg(short, long, value_name = "FILE")]
        config: PathBuf,
        /// Log lines as human-readable text or as one JSON object per line.
        #[arg(long, value_name = "FORMAT", default_value = "text", value_parser = ["text", "json"])]
        log_format: String,
    },
    /// Check a configuration and every zone it names, then exit.
    ///
    /// Prints each zone with its record count and exits 0, or prints every problem with
    /// file and line to stderr and exits 1.
    Check {
        /// The configuration file (TOML) to check.
        #[arg(short, long, value_name = "FILE")]
        config: PathBuf,
        /// Check it as `swivel probe` reads it ([probe] and pools; zones not needed).
        #[arg(long)]
        probe: bool,
    },
    /// Talk to a running server over its control API.
    ///
    /// Shows status, drains or forces endpoints, releases manual failback and reloads. The
    /// address is --control, else `[control] listen` from --config, else 127.0.0.1:8053;
    /// changes need the token when the server has `[control] token`. Exits 1 on any error.
    Ctl(ctl::CtlArgs),
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Serve { config, log_format } => serve(config, log_format == "json"),
        Command::Probe { config, log_format } => {
            init_logging(log_format == "json");
            swivel::agent::run(&config)
        }
        Command::Check {
            config,
            probe: false,
        } => check(&config),
        Command::Check {
            config,
            probe: true,
        } => check_probe(&config),
        Command::Ctl(args) => ctl::run(args),
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
            let config = &loaded.config;
            let fleet = swivel::failover::fleet::Fleet::from_config(config);
            if fleet.len() > 1 || fleet.local().is_none() {
                println!("checkers: {}", fleet.names().join(", "));
            }
            for pool in &config.pools {
                let check = &pool.check;
                println!(
                    "pool {}: policy {}, failback {}, {} endpoints, {} check every {:?}{}",
                    pool.name,
                    format!("{:?}", pool.policy).to_lowercase(),
                    format!("{:?}", pool.failback).to_lowercase(),
                    pool.endpoints.len(),
                    check.kind.as_str(),
                    check.interval,
                    if fleet.len() > 1 {
                        format!(
                            ", quorum {} of {} checkers, stale after {:?}",
                            check.quorum,
                            fleet.len(),
                            check.stale_after()
                        )
                    } else {
                        String::new()
                    }
                );
            }
            println!("total: {summary}");
            ExitCode::SUCCESS
        }
        Err(diagnostics) => refuse(path, &diagnostics),
    }
}

/// Prints every problem to stderr and a summary line; the exit code of a refused check.
fn refuse(path: &Path, diagnostics: &Diagnostics) -> ExitCode {
    for diagnostic in &diagnostics.0 {
        eprintln!("{diagnostic}");
    }
    eprintln!(
        "{}: {}; configuration refused",
        path.display(),
        count_errors(diagnostics)
    );
    ExitCode::FAILURE
}

/// `swivel check --probe`: the file as a probe agent reads it.
fn check_probe(path: &Path) -> ExitCode {
    match swivel::config::load_as(path, swivel::config::Mode::Probe) {
        Ok(config) => {
            let probe = config.probe.expect("probe mode requires [probe]");
            println!("{}: probe configuration OK", path.display());
            println!("checker {}", probe.name);
            for url in &probe.report_to {
                println!("report to {url}");
            }
            for pool in &config.pools {
                println!(
                    "pool {}: {} endpoints, {} check every {:?}",
                    pool.name,
                    pool.endpoints.len(),
                    pool.check.kind.as_str(),
                    pool.check.interval
                );
            }
            ExitCode::SUCCESS
        }
        Err(diagnostics) => refuse(path, &diagnostics),
    }
}

fn serve(config: Option<PathBuf>, json_logs: bool) -> ExitCode {
    init_logging(json_logs);
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
    // Bound before the first round of checks, so that a taken address stops start-up at once.
    let control_listener = match control::bind(config.control.listen) {
        Ok(listener) => listener,
        Err(e) => {
            error!(
                "cannot listen on the control address {} ([control] listen): {e}",
                config.control.listen
            );
            return ExitCode::FAILURE;
        }
    };
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
    let handle = started.handle;
    match control::serve(
        control_listener,
        handle.clone(),
        config.control.token.clone(),
    ) {
        Ok(addr) => info!(
            "control API on http://{addr}/ (status page, /v1/status, /metrics){}",
            if config.control.token.is_some() {
                "; changes need the [control] token"
            } else {
                ""
            }
        ),
        Err(e) => {
            error!("cannot serve the control API: {e}");
            return ExitCode::FAILURE;
        }
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
    info!("ready; send SIGHUP (or POST /v1/reload) to reload the configuration and zones");
    runtime.block_on(async {
        loop {
            tokio::select! {
                _ = hangup.recv() => {
                    let _ = control::reload_and_log(&handle, "SIGHUP").await;
                }
                _ = terminate.recv() => break,
                _ = interrupt.recv() => break,
            }
        }
    });
    info!("shutting down");
    ExitCode::SUCCESS
}

/// TCP and the control plane run here; UDP workers are OS threads of their own.
fn build_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores.clamp(1, 2))
        .thread_name("swivel-async")
        .on_thread_start(swivel::server::stats::prepare_tcp_thread)
        .enable_all()
        .build()
}

/// Logs to stderr: readable text, or one JSON object per line (`--log-format json`).
fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    if json {
        builder.json().with_current_span(false).init();
    } else {
        builder.with_ansi(std::io::stderr().is_terminal()).init();
    }
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
