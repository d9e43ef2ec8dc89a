//! A zone's signing key: the DNSKEY it publishes, its role (KSK or ZSK), its timing, and
//! the private half in `ring`, which makes the signatures. Only ECDSA P-256 with SHA-256
//! (algorithm 13) and Ed25519 (algorithm 15) are supported.

use super::keyfile::{PrivateKeyFile, PublicKeyFile, Timing};
use crate::name::Name;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair};
use std::fmt;

/// DNSKEY flags: the Zone Key bit (RFC 4034 section 2.1.1).
const ZONE_KEY: u16 = 0x0100;
/// DNSKEY flags: the Secure Entry Point bit, set on key-signing keys.
const SEP: u16 = 0x0001;
/// DNSKEY flags: the REVOKE bit (RFC 5011).
const REVOKE: u16 = 0x0080;

/// The DNSSEC algorithms Swivel signs with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    EcdsaP256Sha256,
    Ed25519,
}

impl Algorithm {
    /// The algorithm of IANA number `number`, with a message for the unsupported ones.
    pub fn from_number(number: u8) -> Result<Algorithm, String> {
        match number {
            13 => Ok(Algorithm::EcdsaP256Sha256),
            15 => Ok(Algorithm::Ed25519),
            other => Err(format!(
                "algorithm {other} ({}) is not supported: Swivel signs with 13 \
                 (ECDSAP256SHA256) or 15 (ED25519); make a key with \
                 `dnssec-keygen -a ECDSAP256SHA256` or `-a ED25519`",
                mnemonic(other)
            )),
        }
    }

    pub fn number(self) -> u8 {
        match self {
            Algorithm::EcdsaP256Sha256 => 13,
            Algorithm::Ed25519 => 15,
        }
    }

    /// The length of the public key field of the DNSKEY, and of a signature.
    fn key_and_signature_len(self) -> (usize, usize) {
        match self {
            Algorithm::EcdsaP256Sha256 => (64, 64),
            Algorithm::Ed25519 => (32, 64),
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.number(), mnemonic(self.number()))
    }
}

/// The mnemonic of a DNSSEC algorithm number (RFC 8624's table).
fn mnemonic(number: u8) -> &'static str {
    match number {
        1 => "RSAMD5",
        3 => "DSA",
        5 => "RSASHA1",
        6 => "DSA-NSEC3-SHA1",
        7 => "RSASHA1-NSEC3-SHA1",
        8 => "RSASHA256",
        10 => "RSASHA512",
        12 => "ECC-GOST",
        13 => "ECDSAP256SHA256",
        14 => "ECDSAP384SHA384",
        15 => "ED25519",
        16 => "ED448",
        _ => "unassigned",
    }
}

/// Whether a key signs the DNSKEY set (KSK), everything else (ZSK), or, as the zone's
/// only kind of key, both (CSK: decided per zone, see [`super::keyset`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Ksk,
    Zsk,
}

/// Where a key is in its life at some moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyState {
    /// Its Publish time has not come: not in the DNSKEY set.
    Unpublished,
    /// In the DNSKEY set, not (yet) signing.
    Published,
    /// In the DNSKEY set and signing.
    Active,
    /// Past its Inactive time: still in the DNSKEY set, no longer signing.
    Retired,
    /// Past its Delete time: gone.
    Deleted,
}

impl KeyState {
    pub fn is_published(self) -> bool {
        matches!(
            self,
            KeyState::Published | KeyState::Active | KeyState::Retired
        )
    }

    pub fn name(self) -> &'static str {
        match self {
            KeyState::Unpublished => "unpublished",
            KeyState::Published => "published",
            KeyState::Active => "active",
            KeyState::Retired => "retired",
            KeyState::Deleted => "deleted",
        }
    }
}

enum PrivateKey {
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

/// One key pair of a zone.
pub struct SigningKey {
    pub owner: Name,
    pub algorithm: Algorithm,
    pub flags: u16,
    /// The DNSKEY RDATA: flags, protocol 3, algorithm, public key.
    pub dnskey_rdata: Vec<u8>,
    pub tag: u16,
    pub timing: Timing,
    private: PrivateKey,
    rng: SystemRandom,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("owner", &self.owner.to_string())
            .field("algorithm", &self.algorithm)
            .field("tag", &self.tag)
            .field("role", &self.role())
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Pairs a `.key` file with its `.private` file; a message says what does not fit.
    pub fn new(public: PublicKeyFile, private: PrivateKeyFile) -> Result<SigningKey, String> {
        let algorithm = Algorithm::from_number(public.algorithm)?;
        if private.algorithm != public.algorithm {
            return Err(format!(
                "the .private file is for algorithm {}, the .key file for {}",
                private.algorithm, public.algorithm
            ));
        }
        if public.flags & ZONE_KEY == 0 {
            return Err(format!(
                "DNSKEY flags {} lack the Zone Key bit (256): not a zone signing key",
                public.flags
            ));
        }
        if public.flags & REVOKE != 0 {
            return Err(format!(
                "DNSKEY flags {} have the REVOKE bit: a revoked key cannot sign",
                public.flags
            ));
        }
        let (key_len, _) = algorithm.key_and_signature_len();
        if public.public_key.len() != key_len {
            return Err(format!(
                "the public key is {} bytes; algorithm {algorithm} needs {key_len}",
                public.public_key.len()
            ));
        }
        let key_pair_error =
            |_| "the private key does not belong to the public key (or is malformed)".to_string();
        let private_key = match algorithm {
            Algorithm::EcdsaP256Sha256 => {
                let mut uncompressed = Vec::with_capacity(65);
                uncompressed.push(4);
                uncompressed.extend_from_slice(&public.public_key);
                EcdsaKeyPair::from_private_key_and_public_key(
                    &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                    &private.private_key,
                    &uncompressed,
                    &SystemRandom::new(),
                )
                .map(PrivateKey::Ecdsa)
                .map_err(key_pair_error)?
            }
            Algorithm::Ed25519 => {
                Ed25519KeyPair::from_seed_and_public_key(&private.private_key, &public.public_key)
                    .map(PrivateKey::Ed25519)
                    .map_err(key_pair_error)?
            }
        };
        let mut dnskey_rdata = Vec::with_capacity(4 + key_len);
        dnskey_rdata.extend_from_slice(&public.flags.to_be_bytes());
        dnskey_rdata.push(3);
        dnskey_rdata.push(algorithm.number());
        dnskey_rdata.extend_from_slice(&public.public_key);
        Ok(SigningKey {
            owner: public.owner,
            algorithm,
            flags: public.flags,
            tag: key_tag(&dnskey_rdata),
            dnskey_rdata,
            timing: private.timing,
            private: private_key,
            rng: SystemRandom::new(),
        })
    }

    /// KSK when the SEP bit is set (flags 257), else ZSK (256).
    pub fn role(&self) -> Role {
        if self.flags & SEP != 0 {
            Role::Ksk
        } else {
            Role::Zsk
        }
    }

    /// The key's state at `now` (seconds since the epoch). A file with no timing fields
    /// (as `ldns-keygen` writes) is published and active from the start; otherwise an unset
    /// Publish means published from Activate on, an unset Activate means never active.
    pub fn state(&self, now: u64) -> KeyState {
        let t = self.timing;
        let reached = |at: Option<u64>| at.is_some_and(|at| now >= at);
        if reached(t.delete) {
            return KeyState::Deleted;
        }
        let untimed = t.publish.is_none() && t.activate.is_none() && t.inactive.is_none();
        if untimed {
            return KeyState::Active;
        }
        let publish = match (t.publish, t.activate) {
            (Some(p), Some(a)) => Some(p.min(a)),
            (p, a) => p.or(a),
        };
        if !reached(publish) {
            return KeyState::Unpublished;
        }
        if reached(t.inactive) {
            KeyState::Retired
        } else if reached(t.activate) {
            KeyState::Active
        } else {
            KeyState::Published
        }
    }

    /// The first timing event after `now`, when the key's state may change.
    pub fn next_event(&self, now: u64) -> Option<u64> {
        let t = self.timing;
        [t.publish, t.activate, t.inactive, t.delete]
            .into_iter()
            .flatten()
            .filter(|&at| at > now)
            .min()
    }

    /// Signs `data` (the RRSIG RDATA without its signature, then the canonical RRset).
    pub fn sign(&self, data: &[u8]) -> Vec<u8> {
        match &self.private {
            PrivateKey::Ecdsa(pair) => pair
                .sign(&self.rng, data)
                .expect("ECDSA signing fails only without system randomness")
                .as_ref()
                .to_vec(),
            PrivateKey::Ed25519(pair) => pair.sign(data).as_ref().to_vec(),
        }
    }

    /// Checks a signature made by this key (for tests and self-checks).
    pub fn verify(&self, data: &[u8], signature_bytes: &[u8]) -> bool {
        let (public, algorithm): (Vec<u8>, &dyn signature::VerificationAlgorithm) = match &self
            .private
        {
            PrivateKey::Ecdsa(pair) => (
                pair.public_key().as_ref().to_vec(),
                &signature::ECDSA_P256_SHA256_FIXED,
            ),
            PrivateKey::Ed25519(pair) => (pair.public_key().as_ref().to_vec(), &signature::ED25519),
        };
        signature::UnparsedPublicKey::new(algorithm, public)
            .verify(data, signature_bytes)
            .is_ok()
    }

    /// The DS RDATA for the parent with SHA-256 (digest type 2, RFC 4509).
    pub fn ds_sha256(&self) -> Vec<u8> {
        let mut input = self.owner.as_wire().to_vec();
        input.extend_from_slice(&self.dnskey_rdata);
        let digest = ring::digest::digest(&ring::digest::SHA256, &input);
        let mut ds = Vec::with_capacity(4 + digest.as_ref().len());
        ds.extend_from_slice(&self.tag.to_be_bytes());
        ds.push(self.algorithm.number());
        ds.push(2);
        ds.extend_from_slice(digest.as_ref());
        ds
    }

    /// The DS record in presentation form: `example.test. IN DS 4242 13 2 ABCD…`.
    pub fn ds_record(&self) -> String {
        let ds = self.ds_sha256();
        let hex: String = ds[4..].iter().map(|b| format!("{b:02X}")).collect();
        format!(
            "{} IN DS {} {} 2 {hex}",
            self.owner,
            self.tag,
            self.algorithm.number()
        )
    }
}

/// The key tag of a DNSKEY RDATA (RFC 4034 appendix B).
pub fn key_tag(rdata: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for (i, &byte) in rdata.iter().enumerate() {
        sum += if i % 2 == 0 {
            u32::from(byte) << 8
        } else {
            u32::from(byte)
        };
    }
    sum += (sum >> 16) & 0xffff;
    (sum & 0xffff) as u16
}

/// An untimed (always active) Ed25519 key of `owner` made from a seed of 32 times `seed`:
/// for tests, benchmarks and the fuzz targets, which need keys without files.
pub fn ed25519_test_key(owner: &str, flags: u16, seed: u8) -> SigningKey {
    let pair = Ed25519KeyPair::from_seed_unchecked(&[seed; 32]).expect("any seed is a key");
    let public = PublicKeyFile {
        owner: Name::from_text(owner).expect("a valid owner"),
        flags,
        protocol: 3,
        algorithm: 15,
        public_key: pair.public_key().as_ref().to_vec(),
    };
    let private = PrivateKeyFile {
        algorithm: 15,
        private_key: vec![seed; 32],
        timing: Timing::default(),
    };
    SigningKey::new(public, private).expect("the pair matches")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_tag_of_the_rfc_4034_example() {
        // RFC 4034 section 5.4: the DNSKEY of dskey.example.com. has key tag 60485.
        let key = "AQOeiiR0GOMYkDshWoSKz9XzfwJr1AYtsmx3TGkJaNXVbfi/2pHm822aJ5iI9BMzNXxeYCmZDRD99WYwYqUSdjMmmAphXdvxegXd/M5+X7OrzKBaMbCVdFLUUh6DhweJBjEVv5f2wwjM9XzcnOf+EPbtG9DMBmADjFDc2w/rljwvFw==";
        let mut rdata = vec![1, 0, 3, 5];
        rdata.extend(domain::utils::base64::decode::<Vec<u8>>(key).unwrap());
        assert_eq!(key_tag(&rdata), 60485);
    }

    fn ed25519_key(flags: u16, timing: Timing, seed: [u8; 32]) -> Result<SigningKey, String> {
        let pair = Ed25519KeyPair::from_seed_unchecked(&[7; 32]).unwrap();
        let public = PublicKeyFile {
            owner: Name::from_text("example.test.").unwrap(),
            flags,
            protocol: 3,
            algorithm: 15,
            public_key: pair.public_key().as_ref().to_vec(),
        };
        let private = PrivateKeyFile {
            algorithm: 15,
            private_key: seed.to_vec(),
            timing,
        };
        SigningKey::new(public, private)
    }

    #[test]
    fn a_key_signs_and_its_signature_verifies() {
        let key = ed25519_key(257, Timing::default(), [7; 32]).unwrap();
        assert_eq!(key.role(), Role::Ksk);
        let signature = key.sign(b"rrsig rdata and rrset");
        assert_eq!(signature.len(), 64);
        assert!(key.verify(b"rrsig rdata and rrset", &signature));
        assert!(!key.verify(b"another rrset", &signature));
    }

    #[test]
    fn mismatched_revoked_and_non_zone_keys_are_refused() {
        let wrong = ed25519_key(256, Timing::default(), [8; 32]).unwrap_err();
        assert!(wrong.contains("does not belong"), "{wrong}");
        let revoked = ed25519_key(257 | REVOKE, Timing::default(), [7; 32]).unwrap_err();
        assert!(revoked.contains("REVOKE"), "{revoked}");
        let not_zone = ed25519_key(1, Timing::default(), [7; 32]).unwrap_err();
        assert!(not_zone.contains("Zone Key"), "{not_zone}");
    }

    #[test]
    fn timing_fields_decide_the_state() {
        let timing = Timing {
            created: Some(50),
            publish: Some(100),
            activate: Some(200),
            inactive: Some(300),
            delete: Some(400),
        };
        let key = ed25519_key(256, timing, [7; 32]).unwrap();
        let states: Vec<KeyState> = [99, 100, 199, 200, 299, 300, 399, 400]
            .into_iter()
            .map(|now| key.state(now))
            .collect();
        use KeyState::*;
        assert_eq!(
            states,
            [
                Unpublished,
                Published,
                Published,
                Active,
                Active,
                Retired,
                Retired,
                Deleted
            ]
        );
        assert_eq!(key.next_event(150), Some(200));
        assert_eq!(key.next_event(400), None);
        // Untimed (ldns-keygen): active from the start. Activate only: published with it.
        let untimed = ed25519_key(256, Timing::default(), [7; 32]).unwrap();
        assert_eq!(untimed.state(0), Active);
        let activate_only = Timing {
            activate: Some(200),
            ..Timing::default()
        };
        let key = ed25519_key(256, activate_only, [7; 32]).unwrap();
        assert_eq!((key.state(199), key.state(200)), (Unpublished, Active));
        // Publish only: never signs.
        let publish_only = Timing {
            publish: Some(100),
            ..Timing::default()
        };
        let key = ed25519_key(256, publish_only, [7; 32]).unwrap();
        assert_eq!(key.state(1_000_000), Published);
    }

    #[test]
    fn unsupported_algorithms_are_named() {
        let message = Algorithm::from_number(8).unwrap_err();
        assert!(
            message.contains("algorithm 8 (RSASHA256) is not supported"),
            "{message}"
        );
        assert_eq!(Algorithm::from_number(13), Ok(Algorithm::EcdsaP256Sha256));
    }
}
