//! What the `swivel` subcommands do, from loading the configuration to the exit code;
//! `main.rs` parses the arguments and calls one of these. (`swivel probe` is
//! [`crate::agent::run`], `swivel ctl` is [`crate::ctl::run`].)

mod check;
mod descriptors;
mod serve;

pub use check::{check, check_probe};
pub use serve::serve;

use std::io::IsTerminal;

/// Logs to stderr: readable text, or one JSON object per line (`--log-format json`).
pub fn init_logging(json: bool) {
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
