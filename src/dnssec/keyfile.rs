//! The key files `dnssec-keygen` (BIND) and `ldns-keygen` write: `K<zone>+<alg>+<tag>.key`
//! holds the DNSKEY record (and, from BIND, the timing fields as comments), `.private` the
//! private key and, from BIND, the timing fields `Created`, `Publish`, `Activate`,
//! `Inactive` and `Delete`. This module reads their text; it does no I/O.

use super::time::parse_timestamp;
use crate::name::Name;

/// The DNSKEY record of a `.key` file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKeyFile {
    pub owner: Name,
    pub flags: u16,
    pub protocol: u8,
    pub algorithm: u8,
    /// The public key field of the DNSKEY RDATA.
    pub public_key: Vec<u8>,
}

/// When a key is published, made active, retired and deleted, in seconds since the epoch;
/// `None` for a field the file does not set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timing {
    pub created: Option<u64>,
    pub publish: Option<u64>,
    pub activate: Option<u64>,
    pub inactive: Option<u64>,
    pub delete: Option<u64>,
}

/// A `.private` file. Its `Debug` leaves the key out, so that it can never reach a log.
#[derive(Clone, PartialEq, Eq)]
pub struct PrivateKeyFile {
    pub algorithm: u8,
    /// The `PrivateKey` field: the P-256 scalar or the Ed25519 seed.
    pub private_key: Vec<u8>,
    pub timing: Timing,
}

impl std::fmt::Debug for PrivateKeyFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrivateKeyFile")
            .field("algorithm", &self.algorithm)
            .field("private_key", &"(hidden)")
            .field("timing", &self.timing)
            .finish()
    }
}

/// A problem in a key file: the 1-based line (0 for the file as a whole) and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyFileError {
    pub line: usize,
    pub message: String,
}

fn error(line: usize, message: impl Into<String>) -> KeyFileError {
    KeyFileError {
        line,
        message: message.into(),
    }
}

/// Reads the DNSKEY record of a `.key` file: `owner [ttl] [class] DNSKEY flags protocol
/// algorithm base64...`, with `;` comments and parentheses allowed.
pub fn parse_public(text: &str) -> Result<PublicKeyFile, KeyFileError> {
    let mut tokens: Vec<(usize, &str)> = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let data = line.split(';').next().unwrap_or("");
        for token in data.split_whitespace() {
            let token = token.trim_matches(|c| c == '(' || c == ')');
            if !token.is_empty() {
                tokens.push((index + 1, token));
            }
        }
    }
    let Some(at) = tokens
        .iter()
        .position(|(_, t)| t.eq_ignore_ascii_case("DNSKEY"))
    else {
        return Err(error(0, "no DNSKEY record in the key file"));
    };
    let line = tokens[at].0;
    if at == 0 {
        return Err(error(line, "the DNSKEY record has no owner name"));
    }
    let owner = Name::from_text(tokens[0].1)
        .filter(|_| tokens[0].1.ends_with('.'))
        .ok_or_else(|| {
            error(
                line,
                format!("owner {:?} is not an absolute domain name", tokens[0].1),
            )
        })?;
    let fields = &tokens[at + 1..];
    if fields.len() < 4 {
        return Err(error(
            line,
            "the DNSKEY record needs flags, protocol, algorithm and key",
        ));
    }
    let number = |index: usize, what: &str| -> Result<u64, KeyFileError> {
        fields[index].1.parse::<u64>().map_err(|_| {
            error(
                line,
                format!("DNSKEY {what} {:?} is not a number", fields[index].1),
            )
        })
    };
    let flags = u16::try_from(number(0, "flags")?)
        .map_err(|_| error(line, "DNSKEY flags must be below 65536"))?;
    let protocol = u8::try_from(number(1, "protocol")?)
        .map_err(|_| error(line, "DNSKEY protocol must be 3"))?;
    if protocol != 3 {
        return Err(error(
            line,
            "DNSKEY protocol must be 3 (RFC 4034 section 2.1.2)",
        ));
    }
    let algorithm = u8::try_from(number(2, "algorithm")?)
        .map_err(|_| error(line, "DNSKEY algorithm must be below 256"))?;
    let encoded: String = fields[3..].iter().map(|(_, t)| *t).collect();
    let public_key = domain::utils::base64::decode::<Vec<u8>>(&encoded)
        .map_err(|e| error(line, format!("the DNSKEY public key is not base64: {e}")))?;
    Ok(PublicKeyFile {
        owner,
        flags,
        protocol,
        algorithm,
        public_key,
    })
}

/// Reads a `.private` file: `Field: value` lines, of which `Algorithm` and `PrivateKey`
/// are needed and the timing fields are honoured.
pub fn parse_private(text: &str) -> Result<PrivateKeyFile, KeyFileError> {
    let mut algorithm = None;
    let mut private_key = None;
    let mut timing = Timing::default();
    for (index, line) in text.lines().enumerate() {
        let line_no = index + 1;
        let line = line.trim();
        if line.is_empty() || line.starts_with(';') {
            continue;
        }
        let Some((field, value)) = line.split_once(':') else {
            return Err(error(line_no, "expected `Field: value`"));
        };
        let value = value.trim();
        let time = |value: &str| {
            parse_timestamp(value).ok_or_else(|| {
                error(
                    line_no,
                    format!("{field}: {value:?} is not a YYYYMMDDHHMMSS time"),
                )
            })
        };
        match field.trim() {
            "Algorithm" => {
                let number = value.split_whitespace().next().unwrap_or("");
                algorithm = Some(number.parse::<u8>().map_err(|_| {
                    error(
                        line_no,
                        format!("Algorithm: {value:?} is not an algorithm number"),
                    )
                })?);
            }
            "PrivateKey" => {
                // Never echo the value: this is the secret.
                let key = domain::utils::base64::decode::<Vec<u8>>(value)
                    .map_err(|_| error(line_no, "PrivateKey is not base64"))?;
                private_key = Some(key);
            }
            "Created" => timing.created = Some(time(value)?),
            "Publish" => timing.publish = Some(time(value)?),
            "Activate" => timing.activate = Some(time(value)?),
            "Inactive" => timing.inactive = Some(time(value)?),
            "Delete" => timing.delete = Some(time(value)?),
            // Private-key-format, SyncPublish, SyncDelete, Revoke... are not needed here.
            _ => {}
        }
    }
    Ok(PrivateKeyFile {
        algorithm: algorithm.ok_or_else(|| error(0, "no Algorithm field"))?,
        private_key: private_key.ok_or_else(|| {
            error(
                0,
                "no PrivateKey field (only ECDSA P-256 and Ed25519 keys are supported)",
            )
        })?,
        timing,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// As `dnssec-keygen -a ECDSAP256SHA256 -f KSK example.test` writes it.
    const BIND_KEY: &str = "\
; This is a key-signing key, keyid 4242, for example.test.
; Created: 20261201000000 (Tue Dec  1 00:00:00 2026)
; Publish: 20261201000000 (Tue Dec  1 00:00:00 2026)
; Activate: 20261201000000 (Tue Dec  1 00:00:00 2026)
example.test. IN DNSKEY 257 3 13 AQID BAUG
";

    const BIND_PRIVATE: &str = "\
Private-key-format: v1.3
Algorithm: 13 (ECDSAP256SHA256)
PrivateKey: AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=
Created: 20261201000000
Publish: 20261201000000
Activate: 20261202000000
Inactive: 20270101000000
Delete: 20270201000000
";

    #[test]
    fn a_bind_public_key_file() {
        let key = parse_public(BIND_KEY).unwrap();
        assert_eq!(key.owner, Name::from_text("example.test.").unwrap());
        assert_eq!((key.flags, key.protocol, key.algorithm), (257, 3, 13));
        assert_eq!(key.public_key, [1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn ttl_class_and_parentheses_are_allowed() {
        let key = parse_public("example.test. 3600 IN DNSKEY ( 256 3 15\n AQID )\n").unwrap();
        assert_eq!((key.flags, key.algorithm), (256, 15));
        assert_eq!(key.public_key, [1, 2, 3]);
    }

    #[test]
    fn broken_public_key_files_say_where() {
        let missing = parse_public("; only a comment\n").unwrap_err();
        assert_eq!(missing.line, 0);
        let protocol = parse_public("\n\nexample.test. IN DNSKEY 257 2 13 AQID\n").unwrap_err();
        assert_eq!(protocol.line, 3);
        assert!(protocol.message.contains("protocol must be 3"));
        let relative = parse_public("example.test IN DNSKEY 257 3 13 AQID\n").unwrap_err();
        assert!(relative.message.contains("absolute"), "{relative:?}");
        let base64 = parse_public("example.test. IN DNSKEY 257 3 13 !!!!\n").unwrap_err();
        assert!(base64.message.contains("base64"));
    }

    #[test]
    fn a_bind_private_key_file_with_its_timing() {
        let key = parse_private(BIND_PRIVATE).unwrap();
        assert_eq!(key.algorithm, 13);
        assert_eq!(key.private_key, (0..32).collect::<Vec<u8>>());
        assert_eq!(key.timing.activate, parse_timestamp("20261202000000"));
        assert_eq!(key.timing.delete, parse_timestamp("20270201000000"));
        let debug = format!("{key:?}");
        assert!(
            debug.contains("(hidden)") && !debug.contains("AAEC"),
            "{debug}"
        );
    }

    #[test]
    fn an_ldns_private_key_file_has_no_timing() {
        let text = "Private-key-format: v1.2\nAlgorithm: 15 (ED25519)\nPrivateKey: AQID\n";
        let key = parse_private(text).unwrap();
        assert_eq!(key.algorithm, 15);
        assert_eq!(key.timing, Timing::default());
    }

    #[test]
    fn broken_private_key_files_never_echo_the_key() {
        let bad = parse_private("Algorithm: 13\nPrivateKey: s3cr3t!!\n").unwrap_err();
        assert_eq!(bad.line, 2);
        assert!(!bad.message.contains("s3cr3t"));
        let time = parse_private("Algorithm: 13\nPrivateKey: AQID\nActivate: soon\n").unwrap_err();
        assert_eq!(time.line, 3);
        let rsa = "Algorithm: 8 (RSASHA256)\nModulus: AQID\n";
        assert!(parse_private(rsa)
            .unwrap_err()
            .message
            .contains("PrivateKey"));
    }
}
