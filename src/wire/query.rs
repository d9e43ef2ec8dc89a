//! Parsing a query in place: header checks, the one question (its name lowercased into a
//! caller buffer) and the EDNS OPT record, if any.

use super::record::read_record;
use super::{get_u16, header, rtype, Header, OptRecord, OptRepr};
use crate::name::{MAX_LABEL_LEN, MAX_NAME_LEN};

/// A parsed query: everything the engine needs, borrowing only the OPT record's options
/// from the packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Query<'a> {
    pub id: u16,
    pub flags: u16,
    /// Length of the question name in wire form; the name's lowercase bytes are in the
    /// caller's buffer, its original bytes at `packet[12..12 + qname_len]`.
    pub qname_len: usize,
    pub qtype: u16,
    pub qclass: u16,
    /// The OPT record (EDNS, RFC 6891), if the query has one.
    pub edns: Option<OptRepr<'a>>,
}

impl Query<'_> {
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
pub enum QueryError<'a> {
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
        edns: Option<OptRepr<'a>>,
    },
}

/// Parses `packet` as a query, writing the lowercase question name into `lower_qname`.
pub fn parse_query<'a>(
    packet: &'a [u8],
    lower_qname: &mut [u8; MAX_NAME_LEN],
) -> Result<Query<'a>, QueryError<'a>> {
    let Ok(view) = Header::new_checked(packet) else {
        return Err(QueryError::Unreadable);
    };
    let id = view.id();
    let flags = view.flags();
    if flags & header::QR != 0 {
        return Err(QueryError::Response);
    }
    let malformed = |qname_len, edns| QueryError::Malformed {
        id,
        flags,
        qname_len,
        edns,
    };
    match view.qdcount() {
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

/// The OPT record of a query, if any, or on error the one seen before it, if any.
type EdnsResult<'a> = Result<Option<OptRepr<'a>>, Option<OptRepr<'a>>>;

/// Reads the answer, authority and additional records from `pos` to the end of the packet,
/// returning the OPT record's parameters. On error, returns the OPT seen so far, unless the
/// error is about OPT itself (misplaced, repeated or malformed: then no EDNS is usable).
#[inline]
fn read_records(packet: &[u8], pos: usize) -> EdnsResult<'_> {
    let view = Header::new_unchecked(packet);
    match (view.ancount(), view.nscount(), view.arcount()) {
        // The usual query without EDNS: nothing to walk.
        (0, 0, 0) if pos == packet.len() => Ok(None),
        // The usual query with EDNS: one record, OPT, to the end of the packet.
        (0, 0, 1) => match OptRecord::new_checked(&packet[pos..]) {
            Ok(opt) if opt.total_len() == packet.len() - pos => {
                OptRepr::parse(&opt).map(Some).map_err(|_| None)
            }
            _ => walk_records(packet, pos),
        },
        _ => walk_records(packet, pos),
    }
}

#[inline]
fn walk_records(packet: &[u8], mut pos: usize) -> EdnsResult<'_> {
    let view = Header::new_unchecked(packet);
    let additional_from = usize::from(view.ancount()) + usize::from(view.nscount());
    let records = additional_from + usize::from(view.arcount());
    let mut edns = None;
    for index in 0..records {
        let record = read_record(packet, pos).ok_or(edns)?;
        if record.rtype == rtype::OPT {
            let misplaced = index < additional_from || edns.is_some() || !record.owner_is_root;
            if misplaced {
                return Err(None);
            }
            // read_record has checked that the record lies within the packet, and the root
            // owner makes its fixed part OPT's.
            let opt = OptRepr::parse(&OptRecord::new_unchecked(&packet[pos..record.end]))
                .map_err(|_| None)?;
            edns = Some(opt);
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
        let packet = with_opt(A_QUERY, &[OPT]);
        let q = parse_query(&packet, &mut lower).unwrap();
        assert_eq!(
            q.edns,
            Some(OptRepr {
                udp_size: 1232,
                ext_rcode: 0,
                version: 0,
                dnssec_ok: true,
                options: crate::wire::Options::EMPTY,
            })
        );
    }

    #[test]
    fn parses_edns_options() {
        // A client cookie (code 10, 8 bytes) and a client subnet (code 8: IPv4, /24).
        let opt = b"\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x17\
            \x00\x0a\x00\x08\x01\x02\x03\x04\x05\x06\x07\x08\
            \x00\x08\x00\x07\x00\x01\x18\x00\xc0\x00\x02";
        let packet = with_opt(A_QUERY, &[opt]);
        let q = parse_query(&packet, &mut [0; MAX_NAME_LEN]).unwrap();
        let edns = q.edns.unwrap();
        assert!(!edns.dnssec_ok);
        let codes: Vec<(u16, usize)> = edns
            .options
            .iter()
            .map(|o| (o.code, o.data.len()))
            .collect();
        assert_eq!(codes, [(10, 8), (8, 7)]);
        assert_eq!(
            edns.options.get(crate::wire::opt::code::CLIENT_SUBNET),
            Some(&b"\x00\x01\x18\x00\xc0\x00\x02"[..])
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
