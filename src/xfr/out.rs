//! Transfers out, the primary's side, without I/O: reading an AXFR (RFC 5936), IXFR
//! (RFC 1995) or signed SOA request, deciding whether the client is admitted
//! (`allow_transfer`, `allow_transfer_tsig`, TSIG of RFC 8945), choosing what an IXFR gets
//! from the zone's [`Journal`], and writing the answer as messages of up to 64 KiB, each
//! TSIG-signed when the request was. [`Offered`] is what the TCP side and the runtime share:
//! the zones offered now, with their settings and journals.

use super::journal::{Change, Journal};
use super::message::{read_name, soa_serial, uncompressed_rdata, CLASS_IN};
use super::serial::is_newer;
use super::tsig::{self, RequestRefused, SignedRequest};
use crate::config::TransferOutConfig;
use crate::name::Name;
use crate::wire::rtype;
use crate::zone::Record;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// Flags of an answer: QR and AA.
const QR_AA: u16 = 0x8400;
/// The RD flag, copied from the request.
const RD: u16 = 0x0100;
/// Largest DNS message over TCP.
const MAX_MESSAGE: usize = 65535;
/// Room kept at the end of a signed message for its TSIG record (a name of at most 255
/// bytes, the algorithm's name, a MAC of at most 64 bytes and the fixed fields).
const TSIG_ROOM: usize = 512;

/// The zones offered to secondaries now, by origin.
#[derive(Default)]
pub struct Offered {
    pub zones: HashMap<Name, OfferedZone>,
}

/// One zone with transfers out: its settings and journal (kept empty for a zone signed
/// here, whose signatures change without a serial change: an IXFR gets the whole zone).
pub struct OfferedZone {
    pub config: TransferOutConfig,
    pub journal: Arc<Mutex<Journal>>,
}

/// A transfer request, as read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub id: u16,
    pub flags: u16,
    pub qname: Name,
    pub qtype: u16,
    /// Where the question ends (the answer echoes `query[12..question_end]`).
    pub question_end: usize,
    /// The serial of the SOA in an IXFR request's authority section.
    pub client_serial: Option<u32>,
    /// Where the last additional record (a TSIG record, when the request is signed) starts.
    pub tsig_at: Option<usize>,
}

/// Whether `query` is one the transfer side answers: a query (QR clear, opcode 0) with one
/// question of type AXFR or IXFR, or of type SOA with additional records (perhaps a TSIG
/// record: a secondary's signed SOA query). Reads the header and the question only.
pub fn wanted(query: &[u8]) -> bool {
    let Some(header) = query.get(..12) else {
        return false;
    };
    let word = |i: usize| u16::from_be_bytes([header[i], header[i + 1]]);
    if word(2) & 0xf800 != 0 || word(4) != 1 {
        return false;
    }
    let Some(len) = query.get(12..).and_then(crate::name::wire_name_len) else {
        return false;
    };
    let Some(t) = query.get(12 + len..14 + len) else {
        return false;
    };
    match u16::from_be_bytes([t[0], t[1]]) {
        rtype::AXFR | rtype::IXFR => true,
        rtype::SOA => word(10) > 0,
        _ => false,
    }
}

/// Reads a transfer request; the error says what is malformed (answered FORMERR).
pub fn parse_request(query: &[u8]) -> Result<Request, String> {
    let header = query.get(..12).ok_or("shorter than a DNS header")?;
    let word = |i: usize| u16::from_be_bytes([header[i], header[i + 1]]);
    let (id, flags) = (word(0), word(2));
    let counts = [word(4), word(6), word(8), word(10)];
    if counts[0] != 1 {
        return Err("a transfer request has exactly one question".into());
    }
    let (qname, end) = read_name(query, 12)?;
    let fixed = query.get(end..end + 4).ok_or("the question is cut short")?;
    let qtype = u16::from_be_bytes([fixed[0], fixed[1]]);
    let qclass = u16::from_be_bytes([fixed[2], fixed[3]]);
    if qclass != CLASS_IN {
        return Err(format!("class {qclass} is not IN"));
    }
    let question_end = end + 4;
    if counts[1] != 0 {
        return Err("a request with records in its answer section".into());
    }
    let mut at = question_end;
    let mut client_serial = None;
    let mut tsig_at = None;
    for section in 0..2 {
        for _ in 0..counts[2 + section] {
            let start = at;
            let (owner, end) = read_name(query, at)?;
            let fixed = query.get(end..end + 10).ok_or("a record is cut short")?;
            let record_type = u16::from_be_bytes([fixed[0], fixed[1]]);
            let rdlen = usize::from(u16::from_be_bytes([fixed[8], fixed[9]]));
            let rdata_at = end + 10;
            if query.len() < rdata_at + rdlen {
                return Err("a record runs past the end of the message".into());
            }
            at = rdata_at + rdlen;
            if section == 0 {
                if qtype != rtype::IXFR || record_type != rtype::SOA || owner != qname {
                    return Err(
                        "the authority section holds something else than the client's SOA".into(),
                    );
                }
                let rdata = uncompressed_rdata(query, rtype::SOA, rdata_at, rdlen)?;
                client_serial = Some(soa_serial(&rdata).ok_or("the client's SOA is malformed")?);
            } else {
                tsig_at = (record_type == tsig::TSIG_TYPE).then_some(start);
            }
        }
    }
    if at != query.len() {
        return Err("bytes after the last record".into());
    }
    if qtype == rtype::IXFR && client_serial.is_none() {
        return Err("an IXFR request without the client's SOA (RFC 1995 section 3)".into());
    }
    Ok(Request {
        id,
        flags,
        qname,
        qtype,
        question_end,
        client_serial,
        tsig_at,
    })
}

/// Whether a client may have the zone.
#[derive(Clone, Debug)]
pub enum Verdict {
    /// Admitted; the answer is signed when the request was.
    Admitted(Option<SignedRequest>),
    /// Not admitted: REFUSED (signed when the request was validly signed).
    Refused(Option<SignedRequest>),
    /// The request's signature was not accepted: NOTAUTH with the TSIG error.
    BadSignature(RequestRefused),
}

/// Decides on `request` (from `query`) sent by `peer` at `now`. A signed request is
/// verified against the zone's keys whatever else holds. With only networks configured, an
/// address in one suffices; with only keys, a valid signature with one; with both, both.
pub fn admit(
    config: &TransferOutConfig,
    peer: IpAddr,
    query: &[u8],
    request: &Request,
    now: u64,
) -> Verdict {
    let signed = match request.tsig_at {
        None => None,
        Some(at) => match tsig::verify_request(query, at, &config.keys, now) {
            Ok(signed) => Some(signed),
            Err(refused) => return Verdict::BadSignature(refused),
        },
    };
    let address_ok = config.allow.iter().any(|net| net.contains(peer));
    let admitted = match (config.allow.is_empty(), config.keys.is_empty()) {
        (true, true) => false,
        (false, true) => address_ok,
        (true, false) => signed.is_some(),
        (false, false) => address_ok && signed.is_some(),
    };
    match admitted {
        true => Verdict::Admitted(signed),
        false => Verdict::Refused(signed),
    }
}

/// What an IXFR request is answered with.
#[derive(Debug, PartialEq, Eq)]
pub enum IxfrPlan<'a> {
    /// The client has the current serial (or a newer one): the SOA alone.
    UpToDate,
    /// The journal's changes from the client's serial to now.
    Changes(Vec<&'a Change>),
    /// The whole zone, as AXFR would send it.
    Full,
}

/// Plans the answer to an IXFR from `client` when the zone is at `current`.
pub fn plan_ixfr(current: u32, client: u32, journal: Option<&Journal>) -> IxfrPlan<'_> {
    if !is_newer(current, client) {
        return IxfrPlan::UpToDate;
    }
    let Some(changes) = journal.and_then(|j| j.since(client)) else {
        return IxfrPlan::Full;
    };
    match changes.last() {
        Some(last) if last.to_serial() == current => IxfrPlan::Changes(changes),
        _ => IxfrPlan::Full,
    }
}

/// The records of an IXFR answer of `changes` ending at `soa` (RFC 1995 section 4): the
/// current SOA, then per change the old SOA, the deleted records, the new SOA and the
/// added records, then the current SOA again.
pub fn ixfr_records<'a>(soa: &'a Record, changes: &[&'a Change]) -> Vec<&'a Record> {
    let mut out = vec![soa];
    for change in changes {
        out.push(&change.from);
        out.extend(&change.deleted);
        out.push(&change.to);
        out.extend(&change.added);
    }
    out.push(soa);
    out
}

/// The answer messages carrying `records` in order for `request` (from `query`): each as
/// large as fits in 64 KiB, the question in each, owner names compressed against the
/// question; every message TSIG-signed when `signed` is given, the first over the
/// request's MAC and each later one over the MAC before it.
pub fn messages(
    query: &[u8],
    request: &Request,
    records: &[&Record],
    signed: Option<&SignedRequest>,
    now: u64,
) -> Vec<Vec<u8>> {
    let limit = match signed {
        Some(_) => MAX_MESSAGE - TSIG_ROOM,
        None => MAX_MESSAGE,
    };
    let question = &query[12..request.question_end];
    let origin = request.qname.as_wire();
    let start = |out: &mut Vec<Vec<u8>>| {
        let mut message = Vec::with_capacity(limit.min(16 << 10));
        message.extend_from_slice(&request.id.to_be_bytes());
        message.extend_from_slice(&(QR_AA | (request.flags & RD)).to_be_bytes());
        message.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
        message.extend_from_slice(question);
        out.push(message);
    };
    let mut out: Vec<Vec<u8>> = Vec::new();
    let mut counts: Vec<u16> = Vec::new();
    start(&mut out);
    counts.push(0);
    let mut owner = Vec::with_capacity(256);
    for record in records {
        owner.clear();
        let wire = record.owner.as_wire();
        match crate::name::is_suffix_at_label(wire, origin) {
            // The labels before the zone's origin, then a pointer to the question name.
            true => {
                owner.extend_from_slice(&wire[..wire.len() - origin.len()]);
                owner.extend_from_slice(&[0xc0, 12]);
            }
            false => owner.extend_from_slice(wire),
        }
        let size = owner.len() + 10 + record.rdata.len();
        let full = out.last().map_or(0, Vec::len) + size > limit;
        if full && counts.last().is_some_and(|&n| n > 0) || counts.last() == Some(&u16::MAX) {
            start(&mut out);
            counts.push(0);
        }
        let message = out.last_mut().expect("a message was started");
        message.extend_from_slice(&owner);
        message.extend_from_slice(&record.rtype.to_be_bytes());
        message.extend_from_slice(&CLASS_IN.to_be_bytes());
        message.extend_from_slice(&record.ttl.to_be_bytes());
        message.extend_from_slice(&(record.rdata.len() as u16).to_be_bytes());
        message.extend_from_slice(&record.rdata);
        *counts.last_mut().expect("a count per message") += 1;
    }
    let mut prior: Option<Vec<u8>> = None;
    for (message, count) in out.iter_mut().zip(counts) {
        message[6..8].copy_from_slice(&count.to_be_bytes());
        if let Some(signed) = signed {
            let (mac, first) = match &prior {
                None => (&signed.mac, true),
                Some(mac) => (mac, false),
            };
            prior = Some(tsig::sign_answer(message, &signed.key, mac, first, now));
        }
    }
    out
}

/// How an error answer is signed.
pub enum ErrorTsig<'a> {
    None,
    /// Signed with the request's key (a REFUSED to a validly signed request).
    Signed(&'a SignedRequest),
    /// The TSIG error of a signature that was not accepted (unsigned, RFC 8945 5.3.2).
    Error(&'a RequestRefused),
}

/// An answer with `rcode` and no records: the request's header and, when it was readable,
/// its question.
pub fn error_answer(
    query: &[u8],
    request: Option<&Request>,
    rcode: u16,
    tsig: ErrorTsig<'_>,
    now: u64,
) -> Vec<u8> {
    let mut message = Vec::with_capacity(128);
    let id = query.get(..2).map_or([0, 0], |id| [id[0], id[1]]);
    let flags = query
        .get(2..4)
        .map_or(0, |f| u16::from_be_bytes([f[0], f[1]]));
    message.extend_from_slice(&id);
    let flags = 0x8000 | (flags & (0x7800 | RD)) | (rcode & 0x000f);
    message.extend_from_slice(&flags.to_be_bytes());
    let qdcount = u16::from(request.is_some());
    message.extend_from_slice(&qdcount.to_be_bytes());
    message.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    if let Some(request) = request {
        message.extend_from_slice(&query[12..request.question_end]);
    }
    match tsig {
        ErrorTsig::None => {}
        ErrorTsig::Signed(signed) => {
            tsig::sign_answer(&mut message, &signed.key, &signed.mac, true, now);
        }
        ErrorTsig::Error(refused) => tsig::append_error(&mut message, refused, now),
    }
    message
}

#[cfg(test)]
#[path = "out_tests.rs"]
mod tests;
