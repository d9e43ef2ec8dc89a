//! The invariants every engine outcome must meet, checked independently of the engine: when
//! a packet may be dropped, how long a reply may be, and that it is a well-formed DNS
//! message (parsed with the `domain` crate) answering the query.

use crate::engine::{DropReason, Outcome, Transport, EDNS_UDP_SIZE};
use crate::name::MAX_NAME_LEN;
use crate::wire::{self, header, Header, OptRepr, QueryError};
use domain::base::iana::Rtype;
use domain::base::{Message, ParsedName};
use domain::rdata::AllRecordData;

/// Reply limit over UDP without EDNS (RFC 1035).
const CLASSIC_UDP_LIMIT: usize = 512;
/// Reply limit over TCP: the largest message the length prefix can frame.
const TCP_LIMIT: usize = 65535;

/// Checks `outcome`, the engine's answer to `query` over `transport` written into `out`,
/// and returns the reply bytes (`None` for a drop). Panics on any broken invariant: only
/// packets shorter than a header or with QR set are dropped; a reply fits the limit (512
/// without EDNS over UDP, the EDNS size clamped to [512, 1232] with it, 65535 over TCP),
/// parses as a DNS message to its last byte, echoes ID, opcode, RD and the question when
/// there is one, has QR set, carries the rcode it reports (extended through OPT), sets TC
/// exactly when truncated, and has an OPT record exactly when the query's EDNS was read.
pub(super) fn check_reply<'a>(
    query: &[u8],
    transport: Transport,
    outcome: Outcome,
    out: &'a [u8],
) -> Option<&'a [u8]> {
    let readable = query.len() >= header::LEN;
    let query_flags = if readable {
        Header::new_unchecked(query).flags()
    } else {
        0
    };
    let (len, rcode, truncated) = match outcome {
        Outcome::Drop(DropReason::Malformed) => {
            assert!(
                !readable,
                "dropped a packet with a whole header as malformed"
            );
            return None;
        }
        Outcome::Drop(DropReason::Response) => {
            assert!(readable && query_flags & header::QR != 0, "dropped a query");
            return None;
        }
        Outcome::Reply {
            len,
            rcode,
            truncated,
            ..
        } => (len, rcode, truncated),
    };
    assert!(len <= out.len(), "reply longer than its buffer");
    check_reply_bytes(query, transport, &out[..len], rcode, truncated);
    Some(&out[..len])
}

/// Checks a reply that a running server sent over `transport` for `query`, with the same
/// invariants as [`check_reply`]: its rcode (extended through OPT when there is one) and
/// truncation are read from the reply itself.
pub fn check_received_reply(query: &[u8], transport: Transport, reply: &[u8]) {
    assert!(reply.len() >= header::LEN, "reply shorter than a header");
    let message = Message::from_octets(reply).expect("a reply has a header");
    let rcode = message.opt_rcode().to_int();
    let truncated = Header::new_unchecked(reply).flags() & header::TC != 0;
    check_reply_bytes(query, transport, reply, rcode, truncated);
}

/// The invariants of a reply to a query that had to be answered.
fn check_reply_bytes(
    query: &[u8],
    transport: Transport,
    reply: &[u8],
    rcode: u16,
    truncated: bool,
) {
    let readable = query.len() >= header::LEN;
    assert!(readable, "answered a packet shorter than a header");
    let query_flags = Header::new_unchecked(query).flags();
    assert_eq!(query_flags & header::QR, 0, "answered a response");
    let len = reply.len();

    let (qname_len, edns) = expected_question_and_edns(query);
    let limit = match (transport, edns) {
        (Transport::Tcp, _) => TCP_LIMIT,
        (Transport::Udp, None) => CLASSIC_UDP_LIMIT,
        (Transport::Udp, Some(e)) => {
            usize::from(e.udp_size).clamp(CLASSIC_UDP_LIMIT, usize::from(EDNS_UDP_SIZE))
        }
    };
    assert!(
        len <= limit,
        "reply of {len} bytes over the limit of {limit}"
    );
    assert!(len >= header::LEN, "reply shorter than a header");

    assert_eq!(reply[..2], query[..2], "ID echoed");
    let flags = Header::new_unchecked(reply).flags();
    assert_ne!(flags & header::QR, 0, "QR set");
    let echoed = header::OPCODE_MASK | header::RD;
    assert_eq!(flags & echoed, query_flags & echoed, "opcode and RD echoed");
    assert_eq!(flags & header::RCODE_MASK, rcode & header::RCODE_MASK);
    assert_eq!(flags & header::TC != 0, truncated, "TC set when truncated");

    let qdcount = Header::new_unchecked(reply).qdcount();
    if qname_len > 0 {
        assert_eq!(qdcount, 1, "the question is echoed");
        let end = header::LEN + qname_len + 4;
        assert_eq!(reply[header::LEN..end], query[header::LEN..end], "question");
    } else {
        assert_eq!(qdcount, 0, "no question when none was read");
    }
    check_message(reply, rcode, edns.is_some());
}

/// The question length (0 when none is well-formed) and EDNS as the parser sees them.
fn expected_question_and_edns(query: &[u8]) -> (usize, Option<OptRepr<'_>>) {
    match wire::parse_query(query, &mut [0; MAX_NAME_LEN]) {
        Ok(q) => (q.qname_len, q.edns),
        Err(QueryError::Malformed {
            qname_len, edns, ..
        }) => (qname_len, edns),
        Err(other) => panic!("answered a packet the parser rejects as {other:?}"),
    }
}

/// Parses `reply` with the `domain` crate: every question and record parses, the sections
/// end exactly at the end of the message, OPT is there once exactly when `with_opt`, and
/// the full rcode is `rcode`.
fn check_message(reply: &[u8], rcode: u16, with_opt: bool) {
    let message = Message::from_octets(reply).expect("a reply has a header");
    let counts = message.header_counts();
    let mut questions = 0;
    for question in message.question() {
        question.expect("the question parses");
        questions += 1;
    }
    assert_eq!(questions, counts.qdcount());
    let mut section = message.answer().expect("the answer section starts");
    let mut opts = 0;
    for expected in [counts.ancount(), counts.nscount(), counts.arcount()] {
        let mut records = 0;
        for record in &mut section {
            let record = record.expect("a record parses");
            let data = record
                .to_record::<AllRecordData<_, ParsedName<_>>>()
                .expect("its data parses");
            assert!(data.is_some(), "every type is known to AllRecordData");
            opts += usize::from(record.rtype() == Rtype::OPT);
            records += 1;
        }
        assert_eq!(records, expected, "section record count");
        let end = section.pos();
        match section.next_section().expect("the next section starts") {
            Some(next) => section = next,
            None => assert_eq!(end, reply.len(), "no bytes after the last record"),
        }
    }
    assert_eq!(
        opts,
        usize::from(with_opt),
        "OPT exactly when the query had EDNS"
    );
    if with_opt {
        assert_eq!(message.opt_rcode().to_int(), rcode, "extended rcode");
        let opt = message.opt().expect("OPT parses");
        assert_eq!(opt.udp_payload_size(), EDNS_UDP_SIZE);
    } else {
        assert!(rcode < 16, "extended rcode {rcode} without OPT");
    }
}
