//! How the rest of the server talks to the failover runtime: [`Handle`] sends a
//! [`Command`] and awaits its answer; it also holds the `[[checker]]` tokens in force, so
//! that a report's token is checked before the runtime is bothered.

use super::super::status::Status;
use super::super::{NotFound, Observation, ReportTally};
use crate::app::ReloadReport;
use crate::config::CheckerConfig;
use crate::diag::{Diagnostic, Diagnostics};
use crate::health::state::Override;
use arc_swap::ArcSwap;
use std::net::IpAddr;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// A request to the runtime, with the channel its answer goes back on.
pub(super) enum Command {
    Override {
        pool: String,
        address: IpAddr,
        value: Option<Override>,
        reply: oneshot::Sender<Result<(), NotFound>>,
    },
    Failback {
        pool: String,
        reply: oneshot::Sender<Result<Option<u32>, NotFound>>,
    },
    Reload {
        reply: oneshot::Sender<Result<ReloadReport, Diagnostics>>,
    },
    Status {
        reply: oneshot::Sender<Status>,
    },
    Report {
        checker: String,
        observations: Vec<Observation>,
        unreadable: u64,
        reply: oneshot::Sender<Option<ReportTally>>,
    },
}

/// How the rest of the server talks to the runtime (cheap to clone).
#[derive(Clone)]
pub struct Handle {
    pub(super) commands: mpsc::Sender<Command>,
    /// The `[[checker]]` tokens in force; the runtime replaces them on reload.
    pub(super) checkers: Arc<ArcSwap<Vec<CheckerConfig>>>,
}

/// The runtime stopped: only while the process shuts down.
fn stopped() -> Diagnostics {
    Diagnostics(vec![Diagnostic::new(
        "swivel",
        0,
        "the server is shutting down",
    )])
}

impl Handle {
    async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Command) -> Option<T> {
        let (reply, answer) = oneshot::channel();
        self.commands.send(make(reply)).await.ok()?;
        answer.await.ok()
    }

    /// Forces an endpoint down (`Some(ForceDown)`), up, or back to its checks (`None`).
    pub async fn set_override(
        &self,
        pool: &str,
        address: IpAddr,
        value: Option<Override>,
    ) -> Result<(), NotFound> {
        let pool = pool.to_string();
        let stopped = NotFound::Pool(pool.clone());
        self.ask(|reply| Command::Override {
            pool,
            address,
            value,
            reply,
        })
        .await
        .unwrap_or(Err(stopped))
    }

    /// Releases a manual-failback latch; returns the tier that was latched.
    pub async fn failback(&self, pool: &str) -> Result<Option<u32>, NotFound> {
        let pool = pool.to_string();
        let stopped = NotFound::Pool(pool.clone());
        self.ask(|reply| Command::Failback { pool, reply })
            .await
            .unwrap_or(Err(stopped))
    }

    /// Reloads the configuration and zones; on any error nothing changes.
    pub async fn reload(&self) -> Result<ReloadReport, Diagnostics> {
        self.ask(|reply| Command::Reload { reply })
            .await
            .unwrap_or_else(|| Err(stopped()))
    }

    /// A snapshot of every pool and the runtime's counters.
    pub async fn status(&self) -> Status {
        self.ask(|reply| Command::Status { reply })
            .await
            .unwrap_or_default()
    }

    /// The checker whose `[[checker]]` token is `presented`. Every token is compared with
    /// [`tokens_match`], so the answer takes as long whichever matches, and tells nothing
    /// of the tokens' lengths.
    pub fn checker_for_token(&self, presented: &str) -> Option<String> {
        let checkers = self.checkers.load();
        let mut found = None;
        for checker in checkers.iter() {
            if tokens_match(presented, &checker.token) {
                found = Some(checker.name.clone());
            }
        }
        found
    }

    /// Feeds a probe agent's results, as observations of checker `checker` received now;
    /// `unreadable` more results named no pool. `None` when the checker is no longer
    /// configured (or the server is stopping).
    pub async fn report(
        &self,
        checker: String,
        observations: Vec<Observation>,
        unreadable: u64,
    ) -> Option<ReportTally> {
        self.ask(|reply| Command::Report {
            checker,
            observations,
            unreadable,
            reply,
        })
        .await
        .flatten()
    }
}

/// Whether two tokens are equal, in time that depends on neither's content nor on the
/// expected one's length: both are hashed (SHA-256 reads its whole input whatever it holds)
/// and the fixed-size digests compared in constant time.
pub fn tokens_match(presented: &str, expected: &str) -> bool {
    use subtle::ConstantTimeEq;
    let digest = |token: &str| ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
    digest(presented)
        .as_ref()
        .ct_eq(digest(expected).as_ref())
        .into()
}
