//! A secondary zone's `[[zone]]` keys: `primaries` (tried in order) and the `tsig` key that
//! signs its SOA queries and transfers. Such a zone has no `file`: its copy is kept in
//! `server.state_dir` (see [`saved_copy_path`]).

use super::{Checker, Spanned, TsigKeyConfig};
use crate::name::Name;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The sub-folder of `server.state_dir` that holds the secondary zones' copies.
pub const SECONDARY_DIR: &str = "secondary";

/// How a secondary zone is fed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecondaryConfig {
    /// The primaries, in the order they are tried.
    pub primaries: Vec<SocketAddr>,
    /// The key that signs every message to and from the primaries, if any.
    pub tsig: Option<TsigKeyConfig>,
}

/// Where the copy of the secondary zone `origin` lives in `state_dir`: a master file named
/// after the zone, with any character other than letters, digits, `-`, `_` and `.` made `_`.
pub fn saved_copy_path(state_dir: &Path, origin: &Name) -> PathBuf {
    let text: String = origin
        .to_string()
        .chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '-' | '_' | '.' => c,
            _ => '_',
        })
        .collect();
    let stem = if text == "." { "root." } else { &text };
    state_dir.join(SECONDARY_DIR).join(format!("{stem}zone"))
}

impl Checker<'_> {
    /// A secondary zone's settings; `origin_at` is its `origin` key, for errors about the
    /// zone as a whole.
    pub(super) fn secondary(
        &mut self,
        origin: &Name,
        origin_at: &Spanned<String>,
        primaries: Spanned<Vec<Spanned<String>>>,
        tsig: Option<Spanned<String>>,
        state_dir: Option<&Path>,
        keys: &HashMap<String, TsigKeyConfig>,
    ) -> Option<SecondaryConfig> {
        if primaries.get_ref().is_empty() {
            self.error(
                &primaries,
                format!("zone {origin} primaries: give at least one \"address:port\""),
            );
        }
        if state_dir.is_none() {
            self.error(
                origin_at,
                format!(
                    "zone {origin} is a secondary zone (it has primaries): it needs \
                     server.state_dir, where its copy is kept"
                ),
            );
        }
        let mut addresses = Vec::new();
        for entry in primaries.get_ref() {
            if let Some(addr) = self.address("zone primaries", entry) {
                if addresses.contains(&addr) {
                    self.error(entry, format!("zone primaries: {addr} is listed twice"));
                }
                addresses.push(addr);
            }
        }
        let key = match &tsig {
            None => None,
            Some(name) => match keys.get(name.get_ref()) {
                Some(key) => Some(key.clone()),
                None => {
                    self.error(
                        name,
                        format!(
                            "zone {origin} tsig: no [[tsig]] key is named {:?}",
                            name.get_ref()
                        ),
                    );
                    None
                }
            },
        };
        Some(SecondaryConfig {
            primaries: addresses,
            tsig: key,
        })
    }
}
