//! A zone's signing context for one table build: its keys, the moment the build is for and
//! the validity window that gives every signature. Signing happens only here, when a table
//! is compiled or a pool's answers are rebuilt, never when a query is answered.

use super::keyset::ZoneKeys;
use super::rrsig::{sign_rrset, Validity};
use crate::name::Name;
use crate::wire::rtype;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Signatures start this long before the build, for resolvers whose clocks lag.
pub const INCEPTION_SKEW: u64 = 3600;
/// Most RRsets remembered by [`ZoneSigner::sign_cached`] before it forgets them all.
const CACHE_LIMIT: usize = 4096;

/// How denial of existence is proven.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DenialKind {
    Nsec,
    Nsec3 { iterations: u16 },
}

/// How a zone is signed, from its `[zone.dnssec]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SigningPolicy {
    pub denial: DenialKind,
    /// Seconds a signature is valid from its inception.
    pub validity: u64,
    /// Signatures expiring sooner than this many seconds are made again.
    pub refresh: u64,
    /// Publish CDS and CDNSKEY for the active KSKs.
    pub cds: bool,
}

/// Signs one zone's RRsets for a table built at `now`.
pub struct ZoneSigner {
    pub keys: Arc<ZoneKeys>,
    pub policy: SigningPolicy,
    /// The moment the table is built for (seconds since the epoch): decides key states.
    pub now: u64,
    pub validity: Validity,
    /// Signatures of RRsets whose records change with health (pools), by content.
    cache: Mutex<HashMap<Vec<u8>, Vec<Vec<u8>>>>,
}

impl std::fmt::Debug for ZoneSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZoneSigner")
            .field("now", &self.now)
            .field("validity", &self.validity)
            .finish_non_exhaustive()
    }
}

impl ZoneSigner {
    pub fn new(keys: Arc<ZoneKeys>, policy: SigningPolicy, now: u64) -> ZoneSigner {
        let inception = now.saturating_sub(INCEPTION_SKEW);
        let validity = Validity {
            inception: inception as u32,
            expiration: (now + policy.validity) as u32,
        };
        ZoneSigner {
            keys,
            policy,
            now,
            validity,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// When a table built now must be built again: before its signatures come within
    /// `refresh` of expiring, or when a key's state changes, whichever is first.
    pub fn next_resign(&self) -> u64 {
        let refresh = self.now + self.policy.validity.saturating_sub(self.policy.refresh);
        self.keys
            .next_event(self.now)
            .map_or(refresh, |e| e.min(refresh))
    }

    /// RRSIG RDATAs for the RRset: by the KSKs for the DNSKEY set (and CDS/CDNSKEY, which
    /// RFC 7344 section 4.1 has signed by a key of the DNSKEY set), by the ZSKs otherwise.
    pub fn sign(&self, owner: &Name, rtype_: u16, ttl: u32, rdatas: &[&[u8]]) -> Vec<Vec<u8>> {
        let dnskey_set = matches!(rtype_, rtype::DNSKEY | rtype::CDS | rtype::CDNSKEY);
        let sign = |k| sign_rrset(k, self.validity, owner, rtype_, ttl, rdatas);
        if dnskey_set {
            self.keys.dnskey_signers(self.now).map(sign).collect()
        } else {
            self.keys.zone_signers(self.now).map(sign).collect()
        }
    }

    /// [`ZoneSigner::sign`], remembering the result by content, so the variants of a pool's
    /// answer (rotations, subsets seen before) are signed once each.
    pub fn sign_cached(
        &self,
        owner: &Name,
        rtype_: u16,
        ttl: u32,
        rdatas: &[&[u8]],
    ) -> Vec<Vec<u8>> {
        let mut sorted: Vec<&[u8]> = rdatas.to_vec();
        sorted.sort_unstable();
        let mut key = owner.as_wire().to_vec();
        key.extend_from_slice(&rtype_.to_be_bytes());
        key.extend_from_slice(&ttl.to_be_bytes());
        for rdata in &sorted {
            key.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
            key.extend_from_slice(rdata);
        }
        if let Some(sigs) = self.cache().get(&key) {
            return sigs.clone();
        }
        let sigs = self.sign(owner, rtype_, ttl, rdatas);
        let mut cache = self.cache();
        if cache.len() >= CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(key, sigs.clone());
        sigs
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, HashMap<Vec<u8>, Vec<Vec<u8>>>> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The DNSKEY RDATAs published now.
    pub fn dnskeys(&self) -> Vec<Vec<u8>> {
        let keys = self.keys.published(self.now);
        keys.map(|k| k.dnskey_rdata.clone()).collect()
    }

    /// CDS and CDNSKEY RDATAs for the active KSKs (RFC 7344), when the policy asks.
    pub fn cds(&self) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
        if !self.policy.cds {
            return (Vec::new(), Vec::new());
        }
        let ksks: Vec<_> = self.keys.dnskey_signers(self.now).collect();
        let cds = ksks.iter().map(|k| k.ds_sha256()).collect();
        let cdnskey = ksks.iter().map(|k| k.dnskey_rdata.clone()).collect();
        (cds, cdnskey)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dnssec::key::ed25519_test_key;

    #[test]
    fn a_year_of_rebuilds_keeps_a_valid_signature_at_every_moment() {
        let keys = Arc::new(ZoneKeys {
            keys: vec![ed25519_test_key("example.test.", 257, 5)],
        });
        let policy = SigningPolicy {
            denial: DenialKind::Nsec,
            validity: 14 * 86_400,
            refresh: 7 * 86_400,
            cds: false,
        };
        let start = 1_790_000_000;
        let mut now = start;
        let mut builds = 0;
        while now < start + 365 * 86_400 {
            let signer = ZoneSigner::new(keys.clone(), policy, now);
            let next = signer.next_resign();
            assert!(next > now, "the next build is later");
            let window = signer.validity;
            // Valid from this build until the next, with `refresh` still to go then.
            assert!(u64::from(window.inception) <= now - INCEPTION_SKEW);
            assert!(u64::from(window.expiration) >= next + policy.refresh);
            now = next;
            builds += 1;
        }
        assert_eq!(builds, 53, "one build a week");
    }

    #[test]
    fn a_key_event_brings_the_next_build_forward() {
        let mut key = ed25519_test_key("example.test.", 257, 5);
        key.timing.delete = Some(2_000_000_000);
        key.timing.publish = Some(1_000);
        let keys = Arc::new(ZoneKeys { keys: vec![key] });
        let policy = SigningPolicy {
            denial: DenialKind::Nsec,
            validity: 14 * 86_400,
            refresh: 7 * 86_400,
            cds: false,
        };
        let signer = ZoneSigner::new(keys, policy, 2_000_000_000 - 60);
        assert_eq!(signer.next_resign(), 2_000_000_000);
    }
}
