//! The fall/rise state machine driven by a simulated clock.

use super::*;

/// A simulated clock: a fixed start plus an offset that tests advance by hand.
struct Clock {
    start: Instant,
    offset: Duration,
}

impl Clock {
    fn new() -> Clock {
        Clock {
            start: Instant::now(),
            offset: Duration::ZERO,
        }
    }

    fn now(&self) -> Instant {
        self.start + self.offset
    }

    fn tick(&mut self) -> Instant {
        self.offset += Duration::from_millis(200);
        self.now()
    }
}

fn ok() -> CheckResult {
    CheckResult::success(Duration::from_millis(3))
}

fn fail() -> CheckResult {
    CheckResult::failure(Duration::from_millis(500), "connection refused")
}

/// An endpoint already Up (by its first check), with a clock.
fn up(fall: u32, rise: u32) -> (EndpointHealth, Clock) {
    let mut clock = Clock::new();
    let mut endpoint = EndpointHealth::new(fall, rise, clock.now());
    endpoint.observe(ok(), clock.tick()).expect("first verdict");
    assert_eq!(endpoint.checked(), Health::Up);
    (endpoint, clock)
}

#[test]
fn unknown_counts_as_serving_until_the_first_result() {
    let clock = Clock::new();
    let endpoint = EndpointHealth::new(3, 2, clock.now());
    assert_eq!(endpoint.checked(), Health::Unknown);
    assert_eq!(endpoint.effective(), Health::Unknown);
    assert!(endpoint.effective().is_serving());
    assert!(!Health::Down.is_serving());
    assert_eq!(endpoint.since(), clock.now());
    assert_eq!(endpoint.last_check(), None);
    assert_eq!(endpoint.reason(), "not checked yet");
}

#[test]
fn first_success_decides_up_at_once() {
    let mut clock = Clock::new();
    let mut endpoint = EndpointHealth::new(3, 2, clock.now());
    let at = clock.tick();
    let transition = endpoint.observe(ok(), at).expect("first verdict");
    assert_eq!(
        transition,
        Transition {
            from: Health::Unknown,
            to: Health::Up,
            reason: "first check passed".to_string()
        }
    );
    assert_eq!(endpoint.since(), at);
    assert_eq!(endpoint.successes(), 1);
}

#[test]
fn first_failure_decides_down_at_once_even_with_a_high_fall() {
    let mut clock = Clock::new();
    let mut endpoint = EndpointHealth::new(5, 2, clock.now());
    let at = clock.tick();
    let transition = endpoint.observe(fail(), at).expect("first verdict");
    assert_eq!(
        (transition.from, transition.to),
        (Health::Unknown, Health::Down)
    );
    assert_eq!(transition.reason, "first check failed: connection refused");
    assert_eq!(
        transition.to_string(),
        "unknown -> down: first check failed: connection refused"
    );
    assert_eq!(endpoint.effective(), Health::Down);
    assert_eq!(endpoint.failures(), 1);
    // From there, rise successes are needed as usual.
    assert_eq!(endpoint.observe(ok(), clock.tick()), None);
    assert_eq!(endpoint.observe(ok(), clock.tick()).unwrap().to, Health::Up);
}

#[test]
fn fall_minus_one_failures_change_nothing_and_the_fall_th_takes_it_down() {
    for fall in 1..=5 {
        let (mut endpoint, mut clock) = up(fall, 2);
        let since = endpoint.since();
        for n in 1..fall {
            assert_eq!(
                endpoint.observe(fail(), clock.tick()),
                None,
                "fall {fall}, failure {n}"
            );
            assert_eq!(endpoint.checked(), Health::Up);
            assert_eq!(endpoint.since(), since);
            assert_eq!(endpoint.failures(), n);
        }
        let at = clock.tick();
        let transition = endpoint.observe(fail(), at).expect("fall reached");
        assert_eq!((transition.from, transition.to), (Health::Up, Health::Down));
        assert_eq!(
            transition.reason,
            match fall {
                1 => "1 consecutive failure: connection refused".to_string(),
                _ => format!("{fall} consecutive failures: connection refused"),
            }
        );
        assert_eq!(endpoint.since(), at);
        assert_eq!(endpoint.reason(), transition.reason);
        // Further failures keep it down without new transitions.
        assert_eq!(endpoint.observe(fail(), clock.tick()), None);
        assert_eq!(endpoint.checked(), Health::Down);
    }
}

#[test]
fn rise_minus_one_successes_change_nothing_and_the_rise_th_brings_it_up() {
    for rise in 1..=5 {
        let mut clock = Clock::new();
        let mut endpoint = EndpointHealth::new(3, rise, clock.now());
        endpoint.observe(fail(), clock.tick());
        assert_eq!(endpoint.checked(), Health::Down);
        for n in 1..rise {
            assert_eq!(
                endpoint.observe(ok(), clock.tick()),
                None,
                "rise {rise}, success {n}"
            );
            assert_eq!(endpoint.checked(), Health::Down);
        }
        let transition = endpoint.observe(ok(), clock.tick()).expect("rise reached");
        assert_eq!((transition.from, transition.to), (Health::Down, Health::Up));
        let expected = match rise {
            1 => "1 consecutive success".to_string(),
            _ => format!("{rise} consecutive successes"),
        };
        assert_eq!(transition.reason, expected);
        assert_eq!(endpoint.observe(ok(), clock.tick()), None);
    }
}

#[test]
fn a_flapping_endpoint_never_flips() {
    let (mut endpoint, mut clock) = up(3, 2);
    for round in 0..50 {
        // Two failures, one success: never three failures in a row.
        assert_eq!(
            endpoint.observe(fail(), clock.tick()),
            None,
            "round {round}"
        );
        assert_eq!(
            endpoint.observe(fail(), clock.tick()),
            None,
            "round {round}"
        );
        assert_eq!(endpoint.observe(ok(), clock.tick()), None, "round {round}");
    }
    assert_eq!(endpoint.checked(), Health::Up);

    // Down, then alternating: never two successes in a row.
    for _ in 0..3 {
        endpoint.observe(fail(), clock.tick());
    }
    assert_eq!(endpoint.checked(), Health::Down);
    for round in 0..50 {
        assert_eq!(endpoint.observe(ok(), clock.tick()), None, "round {round}");
        assert_eq!(
            endpoint.observe(fail(), clock.tick()),
            None,
            "round {round}"
        );
    }
    assert_eq!(endpoint.checked(), Health::Down);
}

#[test]
fn counters_reset_on_the_opposite_result() {
    let (mut endpoint, mut clock) = up(3, 2);
    endpoint.observe(fail(), clock.tick());
    endpoint.observe(fail(), clock.tick());
    assert_eq!((endpoint.failures(), endpoint.successes()), (2, 0));
    endpoint.observe(ok(), clock.tick());
    assert_eq!((endpoint.failures(), endpoint.successes()), (0, 1));
    // The count starts over: two more failures are not enough.
    endpoint.observe(fail(), clock.tick());
    assert_eq!(endpoint.observe(fail(), clock.tick()), None);
    assert!(endpoint.observe(fail(), clock.tick()).is_some());
}

#[test]
fn keeps_the_last_result() {
    let (mut endpoint, mut clock) = up(3, 2);
    let at = clock.tick();
    endpoint.observe(fail(), at);
    let last = endpoint.last_check().unwrap();
    assert_eq!(last.at, at);
    assert_eq!(last.result.error.as_deref(), Some("connection refused"));
    assert_eq!(last.result.latency, Duration::from_millis(500));
    assert!(!last.result.is_success());
    let at = clock.tick();
    endpoint.observe(CheckResult::success(Duration::from_millis(7)), at);
    let last = endpoint.last_check().unwrap();
    assert_eq!(
        (last.at, last.result.latency),
        (at, Duration::from_millis(7))
    );
    assert!(last.result.is_success());
}

#[test]
fn overrides_win_over_checks_and_checks_carry_on_underneath() {
    let (mut endpoint, mut clock) = up(2, 2);
    let forced = endpoint
        .set_override(Some(Override::ForceDown))
        .expect("effective change");
    assert_eq!((forced.from, forced.to), (Health::Up, Health::Down));
    assert_eq!(forced.reason, "forced down by an operator");
    assert_eq!(endpoint.effective(), Health::Down);
    assert_eq!(endpoint.checked(), Health::Up);
    assert_eq!(endpoint.reason(), "forced down by an operator");
    assert_eq!(endpoint.override_value(), Some(Override::ForceDown));
    // Setting the same override again changes nothing.
    assert_eq!(endpoint.set_override(Some(Override::ForceDown)), None);

    // Checks keep running: the endpoint goes down underneath.
    endpoint.observe(fail(), clock.tick());
    assert!(endpoint.observe(fail(), clock.tick()).is_some());
    assert_eq!(endpoint.checked(), Health::Down);

    // Forcing up serves it despite the checks.
    let forced = endpoint.set_override(Some(Override::ForceUp)).unwrap();
    assert_eq!((forced.from, forced.to), (Health::Down, Health::Up));
    assert_eq!(endpoint.effective(), Health::Up);
    assert!(endpoint.effective().is_serving());

    // Removing the override lands on the checked state.
    let cleared = endpoint.set_override(None).unwrap();
    assert_eq!((cleared.from, cleared.to), (Health::Up, Health::Down));
    assert_eq!(cleared.reason, "operator override removed; checks say down");
    assert_eq!(
        endpoint.reason(),
        "2 consecutive failures: connection refused"
    );
}

#[test]
fn an_override_matching_the_checked_state_is_not_a_transition() {
    let (mut endpoint, _clock) = up(3, 2);
    assert_eq!(endpoint.set_override(Some(Override::ForceUp)), None);
    assert_eq!(endpoint.set_override(None), None);
    // Forcing up an unknown endpoint is a change (unknown -> up).
    let clock = Clock::new();
    let mut fresh = EndpointHealth::new(3, 2, clock.now());
    let t = fresh.set_override(Some(Override::ForceUp)).unwrap();
    assert_eq!((t.from, t.to), (Health::Unknown, Health::Up));
}

#[test]
fn zero_thresholds_act_as_one() {
    let (mut endpoint, mut clock) = up(0, 0);
    assert_eq!((endpoint.fall(), endpoint.rise()), (1, 1));
    assert_eq!(
        endpoint.observe(fail(), clock.tick()).unwrap().to,
        Health::Down
    );
    assert_eq!(endpoint.observe(ok(), clock.tick()).unwrap().to, Health::Up);
}

#[test]
fn reasons_count_in_the_singular_and_plural() {
    assert_eq!(count(1, "consecutive failure"), "1 consecutive failure");
    assert_eq!(count(3, "consecutive failure"), "3 consecutive failures");
    assert_eq!(count(1, "consecutive success"), "1 consecutive success");
    assert_eq!(count(2, "consecutive success"), "2 consecutive successes");
    let start = Instant::now();
    let mut health = EndpointHealth::new(1, 1, start);
    health.observe(CheckResult::success(Duration::ZERO), start);
    let transition = health
        .observe(
            CheckResult::failure(Duration::ZERO, "connection refused"),
            start,
        )
        .expect("fall 1: down at the first failure");
    assert_eq!(
        transition.reason,
        "1 consecutive failure: connection refused"
    );
}
