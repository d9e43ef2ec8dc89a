//! Building the status snapshot of every pool, endpoint and checker view for the control
//! plane, at a moment the caller passes in.

use super::status::{
    CheckerStatus, CheckerViewStatus, EndpointStatus, LastCheckStatus, PoolStatus, QuorumStatus,
    RouteStatus,
};
use super::{Endpoint, Failover, Pool};
use crate::config::pool::{EndpointConfig, Failback, Policy, WhenAllDown};
use crate::health::decide::PoolDecider;
use crate::health::quorum::CheckerView;
use std::time::{Instant, UNIX_EPOCH};

impl Failover {
    /// A snapshot of every pool at `now`, for the control plane.
    pub fn status(&self, now: Instant) -> Vec<PoolStatus> {
        self.pools
            .iter()
            .map(|pool| self.pool_status(pool, now))
            .collect()
    }

    /// Every checker with its report counters at `now`.
    pub fn checker_status(&self, now: Instant) -> Vec<CheckerStatus> {
        let local = self.fleet.local();
        self.fleet
            .names()
            .iter()
            .zip(&self.counters)
            .enumerate()
            .map(|(index, (name, counters))| CheckerStatus {
                name: name.clone(),
                local: Some(index) == local,
                reports: counters.reports,
                results: counters.results,
                ignored: counters.ignored,
                last_report_age_seconds: counters
                    .last_report
                    .map(|at| now.saturating_duration_since(at).as_secs_f64()),
            })
            .collect()
    }

    /// `at` as Unix seconds.
    fn unix(&self, at: Instant) -> f64 {
        let (instant, system) = self.epoch;
        let wall = match at.checked_duration_since(instant) {
            Some(after) => system + after,
            None => system - instant.duration_since(at),
        };
        wall.duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64())
    }

    fn pool_status(&self, pool: &Pool, now: Instant) -> PoolStatus {
        let decision = pool.deciders[0].last();
        // Every endpoint some route serves, by the pool's endpoint index.
        let mut served: Vec<usize> = Vec::new();
        for decider in &pool.deciders {
            for &member in decider.last().map_or(&[][..], |d| &d.served[..]) {
                let index = decider.endpoint_index()[member];
                if !served.contains(&index) {
                    served.push(index);
                }
            }
        }
        let routes = match pool.config.routes.is_empty() {
            true => Vec::new(),
            false => (pool.deciders.iter().enumerate())
                .map(|(route, decider)| route_status(pool, route, decider))
                .collect(),
        };
        let endpoints = (pool.config.endpoints.iter().zip(&pool.endpoints))
            .enumerate()
            .map(|(i, (config, endpoint))| {
                self.endpoint_status(pool, config, endpoint, served.contains(&i), now)
            })
            .collect();
        PoolStatus {
            name: pool.config.name.clone(),
            policy: match pool.config.policy {
                Policy::Failover => "failover",
                Policy::All => "all",
                Policy::Weighted => "weighted",
            },
            failback: match pool.config.failback {
                Failback::Auto => "auto",
                Failback::Manual => "manual",
            },
            when_all_down: match pool.config.when_all_down {
                WhenAllDown::ServeAll => "serve-all",
                WhenAllDown::ServePrimary => "serve-primary",
                WhenAllDown::Nodata => "nodata",
            },
            active_tier: decision.and_then(|d| d.tier),
            latched_tier: pool.deciders[0].latch(),
            ttl: decision.map_or(pool.config.ttl, |d| d.ttl),
            degraded: decision.is_some_and(|d| d.degraded),
            all_down: decision.is_some_and(|d| d.all_down),
            serving: served
                .iter()
                .map(|&i| pool.config.endpoints[i].address)
                .collect(),
            failovers: pool.failovers,
            endpoints,
            routes,
        }
    }
}

/// The status of route `route` of a pool with routes.
fn route_status(pool: &Pool, route: usize, decider: &PoolDecider) -> RouteStatus {
    let config = &pool.config.routes[route];
    let decision = decider.last();
    let site = decision
        .and_then(|d| d.tier)
        .and_then(|t| decider.tier_site(t))
        .map(str::to_string);
    let first = config.sites.first();
    let reason = match (decision, &site) {
        (None, _) => "not decided yet".to_string(),
        (Some(d), _) if d.all_down => format!(
            "every endpoint of {} is down: when_all_down decides",
            config.sites.join(", ")
        ),
        (Some(_), Some(site)) if Some(site) == first => {
            format!("{site} is its first site and has a serving endpoint")
        }
        (Some(_), Some(site)) => {
            let down: Vec<&str> = (config.sites.iter())
                .take_while(|s| *s != site)
                .map(String::as_str)
                .collect();
            format!("failed over: {} has no serving endpoint", down.join(", "))
        }
        (Some(_), None) => "serving no site".to_string(),
    };
    RouteStatus {
        route: route + 1,
        matches: config.matches.iter().map(ToString::to_string).collect(),
        sites: config.sites.clone(),
        tier: decision.and_then(|d| d.tier).map(|t| decider.tier_name(t)),
        site,
        degraded: decision.is_some_and(|d| d.degraded),
        all_down: decision.is_some_and(|d| d.all_down),
        ttl: decision.map_or(pool.config.ttl, |d| d.ttl),
        serving: decision.map_or_else(Vec::new, |d| {
            (d.served.iter())
                .map(|&m| pool.config.endpoints[decider.endpoint_index()[m]].address)
                .collect()
        }),
        reason,
    }
}

impl Failover {
    fn endpoint_status(
        &self,
        pool: &Pool,
        config: &EndpointConfig,
        endpoint: &Endpoint,
        serving: bool,
        now: Instant,
    ) -> EndpointStatus {
        let verdict = &endpoint.verdict;
        let names = self.fleet.names();
        let tally = verdict.tally(now, &pool.rule);
        let latest = endpoint
            .last_checker
            .and_then(|i| Some((names.get(i)?, verdict.views().get(i)?)));
        let checkers = names
            .iter()
            .zip(verdict.views())
            .map(|(name, view)| self.view_status(name, view, pool, now))
            .collect();
        EndpointStatus {
            address: config.address,
            check_address: config.check_target(),
            priority: config.priority,
            weight: config.weight,
            state: verdict.effective().as_str(),
            checked_state: verdict.checked().as_str(),
            override_state: verdict.override_value().map(|o| o.health().as_str()),
            reason: verdict.reason().to_string(),
            since: self.unix(verdict.since()),
            serving,
            consecutive_successes: latest.map_or(0, |(_, v)| v.health().successes()),
            consecutive_failures: latest.map_or(0, |(_, v)| v.health().failures()),
            last_check: latest.and_then(|(name, view)| self.last_result(view, Some(name))),
            checks: endpoint.checks,
            failures: endpoint.failures.clone(),
            duration_buckets: endpoint.latency.counts().to_vec(),
            duration_sum_seconds: endpoint.latency.sum_seconds(),
            quorum: QuorumStatus {
                needed: tally.quorum,
                met: tally.decided().is_some(),
                fresh: tally.fresh(),
                up: tally.up,
                down: tally.down,
                stale: tally.stale,
                stale_after_seconds: pool.rule.stale_after.as_secs_f64(),
                verdict: verdict.explain(now, &pool.rule, names),
            },
            checkers,
        }
    }

    fn view_status(
        &self,
        name: &str,
        view: &CheckerView,
        pool: &Pool,
        now: Instant,
    ) -> CheckerViewStatus {
        let health = view.health();
        CheckerViewStatus {
            checker: name.to_string(),
            state: health.checked().as_str(),
            fresh: view.is_fresh(now, pool.rule.stale_after),
            age_seconds: view
                .received()
                .map(|at| now.saturating_duration_since(at).as_secs_f64()),
            reason: health.reason().to_string(),
            consecutive_successes: health.successes(),
            consecutive_failures: health.failures(),
            last_result: self.last_result(view, None),
        }
    }

    fn last_result(&self, view: &CheckerView, checker: Option<&String>) -> Option<LastCheckStatus> {
        let last = view.health().last_check()?;
        Some(LastCheckStatus {
            ok: last.result.is_success(),
            latency_ms: last.result.latency.as_secs_f64() * 1000.0,
            error: last.result.error.clone(),
            at: self.unix(last.at),
            checker: checker.cloned(),
            reported_at: view.reported_at(),
        })
    }
}
