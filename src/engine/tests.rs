//! Engine tests: queries of literal bytes against a compiled test zone, replies checked
//! byte for byte where it matters and parsed with the `domain` crate otherwise.

use super::*;
use crate::name::Name;
use crate::table::Table;
use crate::wire::opt;
use domain::base::{Message, ParsedName};
use domain::rdata::AllRecordData;
use std::path::Path;

const ZONE: &str = "\
$ORIGIN example.test.
$TTL 3600
@        IN SOA ns1 hostmaster 1 7200 3600 1209600 300
@        NS  ns1
@        NS  ns2.elsewhere.test.
@        MX  10 mail
ns1      A   192.0.2.53
mail     A   192.0.2.25
www      A   192.0.2.1
www      A   192.0.2.2
www      AAAA 2001:db8::1
alias    CNAME www
loop1    CNAME loop2
loop2    CNAME loop1
out      CNAME www.other.test.
*.wild   TXT \"wild\"
*.cw     CNAME www
a.b.c    A   192.0.2.9
sub      NS  ns.sub
sub      NS  ns.elsewhere.test.
sub      DS  12345 8 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF
ns.sub   A   192.0.2.99
big      TXT \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"
big      TXT \"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\"
big      TXT \"cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc\"
";

fn table() -> Table {
    let origin = Name::from_text("example.test.").unwrap();
    let zone =
        crate::zone::parse_zone(&origin, Path::new("example.test.zone"), ZONE.as_bytes()).unwrap();
    Table::compile(&[zone], &[])
}

pub(super) fn query(id: u16, qname: &str, qtype: u16, edns: Option<u16>) -> Vec<u8> {
    let mut q = id.to_be_bytes().to_vec();
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, u8::from(edns.is_some())]);
    for label in qname.trim_end_matches('.').split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.push(0);
    q.extend_from_slice(&qtype.to_be_bytes());
    q.extend_from_slice(&[0, 1]);
    if let Some(size) = edns {
        q.extend_from_slice(&[0, 0, 41]);
        q.extend_from_slice(&size.to_be_bytes());
        q.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    }
    q
}

/// A parsed reply: flags word, and each section as "owner TTL TYPE RDATA" lines.
pub(super) struct Reply {
    pub bytes: Vec<u8>,
    pub flags: u16,
    pub rcode: u16,
    pub sections: [Vec<String>; 3],
}

fn ask(table: &Table, packet: &[u8], transport: Transport) -> Option<Reply> {
    ask_spin(table, packet, transport, 0)
}

pub(super) fn ask_spin(
    table: &Table,
    packet: &[u8],
    transport: Transport,
    spin: u32,
) -> Option<Reply> {
    let mut out = vec![0u8; TCP_REPLY_BUF];
    let out_len = if transport == Transport::Udp {
        UDP_REPLY_BUF
    } else {
        TCP_REPLY_BUF
    };
    match answer(
        packet,
        table,
        transport,
        spin,
        Client::Unknown,
        &mut out[..out_len],
    ) {
        Outcome::Drop(_) => None,
        Outcome::Reply { len, rcode, .. } => {
            let bytes = out[..len].to_vec();
            let msg = Message::from_octets(bytes.clone()).expect("reply parses");
            let mut sections: [Vec<String>; 3] = Default::default();
            let parts = [
                msg.answer().unwrap(),
                msg.authority().unwrap(),
                msg.additional().unwrap(),
            ];
            for (i, part) in parts.into_iter().enumerate() {
                for rr in part.limit_to::<AllRecordData<_, ParsedName<_>>>() {
                    let rr = rr.expect("record parses");
                    if rr.rtype() != domain::base::iana::Rtype::OPT {
                        sections[i].push(format!(
                            "{} {} {} {}",
                            rr.owner(),
                            rr.ttl().as_secs(),
                            rr.rtype(),
                            rr.data()
                        ));
                    }
                }
            }
            assert_eq!(msg.header_counts().qdcount(), 1);
            Some(Reply {
                flags: crate::wire::get_u16(&bytes, 2),
                rcode,
                bytes,
                sections,
            })
        }
    }
}

fn udp(table: &Table, qname: &str, qtype: u16) -> Reply {
    ask(table, &query(7, qname, qtype, Some(1232)), Transport::Udp).expect("a reply")
}

#[test]
fn exact_hit_echoes_question_and_is_authoritative() {
    let t = table();
    let q = query(0xbeef, "WwW.Example.TEST", rtype::A, None);
    let r = ask(&t, &q, Transport::Udp).unwrap();
    assert_eq!(&r.bytes[..2], b"\xbe\xef");
    assert_eq!(
        &r.bytes[12..q.len()],
        &q[12..],
        "question echoed byte for byte"
    );
    assert_eq!(r.flags, header::QR | header::AA | header::RD);
    assert_eq!(
        r.sections[0],
        [
            "WwW.Example.TEST 3600 A 192.0.2.1",
            "WwW.Example.TEST 3600 A 192.0.2.2"
        ]
    );
    assert!(r.sections[1].is_empty() && r.sections[2].is_empty());
    assert_eq!(
        r.bytes.len(),
        q.len() + 2 * 16,
        "owner names compressed to the question"
    );
}

#[test]
fn negative_answers_carry_the_soa_with_the_minimum_ttl() {
    let t = table();
    let nx = udp(&t, "nope.example.test", rtype::A);
    assert_eq!(nx.rcode, rcode::NXDOMAIN);
    assert_eq!(nx.flags & header::AA, header::AA);
    assert!(nx.sections[0].is_empty());
    assert_eq!(nx.sections[1], ["example.test 300 SOA ns1.example.test. hostmaster.example.test. 1 7200 3600 1209600 300"]);
    let deep = udp(&t, "x.y.z.nope.example.test", rtype::A);
    assert_eq!(
        deep.sections[1], nx.sections[1],
        "relocated pointers follow the question length"
    );
    let nodata = udp(&t, "www.example.test", rtype::MX);
    assert_eq!(
        (nodata.rcode, nodata.sections[1].len()),
        (rcode::NOERROR, 1)
    );
    let ent = udp(&t, "b.c.example.test", rtype::A);
    assert_eq!(
        (ent.rcode, ent.sections[0].len(), ent.sections[1].len()),
        (rcode::NOERROR, 0, 1),
        "empty non-terminal is NODATA"
    );
}

#[test]
fn cname_chains_are_followed_inside_the_zone_and_stop_on_loops() {
    let t = table();
    let r = udp(&t, "alias.example.test", rtype::A);
    assert_eq!(
        r.sections[0],
        [
            "alias.example.test 3600 CNAME www.example.test.",
            "www.example.test 3600 A 192.0.2.1",
            "www.example.test 3600 A 192.0.2.2"
        ]
    );
    let r = udp(&t, "alias.example.test", rtype::CNAME);
    assert_eq!(r.sections[0].len(), 1);
    let r = udp(&t, "loop1.example.test", rtype::A);
    assert_eq!(r.sections[0].len(), 2);
    assert_eq!(r.rcode, rcode::NOERROR);
    let r = udp(&t, "out.example.test", rtype::A);
    assert_eq!(
        r.sections[0],
        ["out.example.test 3600 CNAME www.other.test."]
    );
    assert!(r.sections[1].is_empty());
}

#[test]
fn wildcards_synthesise_the_question_name() {
    let t = table();
    let r = udp(&t, "Some.Long.Name.wild.example.test", rtype::TXT);
    assert_eq!(
        r.sections[0],
        ["Some.Long.Name.wild.example.test 3600 TXT \"wild\""]
    );
    let r = udp(&t, "x.cw.example.test", rtype::A);
    assert_eq!(
        r.sections[0][0],
        "x.cw.example.test 3600 CNAME www.example.test."
    );
    assert_eq!(r.sections[0].len(), 3);
    let r = udp(&t, "x.wild.example.test", rtype::A);
    assert_eq!(
        (r.rcode, r.sections[0].len(), r.sections[1].len()),
        (rcode::NOERROR, 0, 1)
    );
    let r = udp(&t, "x.a.b.c.example.test", rtype::A);
    assert_eq!(
        r.rcode,
        rcode::NXDOMAIN,
        "no wildcard at the closest encloser"
    );
}

#[test]
fn delegations_refer_with_glue_and_ds_is_answered_by_the_parent() {
    let t = table();
    let r = udp(&t, "host.deep.sub.example.test", rtype::A);
    assert_eq!(r.flags & header::AA, 0);
    assert_eq!(r.rcode, rcode::NOERROR);
    assert!(r.sections[0].is_empty());
    assert_eq!(
        r.sections[1],
        [
            "sub.example.test 3600 NS ns.sub.example.test.",
            "sub.example.test 3600 NS ns.elsewhere.test."
        ]
    );
    assert_eq!(r.sections[2], ["ns.sub.example.test 3600 A 192.0.2.99"]);
    let ds = udp(&t, "sub.example.test", rtype::DS);
    assert_eq!(ds.flags & header::AA, header::AA);
    assert_eq!(ds.sections[0].len(), 1);
    let ns = udp(&t, "sub.example.test", rtype::NS);
    assert_eq!(ns.flags & header::AA, 0, "NS at the cut is a referral");
}

#[test]
fn apex_ns_and_mx_get_additional_addresses() {
    let t = table();
    let r = udp(&t, "example.test", rtype::MX);
    assert_eq!(r.sections[2], ["mail.example.test 3600 A 192.0.2.25"]);
    let r = udp(&t, "example.test", rtype::NS);
    assert_eq!(r.sections[2], ["ns1.example.test 3600 A 192.0.2.53"]);
}

#[test]
fn errors_and_drops() {
    let t = table();
    assert_eq!(udp(&t, "www.other.test", rtype::A).rcode, rcode::REFUSED);
    let mut notify = query(1, "example.test", rtype::SOA, None);
    notify[2] = 0x20; // opcode 4
    assert_eq!(
        ask(&t, &notify, Transport::Udp).unwrap().rcode,
        rcode::NOTIMP
    );
    let mut two = query(1, "example.test", rtype::SOA, None);
    two[5] = 2;
    let mut out = [0u8; UDP_REPLY_BUF];
    assert!(matches!(
        answer(&two, &t, Transport::Udp, 0, Client::Unknown, &mut out),
        Outcome::Reply {
            rcode: rcode::FORMERR,
            len: 12,
            ..
        }
    ));
    let mut response = query(1, "example.test", rtype::SOA, None);
    response[2] |= 0x80;
    assert_eq!(
        answer(&response, &t, Transport::Udp, 0, Client::Unknown, &mut out),
        Outcome::Drop(DropReason::Response)
    );
    assert_eq!(
        answer(
            &response[..5],
            &t,
            Transport::Udp,
            0,
            Client::Unknown,
            &mut out
        ),
        Outcome::Drop(DropReason::Malformed)
    );
    let mut v1 = query(1, "example.test", rtype::SOA, Some(1232));
    let opt_ttl = v1.len() - 5;
    v1[opt_ttl] = 1; // EDNS version 1
    let Outcome::Reply {
        len, rcode: code, ..
    } = answer(&v1, &t, Transport::Udp, 0, Client::Unknown, &mut out)
    else {
        panic!()
    };
    assert_eq!(code, rcode::BADVERS);
    assert_eq!(
        &out[len - 6..len - 4],
        [1, 0],
        "extended rcode 1, version 0"
    );
}

#[test]
fn oversized_answers_truncate_on_udp_and_fit_on_tcp() {
    let t = table();
    let plain = query(9, "big.example.test", rtype::TXT, None);
    let r = ask(&t, &plain, Transport::Udp).unwrap();
    assert_eq!(r.flags & header::TC, header::TC);
    assert!(r.bytes.len() <= 512);
    assert!(r.sections[0].len() < 3);
    let r = ask(
        &t,
        &query(9, "big.example.test", rtype::TXT, Some(1232)),
        Transport::Udp,
    )
    .unwrap();
    assert_eq!((r.flags & header::TC, r.sections[0].len()), (0, 3));
    let r = ask(&t, &plain, Transport::Tcp).unwrap();
    assert_eq!((r.flags & header::TC, r.sections[0].len()), (0, 3));
    let r = ask(
        &t,
        &query(9, "big.example.test", rtype::TXT, Some(100)),
        Transport::Udp,
    )
    .unwrap();
    assert!(r.bytes.len() <= 512, "sizes below 512 count as 512");
}

#[test]
fn edns_is_echoed_with_our_size() {
    let t = table();
    let r = udp(&t, "www.example.test", rtype::A);
    let opt = &r.bytes[r.bytes.len() - 11..];
    assert_eq!(opt, [0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]);
}

#[test]
fn slipped_replies_keep_header_question_and_opt_only() {
    let t = table();
    for edns in [None, Some(1232)] {
        let q = query(5, "WWW.example.test", rtype::A, edns);
        let mut out = [0u8; UDP_REPLY_BUF];
        let Outcome::Reply { len, .. } =
            answer(&q, &t, Transport::Udp, 0, Client::Unknown, &mut out)
        else {
            panic!()
        };
        let short = slip(&mut out, len);
        let question_end = q.len() - if edns.is_some() { 11 } else { 0 };
        assert_eq!(short, question_end + if edns.is_some() { 11 } else { 0 });
        assert_eq!(
            &out[12..question_end],
            &q[12..question_end],
            "question kept"
        );
        let flags = crate::wire::get_u16(&out, 2);
        assert_eq!(flags & header::TC, header::TC);
        assert_eq!(&out[6..12], [0, 0, 0, 0, 0, u8::from(edns.is_some())]);
        let msg = Message::from_octets(out[..short].to_vec()).expect("a well-formed message");
        assert_eq!(msg.header().id(), 5);
        assert_eq!(msg.opt().is_some(), edns.is_some());
    }
}

#[test]
fn slipped_replies_keep_an_opt_record_with_options() {
    let t = table();
    let q = query(5, "www.example.test", rtype::A, Some(1232));
    let mut out = [0u8; UDP_REPLY_BUF];
    let Outcome::Reply { len, .. } = answer(&q, &t, Transport::Udp, 0, Client::Unknown, &mut out)
    else {
        panic!()
    };
    // Replace the reply's OPT record with one carrying a cookie.
    let cookie = [crate::wire::EdnsOption {
        code: crate::wire::opt::code::COOKIE,
        data: &[7; 8],
    }];
    let opt = OptRepr {
        udp_size: EDNS_UDP_SIZE,
        ext_rcode: 0,
        version: 0,
        dnssec_ok: false,
        options: Options::list(&cookie),
    };
    let opt_at = len - opt::FIXED_LEN;
    let len = opt_at + opt.emit(&mut out[opt_at..]).unwrap();
    let short = slip(&mut out, len);
    let question_end = q.len() - opt::FIXED_LEN;
    assert_eq!(short, question_end + 23);
    assert_eq!(
        out[question_end..short],
        [0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 12, 0, 10, 0, 8, 7, 7, 7, 7, 7, 7, 7, 7]
    );
    let msg = Message::from_octets(out[..short].to_vec()).expect("a well-formed message");
    assert_eq!(msg.header_counts().arcount(), 1);
    assert_eq!(msg.header_counts().ancount(), 0);
}
