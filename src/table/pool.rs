//! What a health-checked pool serves right now: the input from which the table compiles
//! the pool's A and AAAA answers (and every CNAME chain that ends at the pool's name).

use super::arena::{Arena, Pick};
use super::compile::{build_site, Compiled};
use super::zone_view::PoolRecords;
use crate::name::Name;
use crate::wire::rtype;
use crate::zone::Zone;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::ops::Range;

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

/// A pool as the table knows it: the name it owns and what it serves now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolDef {
    pub name: Name,
    pub answer: PoolAnswer,
}

/// The answers of one pool's sites: every variant, and how a query picks one.
#[derive(Default)]
pub struct PoolAnswers {
    pub arena: Arena,
    /// Per site (in the order of `Compiled::pool_sites`): its variants and their pick.
    pub sites: Vec<(Range<u32>, Pick)>,
}

impl PoolAnswers {
    /// Builds every site of `pool` for `answer`.
    pub fn build(compiled: &Compiled, pool: u32, answer: &PoolAnswer) -> PoolAnswers {
        let mut out = PoolAnswers::default();
        for spec in &compiled.pool_sites[pool as usize] {
            let start = out.arena.answers.len() as u32;
            let (sections, rcode, family) =
                build_site(compiled, spec, &Variant { answer, index: 0 });
            out.arena.push(sections, rcode, true);
            let count = family.map_or(1, |t| variant_count(answer, t));
            for index in 1..count {
                let (sections, rcode, _) = build_site(compiled, spec, &Variant { answer, index });
                out.arena.push(sections, rcode, true);
            }
            let pick = match (answer.spread, family) {
                (_, _) if count <= 1 => Pick::Only,
                (Spread::Rotate, _) => Pick::Rotate(count as u32),
                (Spread::Weighted, Some(rtype::AAAA)) => {
                    out.arena.push_weights(answer.v6.iter().map(|s| s.weight))
                }
                (Spread::Weighted, _) => out.arena.push_weights(answer.v4.iter().map(|s| s.weight)),
                (Spread::All, _) => Pick::Only,
            };
            out.sites.push((start..start + count as u32, pick));
        }
        out
    }
}

/// One variant of a pool's records.
struct Variant<'a> {
    answer: &'a PoolAnswer,
    index: usize,
}

impl PoolRecords for Variant<'_> {
    fn rrset(&self, _pool: u32, rtype: u16) -> (u32, Vec<Vec<u8>>) {
        records(self.answer, rtype, self.index)
    }
}

/// How many variants the answers of type `rtype` have.
fn variant_count(answer: &PoolAnswer, rtype: u16) -> usize {
    let len = match rtype {
        rtype::A => answer.v4.len(),
        rtype::AAAA => answer.v6.len(),
        _ => 0,
    };
    match answer.spread {
        Spread::All => 1,
        Spread::Rotate | Spread::Weighted => len.max(1),
    }
}

/// TTL and RDATAs of variant `index` of the pool's RRset of type `rtype`.
pub fn records(answer: &PoolAnswer, rtype: u16, index: usize) -> (u32, Vec<Vec<u8>>) {
    let all: Vec<Vec<u8>> = match rtype {
        rtype::A => answer
            .v4
            .iter()
            .map(|s| s.address.octets().to_vec())
            .collect(),
        rtype::AAAA => answer
            .v6
            .iter()
            .map(|s| s.address.octets().to_vec())
            .collect(),
        _ => Vec::new(),
    };
    if all.is_empty() {
        return (answer.ttl, all);
    }
    let chosen = match answer.spread {
        Spread::All => all,
        Spread::Rotate => {
            let mut all = all;
            let by = index % all.len();
            all.rotate_left(by);
            all
        }
        Spread::Weighted => vec![all[index % all.len()].clone()],
    };
    (answer.ttl, chosen)
}

/// A pool whose name cannot be served as configured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolProblem {
    /// Index of the pool in the list checked.
    pub pool: usize,
    pub message: String,
    /// The zone record the pool clashes with, if any: (file, line).
    pub record: Option<(std::path::PathBuf, usize)>,
}

/// Checks pool names against the zones: each must lie in a configured zone, not at or
/// below a delegation, not be a wildcard, and own no A, AAAA or CNAME records there.
pub fn check_pools(zones: &[Zone], pools: &[Name]) -> Vec<PoolProblem> {
    let mut problems = Vec::new();
    for (index, name) in pools.iter().enumerate() {
        let mut problem =
            |message: String, record: Option<&crate::zone::Record>, file: &std::path::Path| {
                problems.push(PoolProblem {
                    pool: index,
                    message,
                    record: record.map(|r| (file.to_path_buf(), r.line)),
                })
            };
        if pools[..index].contains(name) {
            problem(
                format!("pool {name} is configured twice"),
                None,
                std::path::Path::new(""),
            );
            continue;
        }
        let zone = zones
            .iter()
            .filter(|z| name.is_below_or_at(&z.origin))
            .max_by_key(|z| z.origin.len());
        let Some(zone) = zone else {
            problem(
                format!("pool {name} is in no configured zone"),
                None,
                std::path::Path::new(""),
            );
            continue;
        };
        if name.is_wildcard() {
            problem(
                format!("pool {name} is a wildcard name; a pool owns one exact name"),
                None,
                &zone.file,
            );
        }
        for record in zone.records.iter().filter(|r| r.owner == *name) {
            if matches!(record.rtype, rtype::A | rtype::AAAA | rtype::CNAME) {
                let kind = match record.rtype {
                    rtype::A => "A",
                    rtype::AAAA => "AAAA",
                    _ => "CNAME",
                };
                let text = format!("pool {name} owns the A and AAAA records of its name, but {} has {kind} at line {}", zone.file.display(), record.line);
                problem(text, Some(record), &zone.file);
            }
        }
        let cut = zone.records.iter().find(|r| {
            r.rtype == rtype::NS && r.owner != zone.origin && name.is_below_or_at(&r.owner)
        });
        if let Some(cut) = cut {
            let text = format!(
                "pool {name} is at or below the delegation {} ({} line {})",
                cut.owner,
                zone.file.display(),
                cut.line
            );
            problem(text, Some(cut), &zone.file);
        }
    }
    problems
}
