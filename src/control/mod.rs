//! The control plane: an HTTP server on `[control] listen` with the JSON API (status,
//! overrides, failback, reload, probe agents' reports), Prometheus metrics, a liveness probe
//! and a status page for people; and `swivel ctl`, its command-line client.
//!
//! Every change goes through the failover runtime's [`Handle`], which is the single writer of
//! the answer table; this module only translates HTTP to those calls and back.
//!
//! The listener is fit to face the internet: its own TLS (optionally requiring client
//! certificates), a cap on open connections that idle ones give way under, header, idle and
//! request timeouts, a body limit, and JSON for every error ([`listener`],
//! [`connections`], [`tls`]).

pub mod api;
mod auth;
mod body;
mod connections;
pub mod human;
mod listener;
mod metrics;
mod page;
mod reports;
mod routes;
mod tls;

use crate::app::ReloadReport;
use crate::diag::Diagnostics;
use crate::failover::runtime::Handle;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use api::parse_address;
pub use tls::TlsFiles;

/// How the control listener serves (from `[control]`; the cap after the descriptor budget).
#[derive(Clone, Debug)]
pub struct Settings {
    /// When set, POSTs other than reports need it as a bearer token.
    pub token: Option<String>,
    /// HTTPS with these files; plain HTTP when none.
    pub tls: Option<TlsFiles>,
    pub max_connections: usize,
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    pub request_timeout: Duration,
    pub max_body_size: usize,
}

/// The running control listener.
pub struct Control {
    /// Where it listens (the real port when the configuration said 0).
    pub local_addr: SocketAddr,
    tls: Option<Arc<tls::ReloadableTls>>,
}

impl Control {
    /// Reloads the configuration and zones like [`reload_and_log`], and reads the TLS
    /// files again.
    pub async fn reload(&self, handle: &Handle, trigger: &str) {
        let _ = reload_and_log(handle, self.tls.as_deref(), trigger).await;
    }
}

/// What every request handler can reach.
#[derive(Clone)]
struct ControlState {
    handle: Handle,
    /// `[control] token`: when set, POSTs need it as a bearer token.
    token: Option<Arc<str>>,
    started: Instant,
    /// Probe agents' reports refused, by reason.
    rejections: Arc<reports::Rejections>,
    /// Read again on every reload.
    tls: Option<Arc<tls::ReloadableTls>>,
}

/// Binds the control listener (before anything else starts, so that a taken address stops
/// start-up with a clear message).
pub fn bind(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let listener = std::net::TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// Serves the control API on `listener` from the current tokio runtime. Must be called
/// inside the runtime. Fails when the TLS files do not load.
pub fn serve(
    listener: std::net::TcpListener,
    handle: Handle,
    settings: Settings,
) -> Result<Control, String> {
    let tls = match &settings.tls {
        None => None,
        Some(files) => Some(Arc::new(tls::ReloadableTls::new(
            files.clone(),
            files.load()?,
        ))),
    };
    let listener = tokio::net::TcpListener::from_std(listener).map_err(|e| e.to_string())?;
    let local_addr = listener.local_addr().map_err(|e| e.to_string())?;
    // The real address (with the port the kernel chose for port 0).
    tracing::info!(address = %local_addr, tls = tls.is_some(), "control listening");
    let state = ControlState {
        handle,
        token: settings.token.map(Arc::from),
        started: Instant::now(),
        rejections: Arc::default(),
        tls: tls.clone(),
    };
    let router = routes::router(state, settings.max_body_size, settings.request_timeout);
    let timeouts = listener::Timeouts {
        header_read: settings.header_read_timeout,
        idle: settings.idle_timeout,
    };
    let slots = connections::Slots::new(settings.max_connections);
    tokio::spawn(listener::accept_loop(
        listener,
        router,
        slots,
        tls.clone(),
        timeouts,
    ));
    Ok(Control { local_addr, tls })
}

/// Reloads through the runtime and logs the result the same way whatever asked for it
/// (`trigger` says who: "SIGHUP", "control API from 127.0.0.1:41000"); then reads the
/// control listener's TLS files again, if it has some, whatever the reload's outcome.
async fn reload_and_log(
    handle: &Handle,
    tls: Option<&tls::ReloadableTls>,
    trigger: &str,
) -> Result<ReloadReport, Diagnostics> {
    tracing::info!(trigger, "reloading the configuration and zones");
    let result = handle.reload().await;
    if let Some(tls) = tls {
        tls.reload(trigger);
    }
    match &result {
        Ok(report) => {
            for zone in &report.summary.zones {
                tracing::info!(
                    "zone {} from {}: {} records",
                    zone.origin,
                    zone.file.display(),
                    zone.records
                );
            }
            tracing::info!("loaded {}", report.summary);
            for key in &report.restart_needed {
                tracing::warn!("{key} changed in the configuration; restart swivel to apply it (still using the old value)");
            }
            tracing::info!(trigger, "reload done: now serving the new data");
        }
        Err(diagnostics) => {
            for diagnostic in &diagnostics.0 {
                tracing::error!("{diagnostic}");
            }
            tracing::error!(
                trigger,
                "reload refused: {}; still serving the previous data",
                diagnostics.count()
            );
        }
    }
    result
}
