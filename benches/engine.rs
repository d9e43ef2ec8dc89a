//! Criterion benchmarks of the query engine alone: time per query for the main answer kinds
//! (unsigned, and signed with the DO bit: `answer/*/do`), table compilation for a large
//! zone, and a health change reaching the answers (unsigned, and signed: the pool's new
//! RRsets signed before the swap).

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use std::net::Ipv4Addr;
use std::path::Path;
use std::sync::Arc;
use swivel::dnssec::key::ed25519_test_key;
use swivel::dnssec::{DenialKind, SigningPolicy, ZoneKeys, ZoneSigner};
use swivel::engine::{answer, Outcome, Transport, UDP_REPLY_BUF};
use swivel::geo::{Net, RouteMap};
use swivel::name::Name;
use swivel::table::{Client, PoolAnswer, PoolDef, Served, Spread, Table};

const ZONE: &str = "\
$ORIGIN bench.test.
$TTL 300
@      SOA ns1 hostmaster 1 7200 3600 1209600 300
@      NS  ns1
ns1    A   192.0.2.53
www    A   192.0.2.1
www    A   192.0.2.2
*.wild A   192.0.2.3
sub    NS  ns.sub
ns.sub A   192.0.2.99
dn     DNAME target
www.target A 192.0.2.4
";

/// A signer for `origin` with one Ed25519 key (a CSK), for a table built now.
fn signer(origin: &str) -> Arc<ZoneSigner> {
    let keys = ZoneKeys {
        keys: vec![ed25519_test_key(origin, 257, 1)],
    };
    let policy = SigningPolicy {
        denial: DenialKind::Nsec,
        validity: 14 * 86_400,
        refresh: 7 * 86_400,
        cds: false,
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    Arc::new(ZoneSigner::new(Arc::new(keys), policy, now))
}

/// A query for `qname`; with `edns` an OPT record, with the DO bit when `dnssec_ok`.
fn query_do(qname: &str, qtype: u16, dnssec_ok: bool) -> Vec<u8> {
    let mut q = query(qname, qtype, true);
    if dnssec_ok {
        let flags_at = q.len() - 4;
        q[flags_at] = 0x80;
    }
    q
}

fn query(qname: &str, qtype: u16, edns: bool) -> Vec<u8> {
    let mut q = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, u8::from(edns)];
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

fn zone_table(text: &str, origin: &str) -> Table {
    let origin = Name::from_text(origin).unwrap();
    let zone = swivel::zone::parse_zone(&origin, Path::new("bench.zone"), text.as_bytes()).unwrap();
    Table::compile(&[zone], &[])
}

fn queries(c: &mut Criterion) {
    let table = zone_table(ZONE, "bench.test.");
    let origin = Name::from_text("bench.test.").unwrap();
    let zone = swivel::zone::parse_zone(&origin, Path::new("bench.zone"), ZONE.as_bytes()).unwrap();
    let signed = Table::compile_signed(&[zone], &[], &[Some(signer("bench.test."))]);
    let mut group = c.benchmark_group("answer");
    group.throughput(Throughput::Elements(1));
    // The signed zone: with DO (signed answers, NSEC proofs found per query), and with EDNS
    // but no DO (the unsigned answers of a signed zone, to compare with `*/edns`).
    let signed_cases = [
        ("hit", "www.bench.test", 1),
        ("nxdomain", "nope.bench.test", 1),
        ("wildcard", "host.wild.bench.test", 1),
    ];
    for (label, qname, qtype) in signed_cases {
        for dnssec_ok in [true, false] {
            let q = query_do(qname, qtype, dnssec_ok);
            let mut out = [0u8; UDP_REPLY_BUF];
            let name = format!(
                "{label}/{}",
                if dnssec_ok { "do" } else { "signed-zone-no-do" }
            );
            group.bench_function(name, |b| {
                b.iter(|| {
                    let outcome = answer(
                        std::hint::black_box(&q),
                        &signed,
                        Transport::Udp,
                        0,
                        Client::Unknown,
                        &mut out,
                    );
                    assert!(matches!(outcome, Outcome::Reply { .. }));
                    outcome
                })
            });
        }
    }
    let cases = [
        ("hit", "www.bench.test", 1),
        ("nxdomain", "nope.bench.test", 1),
        ("wildcard", "host.wild.bench.test", 1),
        ("referral", "host.sub.bench.test", 1),
        // Below a DNAME: the DNAME, a CNAME synthesized at query time, then the target's A.
        ("dname", "www.dn.bench.test", 1),
    ];
    for (label, qname, qtype) in cases {
        for edns in [false, true] {
            let q = query(qname, qtype, edns);
            let mut out = [0u8; UDP_REPLY_BUF];
            let name = format!("{label}{}", if edns { "/edns" } else { "" });
            group.bench_function(name, |b| {
                b.iter(|| {
                    let outcome = answer(
                        std::hint::black_box(&q),
                        &table,
                        Transport::Udp,
                        0,
                        Client::Unknown,
                        &mut out,
                    );
                    assert!(matches!(outcome, Outcome::Reply { .. }));
                    outcome
                })
            });
        }
    }
    group.finish();
}

/// A zone of `hosts` names with one A record each, plus the apex.
pub fn large_zone(hosts: usize) -> String {
    let mut text = String::from("$ORIGIN big.test.\n$TTL 300\n@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 192.0.2.53\n");
    for i in 0..hosts {
        text.push_str(&format!(
            "h{i} A 10.{}.{}.{}\n",
            (i >> 16) & 255,
            (i >> 8) & 255,
            i & 255
        ));
    }
    text
}

fn compile(c: &mut Criterion) {
    let text = large_zone(100_000);
    let origin = Name::from_text("big.test.").unwrap();
    let zone = swivel::zone::parse_zone(&origin, Path::new("big.zone"), text.as_bytes()).unwrap();
    let mut group = c.benchmark_group("compile");
    group.sample_size(10);
    group.bench_function("100k_records", |b| {
        b.iter_batched(
            || zone.clone(),
            |z| Table::compile(std::slice::from_ref(&z), &[]),
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

/// A health change reaching answers: one pool's answers rebuilt in a table of 100k records
/// and 1,000 pools, and the new table stored where workers load it.
fn pool_change(c: &mut Criterion) {
    let text = large_zone(100_000);
    let origin = Name::from_text("big.test.").unwrap();
    let zone = swivel::zone::parse_zone(&origin, Path::new("big.zone"), text.as_bytes()).unwrap();
    let answer = |last: u8| PoolAnswer {
        ttl: 30,
        spread: Spread::All,
        v4: vec![Served {
            address: Ipv4Addr::new(192, 0, 2, last),
            weight: 1,
        }],
        v6: vec![],
    };
    let pools: Vec<PoolDef> = (0..1000)
        .map(|i| {
            PoolDef::new(
                Name::from_text(&format!("pool{i}.big.test.")).unwrap(),
                answer(1),
            )
        })
        .collect();
    let shared = Table::compile(&[zone], &pools).shared();
    let (up, down) = (answer(1), answer(2));
    let mut flip = false;
    c.bench_function("health_change/100k_records_1000_pools", |b| {
        b.iter(|| {
            flip = !flip;
            let next = shared
                .load()
                .with_pool(500, 0, if flip { &down } else { &up });
            shared.store(std::sync::Arc::new(next));
        })
    });
    drop(shared);

    // The same zone signed: each change brings an address never served before, so the
    // pool's RRsets are really signed every time (no signature remembered from before).
    let zone = swivel::zone::parse_zone(&origin, Path::new("big.zone"), text.as_bytes()).unwrap();
    let shared = Table::compile_signed(&[zone], &pools, &[Some(signer("big.test."))]).shared();
    let mut serial = 0u32;
    c.bench_function("health_change/signed/100k_records_1000_pools", |b| {
        b.iter(|| {
            serial = serial.wrapping_add(1);
            let fresh = PoolAnswer {
                ttl: 30,
                spread: Spread::All,
                v4: vec![Served {
                    address: Ipv4Addr::from(0x0a00_0000 | serial),
                    weight: 1,
                }],
                v6: vec![],
            };
            let next = shared.load().with_pool(500, 0, &fresh);
            shared.store(std::sync::Arc::new(next));
        })
    });
}

/// A pool answer: `www.pool.test` without routes, and the same pool routed (three routes
/// over 10,000 networks), each asked with and without an ECS option.
fn routed(c: &mut Criterion) {
    let text = "$ORIGIN pool.test.\n$TTL 300\n@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 192.0.2.53\n";
    let origin = Name::from_text("pool.test.").unwrap();
    let zone = swivel::zone::parse_zone(&origin, Path::new("pool.zone"), text.as_bytes()).unwrap();
    let site = |last: u8| PoolAnswer {
        ttl: 30,
        spread: Spread::All,
        v4: vec![Served {
            address: Ipv4Addr::new(192, 0, 2, last),
            weight: 1,
        }],
        v6: vec![],
    };
    let name = Name::from_text("www.pool.test.").unwrap();
    let plain = Table::compile(
        std::slice::from_ref(&zone),
        &[PoolDef::new(name.clone(), site(1))],
    );
    let map = Arc::new(RouteMap::build(&networks(10_000, 2), 2));
    let routed = PoolDef {
        name,
        answers: vec![site(1), site(2), site(3)],
        routing: Some(map),
    };
    let routed = Table::compile(&[zone], &[routed]);
    let mut group = c.benchmark_group("answer");
    group.throughput(Throughput::Elements(1));
    let without = query("www.pool.test", 1, true);
    let with_ecs = ecs_query("www.pool.test", [10, 7, 33, 0]);
    let source = Client::V4(u32::from(Ipv4Addr::new(10, 9, 1, 1)));
    for (label, table) in [("pool", &plain), ("routed-pool", &routed)] {
        for (ecs, q) in [("", &without), ("/ecs", &with_ecs)] {
            let mut out = [0u8; UDP_REPLY_BUF];
            group.bench_function(format!("{label}{ecs}"), |b| {
                b.iter(|| {
                    let outcome = answer(
                        std::hint::black_box(q),
                        table,
                        Transport::Udp,
                        0,
                        source,
                        &mut out,
                    );
                    assert!(matches!(outcome, Outcome::Reply { .. }));
                    outcome
                })
            });
        }
    }
    group.finish();

    // The mapping alone: 10,000 routed networks, and a database-sized map (400,000 IPv4
    // networks, as many as a full country database has, over six routes).
    // (Built inside the benchmark, so that other benchmarks' runs do not build them.)
    let mut group = c.benchmark_group("route_map");
    let mut at = 0u32;
    for (label, count) in [("10k_networks", 10_000), ("country_database", 400_000)] {
        group.bench_function(label, |b| {
            let map = RouteMap::build(&networks(count, 6), 6);
            b.iter(|| {
                at = at.wrapping_add(0x9e37_79b9);
                map.route(Client::V4(std::hint::black_box(at)))
            })
        });
    }
    group.finish();
}

/// `count` IPv4 /24 networks spread over the space, dealt round-robin to `routes` routes.
fn networks(count: u32, routes: u32) -> Vec<Vec<Net>> {
    let mut out = vec![Vec::new(); routes as usize];
    let step = (1u32 << 24) / count;
    for i in 0..count {
        let addr = Ipv4Addr::from((i * step) << 8);
        let net = Net::new(addr.into(), 24).unwrap();
        out[(i % routes) as usize].push(net);
    }
    out
}

/// An A query with EDNS and an ECS option for `subnet`/24.
fn ecs_query(qname: &str, subnet: [u8; 4]) -> Vec<u8> {
    let mut q = query(qname, 1, true);
    let rdlen_at = q.len() - 2;
    q[rdlen_at + 1] = 11;
    q.extend_from_slice(&[0, 8, 0, 7, 0, 1, 24, 0, subnet[0], subnet[1], subnet[2]]);
    q
}

criterion_group!(benches, queries, compile, pool_change, routed);
criterion_main!(benches);
