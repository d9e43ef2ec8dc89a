//! A signed zone's keys, read from its `[zone.dnssec] keys` folder: every
//! `K<zone>+<alg>+<tag>.key` for the zone with its `.private` file. A private key readable
//! by anyone but its owner, a world-writable key file, a key of an unsupported algorithm or
//! of another zone, and a zone with no active key for some role are refused, each naming
//! the file.

use crate::config::{DnssecConfig, ZoneConfig};
use crate::diag::Diagnostic;
use crate::dnssec::keyfile::{parse_private, parse_public};
use crate::dnssec::{DenialKind, SigningKey, SigningPolicy, ZoneKeys, ZoneSigner};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Permission bits that let anyone but the owner at a private key.
const NOT_OWNER_ONLY: u32 = 0o077;
/// The "others may write" permission bit.
const WORLD_WRITABLE: u32 = 0o002;

/// A zone signed here: its keys, read once at load, and how it is signed.
#[derive(Clone, Debug)]
pub struct SignedZone {
    pub keys: Arc<ZoneKeys>,
    pub policy: SigningPolicy,
}

impl SignedZone {
    pub fn new(keys: ZoneKeys, dnssec: &DnssecConfig) -> SignedZone {
        let denial = match dnssec.denial {
            crate::config::Denial::Nsec => DenialKind::Nsec,
            crate::config::Denial::Nsec3 { iterations } => DenialKind::Nsec3 { iterations },
        };
        SignedZone {
            keys: Arc::new(keys),
            policy: SigningPolicy {
                denial,
                validity: dnssec.signature_validity.as_secs(),
                refresh: dnssec.signature_refresh.as_secs(),
                cds: dnssec.cds,
            },
        }
    }
}

/// The signers for a table built at `now`, one per zone (none for an unsigned zone).
pub fn signers(signing: &[Option<SignedZone>], now: u64) -> Vec<Option<Arc<ZoneSigner>>> {
    signing
        .iter()
        .map(|s| {
            let s = s.as_ref()?;
            Some(Arc::new(ZoneSigner::new(s.keys.clone(), s.policy, now)))
        })
        .collect()
}

/// Reads the keys of `zone` (signed with `dnssec`); [`check_roles`] says whether they can
/// sign it at some moment.
pub fn load_zone_keys(
    config_file: &Path,
    zone: &ZoneConfig,
    dnssec: &DnssecConfig,
) -> Result<ZoneKeys, Vec<Diagnostic>> {
    let in_config = |message: String| Diagnostic::new(config_file, dnssec.keys_line, message);
    let entries = std::fs::read_dir(&dnssec.keys).map_err(|e| {
        vec![in_config(format!(
            "zone {}: cannot read the keys folder {}: {e}",
            zone.origin,
            dnssec.keys.display()
        ))]
    })?;
    let mut public_files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| key_file_zone(path).is_some_and(|z| same_zone(&z, &zone.origin.to_string())))
        .collect();
    public_files.sort();
    let mut keys = Vec::new();
    let mut errors = Vec::new();
    for public_path in public_files {
        match load_pair(&public_path, zone) {
            Ok(key) => keys.push(key),
            Err(diagnostic) => errors.push(diagnostic),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(ZoneKeys { keys })
}

/// A problem, at the `keys` line, when some role of `zone` has no active key at `now`.
pub fn check_roles(
    config_file: &Path,
    zone: &ZoneConfig,
    dnssec: &DnssecConfig,
    keys: &ZoneKeys,
    now: u64,
) -> Result<(), Diagnostic> {
    match keys.missing_role(now) {
        None => Ok(()),
        Some(problem) => Err(Diagnostic::new(
            config_file,
            dnssec.keys_line,
            format!(
                "zone {} is signed with the keys in {}, but {problem}",
                zone.origin,
                dnssec.keys.display()
            ),
        )),
    }
}

/// The zone part of a `K<zone>+<alg>+<tag>.key` file name (`example.test.`), if it is one.
fn key_file_zone(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    let stem = name.strip_prefix('K')?.strip_suffix(".key")?;
    let mut parts = stem.rsplitn(3, '+');
    let (tag, alg, zone) = (parts.next()?, parts.next()?, parts.next()?);
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (digits(tag) && digits(alg)).then(|| zone.to_string())
}

fn same_zone(file_zone: &str, origin: &str) -> bool {
    let trim = |s: &str| s.trim_end_matches('.').to_ascii_lowercase();
    trim(file_zone) == trim(origin)
}

/// One key pair, every problem naming its file.
fn load_pair(public_path: &Path, zone: &ZoneConfig) -> Result<SigningKey, Diagnostic> {
    let private_path = public_path.with_extension("private");
    let whole = |path: &Path, message: String| Diagnostic::new(path, 0, message);
    let mode = |path: &Path| std::fs::metadata(path).map(|m| m.permissions().mode() & 0o7777);
    let public_mode =
        mode(public_path).map_err(|e| whole(public_path, format!("cannot read: {e}")))?;
    if public_mode & WORLD_WRITABLE != 0 {
        return Err(whole(
            public_path,
            format!(
                "key file is world-writable (mode {public_mode:o}): any local user could \
                 change the zone's keys; refusing it (fix with: chmod o-w {})",
                public_path.display()
            ),
        ));
    }
    let private_mode = mode(&private_path).map_err(|e| {
        whole(
            &private_path,
            format!(
                "cannot read the private key of {}: {e}",
                public_path.display()
            ),
        )
    })?;
    if private_mode & NOT_OWNER_ONLY != 0 {
        return Err(whole(
            &private_path,
            format!(
                "private key is readable or writable by users other than its owner (mode \
                 {private_mode:o}); refusing it (fix with: chmod 600 {})",
                private_path.display()
            ),
        ));
    }
    let public_text = std::fs::read_to_string(public_path)
        .map_err(|e| whole(public_path, format!("cannot read: {e}")))?;
    let public =
        parse_public(&public_text).map_err(|e| Diagnostic::new(public_path, e.line, e.message))?;
    if public.owner != zone.origin {
        return Err(whole(
            public_path,
            format!(
                "the DNSKEY is for {}, not for the zone {}",
                public.owner, zone.origin
            ),
        ));
    }
    crate::dnssec::Algorithm::from_number(public.algorithm)
        .map_err(|message| whole(public_path, message))?;
    let private_text = std::fs::read_to_string(&private_path)
        .map_err(|e| whole(&private_path, format!("cannot read: {e}")))?;
    let private = parse_private(&private_text)
        .map_err(|e| Diagnostic::new(&private_path, e.line, e.message))?;
    SigningKey::new(public, private).map_err(|message| whole(&private_path, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_file_names() {
        let zone = |name: &str| key_file_zone(Path::new(name));
        assert_eq!(
            zone("Kexample.test.+013+04242.key").as_deref(),
            Some("example.test.")
        );
        assert_eq!(
            zone("Kexample.test+015+00001.key").as_deref(),
            Some("example.test")
        );
        assert_eq!(zone("Kexample.test.+013+04242.private"), None);
        assert_eq!(zone("example.test.+013+04242.key"), None);
        assert_eq!(zone("Kexample.test.+x+04242.key"), None);
        assert!(same_zone("Example.Test", "example.test."));
        assert!(!same_zone("other.test.", "example.test."));
    }
}
