//! The verdict over several checkers: each checker (the responder's own `local` checks and
//! every probe agent) has its own view of an endpoint, a fall/rise machine of its own
//! ([`EndpointHealth`]); the endpoint's checked state is the quorum verdict over the views
//! that are fresh.
//!
//! With `q` the pool's quorum, a checker is **fresh** when its latest result for the
//! endpoint arrived at most `stale_after` ago (the responder's receive time, so clock skew
//! between machines does not matter); a checker that never reported, or went silent, is
//! **stale** and does not vote. Among fresh checkers, count the views that are down (`d`)
//! and up (`u`):
//!
//! 1. `d >= q`: the verdict is **down** (quorum met). Down is tested first, so with a
//!    quorum of half the checkers or fewer a tie goes to down.
//! 2. otherwise `u >= q`: the verdict is **up** (quorum met).
//! 3. otherwise there is **no quorum**: too few fresh checkers (`u + d < q`) or too few
//!    agree. The endpoint keeps its last verdict (**unknown**, served as up, before it ever
//!    had one) instead of failing over on missing data.
//!
//! So with `q = 2` of three checkers, one checker whose path to the backend is cut sees it
//! down alone (`d = 1`, `u = 2`): the verdict stays up. The backend really down is seen
//! down by all three: `d = 3`, down. With a single checker and `q = 1` this is exactly the
//! single machine: its first result decides, then fall and rise.
//!
//! Operator overrides sit on top of the verdict and win over it. Nothing here reads a
//! clock: the caller passes `now`; and the verdict depends only on the views, their
//! freshness and the last verdict, so two responders fed the same reports agree.

use super::state::{
    apply_override, CheckResult, EndpointHealth, EndpointState, Health, Override, Transition,
};
use std::time::{Duration, Instant};

/// A pool's quorum settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuorumRule {
    /// Fresh checkers that must agree (at least 1).
    pub quorum: u32,
    /// A checker whose latest result is older than this does not vote.
    pub stale_after: Duration,
}

/// One checker's view of one endpoint.
#[derive(Clone, Debug)]
pub struct CheckerView {
    health: EndpointHealth,
    /// When the responder received the latest result.
    received: Option<Instant>,
    /// When the checker says it ran the latest check (its own clock, Unix seconds).
    reported_at: Option<f64>,
}

impl CheckerView {
    fn new(fall: u32, rise: u32, now: Instant) -> CheckerView {
        CheckerView {
            health: EndpointHealth::new(fall, rise, now),
            received: None,
            reported_at: None,
        }
    }

    /// The checker's own fall/rise machine for this endpoint.
    pub fn health(&self) -> &EndpointHealth {
        &self.health
    }

    pub fn received(&self) -> Option<Instant> {
        self.received
    }

    pub fn reported_at(&self) -> Option<f64> {
        self.reported_at
    }

    /// Whether the latest result arrived at most `stale_after` before `now`.
    pub fn is_fresh(&self, now: Instant, stale_after: Duration) -> bool {
        self.received
            .is_some_and(|at| now.saturating_duration_since(at) <= stale_after)
    }
}

/// The votes of one endpoint's checkers at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub up: u32,
    pub down: u32,
    /// Checkers that do not vote: silent for longer than `stale_after`, or never heard.
    pub stale: u32,
    pub quorum: u32,
}

impl Tally {
    pub fn fresh(&self) -> u32 {
        self.up + self.down
    }

    /// The verdict when the quorum is met, `None` when it is not.
    pub fn decided(&self) -> Option<Health> {
        if self.down >= self.quorum {
            Some(Health::Down)
        } else if self.up >= self.quorum {
            Some(Health::Up)
        } else {
            None
        }
    }

    /// Why the verdict is what it is, e.g. `down: 2 of 3 fresh checkers see it down
    /// (quorum 2)` or `no quorum: 1 fresh checker of 2 needed, keeping up`.
    pub fn explain(&self, keeping: Health) -> String {
        let fresh = self.fresh();
        match self.decided() {
            Some(state) => {
                let count = if state == Health::Down {
                    self.down
                } else {
                    self.up
                };
                format!(
                    "{state}: {count} of {fresh} fresh checkers see it {state} (quorum {})",
                    self.quorum
                )
            }
            None if fresh < self.quorum => format!(
                "no quorum: {fresh} fresh {} of {} needed, keeping {keeping}",
                checker(fresh),
                self.quorum
            ),
            None => format!(
                "no quorum: of {fresh} fresh checkers {} see it up and {} down, {} must agree, \
                 keeping {keeping}",
                self.up, self.down, self.quorum
            ),
        }
    }
}

/// "checker" or "checkers" for a count of `n`.
fn checker(n: u32) -> &'static str {
    if n == 1 {
        "checker"
    } else {
        "checkers"
    }
}

/// The endpoint's quorum was lost or regained, for the caller to log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QuorumChange {
    /// Too few fresh checkers agree now: the last verdict is kept. Carries the explanation.
    Lost(String),
    Regained(String),
}

/// What one result or one freshness sweep changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// The reporting checker's view changed (only from [`EndpointVerdict::observe`]).
    pub view: Option<Transition>,
    /// The endpoint's checked state (the verdict) changed.
    pub verdict: Option<Transition>,
    pub quorum: Option<QuorumChange>,
}

/// One endpoint: every checker's view, the verdict over them and the operator override.
#[derive(Clone, Debug)]
pub struct EndpointVerdict {
    views: Vec<CheckerView>,
    state: Health,
    since: Instant,
    reason: String,
    quorum_met: bool,
    /// A loss of quorum was reported and its end not yet.
    loss_reported: bool,
    ever_met: bool,
    override_: Option<Override>,
}

impl EndpointVerdict {
    /// An endpoint checked by `checkers` checkers, every view and the verdict unknown.
    pub fn new(checkers: usize, fall: u32, rise: u32, now: Instant) -> EndpointVerdict {
        EndpointVerdict {
            views: (0..checkers)
                .map(|_| CheckerView::new(fall, rise, now))
                .collect(),
            state: Health::Unknown,
            since: now,
            reason: "not checked yet".to_string(),
            quorum_met: false,
            loss_reported: false,
            ever_met: false,
            override_: None,
        }
    }

    /// The same endpoint for a new list of checkers: views of checkers in both lists stay
    /// (matched by name), new checkers start unknown.
    pub fn regroup(
        &self,
        old_names: &[String],
        new_names: &[String],
        fall: u32,
        rise: u32,
        now: Instant,
    ) -> EndpointVerdict {
        let views = new_names
            .iter()
            .map(|name| match old_names.iter().position(|old| old == name) {
                Some(index) => self.views[index].clone(),
                None => CheckerView::new(fall, rise, now),
            })
            .collect();
        EndpointVerdict {
            views,
            ..self.clone()
        }
    }

    /// Feeds one result of checker `checker` received at `now`; `reported_at` is when the
    /// checker says it ran the check. `names` are the checkers' names (for reasons).
    pub fn observe(
        &mut self,
        checker: usize,
        result: CheckResult,
        now: Instant,
        reported_at: Option<f64>,
        rule: &QuorumRule,
        names: &[String],
    ) -> Changes {
        let Some(view) = self.views.get_mut(checker) else {
            return Changes::default();
        };
        view.received = Some(now);
        view.reported_at = reported_at;
        let transition = view.health.observe(result, now);
        let mut changes = self.evaluate(now, rule, names);
        changes.view = transition;
        changes
    }

    /// Recomputes the verdict at `now` (views may have gone stale since the last result).
    pub fn evaluate(&mut self, now: Instant, rule: &QuorumRule, names: &[String]) -> Changes {
        let tally = self.tally(now, rule);
        let decided = tally.decided();
        let mut changes = Changes::default();
        if let Some(to) = decided.filter(|&to| to != self.state) {
            let reason = self.transition_reason(to, &tally, rule, names, now);
            let from = self.state;
            self.state = to;
            self.since = now;
            self.reason = reason.clone();
            changes.verdict = Some(Transition { from, to, reason });
        }
        let met = decided.is_some();
        if met != self.quorum_met {
            self.quorum_met = met;
            if !met && self.ever_met {
                self.loss_reported = true;
                changes.quorum = Some(QuorumChange::Lost(self.explain(now, rule, names)));
            } else if met && self.loss_reported {
                self.loss_reported = false;
                changes.quorum = Some(QuorumChange::Regained(self.explain(now, rule, names)));
            }
        }
        self.ever_met |= met;
        changes
    }

    /// The votes at `now`.
    pub fn tally(&self, now: Instant, rule: &QuorumRule) -> Tally {
        let mut tally = Tally {
            quorum: rule.quorum.max(1),
            ..Tally::default()
        };
        for view in &self.views {
            if !view.is_fresh(now, rule.stale_after) {
                tally.stale += 1;
                continue;
            }
            match view.health.checked() {
                Health::Up => tally.up += 1,
                Health::Down => tally.down += 1,
                Health::Unknown => tally.stale += 1,
            }
        }
        tally
    }

    /// Why the verdict is what it is now, naming the stale checkers.
    pub fn explain(&self, now: Instant, rule: &QuorumRule, names: &[String]) -> String {
        let mut text = self.tally(now, rule).explain(self.state);
        let stale: Vec<String> = self
            .views
            .iter()
            .zip(names)
            .filter(|(view, _)| !view.is_fresh(now, rule.stale_after))
            .map(|(view, name)| match view.received {
                None => format!("{name} (no result yet)"),
                Some(at) => format!(
                    "{name} (silent for {:.1}s)",
                    now.saturating_duration_since(at).as_secs_f64()
                ),
            })
            .collect();
        if !stale.is_empty() {
            text.push_str(&format!("; stale: {}", stale.join(", ")));
        }
        text
    }

    /// With one checker the verdict is its view, and so is the reason (`3 consecutive
    /// failures: connection refused`); with more, the count and the checkers that agree.
    fn transition_reason(
        &self,
        to: Health,
        tally: &Tally,
        rule: &QuorumRule,
        names: &[String],
        now: Instant,
    ) -> String {
        let agreeing: Vec<(&CheckerView, &String)> = self
            .views
            .iter()
            .zip(names)
            .filter(|(v, _)| v.is_fresh(now, rule.stale_after) && v.health.checked() == to)
            .collect();
        if self.views.len() == 1 {
            if let Some((view, _)) = agreeing.first() {
                return view.health.reason().to_string();
            }
        }
        let count = if to == Health::Down {
            tally.down
        } else {
            tally.up
        };
        let voices: Vec<String> = agreeing
            .iter()
            .map(|(view, name)| format!("{name} ({})", view.health.reason()))
            .collect();
        format!(
            "{count} of {} fresh checkers see it {to} (quorum {}): {}",
            tally.fresh(),
            tally.quorum,
            voices.join(", ")
        )
    }

    /// The earliest moment after `now` at which a fresh view turns stale.
    pub fn next_stale(&self, now: Instant, rule: &QuorumRule) -> Option<Instant> {
        self.views
            .iter()
            .filter_map(|view| view.received)
            .map(|at| at + rule.stale_after + Duration::from_millis(1))
            .filter(|&deadline| deadline > now)
            .min()
    }

    /// Sets or clears the operator override; returns the change of effective state, if any.
    pub fn set_override(&mut self, value: Option<Override>) -> Option<Transition> {
        apply_override(&mut self.override_, value, self.state)
    }

    /// The state the endpoint is served as: the override if set, else the verdict.
    pub fn effective(&self) -> Health {
        self.override_.map_or(self.state, Override::health)
    }

    /// The verdict, ignoring any override.
    pub fn checked(&self) -> Health {
        self.state
    }

    pub fn override_value(&self) -> Option<Override> {
        self.override_
    }

    /// When the verdict last changed (creation time while unknown).
    pub fn since(&self) -> Instant {
        self.since
    }

    /// Why the endpoint is in its effective state.
    pub fn reason(&self) -> &str {
        match self.override_ {
            Some(value) => value.reason(),
            None => &self.reason,
        }
    }

    /// Whether the latest evaluation met the quorum.
    pub fn quorum_met(&self) -> bool {
        self.quorum_met
    }

    /// Every checker's view, in the order of the checkers' names.
    pub fn views(&self) -> &[CheckerView] {
        &self.views
    }
}

impl EndpointState for EndpointVerdict {
    fn effective(&self) -> Health {
        EndpointVerdict::effective(self)
    }

    fn reason(&self) -> &str {
        EndpointVerdict::reason(self)
    }

    fn drained(&self) -> bool {
        self.override_value() == Some(Override::ForceDown)
    }
}

#[cfg(test)]
mod tests;
