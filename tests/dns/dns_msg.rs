//! Self-check of the message helpers on literal bytes.

use crate::support::dns::msg::*;

/// A reply for `WWW.example.test. MX` with a compressed owner, MX target and SOA, and
/// an OPT record carrying extended rcode 1 (BADVERS with header rcode 0).
const REPLY: &[u8] = &[
    0x12, 0x34, 0x84, 0x00, 0, 1, 0, 1, 0, 1, 0, 1, // header: QR AA, 1/1/1/1
    3, b'W', b'W', b'W', 7, b'e', b'x', b'a', b'm', b'p', b'l', b'e', 4, b't', b'e', b's', b't', 0,
    0, 15, 0, 1, // question at 12: WWW.example.test. MX IN
    0xc0, 12, 0, 15, 0, 1, 0, 0, 0x0e, 0x10, 0, 7, 0, 10, 2, b'M', b'x', 0xc0,
    16, // MX 10 Mx.example.test.
    0xc0, 16, 0, 6, 0, 1, 0, 0, 1, 44, 0, 27, 2, b'n', b's', 0xc0, 16, 0xc0,
    16, // SOA ns. example.test.
    0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5, // SOA numbers
    0, 0, 41, 4, 0xd0, 1, 0, 0x80, 0, 0, 4, 0, 10, 0, 0, // OPT 1232, ext 1, DO, cookie opt
];

#[test]
fn parses_a_compressed_reply() {
    let message = Message::parse(REPLY).expect("parses");
    assert_eq!(message.id, 0x1234);
    assert!(message.flag(FLAG_QR) && message.flag(FLAG_AA) && !message.flag(FLAG_TC));
    assert_eq!(message.rcode(), 16);
    assert_eq!(message.question_bytes, &REPLY[12..34]);
    assert_eq!(name_to_text(&message.questions[0].0), "WWW.example.test.");
    let mx = &message.answer[0];
    assert_eq!(name_to_text(&mx.owner), "www.example.test.");
    assert_eq!((mx.rtype, mx.class, mx.ttl), (TYPE_MX, 1, 3600));
    let mut expected = vec![0, 10];
    expected.extend(name_to_wire("mx.example.test.").unwrap());
    assert_eq!(mx.rdata, expected);
    let soa = &message.authority[0];
    assert_eq!(&soa.rdata[..4], b"\x02ns\x07");
    assert_eq!(soa.rdata.len(), 17 + 14 + 20);
    let opt = &message.opts[0];
    assert_eq!((opt.udp_size, opt.version, opt.dnssec_ok), (1232, 0, true));
    assert_eq!(opt.options, vec![(10, Vec::new())]);
    assert!(message.additional.is_empty());
}

#[test]
fn rejects_forward_pointers_and_truncation() {
    let mut looping = REPLY[..34].to_vec();
    looping[12] = 0xc0;
    looping[13] = 12;
    assert!(Message::parse(&looping).is_err());
    assert!(Message::parse(&REPLY[..REPLY.len() - 1]).is_err());
    assert!(Message::parse(&REPLY[..11]).is_err());
}

#[test]
fn builds_queries_with_odd_fields() {
    let query = QuerySpec {
        id: 7,
        flags: FLAG_RD,
        opcode: 5,
        qname: name_to_wire("A.b.").unwrap(),
        qtype: type_from_text("type65400").unwrap(),
        qclass: class_from_text("CH").unwrap(),
        qdcount: 2,
        edns: vec![EdnsSpec {
            udp_size: 4096,
            version: 1,
            dnssec_ok: true,
            options: vec![(65001, vec![0xab])],
        }],
    };
    let wire = query.to_wire();
    assert_eq!(&wire[..12], &[0, 7, 0x29, 0, 0, 2, 0, 0, 0, 0, 0, 1]);
    assert_eq!(&wire[12..21], &[1, b'A', 1, b'b', 0, 0xff, 0x78, 0, 3]);
    let parsed = Message::parse(&wire).expect("own query parses");
    assert_eq!(parsed.questions.len(), 2);
    assert_eq!(parsed.opcode(), 5);
    assert_eq!(parsed.opts[0].options, vec![(65001, vec![0xab])]);
    assert_eq!(parsed.opts[0].version, 1);
}
