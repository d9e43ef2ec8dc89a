//! The control plane end to end, over real sockets and processes: `swivel serve` with
//! health-checked pools in front of tiny loopback backends, driven through the HTTP API,
//! `swivel ctl`, the metrics endpoint and the status page in headless Chromium.

mod api;
mod ctl;
mod harness;
mod limits;
mod metrics;
mod page;
mod reload;
mod state;
mod tls;
