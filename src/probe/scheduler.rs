//! The probe scheduler: one task per endpoint on the tokio runtime, each checking at its own
//! interval with random jitter, all bounded together by a semaphore, each check bounded by
//! its timeout, so a slow or hanging endpoint never delays another's checks. Outcomes go
//! out as [`ProbeReport`]s on a channel.
//!
//! While an endpoint's own results are in a fall or rise streak, its next check comes at
//! the fast interval instead ([`super::cadence`]); a task restarted with new settings keeps
//! the streak of the task it replaces.
//!
//! [`first_round`] runs one check of every endpoint at once, for the verdicts the server
//! needs before it starts answering pool names.

use super::cadence::{Cadence, Streak};
use super::{run_check, CheckOutcome, CheckSpec, Target};
use std::collections::hash_map::{Entry, RandomState};
use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::runtime::Handle;
use tokio::sync::{mpsc, Semaphore};
use tokio::task::{AbortHandle, JoinSet};

/// Checks in flight at once when the operator sets no limit.
pub const DEFAULT_MAX_CONCURRENCY: usize = 256;
/// Reports waiting for the consumer before probe tasks wait for it.
const REPORT_QUEUE: usize = 4096;
/// Spread of the interval between two checks of one endpoint: ±5% of the interval.
const JITTER_FRACTION: f64 = 0.1;

/// One endpoint to check repeatedly. `K` is the caller's key for it (for instance a pool
/// and endpoint index, or a stable id that survives reloads).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeTarget<K> {
    pub key: K,
    pub spec: CheckSpec,
    pub target: Target,
    /// How often, and how much faster while a change awaits confirmation.
    pub cadence: Cadence,
}

/// The outcome of one check of the endpoint `key`, observed at `at`.
#[derive(Clone, Debug)]
pub struct ProbeReport<K> {
    pub key: K,
    pub outcome: CheckOutcome,
    pub at: Instant,
}

/// What [`Scheduler::set_targets`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TargetChanges {
    /// New keys, now checked.
    pub added: usize,
    /// Keys no longer listed, no longer checked.
    pub removed: usize,
    /// Keys whose check, address or cadence changed: restarted with the new settings.
    pub changed: usize,
    /// Keys listed again as they were: left running on their schedule.
    pub unchanged: usize,
}

/// Runs the checks of a set of endpoints until it is dropped.
pub struct Scheduler<K> {
    tasks: Spawner<K>,
    running: HashMap<K, RunningProbe<K>>,
}

/// What every probe task shares: the runtime, the concurrency bound, the report channel.
struct Spawner<K> {
    runtime: Handle,
    permits: Arc<Semaphore>,
    reports: mpsc::Sender<ProbeReport<K>>,
}

impl<K: Clone + Send + Sync + 'static> Spawner<K> {
    /// Starts checking `probe` from `streak`, its first check within one interval.
    fn spawn(&self, probe: ProbeTarget<K>, streak: Streak) -> RunningProbe<K> {
        let streak = Arc::new(Mutex::new(streak));
        let first_delay = probe.cadence.interval.mul_f64(random_unit());
        let task = self
            .runtime
            .spawn(probe_loop(
                probe.clone(),
                first_delay,
                streak.clone(),
                self.permits.clone(),
                self.reports.clone(),
            ))
            .abort_handle();
        RunningProbe {
            probe,
            task,
            streak,
        }
    }
}

struct RunningProbe<K> {
    probe: ProbeTarget<K>,
    task: AbortHandle,
    /// The endpoint's streak, updated by the task after each check.
    streak: Arc<Mutex<Streak>>,
}

impl<K> Scheduler<K>
where
    K: Clone + Eq + Hash + Send + Sync + 'static,
{
    /// A scheduler with no endpoints, running at most `max_concurrency` checks at once
    /// (at least one), and the channel its reports arrive on. Call it inside a tokio
    /// runtime: the checks run there.
    pub fn new(max_concurrency: usize) -> (Self, mpsc::Receiver<ProbeReport<K>>) {
        let (reports, receiver) = mpsc::channel(REPORT_QUEUE);
        let scheduler = Scheduler {
            tasks: Spawner {
                runtime: Handle::current(),
                permits: Arc::new(Semaphore::new(max_concurrency.max(1))),
                reports,
            },
            running: HashMap::new(),
        };
        (scheduler, receiver)
    }

    /// Makes `targets` the set of endpoints checked: starts new keys, stops keys no longer
    /// listed, restarts keys whose settings changed and leaves the others on their schedule.
    /// A key listed twice keeps its last entry.
    pub fn set_targets(&mut self, targets: Vec<ProbeTarget<K>>) -> TargetChanges {
        self.set_targets_after(targets, &[])
    }

    /// [`Scheduler::set_targets`] after a first round of checks of some of `targets`
    /// ([`first_round`]): a new key with a report in `first_checks` starts from that result
    /// as its confirmed state, as the health state does.
    pub fn set_targets_after(
        &mut self,
        targets: Vec<ProbeTarget<K>>,
        first_checks: &[ProbeReport<K>],
    ) -> TargetChanges {
        let first: HashMap<&K, bool> = first_checks
            .iter()
            .map(|report| (&report.key, report.outcome.ok))
            .collect();
        let mut wanted: HashMap<K, ProbeTarget<K>> = HashMap::with_capacity(targets.len());
        for probe in targets {
            wanted.insert(probe.key.clone(), probe);
        }
        let mut changes = TargetChanges::default();
        self.running.retain(|key, running| {
            let keep = wanted.contains_key(key);
            if !keep {
                running.task.abort();
                changes.removed += 1;
            }
            keep
        });
        for (key, probe) in wanted {
            match self.running.entry(key) {
                Entry::Occupied(mut occupied) => {
                    if occupied.get().probe == probe {
                        changes.unchanged += 1;
                        continue;
                    }
                    occupied.get().task.abort();
                    let streak = *lock(&occupied.get().streak);
                    occupied.insert(self.tasks.spawn(probe, streak));
                    changes.changed += 1;
                }
                Entry::Vacant(vacant) => {
                    let streak = first
                        .get(vacant.key())
                        .map_or_else(Streak::default, |&ok| Streak::after_first(ok));
                    vacant.insert(self.tasks.spawn(probe, streak));
                    changes.added += 1;
                }
            }
        }
        changes
    }

    /// Number of endpoints being checked.
    pub fn len(&self) -> usize {
        self.running.len()
    }

    pub fn is_empty(&self) -> bool {
        self.running.is_empty()
    }

    /// Stops every check; checks in flight are abandoned.
    pub fn stop(&mut self) {
        for (_, running) in self.running.drain() {
            running.task.abort();
        }
    }
}

impl<K> Drop for Scheduler<K> {
    fn drop(&mut self) {
        for running in self.running.values() {
            running.task.abort();
        }
    }
}

/// Checks one endpoint forever: the first check after `first_delay` (spreading endpoints
/// over their interval), then one per jittered interval, or jittered fast interval while
/// `streak` awaits confirmation, measured from start to start.
async fn probe_loop<K: Clone>(
    probe: ProbeTarget<K>,
    first_delay: Duration,
    streak: Arc<Mutex<Streak>>,
    permits: Arc<Semaphore>,
    reports: mpsc::Sender<ProbeReport<K>>,
) {
    let mut next = tokio::time::Instant::now() + first_delay;
    loop {
        tokio::time::sleep_until(next).await;
        let outcome = {
            let Ok(_permit) = permits.acquire().await else {
                return;
            };
            run_check(&probe.spec, &probe.target).await
        };
        let delay = {
            let mut streak = lock(&streak);
            let cadence = &probe.cadence;
            streak.observe(outcome.ok, cadence.fall, cadence.rise);
            cadence.next_delay(&streak)
        };
        let report = ProbeReport {
            key: probe.key.clone(),
            outcome,
            at: Instant::now(),
        };
        if reports.send(report).await.is_err() {
            return; // nobody listens any more
        }
        // A check that overran its interval is followed by the next one at once, not by a
        // burst making up for the missed ones.
        next = (next + jittered(delay)).max(tokio::time::Instant::now());
    }
}

/// Runs one check of every target at once and returns their reports in the order of
/// `targets`, when the last is done: within the largest timeout. Not bounded in
/// concurrency, so the process needs a file descriptor per target at the peak.
pub async fn first_round<K>(targets: &[ProbeTarget<K>]) -> Vec<ProbeReport<K>>
where
    K: Clone + Send + Sync + 'static,
{
    let mut checks = JoinSet::new();
    for (index, probe) in targets.iter().enumerate() {
        let spec = probe.spec.clone();
        let target = probe.target;
        checks.spawn(async move { (index, run_check(&spec, &target).await, Instant::now()) });
    }
    let mut outcomes: Vec<Option<(CheckOutcome, Instant)>> = vec![None; targets.len()];
    while let Some(joined) = checks.join_next().await {
        let (index, outcome, at) = joined.expect("a health check panicked");
        outcomes[index] = Some((outcome, at));
    }
    targets
        .iter()
        .zip(outcomes)
        .map(|(probe, finished)| {
            let (outcome, at) = finished.expect("every check reports");
            ProbeReport {
                key: probe.key.clone(),
                outcome,
                at,
            }
        })
        .collect()
}

/// The streak, even if a task panicked holding it (it is plain data, always consistent).
fn lock(streak: &Mutex<Streak>) -> std::sync::MutexGuard<'_, Streak> {
    streak.lock().unwrap_or_else(|e| e.into_inner())
}

/// `interval` stretched or shrunk at random by up to half of [`JITTER_FRACTION`].
fn jittered(interval: Duration) -> Duration {
    interval.mul_f64(1.0 + JITTER_FRACTION * (random_unit() - 0.5))
}

/// A number in `[0, 1)`, random enough to spread timers (each `RandomState` is new keys).
fn random_unit() -> f64 {
    let bits = RandomState::new().hash_one(0u8);
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_five_percent_and_varies() {
        let interval = Duration::from_millis(1000);
        let samples: Vec<Duration> = (0..1000).map(|_| jittered(interval)).collect();
        for sample in &samples {
            assert!(
                *sample >= Duration::from_millis(950) && *sample <= Duration::from_millis(1050)
            );
        }
        let shortest = samples.iter().min().unwrap();
        let longest = samples.iter().max().unwrap();
        assert!(
            *longest - *shortest > Duration::from_millis(80),
            "{shortest:?}..{longest:?}"
        );
    }

    #[test]
    fn random_unit_is_in_range_and_spread() {
        let samples: Vec<f64> = (0..1000).map(|_| random_unit()).collect();
        assert!(samples.iter().all(|x| (0.0..1.0).contains(x)));
        let mean = samples.iter().sum::<f64>() / samples.len() as f64;
        assert!((0.4..0.6).contains(&mean), "mean {mean}");
    }
}
