//! Proves that answering allocates nothing: a counting global allocator around the engine,
//! over every kind of answer, after the table is built.

mod support;

use std::net::Ipv4Addr;
use std::path::Path;
use support::alloc;
use support::dns::build_query_with;
use swivel::engine::{answer, Outcome, Transport, TCP_REPLY_BUF};
use swivel::name::Name;
use swivel::table::{Client, PoolAnswer, PoolDef, Served, Spread, Table};

// Only allocations made by the test's own thread count: the harness has threads too.
#[global_allocator]
static GLOBAL: alloc::Counting = alloc::Counting;

const ZONE: &str = "\
$ORIGIN example.test.
$TTL 300
@      SOA ns1 hostmaster 1 7200 3600 1209600 300
@      NS  ns1
@      MX  10 mail
ns1    A   192.0.2.53
mail   A   192.0.2.25
www    A   192.0.2.1
alias  CNAME www
lb     CNAME pool
*.wild A   192.0.2.3
sub    NS  ns.sub
ns.sub A   192.0.2.99
dn     DNAME target
dn2    DNAME dn
out    DNAME example.net.
www.target A 192.0.2.71
mx.target  MX 10 mail
";

fn query(qname: &str, qtype: u16, flags: u8, edns: bool) -> Vec<u8> {
    build_query_with(0x1234, qname, qtype, flags, edns)
}

#[test]
fn answering_allocates_nothing() {
    let origin = Name::from_text("example.test.").unwrap();
    let zone =
        swivel::zone::parse_zone(&origin, Path::new("example.test.zone"), ZONE.as_bytes()).unwrap();
    // A weighted pool behind a CNAME: variant choice must not allocate either.
    let served = |last: u8, weight: u32| Served {
        address: Ipv4Addr::new(192, 0, 2, last),
        weight,
    };
    let pool = PoolDef::new(
        Name::from_text("pool.example.test.").unwrap(),
        PoolAnswer {
            ttl: 30,
            spread: Spread::Weighted,
            v4: vec![served(1, 3), served(2, 1)],
            v6: vec![],
        },
    );
    let table = Table::compile(&[zone], &[pool]);
    let mut packets = Vec::new();
    for (qname, qtype) in [
        ("www.example.test", 1),
        ("WWW.EXAMPLE.TEST", 28),
        ("alias.example.test", 1),
        ("lb.example.test", 1),
        ("pool.example.test", 1),
        ("nope.example.test", 1),
        ("a.b.wild.example.test", 1),
        ("x.sub.example.test", 1),
        ("example.test", 15),
        ("example.test", 255),
        ("other.test", 1),
        // DNAME synthesis: in zone, chained, to a missing name, out of zone, with
        // additional records, for qtype CNAME.
        ("www.dn.example.test", 1),
        ("WwW.dn2.example.test", 1),
        ("nope.dn.example.test", 1),
        ("www.out.example.test", 1),
        ("mx.dn.example.test", 15),
        ("www.dn.example.test", 5),
    ] {
        for edns in [false, true] {
            packets.push(query(qname, qtype, 0x01, edns));
        }
    }
    packets.push(query("example.test", 6, 0x21, false)); // NOTIFY: NOTIMP
    packets.push(query("example.test", 6, 0x81, false)); // QR set: dropped
    packets.push(vec![1, 2, 3]); // unreadable
    let mut out = vec![0u8; TCP_REPLY_BUF];
    let mut replies = 0;
    let before = alloc::allocations();
    alloc::count_this_thread(true);
    for _ in 0..1000 {
        for packet in &packets {
            for transport in [Transport::Udp, Transport::Tcp] {
                if let Outcome::Reply { .. } =
                    answer(packet, &table, transport, 7, Client::Unknown, &mut out)
                {
                    replies += 1;
                }
            }
        }
    }
    alloc::count_this_thread(false);
    let after = alloc::allocations();
    assert_eq!(after - before, 0, "the engine allocated while answering");
    assert_eq!(
        replies,
        1000 * 2 * (packets.len() - 2),
        "every query but the two dropped got a reply"
    );
}
