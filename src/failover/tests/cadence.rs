//! The scheduler's streak ([`crate::probe::cadence::Streak`]) follows the same fall/rise
//! rule as the health state ([`EndpointHealth`]): fed the same results, both confirm the
//! same state, and the streak is pending exactly while the health state counts results
//! against its state. So fast checks run while, and only while, a change awaits its
//! confirmation.

use crate::health::state::{CheckResult, EndpointHealth, Health};
use crate::probe::cadence::Streak;
use std::time::{Duration, Instant};

/// A small deterministic generator of check results, runs of each kind of varied length.
struct Results(u64);

impl Results {
    fn next(&mut self) -> bool {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % 3 != 0
    }
}

#[test]
fn streak_agrees_with_the_health_state_on_every_result() {
    let start = Instant::now();
    for (fall, rise) in [(1, 1), (3, 2), (2, 5), (4, 1)] {
        for seed in 0..20u64 {
            let mut results = Results(seed);
            let mut health = EndpointHealth::new(fall, rise, start);
            let mut streak = Streak::default();
            for step in 0..500u32 {
                let ok = results.next();
                let at = start + Duration::from_millis(u64::from(step));
                let result = if ok {
                    CheckResult::success(Duration::ZERO)
                } else {
                    CheckResult::failure(Duration::ZERO, "refused")
                };
                health.observe(result, at);
                streak.observe(ok, fall, rise);
                let checked = match health.checked() {
                    Health::Unknown => None,
                    Health::Up => Some(true),
                    Health::Down => Some(false),
                };
                let against = match health.checked() {
                    Health::Up => health.failures(),
                    Health::Down => health.successes(),
                    Health::Unknown => 0,
                };
                let context = format!("fall {fall} rise {rise} seed {seed} step {step}");
                assert_eq!(streak.confirmed(), checked, "{context}");
                assert_eq!(streak.contrary(), against, "{context}");
            }
        }
    }
}
