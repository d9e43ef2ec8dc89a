//! The keys of one signed zone and what they do at a given moment: which DNSKEYs are
//! published, which keys sign the DNSKEY set and which sign the rest. A zone with keys of
//! one kind only (all KSKs or all ZSKs) uses them as combined signing keys (CSK).

use super::key::{KeyState, Role, SigningKey};

/// Every key of a zone.
#[derive(Debug)]
pub struct ZoneKeys {
    pub keys: Vec<SigningKey>,
}

/// What a key does in its zone at one moment, for `swivel check` and status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Duty {
    Ksk,
    Zsk,
    Csk,
}

impl Duty {
    pub fn name(self) -> &'static str {
        match self {
            Duty::Ksk => "KSK",
            Duty::Zsk => "ZSK",
            Duty::Csk => "CSK",
        }
    }
}

impl ZoneKeys {
    /// Whether the zone has keys of both roles not yet deleted at `now` (a KSK/ZSK split)
    /// rather than CSKs.
    fn split(&self, now: u64) -> bool {
        let has = |role| {
            self.keys
                .iter()
                .any(|k| k.role() == role && k.state(now) != KeyState::Deleted)
        };
        has(Role::Ksk) && has(Role::Zsk)
    }

    /// What `key` does at `now`: KSK or ZSK in a split zone, CSK otherwise (a deleted key
    /// is named by its own role).
    pub fn duty(&self, key: &SigningKey, now: u64) -> Duty {
        let split = self.split(now) || key.state(now) == KeyState::Deleted;
        match (split, key.role()) {
            (false, _) => Duty::Csk,
            (true, Role::Ksk) => Duty::Ksk,
            (true, Role::Zsk) => Duty::Zsk,
        }
    }

    /// The keys in the DNSKEY set at `now`.
    pub fn published(&self, now: u64) -> impl Iterator<Item = &SigningKey> {
        self.keys
            .iter()
            .filter(move |k| k.state(now).is_published())
    }

    /// The keys that sign the DNSKEY set at `now`.
    pub fn dnskey_signers(&self, now: u64) -> impl Iterator<Item = &SigningKey> {
        self.active(now)
            .filter(move |k| self.duty(k, now) != Duty::Zsk)
    }

    /// The keys that sign every other RRset at `now`.
    pub fn zone_signers(&self, now: u64) -> impl Iterator<Item = &SigningKey> {
        self.active(now)
            .filter(move |k| self.duty(k, now) != Duty::Ksk)
    }

    fn active(&self, now: u64) -> impl Iterator<Item = &SigningKey> {
        self.keys
            .iter()
            .filter(move |k| k.state(now) == KeyState::Active)
    }

    /// A message when some role has no active key at `now` (or there is no key at all).
    pub fn missing_role(&self, now: u64) -> Option<String> {
        if self.keys.is_empty() {
            return Some(
                "the keys folder holds no key pair (K<zone>+<alg>+<tag>.key and .private)".into(),
            );
        }
        let mut algorithms: Vec<u8> = self.keys.iter().map(|k| k.algorithm.number()).collect();
        algorithms.sort_unstable();
        algorithms.dedup();
        if algorithms.len() > 1 {
            return Some(format!(
                "its keys are of algorithms {algorithms:?}: every algorithm in the DNSKEY set \
                 must sign every RRset (RFC 6840 section 5.11), so use keys of one algorithm \
                 (algorithm rollovers are not supported yet)"
            ));
        }
        let no_dnskey_signer = self.dnskey_signers(now).next().is_none();
        let no_zone_signer = self.zone_signers(now).next().is_none();
        match (self.split(now), no_dnskey_signer, no_zone_signer) {
            (_, false, false) => None,
            (false, _, _) => {
                Some("no key is active now (check their Activate and Inactive times)".into())
            }
            (true, true, _) => {
                Some("no KSK (flags 257) is active now, so nothing signs the DNSKEY set".into())
            }
            (true, false, true) => {
                Some("no ZSK (flags 256) is active now, so nothing signs the zone's records".into())
            }
        }
    }

    /// The first timing event of any key after `now`.
    pub fn next_event(&self, now: u64) -> Option<u64> {
        self.keys.iter().filter_map(|k| k.next_event(now)).min()
    }
}
