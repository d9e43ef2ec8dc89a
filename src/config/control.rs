//! The `[control]` table: where the control plane listens, its token, its own TLS (with
//! optional client certificates) and the limits that keep it from taking what DNS needs.

use super::{parse_duration, Checker, ServerConfig, Spanned};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// `control.listen` when omitted.
pub const DEFAULT_CONTROL_LISTEN: &str = "127.0.0.1:8053";
/// `control.max_connections` when omitted.
pub const DEFAULT_CONTROL_MAX_CONNECTIONS: usize = 256;
/// `control.header_read_timeout` when omitted.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);
/// `control.idle_timeout` when omitted.
pub const DEFAULT_CONTROL_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// `control.request_timeout` when omitted.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// `control.max_body_size` when omitted: 1 MiB, about 5,000 results in one agent report.
pub const DEFAULT_MAX_BODY_SIZE: usize = 1 << 20;
/// The range `control.max_body_size` may take.
pub const MAX_BODY_SIZE_RANGE: std::ops::RangeInclusive<usize> = 1024..=(64 << 20);
/// The shortest token accepted (`[control] token`, `[[checker]] token`, `[probe] token`).
pub const MIN_TOKEN_LEN: usize = 16;

/// The `[control]` table.
#[derive(Clone, PartialEq, Eq)]
pub struct ControlConfig {
    /// Where the control plane (HTTP API, metrics, status page) listens.
    pub listen: SocketAddr,
    /// When set, every mutating call (POST) must carry `Authorization: Bearer <token>`.
    /// Required when `listen` is not a loopback address.
    pub token: Option<String>,
    /// `tls_cert`, `tls_key`, `tls_client_ca`: HTTPS instead of plain HTTP.
    pub tls: Option<ControlTls>,
    /// Open control connections at most (lowered at start when the open files limit is
    /// too small to hold them beside DNS over TCP).
    pub max_connections: usize,
    /// A request's header must arrive within this (from the connection's start for the
    /// first request, TLS handshake included, and from its first byte for later ones).
    pub header_read_timeout: Duration,
    /// A keep-alive connection with no request in progress is closed after this.
    pub idle_timeout: Duration,
    /// Reading a request's body and answering it must take no longer (reloads excepted:
    /// they take as long as the zones take to load).
    pub request_timeout: Duration,
    /// The largest request body, in bytes (agent reports included).
    pub max_body_size: usize,
}

/// The control listener's certificate files, resolved against the configuration's folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControlTls {
    /// PEM certificate chain, the server's own certificate first.
    pub cert: PathBuf,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// When set, clients must present a certificate signed by one of these CAs (PEM).
    pub client_ca: Option<PathBuf>,
}

/// Never prints the token itself.
impl std::fmt::Debug for ControlConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ControlConfig")
            .field("listen", &self.listen)
            .field("token", &self.token.as_ref().map(|_| "<set>"))
            .field("tls", &self.tls)
            .field("max_connections", &self.max_connections)
            .field("header_read_timeout", &self.header_read_timeout)
            .field("idle_timeout", &self.idle_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("max_body_size", &self.max_body_size)
            .finish()
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawControl {
    listen: Option<Spanned<String>>,
    token: Option<Spanned<String>>,
    tls_cert: Option<Spanned<String>>,
    tls_key: Option<Spanned<String>>,
    tls_client_ca: Option<Spanned<String>>,
    max_connections: Option<Spanned<usize>>,
    header_read_timeout: Option<Spanned<String>>,
    idle_timeout: Option<Spanned<String>>,
    request_timeout: Option<Spanned<String>>,
    max_body_size: Option<Spanned<usize>>,
}

impl Checker<'_> {
    pub(super) fn control(
        &mut self,
        raw: RawControl,
        server: &ServerConfig,
        base_dir: &Path,
    ) -> ControlConfig {
        let default_listen = || {
            DEFAULT_CONTROL_LISTEN
                .parse()
                .expect("default control address parses")
        };
        let token = raw
            .token
            .and_then(|token| self.token("control.token", token));
        let listen = match &raw.listen {
            None => default_listen(),
            Some(text) => {
                let listen = self
                    .address("control.listen", text)
                    .unwrap_or_else(default_listen);
                if server.listen.contains(&listen) {
                    self.error(
                        text,
                        format!("control.listen: {listen} is also a server.listen address"),
                    );
                }
                if !listen.ip().is_loopback() && token.is_none() {
                    self.error(
                        text,
                        format!(
                            "control.listen: {listen} is not a loopback address, so control.token is required \
                             (anyone who can reach it could drain endpoints and reload); set a token or \
                             listen on 127.0.0.1 or [::1]"
                        ),
                    );
                }
                listen
            }
        };
        let tls = self.control_tls(raw.tls_cert, raw.tls_key, raw.tls_client_ca, base_dir);
        let max_connections = self.at_least_one(
            "control.max_connections",
            raw.max_connections,
            DEFAULT_CONTROL_MAX_CONNECTIONS,
        );
        let header_read_timeout = self.timeout(
            "control.header_read_timeout",
            raw.header_read_timeout,
            DEFAULT_HEADER_READ_TIMEOUT,
        );
        let idle_timeout = self.timeout(
            "control.idle_timeout",
            raw.idle_timeout,
            DEFAULT_CONTROL_IDLE_TIMEOUT,
        );
        let request_timeout = self.timeout(
            "control.request_timeout",
            raw.request_timeout,
            DEFAULT_REQUEST_TIMEOUT,
        );
        let max_body_size = raw.max_body_size.map_or(DEFAULT_MAX_BODY_SIZE, |size| {
            if !MAX_BODY_SIZE_RANGE.contains(size.get_ref()) {
                self.error(
                    &size,
                    format!(
                        "control.max_body_size: {} bytes is out of range: {} to {} bytes",
                        size.get_ref(),
                        MAX_BODY_SIZE_RANGE.start(),
                        MAX_BODY_SIZE_RANGE.end()
                    ),
                );
            }
            size.into_inner()
        });
        ControlConfig {
            listen,
            token,
            tls,
            max_connections,
            header_read_timeout,
            idle_timeout,
            request_timeout,
            max_body_size,
        }
    }

    /// `tls_cert` and `tls_key` together or neither; `tls_client_ca` only with them.
    fn control_tls(
        &mut self,
        cert: Option<Spanned<String>>,
        key: Option<Spanned<String>>,
        client_ca: Option<Spanned<String>>,
        base_dir: &Path,
    ) -> Option<ControlTls> {
        let path = |checker: &mut Self, key: &str, value: Spanned<String>| {
            if value.get_ref().is_empty() {
                checker.error(&value, format!("control.{key}: give a PEM file path"));
                return None;
            }
            Some(base_dir.join(value.get_ref()))
        };
        let client_ca_span = client_ca.as_ref().map(|ca| ca.span());
        let client_ca = client_ca.and_then(|ca| path(self, "tls_client_ca", ca));
        match (cert, key) {
            (Some(cert), Some(key)) => {
                let cert = path(self, "tls_cert", cert);
                let key = path(self, "tls_key", key);
                Some(ControlTls {
                    cert: cert?,
                    key: key?,
                    client_ca,
                })
            }
            (Some(one), None) | (None, Some(one)) => {
                self.error(
                    &one,
                    "control.tls_cert and control.tls_key: give both (the certificate chain and \
                     its private key), or neither for plain HTTP"
                        .to_string(),
                );
                None
            }
            (None, None) => {
                if let Some(span) = client_ca_span {
                    let line = super::line_of(self.text, span.start);
                    self.errors.push(crate::diag::Diagnostic::new(
                        self.file,
                        line,
                        "control.tls_client_ca: client certificates need TLS; set control.tls_cert \
                         and control.tls_key too",
                    ));
                }
                None
            }
        }
    }

    /// A duration of more than zero.
    fn timeout(
        &mut self,
        key: &str,
        value: Option<Spanned<String>>,
        default: Duration,
    ) -> Duration {
        let Some(value) = value else { return default };
        match parse_duration(value.get_ref()) {
            Ok(duration) if duration.is_zero() => {
                self.error(&value, format!("{key}: must be more than zero"));
                default
            }
            Ok(duration) => duration,
            Err(message) => {
                self.error(&value, format!("{key}: {message}"));
                default
            }
        }
    }
}
