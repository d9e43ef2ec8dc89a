//! Manual failback: the latch, its release, persistence and restoring.

use super::*;

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
