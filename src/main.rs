//! The `swivel` command: `serve` runs the DNS server, `probe` runs a probe agent that
//! reports to responders, `check` validates a configuration, `ctl` talks to a running
//! server's control API.

#![deny(unsafe_code)]

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use swivel::commands::{self, init_logging};
use swivel::ctl;

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
        Command::Serve { config, log_format } => commands::serve(config, log_format == "json"),
        Command::Probe { config, log_format } => {
            init_logging(log_format == "json");
            swivel::agent::run(&config)
        }
        Command::Check {
            config,
            probe: false,
        } => commands::check(&config),
        Command::Check {
            config,
            probe: true,
        } => commands::check_probe(&config),
        Command::Ctl(args) => ctl::run(args),
    }
}
