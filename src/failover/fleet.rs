//! The checkers a responder listens to: its own probes (`local`, unless switched off with
//! `[checks] local = false`) and every `[[checker]]` agent, in that order. Every endpoint
//! keeps one view per checker, indexed like [`Fleet::names`]; per-checker report counters
//! live here too.

use crate::config::LOCAL;
use std::time::Instant;

/// The checkers, in the order endpoints keep their views.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fleet {
    names: Vec<String>,
    local: bool,
}

impl Default for Fleet {
    /// Only the local checks: a responder without `[[checker]]` tables.
    fn default() -> Fleet {
        Fleet::new(true, Vec::new())
    }
}

impl Fleet {
    /// `local` first when enabled, then the remote checkers in configuration order.
    pub fn new(local: bool, remote: Vec<String>) -> Fleet {
        let mut names = Vec::with_capacity(remote.len() + 1);
        if local {
            names.push(LOCAL.to_string());
        }
        names.extend(remote);
        Fleet { names, local }
    }

    /// The fleet a configuration describes.
    pub fn from_config(config: &crate::config::Config) -> Fleet {
        let remote = config.checkers.iter().map(|c| c.name.clone()).collect();
        Fleet::new(config.local_checks, remote)
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The index of checker `name`.
    pub fn index(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    /// The index of the local checks, when they run.
    pub fn local(&self) -> Option<usize> {
        self.local.then_some(0)
    }
}

/// What one checker sent.
#[derive(Clone, Debug, Default)]
pub(super) struct CheckerCounters {
    /// Report batches received (remote checkers) or results (local).
    pub reports: u64,
    /// Results applied to an endpoint.
    pub results: u64,
    /// Results naming a pool or endpoint this responder does not have.
    pub ignored: u64,
    pub last_report: Option<Instant>,
}
