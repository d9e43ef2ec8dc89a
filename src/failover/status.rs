//! A snapshot of what the failover runtime decided and why: served as JSON by the control
//! API, rendered by `swivel ctl status` and the status page, and read for metrics.

use serde::Serialize;
use std::collections::BTreeMap;
use std::net::IpAddr;

#[derive(Clone, Debug, Default, Serialize)]
pub struct Status {
    pub pools: Vec<PoolStatus>,
    /// New answer tables swapped in since start (health changes and reloads).
    pub table_swaps: u64,
    /// Seconds the last table build took.
    pub table_build_seconds: f64,
    /// Reloads by result ("ok", "error").
    pub reloads: BTreeMap<String, u64>,
    /// Every checker whose views endpoints keep: `local` and the probe agents.
    pub checkers: Vec<CheckerStatus>,
}

/// One checker as the responder sees it.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CheckerStatus {
    pub name: String,
    /// The responder's own checks (`local`) rather than a probe agent.
    pub local: bool,
    /// Report batches received (for `local`: results).
    pub reports: u64,
    /// Results applied to an endpoint.
    pub results: u64,
    /// Results for pools or endpoints this responder does not have.
    pub ignored: u64,
    /// Seconds since the latest report arrived; none before the first.
    pub last_report_age_seconds: Option<f64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct PoolStatus {
    pub name: String,
    pub policy: &'static str,
    pub failback: &'static str,
    pub when_all_down: &'static str,
    /// The priority tier served now; none when every endpoint is down.
    pub active_tier: Option<u32>,
    /// The tier a manual-failback pool is held on until released.
    pub latched_tier: Option<u32>,
    /// The TTL of the pool's answers now.
    pub ttl: u32,
    pub degraded: bool,
    pub all_down: bool,
    /// The addresses in the pool's answers now.
    pub serving: Vec<IpAddr>,
    /// Times the active tier changed since start (of any route).
    pub failovers: u64,
    pub endpoints: Vec<EndpointStatus>,
    /// A pool with routes: each route, which site serves it now and why (empty without
    /// routes; the fields above then describe the first route, and `serving` every route).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<RouteStatus>,
}

/// One route of a pool: who it takes, and which site serves them now.
#[derive(Clone, Debug, Serialize)]
pub struct RouteStatus {
    /// 1 for the first route.
    pub route: usize,
    #[serde(rename = "match")]
    pub matches: Vec<String>,
    /// The route's sites, best first.
    pub sites: Vec<String>,
    /// The site serving the route now; none when every endpoint of its sites is down.
    pub site: Option<String>,
    /// The tier served, as logs name it (`site fra`, `site fra priority 2`).
    pub tier: Option<String>,
    pub degraded: bool,
    pub all_down: bool,
    pub ttl: u32,
    pub serving: Vec<IpAddr>,
    /// Why this site serves.
    pub reason: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct EndpointStatus {
    pub address: IpAddr,
    pub check_address: IpAddr,
    pub priority: u32,
    pub weight: u32,
    /// "up", "down" or "unknown": the override if set, else what the checks say.
    pub state: &'static str,
    /// What the checks say, ignoring the override.
    pub checked_state: &'static str,
    /// "up" or "down" when an operator forced it.
    #[serde(rename = "override")]
    pub override_state: Option<&'static str>,
    /// Why it is in its state.
    pub reason: String,
    /// When it entered its checked state (Unix seconds).
    pub since: f64,
    pub serving: bool,
    pub consecutive_successes: u32,
    pub consecutive_failures: u32,
    pub last_check: Option<LastCheckStatus>,
    /// Checks since start, and failures by reason.
    pub checks: u64,
    pub failures: BTreeMap<&'static str, u64>,
    /// Check durations: counts per bucket of [`crate::probe::LatencyHistogram::BOUNDS`] (not cumulative),
    /// then the count above the last bound.
    pub duration_buckets: Vec<u64>,
    pub duration_sum_seconds: f64,
    /// The quorum verdict and why it is what it is.
    pub quorum: QuorumStatus,
    /// Every checker's view of the endpoint, in the order of [`Status::checkers`].
    pub checkers: Vec<CheckerViewStatus>,
}

/// The votes behind an endpoint's checked state.
#[derive(Clone, Debug, Serialize)]
pub struct QuorumStatus {
    /// Fresh checkers that must agree (`[pool.check] quorum`).
    pub needed: u32,
    /// Whether enough fresh checkers agree now; when not, the last verdict is kept.
    pub met: bool,
    pub fresh: u32,
    pub up: u32,
    pub down: u32,
    /// Checkers that do not vote: silent for longer than `stale_after_seconds`, or never
    /// heard from.
    pub stale: u32,
    pub stale_after_seconds: f64,
    /// Why, e.g. "down: 2 of 3 fresh checkers see it down (quorum 2)" or "no quorum: 1
    /// fresh checker of 2 needed, keeping up; stale: sin1 (silent for 4.2s)".
    pub verdict: String,
}

/// One checker's view of one endpoint.
#[derive(Clone, Debug, Serialize)]
pub struct CheckerViewStatus {
    pub checker: String,
    /// "up", "down" or "unknown": this checker's own fall/rise state.
    pub state: &'static str,
    /// Whether its latest result is recent enough to vote.
    pub fresh: bool,
    /// Seconds since its latest result arrived; none before the first.
    pub age_seconds: Option<f64>,
    pub reason: String,
    pub consecutive_successes: u32,
    pub consecutive_failures: u32,
    pub last_result: Option<LastCheckStatus>,
}

#[derive(Clone, Debug, Serialize)]
pub struct LastCheckStatus {
    pub ok: bool,
    pub latency_ms: f64,
    pub error: Option<String>,
    /// When it finished (Unix seconds): for a remote checker, when its report arrived.
    pub at: f64,
    /// The checker that sent it (in an endpoint's `last_check`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checker: Option<String>,
    /// When the remote checker says it ran the check (Unix seconds by its own clock).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reported_at: Option<f64>,
}
