//! The answer table: every answer a zone set can give, compiled into wire bytes at load.
//!
//! Names map to nodes; a node maps query types to precompiled answers. An answer is the
//! record sections that follow the echoed question, plus the relocations and cut points the
//! engine needs to copy it behind a question of any length and into any size limit.

mod compile;
mod fxhash;
mod writer;

pub use writer::{Cut, Reloc};

use crate::name::Name;
use crate::zone::{rtype, Zone};
use arc_swap::ArcSwap;
use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

/// The table behind the pointer that workers read and the loader swaps.
pub type SharedTable = Arc<ArcSwap<Table>>;

/// Marks "none" in index fields.
const NONE: u32 = u32::MAX;

/// One precompiled answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// Whether the reply is authoritative (clear for referrals).
    pub authoritative: bool,
    pub rcode: u16,
    bytes: Range<u32>,
    relocs: Range<u32>,
    cuts: Range<u32>,
}

/// One name of a zone: the answers to each query type there.
#[derive(Clone, Debug)]
struct Node {
    /// Query types with an answer of their own, into `Table::by_type`.
    types: Range<u32>,
    /// The answer to every other query type.
    default: u32,
    /// The referral, when the name is at or below a zone cut.
    referral: u32,
    /// Whether the name is the cut itself (a DS query there is answered by the parent).
    at_cut: bool,
    /// The node of `*.<this name>`, if the zone has one.
    wildcard: u32,
    /// The zone's NXDOMAIN answer.
    nxdomain: u32,
}

/// What a zone contributed, for `swivel check` and logs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZoneSummary {
    pub origin: Name,
    pub records: usize,
    pub names: usize,
}

/// Precompiled answers for a set of zones.
#[derive(Default)]
pub struct Table {
    names: HashMap<Box<[u8]>, u32, fxhash::BuildFxHasher>,
    nodes: Vec<Node>,
    by_type: Vec<(u16, u32)>,
    answers: Vec<Answer>,
    bytes: Vec<u8>,
    relocs: Vec<Reloc>,
    cuts: Vec<Cut>,
    zones: Vec<ZoneSummary>,
}

impl Table {
    /// Compiles validated zones into a table.
    pub fn compile(zones: &[Zone]) -> Table {
        compile::compile(zones)
    }

    /// Wraps a table for sharing with workers.
    pub fn shared(self) -> SharedTable {
        Arc::new(ArcSwap::from_pointee(self))
    }

    /// The zones in this table.
    pub fn zones(&self) -> &[ZoneSummary] {
        &self.zones
    }

    /// Finds the answer for a lowercase wire-form question name; `None` when no zone here
    /// is authoritative for it.
    #[inline]
    pub fn lookup(&self, qname: &[u8], qtype: u16) -> Option<&Answer> {
        if let Some(&index) = self.names.get(qname) {
            let node = &self.nodes[index as usize];
            if node.referral != NONE && !(node.at_cut && qtype == rtype::DS) {
                return Some(&self.answers[node.referral as usize]);
            }
            return Some(self.answer_at(node, qtype));
        }
        // Not an existing name: find the closest encloser (RFC 4592).
        let mut rest = qname;
        while rest.len() > 1 {
            rest = &rest[1 + rest[0] as usize..];
            if let Some(&index) = self.names.get(rest) {
                let encloser = &self.nodes[index as usize];
                if encloser.referral != NONE {
                    return Some(&self.answers[encloser.referral as usize]);
                }
                if encloser.wildcard != NONE {
                    return Some(self.answer_at(&self.nodes[encloser.wildcard as usize], qtype));
                }
                return Some(&self.answers[encloser.nxdomain as usize]);
            }
        }
        None
    }

    #[inline]
    fn answer_at(&self, node: &Node, qtype: u16) -> &Answer {
        let types = &self.by_type[node.types.start as usize..node.types.end as usize];
        let index = types
            .iter()
            .find(|(t, _)| *t == qtype)
            .map_or(node.default, |&(_, a)| a);
        &self.answers[index as usize]
    }

    /// The record bytes of an answer.
    #[inline]
    pub fn bytes(&self, answer: &Answer) -> &[u8] {
        &self.bytes[answer.bytes.start as usize..answer.bytes.end as usize]
    }

    /// The pointers to adjust by the question name's length, in ascending position.
    #[inline]
    pub fn relocs(&self, answer: &Answer) -> &[Reloc] {
        &self.relocs[answer.relocs.start as usize..answer.relocs.end as usize]
    }

    /// Where the answer may be cut, ascending; the last is the whole answer. Empty when
    /// the answer has no records.
    #[inline]
    pub fn cuts(&self, answer: &Answer) -> &[Cut] {
        &self.cuts[answer.cuts.start as usize..answer.cuts.end as usize]
    }
}
