//! Engine tests of DNAME answers (RFC 6672): literal names and records, the reply parsed
//! with the `domain` crate (which follows every compression pointer), against the answers
//! knotd 3.2 gives for the same zone (checked with kdig; see docs/KNOT-COMPARISON.md).

use super::tests::{ask_spin, query, Reply};
use super::*;
use crate::name::Name;
use crate::table::Table;
use std::path::Path;

const LONG_TARGET: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.\
bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.\
ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc.example.test.";

fn zone_text() -> String {
    format!(
        "\
$ORIGIN example.test.
$TTL 3600
@        SOA ns1 hostmaster 1 7200 3600 1209600 300
@        NS  ns1
ns1      A   192.0.2.53
mail     A   192.0.2.25
www      A   192.0.2.1
dn   600 DNAME target
dn       A   192.0.2.70
target   A   192.0.2.72
www.target A 192.0.2.71
alias.target CNAME www
mx.target MX 10 mail
big.target TXT \"{big}\" \"{big}\"
big.target TXT \"{big}\" \"{big}\" \"{big}\"
out      DNAME example.net.
dn2      DNAME dn
dnloop   DNAME dnloop2
dnloop2  DNAME dnloop
dnself   DNAME x.dnself
to-dn    CNAME www.dn
*.wild   TXT \"wild\"
dnwild   DNAME wild
sub      NS  ns.other.test.
dnsub    DNAME sub
long     DNAME {LONG_TARGET}
",
        big = "b".repeat(100)
    )
}

fn table() -> Table {
    let origin = Name::from_text("example.test.").unwrap();
    let text = zone_text();
    let zone = crate::zone::parse_zone(&origin, Path::new("dname.zone"), text.as_bytes()).unwrap();
    Table::compile(&[zone], &[])
}

fn udp(table: &Table, qname: &str, qtype: u16) -> Reply {
    ask_spin(
        table,
        &query(9, qname, qtype, Some(1232)),
        Transport::Udp,
        0,
    )
    .expect("a reply")
}

const DN: &str = "dn.example.test 600 DNAME target.example.test.";

#[test]
fn a_name_below_a_dname_gets_the_dname_the_synthesized_cname_and_the_target_answer() {
    let t = table();
    let r = udp(&t, "www.dn.example.test", rtype::A);
    assert_eq!(r.rcode, rcode::NOERROR);
    assert_eq!(r.flags & header::AA, header::AA);
    assert_eq!(
        r.sections[0],
        [
            DN,
            "www.dn.example.test 600 CNAME www.target.example.test.",
            "www.target.example.test 3600 A 192.0.2.71",
        ]
    );
    assert!(r.sections[1].is_empty() && r.sections[2].is_empty());
}

#[test]
fn deep_below_a_dname_and_nxdomain_after_synthesis() {
    let t = table();
    let r = udp(&t, "a.b.c.www.dn.example.test", rtype::A);
    assert_eq!(r.rcode, rcode::NXDOMAIN);
    assert_eq!(
        r.sections[0],
        [
            DN,
            "a.b.c.www.dn.example.test 600 CNAME a.b.c.www.target.example.test."
        ]
    );
    assert_eq!(
        r.sections[1],
        ["example.test 300 SOA ns1.example.test. hostmaster.example.test. 1 7200 3600 1209600 300"]
    );
}

#[test]
fn the_dname_owner_itself_answers_with_its_own_data() {
    let t = table();
    let r = udp(&t, "dn.example.test", rtype::A);
    assert_eq!(r.sections[0], ["dn.example.test 3600 A 192.0.2.70"]);
    let r = udp(&t, "dn.example.test", rtype::DNAME);
    assert_eq!(r.sections[0], [DN]);
    let r = udp(&t, "dn.example.test", rtype::MX);
    assert!(r.sections[0].is_empty());
    assert_eq!(r.sections[1].len(), 1, "NODATA with the SOA");
}

#[test]
fn qtype_cname_stops_at_the_synthesized_cname_and_qtype_dname_goes_on() {
    let t = table();
    let r = udp(&t, "www.dn.example.test", rtype::CNAME);
    assert_eq!(
        r.sections[0],
        [DN, "www.dn.example.test 600 CNAME www.target.example.test."]
    );
    assert!(r.sections[1].is_empty());
    let r = udp(&t, "www.dn.example.test", rtype::DNAME);
    assert_eq!(r.sections[0].len(), 2);
    assert_eq!(r.sections[1].len(), 1, "NODATA at www.target: the SOA");
}

#[test]
fn the_target_answer_follows_cnames_and_brings_its_additional_records() {
    let t = table();
    let r = udp(&t, "alias.dn.example.test", rtype::A);
    assert_eq!(
        r.sections[0],
        [
            DN,
            "alias.dn.example.test 600 CNAME alias.target.example.test.",
            "alias.target.example.test 3600 CNAME www.example.test.",
            "www.example.test 3600 A 192.0.2.1",
        ]
    );
    let r = udp(&t, "mx.dn.example.test", rtype::MX);
    assert_eq!(
        r.sections[0][2],
        "mx.target.example.test 3600 MX 10 mail.example.test."
    );
    assert_eq!(r.sections[2], ["mail.example.test 3600 A 192.0.2.25"]);
}

#[test]
fn an_out_of_zone_target_ends_with_the_cname() {
    let t = table();
    let r = udp(&t, "www.out.example.test", rtype::A);
    assert_eq!(r.rcode, rcode::NOERROR);
    assert_eq!(
        r.sections[0],
        [
            "out.example.test 3600 DNAME example.net.",
            "www.out.example.test 3600 CNAME www.example.net."
        ]
    );
}

#[test]
fn a_synthesized_name_over_255_octets_is_yxdomain_with_the_dname() {
    let t = table();
    let fits = udp(&t, "x.long.example.test", rtype::A);
    assert_eq!(fits.rcode, rcode::NXDOMAIN);
    assert_eq!(fits.sections[0].len(), 2);
    let label = "y".repeat(50);
    let r = udp(&t, &format!("{label}.long.example.test"), rtype::A);
    assert_eq!(r.rcode, rcode::YXDOMAIN);
    assert_eq!(
        r.sections[0],
        [format!("long.example.test 3600 DNAME {LONG_TARGET}")]
    );
    assert!(r.sections[1].is_empty());
}

#[test]
fn dname_chains_wildcards_and_delegations_behind_a_dname() {
    let t = table();
    let r = udp(&t, "www.dn2.example.test", rtype::A);
    assert_eq!(
        r.sections[0],
        [
            "dn2.example.test 3600 DNAME dn.example.test.",
            "www.dn2.example.test 3600 CNAME www.dn.example.test.",
            DN,
            "www.dn.example.test 600 CNAME www.target.example.test.",
            "www.target.example.test 3600 A 192.0.2.71",
        ]
    );
    let r = udp(&t, "foo.dnwild.example.test", rtype::TXT);
    assert_eq!(
        r.sections[0][2], "foo.wild.example.test 3600 TXT \"wild\"",
        "the wildcard's records are owned by the synthesized name"
    );
    let r = udp(&t, "a.dnsub.example.test", rtype::A);
    assert_eq!(r.flags & header::AA, header::AA);
    assert_eq!(r.sections[0].len(), 2);
    assert_eq!(r.sections[1], ["sub.example.test 3600 NS ns.other.test."]);
}

#[test]
fn a_cname_to_a_name_below_a_dname_is_followed_at_compile_time() {
    let t = table();
    let r = udp(&t, "to-dn.example.test", rtype::A);
    assert_eq!(
        r.sections[0],
        [
            "to-dn.example.test 3600 CNAME www.dn.example.test.",
            DN,
            "www.dn.example.test 600 CNAME www.target.example.test.",
            "www.target.example.test 3600 A 192.0.2.71",
        ]
    );
}

#[test]
fn loops_stop_after_five_redirections_writing_each_dname_once() {
    let t = table();
    let r = udp(&t, "x.dnloop.example.test", rtype::A);
    assert_eq!(r.rcode, rcode::NOERROR);
    assert_eq!(
        r.sections[0],
        [
            "dnloop.example.test 3600 DNAME dnloop2.example.test.",
            "x.dnloop.example.test 3600 CNAME x.dnloop2.example.test.",
            "dnloop2.example.test 3600 DNAME dnloop.example.test.",
            "x.dnloop2.example.test 3600 CNAME x.dnloop.example.test.",
            "x.dnloop.example.test 3600 CNAME x.dnloop2.example.test.",
            "x.dnloop2.example.test 3600 CNAME x.dnloop.example.test.",
            "x.dnloop.example.test 3600 CNAME x.dnloop2.example.test.",
        ]
    );
    let r = udp(&t, "y.dnself.example.test", rtype::A);
    assert_eq!(r.sections[0].len(), 6);
    assert_eq!(
        r.sections[0][5],
        "y.x.x.x.x.dnself.example.test 3600 CNAME y.x.x.x.x.x.dnself.example.test."
    );
}

#[test]
fn the_dname_owner_points_into_the_question_as_asked_and_the_target_is_lowercase() {
    let t = table();
    let q = query(3, "WwW.Dn.example.test", rtype::A, None);
    let r = ask_spin(&t, &q, Transport::Udp, 0).unwrap();
    let start = q.len();
    // The DNAME's owner points at "Dn" in the question (offset 12 + 4); the CNAME's owner
    // at the question name (12).
    assert_eq!(&r.bytes[start..start + 2], b"\xc0\x10");
    let cname = start + 2 + 10 + "target.example.test".len() + 2;
    assert_eq!(&r.bytes[cname..cname + 2], b"\xc0\x0c");
    assert_eq!(&r.bytes[cname + 12..cname + 16], b"\x03www");
    assert_eq!(
        r.sections[0][1],
        "WwW.Dn.example.test 600 CNAME www.target.example.test."
    );
}

#[test]
fn a_target_answer_too_big_for_udp_is_cut_with_tc() {
    let t = table();
    let q = query(4, "big.dn.example.test", rtype::TXT, None);
    let r = ask_spin(&t, &q, Transport::Udp, 0).unwrap();
    assert!(r.bytes.len() <= 512);
    assert_eq!(r.flags & header::TC, header::TC);
    assert_eq!(
        r.sections[0],
        [DN, "big.dn.example.test 600 CNAME big.target.example.test."]
    );
    let r = ask_spin(&t, &q, Transport::Tcp, 0).unwrap();
    assert_eq!(r.flags & header::TC, 0);
    assert_eq!(r.sections[0].len(), 4);
}

#[test]
fn every_name_below_one_dname_shares_one_answer_identity() {
    let t = table();
    let identity = |qname: &str| {
        let mut out = [0u8; UDP_REPLY_BUF];
        match answer(
            &query(1, qname, rtype::A, None),
            &t,
            Transport::Udp,
            0,
            Client::Unknown,
            &mut out,
        ) {
            Outcome::Reply { answer, .. } => answer,
            Outcome::Drop(_) => panic!("dropped"),
        }
    };
    assert_eq!(identity("a.dn.example.test"), identity("b.dn.example.test"));
    assert_ne!(
        identity("a.dn.example.test"),
        identity("a.out.example.test")
    );
}
