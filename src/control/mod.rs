//! The control plane: an HTTP server on `[control] listen` with the JSON API (status,
//! overrides, failback, reload, probe agents' reports), Prometheus metrics, a liveness probe
//! and a status page for people; and `swivel ctl`, its command-line client.
//!
//! Every change goes through the failover runtime's [`Handle`], which is the single writer of
//! the answer table; this module only translates HTTP to those calls and back.

pub mod api;
mod auth;
pub mod human;
mod metrics;
mod page;
mod reports;
mod routes;

use crate::app::ReloadReport;
use crate::diag::Diagnostics;
use crate::failover::runtime::Handle;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

pub use api::parse_address;

/// What every request handler can reach.
#[derive(Clone)]
struct ControlState {
    handle: Handle,
    /// `[control] token`: when set, POSTs need it as a bearer token.
    token: Option<Arc<str>>,
    started: Instant,
    /// Probe agents' reports refused, by reason.
    rejections: Arc<reports::Rejections>,
}

/// Binds the control listener (before anything else starts, so that a taken address stops
/// start-up with a clear message).
pub fn bind(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let listener = std::net::TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// Serves the control API on `listener` from the current tokio runtime; returns the address
/// it serves on. Must be called inside the runtime.
pub fn serve(
    listener: std::net::TcpListener,
    handle: Handle,
    token: Option<String>,
) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let local_addr = listener.local_addr()?;
    // The real address (with the port the kernel chose for port 0).
    tracing::info!(address = %local_addr, "control listening");
    let state = ControlState {
        handle,
        token: token.map(Arc::from),
        started: Instant::now(),
        rejections: Arc::default(),
    };
    let app = routes::router(state).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::error!(%error, "the control API stopped");
        }
    });
    Ok(local_addr)
}

/// Reloads through the runtime and logs the result the same way whatever asked for it
/// (`trigger` says who: "SIGHUP", "control API from 127.0.0.1:41000").
pub async fn reload_and_log(handle: &Handle, trigger: &str) -> Result<ReloadReport, Diagnostics> {
    tracing::info!(trigger, "reloading the configuration and zones");
    let result = handle.reload().await;
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
