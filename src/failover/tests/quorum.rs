//! Several checkers behind one failover state: quorum verdicts drive decisions, stale
//! views lose the quorum without failing over, reports for unknown endpoints are refused,
//! and reloads keep views by checker name.

use super::*;

const QUORUM_POOLS: &str = r#"
[[pool]]
name = "www.example.test."
[pool.check]
kind = "tcp"
port = 80
interval = "1s"
fall = 2
rise = 2
quorum = 2
[[pool.endpoint]]
address = "192.0.2.1"
priority = 1
[[pool.endpoint]]
address = "192.0.2.2"
priority = 2
"#;

fn fleet() -> Fleet {
    Fleet::new(true, vec!["fra1".into(), "nyc1".into()])
}

/// Every checker reports every endpoint once at `at` with `primary_ok` for the primary,
/// except the checkers in `silent`.
fn round(f: &mut Failover, at: Instant, primary_ok: &[bool; 3], silent: &[usize]) {
    for (checker, &primary) in primary_ok.iter().enumerate() {
        if silent.contains(&checker) {
            continue;
        }
        let first = if primary { ok() } else { refused() };
        for (address, outcome) in [("192.0.2.1", first), ("192.0.2.2", ok())] {
            if let Ok(Some(pool)) = f.observe_from(checker, &key(address), &outcome, at, Some(1e9))
            {
                f.decide(pool);
            }
        }
    }
    for pool in f.sweep(at) {
        f.decide(pool);
    }
}

#[test]
fn one_checker_seeing_the_primary_down_moves_nothing_two_do() {
    let t0 = Instant::now();
    let at = |s: u64| t0 + Duration::from_secs(s);
    let mut f = Failover::new(
        &configs(QUORUM_POOLS),
        fleet(),
        &SavedState::default(),
        t0,
        SystemTime::UNIX_EPOCH,
    );
    f.decide_all();
    round(&mut f, at(0), &[true, true, true], &[]);
    assert_eq!(served(&f), ["192.0.2.1"]);
    for s in 1..5 {
        round(&mut f, at(s), &[true, false, true], &[]);
    }
    assert_eq!(served(&f), ["192.0.2.1"], "fra1 alone sees it down");
    let status = &f.status(at(4))[0].endpoints[0];
    assert_eq!(status.state, "up");
    assert_eq!(
        status.quorum.verdict,
        "up: 2 of 3 fresh checkers see it up (quorum 2)"
    );
    let views: Vec<(&str, &str, bool)> = status
        .checkers
        .iter()
        .map(|c| (c.checker.as_str(), c.state, c.fresh))
        .collect();
    assert_eq!(
        views,
        [
            ("local", "up", true),
            ("fra1", "down", true),
            ("nyc1", "up", true)
        ]
    );
    assert_eq!(
        status.checkers[1].last_result.as_ref().unwrap().reported_at,
        Some(1e9)
    );
    for s in 5..7 {
        round(&mut f, at(s), &[false, false, true], &[]);
    }
    assert_eq!(served(&f), ["192.0.2.2"], "local and fra1 agree: quorum 2");
    let status = &f.status(at(6))[0].endpoints[0];
    assert!(
        status
            .reason
            .starts_with("2 of 3 fresh checkers see it down (quorum 2): local ("),
        "{}",
        status.reason
    );
    assert_eq!(status.checks, 3 * 7, "results of every checker are counted");
    let stranger = EndpointKey {
        pool: Name::from_text("nope.example.test.").unwrap(),
        address: "192.0.2.1".parse().unwrap(),
    };
    assert_eq!(
        f.observe_from(1, &stranger, &ok(), at(7), None),
        Err(NotConfigured)
    );
    assert_eq!(
        f.observe_from(1, &key("192.0.2.9"), &ok(), at(7), None),
        Err(NotConfigured)
    );
}

#[test]
fn silent_checkers_go_stale_and_the_pool_keeps_its_answer() {
    let t0 = Instant::now();
    let at = |s: u64| t0 + Duration::from_secs(s);
    let mut f = Failover::new(
        &configs(QUORUM_POOLS),
        fleet(),
        &SavedState::default(),
        t0,
        SystemTime::UNIX_EPOCH,
    );
    f.decide_all();
    round(&mut f, at(0), &[true, true, true], &[]);
    assert_eq!(
        f.next_sweep(),
        Some(at(3) + Duration::from_millis(1)),
        "stale_after defaults to three intervals"
    );
    // fra1 and nyc1 stop reporting; local alone sees the primary fail.
    for s in 1..8 {
        round(&mut f, at(s), &[false, true, true], &[1, 2]);
    }
    assert_eq!(served(&f), ["192.0.2.1"], "no failover on missing data");
    let status = &f.status(at(7))[0].endpoints[0];
    assert!(!status.quorum.met);
    assert_eq!((status.quorum.fresh, status.quorum.stale), (1, 2));
    assert!(
        status.quorum.verdict.starts_with(
            "no quorum: 1 fresh checker of 2 needed, keeping up; stale: fra1 (silent for 7.0s)"
        ),
        "{}",
        status.quorum.verdict
    );
    assert!(!status.checkers[2].fresh);
    assert_eq!(status.checkers[2].age_seconds, Some(7.0));
    let checkers = f.checker_status(at(7));
    assert_eq!(checkers[0].name, "local");
    assert!(checkers[0].local && !checkers[1].local);
}

#[test]
fn reloading_keeps_views_of_checkers_that_stay_and_local_can_be_off() {
    let t0 = Instant::now();
    let mut f = Failover::new(
        &configs(QUORUM_POOLS),
        fleet(),
        &SavedState::default(),
        t0,
        SystemTime::UNIX_EPOCH,
    );
    round(&mut f, t0, &[true, false, true], &[]);
    let remote_only = Fleet::new(false, vec!["nyc1".into(), "fra1".into(), "sin1".into()]);
    let mut next = f.reconfigure(&configs(QUORUM_POOLS), remote_only, t0);
    next.decide_all();
    let views: Vec<(String, &str)> = next.status(t0)[0].endpoints[0]
        .checkers
        .iter()
        .map(|c| (c.checker.clone(), c.state))
        .collect();
    assert_eq!(
        views,
        [
            ("nyc1".into(), "up"),
            ("fra1".into(), "down"),
            ("sin1".into(), "unknown")
        ]
    );
    assert_eq!(
        next.observe(&key("192.0.2.1"), &refused(), t0),
        None,
        "local results are ignored while the local checks are off"
    );
    assert_eq!(next.status(t0)[0].endpoints[0].checks, 3, "and not counted");
}

#[test]
fn a_report_is_applied_as_one_batch_and_counted() {
    let t0 = Instant::now();
    let mut f = Failover::new(
        &configs(QUORUM_POOLS),
        fleet(),
        &SavedState::default(),
        t0,
        SystemTime::UNIX_EPOCH,
    );
    f.decide_all();
    let observation = |address: &str, outcome: CheckOutcome| Observation {
        key: key(address),
        outcome,
        reported_at: Some(1.5e9),
    };
    let stranger = Observation {
        key: EndpointKey {
            pool: Name::from_text("other.example.test.").unwrap(),
            address: "192.0.2.1".parse().unwrap(),
        },
        outcome: ok(),
        reported_at: None,
    };
    let fra1 = f.fleet().index("fra1").unwrap();
    let nyc1 = f.fleet().index("nyc1").unwrap();
    let all_up = [
        observation("192.0.2.1", ok()),
        observation("192.0.2.2", ok()),
    ];
    for checker in [fra1, nyc1] {
        let tally = f.apply_report(checker, &all_up, 0, t0);
        for pool in tally.changed {
            f.decide(pool);
        }
    }
    let batch = [
        observation("192.0.2.1", refused()),
        observation("192.0.2.9", ok()),
        stranger,
        observation("192.0.2.2", ok()),
    ];
    let tally = f.apply_report(fra1, &batch, 2, t0 + Duration::from_secs(1));
    // Two results applied; one unknown endpoint, one unknown pool and two unreadable ignored.
    assert_eq!((tally.accepted, tally.ignored), (2, 4));
    assert!(
        tally.changed.is_empty(),
        "one failure (fall 2) of one checker changes no verdict"
    );
    let status = f.checker_status(t0 + Duration::from_secs(1));
    let counted = status.iter().find(|c| c.name == "fra1").unwrap();
    assert_eq!(
        (counted.reports, counted.results, counted.ignored),
        (2, 4, 4)
    );

    // A second failure from fra1 and two from nyc1 reach the quorum of two: the pool changes.
    let at = t0 + Duration::from_secs(2);
    f.apply_report(fra1, &[observation("192.0.2.1", refused())], 0, at);
    let failing = [observation("192.0.2.1", refused())];
    let first = f.apply_report(nyc1, &failing, 0, at);
    assert!(
        first.changed.is_empty(),
        "nyc1's first failure: no quorum yet"
    );
    let tally = f.apply_report(nyc1, &failing, 0, at);
    assert_eq!(tally.changed.iter().copied().collect::<Vec<_>>(), [0]);
}
