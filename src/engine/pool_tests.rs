//! Engine tests of pool answers: a pool's name and the CNAMEs that lead to it answer with
//! the pool's current addresses, spread as its policy says, and a new pool answer changes
//! only what it should.

use super::tests::{ask_spin, query, Reply};
use super::*;
use crate::app::check_pools_against_zones;
use crate::name::Name;
use crate::table::{PoolAnswer, PoolDef, Served, Spread, Table};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;

const ZONE: &str = "\
$ORIGIN example.test.
$TTL 3600
@        SOA ns1 hostmaster 1 7200 3600 1209600 300
@        NS  ns1
ns1      A   192.0.2.53
www      TXT \"pool name with other data\"
alias    CNAME www
static   A   192.0.2.80
";

fn v4(addresses: &[(u8, u32)]) -> Vec<Served<Ipv4Addr>> {
    addresses
        .iter()
        .map(|&(last, weight)| Served {
            address: Ipv4Addr::new(192, 0, 2, last),
            weight,
        })
        .collect()
}

fn pool(spread: Spread, addresses: &[(u8, u32)]) -> PoolAnswer {
    PoolAnswer {
        ttl: 30,
        spread,
        v4: v4(addresses),
        v6: vec![Served {
            address: Ipv6Addr::LOCALHOST,
            weight: 1,
        }],
    }
}

fn table(answer: PoolAnswer) -> Table {
    let origin = Name::from_text("example.test.").unwrap();
    let zone =
        crate::zone::parse_zone(&origin, Path::new("example.test.zone"), ZONE.as_bytes()).unwrap();
    let pools = [PoolDef::new(
        Name::from_text("www.example.test.").unwrap(),
        answer,
    )];
    Table::compile(&[zone], &pools)
}

fn ask(table: &Table, qname: &str, qtype: u16, spin: u32) -> Reply {
    ask_spin(
        table,
        &query(1, qname, qtype, Some(1232)),
        Transport::Udp,
        spin,
    )
    .unwrap()
}

#[test]
fn pool_name_answers_with_the_pools_addresses_and_keeps_its_other_data() {
    let t = table(pool(Spread::All, &[(1, 1), (2, 1)]));
    let a = ask(&t, "www.example.test", rtype::A, 0);
    assert_eq!(
        a.sections[0],
        [
            "www.example.test 30 A 192.0.2.1",
            "www.example.test 30 A 192.0.2.2"
        ]
    );
    assert_eq!(a.flags & header::AA, header::AA);
    let aaaa = ask(&t, "www.example.test", rtype::AAAA, 0);
    assert_eq!(aaaa.sections[0], ["www.example.test 30 AAAA ::1"]);
    let txt = ask(&t, "www.example.test", rtype::TXT, 0);
    assert_eq!(
        txt.sections[0],
        ["www.example.test 3600 TXT \"pool name with other data\""]
    );
    let chain = ask(&t, "alias.example.test", rtype::A, 0);
    assert_eq!(
        chain.sections[0][0],
        "alias.example.test 3600 CNAME www.example.test."
    );
    assert_eq!(&chain.sections[0][1..], &a.sections[0][..]);
    let any = ask(&t, "www.example.test", rtype::ANY, 0);
    assert_eq!(
        any.sections[0], a.sections[0],
        "ANY answers the lowest type present: A"
    );
}

#[test]
fn rotation_puts_each_address_first_in_turn() {
    let t = table(pool(Spread::Rotate, &[(1, 1), (2, 1), (3, 1)]));
    let firsts: Vec<String> = (0..6)
        .map(|spin| ask(&t, "www.example.test", rtype::A, spin).sections[0][0].clone())
        .collect();
    assert_eq!(firsts[0], "www.example.test 30 A 192.0.2.1");
    assert_eq!(firsts[1], "www.example.test 30 A 192.0.2.2");
    assert_eq!(firsts[2], "www.example.test 30 A 192.0.2.3");
    assert_eq!(firsts[3], firsts[0]);
    for spin in 0..3 {
        assert_eq!(
            ask(&t, "www.example.test", rtype::A, spin).sections[0].len(),
            3
        );
    }
}

#[test]
fn weighted_choice_serves_one_address_in_proportion() {
    let t = table(pool(Spread::Weighted, &[(1, 3), (2, 1)]));
    let mut first = 0;
    for spin in 0..400 {
        let r = ask(&t, "alias.example.test", rtype::A, spin);
        assert_eq!(r.sections[0].len(), 2, "the CNAME and one address");
        if r.sections[0][1].ends_with("192.0.2.1") {
            first += 1;
        }
    }
    assert_eq!(first, 300);
}

#[test]
fn a_new_pool_answer_changes_only_the_pool() {
    let before = table(pool(Spread::All, &[(1, 1), (2, 1)]));
    let mut down = pool(Spread::All, &[]);
    down.ttl = 10;
    let after = before.with_pool(0, 0, &down);
    let nodata = ask(&after, "www.example.test", rtype::A, 0);
    assert_eq!(
        (nodata.rcode, nodata.sections[0].len()),
        (rcode::NOERROR, 0)
    );
    assert_eq!(nodata.sections[1].len(), 1, "NODATA carries the SOA");
    let any = ask(&after, "www.example.test", rtype::ANY, 0);
    let txt = "www.example.test 3600 TXT \"pool name with other data\"";
    assert_eq!(
        any.sections[0],
        [txt],
        "ANY skips the empty A set for the next lowest type"
    );
    assert_eq!(
        ask(&before, "www.example.test", rtype::A, 0).sections[0].len(),
        2,
        "the old table is untouched"
    );
    let unchanged = ask(&after, "static.example.test", rtype::A, 0);
    assert_eq!(
        unchanged.sections[0],
        ["static.example.test 3600 A 192.0.2.80"]
    );
}

#[test]
fn pool_names_are_checked_against_the_zones() {
    let origin = Name::from_text("example.test.").unwrap();
    let zone = crate::zone::parse_zone(&origin, Path::new("z.zone"), ZONE.as_bytes()).unwrap();
    let names = |list: &[&str]| {
        list.iter()
            .map(|n| Name::from_text(n).unwrap())
            .collect::<Vec<_>>()
    };
    assert!(check_pools_against_zones(
        std::slice::from_ref(&zone),
        &names(&["www.example.test.", "new.example.test."])
    )
    .is_empty());
    let problems = check_pools_against_zones(
        &[zone],
        &names(&[
            "static.example.test.",
            "alias.example.test.",
            "www.other.test.",
        ]),
    );
    assert_eq!(problems.len(), 3);
    assert_eq!(problems[0].record, Some(("z.zone".into(), 8)));
    assert!(
        problems[0].message.contains("has A at line 8"),
        "{}",
        problems[0].message
    );
    assert!(problems[1].message.contains("CNAME"));
    assert!(problems[2].message.contains("no configured zone"));

    let text = format!("{ZONE}dn DNAME other.test.\n");
    let zone = crate::zone::parse_zone(&origin, Path::new("z.zone"), text.as_bytes()).unwrap();
    let zones = std::slice::from_ref(&zone);
    assert!(check_pools_against_zones(zones, &names(&["dn.example.test."])).is_empty());
    let below = check_pools_against_zones(zones, &names(&["x.dn.example.test."]));
    assert_eq!(below.len(), 1);
    assert_eq!(below[0].record, Some(("z.zone".into(), 9)));
    assert!(
        below[0]
            .message
            .contains("below the DNAME at dn.example.test."),
        "{}",
        below[0].message
    );
}

/// MX and SRV whose targets are pool names (`lb`, `lb2`), beside a static target.
const MAIL_ZONE: &str = "\
$ORIGIN example.test.
$TTL 3600
@        SOA ns1 hostmaster 1 7200 3600 1209600 300
@        NS  ns1
@        MX  10 lb
@        MX  20 static
ns1      A   192.0.2.53
static   A   192.0.2.80
_sip._udp SRV 10 5 5060 lb
two      MX  10 lb
two      MX  20 lb2
";

fn mail_table(lb: PoolAnswer, lb2: PoolAnswer) -> Table {
    let origin = Name::from_text("example.test.").unwrap();
    let zone =
        crate::zone::parse_zone(&origin, Path::new("mail.zone"), MAIL_ZONE.as_bytes()).unwrap();
    let pools = [
        PoolDef::new(Name::from_text("lb.example.test.").unwrap(), lb),
        PoolDef::new(Name::from_text("lb2.example.test.").unwrap(), lb2),
    ];
    Table::compile(&[zone], &pools)
}

#[test]
fn mx_and_srv_targets_that_are_pool_names_get_the_pools_addresses_in_additional() {
    let t = mail_table(
        pool(Spread::Weighted, &[(1, 3), (2, 1)]),
        pool(Spread::All, &[(9, 1)]),
    );
    for spin in 0..4 {
        let mx = ask(&t, "example.test", rtype::MX, spin);
        assert_eq!(
            mx.sections[2],
            [
                "lb.example.test 30 A 192.0.2.1",
                "lb.example.test 30 A 192.0.2.2",
                "lb.example.test 30 AAAA ::1",
                "static.example.test 3600 A 192.0.2.80",
            ],
            "every address the pool serves, whatever its spread, beside the static target's"
        );
    }
    let srv = ask(&t, "_sip._udp.example.test", rtype::SRV, 0);
    assert_eq!(srv.sections[2].len(), 3);
    assert_eq!(srv.sections[2][0], "lb.example.test 30 A 192.0.2.1");
}

#[test]
fn a_health_change_updates_the_additional_section_and_all_down_empties_it() {
    let before = mail_table(
        pool(Spread::All, &[(1, 1), (2, 1)]),
        pool(Spread::All, &[(9, 1)]),
    );
    let mut one_down = pool(Spread::All, &[(2, 1)]);
    one_down.v6.clear();
    let after = before.with_pool(0, 0, &one_down);
    let mx = ask(&after, "example.test", rtype::MX, 0);
    assert_eq!(
        mx.sections[2],
        [
            "lb.example.test 30 A 192.0.2.2",
            "static.example.test 3600 A 192.0.2.80"
        ]
    );
    let srv = ask(&after, "_sip._udp.example.test", rtype::SRV, 0);
    assert_eq!(srv.sections[2], ["lb.example.test 30 A 192.0.2.2"]);
    let none = after.with_pool(0, 0, &PoolAnswer::empty(30));
    let mx = ask(&none, "example.test", rtype::MX, 0);
    assert_eq!(mx.sections[2], ["static.example.test 3600 A 192.0.2.80"]);
    let back = none.with_pool(0, 0, &pool(Spread::All, &[(3, 1)]));
    let mx = ask(&back, "example.test", rtype::MX, 0);
    assert_eq!(mx.sections[2][0], "lb.example.test 30 A 192.0.2.3");
    assert_eq!(
        ask(&before, "example.test", rtype::MX, 0).sections[2].len(),
        4,
        "the old table is untouched"
    );
}

#[test]
fn an_answer_takes_additional_addresses_from_one_pool_only() {
    let t = mail_table(pool(Spread::All, &[(1, 1)]), pool(Spread::All, &[(9, 1)]));
    let mx = ask(&t, "two.example.test", rtype::MX, 0);
    assert_eq!(mx.sections[0].len(), 2);
    assert_eq!(
        mx.sections[2],
        [
            "lb.example.test 30 A 192.0.2.1",
            "lb.example.test 30 AAAA ::1"
        ],
        "lb2's addresses are left out: the answer is rebuilt only when lb changes"
    );
    // A change of lb2 leaves the answer as it was; a change of lb rebuilds it.
    let t = t.with_pool(1, 0, &pool(Spread::All, &[(8, 1)]));
    assert_eq!(
        ask(&t, "two.example.test", rtype::MX, 0).sections[2].len(),
        2
    );
    let t = t.with_pool(0, 0, &PoolAnswer::empty(30));
    assert!(ask(&t, "two.example.test", rtype::MX, 0).sections[2].is_empty());
}
