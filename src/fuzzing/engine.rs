//! The engine target: arbitrary bytes answered against a compiled test table with
//! wildcards, CNAME chains and loops, DNAMEs (to the second zone, in the zone, to itself,
//! to a long name), a delegation with glue and DS, answers too big for UDP and for TCP, a
//! second zone, and two health-checked pools (one an MX target). The main zone is signed
//! (NSEC), so queries with the DO bit get signed answers and NSEC proofs.

use super::reply::check_reply;
use crate::app::check_pools_against_zones;
use crate::engine::{answer, Transport, TCP_REPLY_BUF, UDP_REPLY_BUF};
use crate::name::Name;
use crate::table::{Client, PoolAnswer, PoolDef, Served, Spread, Table};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::sync::{Arc, OnceLock};

/// The main test zone. Long labels make relocated compression pointers point far.
const ZONE: &str = "\
$ORIGIN example.test.
$TTL 3600
@        SOA ns1 hostmaster 1 7200 3600 1209600 300
@        NS  ns1
@        NS  ns2.elsewhere.test.
@        MX  10 mail
@        TXT \"v=spf1 mx -all\"
@        CAA 0 issue \"ca.example.net\"
ns1      A   192.0.2.53
ns1      AAAA 2001:db8::53
mail     A   192.0.2.25
mail     AAAA 2001:db8::25
alias    CNAME www
chain    CNAME alias
loop1    CNAME loop2
loop2    CNAME loop1
out      CNAME www.other.test.
intodeleg CNAME host.sub
*.wild   TXT \"wild\"
*.wild   A   192.0.2.7
*.cw     CNAME www
a.b.c    A   192.0.2.9
_sip._udp SRV 10 5 5060 mail
ptr      PTR www
dn       DNAME other.test.
dnin     DNAME wild
dnself   DNAME x.dnself
dnlong   DNAME aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.long
poolmx   MX  10 www
sub      NS  ns.sub
sub      NS  ns.elsewhere.test.
sub      DS  12345 8 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF
ns.sub   A   192.0.2.99
ns.sub   AAAA 2001:db8::99
aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.long MX 5 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.long
aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.long A 192.0.2.63
";

/// A second zone, target of CNAMEs and DNAME from the first.
const OTHER_ZONE: &str = "\
$ORIGIN other.test.
$TTL 60
@        SOA ns1.example.test. hostmaster.example.test. 7 7200 3600 1209600 60
@        NS  ns1.example.test.
www      A   198.51.100.1
back     CNAME api.example.test.
";

/// Records added to the main zone by code: answers that need truncation over UDP (`big`)
/// and over TCP (`huge`, more than 65535 bytes of A records).
fn generated_records() -> String {
    let mut text = String::new();
    for i in 0..12 {
        text.push_str(&format!("big TXT \"{}\"\n", "x".repeat(200 + i)));
    }
    for i in 0..4200u32 {
        text.push_str(&format!(
            "huge A 10.{}.{}.{}\n",
            i >> 16,
            (i >> 8) & 255,
            i & 255
        ));
    }
    text
}

fn served_v4(last: &[u8]) -> Vec<Served<Ipv4Addr>> {
    last.iter()
        .enumerate()
        .map(|(i, &last)| Served {
            address: Ipv4Addr::new(192, 0, 2, last),
            weight: 1 + i as u32 * 3,
        })
        .collect()
}

fn served_v6(count: u16) -> Vec<Served<Ipv6Addr>> {
    (1..=count)
        .map(|i| Served {
            address: Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, i),
            weight: u32::from(i),
        })
        .collect()
}

/// The table every engine input is answered against, compiled once.
pub fn fuzz_table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        let load = |origin: &str, text: &str| {
            let origin = Name::from_text(origin).expect("valid origin");
            crate::zone::parse_zone(&origin, Path::new("fuzz.zone"), text.as_bytes())
                .expect("the fuzz zone loads")
        };
        let zones = [
            load("example.test.", &format!("{ZONE}{}", generated_records())),
            load("other.test.", OTHER_ZONE),
        ];
        let pools = [
            PoolDef::new(
                Name::from_text("www.example.test.").expect("valid name"),
                PoolAnswer {
                    ttl: 30,
                    spread: Spread::Weighted,
                    v4: served_v4(&[1, 2, 3]),
                    v6: served_v6(2),
                },
            ),
            // Routed: 10.0.0.0/8 and 2001:db8::/32 get routes of their own (ECS or source).
            PoolDef {
                name: Name::from_text("api.example.test.").expect("valid name"),
                answers: vec![
                    PoolAnswer {
                        ttl: 20,
                        spread: Spread::Rotate,
                        v4: served_v4(&[11, 12, 13, 14]),
                        v6: Vec::new(),
                    },
                    PoolAnswer {
                        ttl: 20,
                        spread: Spread::All,
                        v4: served_v4(&[21]),
                        v6: served_v6(1),
                    },
                    PoolAnswer::empty(20),
                ],
                routing: Some(Arc::new(crate::geo::RouteMap::build(
                    &[
                        vec!["10.0.0.0/8".parse().expect("a network")],
                        vec!["2001:db8::/32".parse().expect("a network")],
                    ],
                    2,
                ))),
            },
        ];
        let names: Vec<Name> = pools.iter().map(|p| p.name.clone()).collect();
        let problems = check_pools_against_zones(&zones, &names);
        assert!(problems.is_empty(), "fuzz pools: {problems:?}");
        let keys = crate::dnssec::ZoneKeys {
            keys: vec![crate::dnssec::key::ed25519_test_key(
                "example.test.",
                257,
                9,
            )],
        };
        let policy = crate::dnssec::SigningPolicy {
            denial: crate::dnssec::DenialKind::Nsec,
            validity: 14 * 86_400,
            refresh: 7 * 86_400,
            cds: true,
        };
        let signer = crate::dnssec::ZoneSigner::new(Arc::new(keys), policy, 1_790_000_000);
        Table::compile_signed(&zones, &pools, &[Some(Arc::new(signer)), None])
    })
}

/// [`crate::engine::answer`] on arbitrary bytes: the first byte picks the spin (pool
/// variant) and the source address (10.x.0.0 or 192.x.0.0), the rest is the query. Answered over UDP into a buffer of exactly
/// [`UDP_REPLY_BUF`] bytes (as the server does) and into a 64 KiB one (the reply must be the
/// same: the limit is the protocol's, not the buffer's), and over TCP. Every outcome must
/// pass [`check_reply`].
pub fn engine_answer(data: &[u8]) {
    let Some((&spin, query)) = data.split_first() else {
        return;
    };
    let source = match spin & 1 {
        0 => Client::V4(0x0a00_0000 | u32::from(spin) << 16),
        _ => Client::V4(0xc000_0000 | u32::from(spin) << 16),
    };
    let spin = u32::from(spin).wrapping_mul(0x9e37_79b9);
    let table = fuzz_table();
    let mut udp = [0u8; UDP_REPLY_BUF];
    let mut wide = vec![0u8; TCP_REPLY_BUF];
    let outcome = answer(query, table, Transport::Udp, spin, source, &mut udp);
    let udp_reply = check_reply(query, Transport::Udp, outcome, &udp);
    let outcome = answer(query, table, Transport::Udp, spin, source, &mut wide);
    assert_eq!(
        udp_reply,
        check_reply(query, Transport::Udp, outcome, &wide),
        "the UDP reply does not depend on the buffer size"
    );
    let outcome = answer(query, table, Transport::Tcp, spin, source, &mut wide);
    check_reply(query, Transport::Tcp, outcome, &wide);
}
