//! What an operator decided that must survive a restart, as data: manual-failback latches
//! and endpoint overrides. The runtime writes it to `state_dir` (see `runtime::state_file`).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// An override as stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SavedOverride {
    Up,
    Down,
}

/// Latches and overrides by pool name (as configured, e.g. `www.example.test.`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedState {
    /// Pool → the priority tier it is held on.
    #[serde(default)]
    pub latches: BTreeMap<String, u32>,
    /// Pool → endpoint address → override.
    #[serde(default)]
    pub overrides: BTreeMap<String, BTreeMap<IpAddr, SavedOverride>>,
}
