//! `[zone.dnssec]`: where a signed zone's keys are and how its signatures and denial of
//! existence are made, each value checked against its range.

use super::{parse_duration, Checker};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::Spanned;

/// How a signed zone proves that a name or type does not exist.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Denial {
    Nsec,
    /// NSEC3 (RFC 5155) with this many extra hash iterations and no salt (RFC 9276).
    Nsec3 {
        iterations: u16,
    },
}

/// A zone's `[zone.dnssec]` table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnssecConfig {
    /// The folder of key pairs, resolved against the configuration file's folder.
    pub keys: PathBuf,
    /// Line of the `keys` key, for errors about the folder and its files.
    pub keys_line: usize,
    pub denial: Denial,
    /// How long a signature is valid from its inception.
    pub signature_validity: Duration,
    /// Signatures that expire sooner than this are made again.
    pub signature_refresh: Duration,
    /// Publish CDS and CDNSKEY for the active KSKs (RFC 7344, RFC 8078).
    pub cds: bool,
}

/// `signature_validity` when omitted.
pub const DEFAULT_SIGNATURE_VALIDITY: Duration = Duration::from_secs(14 * 86_400);
/// `signature_refresh` when omitted.
pub const DEFAULT_SIGNATURE_REFRESH: Duration = Duration::from_secs(7 * 86_400);
/// The most NSEC3 iterations accepted: RFC 9276 section 3.2 lets validators treat more than
/// 100 as insecure, and recommends 0.
pub const MAX_NSEC3_ITERATIONS: u16 = 100;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDnssec {
    keys: Spanned<String>,
    denial: Option<Spanned<String>>,
    nsec3_iterations: Option<Spanned<u16>>,
    signature_validity: Option<Spanned<String>>,
    signature_refresh: Option<Spanned<String>>,
    cds: Option<bool>,
}

impl Checker<'_> {
    /// `[zone.dnssec]` of the zone `origin`, paths resolved against `base_dir`.
    pub(super) fn dnssec(&mut self, raw: RawDnssec, base_dir: &Path) -> DnssecConfig {
        if raw.keys.get_ref().is_empty() {
            self.error(
                &raw.keys,
                "zone.dnssec keys: give the folder of the zone's key pairs".to_string(),
            );
        }
        let denial_name = raw.denial.as_ref().map_or("nsec", |d| d.get_ref().as_str());
        let denial = match denial_name {
            "nsec" => Denial::Nsec,
            "nsec3" => Denial::Nsec3 { iterations: 0 },
            other => {
                let message = format!("zone.dnssec denial: {other:?} is not \"nsec\" or \"nsec3\"");
                self.error(raw.denial.as_ref().expect("named"), message);
                Denial::Nsec
            }
        };
        let denial = match (denial, raw.nsec3_iterations) {
            (Denial::Nsec3 { .. }, Some(iterations)) => {
                if *iterations.get_ref() > MAX_NSEC3_ITERATIONS {
                    self.error(
                        &iterations,
                        format!(
                            "zone.dnssec nsec3_iterations: at most {MAX_NSEC3_ITERATIONS} \
                             (RFC 9276 recommends 0; validators may treat more than 100 as \
                             insecure)"
                        ),
                    );
                }
                Denial::Nsec3 {
                    iterations: iterations.into_inner(),
                }
            }
            (Denial::Nsec, Some(iterations)) => {
                self.error(
                    &iterations,
                    "zone.dnssec nsec3_iterations: only for denial = \"nsec3\"".to_string(),
                );
                Denial::Nsec
            }
            (denial, None) => denial,
        };
        let mut duration = |key: &str, value: Option<Spanned<String>>, default: Duration| {
            let Some(value) = value else {
                return (default, None);
            };
            match parse_duration(value.get_ref()) {
                Ok(parsed) => (parsed, Some(value)),
                Err(message) => {
                    self.error(&value, format!("zone.dnssec {key}: {message}"));
                    (default, None)
                }
            }
        };
        let (signature_validity, validity_at) = duration(
            "signature_validity",
            raw.signature_validity,
            DEFAULT_SIGNATURE_VALIDITY,
        );
        let (signature_refresh, refresh_at) = duration(
            "signature_refresh",
            raw.signature_refresh,
            DEFAULT_SIGNATURE_REFRESH,
        );
        if signature_validity < Duration::from_secs(2 * 3600) {
            let message = "zone.dnssec signature_validity: at least 2h (inception is set one \
                           hour back for clock skew)"
                .to_string();
            match &validity_at {
                Some(at) => self.error(at, message),
                None => self.error(&raw.keys, message),
            }
        } else if signature_refresh >= signature_validity
            || signature_refresh < Duration::from_secs(3600)
        {
            let message = format!(
                "zone.dnssec signature_refresh: from 1h to less than signature_validity ({}s)",
                signature_validity.as_secs()
            );
            match refresh_at.as_ref().or(validity_at.as_ref()) {
                Some(at) => self.error(at, message),
                None => self.error(&raw.keys, message),
            }
        }
        DnssecConfig {
            keys: base_dir.join(raw.keys.get_ref()),
            keys_line: self.line(&raw.keys),
            denial,
            signature_validity,
            signature_refresh,
            cds: raw.cds.unwrap_or(false),
        }
    }
}
