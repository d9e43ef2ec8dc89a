//! `[[tsig]]`: the shared keys (RFC 8945) that sign the SOA queries and zone transfers of
//! secondary zones. A secret is given inline (`secret`, base64) or in a file
//! (`secret_file`, base64, readable by its owner only, like a DNSSEC private key).

use super::{Checker, Spanned};
use crate::diag::Diagnostic;
use crate::name::Name;
use serde::Deserialize;
use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Permission bits that let anyone but the owner at a secret file.
const NOT_OWNER_ONLY: u32 = 0o077;
/// The shortest secret accepted, in bytes (RFC 8945 section 6: at least the MAC's half).
pub const MIN_TSIG_SECRET_LEN: usize = 16;

/// A TSIG MAC algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TsigAlgorithm {
    HmacSha256,
    HmacSha384,
    HmacSha512,
}

impl TsigAlgorithm {
    /// The configuration spelling, which is also the algorithm's DNS name without the dot.
    pub fn as_str(self) -> &'static str {
        match self {
            TsigAlgorithm::HmacSha256 => "hmac-sha256",
            TsigAlgorithm::HmacSha384 => "hmac-sha384",
            TsigAlgorithm::HmacSha512 => "hmac-sha512",
        }
    }

    fn from_config(text: &str) -> Option<TsigAlgorithm> {
        [
            TsigAlgorithm::HmacSha256,
            TsigAlgorithm::HmacSha384,
            TsigAlgorithm::HmacSha512,
        ]
        .into_iter()
        .find(|a| a.as_str().eq_ignore_ascii_case(text))
    }
}

/// One `[[tsig]]` key.
#[derive(Clone, PartialEq, Eq)]
pub struct TsigKeyConfig {
    /// The key's name as the primary knows it (`name`), a domain name.
    pub name: Name,
    pub algorithm: TsigAlgorithm,
    /// The decoded secret.
    pub secret: Vec<u8>,
}

/// Never prints the secret.
impl std::fmt::Debug for TsigKeyConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TsigKeyConfig")
            .field("name", &self.name)
            .field("algorithm", &self.algorithm)
            .field("secret", &"<set>")
            .finish()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTsig {
    name: Spanned<String>,
    algorithm: Spanned<String>,
    secret: Option<Spanned<String>>,
    secret_file: Option<Spanned<String>>,
}

impl Checker<'_> {
    /// The keys by their configured name (as written, e.g. `xfr-key`), every problem
    /// reported at its line.
    pub(super) fn tsig_keys(
        &mut self,
        raw: Vec<Spanned<RawTsig>>,
        base_dir: &Path,
    ) -> HashMap<String, TsigKeyConfig> {
        let mut keys = HashMap::new();
        let mut first_line = HashMap::new();
        for entry in raw {
            let table_line = self.line(&entry);
            let raw = entry.into_inner();
            let label = raw.name.get_ref().clone();
            let name = Name::from_text(&label);
            if name.is_none() {
                self.error(
                    &raw.name,
                    format!("tsig name {label:?} is not a valid domain name"),
                );
            }
            if let Some(first) = first_line.insert(label.to_ascii_lowercase(), table_line) {
                self.error(
                    &raw.name,
                    format!("tsig key {label:?} is defined twice (first on line {first})"),
                );
                continue;
            }
            let algorithm = TsigAlgorithm::from_config(raw.algorithm.get_ref());
            if algorithm.is_none() {
                let message = format!(
                    "tsig algorithm {:?}: use \"hmac-sha256\", \"hmac-sha384\" or \"hmac-sha512\"",
                    raw.algorithm.get_ref()
                );
                self.error(&raw.algorithm, message);
            }
            let secret = match (raw.secret, raw.secret_file) {
                (Some(secret), None) => self.tsig_secret(&label, &secret, None),
                (None, Some(file)) => {
                    let path = base_dir.join(file.get_ref());
                    match read_secret_file(&path) {
                        Ok(text) => self.tsig_secret(&label, &file, Some((&path, &text))),
                        Err(message) => {
                            self.errors.push(Diagnostic::new(&path, 0, message));
                            None
                        }
                    }
                }
                _ => {
                    self.errors.push(Diagnostic::new(
                        self.file,
                        table_line,
                        format!("tsig key {label:?}: give exactly one of secret or secret_file"),
                    ));
                    None
                }
            };
            if let (Some(name), Some(algorithm), Some(secret)) = (name, algorithm, secret) {
                let key = TsigKeyConfig {
                    name,
                    algorithm,
                    secret,
                };
                keys.insert(label, key);
            }
        }
        keys
    }

    /// Decodes a base64 secret given at `at` (inline) or read from `file` (path, text).
    fn tsig_secret(
        &mut self,
        label: &str,
        at: &Spanned<String>,
        file: Option<(&Path, &str)>,
    ) -> Option<Vec<u8>> {
        let text = file.map_or(at.get_ref().as_str(), |(_, text)| text).trim();
        let problem = match domain::utils::base64::decode::<Vec<u8>>(text) {
            Ok(secret) if secret.len() >= MIN_TSIG_SECRET_LEN => return Some(secret),
            Ok(secret) => format!(
                "tsig key {label:?}: the secret is {} bytes; use at least {MIN_TSIG_SECRET_LEN} \
                 (e.g. the output of `openssl rand -base64 32`)",
                secret.len()
            ),
            Err(_) => format!("tsig key {label:?}: the secret is not base64"),
        };
        match file {
            Some((path, _)) => self.errors.push(Diagnostic::new(path, 1, problem)),
            None => self.error(at, problem),
        }
        None
    }
}

/// The text of a secret file, refused when anyone but its owner may read or write it.
fn read_secret_file(path: &Path) -> Result<String, String> {
    let metadata = std::fs::metadata(path).map_err(|e| format!("cannot read: {e}"))?;
    let mode = metadata.permissions().mode() & 0o7777;
    if mode & NOT_OWNER_ONLY != 0 {
        return Err(format!(
            "secret file is readable or writable by users other than its owner (mode {mode:o}); \
             refusing it (fix with: chmod 600 {})",
            path.display()
        ));
    }
    std::fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))
}
