//! End-to-end tests of serving DNS, one test binary: the `swivel` command line and
//! configuration checks, `swivel serve` as a process (reload, rate limiting, hostile input
//! over UDP and TCP, the comparison with Knot DNS), the server started in this process on
//! both UDP I/O backends, and the fuzz corpus.
//!
//! Tests here run in parallel threads: every server listens on a port the kernel chooses
//! (read back from its log or from `Server::local_addrs`), never on a fixed one (but the
//! demo's own 5353).

#[path = "../support/mod.rs"]
mod support;

mod cli;
mod dns_msg;
mod dnssec_keys;
mod dnssec_validate;
mod fuzz_corpus;
mod geo_knot;
mod hostile;
mod io_backends;
mod knot_compare;
mod malformed;
mod pool_config;
mod reload;
mod rrl;
mod secondary;
mod server_io;
mod tcp_abuse;
mod transfers_out;
mod world_writable;
