//! The answer table: every answer a zone set can give, compiled into wire bytes at load.
//!
//! Names map to nodes; a node maps query types to precompiled answers. An answer is the
//! record sections that follow the echoed question, plus the relocations and cut points the
//! engine needs to copy it behind a question of any length and into any size limit.
//!
//! A name below a DNAME has no precompiled answer: the lookup returns a marker answer
//! ([`AnswerRef::is_dname`], one compare on the common path) whose DNAME
//! [`Table::dname_of`] gives; the engine synthesizes the CNAME into the reply, then looks
//! the synthesized name up again with [`Table::chase`], inside the DNAME's zone only.
//!
//! Answers that use a health-checked pool's addresses live apart, one small arena per pool,
//! so a health change rebuilds only that pool's answers and a new table shares everything
//! else with the old one ([`Table::with_pool`]).

mod arena;
mod chain;
mod compile;
mod dname;
mod export;
mod fxhash;
pub mod pool_answer;
mod signing;
mod sites;
mod writer;
mod zone_view;

pub use arena::{Answer, Proof};
pub use chain::Piece;
pub use dname::DnameRef;
pub use export::ZoneRecords;
pub use fxhash::FxHasher;
pub use pool_answer::{PoolAnswer, PoolDef, Served, Spread};
pub use writer::{Cut, Reloc};

use crate::dnssec::ZoneSigner;
pub use crate::geo::Client;
use crate::name::Name;
use crate::wire::rtype;
use crate::zone::Zone;
use arc_swap::ArcSwap;
use arena::Arena;
use compile::Compiled;
use sites::SiteVariants;
use std::ops::Range;
use std::sync::Arc;

/// The table behind the pointer that workers read and the loader swaps.
pub type SharedTable = Arc<ArcSwap<Table>>;

/// Marks "none" in index fields.
const NONE: u32 = u32::MAX;
/// Marks an answer index that names a pool site rather than a static answer.
const DYNAMIC: u32 = 1 << 31;
/// The rcode of the marker answers that stand for a DNAME (no real rcode is this large).
const DNAME_MARK: u16 = u16::MAX;

/// One name of a zone: the answers to each query type there.
#[derive(Clone, Debug)]
pub(crate) struct Node {
    /// Query types with an answer of their own, into `Compiled::by_type`.
    pub types: Range<u32>,
    /// The answer to every other query type.
    pub default: u32,
    /// The referral, when the name is at or below a zone cut.
    pub referral: u32,
    /// Whether the name is the cut itself (a DS query there is answered by the parent).
    pub at_cut: bool,
    /// The node of `*.<this name>`, if the zone has one.
    pub wildcard: u32,
    /// The zone's NXDOMAIN answer.
    pub nxdomain: u32,
    /// When the name owns a DNAME: its index in `Compiled::dnames`, which applies to every
    /// name below (the zone holds none).
    pub dname: u32,
}

/// What a zone contributed, for `swivel check` and logs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZoneSummary {
    pub origin: Name,
    pub records: usize,
    pub names: usize,
}

/// Precompiled answers for a set of zones and pools.
pub struct Table {
    compiled: Arc<Compiled>,
    /// Per pool and route (`Compiled::pool_units` says where a pool's routes start), its
    /// compiled answers.
    units: Vec<Arc<SiteVariants>>,
    /// Zones configured but not served now (secondary zones without a copy or past their
    /// expire time): names in them answer SERVFAIL rather than REFUSED.
    unserved: Arc<[Name]>,
}

/// What a chase found for a synthesized name.
#[derive(Clone, Copy)]
pub enum Lookup<'t> {
    /// A precompiled answer.
    Answer(AnswerRef<'t>),
    /// The name is below this DNAME: the answer is synthesized from it.
    Dname(DnameRef<'t>),
}

/// An answer found by a lookup, with the arena its bytes live in.
#[derive(Clone, Copy)]
pub struct AnswerRef<'t> {
    answer: &'t Answer,
    arena: &'t Arena,
    /// For a name that does not exist: the node of its closest encloser, else `NONE`.
    encloser: u32,
    /// For a routed pool's answer not yet chosen for a client ([`Table::for_client`]):
    /// the site it is (then `answer` is the fallback route's); `NONE` for every other.
    routed: u32,
}

impl<'t> AnswerRef<'t> {
    /// Whether the reply is authoritative (clear for referrals).
    pub fn authoritative(&self) -> bool {
        self.answer.authoritative
    }

    pub fn rcode(&self) -> u16 {
        self.answer.rcode
    }

    /// Whether this stands for a DNAME that the question name is below: the answer is then
    /// synthesized from [`Table::dname_of`], not copied.
    #[inline]
    pub fn is_dname(&self) -> bool {
        self.answer.rcode == DNAME_MARK
    }

    /// Identifies this answer while the table lives (for rate limiting per answer).
    #[inline]
    pub fn identity(&self) -> u64 {
        std::ptr::from_ref(self.answer) as usize as u64
    }

    /// The record bytes.
    #[inline]
    pub fn bytes(&self) -> &'t [u8] {
        self.arena.bytes(self.answer)
    }

    /// The pointers to adjust by the question name's length, in ascending position.
    #[inline]
    pub fn relocs(&self) -> &'t [Reloc] {
        self.arena.relocs(self.answer)
    }

    /// Where the answer may be cut, ascending; the last is the whole answer. Empty when the
    /// answer has no records.
    #[inline]
    pub fn cuts(&self) -> &'t [Cut] {
        self.arena.cuts(self.answer)
    }

    /// The answer with its DNSSEC records, for a query with the DO bit: itself when its
    /// zone is not signed here.
    #[inline]
    pub fn signed_form(self) -> AnswerRef<'t> {
        match self.answer.signed {
            NONE => self,
            index => AnswerRef {
                answer: &self.arena.answers[index as usize],
                ..self
            },
        }
    }

    /// Whether this is a routed pool's answer, which [`Table::for_client`] picks the
    /// client's route of.
    #[inline]
    pub fn is_routed(&self) -> bool {
        self.routed != NONE
    }

    /// The NSEC proof the engine adds for the question name.
    #[inline]
    pub fn proof(&self) -> Proof {
        self.answer.proof
    }
}

impl Default for Table {
    fn default() -> Self {
        Table::compile(&[], &[])
    }
}

impl Table {
    /// Compiles validated zones and the pools' current answers into a table. Pools should
    /// have passed `app::check_pools_against_zones`; a pool in no zone is ignored.
    pub fn compile(zones: &[Zone], pools: &[PoolDef]) -> Table {
        compile::compile(zones, pools, &[])
    }

    /// [`Table::compile`], signing each zone for which `signers` holds a signer at the
    /// zone's index: every RRset signed, the NSEC chain made, and a signed form of every
    /// answer for queries with the DO bit.
    pub fn compile_signed(
        zones: &[Zone],
        pools: &[PoolDef],
        signers: &[Option<Arc<ZoneSigner>>],
    ) -> Table {
        compile::compile(zones, pools, signers)
    }

    /// The NSEC records that prove `found` (a signed answer) for the lowercase wire-form
    /// question name `qname`: none, one or two pieces, by the answer's [`Proof`].
    #[inline]
    pub fn proof_pieces(&self, found: &AnswerRef<'_>, qname: &[u8]) -> [Option<Piece<'_>>; 2] {
        let answer = found.answer;
        if answer.proof == Proof::None {
            return [None, None];
        }
        let c = &*self.compiled;
        let Some(chain) = c.chains.get(answer.zone as usize) else {
            return [None, None];
        };
        let Some(cover) = chain.covering(qname) else {
            return [None, None];
        };
        let wildcard = match (answer.proof, c.wildcard_cover.get(found.encloser as usize)) {
            (Proof::NameAndWildcard, Some(&link)) if link != NONE && link != cover => {
                Some(chain.piece(link))
            }
            _ => None,
        };
        [Some(chain.piece(cover)), wildcard]
    }

    /// A table equal to this one but for route `route` of pool `pool` (0 for a pool
    /// without routes), which now serves `answer`. Shares all zone data and every other
    /// pool's and route's answers with `self`. A route the pool does not have changes
    /// nothing.
    pub fn with_pool(&self, pool: usize, route: usize, answer: &PoolAnswer) -> Table {
        let mut units = self.units.clone();
        let c = &self.compiled;
        let unit = c.pool_units.get(pool).map(|&u| u as usize + route);
        let end = c
            .pool_units
            .get(pool + 1)
            .map_or(units.len(), |&u| u as usize);
        if let Some(unit) = unit.filter(|&u| u < end) {
            units[unit] = Arc::new(SiteVariants::build(c, pool as u32, answer));
        }
        Table {
            compiled: self.compiled.clone(),
            units,
            unserved: self.unserved.clone(),
        }
    }

    /// Whether `other` holds the same compiled zones as this table: a pool's health change
    /// or a new list of unserved zones keeps them, a reload or re-signing does not.
    pub fn same_zones(&self, other: &Table) -> bool {
        Arc::ptr_eq(&self.compiled, &other.compiled)
    }

    /// The zones [`Table::with_unserved`] named.
    pub fn unserved(&self) -> &[Name] {
        &self.unserved
    }

    /// This table with `zones` as the zones configured but not served now.
    pub fn with_unserved(mut self, zones: Vec<Name>) -> Table {
        self.unserved = Arc::from(zones);
        self
    }

    /// Whether a lowercase wire-form name that [`Table::lookup`] found in no zone lies in a
    /// zone configured but not served now. No allocation.
    pub fn is_unserved(&self, qname: &[u8]) -> bool {
        self.unserved
            .iter()
            .any(|zone| crate::name::is_suffix_at_label(qname, zone.as_wire()))
    }

    /// Wraps a table for sharing with workers.
    pub fn shared(self) -> SharedTable {
        Arc::new(ArcSwap::from_pointee(self))
    }

    /// Whether some pool routes clients by address (the servers then read each query's
    /// source address).
    pub fn is_routed(&self) -> bool {
        self.compiled.routed
    }

    /// The zones in this table.
    pub fn zones(&self) -> &[ZoneSummary] {
        &self.compiled.zones
    }

    /// Finds the answer for a lowercase wire-form question name; `None` when no zone here
    /// is authoritative for it. `spin` picks among the variants of a pool's answer (a
    /// per-worker counter: rotation and weighted choice without shared state). Below a
    /// DNAME the answer is a marker ([`AnswerRef::is_dname`]).
    #[inline]
    pub fn lookup(&self, qname: &[u8], qtype: u16, spin: u32) -> Option<AnswerRef<'_>> {
        let c = &*self.compiled;
        if let Some(&index) = c.names.get(qname) {
            return Some(self.at_node(index, qtype, spin));
        }
        // Not an existing name: find the closest encloser (RFC 4592).
        let mut rest = qname;
        while rest.len() > 1 {
            rest = &rest[1 + rest[0] as usize..];
            if let Some(&index) = c.names.get(rest) {
                return Some(self.below_node(index, qtype, spin));
            }
        }
        None
    }

    /// The answer of a routed pool ([`AnswerRef::is_routed`]) for `client`, and its ECS
    /// scope (how much of the client's address decided it); any other answer is returned
    /// as it is, with scope 0. Out of line: only routed pools pay for it.
    #[inline(never)]
    pub fn for_client<'t>(
        &'t self,
        found: AnswerRef<'t>,
        spin: u32,
        client: Client,
    ) -> (AnswerRef<'t>, u8) {
        if found.routed == NONE {
            return (found, 0);
        }
        let site = self.compiled.sites[found.routed as usize];
        let (unit, scope) = match &self.compiled.routing[site.pool as usize] {
            Some(map) => {
                let routed = map.route(client);
                (site.unit + u32::from(routed.route), routed.scope)
            }
            None => (site.unit, 0),
        };
        let chosen = AnswerRef {
            encloser: found.encloser,
            ..self.unit_answer(unit, site.slot, spin)
        };
        (chosen, scope)
    }

    /// The DNAME a marker answer stands for; `None` for every other answer.
    pub fn dname_of(&self, found: &AnswerRef<'_>) -> Option<DnameRef<'_>> {
        let markers = &self.compiled.dname_markers;
        if !std::ptr::eq(found.arena, markers) {
            return None;
        }
        let at = std::ptr::from_ref(found.answer) as usize;
        let first = markers.answers.as_ptr() as usize;
        let index = (at - first) / std::mem::size_of::<Answer>();
        let dname = self.compiled.dnames.get(index)?;
        Some(DnameRef { dname })
    }

    /// Looks up a name synthesized from `dname` (lowercase wire form), in the DNAME's own
    /// zone only: `None` when the name is outside it (or in a child zone), where a DNAME
    /// chain stops, as Knot DNS stops it.
    pub fn chase(
        &self,
        name: &[u8],
        qtype: u16,
        spin: u32,
        dname: &DnameRef<'_>,
    ) -> Option<Lookup<'_>> {
        let c = &*self.compiled;
        let zone = dname.zone();
        let found = if let Some(&index) = c.names.get(name) {
            zone.contains(&index)
                .then(|| self.at_node(index, qtype, spin))
        } else {
            let mut rest = name;
            let mut found = None;
            while rest.len() > 1 {
                rest = &rest[1 + rest[0] as usize..];
                if let Some(&index) = c.names.get(rest) {
                    found = zone
                        .contains(&index)
                        .then(|| self.below_node(index, qtype, spin));
                    break;
                }
            }
            found
        }?;
        Some(match self.dname_of(&found) {
            Some(next) => Lookup::Dname(next),
            None => Lookup::Answer(found),
        })
    }

    /// The answer at an existing name.
    #[inline(always)]
    fn at_node(&self, index: u32, qtype: u16, spin: u32) -> AnswerRef<'_> {
        let node = &self.compiled.nodes[index as usize];
        if node.referral != NONE && !(node.at_cut && qtype == rtype::DS) {
            return self.answer(node.referral, spin);
        }
        self.answer(self.index_at(node, qtype), spin)
    }

    /// What a missing name gets below its closest encloser: the referral, the wildcard's
    /// answer, the DNAME's marker, or NXDOMAIN.
    #[inline(always)]
    fn below_node(&self, index: u32, qtype: u16, spin: u32) -> AnswerRef<'_> {
        let c = &*self.compiled;
        let encloser_index = index;
        let encloser = &c.nodes[index as usize];
        let index = if encloser.referral != NONE {
            encloser.referral
        } else if encloser.wildcard != NONE {
            self.index_at(&c.nodes[encloser.wildcard as usize], qtype)
        } else if encloser.dname != NONE {
            let markers = &c.dname_markers;
            return AnswerRef {
                answer: &markers.answers[encloser.dname as usize],
                arena: markers,
                encloser: encloser_index,
                routed: NONE,
            };
        } else {
            encloser.nxdomain
        };
        AnswerRef {
            encloser: encloser_index,
            ..self.answer(index, spin)
        }
    }

    #[inline]
    fn index_at(&self, node: &Node, qtype: u16) -> u32 {
        let types = &self.compiled.by_type[node.types.start as usize..node.types.end as usize];
        types
            .iter()
            .find(|(t, _)| *t == qtype)
            .map_or(node.default, |&(_, a)| a)
    }

    // Always inlined: the common path through `lookup` must not pay a call for it.
    #[inline(always)]
    fn answer(&self, index: u32, spin: u32) -> AnswerRef<'_> {
        if index & DYNAMIC == 0 {
            let arena = &self.compiled.arena;
            return AnswerRef {
                answer: &arena.answers[index as usize],
                arena,
                encloser: NONE,
                routed: NONE,
            };
        }
        let site_index = index & !DYNAMIC;
        let site = self.compiled.sites[site_index as usize];
        match site.routed {
            false => self.unit_answer(site.unit, site.slot, spin),
            true => AnswerRef {
                routed: site_index,
                ..self.unit_answer(site.unit + u32::from(site.fallback), site.slot, spin)
            },
        }
    }

    /// The variant `spin` picks of a site's answer in one pool unit.
    #[inline(always)]
    fn unit_answer(&self, unit: u32, slot: u32, spin: u32) -> AnswerRef<'_> {
        let pool = &*self.units[unit as usize];
        let (variants, pick) = &pool.sites[slot as usize];
        let chosen = variants.start + pool.arena.pick(pick, spin);
        AnswerRef {
            answer: &pool.arena.answers[chosen as usize],
            arena: &pool.arena,
            encloser: NONE,
            routed: NONE,
        }
    }
}
