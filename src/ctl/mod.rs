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

use crate::config::{ResponderUrl, DEFAULT_CONTROL_LISTEN};
use client::Client;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// The environment variable read for the token when `--token` is not given.
pub const TOKEN_VARIABLE: &str = "SWIVEL_TOKEN";

/// Options of `swivel ctl`.
#[derive(clap::Args, Debug)]
pub struct CtlArgs {
    /// The control API address: host:port for plain HTTP, or an https:// URL
    /// (https://ns1.example.net:8053); default: `[control] listen` of --config (https when
    /// it has tls_cert), else 127.0.0.1:8053.
    #[arg(long, value_name = "ADDR")]
    pub control: Option<String>,
    /// For https: certificate authorities (PEM) to trust besides the system's roots.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// For https to a listener with tls_client_ca: the client certificate (PEM) to present.
    #[arg(long, value_name = "FILE", requires = "client_key")]
    pub client_cert: Option<PathBuf>,
    /// The private key (PEM) of --client-cert.
    #[arg(long, value_name = "FILE", requires = "client_cert")]
    pub client_key: Option<PathBuf>,
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
    // (address, host for TLS when https)
    let (address, https_host) = match (&args.control, &config) {
        (Some(text), _) if text.contains("://") => {
            let url = ResponderUrl::parse(text).map_err(|e| format!("--control: {e}"))?;
            if !url.prefix.is_empty() {
                return Err(format!("--control {text}: give no path after the address"));
            }
            (url.authority(), url.tls.then(|| url.host.clone()))
        }
        (Some(address), _) => (address.clone(), None),
        (None, Some(config)) => {
            let addr = connectable(config.control.listen);
            let tls = config.control.tls.is_some();
            (addr.to_string(), tls.then(|| addr.ip().to_string()))
        }
        (None, None) => (DEFAULT_CONTROL_LISTEN.to_string(), None),
    };
    let tls = match https_host {
        None => None,
        Some(host) => Some((host, tls_config(args)?)),
    };
    let token = args
        .token
        .clone()
        .or_else(|| std::env::var(TOKEN_VARIABLE).ok().filter(|t| !t.is_empty()))
        .or_else(|| config.and_then(|c| c.control.token));
    Ok(Client {
        address,
        token,
        tls,
    })
}

/// TLS for an https control URL: the system's roots plus --ca-file, and the client
/// certificate of --client-cert and --client-key, if given.
fn tls_config(args: &CtlArgs) -> Result<Arc<rustls::ClientConfig>, String> {
    let roots = crate::probe::tls::trusted_roots(args.ca_file.as_deref())
        .map_err(|e| format!("--{}", e.replacen("ca_file", "ca-file", 1)))?;
    let builder = rustls::ClientConfig::builder_with_provider(crate::tls::provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots);
    let mut config = match (&args.client_cert, &args.client_key) {
        (Some(cert), Some(key)) => {
            let identity = crate::tls::load_identity(["--client-cert", "--client-key"], cert, key)?;
            builder
                .with_client_auth_cert(identity.chain, identity.key)
                .map_err(|e| format!("--client-cert {}: {e}", cert.display()))?
        }
        _ => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
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
