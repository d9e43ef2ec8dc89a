//! When one endpoint is checked next: every `interval` in steady state, every
//! `fast_interval` while a streak is under way (HAProxy's `fastinter`): after a failure of
//! an endpoint its checks confirmed up, or a success of one confirmed down, until `fall` or
//! `rise` results in a row confirm the change or a contrary result breaks the streak.
//!
//! The scheduler follows each endpoint's streak itself, from the results it produces, with
//! the same fall/rise rule as the health state's `EndpointHealth` (a failover test checks
//! that both agree): the probe agent has no health state of its own, and the
//! responder's failover core stays free of any scheduling. The streak only decides *when*
//! the next check runs; whether an endpoint is up is still decided by the health state.
//! Pure: no clock, no I/O.

use std::time::Duration;

/// How often one endpoint is checked, and the streak lengths that confirm a change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cadence {
    /// Between two checks in steady state.
    pub interval: Duration,
    /// Between two checks while a streak is under way (at most `interval`).
    pub fast_interval: Duration,
    /// Failures in a row that take an up endpoint down.
    pub fall: u32,
    /// Successes in a row that bring a down endpoint back.
    pub rise: u32,
}

impl Cadence {
    /// One check per `interval`, never faster (fall and rise of 1: no streak to confirm).
    pub fn steady(interval: Duration) -> Cadence {
        Cadence {
            interval,
            fast_interval: interval,
            fall: 1,
            rise: 1,
        }
    }

    /// The delay from the start of a check to the start of the next, once `streak` holds
    /// that check's result: `fast_interval` while a change awaits confirmation.
    pub fn next_delay(&self, streak: &Streak) -> Duration {
        if streak.pending() {
            self.fast_interval.min(self.interval)
        } else {
            self.interval
        }
    }
}

/// What one endpoint's own results say so far: the state they confirmed and how many
/// results in a row have contradicted it since.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Streak {
    /// `Some(true)` up, `Some(false)` down, `None` before the first result.
    confirmed: Option<bool>,
    /// Consecutive results contrary to `confirmed`.
    contrary: u32,
}

impl Streak {
    /// The streak of an endpoint whose first check gave `ok` (the first result decides).
    pub fn after_first(ok: bool) -> Streak {
        Streak {
            confirmed: Some(ok),
            contrary: 0,
        }
    }

    /// Counts one result: a contrary one lengthens the streak, and `fall` (for an up
    /// endpoint) or `rise` (for a down one) of them confirm the new state; an agreeing one
    /// ends the streak. Fall and rise below 1 count as 1.
    pub fn observe(&mut self, ok: bool, fall: u32, rise: u32) {
        let Some(confirmed) = self.confirmed else {
            *self = Streak::after_first(ok);
            return;
        };
        if ok == confirmed {
            self.contrary = 0;
            return;
        }
        self.contrary = self.contrary.saturating_add(1);
        let needed = if confirmed { fall } else { rise };
        if self.contrary >= needed.max(1) {
            *self = Streak::after_first(ok);
        }
    }

    /// The state the results confirmed: up, down, or `None` before the first.
    pub fn confirmed(&self) -> Option<bool> {
        self.confirmed
    }

    /// Results in a row against the confirmed state.
    pub fn contrary(&self) -> u32 {
        self.contrary
    }

    /// A change awaits confirmation: the next check should come at the fast interval.
    pub fn pending(&self) -> bool {
        self.contrary > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn cadence() -> Cadence {
        Cadence {
            interval: 200 * MS,
            fast_interval: 50 * MS,
            fall: 3,
            rise: 2,
        }
    }

    /// The delays after each result of `results`, from a streak confirmed `start`.
    fn delays(start: Streak, results: &[bool]) -> Vec<u64> {
        let cadence = cadence();
        let mut streak = start;
        results
            .iter()
            .map(|&ok| {
                streak.observe(ok, cadence.fall, cadence.rise);
                cadence.next_delay(&streak).as_millis() as u64
            })
            .collect()
    }

    #[test]
    fn steady_state_keeps_the_interval() {
        assert_eq!(
            delays(Streak::after_first(true), &[true; 5]),
            [200; 5],
            "healthy"
        );
        assert_eq!(
            delays(Streak::after_first(false), &[false; 5]),
            [200; 5],
            "confirmed down"
        );
    }

    #[test]
    fn a_failure_of_an_up_endpoint_hurries_until_fall_confirms_it() {
        let up = Streak::after_first(true);
        // Two fast checks after the first failure; the third failure confirms the endpoint
        // down, and then it is checked at the interval again.
        assert_eq!(
            delays(up, &[false, false, false, false]),
            [50, 50, 200, 200]
        );
        let mut streak = up;
        for _ in 0..3 {
            streak.observe(false, 3, 2);
        }
        assert_eq!(streak.confirmed(), Some(false));
    }

    #[test]
    fn a_success_of_a_down_endpoint_hurries_until_rise_confirms_it() {
        let down = Streak::after_first(false);
        assert_eq!(delays(down, &[true, true, true]), [50, 200, 200]);
    }

    #[test]
    fn a_broken_streak_returns_to_the_interval() {
        let up = Streak::after_first(true);
        assert_eq!(delays(up, &[false, true, true]), [50, 200, 200]);
        let down = Streak::after_first(false);
        assert_eq!(delays(down, &[true, false, false]), [50, 200, 200]);
    }

    #[test]
    fn a_flapping_endpoint_never_confirms_a_change() {
        let mut streak = Streak::after_first(true);
        for round in 0..100 {
            streak.observe(round % 2 == 1, 3, 2);
            assert_eq!(streak.confirmed(), Some(true), "round {round}");
        }
        // It is checked fast after each failure and at the interval after each success.
        assert_eq!(
            delays(Streak::after_first(true), &[false, true, false, true]),
            [50, 200, 50, 200]
        );
    }

    #[test]
    fn the_first_result_decides_and_starts_no_streak() {
        assert_eq!(delays(Streak::default(), &[false]), [200]);
        assert_eq!(delays(Streak::default(), &[true]), [200]);
        let mut streak = Streak::default();
        assert_eq!(streak.confirmed(), None);
        streak.observe(false, 3, 2);
        assert_eq!(streak.confirmed(), Some(false));
    }

    #[test]
    fn fall_and_rise_of_one_never_hurry() {
        let mut streak = Streak::after_first(true);
        streak.observe(false, 1, 1);
        assert_eq!((streak.confirmed(), streak.pending()), (Some(false), false));
        streak.observe(true, 0, 0);
        assert_eq!((streak.confirmed(), streak.pending()), (Some(true), false));
    }

    #[test]
    fn steady_cadence_and_a_fast_interval_above_interval_never_shorten_it() {
        let mut streak = Streak::after_first(true);
        streak.observe(false, 3, 2);
        assert!(streak.pending());
        let steady = Cadence::steady(200 * MS);
        assert_eq!(steady.next_delay(&streak), 200 * MS);
        let odd = Cadence {
            fast_interval: 900 * MS,
            ..cadence()
        };
        assert_eq!(odd.next_delay(&streak), 200 * MS);
    }
}
