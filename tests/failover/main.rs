//! End-to-end tests of health checking and failover, one test binary: pools failing over
//! in front of real backends, the control plane (HTTP API, `swivel ctl`, metrics, the status
//! page in headless Chromium, persisted state), checks from several locations, and the
//! health probes themselves.
//!
//! Tests here run in parallel threads: every server listens on ports the kernel chooses,
//! read back from its log, and backends that share a port across loopback addresses bind it
//! without a check-then-use race (see `support::backend`).

#[path = "../support/mod.rs"]
mod support;

mod control;
mod geo;
mod multi_location;
mod pool_additional;
mod pools;
mod probes;
mod reloads;
