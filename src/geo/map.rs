//! The map from a client address to a pool's route, compiled once per set of routes: the
//! whole IPv4 and IPv6 space cut into pieces, each the part of one network that decides
//! its addresses (or a stretch no network holds), with its route. The ECS scope of an
//! answer (RFC 7871 section 7.2.1) is the prefix length of the largest aligned block around
//! the client's address inside its piece: the deciding network's own length where no
//! earlier route takes part of it, longer where one does.
//!
//! Routes are tried in order and the first whose networks hold the address wins; addresses
//! in none get the fallback route (the one that matches `default`). A lookup is a binary
//! search over sorted piece starts and two XORs for the scope: no allocation, no lock. A
//! family with many pieces (a database-sized map) also keeps an index on the first 16
//! bits of the address (65,537 entries, 256 KiB): the pieces that may hold an address
//! starting with those bits, so that the search is over a handful of pieces in one or two
//! cache lines instead of over them all.

use crate::config::net::Net;
use std::collections::BTreeMap;

/// What a lookup finds: the route and the prefix length of the block that decided it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Routed {
    pub route: u16,
    pub scope: u8,
}

/// Pieces covering one family's whole address space, sorted by first address (the first
/// starts at 0); a piece ends where the next starts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Pieces<K> {
    starts: Box<[K]>,
    routes: Box<[u16]>,
    /// Empty, or for each value `h` of an address's first 16 bits the piece that holds the
    /// first address starting with `h`, and one more entry (the last piece): an address
    /// starting with `h` is in a piece from `index[h]` to `index[h + 1]`.
    index: Box<[u32]>,
}

/// Families with at least this many pieces get the 16-bit index.
const INDEXED_FROM: usize = 256;
/// Entries of the 16-bit index.
const INDEX_LEN: usize = (1 << 16) + 1;

/// A compiled route map for both families.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteMap {
    v4: Pieces<u32>,
    v6: Pieces<u128>,
    fallback: u16,
}

/// The client a query is answered for: the ECS address (RFC 7871) when the query has one,
/// else the source address; `Unknown` when neither tells (an ECS option with source prefix
/// length 0, whose sender asks that no client address be used).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Client {
    Unknown,
    V4(u32),
    V6(u128),
}

impl Client {
    /// The client at `addr` (an IPv4-mapped IPv6 address is the IPv4 address).
    pub fn from_ip(addr: std::net::IpAddr) -> Client {
        match addr.to_canonical() {
            std::net::IpAddr::V4(a) => Client::V4(u32::from(a)),
            std::net::IpAddr::V6(a) => Client::V6(u128::from(a)),
        }
    }
}

impl RouteMap {
    /// Compiles `routes` (each route's networks, routes in order of precedence, networks
    /// inside a route in the order written) with `fallback` for addresses in none.
    pub fn build(routes: &[Vec<Net>], fallback: u16) -> RouteMap {
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        let mut order = 0u32;
        for (route, nets) in routes.iter().enumerate() {
            for net in nets {
                let (first, last) = net.range();
                let entry = Span {
                    first,
                    last,
                    order,
                    route: route as u16,
                };
                order += 1;
                match net.is_ipv6() {
                    false => v4.push(entry),
                    true => v6.push(entry),
                }
            }
        }
        let v4 = pieces(&v4, 32, fallback);
        let v6 = pieces(&v6, 128, fallback);
        RouteMap {
            v4: Pieces::new(v4.iter().map(|&(s, r)| (s as u32, r))),
            v6: Pieces::new(v6.into_iter()),
            fallback,
        }
    }

    /// The route of `client`; an unknown client gets the fallback route, scope 0.
    #[inline]
    pub fn route(&self, client: Client) -> Routed {
        match client {
            Client::V4(addr) => self.route_v4(addr),
            Client::V6(addr) => self.route_v6(addr),
            Client::Unknown => Routed {
                route: self.fallback,
                scope: 0,
            },
        }
    }

    /// The route addresses in no route's networks get.
    pub fn fallback(&self) -> u16 {
        self.fallback
    }

    /// The route of an IPv4 address.
    #[inline]
    pub fn route_v4(&self, addr: u32) -> Routed {
        self.v4.find(addr)
    }

    /// The route of an IPv6 address.
    #[inline]
    pub fn route_v6(&self, addr: u128) -> Routed {
        self.v6.find(addr)
    }

    /// How many pieces the map holds (both families), for logs and benchmarks.
    pub fn pieces(&self) -> usize {
        self.v4.starts.len() + self.v6.starts.len()
    }
}

/// An address of one family as a number.
trait Key: Copy + Ord {
    /// The address before this one, if any.
    fn before(self) -> Option<Self>;
    /// How many leading bits the two addresses share.
    fn shared_bits(self, other: Self) -> u32;
    /// The address's first 16 bits.
    fn top16(self) -> usize;
    /// The first address whose first 16 bits are `top`.
    fn from_top16(top: usize) -> Self;
}

impl Key for u32 {
    #[inline]
    fn before(self) -> Option<u32> {
        self.checked_sub(1)
    }
    #[inline]
    fn shared_bits(self, other: u32) -> u32 {
        (self ^ other).leading_zeros()
    }
    #[inline]
    fn top16(self) -> usize {
        (self >> 16) as usize
    }
    fn from_top16(top: usize) -> u32 {
        (top as u32) << 16
    }
}

impl Key for u128 {
    #[inline]
    fn before(self) -> Option<u128> {
        self.checked_sub(1)
    }
    #[inline]
    fn shared_bits(self, other: u128) -> u32 {
        (self ^ other).leading_zeros()
    }
    #[inline]
    fn top16(self) -> usize {
        (self >> 112) as usize
    }
    fn from_top16(top: usize) -> u128 {
        (top as u128) << 112
    }
}

impl<K: Key> Pieces<K> {
    /// The pieces `(start, route)` in order, the first starting at 0.
    fn new(pieces: impl Iterator<Item = (K, u16)>) -> Pieces<K> {
        let (starts, routes): (Vec<K>, Vec<u16>) = pieces.unzip();
        let mut index = Vec::new();
        if starts.len() >= INDEXED_FROM {
            index.reserve_exact(INDEX_LEN);
            let mut at = 0;
            for top in 0..INDEX_LEN - 1 {
                let first = K::from_top16(top);
                while at + 1 < starts.len() && starts[at + 1] <= first {
                    at += 1;
                }
                index.push(at as u32);
            }
            index.push((starts.len() - 1) as u32);
        }
        Pieces {
            starts: starts.into(),
            routes: routes.into(),
            index: index.into(),
        }
    }

    /// The route of `addr` and its scope: the block of length L around `addr` stays in the
    /// piece when it holds neither the address before the piece nor the first after it,
    /// that is when L is more than the bits `addr` shares with each.
    #[inline]
    fn find(&self, addr: K) -> Routed {
        let starts = &self.starts;
        let at = match self.index.get(addr.top16()..addr.top16() + 2) {
            Some(&[first, last]) => {
                let (first, last) = (first as usize, last as usize);
                first + starts[first + 1..=last].partition_point(|&s| s <= addr)
            }
            _ => starts.partition_point(|&s| s <= addr).saturating_sub(1),
        };
        let mut scope = 0;
        if let Some(before) = starts[at].before() {
            scope = addr.shared_bits(before) + 1;
        }
        if let Some(&after) = starts.get(at + 1) {
            scope = scope.max(addr.shared_bits(after) + 1);
        }
        Routed {
            route: self.routes[at],
            scope: scope as u8,
        }
    }
}

/// One network's addresses, numbered for precedence.
#[derive(Clone, Copy)]
struct Span {
    first: u128,
    last: u128,
    order: u32,
    route: u16,
}

/// The winner of every part of a family's space (`bits` wide): piece starts and routes.
fn pieces(spans: &[Span], bits: u8, fallback: u16) -> Vec<(u128, u16)> {
    let end = match bits {
        128 => None,
        bits => Some(1u128 << bits),
    };
    // Points where the set of networks holding an address changes.
    let mut events: Vec<(u128, bool, usize)> = Vec::with_capacity(spans.len() * 2);
    for (index, span) in spans.iter().enumerate() {
        events.push((span.first, true, index));
        if let Some(after) = span.last.checked_add(1).filter(|&a| Some(a) != end) {
            events.push((after, false, index));
        }
    }
    events.sort_unstable_by_key(|&(at, _, _)| at);
    // The winning network (by order) from each point on: `None` is the fallback.
    let mut pieces: Vec<(u128, Option<usize>)> = Vec::new();
    let mut active: BTreeMap<u32, usize> = BTreeMap::new();
    let mut at = 0;
    let mut i = 0;
    loop {
        while i < events.len() && events[i].0 == at {
            let (_, starts, index) = events[i];
            match starts {
                true => {
                    active.insert(spans[index].order, index);
                }
                false => {
                    active.remove(&spans[index].order);
                }
            }
            i += 1;
        }
        let winner = active.values().next().copied();
        if pieces.last().is_none_or(|&(_, w)| w != winner) {
            pieces.push((at, winner));
        }
        match events.get(i) {
            Some(&(next, _, _)) => at = next,
            None => break,
        }
    }
    pieces
        .into_iter()
        .map(|(first, winner)| (first, winner.map_or(fallback, |index| spans[index].route)))
        .collect()
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::net::key;

    fn nets(list: &[&str]) -> Vec<Net> {
        list.iter().map(|n| n.parse().unwrap()).collect()
    }

    fn v4(map: &RouteMap, addr: &str) -> (u16, u8) {
        let r = map.route_v4(key(addr.parse().unwrap()) as u32);
        (r.route, r.scope)
    }

    fn v6(map: &RouteMap, addr: &str) -> (u16, u8) {
        let r = map.route_v6(key(addr.parse().unwrap()));
        (r.route, r.scope)
    }

    #[test]
    fn a_network_decides_with_its_own_length() {
        let map = RouteMap::build(&[nets(&["10.1.0.0/16"]), nets(&["192.0.2.0/24"])], 2);
        assert_eq!(v4(&map, "10.1.2.3"), (0, 16));
        assert_eq!(v4(&map, "192.0.2.200"), (1, 24));
        // Outside both: the fallback, with the largest block free of either network.
        assert_eq!(v4(&map, "10.2.0.1"), (2, 15));
        assert_eq!(v4(&map, "0.0.0.1"), (2, 5));
        assert_eq!(v4(&map, "200.0.0.1"), (2, 5));
        assert_eq!(v6(&map, "2001:db8::1"), (2, 0));
    }

    #[test]
    fn the_first_route_wins_and_narrows_a_later_one() {
        // Route 0 holds a /16 inside route 1's /8: the /16 goes to route 0, the rest of
        // the /8 to route 1 in blocks that avoid the /16.
        let map = RouteMap::build(&[nets(&["10.1.0.0/16"]), nets(&["10.0.0.0/8"])], 2);
        assert_eq!(v4(&map, "10.1.9.9"), (0, 16));
        assert_eq!(v4(&map, "10.0.0.1"), (1, 16));
        assert_eq!(v4(&map, "10.2.0.1"), (1, 15));
        assert_eq!(v4(&map, "10.128.0.1"), (1, 9));
        // The other way round the /8 takes all of it, the /16 included.
        let map = RouteMap::build(&[nets(&["10.0.0.0/8"]), nets(&["10.1.0.0/16"])], 2);
        assert_eq!(v4(&map, "10.1.9.9"), (0, 8));
        assert_eq!(v4(&map, "10.200.9.9"), (0, 8));
    }

    #[test]
    fn ipv6_and_whole_spaces() {
        let map = RouteMap::build(&[nets(&["2001:db8:1::/48"]), nets(&["::/0"])], 0);
        assert_eq!(v6(&map, "2001:db8:1::5"), (0, 48));
        assert_eq!(v6(&map, "2001:db8:2::5"), (1, 47));
        assert_eq!(v6(&map, "ffff::1"), (1, 1));
        assert_eq!(v4(&map, "192.0.2.1"), (0, 0));
        let all4 = RouteMap::build(&[nets(&["0.0.0.0/0"])], 1);
        assert_eq!(v4(&all4, "255.255.255.255"), (0, 0));
        assert_eq!(all4.pieces(), 2);
    }

    #[test]
    fn scopes_never_reach_another_route() {
        let map = RouteMap::build(&[nets(&["10.0.0.1/32", "10.0.0.6/31"])], 1);
        assert_eq!(v4(&map, "10.0.0.0"), (1, 32));
        assert_eq!(v4(&map, "10.0.0.1"), (0, 32));
        assert_eq!(v4(&map, "10.0.0.2"), (1, 31));
        assert_eq!(v4(&map, "10.0.0.4"), (1, 31));
        assert_eq!(v4(&map, "10.0.0.7"), (0, 31));
        assert_eq!(v4(&map, "10.0.0.8"), (1, 29));
        // For every address, the block its scope names has one route from end to end.
        let map = RouteMap::build(
            &[
                nets(&["10.0.0.1/32", "10.0.0.6/31"]),
                nets(&["10.0.0.0/27"]),
            ],
            2,
        );
        for last in 0..64u32 {
            let addr = 0x0a00_0000 | last;
            let Routed { route, scope } = map.route_v4(addr);
            let mask = u32::MAX.checked_shl(32 - u32::from(scope)).unwrap_or(0);
            let (first, end) = (addr & mask, addr | !mask);
            assert_eq!(map.route_v4(first).route, route, "{addr:#x}/{scope}");
            assert_eq!(map.route_v4(end).route, route, "{addr:#x}/{scope}");
            if scope > 0 {
                let wider = u32::MAX.checked_shl(33 - u32::from(scope)).unwrap_or(0);
                let (a, b) = (addr & wider, addr | !wider);
                let same = map.route_v4(a).route == route && map.route_v4(b).route == route;
                assert!(
                    !same || {
                        // A wider block may hold the same route only through another piece.
                        (a..=b).step_by(1).any(|x| map.route_v4(x).route != route)
                    },
                    "{addr:#x}/{scope} is not the widest"
                );
            }
        }
    }

    #[test]
    fn the_index_finds_what_the_whole_search_finds() {
        // 3,000 networks of mixed lengths, clustered so that some 16-bit buckets hold many
        // pieces and most hold one; both families.
        let mut routes = vec![Vec::new(); 3];
        let mut x = 0x2545_f491u32;
        for i in 0..3000u32 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let len = 8 + (x % 25) as u8;
            let base = if i % 2 == 0 {
                x
            } else {
                0x0a00_0000 | (x & 0x00ff_ffff)
            };
            let v4 = std::net::Ipv4Addr::from(base);
            routes[(i % 3) as usize].push(Net::containing(v4.into(), len));
            let v6 = std::net::Ipv6Addr::from(u128::from(x) << 80 | 0x2001 << 112);
            routes[(i % 3) as usize].push(Net::containing(v6.into(), 16 + len));
        }
        let map = RouteMap::build(&routes, 3);
        assert!(map.v4.starts.len() >= INDEXED_FROM && map.v4.index.len() == INDEX_LEN);
        assert!(map.v6.starts.len() >= INDEXED_FROM && map.v6.index.len() == INDEX_LEN);
        let mut plain = map.clone();
        plain.v4.index = Box::new([]);
        plain.v6.index = Box::new([]);
        let mut y = 0x9e37_79b9u32;
        for _ in 0..200_000 {
            y = y.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let near = map.v4.starts[(y as usize) % map.v4.starts.len()];
            for addr in [y, near, near.wrapping_sub(1), 0x0a00_0000 | (y >> 8)] {
                assert_eq!(map.route_v4(addr), plain.route_v4(addr), "{addr:#x}");
            }
            let near6 = map.v6.starts[(y as usize) % map.v6.starts.len()];
            for addr in [u128::from(y) << 96, near6, near6.wrapping_sub(1)] {
                assert_eq!(map.route_v6(addr), plain.route_v6(addr), "{addr:#x}");
            }
        }
        assert_eq!(map.route_v4(u32::MAX), plain.route_v4(u32::MAX));
        assert_eq!(map.route_v6(u128::MAX), plain.route_v6(u128::MAX));
    }
}
