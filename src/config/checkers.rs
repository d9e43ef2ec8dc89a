//! The multi-location keys: `[[checker]]` (the agents a responder listens to), `[checks]`
//! (the responder's own checks) and `[probe]` (this machine as an agent), and the rules
//! between them and the pools' quorums.

use super::pool::PoolConfig;
use super::{Checker, ResponderUrl, Spanned};
use crate::diag::Diagnostic;
use serde::Deserialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The name of the responder's own checks; no `[[checker]]` may take it.
pub const LOCAL: &str = "local";

/// One `[[checker]]` table: a probe agent allowed to report, and its own token.
#[derive(Clone, PartialEq, Eq)]
pub struct CheckerConfig {
    /// Unique; never `local`.
    pub name: String,
    /// The agent's bearer token on `POST /v1/reports`.
    pub token: String,
}

/// Never prints the token itself.
impl std::fmt::Debug for CheckerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckerConfig")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// The `[probe]` table: this machine as a probe agent.
#[derive(Clone, PartialEq, Eq)]
pub struct ProbeConfig {
    /// This checker's name, unique in the fleet (a `[[checker]]` name on every responder).
    pub name: String,
    /// Every responder to report to.
    pub report_to: Vec<ResponderUrl>,
    /// The responders' token for this checker.
    pub token: String,
    /// Extra certificate authorities (PEM) trusted for https responders, besides the
    /// system's roots; resolved against the configuration's folder.
    pub ca_file: Option<PathBuf>,
    /// `client_cert` and `client_key`: the certificate (PEM chain) and key this agent
    /// presents to responders that ask for one (`[control] tls_client_ca`).
    pub client_identity: Option<(PathBuf, PathBuf)>,
    /// Allows `http://` responders that are not on loopback (the token and reports then
    /// cross the network in clear).
    pub allow_plain_http: bool,
    /// Where the agent serves its own metrics (`/metrics`) and `/healthz`; none when unset.
    pub metrics_listen: Option<std::net::SocketAddr>,
}

/// Never prints the token itself.
impl std::fmt::Debug for ProbeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProbeConfig")
            .field("name", &self.name)
            .field("report_to", &self.report_to)
            .field("ca_file", &self.ca_file)
            .field("client_identity", &self.client_identity)
            .field("allow_plain_http", &self.allow_plain_http)
            .field("metrics_listen", &self.metrics_listen)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawChecker {
    pub(super) name: Spanned<String>,
    pub(super) token: Spanned<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawChecks {
    pub(super) local: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawProbe {
    pub(super) name: Spanned<String>,
    pub(super) report_to: Spanned<Vec<Spanned<String>>>,
    pub(super) token: Spanned<String>,
    pub(super) ca_file: Option<Spanned<String>>,
    pub(super) client_cert: Option<Spanned<String>>,
    pub(super) client_key: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) allow_plain_http: bool,
    pub(super) metrics_listen: Option<Spanned<String>>,
}

/// The longest checker name.
const MAX_NAME: usize = 63;

impl Checker<'_> {
    /// A checker name: 1 to 63 letters, digits, `.`, `_` or `-`, and not `local`.
    fn checker_name(&mut self, key: &str, name: &Spanned<String>) -> bool {
        let text = name.get_ref();
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
        if text.is_empty() || text.len() > MAX_NAME || !text.chars().all(allowed) {
            self.error(
                name,
                format!(
                    "{key}: {text:?} is not a checker name: 1 to {MAX_NAME} letters, digits, \
                     '.', '_' or '-'"
                ),
            );
            return false;
        }
        if text == LOCAL {
            self.error(
                name,
                format!("{key}: \"{LOCAL}\" is the responder's own checks; choose another name"),
            );
            return false;
        }
        true
    }

    /// `[[checker]]` tables: unique names, unique tokens, none equal to the control token.
    pub(super) fn checkers(
        &mut self,
        raw: Vec<RawChecker>,
        control_token: Option<&str>,
    ) -> Vec<CheckerConfig> {
        let mut names: HashMap<String, usize> = HashMap::new();
        let mut tokens: HashMap<String, String> = HashMap::new();
        let mut checkers = Vec::new();
        for entry in raw {
            let line = self.line(&entry.name);
            let name_ok = self.checker_name("checker.name", &entry.name);
            if let Some(first) = names.get(entry.name.get_ref()) {
                let message = format!(
                    "checker.name: {:?} is defined twice (first on line {first})",
                    entry.name.get_ref()
                );
                self.error(&entry.name, message);
                continue;
            }
            names.insert(entry.name.get_ref().clone(), line);
            let token_span = entry.token.span();
            let Some(token) = self.token("checker.token", entry.token) else {
                continue;
            };
            let token_line = super::line_of(self.text, token_span.start);
            let name = entry.name.into_inner();
            if let Some(other) = tokens.get(&token) {
                self.errors.push(Diagnostic::new(
                    self.file,
                    token_line,
                    format!(
                        "checker.token: checker {name:?} has the same token as checker {other:?}; \
                         every checker needs its own token"
                    ),
                ));
                continue;
            }
            if control_token == Some(token.as_str()) {
                self.errors.push(Diagnostic::new(
                    self.file,
                    token_line,
                    format!(
                        "checker.token: checker {name:?} has the control.token; give every \
                         checker its own token (an agent holding the control token could drain \
                         endpoints)"
                    ),
                ));
                continue;
            }
            tokens.insert(token.clone(), name.clone());
            if name_ok {
                checkers.push(CheckerConfig { name, token });
            }
        }
        checkers
    }

    /// The `[probe]` table.
    pub(super) fn probe(&mut self, raw: Spanned<RawProbe>, base_dir: &Path) -> Option<ProbeConfig> {
        let raw = raw.into_inner();
        let name_ok = self.checker_name("probe.name", &raw.name);
        let token = self.token("probe.token", raw.token);
        if raw.report_to.get_ref().is_empty() {
            self.error(
                &raw.report_to,
                "probe.report_to: list at least one responder, e.g. \"https://ns1.example.net:8053\""
                    .to_string(),
            );
        }
        let mut report_to: Vec<ResponderUrl> = Vec::new();
        for entry in raw.report_to.get_ref() {
            let url = match ResponderUrl::parse(entry.get_ref()) {
                Ok(url) => url,
                Err(message) => {
                    self.error(entry, format!("probe.report_to: {message}"));
                    continue;
                }
            };
            if report_to
                .iter()
                .any(|seen| (seen.tls, &seen.host, seen.port) == (url.tls, &url.host, url.port))
            {
                self.error(entry, format!("probe.report_to: {url} is listed twice"));
                continue;
            }
            if !url.tls && !url.is_loopback() && !raw.allow_plain_http {
                self.error(
                    entry,
                    format!(
                        "probe.report_to: {url} is plain http to another machine, so the token \
                         and the reports would cross the network in clear; use https, or set \
                         probe.allow_plain_http = true for a network you trust"
                    ),
                );
                continue;
            }
            report_to.push(url);
        }
        let ca_file = raw.ca_file.and_then(|file| {
            if file.get_ref().is_empty() {
                self.error(&file, "probe.ca_file: give a PEM file path".to_string());
                return None;
            }
            Some(base_dir.join(file.get_ref()))
        });
        let metrics_listen = match &raw.metrics_listen {
            Some(text) => match self.address("probe.metrics_listen", text) {
                Some(address) => Some(address),
                None => return None,
            },
            None => None,
        };
        let client_identity = self.probe_identity(raw.client_cert, raw.client_key, base_dir);
        if !name_ok || token.is_none() || report_to.is_empty() {
            return None;
        }
        Some(ProbeConfig {
            name: raw.name.into_inner(),
            report_to,
            token: token?,
            ca_file,
            client_identity,
            allow_plain_http: raw.allow_plain_http,
            metrics_listen,
        })
    }

    /// `probe.client_cert` and `probe.client_key`, both or neither.
    fn probe_identity(
        &mut self,
        cert: Option<Spanned<String>>,
        key: Option<Spanned<String>>,
        base_dir: &Path,
    ) -> Option<(PathBuf, PathBuf)> {
        match (cert, key) {
            (Some(cert), Some(key)) => {
                for (name, value) in [("client_cert", &cert), ("client_key", &key)] {
                    if value.get_ref().is_empty() {
                        self.error(value, format!("probe.{name}: give a PEM file path"));
                        return None;
                    }
                }
                Some((base_dir.join(cert.get_ref()), base_dir.join(key.get_ref())))
            }
            (Some(one), None) | (None, Some(one)) => {
                self.error(
                    &one,
                    "probe.client_cert and probe.client_key: give both (the certificate and its \
                     private key), or neither"
                        .to_string(),
                );
                None
            }
            (None, None) => None,
        }
    }

    /// The fleet a responder counts on: someone must check the pools, and every pool's
    /// quorum must be reachable.
    pub(super) fn fleet(
        &mut self,
        pools: &[PoolConfig],
        pool_lines: &[usize],
        checkers: &[CheckerConfig],
        local: bool,
    ) {
        let mut names: Vec<&str> = Vec::new();
        if local {
            names.push(LOCAL);
        }
        names.extend(checkers.iter().map(|c| c.name.as_str()));
        if names.is_empty() && !pools.is_empty() {
            self.errors.push(Diagnostic::new(
                self.file,
                0,
                "checks.local = false and no [[checker]] tables: nothing would check the pools; \
                 add the probe agents as [[checker]] tables or turn the local checks back on",
            ));
            return;
        }
        for (pool, &line) in pools.iter().zip(pool_lines) {
            let quorum = pool.check.quorum as usize;
            if quorum > names.len() {
                self.errors.push(Diagnostic::new(
                    self.file,
                    line,
                    format!(
                        "pool {:?}: check.quorum: {quorum} fresh checkers must agree, but only {} \
                         report ({}); the quorum could never be met",
                        pool.name,
                        names.len(),
                        names.join(", ")
                    ),
                ));
            }
        }
    }
}
