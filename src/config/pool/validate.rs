//! Validation of `[[pool]]` tables: every mistake, each naming the pool and the key.

use super::super::geo::{Matcher, MAX_ROUTES};
use super::{
    CheckKind, Failback, Policy, PoolConfig, PoolProblem, DEFAULT_EXPECT_STATUS, DEFAULT_PATH,
    MAX_TTL, MIN_FAST_INTERVAL,
};
use crate::name::Name;
use std::collections::{HashMap, HashSet};
use std::time::Duration;

/// The shortest `check.interval` accepted.
pub const MIN_INTERVAL: Duration = Duration::from_millis(10);
/// The longest `check.interval` accepted.
pub const MAX_INTERVAL: Duration = Duration::from_secs(3600);
/// The largest `check.fall` and `check.rise`.
pub const MAX_FALL_RISE: u32 = 1000;
use std::net::IpAddr;

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
        for (key, value) in [("check.fall", check.fall), ("check.rise", check.rise)] {
            if !(1..=MAX_FALL_RISE).contains(&value) {
                self.problem(key, format!("must be from 1 to {MAX_FALL_RISE}"));
            }
        }
        if check.interval < MIN_INTERVAL || check.interval > MAX_INTERVAL {
            self.problem(
                "check.interval",
                format!(
                    "{:?} is out of range: from {MIN_INTERVAL:?} to {MAX_INTERVAL:?} (a shorter \
                     one floods the endpoint with checks)",
                    check.interval
                ),
            );
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
        if let Some(fast) = check.fast_interval_setting {
            if fast < MIN_FAST_INTERVAL || fast > check.interval {
                self.problem(
                    "check.fast_interval",
                    format!(
                        "{fast:?} is out of range: from {MIN_FAST_INTERVAL:?} to check.interval \
                         ({:?}); it is the quicker interval that confirms a change",
                        check.interval
                    ),
                );
            }
        }
        if check.quorum == 0 {
            self.problem("check.quorum", "must be at least 1".to_string());
        }
        if check.stale_after() <= check.interval && !check.interval.is_zero() {
            self.problem(
                "check.stale_after",
                format!(
                    "{:?} must be longer than check.interval ({:?}), or every checker would \
                     count as stale between two of its checks",
                    check.stale_after(),
                    check.interval
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
        if check.ca_file.is_some() && check.kind != CheckKind::Https {
            self.problem(
                "check.ca_file",
                format!("applies only to https checks, not {kind}"),
            );
        } else if check.ca_file.is_some() && !check.tls_verify {
            self.problem(
                "check.ca_file",
                "has no effect with tls_verify = false (no certificate is checked); remove one"
                    .to_string(),
            );
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

impl Report<'_> {
    /// Routes: each names sites that endpoints have, the last takes `default`, and every
    /// endpoint of a routed pool has a site.
    fn routes(&mut self) {
        let pool = self.pool;
        if pool.routes.is_empty() {
            return;
        }
        if pool.routes.len() > MAX_ROUTES {
            self.problem("route", format!("at most {MAX_ROUTES} routes"));
        }
        if pool.failback == Failback::Manual {
            self.problem(
                "failback",
                "\"manual\" is not supported with routes yet (each route fails over and back \
                 by itself); use \"auto\""
                    .to_string(),
            );
        }
        for (index, endpoint) in pool.endpoints.iter().enumerate() {
            if endpoint.site.is_none() {
                self.endpoint_problem(
                    index,
                    "endpoint.site",
                    "a pool with routes needs the site of every endpoint".to_string(),
                );
            }
        }
        let known: HashSet<&str> = pool
            .endpoints
            .iter()
            .filter_map(|e| e.site.as_deref())
            .collect();
        let last = pool.routes.len() - 1;
        for (number, route) in pool.routes.iter().enumerate() {
            let name = format!("route {}", number + 1);
            if route.matches.is_empty() {
                self.problem("route.match", format!("{name}: give at least one match"));
            }
            if route.sites.is_empty() {
                self.problem("route.sites", format!("{name}: give at least one site"));
            }
            let mut seen = HashSet::new();
            for site in &route.sites {
                if !known.contains(site.as_str()) {
                    self.problem(
                        "route.sites",
                        format!("{name}: no endpoint has site {site:?}"),
                    );
                }
                if !seen.insert(site) {
                    self.problem("route.sites", format!("{name}: {site:?} is listed twice"));
                }
            }
            let is_default = route.matches.contains(&Matcher::Default);
            if is_default && number != last {
                self.problem(
                    "route.match",
                    format!(
                        "{name} matches \"default\", so the routes after it are never used; \
                         make it the last route"
                    ),
                );
            }
            if !is_default && number == last {
                self.problem(
                    "route.match",
                    format!(
                        "{name}, the last route, must match \"default\", so that every client \
                         has a route"
                    ),
                );
            }
        }
    }
}

/// Every problem in one pool, numbered as pool 0.
pub(super) fn pool(pool: &PoolConfig) -> Vec<PoolProblem> {
    let mut report = Report {
        pool_index: 0,
        pool,
        problems: Vec::new(),
    };
    report.pool_keys();
    report.check_keys();
    report.endpoints();
    report.routes();
    report.problems
}
