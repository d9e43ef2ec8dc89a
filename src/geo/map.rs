//! The map from a client address to a pool's route, compiled once per set of routes: the
//! whole IPv4 and IPv6 space cut into aligned blocks, each with the route its addresses
//! get and its prefix length, which is the ECS scope of the answer (RFC 7871 section
//! 7.2.1: the network that decided the route, or the part of it no earlier route takes).
//!
//! Routes are tried in order and the first whose networks hold the address wins; addresses
//! in none get the fallback route (the one that matches `default`). A lookup is one binary
//! search over sorted block starts: no allocation, no lock.

use crate::config::net::Net;
use std::collections::BTreeMap;

/// What a lookup finds: the route and the prefix length of the block that decided it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Routed {
    pub route: u16,
    pub scope: u8,
}

/// Aligned blocks covering one family's whole address space, sorted by first address.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Blocks<K> {
    starts: Box<[K]>,
    routed: Box<[Routed]>,
}

/// A compiled route map for both families.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteMap {
    v4: Blocks<u32>,
    v6: Blocks<u128>,
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
        let v4 = blocks(&v4, 32, fallback);
        let v6 = blocks(&v6, 128, fallback);
        RouteMap {
            v4: Blocks {
                starts: v4.iter().map(|&(s, _)| s as u32).collect(),
                routed: v4.iter().map(|&(_, r)| r).collect(),
            },
            v6: Blocks {
                starts: v6.iter().map(|&(s, _)| s).collect(),
                routed: v6.iter().map(|&(_, r)| r).collect(),
            },
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
        let at = self.v4.starts.partition_point(|&s| s <= addr);
        self.v4.routed[at.saturating_sub(1)]
    }

    /// The route of an IPv6 address.
    #[inline]
    pub fn route_v6(&self, addr: u128) -> Routed {
        let at = self.v6.starts.partition_point(|&s| s <= addr);
        self.v6.routed[at.saturating_sub(1)]
    }

    /// How many blocks the map holds (both families), for logs and benchmarks.
    pub fn blocks(&self) -> usize {
        self.v4.starts.len() + self.v6.starts.len()
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

/// The winner of every part of a family's space (`bits` wide), as aligned blocks.
fn blocks(spans: &[Span], bits: u8, fallback: u16) -> Vec<(u128, Routed)> {
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
    let mut out = Vec::new();
    for (n, &(first, winner)) in pieces.iter().enumerate() {
        let last = match pieces.get(n + 1) {
            Some(&(next, _)) => next - 1,
            None => end.map_or(u128::MAX, |e| e - 1),
        };
        let route = winner.map_or(fallback, |index| spans[index].route);
        aligned(first, last, bits, |start, len| {
            out.push((start, Routed { route, scope: len }))
        });
    }
    out
}

/// Cuts `[first, last]` into the fewest aligned blocks, calling `block(start, prefix_len)`
/// for each in order; every block is the largest aligned one holding its addresses.
fn aligned(first: u128, last: u128, bits: u8, mut block: impl FnMut(u128, u8)) {
    let mut start = first;
    loop {
        // The largest power of two `start` is aligned to, within the family.
        let align = match start {
            0 => u32::from(bits),
            s => s.trailing_zeros().min(u32::from(bits)),
        };
        let mut size_log = align;
        // Shrink until the block ends at or before `last`.
        while size_log > 0 && block_last(start, size_log) > last {
            size_log -= 1;
        }
        block(start, bits - size_log as u8);
        let end = block_last(start, size_log);
        if end >= last {
            return;
        }
        start = end + 1;
    }
}

/// The last address of the block of 2^`size_log` addresses starting at `start`.
fn block_last(start: u128, size_log: u32) -> u128 {
    match size_log {
        128 => u128::MAX,
        s => start.saturating_add((1u128 << s) - 1),
    }
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
        assert_eq!(all4.blocks(), 2);
    }

    #[test]
    fn blocks_are_aligned_and_cover_everything() {
        let map = RouteMap::build(&[nets(&["10.0.0.1/32", "10.0.0.6/31"])], 1);
        assert_eq!(v4(&map, "10.0.0.0"), (1, 32));
        assert_eq!(v4(&map, "10.0.0.1"), (0, 32));
        assert_eq!(v4(&map, "10.0.0.2"), (1, 31));
        assert_eq!(v4(&map, "10.0.0.4"), (1, 31));
        assert_eq!(v4(&map, "10.0.0.7"), (0, 31));
        assert_eq!(v4(&map, "10.0.0.8"), (1, 29));
        // Every block start is aligned to its size.
        for (start, routed) in map.v4.starts.iter().zip(map.v4.routed.iter()) {
            let size_log = 32 - u32::from(routed.scope);
            assert_eq!(u64::from(*start) % (1u64 << size_log), 0, "{start:#x}");
        }
    }
}
