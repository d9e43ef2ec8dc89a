//! Proves that answering allocates nothing: a counting global allocator around the engine,
//! over every kind of answer, after the table is built.

use std::alloc::{GlobalAlloc, Layout, System};
use std::net::Ipv4Addr;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use swivel::engine::{answer, Outcome, Transport, TCP_REPLY_BUF};
use swivel::name::Name;
use swivel::table::{PoolAnswer, PoolDef, Served, Spread, Table};

struct Counting;
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Only allocations made by the test's own thread count: the harness has threads too.
    static COUNTING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.with(|c| c.get()) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

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
";

fn query(qname: &str, qtype: u16, flags: u8, edns: bool) -> Vec<u8> {
    let mut q = vec![0x12, 0x34, flags, 0x00, 0, 1, 0, 0, 0, 0, 0, u8::from(edns)];
    for label in qname.trim_end_matches('.').split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, (qtype >> 8) as u8, qtype as u8, 0, 1]);
    if edns {
        q.extend_from_slice(&[0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]);
    }
    q
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
    let pool = PoolDef {
        name: Name::from_text("pool.example.test.").unwrap(),
        answer: PoolAnswer {
            ttl: 30,
            spread: Spread::Weighted,
            v4: vec![served(1, 3), served(2, 1)],
            v6: vec![],
        },
    };
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
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    COUNTING.with(|c| c.set(true));
    for _ in 0..1000 {
        for packet in &packets {
            for transport in [Transport::Udp, Transport::Tcp] {
                if let Outcome::Reply { .. } = answer(packet, &table, transport, 7, &mut out) {
                    replies += 1;
                }
            }
        }
    }
    COUNTING.with(|c| c.set(false));
    let after = ALLOCATIONS.load(Ordering::Relaxed);
    assert_eq!(after - before, 0, "the engine allocated while answering");
    assert_eq!(
        replies,
        1000 * 2 * (packets.len() - 2),
        "every query but the two dropped got a reply"
    );
}
