//! TSIG (RFC 8945): signing a request and verifying every message of the answer, the
//! multi-message answers of a zone transfer included. Bytes in, bytes out; the time is an
//! argument.
//!
//! A request's MAC covers the message and the TSIG variables (section 4.3.3); the first
//! answer's MAC covers the request's MAC, the answer and its variables (4.3.1); each later
//! message of a transfer covers the previous message's MAC, the message and the timers only
//! (4.3.2). A MAC shorter than the algorithm's full length is refused (no truncation).

use crate::config::{TsigAlgorithm, TsigKeyConfig};
use crate::name::Name;
use ring::hmac;

/// The TSIG record type.
pub const TSIG_TYPE: u16 = 250;
/// Class ANY, the class of a TSIG record.
const CLASS_ANY: u16 = 255;
/// The fudge Swivel signs with (RFC 8945 section 10 recommends 300 seconds).
pub const FUDGE: u16 = 300;

/// TSIG error codes (RFC 8945 section 3, the IANA registry's numbers).
pub const BADSIG: u16 = 16;
pub const BADKEY: u16 = 17;
pub const BADTIME: u16 = 18;
pub const BADTRUNC: u16 = 22;

/// Why a message's signature was not accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TsigError {
    /// The message carries no TSIG record, or not as its last additional record.
    Unsigned,
    /// The TSIG record is not readable.
    Malformed,
    /// Signed with another key name or algorithm than ours.
    WrongKey,
    /// The MAC does not match: another secret, or the message was changed.
    BadSignature,
    /// Signed at a time more than the fudge away from ours.
    BadTime { signed: u64, now: u64 },
    /// The primary answered with a TSIG error of its own (BADKEY, BADSIG, BADTIME...).
    Refused(u16),
}

impl std::fmt::Display for TsigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TsigError::Unsigned => f.write_str("the message is not TSIG-signed"),
            TsigError::Malformed => f.write_str("the TSIG record is malformed"),
            TsigError::WrongKey => f.write_str("signed with another key or algorithm (BADKEY)"),
            TsigError::BadSignature => f.write_str("the TSIG signature does not match (BADSIG)"),
            TsigError::BadTime { signed, now } => write!(
                f,
                "signed at {signed}, {} s away from our clock at {now} (BADTIME)",
                signed.abs_diff(*now)
            ),
            TsigError::Refused(code) => write!(
                f,
                "the primary refused our signature: TSIG error {}",
                error_name(*code)
            ),
        }
    }
}

/// The mnemonic of a TSIG error code.
pub fn error_name(code: u16) -> String {
    match code {
        BADSIG => "BADSIG".into(),
        BADKEY => "BADKEY".into(),
        BADTIME => "BADTIME".into(),
        BADTRUNC => "BADTRUNC".into(),
        other => other.to_string(),
    }
}

/// The algorithm's name in wire form (`hmac-sha256.`).
fn algorithm_name(algorithm: TsigAlgorithm) -> Name {
    Name::from_text(algorithm.as_str()).expect("algorithm names are valid")
}

fn hmac_key(key: &TsigKeyConfig) -> hmac::Key {
    let algorithm = match key.algorithm {
        TsigAlgorithm::HmacSha256 => hmac::HMAC_SHA256,
        TsigAlgorithm::HmacSha384 => hmac::HMAC_SHA384,
        TsigAlgorithm::HmacSha512 => hmac::HMAC_SHA512,
    };
    hmac::Key::new(algorithm, &key.secret)
}

/// The parts of a TSIG record's RDATA.
#[derive(Clone, Debug, PartialEq, Eq)]
struct TsigRecord {
    key_name: Name,
    algorithm: Name,
    time_signed: u64,
    fudge: u16,
    mac: Vec<u8>,
    original_id: u16,
    error: u16,
    other: Vec<u8>,
}

/// Signs `message` (a request without a TSIG record) with `key` at `now` (seconds since
/// 1970): appends the TSIG record and counts it. Returns the MAC, which the first answer
/// is verified against.
pub fn sign_request(message: &mut Vec<u8>, key: &TsigKeyConfig, now: u64) -> Vec<u8> {
    let algorithm = algorithm_name(key.algorithm);
    let mut context = hmac::Context::with_key(&hmac_key(key));
    context.update(message);
    let variables = Variables {
        key_name: &key.name,
        algorithm: &algorithm,
        time_signed: now,
        fudge: FUDGE,
        error: 0,
        other: &[],
    };
    context.update(&variables.full());
    let mac = context.sign().as_ref().to_vec();
    let id = u16::from_be_bytes([message[0], message[1]]);
    append_record(message, &variables, &mac, id);
    mac
}

/// Signs an answer (the first of a transfer when `first`, else a later one) the way a
/// primary does: over `prior_mac` (the request's MAC, or the previous message's), the
/// message and the variables (all of them for the first, the timers for later ones).
/// Returns the MAC, which the next message is signed over. Swivel's tests and fuzz
/// targets act as a primary with it.
pub fn sign_answer(
    message: &mut Vec<u8>,
    key: &TsigKeyConfig,
    prior_mac: &[u8],
    first: bool,
    now: u64,
) -> Vec<u8> {
    let algorithm = algorithm_name(key.algorithm);
    let mut context = hmac::Context::with_key(&hmac_key(key));
    context.update(&(prior_mac.len() as u16).to_be_bytes());
    context.update(prior_mac);
    context.update(message);
    let variables = Variables {
        key_name: &key.name,
        algorithm: &algorithm,
        time_signed: now,
        fudge: FUDGE,
        error: 0,
        other: &[],
    };
    if first {
        context.update(&variables.full());
    } else {
        context.update(&variables.timers());
    }
    let mac = context.sign().as_ref().to_vec();
    let id = u16::from_be_bytes([message[0], message[1]]);
    append_record(message, &variables, &mac, id);
    mac
}

/// Verifies the messages of one answer in order: the first against the request's MAC, each
/// later one against the MAC of the message before it.
pub struct Verifier {
    key: TsigKeyConfig,
    hmac: hmac::Key,
    algorithm: Name,
    prior_mac: Vec<u8>,
    first: bool,
}

impl Verifier {
    /// A verifier for the answer to a request signed with `request_mac`.
    pub fn new(key: &TsigKeyConfig, request_mac: Vec<u8>) -> Verifier {
        Verifier {
            key: key.clone(),
            hmac: hmac_key(key),
            algorithm: algorithm_name(key.algorithm),
            prior_mac: request_mac,
            first: true,
        }
    }

    /// Checks the TSIG record of `message`, which starts at `tsig_at` (the offset of its
    /// last additional record, or `None` when it has no additional record), at `now`.
    pub fn verify(
        &mut self,
        message: &[u8],
        tsig_at: Option<usize>,
        now: u64,
    ) -> Result<(), TsigError> {
        let at = tsig_at.ok_or(TsigError::Unsigned)?;
        let (owner, record) = parse_record(message, at)?;
        if owner != self.key.name || record.algorithm != self.algorithm {
            return Err(TsigError::WrongKey);
        }
        if record.error != 0 {
            return Err(TsigError::Refused(record.error));
        }
        if record.mac.len() != self.hmac.algorithm().digest_algorithm().output_len() {
            return Err(TsigError::BadSignature);
        }
        let mut context = hmac::Context::with_key(&self.hmac);
        context.update(&(self.prior_mac.len() as u16).to_be_bytes());
        context.update(&self.prior_mac);
        // The message as it was before signing: the original ID, one record fewer.
        let mut header = [0u8; 12];
        header.copy_from_slice(&message[..12]);
        header[..2].copy_from_slice(&record.original_id.to_be_bytes());
        let arcount = u16::from_be_bytes([header[10], header[11]]).saturating_sub(1);
        header[10..12].copy_from_slice(&arcount.to_be_bytes());
        context.update(&header);
        context.update(&message[12..at]);
        let variables = Variables {
            key_name: &self.key.name,
            algorithm: &self.algorithm,
            time_signed: record.time_signed,
            fudge: record.fudge,
            error: record.error,
            other: &record.other,
        };
        if self.first {
            context.update(&variables.full());
        } else {
            context.update(&variables.timers());
        }
        let expected = context.sign();
        if !bool::from(subtle::ConstantTimeEq::ct_eq(
            expected.as_ref(),
            record.mac.as_slice(),
        )) {
            return Err(TsigError::BadSignature);
        }
        if record.time_signed.abs_diff(now) > u64::from(record.fudge) {
            return Err(TsigError::BadTime {
                signed: record.time_signed,
                now,
            });
        }
        self.prior_mac = record.mac;
        self.first = false;
        Ok(())
    }
}

/// Why a request's signature was not accepted, with what the error answer echoes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestRefused {
    /// BADKEY, BADSIG or BADTIME (RFC 8945 section 5.2), or FORMERR's 1 when unreadable.
    pub error: u16,
    pub key_name: Name,
    pub algorithm: Name,
}

/// What [`verify_request`] accepted: the key and the request's MAC (the first answer is
/// signed over it).
#[derive(Clone, Debug)]
pub struct SignedRequest {
    pub key: TsigKeyConfig,
    pub mac: Vec<u8>,
}

/// The key name and algorithm of the TSIG record at `at`, when readable.
pub fn record_names(message: &[u8], at: usize) -> Option<(Name, Name)> {
    parse_record(message, at)
        .ok()
        .map(|(owner, r)| (owner, r.algorithm))
}

/// Verifies a request's TSIG record at `at` (its last additional record) against `keys` at
/// `now`, as a primary does (RFC 8945 section 5.2): an unknown key name or algorithm is
/// BADKEY, a wrong MAC BADSIG (a truncated one too), a time past the fudge BADTIME.
pub fn verify_request(
    message: &[u8],
    at: usize,
    keys: &[TsigKeyConfig],
    now: u64,
) -> Result<SignedRequest, RequestRefused> {
    let (owner, record) = parse_record(message, at).map_err(|_| RequestRefused {
        error: 1,
        key_name: Name::root(),
        algorithm: Name::root(),
    })?;
    let refused = |error| RequestRefused {
        error,
        key_name: owner.clone(),
        algorithm: record.algorithm.clone(),
    };
    let key = keys
        .iter()
        .find(|k| k.name == owner && algorithm_name(k.algorithm) == record.algorithm)
        .ok_or_else(|| refused(BADKEY))?;
    let hmac = hmac_key(key);
    if record.mac.len() != hmac.algorithm().digest_algorithm().output_len() {
        return Err(refused(BADSIG));
    }
    let mut context = hmac::Context::with_key(&hmac);
    let mut header = [0u8; 12];
    header.copy_from_slice(&message[..12]);
    header[..2].copy_from_slice(&record.original_id.to_be_bytes());
    let arcount = u16::from_be_bytes([header[10], header[11]]).saturating_sub(1);
    header[10..12].copy_from_slice(&arcount.to_be_bytes());
    context.update(&header);
    context.update(&message[12..at]);
    let variables = Variables {
        key_name: &key.name,
        algorithm: &record.algorithm,
        time_signed: record.time_signed,
        fudge: record.fudge,
        error: record.error,
        other: &record.other,
    };
    context.update(&variables.full());
    let expected = context.sign();
    if !bool::from(subtle::ConstantTimeEq::ct_eq(
        expected.as_ref(),
        record.mac.as_slice(),
    )) {
        return Err(refused(BADSIG));
    }
    if record.time_signed.abs_diff(now) > u64::from(record.fudge) {
        return Err(refused(BADTIME));
    }
    Ok(SignedRequest {
        key: key.clone(),
        mac: record.mac,
    })
}

/// Appends the unsigned TSIG record of an error answer (RFC 8945 section 5.3.2: BADKEY and
/// BADSIG answers carry an empty MAC) naming the request's key and algorithm.
pub fn append_error(message: &mut Vec<u8>, refused: &RequestRefused, now: u64) {
    let variables = Variables {
        key_name: &refused.key_name,
        algorithm: &refused.algorithm,
        time_signed: now,
        fudge: FUDGE,
        error: refused.error,
        other: &[],
    };
    let id = u16::from_be_bytes([message[0], message[1]]);
    append_record(message, &variables, &[], id);
}

/// The TSIG variables of RFC 8945 section 4.3.3.
struct Variables<'a> {
    key_name: &'a Name,
    algorithm: &'a Name,
    time_signed: u64,
    fudge: u16,
    error: u16,
    other: &'a [u8],
}

impl Variables<'_> {
    /// Name, class, TTL, algorithm, timers, error and other data.
    fn full(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        out.extend_from_slice(self.key_name.as_wire());
        out.extend_from_slice(&CLASS_ANY.to_be_bytes());
        out.extend_from_slice(&0u32.to_be_bytes());
        out.extend_from_slice(self.algorithm.as_wire());
        out.extend_from_slice(&self.timers());
        out.extend_from_slice(&self.error.to_be_bytes());
        out.extend_from_slice(&(self.other.len() as u16).to_be_bytes());
        out.extend_from_slice(self.other);
        out
    }

    /// Time signed (48 bits) and fudge.
    fn timers(&self) -> [u8; 8] {
        let mut out = [0u8; 8];
        out[..6].copy_from_slice(&self.time_signed.to_be_bytes()[2..]);
        out[6..].copy_from_slice(&self.fudge.to_be_bytes());
        out
    }
}

/// Appends the TSIG record to `message` and increments ARCOUNT.
fn append_record(message: &mut Vec<u8>, variables: &Variables<'_>, mac: &[u8], id: u16) {
    message.extend_from_slice(variables.key_name.as_wire());
    message.extend_from_slice(&TSIG_TYPE.to_be_bytes());
    message.extend_from_slice(&CLASS_ANY.to_be_bytes());
    message.extend_from_slice(&0u32.to_be_bytes());
    let mut rdata = Vec::with_capacity(32 + mac.len());
    rdata.extend_from_slice(variables.algorithm.as_wire());
    rdata.extend_from_slice(&variables.timers());
    rdata.extend_from_slice(&(mac.len() as u16).to_be_bytes());
    rdata.extend_from_slice(mac);
    rdata.extend_from_slice(&id.to_be_bytes());
    rdata.extend_from_slice(&variables.error.to_be_bytes());
    rdata.extend_from_slice(&(variables.other.len() as u16).to_be_bytes());
    rdata.extend_from_slice(variables.other);
    message.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    message.extend_from_slice(&rdata);
    let arcount = u16::from_be_bytes([message[10], message[11]]).wrapping_add(1);
    message[10..12].copy_from_slice(&arcount.to_be_bytes());
}

/// Reads the TSIG record at `at`, which must end the message. Names in a TSIG record are
/// not compressed (RFC 8945 section 4.2).
fn parse_record(message: &[u8], at: usize) -> Result<(Name, TsigRecord), TsigError> {
    let mut reader = Reader { bytes: message, at };
    let owner = reader.name()?;
    let (rtype, class) = (reader.u16()?, reader.u16()?);
    let _ttl = reader.take(4)?;
    let rdlen = usize::from(reader.u16()?);
    if rtype != TSIG_TYPE || class != CLASS_ANY || reader.at + rdlen != message.len() {
        return Err(TsigError::Unsigned);
    }
    let algorithm = reader.name()?;
    let time = reader.take(6)?;
    let time_signed = time.iter().fold(0u64, |acc, &b| acc << 8 | u64::from(b));
    let fudge = reader.u16()?;
    let mac_len = usize::from(reader.u16()?);
    let mac = reader.take(mac_len)?.to_vec();
    let original_id = reader.u16()?;
    let error = reader.u16()?;
    let other_len = usize::from(reader.u16()?);
    let other = reader.take(other_len)?.to_vec();
    if reader.at != message.len() {
        return Err(TsigError::Malformed);
    }
    let record = TsigRecord {
        key_name: owner.clone(),
        algorithm,
        time_signed,
        fudge,
        mac,
        original_id,
        error,
        other,
    };
    Ok((owner, record))
}

/// A cursor over a message, for the TSIG record's fields.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, len: usize) -> Result<&'a [u8], TsigError> {
        let end = self.at.checked_add(len).ok_or(TsigError::Malformed)?;
        let slice = self.bytes.get(self.at..end).ok_or(TsigError::Malformed)?;
        self.at = end;
        Ok(slice)
    }

    fn u16(&mut self) -> Result<u16, TsigError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    /// An uncompressed name.
    fn name(&mut self) -> Result<Name, TsigError> {
        let rest = self.bytes.get(self.at..).ok_or(TsigError::Malformed)?;
        let len = crate::name::wire_name_len(rest).ok_or(TsigError::Malformed)?;
        let name = Name::from_wire(&rest[..len]).ok_or(TsigError::Malformed)?;
        self.at += len;
        Ok(name)
    }
}

#[cfg(test)]
#[path = "tsig_tests.rs"]
mod tests;
