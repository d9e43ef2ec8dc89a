//! The failover state of every pool: check outcomes from every checker in (the local
//! probes and the probe agents' reports), one view per checker and endpoint, the quorum
//! verdict per endpoint, pool decisions out, operator overrides and latches applied. No I/O
//! and no clock: the runtime ([`runtime`]) passes time in and turns decisions into new
//! answer tables.

mod checks;
pub mod fleet;
pub mod runtime;
pub mod saved;
mod snapshot;
pub mod status;

use crate::config::pool::PoolConfig;
use crate::geo::RouteMap;
use crate::health::decide::{Decision, PoolDecider};
use crate::health::quorum::{EndpointVerdict, QuorumRule};
use crate::health::state::{CheckResult, Override};
use crate::name::Name;
use crate::probe::scheduler::ProbeTarget;
use crate::probe::{probe_targets, CheckOutcome, EndpointKey, LatencyHistogram};
use crate::table::{PoolAnswer, PoolDef};
pub use checks::{Observation, ReportTally};
use fleet::{CheckerCounters, Fleet};
use saved::{SavedOverride, SavedState};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

/// A pool or endpoint named (by an operator) that this configuration does not have.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NotFound {
    Pool(String),
    Endpoint { pool: String, address: IpAddr },
}

impl fmt::Display for NotFound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotFound::Pool(pool) => write!(f, "no pool named {pool}"),
            NotFound::Endpoint { pool, address } => {
                write!(f, "pool {pool} has no endpoint {address}")
            }
        }
    }
}

impl std::error::Error for NotFound {}

/// A result for a pool or endpoint this responder does not have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotConfigured;

/// One endpoint's verdict (with every checker's view) and check counters over all checkers.
#[derive(Clone, Debug)]
struct Endpoint {
    verdict: EndpointVerdict,
    /// The checker whose result arrived last.
    last_checker: Option<usize>,
    checks: u64,
    failures: BTreeMap<&'static str, u64>,
    latency: LatencyHistogram,
}

impl Endpoint {
    fn new(config: &PoolConfig, checkers: usize, now: Instant) -> Endpoint {
        let check = &config.check;
        Endpoint {
            verdict: EndpointVerdict::new(checkers, check.fall, check.rise, now),
            last_checker: None,
            checks: 0,
            failures: BTreeMap::new(),
            latency: LatencyHistogram::default(),
        }
    }

    /// Counts one result in the endpoint's totals and turns it into a [`CheckResult`].
    fn count(&mut self, outcome: &CheckOutcome) -> CheckResult {
        self.checks += 1;
        self.latency.record(outcome.latency);
        match (&outcome.error, outcome.reason) {
            (None, _) if outcome.ok => CheckResult::success(outcome.latency),
            (error, kind) => {
                let kind = kind.map_or("other", |k| k.as_str());
                *self.failures.entry(kind).or_default() += 1;
                CheckResult::failure(
                    outcome.latency,
                    error.clone().unwrap_or_else(|| kind.to_string()),
                )
            }
        }
    }
}

#[derive(Clone, Debug)]
struct Pool {
    config: PoolConfig,
    owner: Name,
    rule: QuorumRule,
    /// The pool's decider, or one per route for a pool with routes (route order).
    deciders: Vec<PoolDecider>,
    /// Which client gets which route (`None`: every client gets the first).
    routing: Option<Arc<RouteMap>>,
    endpoints: Vec<Endpoint>,
    failovers: u64,
}

/// Every pool's state.
#[derive(Clone, Debug)]
pub struct Failover {
    pools: Vec<Pool>,
    /// Each pool's index by owner name, for results arriving by name.
    by_name: HashMap<Name, usize>,
    fleet: Fleet,
    /// Per checker, indexed like the fleet.
    counters: Vec<CheckerCounters>,
    /// When the next view turns stale: [`Failover::sweep`] is due then.
    next_sweep: Option<Instant>,
    /// A pair of readings of both clocks, to show `Instant`s as wall-clock times.
    epoch: (Instant, SystemTime),
}

/// What [`Failover::decide`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The pool's answer changed: the table needs its new answer.
    pub answer_changed: bool,
    /// The manual-failback latch changed: the saved state needs writing.
    pub latch_changed: bool,
}

impl Failover {
    /// State for validated pools, every endpoint unknown, with saved latches and overrides
    /// restored (entries for pools or endpoints that no longer exist are dropped and logged).
    /// `now` and `wall_now` are the same moment on the monotonic and the wall clock (times
    /// are shown as wall-clock times).
    pub fn new(
        configs: &[PoolConfig],
        fleet: Fleet,
        saved: &SavedState,
        now: Instant,
        wall_now: SystemTime,
    ) -> Failover {
        let pools: Vec<Pool> = configs
            .iter()
            .map(|config| Pool::new(config, fleet.len(), now))
            .collect();
        let mut failover = Failover {
            by_name: index_by_name(&pools),
            pools,
            counters: vec![CheckerCounters::default(); fleet.len()],
            fleet,
            next_sweep: None,
            epoch: (now, wall_now),
        };
        failover.restore(saved);
        failover
    }

    fn restore(&mut self, saved: &SavedState) {
        for (name, &tier) in &saved.latches {
            match self.find(name) {
                Ok(pool) if self.pools[pool].deciders[0].set_latch(Some(tier)) => {
                    tracing::info!(pool = %self.pools[pool].owner, tier, "manual-failback latch restored");
                }
                _ => tracing::warn!(pool = %name, tier, "saved latch no longer applies; dropped"),
            }
        }
        for (name, overrides) in &saved.overrides {
            for (&address, &value) in overrides {
                let value = match value {
                    SavedOverride::Up => Override::ForceUp,
                    SavedOverride::Down => Override::ForceDown,
                };
                match self.set_override(name, address, Some(value)) {
                    Ok(pool) => tracing::info!(
                        pool = %self.pools[pool].owner, endpoint = %address, state = value.as_str(),
                        "override restored"
                    ),
                    Err(error) => {
                        tracing::warn!(%error, "saved override no longer applies; dropped")
                    }
                }
            }
        }
    }

    /// State for a new configuration: endpoints (by pool name and address), their views
    /// of checkers that stay (by name) and latches present before keep their state and
    /// history; new ones start unknown.
    pub fn reconfigure(&self, configs: &[PoolConfig], fleet: Fleet, now: Instant) -> Failover {
        let (old_names, new_names) = (self.fleet.names(), fleet.names());
        let counters = new_names
            .iter()
            .map(|name| match self.fleet.index(name) {
                Some(index) => self.counters[index].clone(),
                None => CheckerCounters::default(),
            })
            .collect();
        let mut next = Failover {
            pools: Vec::new(),
            by_name: HashMap::new(),
            counters,
            next_sweep: None,
            epoch: self.epoch,
            fleet: fleet.clone(),
        };
        for config in configs {
            let mut pool = Pool::new(config, new_names.len(), now);
            if let Some(old) = self.pools.iter().find(|p| p.owner == pool.owner) {
                if pool.deciders.len() == 1 && old.deciders.len() == 1 {
                    pool.deciders[0].set_latch(old.deciders[0].latch());
                }
                pool.failovers = old.failovers;
                for (endpoint, new) in config.endpoints.iter().zip(&mut pool.endpoints) {
                    let same = old
                        .config
                        .endpoints
                        .iter()
                        .position(|e| e.address == endpoint.address);
                    if let Some(index) = same {
                        let kept = &old.endpoints[index];
                        let (fall, rise) = (config.check.fall, config.check.rise);
                        *new = Endpoint {
                            verdict: kept.verdict.regroup(old_names, new_names, fall, rise, now),
                            last_checker: kept
                                .last_checker
                                .and_then(|i| fleet.index(&old_names[i])),
                            ..kept.clone()
                        };
                    }
                }
            }
            next.pools.push(pool);
        }
        next.by_name = index_by_name(&next.pools);
        next.next_sweep = next.compute_next_sweep(now);
        for old in &self.pools {
            let kept = next.pools.iter().find(|p| p.owner == old.owner);
            for (config, endpoint) in old.config.endpoints.iter().zip(&old.endpoints) {
                let Some(value) = endpoint.verdict.override_value() else {
                    continue;
                };
                let stays = kept.is_some_and(|p| {
                    p.config
                        .endpoints
                        .iter()
                        .any(|e| e.address == config.address)
                });
                if !stays {
                    tracing::warn!(
                        pool = %old.owner, endpoint = %config.address, state = value.as_str(),
                        "override dropped: the endpoint is no longer in the configuration"
                    );
                }
            }
        }
        next
    }

    /// The checkers whose views endpoints keep.
    pub fn fleet(&self) -> &Fleet {
        &self.fleet
    }

    pub fn is_empty(&self) -> bool {
        self.pools.is_empty()
    }

    /// Index of the pool named `name` (any case, final dot optional).
    pub fn find(&self, name: &str) -> Result<usize, NotFound> {
        let wanted = Name::from_text(name);
        self.pools
            .iter()
            .position(|p| Some(&p.owner) == wanted.as_ref())
            .ok_or_else(|| NotFound::Pool(name.to_string()))
    }

    /// Every endpoint to probe, keyed for [`Failover::observe`].
    pub fn targets(&self) -> Vec<ProbeTarget<EndpointKey>> {
        let configs: Vec<&PoolConfig> = self.pools.iter().map(|p| &p.config).collect();
        probe_targets(configs)
    }

    /// Decides what pool `index` serves now (every route of it), logging the reason when
    /// it changed.
    pub fn decide(&mut self, index: usize) -> Outcome {
        let pool = &mut self.pools[index];
        let mut outcome = Outcome {
            answer_changed: false,
            latch_changed: false,
        };
        for (route, decider) in pool.deciders.iter_mut().enumerate() {
            let before = decider.last().map(|d| d.tier);
            let verdicts: Vec<&EndpointVerdict> = (decider.endpoint_index().iter())
                .map(|&i| &pool.endpoints[i].verdict)
                .collect();
            let decision = decider.decide(&verdicts);
            if before.is_some_and(|tier| tier != decision.tier) {
                pool.failovers += 1;
            }
            if let Some(reason) = &decision.reason {
                let site = decision.tier.and_then(|t| decider.tier_site(t));
                match pool.routing.is_some() || !pool.config.routes.is_empty() {
                    true => {
                        tracing::info!(pool = %pool.owner, route = route + 1, site, tier = decision.tier, ttl = decision.ttl, "{reason}")
                    }
                    false => {
                        tracing::info!(pool = %pool.owner, tier = decision.tier, ttl = decision.ttl, "{reason}")
                    }
                }
            }
            outcome.answer_changed |= decision.changed;
            outcome.latch_changed |= decision.latch_changed;
        }
        outcome
    }

    /// How many routes pool `index` has (1 for a pool without routes).
    pub fn routes(&self, index: usize) -> usize {
        self.pools[index].deciders.len()
    }

    /// The last decision of route `route` of pool `index`.
    pub fn route_decision(&self, index: usize, route: usize) -> Option<&Decision> {
        self.pools[index].deciders.get(route)?.last()
    }

    /// Sets each pool's route map (in configuration order; the loader compiles them).
    pub fn set_routing(&mut self, maps: Vec<Option<Arc<RouteMap>>>) {
        for (pool, map) in self.pools.iter_mut().zip(maps) {
            pool.routing = map;
        }
    }

    /// Decides every pool (at start-up and after a reload).
    pub fn decide_all(&mut self) {
        for index in 0..self.pools.len() {
            self.decide(index);
        }
    }

    /// The last decision of pool `index` (its first route's, for a pool with routes).
    pub fn decision(&self, index: usize) -> Option<&Decision> {
        self.route_decision(index, 0)
    }

    /// Every pool's name and current answer, for compiling a table (decide first).
    pub fn pool_defs(&self) -> Vec<PoolDef> {
        self.pools
            .iter()
            .map(|pool| PoolDef {
                name: pool.owner.clone(),
                answers: (pool.deciders.iter())
                    .map(|decider| {
                        (decider.last())
                            .map(|d| d.answer.clone())
                            .unwrap_or_else(|| PoolAnswer::empty(pool.config.ttl))
                    })
                    .collect(),
                routing: pool.routing.clone(),
            })
            .collect()
    }

    /// Sets or clears an operator override; returns the pool's index.
    pub fn set_override(
        &mut self,
        pool: &str,
        address: IpAddr,
        value: Option<Override>,
    ) -> Result<usize, NotFound> {
        let index = self.find(pool)?;
        let state = &mut self.pools[index];
        let position = state
            .config
            .endpoints
            .iter()
            .position(|e| e.address == address);
        let endpoint = position.ok_or(NotFound::Endpoint {
            pool: pool.to_string(),
            address,
        })?;
        if let Some(transition) = state.endpoints[endpoint].verdict.set_override(value) {
            tracing::info!(
                pool = %state.owner, endpoint = %address, from = %transition.from, to = %transition.to,
                reason = %transition.reason, "endpoint override changed"
            );
        }
        Ok(index)
    }

    /// Releases a manual-failback latch; returns the pool's index and the tier released.
    pub fn release(&mut self, pool: &str) -> Result<(usize, Option<u32>), NotFound> {
        let index = self.find(pool)?;
        let released = self.pools[index].deciders[0].release_latch();
        tracing::info!(pool = %self.pools[index].owner, tier = released, "manual failback released by an operator");
        Ok((index, released))
    }

    /// Latches and overrides, for the state file.
    pub fn saved_state(&self) -> SavedState {
        let mut saved = SavedState::default();
        for pool in &self.pools {
            if let Some(tier) = pool.deciders[0].latch() {
                saved.latches.insert(pool.config.name.clone(), tier);
            }
            for (config, endpoint) in pool.config.endpoints.iter().zip(&pool.endpoints) {
                let value = match endpoint.verdict.override_value() {
                    Some(Override::ForceUp) => SavedOverride::Up,
                    Some(Override::ForceDown) => SavedOverride::Down,
                    None => continue,
                };
                saved
                    .overrides
                    .entry(pool.config.name.clone())
                    .or_default()
                    .insert(config.address, value);
            }
        }
        saved
    }
}

impl Pool {
    fn new(config: &PoolConfig, checkers: usize, now: Instant) -> Pool {
        Pool {
            owner: config.owner().expect("pool names are validated before use"),
            rule: QuorumRule {
                quorum: config.check.quorum,
                stale_after: config.check.stale_after(),
            },
            deciders: match config.routes.len() {
                0 => vec![PoolDecider::new(config)],
                routes => (0..routes)
                    .map(|route| PoolDecider::for_route(config, route))
                    .collect(),
            },
            routing: None,
            endpoints: config
                .endpoints
                .iter()
                .map(|_| Endpoint::new(config, checkers, now))
                .collect(),
            failovers: 0,
            config: config.clone(),
        }
    }
}

fn index_by_name(pools: &[Pool]) -> HashMap<Name, usize> {
    pools
        .iter()
        .enumerate()
        .map(|(index, pool)| (pool.owner.clone(), index))
        .collect()
}

#[cfg(test)]
mod tests;
