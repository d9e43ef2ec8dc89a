//! What a health-checked pool serves right now, as plain data: the decision the health
//! code makes and the input from which the table compiles the pool's A and AAAA answers
//! (and every CNAME chain that ends at the pool's name). Nothing here depends on the rest
//! of the table.

use crate::geo::RouteMap;
use crate::name::Name;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

/// One address in a pool's answer, with its share for weighted selection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Served<A> {
    pub address: A,
    pub weight: u32,
}

/// How the addresses of a pool are spread over queries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Spread {
    /// Every address in every answer, in the given order.
    All,
    /// Every address in every answer, the order rotating from query to query.
    Rotate,
    /// One address per answer, chosen in proportion to its weight.
    Weighted,
}

/// The current answer of one pool. Empty address lists give NODATA for that type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolAnswer {
    pub ttl: u32,
    pub spread: Spread,
    pub v4: Vec<Served<Ipv4Addr>>,
    pub v6: Vec<Served<Ipv6Addr>>,
}

impl PoolAnswer {
    /// No address of either family (NODATA), with `ttl`.
    pub fn empty(ttl: u32) -> PoolAnswer {
        PoolAnswer {
            ttl,
            spread: Spread::All,
            v4: Vec::new(),
            v6: Vec::new(),
        }
    }
}

/// A pool as the table knows it: the name it owns and what it serves now, per route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolDef {
    pub name: Name,
    /// One answer per route, in route order; one for a pool without routes.
    pub answers: Vec<PoolAnswer>,
    /// Which client gets which route; `None` when every client gets `answers[0]`.
    pub routing: Option<Arc<RouteMap>>,
}

impl PoolDef {
    /// A pool without routes, serving `answer` to every client.
    pub fn new(name: Name, answer: PoolAnswer) -> PoolDef {
        PoolDef {
            name,
            answers: vec![answer],
            routing: None,
        }
    }
}
