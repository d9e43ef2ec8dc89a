//! Swivel: an authoritative DNS server with health checks and DNS failover built in.
//!
//! The query path is `wire` (packet views) → `engine` (bytes in, answer table, bytes out)
//! → `server` (batched socket I/O). Zone files are read by `zone` and compiled by `table`
//! into wire bytes ahead of time. docs/ARCHITECTURE.md has the module picture and which way
//! each module may import.

#![deny(unsafe_code)]

pub mod agent;
pub mod app;
pub mod commands;
pub mod config;
pub mod control;
pub mod ctl;
pub mod diag;
pub mod dnssec;
pub mod engine;
pub mod failover;
pub mod fuzzing;
pub mod geo;
pub mod health;
pub mod metrics_text;
pub mod name;
pub mod probe;
pub mod report;
pub mod rrl;
pub mod server;
#[allow(unsafe_code)]
pub mod sys;
pub mod table;
pub mod tls;
pub mod wire;
pub mod xfr;
pub mod zone;
