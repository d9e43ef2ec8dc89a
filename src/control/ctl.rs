//! `swivel ctl`: the operator's command line for a running server, over the control API.
//! Prints results to stdout; any failure (no connection, a refused token, an unknown pool, a
//! refused reload) goes to stderr with a non-zero exit.

use super::api::{ErrorReply, FailbackReply, OverrideReply, OverrideRequest, ReloadReply};
use super::client::{path_segment, Client, Reply};
use super::status_view::StatusView;
use crate::config::DEFAULT_CONTROL_LISTEN;
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
    match runtime.block_on(execute(&client, &args.command)) {
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

async fn execute(client: &Client, command: &CtlCommand) -> Result<String, String> {
    let reply = match command {
        CtlCommand::Status { .. } => client.get("/v1/status").await,
        CtlCommand::Override {
            pool,
            address,
            state,
        } => {
            let path = format!(
                "/v1/pools/{}/endpoints/{}/override",
                path_segment(pool),
                path_segment(address)
            );
            let body = OverrideRequest {
                state: state.clone(),
            };
            let body = serde_json::to_string(&body).expect("a request body serializes");
            client.post(&path, Some(body)).await
        }
        CtlCommand::Failback { pool } => {
            let path = format!("/v1/pools/{}/failback", path_segment(pool));
            client.post(&path, None).await
        }
        CtlCommand::Reload => client.post("/v1/reload", None).await,
    };
    let reply = reply.map_err(|error| {
        format!(
            "no answer from the control API at {}: {error}\n\
             (is `swivel serve` running, and is this its [control] listen address? \
             use --control ADDR or --config FILE)",
            client.address
        )
    })?;
    if !reply.status.is_success() {
        return Err(explain_failure(client, &reply));
    }
    let text = String::from_utf8_lossy(&reply.body);
    let parse_error = |e: serde_json::Error| format!("unexpected reply from the server: {e}");
    match command {
        CtlCommand::Status { json: true } => Ok(format!("{}\n", text.trim_end())),
        CtlCommand::Status { json: false } => {
            let status: StatusView = serde_json::from_str(&text).map_err(parse_error)?;
            Ok(status.render(super::page::unix_now()))
        }
        CtlCommand::Override { .. } => {
            let reply: OverrideReply = serde_json::from_str(&text).map_err(parse_error)?;
            let forced = match &reply.override_state {
                Some(value) => format!("override {value}"),
                None => "no override (back to its checks)".to_string(),
            };
            Ok(format!(
                "{} {}: {forced}; state {}; the pool serves {}\n",
                reply.pool,
                reply.address,
                reply.state,
                addresses(&reply.serving)
            ))
        }
        CtlCommand::Failback { .. } => {
            let reply: FailbackReply = serde_json::from_str(&text).map_err(parse_error)?;
            let released = match reply.released_tier {
                Some(tier) => format!("released from tier {tier}"),
                None => "was not held on a tier; nothing to release".to_string(),
            };
            Ok(format!(
                "{}: {released}; the pool serves {}\n",
                reply.pool,
                addresses(&reply.serving)
            ))
        }
        CtlCommand::Reload => {
            let reply: ReloadReply = serde_json::from_str(&text).map_err(parse_error)?;
            let mut out = String::new();
            for zone in &reply.zones {
                out.push_str(&format!(
                    "zone {} from {}: {} records\n",
                    zone.origin, zone.file, zone.records
                ));
            }
            for key in &reply.restart_needed {
                out.push_str(&format!(
                    "{key} changed: restart swivel to apply it (the old value is still used)\n"
                ));
            }
            out.push_str(&format!(
                "reloaded: {} zone{}, {} records\n",
                reply.zones.len(),
                if reply.zones.len() == 1 { "" } else { "s" },
                reply.records
            ));
            Ok(out)
        }
    }
}

/// The server's error, with every problem it listed and a hint for a refused token.
fn explain_failure(client: &Client, reply: &Reply) -> String {
    let body: Option<ErrorReply> = serde_json::from_slice(&reply.body).ok();
    let mut message = match &body {
        Some(body) => body.error.clone(),
        None => String::from_utf8_lossy(&reply.body).trim().to_string(),
    };
    message = format!("{} ({})", message, reply.status);
    for error in body.iter().flat_map(|b| &b.errors) {
        message.push('\n');
        message.push_str(error);
    }
    if reply.status == hyper::StatusCode::UNAUTHORIZED {
        message.push_str(if client.token.is_some() {
            "\nthe token given does not match [control] token"
        } else {
            "\ngive the token with --token, $SWIVEL_TOKEN or --config FILE"
        });
    }
    message
}

fn addresses(list: &[std::net::IpAddr]) -> String {
    if list.is_empty() {
        return "no address".to_string();
    }
    list.iter()
        .map(|a| a.to_string())
        .collect::<Vec<_>>()
        .join(", ")
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
