//! What is served: when_all_down modes, policies, address families, TTLs, overrides.

use super::*;

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

#[test]
fn drained_endpoints_are_never_served_even_when_all_are_down() {
    for mode in ["serve-all", "serve-primary"] {
        let mut sim = Sim::new(
            &format!("when_all_down = \"{mode}\""),
            &[
                ("192.0.2.1", 1, 1),
                ("192.0.2.2", 1, 1),
                ("192.0.2.3", 2, 1),
            ],
        );
        sim.decide();
        sim.health[0].set_override(Some(Override::ForceDown));
        sim.down(1);
        sim.down(2);
        let d = sim.decide();
        assert!(d.all_down, "{mode}");
        assert!(
            !d.served.contains(&0),
            "{mode}: the drained endpoint is served"
        );
        let expected = if mode == "serve-all" {
            vec![1, 2]
        } else {
            vec![1]
        };
        assert_eq!(d.served, expected, "{mode}");
        let reason = d.reason.unwrap();
        assert!(
            reason.contains("except the drained ones"),
            "{mode}: {reason}"
        );

        // Draining every endpoint serves nothing, whatever when_all_down says.
        sim.health[1].set_override(Some(Override::ForceDown));
        sim.health[2].set_override(Some(Override::ForceDown));
        let d = sim.decide();
        assert_eq!(d.served, Vec::<usize>::new(), "{mode}");
        assert!(d.answer.v4.is_empty() && d.answer.v6.is_empty(), "{mode}");
    }
}

#[test]
fn draining_every_endpoint_says_why_nothing_is_served() {
    let mut sim = Sim::new("", &[("192.0.2.1", 1, 1), ("192.0.2.2", 2, 1)]);
    sim.decide();
    sim.health[0].set_override(Some(Override::ForceDown));
    sim.health[1].set_override(Some(Override::ForceDown));
    let d = sim.decide();
    assert_eq!(d.served, Vec::<usize>::new());
    let reason = d.reason.unwrap();
    assert!(
        reason.starts_with(
            "www.example.test.: every endpoint is drained by an operator; serving no address"
        ),
        "{reason}"
    );
}
