//! Pool decisions driven through real endpoint state machines and a simulated clock:
//! the simulation, first decisions, failover and automatic failback.

use super::*;
use crate::health::state::{CheckResult, EndpointHealth, Health, Override};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

mod answers;
mod latch;
mod routes;

/// A pool, its endpoints' state machines and a simulated clock.
struct Sim {
    pool: PoolDecider,
    health: Vec<EndpointHealth>,
    start: Instant,
    elapsed: Duration,
    fall: u32,
    rise: u32,
}

impl Sim {
    /// A pool named www.example.test. with `top` keys and endpoints given as
    /// `(address, priority, weight)`; fall 3, rise 2.
    fn new(top: &str, endpoints: &[(&str, u32, u32)]) -> Sim {
        let mut text =
            format!("name = \"www.example.test.\"\n{top}\n[check]\nkind = \"tcp\"\nport = 80\n");
        for (address, priority, weight) in endpoints {
            text += &format!(
                "[[endpoint]]\naddress = \"{address}\"\npriority = {priority}\nweight = {weight}\n"
            );
        }
        let config: PoolConfig = toml::from_str(&text).expect("pool parses");
        assert_eq!(config.validate(), vec![], "test pool is valid");
        let start = Instant::now();
        let health = config
            .endpoints
            .iter()
            .map(|_| EndpointHealth::new(config.check.fall, config.check.rise, start))
            .collect();
        Sim {
            pool: PoolDecider::new(&config),
            health,
            start,
            elapsed: Duration::ZERO,
            fall: config.check.fall,
            rise: config.check.rise,
        }
    }

    fn tick(&mut self) -> Instant {
        self.elapsed += Duration::from_millis(200);
        self.start + self.elapsed
    }

    fn fail(&mut self, endpoint: usize, times: u32) {
        for _ in 0..times {
            let now = self.tick();
            let result = CheckResult::failure(Duration::from_millis(1), "connection refused");
            self.health[endpoint].observe(result, now);
        }
    }

    fn pass(&mut self, endpoint: usize, times: u32) {
        for _ in 0..times {
            let now = self.tick();
            let result = CheckResult::success(Duration::from_millis(1));
            self.health[endpoint].observe(result, now);
        }
    }

    /// Takes an endpoint down from any state (fall failures).
    fn down(&mut self, endpoint: usize) {
        self.fail(endpoint, self.fall);
        assert_eq!(self.health[endpoint].checked(), Health::Down);
    }

    /// Brings an endpoint up from any state (rise successes).
    fn up(&mut self, endpoint: usize) {
        self.pass(endpoint, self.rise);
        assert_eq!(self.health[endpoint].checked(), Health::Up);
    }

    /// The first round of checks: every endpoint passes once (first verdict: up).
    fn first_round_passes(&mut self) {
        for i in 0..self.health.len() {
            self.pass(i, 1);
        }
    }

    fn decide(&mut self) -> Decision {
        self.pool.decide(&self.health)
    }
}

fn v4(text: &str, weight: u32) -> Served<Ipv4Addr> {
    Served {
        address: text.parse().unwrap(),
        weight,
    }
}

fn v6(text: &str, weight: u32) -> Served<Ipv6Addr> {
    Served {
        address: text.parse().unwrap(),
        weight,
    }
}

const THREE_TIERS: &[(&str, u32, u32)] = &[
    ("192.0.2.1", 1, 1),
    ("192.0.2.2", 1, 1),
    ("192.0.2.3", 2, 1),
    ("192.0.2.4", 3, 1),
];

#[test]
fn first_decision_serves_the_top_tier_while_everything_is_unknown() {
    let mut sim = Sim::new("ttl_degraded = 10", THREE_TIERS);
    let decision = sim.decide();
    assert_eq!(decision.tier, Some(1));
    assert_eq!(decision.served, vec![0, 1]);
    assert!(!decision.degraded && !decision.all_down);
    assert_eq!(decision.ttl, 30);
    assert!(decision.changed);
    assert_eq!(
        decision.answer,
        PoolAnswer {
            ttl: 30,
            spread: Spread::All,
            v4: vec![v4("192.0.2.1", 1), v4("192.0.2.2", 1)],
            v6: vec![],
        }
    );
    assert_eq!(
        decision.reason.as_deref(),
        Some("www.example.test.: serving priority 1")
    );
    assert_eq!((decision.latch, decision.latch_changed), (None, false));
    assert_eq!(sim.pool.last(), Some(&decision));
}

#[test]
fn first_round_of_checks_shapes_the_first_decision() {
    let mut sim = Sim::new("", THREE_TIERS);
    sim.fail(0, 1);
    sim.fail(1, 1);
    sim.pass(2, 1);
    let decision = sim.decide();
    assert_eq!(decision.tier, Some(2));
    assert_eq!(decision.served, vec![2]);
    assert!(decision.degraded);
    assert_eq!(
        decision.reason.as_deref(),
        Some(
            "www.example.test.: serving priority 2: \
             192.0.2.1 down (first check failed: connection refused), \
             192.0.2.2 down (first check failed: connection refused)"
        )
    );
}

#[test]
fn failover_across_three_tiers_and_automatic_failback() {
    let mut sim = Sim::new("ttl_degraded = 10", THREE_TIERS);
    sim.first_round_passes();
    sim.decide();

    // One endpoint of the top tier down: the tier still serves, degraded.
    sim.down(0);
    let d = sim.decide();
    assert_eq!((d.tier, d.served.clone()), (Some(1), vec![1]));
    assert!(d.degraded && d.changed);
    assert_eq!(d.ttl, 10);
    assert_eq!(
        d.reason.as_deref(),
        Some(
            "www.example.test.: priority 1 now serves 192.0.2.2: \
             192.0.2.1 down (3 consecutive failures: connection refused)"
        )
    );

    sim.down(1);
    let d = sim.decide();
    assert_eq!((d.tier, d.served.clone()), (Some(2), vec![2]));
    assert_eq!(d.answer.v4, vec![v4("192.0.2.3", 1)]);
    assert_eq!(
        d.reason.as_deref(),
        Some(
            "www.example.test.: failover from priority 1 to 2: \
             192.0.2.2 down (3 consecutive failures: connection refused)"
        )
    );

    sim.down(2);
    let d = sim.decide();
    assert_eq!((d.tier, d.served.clone()), (Some(3), vec![3]));
    assert!(d.reason.unwrap().contains("failover from priority 2 to 3"));

    // The middle tier recovers: back to it at once.
    sim.up(2);
    let d = sim.decide();
    assert_eq!((d.tier, d.served.clone()), (Some(2), vec![2]));
    assert_eq!(
        d.reason.as_deref(),
        Some(
            "www.example.test.: failback from priority 3 to 2: \
             192.0.2.3 up (2 consecutive successes)"
        )
    );

    // The top tier recovers partly, then fully.
    sim.up(1);
    let d = sim.decide();
    assert_eq!((d.tier, d.served.clone()), (Some(1), vec![1]));
    assert!(d.degraded);
    assert_eq!(d.ttl, 10);
    sim.up(0);
    let d = sim.decide();
    assert_eq!((d.tier, d.served.clone()), (Some(1), vec![0, 1]));
    assert!(!d.degraded);
    assert_eq!(d.ttl, 30);
    assert_eq!(d.latch, None);
}

#[test]
fn fewer_than_fall_failures_or_rise_successes_change_no_decision() {
    let mut sim = Sim::new("", &[("192.0.2.1", 1, 1), ("192.0.2.2", 2, 1)]);
    sim.pass(0, 1);
    sim.pass(1, 1);
    assert!(sim.decide().changed);
    sim.fail(0, 2);
    let d = sim.decide();
    assert_eq!(d.tier, Some(1));
    assert!(!d.changed);
    assert_eq!(d.reason, None);
    sim.fail(0, 1);
    let d = sim.decide();
    assert_eq!(d.tier, Some(2));
    assert!(d.changed);
    sim.pass(0, 1);
    let d = sim.decide();
    assert_eq!(d.tier, Some(2));
    assert!(!d.changed);
    sim.pass(0, 1);
    assert_eq!(sim.decide().tier, Some(1));
}

#[test]
fn changed_flag_follows_the_answer() {
    let mut sim = Sim::new("", &[("192.0.2.1", 1, 1), ("192.0.2.2", 2, 1)]);
    assert!(sim.decide().changed);
    // The first verdicts confirm what was assumed: nothing to rebuild.
    sim.pass(0, 1);
    sim.pass(1, 1);
    let d = sim.decide();
    assert!(!d.changed);
    assert_eq!(d.reason, None);
    assert!(!sim.decide().changed);
    // A backup going down does not change what is served.
    sim.down(1);
    let d = sim.decide();
    assert!(!d.changed && !d.degraded);
    assert_eq!(d.reason, None);
    sim.down(0);
    assert!(sim.decide().changed);
    assert!(!sim.decide().changed);
}
