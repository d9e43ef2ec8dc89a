//! The failover state of every pool: probe outcomes in, health transitions and pool
//! decisions out, operator overrides and latches applied. No I/O and no clock: the runtime
//! ([`runtime`]) passes time in and turns decisions into new answer tables.

mod check_spec;
pub mod persist;
pub mod runtime;
pub mod status;

use crate::health::config::{Failback, Policy, PoolConfig, WhenAllDown};
use crate::health::decide::{Decision, PoolDecider};
use crate::health::state::{CheckResult, EndpointHealth, Override};
use crate::name::Name;
use crate::probe::scheduler::ProbeTarget;
use crate::probe::CheckOutcome;
use crate::table::PoolDef;
use persist::{SavedOverride, SavedState};
use status::{EndpointStatus, LastCheckStatus, PoolStatus, CHECK_DURATION_BUCKETS};
use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Identifies an endpoint across reloads: its pool's name and its served address.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct EndpointKey {
    pub pool: Name,
    pub address: IpAddr,
}

/// A control request that names something that does not exist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ControlError {
    NoSuchPool(String),
    NoSuchEndpoint { pool: String, address: IpAddr },
}

impl fmt::Display for ControlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ControlError::NoSuchPool(pool) => write!(f, "no pool named {pool}"),
            ControlError::NoSuchEndpoint { pool, address } => {
                write!(f, "pool {pool} has no endpoint {address}")
            }
        }
    }
}

impl std::error::Error for ControlError {}

/// One endpoint's health and check counters.
#[derive(Clone, Debug)]
struct Endpoint {
    health: EndpointHealth,
    checks: u64,
    failures: BTreeMap<&'static str, u64>,
    duration_buckets: Vec<u64>,
    duration_sum: f64,
}

impl Endpoint {
    fn new(config: &PoolConfig, now: Instant) -> Endpoint {
        Endpoint {
            health: EndpointHealth::new(config.check.fall, config.check.rise, now),
            checks: 0,
            failures: BTreeMap::new(),
            duration_buckets: vec![0; CHECK_DURATION_BUCKETS.len() + 1],
            duration_sum: 0.0,
        }
    }
}

#[derive(Clone, Debug)]
struct Pool {
    config: PoolConfig,
    owner: Name,
    decider: PoolDecider,
    endpoints: Vec<Endpoint>,
    failovers: u64,
}

/// Every pool's state.
#[derive(Clone, Debug)]
pub struct Failover {
    pools: Vec<Pool>,
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
    pub fn new(configs: &[PoolConfig], saved: &SavedState, now: Instant) -> Failover {
        let pools = configs
            .iter()
            .map(|config| Pool::new(config, now))
            .collect();
        let mut failover = Failover {
            pools,
            epoch: (now, SystemTime::now()),
        };
        failover.restore(saved);
        failover
    }

    fn restore(&mut self, saved: &SavedState) {
        for (name, &tier) in &saved.latches {
            match self.find(name) {
                Ok(pool) if self.pools[pool].decider.set_latch(Some(tier)) => {
                    tracing::info!(pool = %name, tier, "manual-failback latch restored");
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
                    Ok(_) => tracing::info!(pool = %name, %address, ?value, "override restored"),
                    Err(error) => {
                        tracing::warn!(%error, "saved override no longer applies; dropped")
                    }
                }
            }
        }
    }

    /// State for a new configuration: endpoints (by pool name and address) and latches
    /// present before keep their state and history; new ones start unknown.
    pub fn reconfigure(&self, configs: &[PoolConfig], now: Instant) -> Failover {
        let mut next = Failover {
            pools: Vec::new(),
            epoch: self.epoch,
        };
        for config in configs {
            let mut pool = Pool::new(config, now);
            if let Some(old) = self.pools.iter().find(|p| p.owner == pool.owner) {
                pool.decider.set_latch(old.decider.latch());
                pool.failovers = old.failovers;
                for (endpoint, new) in config.endpoints.iter().zip(&mut pool.endpoints) {
                    let same = old
                        .config
                        .endpoints
                        .iter()
                        .position(|e| e.address == endpoint.address);
                    if let Some(index) = same {
                        *new = old.endpoints[index].clone();
                    }
                }
            }
            next.pools.push(pool);
        }
        next
    }

    pub fn is_empty(&self) -> bool {
        self.pools.is_empty()
    }

    /// Index of the pool named `name` (any case, final dot optional).
    pub fn find(&self, name: &str) -> Result<usize, ControlError> {
        let wanted = Name::from_text(name);
        self.pools
            .iter()
            .position(|p| Some(&p.owner) == wanted.as_ref())
            .ok_or_else(|| ControlError::NoSuchPool(name.to_string()))
    }

    /// Every endpoint to probe, keyed for [`Failover::observe`].
    pub fn targets(&self) -> Vec<ProbeTarget<EndpointKey>> {
        let mut targets = Vec::new();
        for pool in &self.pools {
            for endpoint in &pool.config.endpoints {
                targets.push(ProbeTarget {
                    key: EndpointKey {
                        pool: pool.owner.clone(),
                        address: endpoint.address,
                    },
                    spec: check_spec::from_config(&pool.config.check),
                    target: crate::probe::Target {
                        address: endpoint.check_target(),
                    },
                    interval: pool.config.check.interval,
                });
            }
        }
        targets
    }

    /// Feeds one check outcome; returns the pool's index when its endpoint changed state
    /// (the pool then needs [`Failover::decide`]). Outcomes for unknown keys are ignored.
    pub fn observe(
        &mut self,
        key: &EndpointKey,
        outcome: &CheckOutcome,
        at: Instant,
    ) -> Option<usize> {
        let pool_index = self.pools.iter().position(|p| p.owner == key.pool)?;
        let pool = &mut self.pools[pool_index];
        let endpoint_index = pool
            .config
            .endpoints
            .iter()
            .position(|e| e.address == key.address)?;
        let endpoint = &mut pool.endpoints[endpoint_index];
        endpoint.checks += 1;
        let seconds = outcome.latency.as_secs_f64();
        let bucket = CHECK_DURATION_BUCKETS
            .iter()
            .position(|&bound| seconds <= bound);
        endpoint.duration_buckets[bucket.unwrap_or(CHECK_DURATION_BUCKETS.len())] += 1;
        endpoint.duration_sum += seconds;
        let result = match (&outcome.error, outcome.reason) {
            (None, _) if outcome.ok => CheckResult::success(outcome.latency),
            (error, kind) => {
                let kind = kind.map_or("other", |k| k.as_str());
                *endpoint.failures.entry(kind).or_default() += 1;
                CheckResult::failure(
                    outcome.latency,
                    error.clone().unwrap_or_else(|| kind.to_string()),
                )
            }
        };
        let transition = endpoint.health.observe(result, at)?;
        tracing::info!(
            pool = %pool.config.name, endpoint = %key.address, from = %transition.from, to = %transition.to,
            reason = %transition.reason, "endpoint health changed"
        );
        Some(pool_index)
    }

    /// Decides what pool `index` serves now, logging the reason when it changed.
    pub fn decide(&mut self, index: usize) -> Outcome {
        let pool = &mut self.pools[index];
        let before = pool.decider.last().map(|d| d.tier);
        let health: Vec<EndpointHealth> = pool.endpoints.iter().map(|e| e.health.clone()).collect();
        let decision = pool.decider.decide(&health);
        if before.is_some_and(|tier| tier != decision.tier) {
            pool.failovers += 1;
        }
        if let Some(reason) = &decision.reason {
            tracing::info!(pool = %pool.config.name, tier = ?decision.tier, ttl = decision.ttl, "{reason}");
        }
        Outcome {
            answer_changed: decision.changed,
            latch_changed: decision.latch_changed,
        }
    }

    /// Decides every pool (at start-up and after a reload).
    pub fn decide_all(&mut self) {
        for index in 0..self.pools.len() {
            self.decide(index);
        }
    }

    /// The last decision of pool `index`.
    pub fn decision(&self, index: usize) -> Option<&Decision> {
        self.pools[index].decider.last()
    }

    /// Every pool's name and current answer, for compiling a table (decide first).
    pub fn pool_defs(&self) -> Vec<PoolDef> {
        self.pools
            .iter()
            .map(|pool| PoolDef {
                name: pool.owner.clone(),
                answer: pool
                    .decider
                    .last()
                    .map(|d| d.answer.clone())
                    .unwrap_or_else(|| empty_answer(&pool.config)),
            })
            .collect()
    }

    /// Sets or clears an operator override; returns the pool's index.
    pub fn set_override(
        &mut self,
        pool: &str,
        address: IpAddr,
        value: Option<Override>,
    ) -> Result<usize, ControlError> {
        let index = self.find(pool)?;
        let state = &mut self.pools[index];
        let position = state
            .config
            .endpoints
            .iter()
            .position(|e| e.address == address);
        let endpoint = position.ok_or(ControlError::NoSuchEndpoint {
            pool: pool.to_string(),
            address,
        })?;
        if let Some(transition) = state.endpoints[endpoint].health.set_override(value) {
            tracing::info!(
                pool = %state.config.name, endpoint = %address, from = %transition.from, to = %transition.to,
                reason = %transition.reason, "endpoint override changed"
            );
        }
        Ok(index)
    }

    /// Releases a manual-failback latch; returns the pool's index and the tier released.
    pub fn release(&mut self, pool: &str) -> Result<(usize, Option<u32>), ControlError> {
        let index = self.find(pool)?;
        let released = self.pools[index].decider.release_latch();
        tracing::info!(pool = %self.pools[index].config.name, tier = ?released, "manual failback released by an operator");
        Ok((index, released))
    }

    /// Latches and overrides, for the state file.
    pub fn saved_state(&self) -> SavedState {
        let mut saved = SavedState::default();
        for pool in &self.pools {
            if let Some(tier) = pool.decider.latch() {
                saved.latches.insert(pool.config.name.clone(), tier);
            }
            for (config, endpoint) in pool.config.endpoints.iter().zip(&pool.endpoints) {
                let value = match endpoint.health.override_value() {
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

    /// A snapshot of every pool for the control plane.
    pub fn status(&self) -> Vec<PoolStatus> {
        self.pools
            .iter()
            .map(|pool| self.pool_status(pool))
            .collect()
    }

    fn unix(&self, at: Instant) -> f64 {
        let (instant, system) = self.epoch;
        let wall = match at.checked_duration_since(instant) {
            Some(after) => system + after,
            None => system - instant.duration_since(at),
        };
        wall.duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64())
    }

    fn pool_status(&self, pool: &Pool) -> PoolStatus {
        let decision = pool.decider.last();
        let served: Vec<usize> = decision.map(|d| d.served.clone()).unwrap_or_default();
        let endpoints = (pool
            .config
            .endpoints
            .iter()
            .zip(&pool.endpoints)
            .enumerate())
        .map(|(i, (config, endpoint))| {
            let health = &endpoint.health;
            EndpointStatus {
                address: config.address,
                check_address: config.check_target(),
                priority: config.priority,
                weight: config.weight,
                state: health.effective().as_str(),
                checked_state: health.checked().as_str(),
                override_state: health.override_value().map(|o| o.health().as_str()),
                reason: health.reason().to_string(),
                since: self.unix(health.since()),
                serving: served.contains(&i),
                consecutive_successes: health.successes(),
                consecutive_failures: health.failures(),
                last_check: health.last_check().map(|last| LastCheckStatus {
                    ok: last.result.is_success(),
                    latency_ms: last.result.latency.as_secs_f64() * 1000.0,
                    error: last.result.error.clone(),
                    at: self.unix(last.at),
                }),
                checks: endpoint.checks,
                failures: endpoint.failures.clone(),
                duration_buckets: endpoint.duration_buckets.clone(),
                duration_sum_seconds: endpoint.duration_sum,
            }
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
            latched_tier: pool.decider.latch(),
            ttl: decision.map_or(pool.config.ttl, |d| d.ttl),
            degraded: decision.is_some_and(|d| d.degraded),
            all_down: decision.is_some_and(|d| d.all_down),
            serving: served
                .iter()
                .map(|&i| pool.config.endpoints[i].address)
                .collect(),
            failovers: pool.failovers,
            endpoints,
        }
    }
}

impl Pool {
    fn new(config: &PoolConfig, now: Instant) -> Pool {
        Pool {
            owner: config.owner().expect("pool names are validated before use"),
            decider: PoolDecider::new(config),
            endpoints: config
                .endpoints
                .iter()
                .map(|_| Endpoint::new(config, now))
                .collect(),
            failovers: 0,
            config: config.clone(),
        }
    }
}

/// What a pool serves before its first decision: nothing (never compiled in practice).
fn empty_answer(config: &PoolConfig) -> crate::table::PoolAnswer {
    crate::table::PoolAnswer {
        ttl: config.ttl,
        spread: crate::table::Spread::All,
        v4: Vec::new(),
        v6: Vec::new(),
    }
}

#[cfg(test)]
mod tests;
