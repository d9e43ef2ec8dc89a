//! Results in: the local checks' outcomes and the probe agents' reports each update one
//! checker's view of an endpoint and the endpoint's verdict; a sweep at the moment a view
//! turns stale recomputes the verdicts that depended on it.

use super::{Failover, NotConfigured};
use crate::health::quorum::{Changes, QuorumChange};
use crate::name::Name;
use crate::probe::CheckOutcome;
use crate::probe::EndpointKey;
use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// One result of a probe agent, as the failover core takes it.
#[derive(Clone, Debug, PartialEq)]
pub struct Observation {
    pub key: EndpointKey,
    pub outcome: CheckOutcome,
    /// When the checker says it ran the check (Unix seconds, its own clock, shown only).
    pub reported_at: Option<f64>,
}

/// What one report of a checker did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReportTally {
    /// Results applied to an endpoint.
    pub accepted: u64,
    /// Results for pools or endpoints not configured here.
    pub ignored: u64,
    /// The pools whose endpoints changed state (each then needs [`Failover::decide`]).
    pub changed: BTreeSet<usize>,
}

impl Failover {
    /// Applies one report of checker `checker` (an index into [`Fleet::names`]) received
    /// at `now`: every observation updates that checker's view, and the report is counted.
    /// `unreadable` results (naming no pool at all) count as ignored.
    ///
    /// [`Fleet::names`]: super::fleet::Fleet::names
    pub fn apply_report(
        &mut self,
        checker: usize,
        observations: &[Observation],
        unreadable: u64,
        now: Instant,
    ) -> ReportTally {
        let mut tally = ReportTally {
            ignored: unreadable,
            ..ReportTally::default()
        };
        for observation in observations {
            let key = &observation.key;
            match self.observe_from(
                checker,
                key,
                &observation.outcome,
                now,
                observation.reported_at,
            ) {
                Ok(pool) => {
                    tally.accepted += 1;
                    tally.changed.extend(pool);
                }
                Err(NotConfigured) => tally.ignored += 1,
            }
        }
        self.count_report(checker, tally.accepted, tally.ignored, now);
        tally
    }

    /// Feeds one outcome of the local checks; returns the pool's index when its endpoint
    /// changed state (the pool then needs [`Failover::decide`]). Outcomes for unknown keys,
    /// or while the local checks are switched off, are ignored.
    pub fn observe(
        &mut self,
        key: &EndpointKey,
        outcome: &CheckOutcome,
        at: Instant,
    ) -> Option<usize> {
        let local = self.fleet.local()?;
        self.observe_from(local, key, outcome, at, None)
            .ok()
            .flatten()
    }

    /// Feeds one outcome of checker `checker` (an index into [`Fleet::names`]) received at
    /// `at`; `reported_at` is when the checker says it ran the check (Unix seconds, its own
    /// clock, shown only). Returns the pool's index when the endpoint's verdict changed.
    pub fn observe_from(
        &mut self,
        checker: usize,
        key: &EndpointKey,
        outcome: &CheckOutcome,
        at: Instant,
        reported_at: Option<f64>,
    ) -> Result<Option<usize>, NotConfigured> {
        let pool_index = *self.by_name.get(&key.pool).ok_or(NotConfigured)?;
        let pool = &mut self.pools[pool_index];
        let endpoint_index = pool
            .config
            .endpoints
            .iter()
            .position(|e| e.address == key.address)
            .ok_or(NotConfigured)?;
        let names = self.fleet.names();
        let endpoint = &mut pool.endpoints[endpoint_index];
        let result = endpoint.count(outcome);
        endpoint.last_checker = Some(checker);
        let changes = endpoint
            .verdict
            .observe(checker, result, at, reported_at, &pool.rule, names);
        let deadline = at + pool.rule.stale_after + Duration::from_millis(1);
        self.next_sweep = Some(self.next_sweep.map_or(deadline, |d| d.min(deadline)));
        let pool_name = &self.pools[pool_index].owner;
        let checker_name = names.get(checker).map(String::as_str);
        let changed = log_changes(pool_name, key.address, checker_name, changes, names.len());
        Ok(changed.then_some(pool_index))
    }

    /// Counts one report of checker `checker`: `applied` results used, `ignored` not.
    pub fn count_report(&mut self, checker: usize, applied: u64, ignored: u64, at: Instant) {
        if let Some(counters) = self.counters.get_mut(checker) {
            counters.reports += 1;
            counters.results += applied;
            counters.ignored += ignored;
            counters.last_report = Some(at);
        }
    }

    /// When the next checker view turns stale, if any will.
    pub fn next_sweep(&self) -> Option<Instant> {
        self.next_sweep
    }

    /// Recomputes every endpoint's verdict at `now`, for views that went stale since their
    /// last result; returns the pools whose endpoints changed state.
    pub fn sweep(&mut self, now: Instant) -> Vec<usize> {
        let mut changed = Vec::new();
        let names = self.fleet.names();
        for (index, pool) in self.pools.iter_mut().enumerate() {
            let mut any = false;
            for (config, endpoint) in pool.config.endpoints.iter().zip(&mut pool.endpoints) {
                let changes = endpoint.verdict.evaluate(now, &pool.rule, names);
                any |= log_changes(&pool.owner, config.address, None, changes, names.len());
            }
            if any {
                changed.push(index);
            }
        }
        self.next_sweep = self.compute_next_sweep(now);
        changed
    }

    pub(super) fn compute_next_sweep(&self, now: Instant) -> Option<Instant> {
        self.pools
            .iter()
            .flat_map(|pool| {
                pool.endpoints
                    .iter()
                    .filter_map(move |e| e.verdict.next_stale(now, &pool.rule))
            })
            .min()
    }
}

/// Logs what one result or freshness sweep changed for endpoint `address` of `pool`
/// (`checker` names the reporting checker; `checkers` is the fleet's size). Returns whether
/// the endpoint's verdict changed.
fn log_changes(
    pool: &Name,
    address: IpAddr,
    checker: Option<&str>,
    changes: Changes,
    checkers: usize,
) -> bool {
    if let (Some(view), Some(checker)) = (&changes.view, checker) {
        if checkers > 1 {
            tracing::info!(
                pool = %pool, endpoint = %address, checker = %checker, from = %view.from, to = %view.to,
                reason = %view.reason, "checker view changed"
            );
        }
    }
    match &changes.quorum {
        Some(QuorumChange::Lost(why)) => {
            tracing::warn!(pool = %pool, endpoint = %address, verdict = %why, "endpoint lost its quorum")
        }
        Some(QuorumChange::Regained(why)) => {
            tracing::info!(pool = %pool, endpoint = %address, verdict = %why, "endpoint has a quorum again")
        }
        None => {}
    }
    let Some(transition) = changes.verdict else {
        return false;
    };
    tracing::info!(
        pool = %pool, endpoint = %address, from = %transition.from, to = %transition.to,
        reason = %transition.reason, "endpoint health changed"
    );
    true
}
