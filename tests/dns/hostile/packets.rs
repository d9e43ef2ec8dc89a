//! Packets for the hostile-input tests: queries and records built by hand, and a
//! fixed-seed generator of random and mutated queries.

use super::{build_query, wire_name, Random, HEADER_LEN, TYPE_A};

/// Query datagrams longer than this are cut by the kernel and dropped by the server.
pub const QUERY_BUF: usize = swivel::server::QUERY_BUF;

/// A header: ID 0x4242, RD, and the given flags and counts.
pub fn header(flags: u16, qd: u16, an: u16, ns: u16, ar: u16) -> Vec<u8> {
    let mut h = vec![0x42, 0x42];
    for field in [flags | 0x0100, qd, an, ns, ar] {
        h.extend_from_slice(&field.to_be_bytes());
    }
    h
}

pub fn question(name: &str, qtype: u16, qclass: u16) -> Vec<u8> {
    let mut q = wire_name(name);
    q.extend_from_slice(&qtype.to_be_bytes());
    q.extend_from_slice(&qclass.to_be_bytes());
    q
}

/// An OPT record: root owner, payload size, version, DO clear, the given options.
pub fn opt(version: u8, options: &[u8]) -> Vec<u8> {
    let mut o = vec![0, 0, 41, 0x04, 0xd0, 0, version, 0, 0];
    o.extend_from_slice(&(options.len() as u16).to_be_bytes());
    o.extend_from_slice(options);
    o
}

/// One A record with owner bytes `owner` (possibly a compression pointer).
pub fn a_record(owner: &[u8]) -> Vec<u8> {
    let mut r = owner.to_vec();
    r.extend_from_slice(&[0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1]);
    r
}

pub fn www() -> Vec<u8> {
    question("www.example.test", TYPE_A, 1)
}

pub fn packet(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// A mutation of one of a few real queries: bytes flipped or replaced, cut, extended,
/// counts changed, flags scrambled.
pub fn mutated(random: &mut Random, bases: &[Vec<u8>]) -> Vec<u8> {
    let mut p = bases[random.below(bases.len())].clone();
    for _ in 0..1 + random.below(4) {
        match random.below(7) {
            0 if !p.is_empty() => {
                let at = random.below(p.len());
                p[at] ^= 1 << random.below(8);
            }
            1 if !p.is_empty() => {
                let at = random.below(p.len());
                p[at] = random.next() as u8;
            }
            2 => p.truncate(random.below(p.len() + 1)),
            3 => {
                let extra = random.below(64);
                p.extend(random.bytes(extra));
            }
            4 if p.len() >= HEADER_LEN => {
                let field = 4 + 2 * random.below(4);
                let value = [0, 1, 2, 255, 65535][random.below(5)] as u16;
                p[field..field + 2].copy_from_slice(&value.to_be_bytes());
            }
            5 if p.len() >= 4 => {
                p[2] = random.next() as u8;
                p[3] = random.next() as u8;
            }
            _ => {
                let at = random.below(p.len() + 1);
                p.insert(at, [0xc0, 0x3f, 0x40, 0x80, 0][random.below(5)]);
            }
        }
    }
    p
}

pub fn real_queries() -> Vec<Vec<u8>> {
    let mut bases = Vec::new();
    for (name, qtype) in [
        ("www.example.test", 1),
        ("www.example.test", 28),
        ("example.test", 15),
        ("example.test", 16),
        ("example.test", 255),
        ("alias.example.test", 1),
        ("x.wild.example.test", 1),
        ("host.sub.example.test", 1),
        ("sub.example.test", 43),
        ("nope.example.test", 1),
    ] {
        let plain = build_query(0, name, qtype);
        let mut with_edns = plain.clone();
        with_edns[11] = 1;
        with_edns.extend_from_slice(&opt(0, &[0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8]));
        with_edns[plain.len() + 7] = 0x80; // DO
        let mut with_pointer = with_edns.clone();
        with_pointer[11] = 2;
        with_pointer.splice(plain.len()..plain.len(), a_record(b"\xc0\x0c"));
        bases.extend([plain, with_edns, with_pointer]);
    }
    bases
}

/// `count` packets from `random`: a third pure noise (now and then longer than the receive
/// buffer), the rest mutated real queries. Each gets a unique ID (`first_id` on) so that
/// replies can be matched.
pub fn hostile_packets(random: &mut Random, count: usize, first_id: u16) -> Vec<Vec<u8>> {
    let bases = real_queries();
    (0..count)
        .map(|i| {
            let mut p = if random.below(3) == 0 {
                let len = match random.below(50) {
                    0 => QUERY_BUF - 100 + random.below(2000),
                    _ => random.below(300),
                };
                random.bytes(len)
            } else {
                mutated(random, &bases)
            };
            if p.len() >= 2 {
                p[..2].copy_from_slice(&first_id.wrapping_add(i as u16).to_be_bytes());
            }
            p
        })
        .collect()
}
