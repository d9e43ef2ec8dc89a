//! A pool's decision: which endpoints it serves, given the health of each, and with what TTL.
//!
//! Endpoints are grouped into priority tiers; the lowest `priority` number is the top tier.
//! An endpoint is *serving* when its effective health (override, else checked state) is up
//! or still unknown. When at least one endpoint is serving:
//!
//! - The **active tier** is the best tier with a serving endpoint (`failback = "auto"`), so
//!   the pool fails over to the next tier when its tier has nothing serving and returns as
//!   soon as a better tier has a serving endpoint again.
//! - With `failback = "manual"` the pool also fails over by itself, but it only moves back
//!   up when an operator releases it. Whenever the active tier is not the top tier, the pool
//!   is *latched* on it: it stays there while that tier has a serving endpoint, even when
//!   better tiers are up again. If the latched tier loses every endpoint, the pool moves to
//!   the best serving tier below it (and latches there); only if no tier below has anything
//!   serving does it move up to the best serving tier above, since some answer beats none.
//!   The latch is a plain `Option<u32>` ([`PoolDecider::latch`], [`PoolDecider::set_latch`])
//!   for the caller to persist and restore across restarts;
//!   [`PoolDecider::release_latch`] is the operator's release.
//! - Within the active tier the policy picks: `failover` serves every serving endpoint in
//!   file order ([`Spread::All`]), `all` serves every one with the order rotating per query
//!   ([`Spread::Rotate`]), `weighted` serves one per query in proportion to its weight
//!   ([`Spread::Weighted`]). Priorities apply to every policy, so weighted or rotated load
//!   balancing in one site can fail over to another; with a single tier (every priority
//!   left at 1) `all` and `weighted` simply use every serving endpoint.
//!
//! When no endpoint is serving, `when_all_down` decides: `serve-all` serves every endpoint
//! (tiers in order), `serve-primary` serves the top tier, `nodata` serves no address.
//!
//! The pool is **degraded** when it is not fully healthy on its top tier: every endpoint is
//! down, or the active tier is not the top tier, or some top-tier endpoint is down. While
//! degraded it serves `ttl_degraded` (when set) instead of `ttl`, so that resolvers come
//! back sooner after a recovery.
//!
//! Tiers are chosen over both address families together: IPv4 endpoints fill the A answer,
//! IPv6 ones the AAAA answer, and a tier whose only serving endpoints are IPv6 answers A
//! queries with no address. Give each tier endpoints of both families for dual-stack names.

mod reason;

use crate::config::pool::{Failback, Policy, PoolConfig, WhenAllDown};
use crate::health::state::EndpointState;
use crate::table::{PoolAnswer, Served, Spread};
use std::net::IpAddr;

/// What a pool knows of one endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub address: IpAddr,
    pub priority: u32,
    pub weight: u32,
}

/// The outcome of [`PoolDecider::decide`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// The tier served: `None` when every endpoint is down, except under `serve-primary`
    /// (the top tier).
    pub tier: Option<u32>,
    /// Indices (into the pool's endpoints) of the endpoints served, in answer order.
    pub served: Vec<usize>,
    /// Not fully healthy on the top tier.
    pub degraded: bool,
    /// No endpoint is serving; `when_all_down` chose what is served.
    pub all_down: bool,
    pub ttl: u32,
    /// What the table should compile for the pool's name.
    pub answer: PoolAnswer,
    /// The answer differs from the previous decision's (always true for the first): the
    /// caller rebuilds the table only then.
    pub changed: bool,
    /// The manual-failback latch after this decision.
    pub latch: Option<u32>,
    /// The latch differs from the one last reported or restored: the caller persists it.
    pub latch_changed: bool,
    /// A line for the log when something worth telling changed.
    pub reason: Option<String>,
}

/// The decision state of one pool.
#[derive(Clone, Debug)]
pub struct PoolDecider {
    name: String,
    policy: Policy,
    failback: Failback,
    when_all_down: WhenAllDown,
    ttl: u32,
    ttl_degraded: u32,
    members: Vec<Member>,
    /// The lowest priority number; `None` for a pool without endpoints.
    top: Option<u32>,
    /// For a route's decider: per tier, the site and priority it stands for (tiers are
    /// then numbered 1, 2, ... over the route's sites in order, each site's priorities in
    /// order); empty for a pool without routes, whose tiers are its priorities.
    tiers: Vec<(String, u32)>,
    /// Per member, its index among the pool's endpoints.
    endpoint_index: Vec<usize>,
    latch: Option<u32>,
    /// The latch as the caller last saw it (reported or restored).
    reported_latch: Option<u32>,
    /// An operator released the latch since the last decision.
    released: Option<u32>,
    last: Option<Last>,
}

/// What the previous decision saw, to tell what changed.
#[derive(Clone, Debug)]
struct Last {
    decision: Decision,
    serving: Vec<bool>,
    best_serving: Option<u32>,
}

impl PoolDecider {
    /// The decider for a configured pool, with no latch and no decision yet.
    pub fn new(config: &PoolConfig) -> PoolDecider {
        let members: Vec<Member> = config
            .endpoints
            .iter()
            .map(|e| Member {
                address: e.address,
                priority: e.priority,
                weight: e.weight,
            })
            .collect();
        PoolDecider {
            tiers: Vec::new(),
            endpoint_index: (0..members.len()).collect(),
            name: config
                .owner()
                .map_or_else(|| config.name.clone(), |n| n.to_string()),
            policy: config.policy,
            failback: config.failback,
            when_all_down: config.when_all_down,
            ttl: config.ttl,
            ttl_degraded: config.degraded_ttl(),
            top: members.iter().map(|m| m.priority).min(),
            members,
            latch: None,
            reported_latch: None,
            released: None,
            last: None,
        }
    }

    /// The decider of route `route` of a pool with routes: its members are the endpoints
    /// of the route's sites, tiered by site in the route's order and by priority inside
    /// each site, so that the route fails over inside its best site first, then to the next
    /// site. `when_all_down` applies to the route's endpoints.
    pub fn for_route(config: &PoolConfig, route: usize) -> PoolDecider {
        let mut decider = PoolDecider::new(config);
        let sites = &config.routes[route].sites;
        let mut tiers: Vec<(usize, u32)> = Vec::new();
        let mut chosen = Vec::new();
        for (rank, site) in sites.iter().enumerate() {
            for (index, endpoint) in config.endpoints.iter().enumerate() {
                if endpoint.site.as_deref() == Some(site.as_str()) {
                    chosen.push((rank, endpoint.priority, index));
                    tiers.push((rank, endpoint.priority));
                }
            }
        }
        tiers.sort_unstable();
        tiers.dedup();
        let tier_of = |rank: usize, priority: u32| {
            tiers
                .binary_search(&(rank, priority))
                .map_or(0, |t| t as u32 + 1)
        };
        decider.members = chosen
            .iter()
            .map(|&(rank, priority, index)| Member {
                priority: tier_of(rank, priority),
                ..decider.members[index].clone()
            })
            .collect();
        decider.endpoint_index = chosen.iter().map(|&(_, _, index)| index).collect();
        decider.top = decider.members.iter().map(|m| m.priority).min();
        decider.tiers = tiers
            .iter()
            .map(|&(rank, priority)| (sites[rank].clone(), priority))
            .collect();
        decider.name = format!("{} route {}", decider.name, route + 1);
        decider
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Per member, its index among the pool's endpoints (`decide` takes the health of the
    /// members in this order).
    pub fn endpoint_index(&self) -> &[usize] {
        &self.endpoint_index
    }

    /// How a tier is named in logs and status: `priority 2`, or for a route `site fra`
    /// (`site fra priority 2` when the site has several priorities).
    pub fn tier_name(&self, tier: u32) -> String {
        let Some((site, priority)) = tier.checked_sub(1).and_then(|t| self.tiers.get(t as usize))
        else {
            return format!("priority {tier}");
        };
        let several = self.tiers.iter().filter(|(s, _)| s == site).count() > 1;
        match several {
            true => format!("site {site} priority {priority}"),
            false => format!("site {site}"),
        }
    }

    /// The site a tier of a route's decider stands for.
    pub fn tier_site(&self, tier: u32) -> Option<&str> {
        let index = tier.checked_sub(1)? as usize;
        self.tiers.get(index).map(|(site, _)| site.as_str())
    }

    pub fn members(&self) -> &[Member] {
        &self.members
    }

    /// The latest decision, if `decide` ran.
    pub fn last(&self) -> Option<&Decision> {
        self.last.as_ref().map(|l| &l.decision)
    }

    /// The tier the pool is held on by manual failback, if any.
    pub fn latch(&self) -> Option<u32> {
        self.latch
    }

    /// Restores a latch saved earlier (call before the first `decide`). Returns false, and
    /// leaves the pool unlatched, when the latch no longer applies: failback is `auto`, or
    /// the pool has no endpoint of that priority any more. Either way the next decision
    /// reports `latch_changed` if what is in force differs from what was saved.
    pub fn set_latch(&mut self, latch: Option<u32>) -> bool {
        self.reported_latch = latch;
        let Some(tier) = latch else {
            self.latch = None;
            return true;
        };
        let applies =
            self.failback == Failback::Manual && self.members.iter().any(|m| m.priority == tier);
        self.latch = (applies && Some(tier) != self.top).then_some(tier);
        applies
    }

    /// The operator's release: the next decision returns to the best serving tier. Returns
    /// the tier that was latched, `None` when the pool was not latched.
    pub fn release_latch(&mut self) -> Option<u32> {
        let released = self.latch.take();
        if released.is_some() {
            self.released = released;
        }
        released
    }

    /// Decides what the pool serves; `health` holds one entry per endpoint, in file order.
    ///
    /// # Panics
    /// If `health` does not have one entry per endpoint.
    pub fn decide<H: EndpointState>(&mut self, health: &[H]) -> Decision {
        assert_eq!(
            health.len(),
            self.members.len(),
            "pool {}: one health entry per endpoint",
            self.name
        );
        let serving: Vec<bool> = health.iter().map(|h| h.effective().is_serving()).collect();
        let best_serving = self.best_tier(&serving, |_| true);
        let chosen = best_serving.map(|best| match (self.failback, self.latch) {
            (Failback::Manual, Some(latch)) => {
                self.best_tier(&serving, |p| p >= latch).unwrap_or(best)
            }
            _ => best,
        });
        if self.failback == Failback::Manual && chosen.is_some() {
            self.latch = chosen.filter(|&tier| Some(tier) != self.top);
        }
        let all_down = chosen.is_none();
        let drained: Vec<bool> = health.iter().map(|h| h.drained()).collect();
        let (tier, served) = match chosen {
            Some(tier) => (
                Some(tier),
                self.indices(|i, m| serving[i] && m.priority == tier),
            ),
            // An operator's drain is never overridden: when_all_down picks among the
            // endpoints that are down by their checks, never a drained one.
            None => match self.when_all_down {
                WhenAllDown::ServeAll => {
                    let mut all = self.indices(|i, _| !drained[i]);
                    all.sort_by_key(|&i| self.members[i].priority);
                    (None, all)
                }
                WhenAllDown::ServePrimary => (
                    self.top,
                    self.indices(|i, m| !drained[i] && Some(m.priority) == self.top),
                ),
                WhenAllDown::Nodata => (None, Vec::new()),
            },
        };
        let top_impaired = self
            .members
            .iter()
            .zip(&serving)
            .any(|(m, &up)| Some(m.priority) == self.top && !up);
        let degraded = all_down || chosen != self.top || top_impaired;
        let ttl = if degraded {
            self.ttl_degraded
        } else {
            self.ttl
        };
        let answer = self.answer(&served, ttl);
        let changed = self
            .last
            .as_ref()
            .is_none_or(|last| last.decision.answer != answer);
        let saved_latch = self.reported_latch;
        let latch_changed = self.latch != saved_latch;
        self.reported_latch = self.latch;
        let mut decision = Decision {
            tier,
            served,
            degraded,
            all_down,
            ttl,
            answer,
            changed,
            latch: self.latch,
            latch_changed,
            reason: None,
        };
        decision.reason =
            reason::explain(self, health, &serving, best_serving, saved_latch, &decision);
        self.released = None;
        self.last = Some(Last {
            decision: decision.clone(),
            serving,
            best_serving,
        });
        decision
    }

    /// The lowest priority among serving endpoints whose priority passes `filter`.
    fn best_tier(&self, serving: &[bool], filter: impl Fn(u32) -> bool) -> Option<u32> {
        self.members
            .iter()
            .zip(serving)
            .filter(|(m, &up)| up && filter(m.priority))
            .map(|(m, _)| m.priority)
            .min()
    }

    fn indices(&self, keep: impl Fn(usize, &Member) -> bool) -> Vec<usize> {
        (0..self.members.len())
            .filter(|&i| keep(i, &self.members[i]))
            .collect()
    }

    fn answer(&self, served: &[usize], ttl: u32) -> PoolAnswer {
        let spread = match self.policy {
            Policy::Failover => Spread::All,
            Policy::All => Spread::Rotate,
            Policy::Weighted => Spread::Weighted,
        };
        let mut answer = PoolAnswer {
            ttl,
            spread,
            v4: Vec::new(),
            v6: Vec::new(),
        };
        for &i in served {
            let member = &self.members[i];
            let weight = member.weight;
            match member.address {
                IpAddr::V4(address) => answer.v4.push(Served { address, weight }),
                IpAddr::V6(address) => answer.v6.push(Served { address, weight }),
            }
        }
        answer
    }
}

#[cfg(test)]
mod tests;
