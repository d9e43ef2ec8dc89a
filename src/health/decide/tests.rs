//! Pool decisions driven through real endpoint state machines and a simulated clock.

use super::*;
use crate::health::state::{CheckResult, Health, Override};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

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

#[test]
fn manual_failback_holds_the_pool_until_released() {
    let mut sim = Sim::new(
        "failback = \"manual\"\nttl_degraded = 5",
        &[("192.0.2.1", 1, 1), ("192.0.2.2", 2, 1)],
    );
    sim.first_round_passes();
    sim.decide();
    sim.down(0);
    let d = sim.decide();
    assert_eq!(d.tier, Some(2));
    assert_eq!((d.latch, d.latch_changed), (Some(2), true));
    assert_eq!(
        d.reason.as_deref(),
        Some(
            "www.example.test.: failover from priority 1 to 2: \
             192.0.2.1 down (3 consecutive failures: connection refused); \
             held on priority 2 until an operator releases it (failback = manual)"
        )
    );
    assert_eq!(sim.pool.latch(), Some(2));

    // The primary recovers: the pool stays.
    sim.up(0);
    let d = sim.decide();
    assert_eq!(d.tier, Some(2));
    assert!(!d.changed);
    assert!(d.degraded);
    assert_eq!(d.ttl, 5);
    assert_eq!((d.latch, d.latch_changed), (Some(2), false));
    assert_eq!(
        d.reason.as_deref(),
        Some(
            "www.example.test.: priority 1 is up again; held on priority 2 until an \
             operator releases it (failback = manual): 192.0.2.1 up (2 consecutive successes)"
        )
    );
    for _ in 0..5 {
        sim.pass(0, 1);
        let d = sim.decide();
        assert_eq!(d.tier, Some(2));
        assert_eq!(d.reason, None);
    }

    // The operator releases it.
    assert_eq!(sim.pool.release_latch(), Some(2));
    let d = sim.decide();
    assert_eq!((d.tier, d.served.clone()), (Some(1), vec![0]));
    assert!(d.changed && !d.degraded);
    assert_eq!((d.latch, d.latch_changed), (None, true));
    assert_eq!(
        d.reason.as_deref(),
        Some(
            "www.example.test.: failback from priority 2 to 1; \
             released from priority 2 by an operator"
        )
    );
    assert_eq!(sim.pool.release_latch(), None);
    let d = sim.decide();
    assert!(!d.changed && !d.latch_changed);
    assert_eq!(d.reason, None);
}

#[test]
fn releasing_while_the_top_tier_is_still_down_keeps_the_pool_where_it_is() {
    let mut sim = Sim::new(
        "failback = \"manual\"",
        &[("192.0.2.1", 1, 1), ("192.0.2.2", 2, 1)],
    );
    sim.down(0);
    assert_eq!(sim.decide().latch, Some(2));
    assert_eq!(sim.pool.release_latch(), Some(2));
    let d = sim.decide();
    assert_eq!(d.tier, Some(2));
    assert_eq!((d.latch, d.latch_changed), (Some(2), false));
    assert!(!d.changed);
}

#[test]
fn a_latched_pool_fails_over_further_down_then_up_if_nothing_below_serves() {
    let mut sim = Sim::new("failback = \"manual\"", THREE_TIERS);
    sim.decide();
    sim.down(0);
    sim.down(1);
    assert_eq!(sim.decide().latch, Some(2));
    sim.up(0);
    assert_eq!(sim.decide().tier, Some(2));

    // The latched tier dies: move down, not up, and latch there.
    sim.down(2);
    let d = sim.decide();
    assert_eq!((d.tier, d.latch, d.latch_changed), (Some(3), Some(3), true));
    assert!(d.reason.unwrap().contains("failover from priority 2 to 3"));
    sim.up(2);
    assert_eq!(sim.decide().tier, Some(3));

    // Nothing at or below the latch serves: the best tier above beats no answer.
    sim.down(3);
    sim.down(2);
    let d = sim.decide();
    assert_eq!((d.tier, d.served.clone()), (Some(1), vec![0]));
    assert!(!d.all_down);
    assert_eq!((d.latch, d.latch_changed), (None, true));
    let reason = d.reason.unwrap();
    assert!(reason.contains("failback from priority 3 to 1"), "{reason}");
    assert!(reason.contains("no longer held on priority 3"), "{reason}");
}

#[test]
fn a_restored_latch_holds_from_the_first_decision() {
    let mut sim = Sim::new("failback = \"manual\"", THREE_TIERS);
    assert!(sim.pool.set_latch(Some(2)));
    assert_eq!(sim.pool.latch(), Some(2));
    let d = sim.decide();
    assert_eq!((d.tier, d.served.clone()), (Some(2), vec![2]));
    assert!(d.degraded);
    assert_eq!((d.latch, d.latch_changed), (Some(2), false));
    sim.up(0);
    sim.up(2);
    assert_eq!(sim.decide().tier, Some(2));
}

#[test]
fn a_latch_that_no_longer_applies_is_dropped() {
    // A tier that the configuration no longer has.
    let mut sim = Sim::new("failback = \"manual\"", THREE_TIERS);
    assert!(!sim.pool.set_latch(Some(7)));
    assert_eq!(sim.pool.latch(), None);
    let d = sim.decide();
    assert_eq!(d.tier, Some(1));
    // Reported as changed so that the caller removes the stale saved latch.
    assert_eq!((d.latch, d.latch_changed), (None, true));
    assert_eq!(
        d.reason.as_deref(),
        Some("www.example.test.: serving priority 1; no longer held on priority 7")
    );

    // A pool whose failback became automatic.
    let mut sim = Sim::new("", THREE_TIERS);
    assert!(!sim.pool.set_latch(Some(2)));
    let d = sim.decide();
    assert_eq!((d.tier, d.latch, d.latch_changed), (Some(1), None, true));

    // A latch on the top tier holds nothing.
    let mut sim = Sim::new("failback = \"manual\"", THREE_TIERS);
    assert!(sim.pool.set_latch(Some(1)));
    assert_eq!(sim.pool.latch(), None);
    assert!(sim.pool.set_latch(None));
    assert!(!sim.decide().latch_changed);
}

#[test]
fn when_all_down_serve_all() {
    let mut sim = Sim::new(
        "ttl_degraded = 10",
        &[
            ("192.0.2.3", 2, 1),
            ("192.0.2.1", 1, 1),
            ("2001:db8::1", 1, 1),
        ],
    );
    sim.decide();
    for i in 0..3 {
        sim.down(i);
    }
    let d = sim.decide();
    assert!(d.all_down && d.degraded);
    assert_eq!(d.tier, None);
    assert_eq!(d.served, vec![1, 2, 0]);
    assert_eq!(d.ttl, 10);
    assert_eq!(d.answer.v4, vec![v4("192.0.2.1", 1), v4("192.0.2.3", 1)]);
    assert_eq!(d.answer.v6, vec![v6("2001:db8::1", 1)]);
    let reason = d.reason.unwrap();
    assert!(
        reason.starts_with(
            "www.example.test.: all endpoints down; serving every endpoint \
             (when_all_down = serve-all): 192.0.2.3 down ("
        ),
        "{reason}"
    );

    sim.up(0);
    let d = sim.decide();
    assert!(!d.all_down);
    assert_eq!((d.tier, d.served.clone()), (Some(2), vec![0]));
    assert_eq!(
        d.reason.as_deref(),
        Some(
            "www.example.test.: serving priority 2 again after all endpoints were down: \
             192.0.2.3 up (2 consecutive successes)"
        )
    );
}

#[test]
fn when_all_down_serve_primary() {
    let mut sim = Sim::new(
        "when_all_down = \"serve-primary\"",
        &[
            ("192.0.2.3", 2, 1),
            ("192.0.2.1", 1, 1),
            ("192.0.2.2", 1, 1),
        ],
    );
    for i in 0..3 {
        sim.fail(i, 1);
    }
    let d = sim.decide();
    assert!(d.all_down && d.degraded);
    assert_eq!((d.tier, d.served.clone()), (Some(1), vec![1, 2]));
    assert_eq!(d.answer.v4, vec![v4("192.0.2.1", 1), v4("192.0.2.2", 1)]);
    assert!(d
        .reason
        .unwrap()
        .contains("all endpoints down; serving priority 1 (when_all_down = serve-primary)"));
}

#[test]
fn when_all_down_nodata() {
    let mut sim = Sim::new(
        "when_all_down = \"nodata\"",
        &[("192.0.2.1", 1, 1), ("2001:db8::1", 2, 1)],
    );
    sim.decide();
    sim.down(0);
    sim.down(1);
    let d = sim.decide();
    assert!(d.all_down && d.changed);
    assert_eq!((d.tier, d.served.clone()), (None, vec![]));
    assert!(d.answer.v4.is_empty() && d.answer.v6.is_empty());
    assert!(d
        .reason
        .unwrap()
        .contains("all endpoints down; serving no address (when_all_down = nodata)"));
}

#[test]
fn policy_all_rotates_every_healthy_endpoint_of_the_tier() {
    let mut sim = Sim::new(
        "policy = \"all\"",
        &[
            ("192.0.2.1", 1, 1),
            ("192.0.2.2", 1, 1),
            ("192.0.2.3", 1, 1),
            ("198.51.100.1", 2, 1),
        ],
    );
    sim.down(1);
    let d = sim.decide();
    assert_eq!(d.answer.spread, Spread::Rotate);
    assert_eq!(d.answer.v4, vec![v4("192.0.2.1", 1), v4("192.0.2.3", 1)]);
    // Load balancing in one site, failover to the other.
    sim.down(0);
    sim.down(2);
    let d = sim.decide();
    assert_eq!(d.answer.spread, Spread::Rotate);
    assert_eq!(d.answer.v4, vec![v4("198.51.100.1", 1)]);
}

#[test]
fn policy_weighted_copies_weights_of_healthy_endpoints() {
    let mut sim = Sim::new(
        "policy = \"weighted\"",
        &[
            ("192.0.2.1", 1, 3),
            ("192.0.2.2", 1, 1),
            ("2001:db8::1", 1, 7),
            ("198.51.100.1", 2, 2),
        ],
    );
    let d = sim.decide();
    assert_eq!(d.answer.spread, Spread::Weighted);
    assert_eq!(d.answer.v4, vec![v4("192.0.2.1", 3), v4("192.0.2.2", 1)]);
    assert_eq!(d.answer.v6, vec![v6("2001:db8::1", 7)]);
    sim.down(0);
    let d = sim.decide();
    assert_eq!(d.answer.v4, vec![v4("192.0.2.2", 1)]);
    assert_eq!(d.answer.v6, vec![v6("2001:db8::1", 7)]);
}

#[test]
fn ipv4_and_ipv6_endpoints_fill_their_own_lists_in_file_order() {
    let mut sim = Sim::new(
        "",
        &[
            ("2001:db8::2", 1, 1),
            ("192.0.2.9", 1, 1),
            ("2001:db8::1", 1, 1),
            ("192.0.2.1", 1, 1),
        ],
    );
    let d = sim.decide();
    assert_eq!(d.served, vec![0, 1, 2, 3]);
    assert_eq!(d.answer.v4, vec![v4("192.0.2.9", 1), v4("192.0.2.1", 1)]);
    assert_eq!(
        d.answer.v6,
        vec![v6("2001:db8::2", 1), v6("2001:db8::1", 1)]
    );
    // A tier is chosen over both families: with the IPv4 endpoints down the tier still
    // serves, and A queries get no address.
    sim.down(1);
    sim.down(3);
    let d = sim.decide();
    assert_eq!(d.tier, Some(1));
    assert!(d.answer.v4.is_empty());
    assert_eq!(d.answer.v6.len(), 2);
}

#[test]
fn degraded_ttl_only_when_configured_and_only_for_the_top_tier() {
    let endpoints = &[("192.0.2.1", 1, 1), ("192.0.2.2", 2, 1)];
    let mut plain = Sim::new("ttl = 60", endpoints);
    plain.down(0);
    let d = plain.decide();
    assert!(d.degraded);
    assert_eq!((d.ttl, d.answer.ttl), (60, 60));

    let mut sim = Sim::new("ttl = 60\nttl_degraded = 10", endpoints);
    sim.down(1);
    let d = sim.decide();
    assert!(
        !d.degraded,
        "a backup down leaves the top tier fully healthy"
    );
    assert_eq!(d.ttl, 60);
    sim.down(0);
    let d = sim.decide();
    assert!(d.degraded);
    assert_eq!((d.ttl, d.answer.ttl), (10, 10));
}

#[test]
fn overrides_steer_the_decision() {
    let mut sim = Sim::new("", &[("192.0.2.1", 1, 1), ("192.0.2.2", 2, 1)]);
    sim.up(0);
    sim.up(1);
    sim.decide();
    sim.health[0].set_override(Some(Override::ForceDown));
    let d = sim.decide();
    assert_eq!(d.tier, Some(2));
    assert_eq!(
        d.reason.as_deref(),
        Some(
            "www.example.test.: failover from priority 1 to 2: \
             192.0.2.1 down (forced down by an operator)"
        )
    );
    sim.health[0].set_override(None);
    sim.down(1);
    sim.down(0);
    sim.health[1].set_override(Some(Override::ForceUp));
    let d = sim.decide();
    assert!(!d.all_down);
    assert_eq!((d.tier, d.served.clone()), (Some(2), vec![1]));
}

#[test]
fn priorities_need_not_be_contiguous() {
    let mut sim = Sim::new("", &[("192.0.2.1", 10, 1), ("192.0.2.2", 20, 1)]);
    assert_eq!(sim.decide().tier, Some(10));
    sim.down(0);
    let d = sim.decide();
    assert_eq!(d.tier, Some(20));
    assert!(d
        .reason
        .unwrap()
        .contains("failover from priority 10 to 20"));
}

#[test]
#[should_panic(expected = "one health entry per endpoint")]
fn decide_refuses_a_health_list_of_the_wrong_length() {
    let mut sim = Sim::new("", &[("192.0.2.1", 1, 1), ("192.0.2.2", 2, 1)]);
    sim.health.pop();
    sim.decide();
}
