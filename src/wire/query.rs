//! Parsing a query in place: header checks, the one question (its name lowercased into a
//! caller buffer) and the EDNS OPT record, if any.

use super::{get_u16, header, rtype};
use crate::name::{MAX_LABEL_LEN, MAX_NAME_LEN};

/// EDNS(0) parameters of a query's OPT record (RFC 6891).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Edns {
    pub udp_size: u16,
    pub version: u8,
    pub dnssec_ok: bool,
}

/// A parsed query: everything the engine needs, borrowed from nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Query {
    pub id: u16,
    pub flags: u16,
    /// Length of the question name in wire form; the name's lowercase bytes are in the
    /// caller's buffer, its original bytes at `packet[12..12 + qname_len]`.
    pub qname_len: usize,
    pub qtype: u16,
    pub qclass: u16,
    pub edns: Option<Edns>,
}

impl Query {
    /// End of the question section in the packet.
    pub fn question_end(&self) -> usize {
        header::LEN + self.qname_len + 4
    }

    pub fn opcode(&self) -> u16 {
        (self.flags & header::OPCODE_MASK) >> 11
    }
}

/// Why a query could not be parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueryError {
    /// Not even a header: no reply possible.
    Unreadable,
    /// QR is set: a response, which is never answered.
    Response,
    /// A readable header but a malformed message: FORMERR. `question_len` is the length of a
    /// well-formed question to echo (0 when there is none), `edns` the OPT seen before the
    /// problem, if any.
    Malformed {
        id: u16,
        flags: u16,
        qname_len: usize,
        edns: Option<Edns>,
    },
}

/// Parses `packet` as a query, writing the lowercase question name into `lower_qname`.
pub fn parse_query(
    packet: &[u8],
    lower_qname: &mut [u8; MAX_NAME_LEN],
) -> Result<Query, QueryError> {
    if packet.len() < header::LEN {
        return Err(QueryError::Unreadable);
    }
    let id = get_u16(packet, header::ID.start);
    let flags = get_u16(packet, header::FLAGS.start);
    if flags & header::QR != 0 {
        return Err(QueryError::Response);
    }
    let malformed = |qname_len, edns| QueryError::Malformed {
        id,
        flags,
        qname_len,
        edns,
    };
    match get_u16(packet, header::QDCOUNT.start) {
        1 => {}
        // No question, but a well-formed OPT record still shapes the FORMERR reply.
        0 => {
            return Err(malformed(
                0,
                read_records(packet, header::LEN).ok().flatten(),
            ))
        }
        _ => return Err(malformed(0, None)),
    }
    let qname_len = read_question_name(packet, lower_qname).ok_or(malformed(0, None))?;
    let fixed = header::LEN + qname_len;
    if packet.len() < fixed + 4 {
        return Err(malformed(0, None));
    }
    let qtype = get_u16(packet, fixed);
    let qclass = get_u16(packet, fixed + 2);
    let edns = read_records(packet, fixed + 4).map_err(|edns| malformed(qname_len, edns))?;
    Ok(Query {
        id,
        flags,
        qname_len,
        qtype,
        qclass,
        edns,
    })
}

/// Reads the answer, authority and additional records from `pos` to the end of the packet,
/// returning the OPT record's parameters. On error, returns the OPT seen so far, unless the
/// error is about OPT itself (misplaced, repeated or malformed: then no EDNS is usable).
fn read_records(packet: &[u8], mut pos: usize) -> Result<Option<Edns>, Option<Edns>> {
    let count = |field: core::ops::Range<usize>| get_u16(packet, field.start) as usize;
    let records = count(header::ANCOUNT) + count(header::NSCOUNT) + count(header::ARCOUNT);
    let additional_from = records - count(header::ARCOUNT);
    let mut edns = None;
    for index in 0..records {
        let record = read_record(packet, pos).ok_or(edns)?;
        if record.rtype == rtype::OPT {
            let misplaced = index < additional_from || edns.is_some() || !record.owner_is_root;
            if misplaced || !options_well_formed(&packet[record.rdata_start..record.end]) {
                return Err(None);
            }
            edns = Some(Edns {
                udp_size: record.class,
                version: (record.ttl >> 16) as u8,
                dnssec_ok: record.ttl & 0x8000 != 0,
            });
        }
        pos = record.end;
    }
    if pos != packet.len() {
        return Err(edns);
    }
    Ok(edns)
}

/// Reads the uncompressed question name at offset 12; returns its wire length.
fn read_question_name(packet: &[u8], lower: &mut [u8; MAX_NAME_LEN]) -> Option<usize> {
    let mut pos = header::LEN;
    let mut len = 0;
    loop {
        let label = *packet.get(pos)? as usize;
        if label > MAX_LABEL_LEN {
            return None; // compression pointer or reserved label type: not in a question
        }
        if len + 1 + label > MAX_NAME_LEN {
            return None;
        }
        let bytes = packet.get(pos..pos + 1 + label)?;
        for (dst, src) in lower[len..len + 1 + label].iter_mut().zip(bytes) {
            *dst = src.to_ascii_lowercase();
        }
        pos += 1 + label;
        len += 1 + label;
        if label == 0 {
            return Some(len);
        }
    }
}

struct RecordView {
    owner_is_root: bool,
    rtype: u16,
    class: u16,
    ttl: u32,
    rdata_start: usize,
    end: usize,
}

/// Skips one resource record at `pos`, checking only that it lies within the packet.
fn read_record(packet: &[u8], pos: usize) -> Option<RecordView> {
    let owner_is_root = *packet.get(pos)? == 0;
    let fixed = skip_name(packet, pos)?;
    let field = packet.get(fixed..fixed + 10)?;
    let rdlen = get_u16(field, 8) as usize;
    let end = fixed + 10 + rdlen;
    if end > packet.len() {
        return None;
    }
    Some(RecordView {
        owner_is_root,
        rtype: get_u16(field, 0),
        class: get_u16(field, 2),
        ttl: u32::from_be_bytes([field[4], field[5], field[6], field[7]]),
        rdata_start: fixed + 10,
        end,
    })
}

/// Returns the offset just past a possibly compressed name, without following pointers.
fn skip_name(packet: &[u8], mut pos: usize) -> Option<usize> {
    let mut total = 0;
    loop {
        let label = *packet.get(pos)? as usize;
        match label {
            0 => return Some(pos + 1),
            1..=MAX_LABEL_LEN => {
                total += 1 + label;
                if total >= MAX_NAME_LEN {
                    return None;
                }
                pos += 1 + label;
            }
            // A pointer must refer to a prior occurrence (RFC 1035 section 4.1.4): one that
            // goes strictly backwards cannot loop, so it need not be followed to skip it.
            0xc0..=0xff => {
                let target = (label & 0x3f) << 8 | *packet.get(pos + 1)? as usize;
                return (target < pos).then_some(pos + 2);
            }
            _ => return None,
        }
    }
}

/// Whether OPT RDATA is a well-formed sequence of (code, length, value) options.
fn options_well_formed(mut rdata: &[u8]) -> bool {
    while !rdata.is_empty() {
        if rdata.len() < 4 {
            return false;
        }
        let len = get_u16(rdata, 2) as usize;
        if rdata.len() < 4 + len {
            return false;
        }
        rdata = &rdata[4 + len..];
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    const A_QUERY: &[u8] =
        b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03WwW\x04test\x00\x00\x01\x00\x01";
    const OPT: &[u8] = b"\x00\x00\x29\x04\xd0\x00\x00\x80\x00\x00\x00";

    fn with_opt(query: &[u8], opts: &[&[u8]]) -> Vec<u8> {
        let mut q = query.to_vec();
        q[11] = opts.len() as u8;
        for o in opts {
            q.extend_from_slice(o);
        }
        q
    }

    #[test]
    fn parses_a_plain_query() {
        let mut lower = [0; MAX_NAME_LEN];
        let q = parse_query(A_QUERY, &mut lower).unwrap();
        assert_eq!(q.id, 0x1234);
        assert_eq!(q.qname_len, 10);
        assert_eq!(&lower[..10], b"\x03www\x04test\x00");
        assert_eq!((q.qtype, q.qclass, q.edns), (1, 1, None));
        assert_eq!(q.question_end(), A_QUERY.len());
    }

    #[test]
    fn parses_edns() {
        let mut lower = [0; MAX_NAME_LEN];
        let q = parse_query(&with_opt(A_QUERY, &[OPT]), &mut lower).unwrap();
        assert_eq!(
            q.edns,
            Some(Edns {
                udp_size: 1232,
                version: 0,
                dnssec_ok: true
            })
        );
    }

    #[test]
    fn refuses_what_is_malformed() {
        let mut lower = [0; MAX_NAME_LEN];
        assert_eq!(
            parse_query(&A_QUERY[..11], &mut lower),
            Err(QueryError::Unreadable)
        );
        let mut response = A_QUERY.to_vec();
        response[2] |= 0x80;
        assert_eq!(
            parse_query(&response, &mut lower),
            Err(QueryError::Response)
        );
        let formerr = |packet: &[u8]| {
            matches!(
                parse_query(packet, &mut [0; MAX_NAME_LEN]),
                Err(QueryError::Malformed { .. })
            )
        };
        assert!(formerr(&A_QUERY[..A_QUERY.len() - 1]), "truncated question");
        assert!(formerr(&with_opt(A_QUERY, &[OPT, OPT])), "two OPT records");
        let mut two = A_QUERY.to_vec();
        two[5] = 2;
        assert!(formerr(&two), "QDCOUNT 2");
        let mut pointer = A_QUERY[..12].to_vec();
        pointer.extend_from_slice(b"\xc0\x0c\x00\x01\x00\x01");
        assert!(formerr(&pointer), "compression pointer in the question");
        assert!(
            formerr(&with_opt(
                A_QUERY,
                &[b"\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x02\x00\x01"]
            )),
            "broken option"
        );
        for owner in [b"\xc0\x22", b"\xc0\xff"] {
            let mut record = with_opt(A_QUERY, &[]);
            record[11] = 1;
            record.extend_from_slice(owner);
            record.extend_from_slice(b"\x00\x01\x00\x01\x00\x00\x00\x00\x00\x04\x00\x00\x00\x00");
            assert!(
                formerr(&record),
                "a pointer to itself or forward: {owner:?}"
            );
        }
        let mut backward = with_opt(A_QUERY, &[]);
        backward[11] = 1;
        backward
            .extend_from_slice(b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x00\x00\x04\x00\x00\x00\x00");
        assert!(
            parse_query(&backward, &mut lower).is_ok(),
            "a backward pointer is fine"
        );
        let mut trailing = A_QUERY.to_vec();
        trailing.push(0);
        assert!(formerr(&trailing), "trailing bytes");
    }
}
