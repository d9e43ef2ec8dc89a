//! The control plane end to end, over real sockets and processes: `swivel serve` with
//! health-checked pools in front of tiny loopback backends, driven through the HTTP API,
//! `swivel ctl`, the metrics endpoint and the status page in headless Chromium.

mod common;

#[path = "control/api.rs"]
mod api;
#[path = "control/ctl.rs"]
mod ctl;
#[path = "control/harness.rs"]
mod harness;
#[path = "control/http.rs"]
mod http;
#[path = "control/metrics.rs"]
mod metrics;
#[path = "control/page.rs"]
mod page;
#[path = "control/reload.rs"]
mod reload;
#[path = "control/state.rs"]
mod state;
