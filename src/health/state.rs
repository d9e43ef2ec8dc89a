//! The health of one endpoint: a fall/rise state machine fed with check results.
//!
//! An endpoint starts [`Health::Unknown`], which counts as up for serving. Then:
//!
//! - **First verdict.** The first check result decides at once: a success makes the
//!   endpoint [`Health::Up`], a failure makes it [`Health::Down`]. This is what lets the
//!   server's first round of checks (one per endpoint, before pool names are answered)
//!   shape the very first answers.
//! - **Up → Down** after `fall` consecutive failures.
//! - **Down → Up** after `rise` consecutive successes.
//! - Anything less changes nothing: a success resets the failure count and a failure resets
//!   the success count, so an endpoint that alternates between the two never flips.
//!
//! An operator override ([`Override::ForceUp`] or [`Override::ForceDown`]) replaces the
//! checked state for serving ([`EndpointHealth::effective`]) while checks carry on
//! underneath, so that removing the override lands on the current checked state.
//!
//! Time is passed in by the caller as [`Instant`] values and only recorded (`since`, the
//! time of the last check): nothing here reads a clock or depends on how much time passed,
//! so tests drive the machine with a simulated clock (`start + Duration`).

use std::fmt;
use std::time::{Duration, Instant};

/// The checked state of an endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Health {
    /// No check has finished yet; served as if up.
    Unknown,
    Up,
    Down,
}

impl Health {
    /// Whether an endpoint in this state may be served.
    pub fn is_serving(self) -> bool {
        self != Health::Down
    }

    /// Lowercase name for logs and the control API.
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Unknown => "unknown",
            Health::Up => "up",
            Health::Down => "down",
        }
    }
}

impl fmt::Display for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An operator's decision that wins over the checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Override {
    ForceUp,
    ForceDown,
}

impl Override {
    /// `up` or `down`, as the API and the state file name it.
    pub fn as_str(self) -> &'static str {
        match self {
            Override::ForceUp => "up",
            Override::ForceDown => "down",
        }
    }

    /// The state the endpoint is served as.
    pub fn health(self) -> Health {
        match self {
            Override::ForceUp => Health::Up,
            Override::ForceDown => Health::Down,
        }
    }

    /// Why an endpoint under this override is in its state.
    pub fn reason(self) -> &'static str {
        match self {
            Override::ForceUp => "forced up by an operator",
            Override::ForceDown => "forced down by an operator",
        }
    }
}

/// Sets or clears the override in `slot` over the `checked` state; returns the change of
/// served state it caused, if any. Shared by one checker's view and the quorum verdict.
pub(crate) fn apply_override(
    slot: &mut Option<Override>,
    value: Option<Override>,
    checked: Health,
) -> Option<Transition> {
    let served = |o: Option<Override>| o.map_or(checked, Override::health);
    let (from, to) = (served(*slot), served(value));
    *slot = value;
    if from == to {
        return None;
    }
    let reason = match value {
        Some(value) => value.reason().to_string(),
        None => format!("operator override removed; checks say {checked}"),
    };
    Some(Transition { from, to, reason })
}

/// The outcome of one check, as a probe reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckResult {
    /// How long the check took (up to the timeout for a check that timed out).
    pub latency: Duration,
    /// Why the check failed; `None` for a success.
    pub error: Option<String>,
}

impl CheckResult {
    pub fn success(latency: Duration) -> CheckResult {
        CheckResult {
            latency,
            error: None,
        }
    }

    pub fn failure(latency: Duration, error: impl Into<String>) -> CheckResult {
        CheckResult {
            latency,
            error: Some(error.into()),
        }
    }

    pub fn is_success(&self) -> bool {
        self.error.is_none()
    }
}

/// The last check result and when it arrived.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LastCheck {
    pub at: Instant,
    pub result: CheckResult,
}

/// A change of state, for the caller to log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transition {
    pub from: Health,
    pub to: Health,
    /// Why, e.g. `"3 consecutive failures: connection refused"`.
    pub reason: String,
}

impl fmt::Display for Transition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} -> {}: {}", self.from, self.to, self.reason)
    }
}

/// What a pool decision reads of an endpoint: the state it is served as and why. Both the
/// single-checker machine ([`EndpointHealth`]) and the verdict over several checkers
/// ([`crate::health::quorum::EndpointVerdict`]) provide it.
pub trait EndpointState {
    /// The state the endpoint is served as: the override if set, else the checked state.
    fn effective(&self) -> Health;
    /// Why the endpoint is in its effective state.
    fn reason(&self) -> &str;
    /// An operator forced it down: it is never served, not even when every endpoint is down.
    fn drained(&self) -> bool;
}

impl<T: EndpointState + ?Sized> EndpointState for &T {
    fn effective(&self) -> Health {
        (**self).effective()
    }

    fn reason(&self) -> &str {
        (**self).reason()
    }

    fn drained(&self) -> bool {
        (**self).drained()
    }
}

impl EndpointState for EndpointHealth {
    fn effective(&self) -> Health {
        EndpointHealth::effective(self)
    }

    fn reason(&self) -> &str {
        EndpointHealth::reason(self)
    }

    fn drained(&self) -> bool {
        self.override_value() == Some(Override::ForceDown)
    }
}

/// "1 consecutive failure", "3 consecutive failures" (and "successes").
fn count(n: u32, what: &str) -> String {
    match (n, what.ends_with('s')) {
        (1, _) => format!("1 {what}"),
        (_, true) => format!("{n} {what}es"),
        (_, false) => format!("{n} {what}s"),
    }
}

/// The fall/rise state machine of one endpoint.
#[derive(Clone, Debug)]
pub struct EndpointHealth {
    fall: u32,
    rise: u32,
    state: Health,
    since: Instant,
    reason: String,
    successes: u32,
    failures: u32,
    last: Option<LastCheck>,
    override_: Option<Override>,
}

impl EndpointHealth {
    /// A new endpoint, [`Health::Unknown`] since `now`. `fall` and `rise` below 1 are
    /// treated as 1.
    pub fn new(fall: u32, rise: u32, now: Instant) -> EndpointHealth {
        EndpointHealth {
            fall: fall.max(1),
            rise: rise.max(1),
            state: Health::Unknown,
            since: now,
            reason: "not checked yet".to_string(),
            successes: 0,
            failures: 0,
            last: None,
            override_: None,
        }
    }

    /// Feeds one check result; returns the change of checked state it caused, if any.
    pub fn observe(&mut self, result: CheckResult, now: Instant) -> Option<Transition> {
        if result.is_success() {
            self.successes = self.successes.saturating_add(1);
            self.failures = 0;
        } else {
            self.failures = self.failures.saturating_add(1);
            self.successes = 0;
        }
        let error = result.error.clone();
        self.last = Some(LastCheck { at: now, result });
        let (to, reason) = match (self.state, error) {
            (Health::Unknown, None) => (Health::Up, "first check passed".to_string()),
            (Health::Unknown, Some(error)) => {
                (Health::Down, format!("first check failed: {error}"))
            }
            (Health::Up, Some(error)) if self.failures >= self.fall => (
                Health::Down,
                format!("{}: {error}", count(self.failures, "consecutive failure")),
            ),
            (Health::Down, None) if self.successes >= self.rise => {
                (Health::Up, count(self.successes, "consecutive success"))
            }
            _ => return None,
        };
        Some(self.enter(to, reason, now))
    }

    /// Sets or clears the operator override; returns the change of effective state, if any.
    pub fn set_override(&mut self, value: Option<Override>) -> Option<Transition> {
        apply_override(&mut self.override_, value, self.state)
    }

    fn enter(&mut self, to: Health, reason: String, now: Instant) -> Transition {
        let from = self.state;
        self.state = to;
        self.since = now;
        self.reason = reason.clone();
        Transition { from, to, reason }
    }

    /// The state the endpoint is served as: the override if set, else the checked state.
    pub fn effective(&self) -> Health {
        self.override_.map_or(self.state, Override::health)
    }

    /// The state the checks say, ignoring any override.
    pub fn checked(&self) -> Health {
        self.state
    }

    pub fn override_value(&self) -> Option<Override> {
        self.override_
    }

    /// When the endpoint entered its checked state (creation time while unknown).
    pub fn since(&self) -> Instant {
        self.since
    }

    /// Why the endpoint is in its effective state, for logs and the control API.
    pub fn reason(&self) -> &str {
        match self.override_ {
            Some(value) => value.reason(),
            None => &self.reason,
        }
    }

    /// Consecutive successes so far (0 after a failure).
    pub fn successes(&self) -> u32 {
        self.successes
    }

    /// Consecutive failures so far (0 after a success).
    pub fn failures(&self) -> u32 {
        self.failures
    }

    pub fn last_check(&self) -> Option<&LastCheck> {
        self.last.as_ref()
    }

    pub fn fall(&self) -> u32 {
        self.fall
    }

    pub fn rise(&self) -> u32 {
        self.rise
    }
}

#[cfg(test)]
mod tests;
