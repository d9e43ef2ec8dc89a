//! Engine tests of a signed zone: without DO the replies are byte for byte those of the
//! unsigned zone; with DO every RRset has its RRSIGs (which verify), NXDOMAIN and
//! wildcard answers carry the NSEC records for the question name, and truncation keeps an
//! RRset and its RRSIGs together.

use super::tests::query;
use super::*;
use crate::dnssec::key::ed25519_test_key;
use crate::dnssec::rrsig::verify_rrset;
use crate::dnssec::{SigningPolicy, ZoneKeys, ZoneSigner};
use crate::name::Name;
use crate::table::Table;
use crate::wire::get_u16;
use domain::base::{Message, UnknownRecordData};
use std::path::Path;
use std::sync::Arc;

const ZONE: &str = "\
$ORIGIN example.test.
$TTL 3600
@        IN SOA ns1 hostmaster 1 7200 3600 1209600 300
@        NS  ns1
ns1      A   192.0.2.53
www      A   192.0.2.1
www      A   192.0.2.2
*.wild   TXT \"wild\"
a.b.c    A   192.0.2.9
sub      NS  ns.sub
ns.sub   A   192.0.2.99
big      TXT \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"
big      TXT \"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\"
big      AAAA 2001:db8::1
";

/// The moment the test tables are signed for.
const NOW: u64 = 1_790_000_000;

fn zone() -> crate::zone::Zone {
    let origin = Name::from_text("example.test.").unwrap();
    crate::zone::parse_zone(&origin, Path::new("example.test.zone"), ZONE.as_bytes()).unwrap()
}

fn keys() -> Arc<ZoneKeys> {
    Arc::new(ZoneKeys {
        keys: vec![ed25519_test_key("example.test.", 257, 3)],
    })
}

pub(super) fn policy() -> SigningPolicy {
    SigningPolicy {
        denial: crate::dnssec::DenialKind::Nsec,
        validity: 14 * 86_400,
        refresh: 7 * 86_400,
        cds: false,
    }
}

fn signed_table() -> Table {
    let signer = Arc::new(ZoneSigner::new(keys(), policy(), NOW));
    Table::compile_signed(&[zone()], &[], &[Some(signer)])
}

fn with_do(mut q: Vec<u8>) -> Vec<u8> {
    let flags_at = q.len() - 4;
    q[flags_at] = 0x80;
    q
}

fn reply(table: &Table, q: &[u8], size: usize) -> Vec<u8> {
    let mut out = vec![0u8; size];
    match answer(q, table, Transport::Udp, 0, Client::Unknown, &mut out) {
        Outcome::Reply { len, .. } => out[..len].to_vec(),
        Outcome::Drop(reason) => panic!("dropped: {reason:?}"),
    }
}

/// Every record of a reply's sections: (section, owner, type, rdata).
fn records(bytes: &[u8]) -> Vec<(usize, Name, u16, Vec<u8>)> {
    let msg = Message::from_octets(bytes.to_vec()).unwrap();
    let sections = [
        msg.answer().unwrap(),
        msg.authority().unwrap(),
        msg.additional().unwrap(),
    ];
    let mut out = Vec::new();
    for (i, section) in sections.into_iter().enumerate() {
        for rr in section {
            let rr = rr.unwrap();
            let record = rr.to_record::<UnknownRecordData<_>>().unwrap().unwrap();
            let text = record.owner().to_string();
            let owner = Name::from_text(if text.is_empty() { "." } else { &text }).unwrap();
            let t = record.rtype().to_int();
            out.push((i, owner, t, record.data().data().to_vec()));
        }
    }
    out
}

/// Checks that every RRset of the reply (but OPT, the additional section and a referral's
/// NS) has RRSIGs that verify with the test key; returns how many RRsets were checked.
fn verify_all(bytes: &[u8]) -> usize {
    let key = ed25519_test_key("example.test.", 257, 3);
    let all = records(bytes);
    for (i, record) in all.iter().enumerate() {
        assert!(!all[..i].contains(record), "a record twice: {record:?}");
    }
    let mut checked = 0;
    let mut seen: Vec<(usize, Name, u16)> = Vec::new();
    for (section, owner, t, _) in &all {
        let set = (*section, owner.clone(), *t);
        if [rtype::RRSIG, rtype::OPT].contains(t) || seen.contains(&set) || *section == 2 {
            continue;
        }
        seen.push(set);
        let rdatas: Vec<&[u8]> = (all.iter())
            .filter(|(s, o, rt, _)| s == section && o == owner && rt == t)
            .map(|(_, _, _, r)| r.as_slice())
            .collect();
        let sigs: Vec<&Vec<u8>> = (all.iter())
            .filter(|(s, o, rt, r)| {
                s == section && o == owner && *rt == rtype::RRSIG && r[..2] == t.to_be_bytes()
            })
            .map(|(_, _, _, r)| r)
            .collect();
        if *t == rtype::NS && *section == 1 && owner.as_wire() != b"\x07example\x04test\x00" {
            assert!(sigs.is_empty(), "a referral's NS is not signed");
            continue;
        }
        assert!(!sigs.is_empty(), "{owner} type {t} has no RRSIG");
        // A wildcard answer is signed as the wildcard (the RRSIG's label count says so).
        let labels = sigs[0][3] as usize;
        let signed_owner = match owner.label_count() > labels {
            true => {
                let mut name = owner.clone();
                while name.label_count() > labels {
                    name = name.parent().unwrap();
                }
                name.wildcard_child().unwrap()
            }
            false => owner.clone(),
        };
        // Names inside SOA, NS, MX and CNAME RDATA are compressed in the reply: those sets
        // are only checked for their RRSIGs here (Unbound validates them end to end).
        let compressed = [rtype::SOA, rtype::NS, rtype::MX, rtype::CNAME].contains(t);
        for sig in sigs.iter().filter(|_| !compressed) {
            assert!(
                verify_rrset(&key, sig, &signed_owner, *t, &rdatas),
                "{owner} type {t}: the RRSIG does not verify"
            );
        }
        checked += 1;
    }
    checked
}

#[test]
fn without_do_a_signed_zone_answers_as_the_unsigned_one() {
    let signed = signed_table();
    let unsigned = Table::compile(&[zone()], &[]);
    let cases = [
        ("www.example.test.", rtype::A),
        ("www.example.test.", rtype::TXT),
        ("nope.example.test.", rtype::A),
        ("x.wild.example.test.", rtype::TXT),
        ("x.wild.example.test.", rtype::A),
        ("a.sub.example.test.", rtype::A),
        ("b.c.example.test.", rtype::A),
        ("example.test.", rtype::NS),
    ];
    for (name, t) in cases {
        for edns in [None, Some(1232)] {
            let q = query(7, name, t, edns);
            assert_eq!(
                reply(&signed, &q, UDP_REPLY_BUF),
                reply(&unsigned, &q, UDP_REPLY_BUF),
                "{name} {t} edns {edns:?}"
            );
        }
    }
}

#[test]
fn with_do_every_rrset_is_signed_and_the_signatures_verify() {
    let table = signed_table();
    let cases = [
        ("www.example.test.", rtype::A, 1),
        ("example.test.", rtype::DNSKEY, 1),
        ("www.example.test.", rtype::TXT, 2),
        ("x.wild.example.test.", rtype::TXT, 2),
        ("x.wild.example.test.", rtype::A, 2),
        ("nope.example.test.", rtype::A, 3),
        ("a.sub.example.test.", rtype::A, 1),
        ("c.example.test.", rtype::A, 2),
    ];
    for (name, t, rrsets) in cases {
        let bytes = reply(
            &table,
            &with_do(query(7, name, t, Some(1232))),
            UDP_REPLY_BUF,
        );
        assert_eq!(verify_all(&bytes), rrsets, "{name} {t}");
    }
}

#[test]
fn nxdomain_proves_the_name_and_the_wildcard_absent() {
    let table = signed_table();
    let bytes = reply(
        &table,
        &with_do(query(7, "d.c.example.test.", rtype::A, Some(1232))),
        UDP_REPLY_BUF,
    );
    let nsec: Vec<String> = (records(&bytes).into_iter())
        .filter(|r| r.2 == rtype::NSEC)
        .map(|r| r.1.to_string())
        .collect();
    // d.c sorts after a.b.c's ancestor c (an empty non-terminal: no NSEC), so a.b.c covers
    // it; the wildcard *.c sorts before a.b.c, covered by the NSEC of big.
    assert_eq!(nsec, ["a.b.c.example.test.", "big.example.test."]);
    assert_eq!(get_u16(&bytes, 2) & 0xf, rcode::NXDOMAIN);
}

#[test]
fn truncation_keeps_each_rrset_with_its_rrsigs() {
    let table = signed_table();
    let q = with_do(query(7, "big.example.test.", rtype::TXT, Some(512)));
    let bytes = reply(&table, &q, UDP_REPLY_BUF);
    assert!(bytes.len() <= 512);
    assert_ne!(get_u16(&bytes, 2) & header::TC, 0, "TC is set");
    let all = records(&bytes);
    let txt = all.iter().filter(|r| r.2 == rtype::TXT).count();
    let rrsig = all.iter().filter(|r| r.2 == rtype::RRSIG).count();
    assert_eq!(
        (txt, rrsig),
        (0, 0),
        "the TXT set is left out with its RRSIG"
    );
    let whole = reply(
        &table,
        &with_do(query(7, "big.example.test.", rtype::TXT, Some(1232))),
        UDP_REPLY_BUF,
    );
    assert_eq!(
        get_u16(&whole, 2) & header::TC,
        0,
        "negative control: 1232 bytes hold it"
    );
    assert_eq!(verify_all(&whole), 1);
}

#[test]
fn signatures_carry_the_window_of_the_build() {
    let table = signed_table();
    let bytes = reply(
        &table,
        &with_do(query(7, "www.example.test.", rtype::A, Some(1232))),
        UDP_REPLY_BUF,
    );
    let rrsig = records(&bytes)
        .into_iter()
        .find(|r| r.2 == rtype::RRSIG)
        .unwrap()
        .3;
    let field = |at: usize| u32::from_be_bytes(rrsig[at..at + 4].try_into().unwrap()) as u64;
    assert_eq!(field(8), NOW + 14 * 86_400, "expiration");
    assert_eq!(field(12), NOW - 3600, "inception an hour back");
}
