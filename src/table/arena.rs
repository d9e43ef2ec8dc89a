//! Storage for precompiled answers: one contiguous buffer each for bytes, relocations, cut
//! points and weights, so a table is a few large allocations rather than many small ones.

use super::writer::{Cut, Reloc, Sections};
use std::ops::Range;

/// One precompiled answer: where its parts lie in an [`Arena`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// Whether the reply is authoritative (clear for referrals).
    pub authoritative: bool,
    pub rcode: u16,
    /// What the engine adds to this answer per query: the NSEC proof for the question name.
    pub proof: Proof,
    /// The zone whose NSEC chain the proof comes from.
    pub zone: u32,
    /// The index of this answer's signed form (for queries with the DO bit) in the same
    /// arena, or `super::NONE` when there is none (an unsigned zone).
    pub signed: u32,
    bytes: Range<u32>,
    relocs: Range<u32>,
    cuts: Range<u32>,
}

/// The NSEC records a signed answer needs for the question name, found per query because
/// the name is not known at compile time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proof {
    /// Nothing: the answer is complete.
    None,
    /// The NSEC covering the question name (a wildcard answer or wildcard NODATA: RFC 4035
    /// section 3.1.3.3 and 3.1.3.4).
    CoverName,
    /// The NSEC covering the question name and the one covering (or owned by) the wildcard
    /// at its closest encloser: NXDOMAIN (RFC 4035 section 3.1.3.2), and wildcard NODATA
    /// (section 3.1.3.4), whose wildcard NSEC is often the one covering the name too.
    NameAndWildcard,
}

/// How one of several variants of an answer is picked for a query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pick {
    /// A single variant.
    Only,
    /// Variant `spin % n`: every variant in turn.
    Rotate(u32),
    /// Variant `i` with probability weight(i) / total: cumulative weights in the arena.
    Weighted(Range<u32>),
}

/// Answers and the buffers they point into.
#[derive(Default)]
pub struct Arena {
    pub answers: Vec<Answer>,
    bytes: Vec<u8>,
    relocs: Vec<Reloc>,
    cuts: Vec<Cut>,
    cumulative: Vec<u32>,
}

impl Arena {
    /// Stores an answer; returns its index.
    pub fn push(&mut self, sections: Sections, rcode: u16, authoritative: bool) -> u32 {
        self.push_proven(sections, rcode, authoritative, Proof::None, super::NONE)
    }

    /// Stores an answer that needs `proof` from the chain of zone `zone`; returns its index.
    pub fn push_proven(
        &mut self,
        sections: Sections,
        rcode: u16,
        authoritative: bool,
        proof: Proof,
        zone: u32,
    ) -> u32 {
        let span = |start: usize, len: usize| start as u32..(start + len) as u32;
        let answer = Answer {
            authoritative,
            rcode,
            proof,
            zone,
            signed: super::NONE,
            bytes: span(self.bytes.len(), sections.bytes.len()),
            relocs: span(self.relocs.len(), sections.relocs.len()),
            cuts: span(self.cuts.len(), sections.cuts.len()),
        };
        self.bytes.extend_from_slice(&sections.bytes);
        self.relocs.extend_from_slice(&sections.relocs);
        self.cuts.extend_from_slice(&sections.cuts);
        self.answers.push(answer);
        (self.answers.len() - 1) as u32
    }

    /// Makes answer `signed` the signed form of answer `unsigned`.
    pub fn link_signed(&mut self, unsigned: u32, signed: u32) {
        self.answers[unsigned as usize].signed = signed;
    }

    /// Stores the running sums of `weights`; returns the `Pick` that uses them.
    pub fn push_weights(&mut self, weights: impl IntoIterator<Item = u32>) -> Pick {
        let start = self.cumulative.len() as u32;
        let mut sum = 0u32;
        for w in weights {
            sum = sum.saturating_add(w);
            self.cumulative.push(sum);
        }
        Pick::Weighted(start..self.cumulative.len() as u32)
    }

    /// Which of the variants `pick` selects for `spin`.
    #[inline]
    pub fn pick(&self, pick: &Pick, spin: u32) -> u32 {
        match pick {
            Pick::Only => 0,
            Pick::Rotate(n) => spin % n,
            Pick::Weighted(range) => {
                let sums = &self.cumulative[range.start as usize..range.end as usize];
                let total = sums.last().copied().unwrap_or(0).max(1);
                let point = spin % total;
                sums.partition_point(|&s| s <= point) as u32
            }
        }
    }

    #[inline]
    pub fn bytes(&self, a: &Answer) -> &[u8] {
        &self.bytes[a.bytes.start as usize..a.bytes.end as usize]
    }

    #[inline]
    pub fn relocs(&self, a: &Answer) -> &[Reloc] {
        &self.relocs[a.relocs.start as usize..a.relocs.end as usize]
    }

    #[inline]
    pub fn cuts(&self, a: &Answer) -> &[Cut] {
        &self.cuts[a.cuts.start as usize..a.cuts.end as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weighted_pick_follows_the_weights_exactly_over_one_cycle() {
        let mut arena = Arena::default();
        let pick = arena.push_weights([3, 1, 0, 2]);
        let mut counts = [0; 4];
        for spin in 0..6 {
            counts[arena.pick(&pick, spin) as usize] += 1;
        }
        assert_eq!(counts, [3, 1, 0, 2]);
        assert_eq!(arena.pick(&Pick::Rotate(3), 7), 1);
        assert_eq!(arena.pick(&Pick::Only, 7), 0);
    }
}
