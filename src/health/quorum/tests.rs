//! Quorum verdicts with a simulated clock: a checker cut off, the backend really down,
//! stale checkers and lost quorum, flapping, overrides and determinism.

use super::*;

/// An endpoint with named checkers, a quorum rule and a simulated clock.
struct Sim {
    endpoint: EndpointVerdict,
    names: Vec<String>,
    rule: QuorumRule,
    start: Instant,
    now: Instant,
    /// Every verdict transition and quorum change, in order.
    log: Vec<String>,
}

impl Sim {
    /// Checkers `names`, fall 2, rise 2, stale after 3 s.
    fn new(names: &[&str], quorum: u32) -> Sim {
        let start = Instant::now();
        Sim {
            endpoint: EndpointVerdict::new(names.len(), 2, 2, start),
            names: names.iter().map(|n| n.to_string()).collect(),
            rule: QuorumRule {
                quorum,
                stale_after: Duration::from_secs(3),
            },
            start,
            now: start,
            log: Vec::new(),
        }
    }

    fn at(&mut self, millis: u64) {
        self.now = self.start + Duration::from_millis(millis);
    }

    fn index(&self, name: &str) -> usize {
        self.names.iter().position(|n| n == name).unwrap()
    }

    fn record(&mut self, changes: Changes) {
        if let Some(t) = changes.verdict {
            self.log
                .push(format!("{} -> {}: {}", t.from, t.to, t.reason));
        }
        match changes.quorum {
            Some(QuorumChange::Lost(why)) => self.log.push(format!("lost: {why}")),
            Some(QuorumChange::Regained(why)) => self.log.push(format!("regained: {why}")),
            None => {}
        }
    }

    fn report(&mut self, name: &str, ok: bool) {
        let result = if ok {
            CheckResult::success(Duration::from_millis(2))
        } else {
            CheckResult::failure(Duration::from_millis(1), "connection refused")
        };
        let index = self.index(name);
        let changes =
            self.endpoint
                .observe(index, result, self.now, Some(1.0), &self.rule, &self.names);
        self.record(changes);
    }

    /// One round: every listed checker reports, then time moves on by 500 ms.
    fn round(&mut self, results: &[(&str, bool)]) {
        for &(name, ok) in results {
            self.report(name, ok);
        }
        self.now += Duration::from_millis(500);
        let changes = self.endpoint.evaluate(self.now, &self.rule, &self.names);
        self.record(changes);
    }

    fn state(&self) -> Health {
        self.endpoint.effective()
    }

    fn why(&self) -> String {
        self.endpoint.explain(self.now, &self.rule, &self.names)
    }
}

const FLEET: [&str; 3] = ["fra1", "nyc1", "sin1"];

#[test]
fn a_single_checker_is_the_single_machine() {
    let mut sim = Sim::new(&["local"], 1);
    assert_eq!(sim.state(), Health::Unknown);
    sim.round(&[("local", true)]);
    assert_eq!(sim.state(), Health::Up);
    assert_eq!(sim.log, ["unknown -> up: first check passed"]);
    sim.round(&[("local", false)]);
    assert_eq!(sim.state(), Health::Up, "one failure is a blip (fall 2)");
    sim.round(&[("local", false)]);
    assert_eq!(sim.state(), Health::Down);
    assert_eq!(
        sim.log[1], "up -> down: 2 consecutive failures: connection refused",
        "the checker's own reason, as before quorums existed"
    );
    assert_eq!(
        sim.why(),
        "down: 1 of 1 fresh checkers see it down (quorum 1)"
    );
}

#[test]
fn one_checker_cut_off_changes_nothing_but_the_backend_down_does() {
    let mut sim = Sim::new(&FLEET, 2);
    sim.round(&[("fra1", true), ("nyc1", true), ("sin1", true)]);
    assert_eq!(sim.state(), Health::Up);
    // fra1's path to the backend is cut: it sees the endpoint down, alone.
    for _ in 0..5 {
        sim.round(&[("fra1", false), ("nyc1", true), ("sin1", true)]);
    }
    assert_eq!(sim.endpoint.views()[0].health().checked(), Health::Down);
    assert_eq!(sim.state(), Health::Up);
    assert_eq!(sim.why(), "up: 2 of 3 fresh checkers see it up (quorum 2)");
    assert_eq!(sim.log.len(), 1, "{:?}", sim.log);
    // The backend dies: the others see it too, and the second to agree decides.
    sim.report("fra1", false);
    sim.report("nyc1", false);
    sim.report("nyc1", false);
    assert_eq!(sim.state(), Health::Down, "fra1 and nyc1 agree: quorum 2");
    assert_eq!(
        sim.log.last().unwrap(),
        "up -> down: 2 of 3 fresh checkers see it down (quorum 2): \
         fra1 (2 consecutive failures: connection refused), \
         nyc1 (2 consecutive failures: connection refused)"
    );
    // It comes back: up once two checkers have seen it rise.
    sim.round(&[("nyc1", true), ("sin1", false)]);
    sim.round(&[("nyc1", true), ("sin1", false)]);
    assert_eq!(sim.state(), Health::Down, "only nyc1 sees it up");
    sim.round(&[("fra1", true), ("sin1", true)]);
    sim.round(&[("fra1", true), ("sin1", true)]);
    assert_eq!(sim.state(), Health::Up);
}

#[test]
fn too_few_fresh_checkers_keep_the_last_verdict_and_say_so() {
    let mut sim = Sim::new(&FLEET, 2);
    sim.round(&[("fra1", true), ("nyc1", true), ("sin1", true)]);
    // nyc1 and sin1 stop reporting; fra1 alone sees the endpoint fail.
    for _ in 0..8 {
        sim.round(&[("fra1", false)]);
    }
    assert_eq!(sim.state(), Health::Up, "no failover on missing data");
    assert!(!sim.endpoint.quorum_met());
    let why = sim.why();
    assert!(
        why.starts_with(
            "no quorum: 1 fresh checker of 2 needed, keeping up; stale: nyc1 (silent for"
        ),
        "{why}"
    );
    assert!(
        sim.log.iter().any(|l| l.starts_with("lost: no quorum")),
        "{:?}",
        sim.log
    );
    // nyc1 comes back and also sees it down: quorum again, and down.
    sim.round(&[("fra1", false), ("nyc1", false)]);
    sim.round(&[("fra1", false), ("nyc1", false)]);
    assert_eq!(sim.state(), Health::Down);
    assert!(sim.endpoint.quorum_met());
    let tail: Vec<&str> = sim.log.iter().rev().take(2).map(String::as_str).collect();
    assert!(
        tail.iter().any(|l| l.starts_with("regained: down: 2 of 2")),
        "{tail:?}"
    );
}

#[test]
fn a_split_without_enough_agreement_keeps_the_last_verdict() {
    let mut sim = Sim::new(&FLEET, 2);
    sim.round(&[("fra1", true), ("nyc1", true)]);
    assert_eq!(sim.state(), Health::Up);
    for _ in 0..8 {
        sim.round(&[("fra1", true), ("nyc1", false)]);
    }
    assert_eq!(sim.state(), Health::Up);
    assert!(
        sim.why().starts_with(
            "no quorum: of 2 fresh checkers 1 see it up and 1 down, 2 must agree, keeping up"
        ),
        "{}",
        sim.why()
    );
}

#[test]
fn before_any_quorum_the_endpoint_stays_unknown_and_served() {
    let mut sim = Sim::new(&FLEET, 2);
    sim.round(&[("fra1", false)]);
    assert_eq!(sim.state(), Health::Unknown);
    assert!(sim.state().is_serving());
    assert!(
        sim.log.is_empty(),
        "no loss is reported before a first quorum"
    );
    assert!(sim.why().contains("fra1") || sim.why().contains("nyc1 (no result yet)"));
    sim.round(&[("nyc1", false)]);
    assert_eq!(sim.state(), Health::Down, "two first results agree");
}

#[test]
fn with_quorum_one_any_fresh_checker_seeing_it_down_decides() {
    let mut sim = Sim::new(&["local", "fra1"], 1);
    sim.round(&[("local", true), ("fra1", true)]);
    sim.round(&[("local", true), ("fra1", false)]);
    sim.round(&[("local", true), ("fra1", false)]);
    assert_eq!(sim.state(), Health::Down, "down is tested first");
    // fra1 goes silent: its vote lapses and local alone sees the endpoint up.
    for _ in 0..8 {
        sim.round(&[("local", true)]);
    }
    assert_eq!(sim.state(), Health::Up);
    assert!(
        sim.log
            .last()
            .unwrap()
            .starts_with("down -> up: 1 of 1 fresh checkers see it up"),
        "{:?}",
        sim.log
    );
}

#[test]
fn a_flapping_checker_moves_nothing() {
    let mut sim = Sim::new(&FLEET, 2);
    sim.round(&[("fra1", true), ("nyc1", true), ("sin1", true)]);
    for i in 0..20 {
        let ok = i % 2 == 0;
        sim.round(&[("fra1", ok), ("nyc1", !ok), ("sin1", true)]);
    }
    assert_eq!(sim.state(), Health::Up);
    for view in sim.endpoint.views() {
        assert_eq!(
            view.health().checked(),
            Health::Up,
            "fall 2 absorbs alternation"
        );
    }
    assert_eq!(sim.log.len(), 1, "{:?}", sim.log);
}

#[test]
fn overrides_win_over_the_verdict() {
    let mut sim = Sim::new(&FLEET, 2);
    sim.round(&[("fra1", true), ("nyc1", true), ("sin1", true)]);
    let drained = sim
        .endpoint
        .set_override(Some(Override::ForceDown))
        .unwrap();
    assert_eq!((drained.from, drained.to), (Health::Up, Health::Down));
    assert_eq!(sim.endpoint.reason(), "forced down by an operator");
    for _ in 0..3 {
        sim.round(&[("fra1", false), ("nyc1", false), ("sin1", false)]);
    }
    assert_eq!(sim.endpoint.checked(), Health::Down);
    assert!(sim.endpoint.set_override(Some(Override::ForceUp)).is_some());
    assert_eq!(sim.state(), Health::Up, "forced up against a down verdict");
    let released = sim.endpoint.set_override(None).unwrap();
    assert_eq!(released.to, Health::Down, "back to the verdict");
}

#[test]
fn the_same_reports_give_the_same_verdict_whatever_the_interleaving() {
    // Three checkers' sequences of results, delivered to two responders in different
    // orders and at slightly different times, as two responders see one fleet.
    let sequences: [(&str, [bool; 6]); 3] = [
        ("fra1", [true, true, false, false, false, false]),
        ("nyc1", [true, false, true, false, false, true]),
        ("sin1", [true, true, true, true, false, false]),
    ];
    let mut a = Sim::new(&FLEET, 2);
    let mut b = Sim::new(&FLEET, 2);
    for step in 0..6 {
        a.at(step as u64 * 500);
        b.at(step as u64 * 500 + 120);
        for (name, results) in &sequences {
            a.report(name, results[step]);
        }
        for (name, results) in sequences.iter().rev() {
            b.report(name, results[step]);
        }
        assert_eq!(a.state(), b.state(), "after step {step}");
        assert_eq!(
            a.endpoint.tally(a.now, &a.rule),
            b.endpoint.tally(b.now, &b.rule)
        );
    }
    assert_eq!(a.state(), Health::Down);
}

#[test]
fn staleness_deadlines_and_regrouping() {
    let mut sim = Sim::new(&["fra1", "nyc1"], 1);
    assert_eq!(sim.endpoint.next_stale(sim.now, &sim.rule), None);
    sim.at(1000);
    sim.report("fra1", true);
    let deadline = sim.endpoint.next_stale(sim.now, &sim.rule).unwrap();
    assert_eq!(
        deadline - sim.start,
        Duration::from_millis(4001),
        "received + stale_after, just past it"
    );
    assert!(sim.endpoint.views()[0].is_fresh(
        sim.start + Duration::from_millis(4000),
        Duration::from_secs(3)
    ));
    assert!(!sim.endpoint.views()[0].is_fresh(deadline, Duration::from_secs(3)));
    let old: Vec<String> = sim.names.clone();
    let new: Vec<String> = ["sin1", "fra1"].iter().map(|s| s.to_string()).collect();
    let regrouped = sim.endpoint.regroup(&old, &new, 2, 2, sim.now);
    assert_eq!(regrouped.views().len(), 2);
    assert_eq!(
        regrouped.views()[0].received(),
        None,
        "a new checker starts unknown"
    );
    assert_eq!(
        regrouped.views()[1].health().checked(),
        Health::Up,
        "fra1 kept"
    );
    assert_eq!(regrouped.checked(), Health::Up, "the verdict is kept");
}
