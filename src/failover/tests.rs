//! Failover state tests with a simulated clock: outcomes drive transitions and decisions,
//! overrides and latches persist, and a reconfiguration keeps what it can.

use super::*;
use crate::probe::{CheckOutcome, FailureKind};
use std::time::Duration;

const POOLS: &str = r#"
[[pool]]
name = "www.example.test."
ttl = 30
ttl_degraded = 5
failback = "manual"
[pool.check]
kind = "tcp"
port = 80
fall = 2
rise = 2
[[pool.endpoint]]
address = "192.0.2.1"
priority = 1
[[pool.endpoint]]
address = "192.0.2.2"
priority = 2
"#;

#[derive(serde::Deserialize)]
struct Pools {
    pool: Vec<PoolConfig>,
}

fn configs(text: &str) -> Vec<PoolConfig> {
    toml::from_str::<Pools>(text).unwrap().pool
}

fn ok() -> CheckOutcome {
    CheckOutcome {
        ok: true,
        latency: Duration::from_millis(3),
        error: None,
        reason: None,
    }
}

fn refused() -> CheckOutcome {
    let error = Some("connection refused".to_string());
    CheckOutcome {
        ok: false,
        latency: Duration::from_millis(1),
        error,
        reason: Some(FailureKind::Refused),
    }
}

fn key(address: &str) -> EndpointKey {
    EndpointKey {
        pool: Name::from_text("www.example.test.").unwrap(),
        address: address.parse().unwrap(),
    }
}

fn served(failover: &Failover) -> Vec<String> {
    let answer = &failover.pool_defs()[0].answers[0];
    answer.v4.iter().map(|s| s.address.to_string()).collect()
}

#[test]
fn failover_follows_fall_and_holds_on_manual_failback() {
    let t0 = Instant::now();
    let at = |s: u64| t0 + Duration::from_secs(s);
    let mut f = Failover::new(
        &configs(POOLS),
        Fleet::default(),
        &SavedState::default(),
        t0,
        SystemTime::UNIX_EPOCH,
    );
    assert_eq!(f.targets().len(), 2);
    for (s, address) in [(0, "192.0.2.1"), (0, "192.0.2.2")] {
        assert_eq!(
            f.observe(&key(address), &ok(), at(s)),
            Some(0),
            "the first result decides"
        );
    }
    f.decide_all();
    assert_eq!(served(&f), ["192.0.2.1"]);
    assert_eq!(
        f.observe(&key("192.0.2.1"), &refused(), at(1)),
        None,
        "one failure is a blip"
    );
    assert_eq!(f.observe(&key("192.0.2.1"), &refused(), at(2)), Some(0));
    assert!(f.decide(0).answer_changed);
    assert_eq!(served(&f), ["192.0.2.2"]);
    assert_eq!(f.status(Instant::now())[0].ttl, 5, "degraded TTL");
    assert_eq!(f.status(Instant::now())[0].failovers, 1);
    assert_eq!(f.saved_state().latches.get("www.example.test."), Some(&2));
    // The primary comes back, but manual failback holds the pool on tier 2.
    f.observe(&key("192.0.2.1"), &ok(), at(3));
    assert_eq!(f.observe(&key("192.0.2.1"), &ok(), at(4)), Some(0));
    assert!(!f.decide(0).answer_changed);
    assert_eq!(served(&f), ["192.0.2.2"]);
    let (pool, tier) = f.release("WWW.example.test").unwrap();
    assert_eq!((pool, tier), (0, Some(2)));
    assert!(f.decide(0).answer_changed);
    assert_eq!(served(&f), ["192.0.2.1"]);
    let status = &f.status(Instant::now())[0];
    assert_eq!(status.endpoints[0].failures.get("refused"), Some(&2));
    assert_eq!(status.endpoints[0].checks, 5);
    assert_eq!(status.endpoints[0].duration_buckets.iter().sum::<u64>(), 5);
}

#[test]
fn overrides_apply_persist_and_restore() {
    let t0 = Instant::now();
    let mut f = Failover::new(
        &configs(POOLS),
        Fleet::default(),
        &SavedState::default(),
        t0,
        SystemTime::UNIX_EPOCH,
    );
    f.observe(&key("192.0.2.1"), &ok(), t0);
    f.observe(&key("192.0.2.2"), &ok(), t0);
    f.decide_all();
    let address = "192.0.2.1".parse().unwrap();
    assert_eq!(
        f.set_override("www.example.test.", address, Some(Override::ForceDown)),
        Ok(0)
    );
    f.decide(0);
    assert_eq!(served(&f), ["192.0.2.2"]);
    let saved = f.saved_state();
    assert_eq!(
        saved.overrides["www.example.test."][&address],
        SavedOverride::Down
    );
    // A restart restores the drain before any check runs.
    let mut again = Failover::new(
        &configs(POOLS),
        Fleet::default(),
        &saved,
        t0,
        SystemTime::UNIX_EPOCH,
    );
    again.observe(&key("192.0.2.1"), &ok(), t0);
    again.observe(&key("192.0.2.2"), &ok(), t0);
    again.decide_all();
    assert_eq!(served(&again), ["192.0.2.2"]);
    assert_eq!(
        again.status(Instant::now())[0].endpoints[0].override_state,
        Some("down")
    );
    let missing = f.set_override("nope.example.test.", address, None);
    assert_eq!(missing, Err(NotFound::Pool("nope.example.test.".into())));
    let stranger = f.set_override("www.example.test.", "192.0.2.9".parse().unwrap(), None);
    assert!(matches!(stranger, Err(NotFound::Endpoint { .. })));
}

#[test]
fn reconfiguring_keeps_the_state_of_endpoints_that_stay() {
    let t0 = Instant::now();
    let mut f = Failover::new(
        &configs(POOLS),
        Fleet::default(),
        &SavedState::default(),
        t0,
        SystemTime::UNIX_EPOCH,
    );
    f.observe(&key("192.0.2.1"), &refused(), t0);
    f.observe(&key("192.0.2.2"), &ok(), t0);
    f.decide_all();
    let changed = POOLS.replace("192.0.2.2", "192.0.2.3");
    let mut next = f.reconfigure(
        &configs(&changed),
        Fleet::default(),
        t0 + Duration::from_secs(5),
    );
    next.decide_all();
    let endpoints = &next.status(Instant::now())[0].endpoints;
    assert_eq!(endpoints[0].state, "down", "kept its history");
    assert_eq!(endpoints[0].checks, 1);
    assert_eq!(
        endpoints[1].state, "unknown",
        "a new endpoint starts unknown"
    );
    assert_eq!(
        next.targets()[1].target.address,
        "192.0.2.3".parse::<IpAddr>().unwrap()
    );
}

mod cadence;
mod quorum;
