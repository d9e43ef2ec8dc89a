//! The `[[pool]]` tables of the configuration file: serde types with their defaults, and
//! [`PoolConfig::validate`], which reports every mistake with the pool and the key at fault.
//!
//! ```toml
//! [[pool]]
//! name = "www.example.test."
//! ttl = 30                      # default 30
//! ttl_degraded = 10             # optional: TTL while not fully healthy on the top tier
//! policy = "failover"           # "failover" (default) | "all" | "weighted"
//! failback = "auto"             # "auto" (default) | "manual"
//! when_all_down = "serve-all"   # "serve-all" (default) | "serve-primary" | "nodata"
//! [pool.check]
//! kind = "http"                 # "http" | "https" | "tcp" | "icmp"
//! port = 8080                   # default 80 for http, 443 for https; required for tcp;
//!                               # refused for icmp
//! path = "/health"              # http(s) only; default "/"
//! host = "www.example.test"     # http(s) only: Host header and TLS server name
//! expect_status = [200]         # http(s) only; default [200]
//! expect_body = "ok"            # http(s) only; optional substring of the body
//! interval = "1s"               # default "1s"
//! timeout = "500ms"             # default "500ms"; must be shorter than interval
//! fall = 3                      # default 3
//! rise = 2                      # default 2
//! tls_verify = true             # https only; default true; false skips certificate checks
//! [[pool.endpoint]]
//! address = "192.0.2.1"         # IPv4 serves A, IPv6 serves AAAA
//! priority = 1                  # default 1; lower numbers are preferred
//! weight = 1                    # default 1; at least 1 under policy "weighted"
//! check_address = "10.0.0.1"    # optional: probe this address instead of `address`
//! ```
//!
//! Options that only mean something for another check kind (a `path` on a tcp check, a
//! `port` on an icmp check, `tls_verify = false` on plain http) are refused rather than
//! silently ignored, so that nobody believes something is checked that is not.

use crate::name::Name;
use serde::{Deserialize, Deserializer};
use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

/// `ttl` when omitted.
pub const DEFAULT_TTL: u32 = 30;
/// The largest TTL a pool may serve (RFC 2181 section 8).
pub const MAX_TTL: u32 = 0x7fff_ffff;
/// `check.path` when omitted.
pub const DEFAULT_PATH: &str = "/";
/// `check.expect_status` when omitted.
pub const DEFAULT_EXPECT_STATUS: u16 = 200;
/// `check.interval` when omitted.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(1);
/// `check.timeout` when omitted.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(500);
/// `check.fall` when omitted.
pub const DEFAULT_FALL: u32 = 3;
/// `check.rise` when omitted.
pub const DEFAULT_RISE: u32 = 2;
/// `check.port` for http when omitted.
pub const DEFAULT_HTTP_PORT: u16 = 80;
/// `check.port` for https when omitted.
pub const DEFAULT_HTTPS_PORT: u16 = 443;

/// One `[[pool]]` table: a name whose A and AAAA answers follow the health of endpoints.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolConfig {
    /// The owner name, as written (`"www.example.test."`); see [`PoolConfig::owner`].
    pub name: String,
    #[serde(default = "default_ttl")]
    pub ttl: u32,
    /// The TTL while the pool is not fully healthy on its top tier; `ttl` when absent.
    #[serde(default)]
    pub ttl_degraded: Option<u32>,
    #[serde(default)]
    pub policy: Policy,
    #[serde(default)]
    pub failback: Failback,
    #[serde(default)]
    pub when_all_down: WhenAllDown,
    pub check: CheckConfig,
    /// In file order; a missing list is reported by `validate`, not by the parser.
    #[serde(default, rename = "endpoint")]
    pub endpoints: Vec<EndpointConfig>,
}

/// Which healthy endpoints of the active priority tier answer, and how.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Policy {
    /// Every healthy endpoint of the tier, in file order.
    #[default]
    Failover,
    /// Every healthy endpoint of the tier, the order rotating from query to query.
    All,
    /// One healthy endpoint of the tier per query, chosen in proportion to its weight.
    Weighted,
}

/// Whether the pool returns to a better tier by itself once that tier is up again.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Failback {
    /// As soon as a better tier has an endpoint up.
    #[default]
    Auto,
    /// Only when an operator releases the pool.
    Manual,
}

/// What a pool serves when none of its endpoints is up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WhenAllDown {
    /// Every endpoint: a dead answer may still beat none.
    #[default]
    ServeAll,
    /// The endpoints of the top (lowest-numbered) priority tier.
    ServePrimary,
    /// No address at all (NOERROR, empty answer).
    Nodata,
}

/// How endpoints are probed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckKind {
    Http,
    Https,
    Tcp,
    Icmp,
}

/// The `[pool.check]` table.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckConfig {
    pub kind: CheckKind,
    /// As written; [`CheckConfig::target_port`] applies the http and https defaults.
    #[serde(default)]
    pub port: Option<u16>,
    #[serde(default = "default_path")]
    pub path: String,
    /// Host header and TLS server name.
    #[serde(default)]
    pub host: Option<String>,
    #[serde(default = "default_expect_status")]
    pub expect_status: Vec<u16>,
    /// A substring the body must contain.
    #[serde(default)]
    pub expect_body: Option<String>,
    #[serde(default = "default_interval", deserialize_with = "duration")]
    pub interval: Duration,
    #[serde(default = "default_timeout", deserialize_with = "duration")]
    pub timeout: Duration,
    #[serde(default = "default_fall")]
    pub fall: u32,
    #[serde(default = "default_rise")]
    pub rise: u32,
    /// Whether https checks verify the certificate chain and the server name.
    #[serde(default = "default_tls_verify")]
    pub tls_verify: bool,
}

/// One `[[pool.endpoint]]` table.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointConfig {
    /// The address served: IPv4 in A answers, IPv6 in AAAA answers.
    pub address: IpAddr,
    #[serde(default = "default_priority")]
    pub priority: u32,
    #[serde(default = "default_weight")]
    pub weight: u32,
    /// The address probed instead of `address`.
    #[serde(default)]
    pub check_address: Option<IpAddr>,
}

/// One mistake in a pool, with where it is so the caller can point at a line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolProblem {
    /// Index of the pool in the file's `[[pool]]` list (0 from [`PoolConfig::validate`]).
    pub pool: usize,
    /// Index of the `[[pool.endpoint]]` at fault, if the problem is in one.
    pub endpoint: Option<usize>,
    /// The key at fault, as written in the file: `"check.timeout"`, `"endpoint.weight"`.
    pub key: &'static str,
    /// A complete message naming the pool and the key.
    pub message: String,
}

impl fmt::Display for PoolProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl PoolConfig {
    /// The pool's owner name, `None` when `name` is not a valid domain name.
    pub fn owner(&self) -> Option<Name> {
        Name::from_text(&self.name)
    }

    /// The TTL served while the pool is degraded.
    pub fn degraded_ttl(&self) -> u32 {
        self.ttl_degraded.unwrap_or(self.ttl)
    }

    /// Every problem in this pool alone (see [`validate_pools`] for problems across pools).
    pub fn validate(&self) -> Vec<PoolProblem> {
        let mut report = Report {
            pool_index: 0,
            pool: self,
            problems: Vec::new(),
        };
        report.pool_keys();
        report.check_keys();
        report.endpoints();
        report.problems
    }
}

impl CheckConfig {
    /// The port probed: `port` if given, else 80 for http and 443 for https; `None` for
    /// icmp (and for tcp without a port, which `validate` refuses).
    pub fn target_port(&self) -> Option<u16> {
        match self.kind {
            CheckKind::Http => Some(self.port.unwrap_or(DEFAULT_HTTP_PORT)),
            CheckKind::Https => Some(self.port.unwrap_or(DEFAULT_HTTPS_PORT)),
            CheckKind::Tcp => self.port,
            CheckKind::Icmp => None,
        }
    }
}

impl CheckKind {
    /// The name as written in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckKind::Http => "http",
            CheckKind::Https => "https",
            CheckKind::Tcp => "tcp",
            CheckKind::Icmp => "icmp",
        }
    }

    fn is_http(self) -> bool {
        matches!(self, CheckKind::Http | CheckKind::Https)
    }
}

impl EndpointConfig {
    /// The address probed: `check_address` if given, else `address`.
    pub fn check_target(&self) -> IpAddr {
        self.check_address.unwrap_or(self.address)
    }
}

/// Every problem in every pool, plus those across pools (the same name twice).
pub fn validate_pools(pools: &[PoolConfig]) -> Vec<PoolProblem> {
    let mut problems = Vec::new();
    let mut seen: HashMap<Name, usize> = HashMap::new();
    for (index, pool) in pools.iter().enumerate() {
        problems.extend(
            pool.validate()
                .into_iter()
                .map(|p| PoolProblem { pool: index, ..p }),
        );
        let Some(owner) = pool.owner() else { continue };
        if let Some(first) = seen.insert(owner, index) {
            problems.push(PoolProblem {
                pool: index,
                endpoint: None,
                key: "name",
                message: format!(
                    "pool {:?}: name: another pool (number {}) already has this name",
                    pool.name,
                    first + 1
                ),
            });
        }
    }
    problems
}

/// Collects the problems of one pool.
struct Report<'a> {
    pool_index: usize,
    pool: &'a PoolConfig,
    problems: Vec<PoolProblem>,
}

impl Report<'_> {
    fn problem(&mut self, key: &'static str, text: String) {
        self.problems.push(PoolProblem {
            pool: self.pool_index,
            endpoint: None,
            key,
            message: format!("pool {:?}: {key}: {text}", self.pool.name),
        });
    }

    fn endpoint_problem(&mut self, index: usize, key: &'static str, text: String) {
        let endpoint = &self.pool.endpoints[index];
        self.problems.push(PoolProblem {
            pool: self.pool_index,
            endpoint: Some(index),
            key,
            message: format!(
                "pool {:?}: endpoint {} ({}): {}: {text}",
                self.pool.name,
                index + 1,
                endpoint.address,
                key.trim_start_matches("endpoint."),
            ),
        });
    }

    fn pool_keys(&mut self) {
        let pool = self.pool;
        if pool.owner().is_none() {
            self.problem(
                "name",
                format!("{:?} is not a valid domain name", pool.name),
            );
        }
        if pool.ttl > MAX_TTL {
            self.problem("ttl", format!("at most {MAX_TTL}"));
        }
        if let Some(degraded) = pool.ttl_degraded {
            if degraded > pool.ttl {
                self.problem(
                    "ttl_degraded",
                    format!(
                        "{degraded} is longer than ttl ({}); it is meant to be shorter",
                        pool.ttl
                    ),
                );
            }
        }
    }

    fn check_keys(&mut self) {
        let check = &self.pool.check;
        let kind = check.kind.as_str();
        if check.fall == 0 {
            self.problem("check.fall", "must be at least 1".to_string());
        }
        if check.rise == 0 {
            self.problem("check.rise", "must be at least 1".to_string());
        }
        if check.interval.is_zero() {
            self.problem("check.interval", "must be more than zero".to_string());
        }
        if check.timeout.is_zero() {
            self.problem("check.timeout", "must be more than zero".to_string());
        } else if check.timeout >= check.interval && !check.interval.is_zero() {
            self.problem(
                "check.timeout",
                format!(
                    "{:?} must be shorter than check.interval ({:?})",
                    check.timeout, check.interval
                ),
            );
        }
        match (check.kind, check.port) {
            (CheckKind::Tcp, None) => self.problem(
                "check.port",
                "a tcp check needs the port to connect to".to_string(),
            ),
            (CheckKind::Icmp, Some(_)) => self.problem(
                "check.port",
                "an icmp check has no port; remove it".to_string(),
            ),
            (_, Some(0)) => self.problem("check.port", "must be 1 to 65535".to_string()),
            _ => {}
        }
        if check.kind.is_http() {
            self.http_keys();
        } else {
            let only_http = || format!("applies only to http and https checks, not {kind}");
            if check.path != DEFAULT_PATH {
                self.problem("check.path", only_http());
            }
            if check.host.is_some() {
                self.problem("check.host", only_http());
            }
            if check.expect_status != [DEFAULT_EXPECT_STATUS] {
                self.problem("check.expect_status", only_http());
            }
            if check.expect_body.is_some() {
                self.problem("check.expect_body", only_http());
            }
        }
        if !check.tls_verify && check.kind != CheckKind::Https {
            self.problem(
                "check.tls_verify",
                format!("applies only to https checks, not {kind}"),
            );
        }
    }

    fn http_keys(&mut self) {
        let check = &self.pool.check;
        if !check.path.starts_with('/') || check.path.chars().any(|c| c.is_ascii_whitespace()) {
            self.problem(
                "check.path",
                format!(
                    "{:?} must start with \"/\" and contain no spaces",
                    check.path
                ),
            );
        }
        if let Some(host) = &check.host {
            let bad = |c: char| c.is_whitespace() || c.is_control() || c == '/';
            if host.is_empty() || host.chars().any(bad) {
                self.problem("check.host", format!("{host:?} is not a host name"));
            }
        }
        if check.expect_status.is_empty() {
            self.problem(
                "check.expect_status",
                "give at least one status code".to_string(),
            );
        }
        for &status in &check.expect_status {
            if !(100..=599).contains(&status) {
                self.problem(
                    "check.expect_status",
                    format!("{status} is not an HTTP status code (100 to 599)"),
                );
            }
        }
        if check.expect_body.as_deref() == Some("") {
            self.problem(
                "check.expect_body",
                "is empty; remove it to accept any body".to_string(),
            );
        }
    }

    fn endpoints(&mut self) {
        let pool = self.pool;
        if pool.endpoints.is_empty() {
            self.problem(
                "endpoint",
                "the pool has no endpoints; add at least one [[pool.endpoint]]".to_string(),
            );
        }
        let mut seen: HashMap<IpAddr, usize> = HashMap::new();
        for (index, endpoint) in pool.endpoints.iter().enumerate() {
            if let Some(first) = seen.insert(endpoint.address, index) {
                self.endpoint_problem(
                    index,
                    "endpoint.address",
                    format!("also the address of endpoint {}", first + 1),
                );
            }
            if pool.policy == Policy::Weighted && endpoint.weight == 0 {
                self.endpoint_problem(
                    index,
                    "endpoint.weight",
                    "must be at least 1 under policy \"weighted\"".to_string(),
                );
            }
            let unspecified = |a: IpAddr| a.is_unspecified() || a.is_multicast();
            if unspecified(endpoint.address) {
                self.endpoint_problem(
                    index,
                    "endpoint.address",
                    "an unspecified or multicast address cannot be served".to_string(),
                );
            }
            if endpoint.check_address.is_some_and(unspecified) {
                self.endpoint_problem(
                    index,
                    "endpoint.check_address",
                    "an unspecified or multicast address cannot be probed".to_string(),
                );
            }
        }
    }
}

fn duration<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(deserializer)?;
    crate::config::parse_duration(&text).map_err(serde::de::Error::custom)
}

fn default_ttl() -> u32 {
    DEFAULT_TTL
}
fn default_path() -> String {
    DEFAULT_PATH.to_string()
}
fn default_expect_status() -> Vec<u16> {
    vec![DEFAULT_EXPECT_STATUS]
}
fn default_interval() -> Duration {
    DEFAULT_INTERVAL
}
fn default_timeout() -> Duration {
    DEFAULT_TIMEOUT
}
fn default_fall() -> u32 {
    DEFAULT_FALL
}
fn default_rise() -> u32 {
    DEFAULT_RISE
}
fn default_tls_verify() -> bool {
    true
}
fn default_priority() -> u32 {
    1
}
fn default_weight() -> u32 {
    1
}

#[cfg(test)]
mod tests;
