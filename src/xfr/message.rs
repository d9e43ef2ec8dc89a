//! The DNS messages of zone transfers: building the SOA, IXFR and AXFR queries, and reading
//! an answer into its header, question and records (owner names decompressed, RDATA made
//! uncompressed with the `domain` crate's record parsers), with the offset of the TSIG
//! record for verification. No I/O.

use crate::name::{Name, MAX_NAME_LEN};
use crate::wire::rtype;
use crate::zone::Record;
use domain::base::iana::Rtype;
use domain::base::name::ParsedName;
use domain::base::rdata::{ComposeRecordData, ParseRecordData};
use domain::dep::octseq::Parser;
use domain::rdata::ZoneRecordData;

/// Class IN.
pub const CLASS_IN: u16 = 1;
/// The QR flag: the message is an answer.
const QR: u16 = 0x8000;
/// The opcode bits.
const OPCODE_MASK: u16 = 0x7800;

/// A query for `qtype` of `origin`; an IXFR query carries `soa` (our SOA record) in its
/// authority section (RFC 1995 section 3).
pub fn query(id: u16, origin: &Name, qtype: u16, soa: Option<&Record>) -> Vec<u8> {
    let mut message = Vec::with_capacity(64);
    message.extend_from_slice(&id.to_be_bytes());
    message.extend_from_slice(&0u16.to_be_bytes());
    message.extend_from_slice(&1u16.to_be_bytes());
    message.extend_from_slice(&0u16.to_be_bytes());
    message.extend_from_slice(&u16::from(soa.is_some()).to_be_bytes());
    message.extend_from_slice(&0u16.to_be_bytes());
    message.extend_from_slice(origin.as_wire());
    message.extend_from_slice(&qtype.to_be_bytes());
    message.extend_from_slice(&CLASS_IN.to_be_bytes());
    if let Some(soa) = soa {
        message.extend_from_slice(soa.owner.as_wire());
        message.extend_from_slice(&rtype::SOA.to_be_bytes());
        message.extend_from_slice(&CLASS_IN.to_be_bytes());
        message.extend_from_slice(&soa.ttl.to_be_bytes());
        message.extend_from_slice(&(soa.rdata.len() as u16).to_be_bytes());
        message.extend_from_slice(&soa.rdata);
    }
    message
}

/// An answer as read: what the transfer client checks and the records it keeps.
#[derive(Debug)]
pub struct Answer {
    pub id: u16,
    pub flags: u16,
    /// The question, when there is one.
    pub question: Option<(Name, u16)>,
    /// The answer section's records of class IN, in order.
    pub records: Vec<Record>,
    /// Where the last additional record starts (the TSIG record of a signed message).
    pub last_additional_at: Option<usize>,
}

impl Answer {
    /// The low four bits of the rcode (a TSIG error is in the TSIG record).
    pub fn rcode(&self) -> u16 {
        self.flags & 0x000f
    }

    pub fn is_response(&self) -> bool {
        self.flags & QR != 0
    }

    pub fn opcode(&self) -> u16 {
        (self.flags & OPCODE_MASK) >> 11
    }
}

/// Reads `message`; the error says what is wrong with it. Records of another class than IN
/// in the answer section are refused, as are records whose RDATA is not valid for their type.
pub fn read_answer(message: &[u8]) -> Result<Answer, String> {
    let header = message
        .get(..12)
        .ok_or("shorter than a DNS header (12 bytes)")?;
    let word = |i: usize| u16::from_be_bytes([header[i], header[i + 1]]);
    let (id, flags) = (word(0), word(2));
    let counts = [word(4), word(6), word(8), word(10)];
    let mut at = 12;
    let mut question = None;
    for _ in 0..counts[0] {
        let (name, end) = read_name(message, at)?;
        let fixed = message
            .get(end..end + 4)
            .ok_or("the question is cut short")?;
        question = Some((name, u16::from_be_bytes([fixed[0], fixed[1]])));
        at = end + 4;
    }
    let mut records = Vec::with_capacity(usize::from(counts[1]));
    let mut last_additional_at = None;
    for (section, &count) in counts[1..].iter().enumerate() {
        for _ in 0..count {
            let start = at;
            let (owner, end) = read_name(message, at)?;
            let fixed = message.get(end..end + 10).ok_or("a record is cut short")?;
            let field = |i: usize| u16::from_be_bytes([fixed[i], fixed[i + 1]]);
            let (record_type, class) = (field(0), field(2));
            let ttl = u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]);
            let rdlen = usize::from(field(8));
            let rdata_at = end + 10;
            if message.len() < rdata_at + rdlen {
                return Err("a record's data runs past the end of the message".into());
            }
            at = rdata_at + rdlen;
            match section {
                0 => {
                    if class != CLASS_IN {
                        return Err(format!(
                            "{owner} {}: class {class} is not IN",
                            Rtype::from_int(record_type)
                        ));
                    }
                    let rdata = uncompressed_rdata(message, record_type, rdata_at, rdlen)?;
                    records.push(Record {
                        owner,
                        rtype: record_type,
                        ttl,
                        rdata,
                        line: 0,
                    });
                }
                2 => last_additional_at = Some(start),
                _ => {}
            }
        }
    }
    if at != message.len() {
        return Err("bytes after the last record".into());
    }
    Ok(Answer {
        id,
        flags,
        question,
        records,
        last_additional_at,
    })
}

/// The name at `at`, following compression pointers (each must point backwards), and
/// where it ends in place.
pub(crate) fn read_name(message: &[u8], at: usize) -> Result<(Name, usize), String> {
    let mut wire = Vec::with_capacity(32);
    let mut pos = at;
    let mut end = None;
    loop {
        let len = *message
            .get(pos)
            .ok_or("a name runs past the end of the message")?;
        match len {
            0 => {
                wire.push(0);
                let end = end.unwrap_or(pos + 1);
                let name = Name::from_wire(&wire).ok_or("a name is not valid")?;
                return Ok((name, end));
            }
            1..=63 => {
                let label = message
                    .get(pos..pos + 1 + usize::from(len))
                    .ok_or("a label runs past the end of the message")?;
                wire.extend_from_slice(label);
                if wire.len() + 1 > MAX_NAME_LEN {
                    return Err("a name is longer than 255 bytes".into());
                }
                pos += 1 + usize::from(len);
            }
            0xc0..=0xff => {
                let low = *message.get(pos + 1).ok_or("a pointer is cut short")?;
                let target = usize::from(len & 0x3f) << 8 | usize::from(low);
                if target >= pos {
                    return Err("a compression pointer points forward".into());
                }
                end.get_or_insert(pos + 2);
                pos = target;
            }
            _ => return Err("a label has an unknown type".into()),
        }
    }
}

/// The RDATA at `at` with any compressed names in it written out in full; refused when it
/// is not valid for its type.
pub(crate) fn uncompressed_rdata(
    message: &[u8],
    record_type: u16,
    at: usize,
    len: usize,
) -> Result<Vec<u8>, String> {
    let rtype = Rtype::from_int(record_type);
    let bad = || format!("{rtype} data is not valid");
    let mut parser = Parser::from_ref(message);
    parser.advance(at).map_err(|_| bad())?;
    let mut rdata = parser.parse_parser(len).map_err(|_| bad())?;
    let parsed = ZoneRecordData::<&[u8], ParsedName<&[u8]>>::parse_rdata(rtype, &mut rdata)
        .map_err(|_| bad())?;
    if rdata.remaining() != 0 {
        return Err(bad());
    }
    match parsed {
        Some(data) => {
            let mut out = Vec::with_capacity(len);
            let _ = data.compose_rdata(&mut out);
            Ok(out)
        }
        None => Ok(message[at..at + len].to_vec()),
    }
}

/// The serial of an SOA record's RDATA (after the two names).
pub fn soa_serial(rdata: &[u8]) -> Option<u32> {
    soa_field(rdata, 0)
}

/// SOA field `index` after the names: 0 serial, 1 refresh, 2 retry, 3 expire, 4 minimum.
pub fn soa_field(rdata: &[u8], index: usize) -> Option<u32> {
    let mname = crate::name::wire_name_len(rdata)?;
    let rname = crate::name::wire_name_len(rdata.get(mname..)?)?;
    let at = mname + rname + 4 * index;
    let b = rdata.get(at..at + 4)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

#[cfg(test)]
#[path = "message_tests.rs"]
mod tests;
