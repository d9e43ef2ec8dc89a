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
//! fast_interval = "250ms"       # default interval / 4 (at least 10ms): the next check
//!                               # while a fall or rise streak is under way
//! fall = 3                      # default 3
//! rise = 2                      # default 2
//! tls_verify = true             # https only; default true; false skips certificate checks
//! ca_file = "private-ca.pem"    # https only; optional: CAs trusted besides the system roots
//! quorum = 1                    # default 1: fresh checkers that must agree (MULTI-LOCATION.md)
//! stale_after = "3s"            # default 3 x interval: a checker silent this long does not vote
//! [[pool.endpoint]]
//! address = "192.0.2.1"         # IPv4 serves A, IPv6 serves AAAA
//! priority = 1                  # default 1; lower numbers are preferred
//! weight = 1                    # default 1; at least 1 under policy "weighted"
//! check_address = "10.0.0.1"    # optional: probe this address instead of `address`
//! site = "fra"                  # optional: the site routes name (see `config::geo`)
//! [[pool.route]]                # optional, any number: first match wins (docs/GEO.md)
//! match = ["10.1.0.0/16", "country:DE", "continent:EU", "default"]
//! sites = ["fra", "iad"]        # best first; tiers inside a site, then the next site
//! ```
//!
//! Options that only mean something for another check kind (a `path` on a tcp check, a
//! `port` on an icmp check, `tls_verify = false` on plain http) are refused rather than
//! silently ignored, so that nobody believes something is checked that is not.

mod validate;

pub use validate::validate_pools;

use super::geo::RouteConfig;
use crate::name::Name;
use serde::{Deserialize, Deserializer};
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
/// `check.fast_interval` when omitted: `check.interval` divided by this.
pub const DEFAULT_FAST_DIVISOR: u32 = 4;
/// The shortest `check.fast_interval` (the default never goes below it either).
pub const MIN_FAST_INTERVAL: Duration = Duration::from_millis(10);
/// `check.fall` when omitted.
pub const DEFAULT_FALL: u32 = 3;
/// `check.rise` when omitted.
pub const DEFAULT_RISE: u32 = 2;
/// `check.quorum` when omitted.
pub const DEFAULT_QUORUM: u32 = 1;
/// `check.stale_after` when omitted, in check intervals.
pub const DEFAULT_STALE_INTERVALS: u32 = 3;
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
    /// `[[pool.route]]`: which clients get which sites (docs/GEO.md); none: every client
    /// gets every endpoint by priority, as without sites.
    #[serde(default, rename = "route")]
    pub routes: Vec<RouteConfig>,
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
    /// The interval while a streak is under way (a failure of an up endpoint, a success of
    /// a down one), until `fall` or `rise` confirms it or the streak breaks; see
    /// [`CheckConfig::fast_interval`] for the default.
    #[serde(
        default,
        rename = "fast_interval",
        deserialize_with = "optional_duration"
    )]
    pub fast_interval_setting: Option<Duration>,
    #[serde(default = "default_fall")]
    pub fall: u32,
    #[serde(default = "default_rise")]
    pub rise: u32,
    /// Whether https checks verify the certificate chain and the server name.
    #[serde(default = "default_tls_verify")]
    pub tls_verify: bool,
    /// https only: certificate authorities (PEM) trusted besides the system roots, for
    /// endpoints signed by a private CA; resolved against the configuration's folder.
    #[serde(default)]
    pub ca_file: Option<std::path::PathBuf>,
    /// Fresh checkers that must agree before the endpoint's verdict changes.
    #[serde(default = "default_quorum")]
    pub quorum: u32,
    /// How long a checker may stay silent about an endpoint and still vote; see
    /// [`CheckConfig::stale_after`] for the default.
    #[serde(
        default,
        rename = "stale_after",
        deserialize_with = "optional_duration"
    )]
    pub stale_after_setting: Option<Duration>,
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
    /// The site (data centre, region) the endpoint is in, named by routes.
    #[serde(default)]
    pub site: Option<String>,
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
        validate::pool(self)
    }
}

impl CheckConfig {
    /// `fast_interval` if set, else a quarter of `interval`, never below
    /// [`MIN_FAST_INTERVAL`] nor above `interval`.
    pub fn fast_interval(&self) -> Duration {
        self.fast_interval_setting.unwrap_or_else(|| {
            (self.interval / DEFAULT_FAST_DIVISOR)
                .max(MIN_FAST_INTERVAL)
                .min(self.interval)
        })
    }

    /// `stale_after` if set, else [`DEFAULT_STALE_INTERVALS`] check intervals.
    pub fn stale_after(&self) -> Duration {
        self.stale_after_setting
            .unwrap_or(self.interval * DEFAULT_STALE_INTERVALS)
    }

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

fn duration<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(deserializer)?;
    super::parse_duration(&text).map_err(serde::de::Error::custom)
}

fn optional_duration<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Duration>, D::Error> {
    duration(deserializer).map(Some)
}

fn default_quorum() -> u32 {
    DEFAULT_QUORUM
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
