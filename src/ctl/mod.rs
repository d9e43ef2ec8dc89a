//! `swivel ctl`: the operator's command line for a running server, over the control API.
//! Prints results to stdout; any failure (no connection, a refused token, an unknown pool, a
//! refused reload) goes to stderr with a non-zero exit.
//!
//! [`request`] turns a command into an HTTP request and sends it ([`client`]); [`render`]
//! turns the reply into text for people.

mod client;
mod render;
mod request;
mod status_view;

use crate::config::DEFAULT_CONTROL_LISTEN;
use client::Client;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

/// The environment variable read for the token when `--token` is not given.
pub const TOKEN_VARIABLE: &str = "SWIVEL_TOKEN";

/// Options of `swivel ctl`.
#[derive(clap::Args, Debug)]
pub struct CtlArgs {
    /// The control API address (host:port); default: `[control] listen` of --config, else
    /// 127.0.0.1:8053.
    #[arg(long, value_name = "ADDR")]
    pub control: Option<String>,
    /// The bearer token for changes; default: $SWIVEL_TOKEN, else `[control] token` of
    /// --config.
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,
    /// The server's configuration file, to find the control address and token.
    #[arg(short, long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: CtlCommand,
}

#[derive(clap::Subcommand, Debug)]
pub enum CtlCommand {
    /// Show every pool and endpoint: health, overrides, last check, what is served.
    Status {
        /// Print the raw JSON of GET /v1/status.
        #[arg(long)]
        json: bool,
    },
    /// Drain an endpoint (down), force it up, or hand it back to its checks (auto).
    Override {
        /// The pool's name, e.g. www.example.test. (final dot optional).
        pool: String,
        /// The endpoint's address, e.g. 192.0.2.1 or 2001:db8::1.
        address: String,
        #[arg(value_parser = ["up", "down", "auto"])]
        state: String,
    },
    /// Release a manual-failback pool so that it returns to its best healthy tier.
    Failback { pool: String },
    /// Reload the configuration and zones (like SIGHUP); prints every error if refused.
    Reload,
}

/// Runs one ctl command and returns the process exit code.
pub fn run(args: CtlArgs) -> ExitCode {
    let client = match resolve(&args) {
        Ok(client) => client,
        Err(message) => return fail(&message),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let runtime = match runtime {
        Ok(runtime) => runtime,
        Err(error) => return fail(&format!("cannot start: {error}")),
    };
    let output = runtime
        .block_on(request::send(&client, &args.command))
        .and_then(|reply| render::render(&client, &args.command, &reply));
    match output {
        Ok(output) => {
            print!("{output}");
            ExitCode::SUCCESS
        }
        Err(message) => fail(&message),
    }
}

fn fail(message: &str) -> ExitCode {
    for line in message.lines() {
        eprintln!("swivel ctl: {line}");
    }
    ExitCode::FAILURE
}

/// The address and token from the options, the environment and the configuration file.
fn resolve(args: &CtlArgs) -> Result<Client, String> {
    let config = match &args.config {
        Some(path) => Some(
            crate::config::load(path)
                .map_err(|diagnostics| format!("cannot read the configuration:\n{diagnostics}"))?,
        ),
        None => None,
    };
    let address = match (&args.control, &config) {
        (Some(address), _) => address.clone(),
        (None, Some(config)) => connectable(config.control.listen).to_string(),
        (None, None) => DEFAULT_CONTROL_LISTEN.to_string(),
    };
    let token = args
        .token
        .clone()
        .or_else(|| std::env::var(TOKEN_VARIABLE).ok().filter(|t| !t.is_empty()))
        .or_else(|| config.and_then(|c| c.control.token));
    Ok(Client { address, token })
}

/// A listen address as one to connect to: a wildcard listener is reached on loopback.
fn connectable(listen: SocketAddr) -> SocketAddr {
    let mut addr = listen;
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr {
            SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    addr
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_listeners_are_reached_on_loopback() {
        let v4: SocketAddr = "0.0.0.0:8053".parse().unwrap();
        assert_eq!(connectable(v4), "127.0.0.1:8053".parse().unwrap());
        let v6: SocketAddr = "[::]:9000".parse().unwrap();
        assert_eq!(connectable(v6), "[::1]:9000".parse().unwrap());
        let exact: SocketAddr = "127.0.0.5:1".parse().unwrap();
        assert_eq!(connectable(exact), exact);
    }
}
