//! The compiled answers of one pool: for every site its variants (one per rotation or
//! weighted choice) in a small arena of its own, so a health change rebuilds only these.

use super::arena::{Arena, Pick};
use super::compile::{build_site, site_is_signed, Compiled};
use super::pool_answer::{PoolAnswer, Spread};
use super::zone_view::PoolRecords;
use crate::wire::rtype;
use std::ops::Range;

/// The compiled answers of one pool's sites (each place in the zones where the pool's
/// addresses are answered): every variant, and how a query picks one.
#[derive(Default)]
pub struct SiteVariants {
    pub arena: Arena,
    /// Per site (in the order of `Compiled::pool_sites`): its variants and their pick.
    pub sites: Vec<(Range<u32>, Pick)>,
}

impl SiteVariants {
    /// Builds every site of `pool` for `answer`, with the signed forms where the zone is
    /// signed (signing the pool's RRsets now: this runs where health decisions are made,
    /// never on the query path).
    pub fn build(compiled: &Compiled, pool: u32, answer: &PoolAnswer) -> SiteVariants {
        let mut out = SiteVariants::default();
        for spec in &compiled.pool_sites[pool as usize] {
            let start = out.arena.answers.len() as u32;
            let first = build_site(compiled, spec, &Variant { answer, index: 0 }, false);
            let family = first.family;
            out.arena.push(first.sections, first.rcode, true);
            let count = family.map_or(1, |t| variant_count(answer, t));
            for index in 1..count {
                let built = build_site(compiled, spec, &Variant { answer, index }, false);
                out.arena.push(built.sections, built.rcode, true);
            }
            if site_is_signed(compiled, spec) {
                for index in 0..count {
                    let built = build_site(compiled, spec, &Variant { answer, index }, true);
                    let (rcode, proof) = (built.rcode, built.proof);
                    let signed =
                        out.arena
                            .push_proven(built.sections, rcode, true, proof, spec.zone);
                    out.arena.link_signed(start + index as u32, signed);
                }
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

    fn all(&self, _pool: u32, rtype: u16) -> (u32, Vec<Vec<u8>>) {
        all_records(self.answer, rtype)
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
    let (ttl, all) = all_records(answer, rtype);
    if all.is_empty() {
        return (ttl, all);
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
    (ttl, chosen)
}

/// TTL and RDATAs of every address of type `rtype` the pool serves now, in its order.
pub fn all_records(answer: &PoolAnswer, rtype: u16) -> (u32, Vec<Vec<u8>>) {
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
    (answer.ttl, all)
}
