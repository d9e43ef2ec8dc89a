//! `swivel serve`: the DNS server process, from loading to shutdown.

use super::init_logging;
use crate::app::{self, Source};
use crate::control;
use crate::diag::Diagnostics;
use crate::failover::runtime as failover;
use std::path::PathBuf;
use std::process::ExitCode;
use tokio::signal::unix::{signal, SignalKind};
use tracing::{error, info, warn};

use super::descriptors;

/// `swivel serve`: loads everything, starts the failover runtime, the DNS listeners and the
/// control plane, then reloads on SIGHUP until SIGTERM or SIGINT.
pub fn serve(config: Option<PathBuf>, json_logs: bool) -> ExitCode {
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
            error!("refusing to start: {}", diagnostics.count());
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
    let budget = descriptors::budget(descriptors::Wanted {
        dns_tcp: config.server.tcp_max_connections,
        control: config.control.max_connections,
        udp_workers: config.server.listen.len() * udp_workers(config.server.workers),
        checks: if config.local_checks {
            crate::probe::probe_targets(&config.pools)
                .len()
                .min(crate::probe::scheduler::DEFAULT_MAX_CONCURRENCY)
        } else {
            0
        },
    });
    let mut server_settings = crate::server::Settings::from_config(&config.server);
    server_settings.tcp_max_connections = budget.dns_tcp;
    let server = match crate::server::start_full(
        &server_settings,
        started.table.clone(),
        runtime.handle(),
        started.notify.clone(),
        Some(started.transfers.clone()),
    ) {
        Ok(server) => server,
        Err(e) => {
            // The error names the address that failed.
            error!("refusing to start: {e}");
            return ExitCode::FAILURE;
        }
    };
    let handle = started.handle;
    let control = match control::serve(
        control_listener,
        handle.clone(),
        control_settings(&config.control, budget.control),
    ) {
        Ok(control) => control,
        Err(e) => {
            error!("cannot serve the control API: {e}");
            return ExitCode::FAILURE;
        }
    };
    let scheme = if config.control.tls.is_some() {
        "https"
    } else {
        "http"
    };
    info!(
        "control API on {scheme}://{}/ (status page, /v1/status, /metrics){}",
        control.local_addr,
        if config.control.token.is_some() {
            "; changes need the [control] token"
        } else {
            ""
        }
    );
    if config.control.tls.is_none() && !config.control.listen.ip().is_loopback() {
        warn!(
            "control.listen {} is not loopback and has no TLS: tokens and agents' reports cross \
             the network in clear; set control.tls_cert and control.tls_key",
            config.control.listen
        );
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
                    control.reload(&handle, "SIGHUP").await;
                }
                _ = terminate.recv() => break,
                _ = interrupt.recv() => break,
            }
        }
    });
    info!("shutting down");
    ExitCode::SUCCESS
}

/// The control listener's settings, with its connection cap from the descriptor budget.
fn control_settings(
    config: &crate::config::ControlConfig,
    max_connections: usize,
) -> control::Settings {
    control::Settings {
        token: config.token.clone(),
        tls: config.tls.as_ref().map(|tls| control::TlsFiles {
            cert: tls.cert.clone(),
            key: tls.key.clone(),
            client_ca: tls.client_ca.clone(),
        }),
        max_connections,
        header_read_timeout: config.header_read_timeout,
        idle_timeout: config.idle_timeout,
        request_timeout: config.request_timeout,
        max_body_size: config.max_body_size,
    }
}

/// UDP workers per listen address (`server.workers`, 0 for one per core).
fn udp_workers(configured: usize) -> usize {
    match configured {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
}

/// TCP and the control plane run here; UDP workers are OS threads of their own.
fn build_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores.clamp(1, 2))
        .thread_name("swivel-async")
        .on_thread_start(crate::server::stats::prepare_tcp_thread)
        .enable_all()
        .build()
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
