//! Compiling validated zones into the answer table. Every answer that does not depend on a
//! pool is built once here; answers that use a pool's records become sites, rebuilt by
//! [`super::pool`] whenever that pool changes.

use super::arena::{Arena, Proof};
use super::chain::Chain;
use super::dname::Dname;
use super::fxhash::BuildFxHasher;
use super::pool_answer::PoolDef;
use super::sites::{self, SiteVariants};
use super::writer::{QuestionName, Sections};
use super::zone_view::{Built, PoolRecords, ZoneView};
use super::{Node, Table, ZoneSummary, DYNAMIC, NONE};
use crate::dnssec::ZoneSigner;
use crate::geo::RouteMap;
use crate::name::Name;
use crate::wire::rcode;
use crate::wire::rtype;
use crate::zone::Zone;
use std::collections::HashMap;
use std::sync::Arc;

/// A query type no zone data has: selects the "no such type" answer.
const NO_TYPE: u16 = 0;

/// An answer that depends on a pool: where its variants live.
#[derive(Clone, Copy, Debug)]
pub struct SiteRef {
    pub pool: u32,
    /// Index into that pool's sites.
    pub slot: u32,
    /// The pool's first route's index in `Table::units`.
    pub unit: u32,
    /// Whether the pool has routes (a client lookup picks the unit).
    pub routed: bool,
    /// The route of clients nobody knows (no address, or an ECS source prefix of 0).
    pub fallback: u16,
}

/// How to build a pool-dependent answer again.
#[derive(Clone, Debug)]
pub struct SiteSpec {
    pub zone: u32,
    pub start: Name,
    pub qtype: u16,
}

/// The part of a table that only a zone reload changes.
#[derive(Default)]
pub struct Compiled {
    pub(super) names: HashMap<Box<[u8]>, u32, BuildFxHasher>,
    pub(super) nodes: Vec<Node>,
    /// (query type, answer index, or `DYNAMIC | site index`).
    pub(super) by_type: Vec<(u16, u32)>,
    pub(super) arena: Arena,
    pub(super) sites: Vec<SiteRef>,
    /// The DNAMEs of every zone, for names below them.
    pub(super) dnames: Vec<Dname>,
    /// One marker answer per DNAME, in the same order (see `Table::dname_of`).
    pub(super) dname_markers: Arena,
    /// Per pool, the answers to rebuild when it changes.
    pub(super) pool_sites: Vec<Vec<SiteSpec>>,
    /// Per pool, the index of its first route in `Table::units` (its routes follow).
    pub(super) pool_units: Vec<u32>,
    /// Per pool, its route map (`None` without routes).
    pub(super) routing: Vec<Option<Arc<RouteMap>>>,
    /// Whether any pool has a route map.
    pub(super) routed: bool,
    pub(super) views: Vec<ZoneView>,
    pub(super) zones: Vec<ZoneSummary>,
    /// Per zone, its NSEC chain (empty for an unsigned zone).
    pub(super) chains: Vec<Chain>,
    /// Per node of a signed zone, the chain link covering the wildcard below it (the
    /// NXDOMAIN proof for names whose closest encloser it is); `NONE` elsewhere.
    pub(super) wildcard_cover: Vec<u32>,
}

/// The question a node's answers are compiled for: the name itself, or for a wildcard any
/// name below `parent`, with the wildcard's records owned by the question name.
fn node_question<'a>(name: &'a Name, parent: &'a Name) -> QuestionName<'a> {
    match name.is_wildcard() {
        true => QuestionName::EndsWith {
            suffix: parent,
            alias: Some(name),
        },
        false => QuestionName::Exact(name),
    }
}

/// Pool records for the first compile: each pool's first variant. Only which answers use a
/// pool matters here; those answers are built for real by [`SiteVariants::build`].
struct FirstVariants<'a>(&'a [PoolDef]);

impl PoolRecords for FirstVariants<'_> {
    fn rrset(&self, pool: u32, rtype: u16) -> (u32, Vec<Vec<u8>>) {
        sites::records(&self.0[pool as usize].answers[0], rtype, 0)
    }

    fn all(&self, pool: u32, rtype: u16) -> (u32, Vec<Vec<u8>>) {
        sites::all_records(&self.0[pool as usize].answers[0], rtype)
    }
}

/// Compiles `zones` (signed where `signers` gives a signer at the zone's index) and `pools`.
pub fn compile(zones: &[Zone], pools: &[PoolDef], signers: &[Option<Arc<ZoneSigner>>]) -> Table {
    let mut pool_units = Vec::with_capacity(pools.len());
    let mut units = 0u32;
    for pool in pools {
        pool_units.push(units);
        units += pool.answers.len().max(1) as u32;
    }
    let mut compiled = Compiled {
        pool_sites: vec![Vec::new(); pools.len()],
        pool_units,
        routing: pools.iter().map(|p| p.routing.clone()).collect(),
        routed: pools.iter().any(|p| p.routing.is_some()),
        ..Compiled::default()
    };
    let origins: Vec<&Name> = zones.iter().map(|z| &z.origin).collect();
    for (i, zone) in zones.iter().enumerate() {
        let signer = signers.get(i).cloned().flatten();
        let below = |name: &Name| name != &zone.origin && name.is_below_or_at(&zone.origin);
        let children: Vec<Name> = origins
            .iter()
            .filter(|o| below(o))
            .map(|o| (*o).clone())
            .collect();
        let in_child = |name: &Name| children.iter().any(|c| name.is_below_or_at(c));
        let own_pools: Vec<(u32, &Name)> = (pools.iter().enumerate())
            .filter(|(_, p)| p.name.is_below_or_at(&zone.origin) && !in_child(&p.name))
            .map(|(i, p)| (i as u32, &p.name))
            .collect();
        let view = ZoneView::new(zone, children, &own_pools, signer);
        compiled.add_zone(view, zone.records.len(), &FirstVariants(pools));
    }
    let compiled = Arc::new(compiled);
    let empty = super::PoolAnswer::empty(0);
    let answers = pools.iter().enumerate().flat_map(|(i, p)| {
        let routes: Vec<&super::PoolAnswer> = match p.answers.is_empty() {
            true => vec![&empty],
            false => p.answers.iter().collect(),
        };
        let compiled = &compiled;
        routes
            .into_iter()
            .map(move |answer| Arc::new(SiteVariants::build(compiled, i as u32, answer)))
    });
    Table {
        units: answers.collect(),
        compiled,
        unserved: Arc::from(Vec::new()),
    }
}

impl Compiled {
    fn add_zone(&mut self, view: ZoneView, records: usize, pools: &dyn PoolRecords) {
        let zone_index = self.views.len() as u32;
        let signed = view.signing.is_some();
        let negative = |signed| {
            let mut w = super::writer::Writer::new(QuestionName::EndsWith {
                suffix: &view.origin,
                alias: None,
            });
            view.put_negative(&mut w, view.signing.as_ref().filter(|_| signed));
            w.finish()
        };
        let nxdomain = self.arena.push(negative(false), rcode::NXDOMAIN, true);
        if signed {
            let proven = (negative(true), Proof::NameAndWildcard);
            self.add_signed(nxdomain, proven, rcode::NXDOMAIN, true, zone_index);
        }
        let nodata = self.arena.push(negative(false), rcode::NOERROR, true);

        let names: Vec<&Name> = view
            .nodes
            .keys()
            .filter(|n| !view.in_child_zone(n))
            .collect();
        let first = self.nodes.len() as u32;
        for (i, name) in names.iter().enumerate() {
            self.names.insert(name.as_wire().into(), first + i as u32);
        }
        let mut referrals: HashMap<&Name, u32> = HashMap::new();
        for name in &names {
            let wildcard = name
                .wildcard_child()
                .and_then(|w| self.names.get(w.as_wire()).copied());
            let mut node = Node {
                types: 0..0,
                default: nodata,
                referral: NONE,
                at_cut: false,
                wildcard: wildcard.filter(|&i| i >= first).unwrap_or(NONE),
                nxdomain,
                dname: NONE,
            };
            let types_start = self.by_type.len() as u32;
            if let Some(cut) = view.cut_above(name) {
                node.referral = match referrals.get(cut) {
                    Some(&index) => index,
                    None => {
                        let referral = |signed| (view.referral(cut, signed), Proof::None);
                        let index =
                            self.add_pair(referral, signed, rcode::NOERROR, false, zone_index);
                        referrals.insert(cut, index);
                        index
                    }
                };
                node.at_cut = cut == *name;
                if node.at_cut {
                    let ds = |signed| (view.ds_at_cut(name, signed), Proof::None);
                    let ds = self.add_pair(ds, signed, rcode::NOERROR, true, zone_index);
                    self.by_type.push((rtype::DS, ds));
                }
            } else {
                let parent = name.parent().unwrap_or_else(Name::root);
                let make = || node_question(name, &parent);
                for t in view.distinct_types(name) {
                    let built = view.build(make(), name, t, pools, false);
                    let index = match built.pool {
                        Some((pool, _)) => self.add_site(
                            pool,
                            SiteSpec {
                                zone: zone_index,
                                start: (*name).clone(),
                                qtype: t,
                            },
                        ),
                        None => {
                            let code = built.rcode;
                            let build = |signed| view.build(make(), name, t, pools, signed);
                            self.add_built(build, signed, code, zone_index)
                        }
                    };
                    self.by_type.push((t, index));
                }
                let cname = view.nodes[*name].rrsets.contains_key(&rtype::CNAME);
                if cname || signed {
                    // A CNAME's chain, or a signed NODATA with the proof for this name.
                    let build = |signed| view.build(make(), name, NO_TYPE, pools, signed);
                    let code = build(false).rcode;
                    node.default = self.add_built(build, signed, code, zone_index);
                }
                if let Some(dname) = view.nodes[*name].rrsets.get(&rtype::DNAME) {
                    let zone_nodes = first..first + names.len() as u32;
                    let dname = Dname::new(name, dname.ttl, &dname.rdatas[0], zone_nodes);
                    let rrsigs = view.signing.as_ref().map(|s| s.rrsigs(name, rtype::DNAME));
                    let dname = dname.with_rrsigs(rrsigs.unwrap_or_default());
                    node.dname = self.dnames.len() as u32;
                    self.dnames.push(dname);
                    let marker = Sections::default();
                    self.dname_markers.push(marker, super::DNAME_MARK, true);
                }
            }
            node.types = types_start..self.by_type.len() as u32;
            self.nodes.push(node);
        }
        self.zones.push(ZoneSummary {
            origin: view.origin.clone(),
            records,
            names: names.len(),
        });
        let chain = chain_of(&view);
        self.wildcard_cover.extend(names.iter().map(|name| {
            let wildcard = name.wildcard_child();
            let link = wildcard.and_then(|w| chain.covering(w.as_wire()));
            link.unwrap_or(NONE)
        }));
        self.chains.push(chain);
        self.views.push(view);
    }

    /// Stores an answer built by `build(signed)`, and its signed form when the zone is
    /// signed; returns the unsigned answer's index.
    fn add_built(
        &mut self,
        build: impl Fn(bool) -> Built,
        signed: bool,
        rcode: u16,
        zone: u32,
    ) -> u32 {
        let pair = |signed| {
            let built = build(signed);
            (built.sections, built.proof)
        };
        self.add_pair(pair, signed, rcode, true, zone)
    }

    /// Stores the answer `make(false)` and, when `signed`, its signed form `make(true)`.
    fn add_pair(
        &mut self,
        make: impl Fn(bool) -> (Sections, Proof),
        signed: bool,
        rcode: u16,
        authoritative: bool,
        zone: u32,
    ) -> u32 {
        let index = self.arena.push(make(false).0, rcode, authoritative);
        if signed {
            self.add_signed(index, make(true), rcode, authoritative, zone);
        }
        index
    }

    fn add_signed(
        &mut self,
        unsigned: u32,
        (sections, proof): (Sections, Proof),
        rcode: u16,
        authoritative: bool,
        zone: u32,
    ) {
        let signed = (self.arena).push_proven(sections, rcode, authoritative, proof, zone);
        self.arena.link_signed(unsigned, signed);
    }

    fn add_site(&mut self, pool: u32, spec: SiteSpec) -> u32 {
        let slots = &mut self.pool_sites[pool as usize];
        self.sites.push(SiteRef {
            pool,
            slot: slots.len() as u32,
            unit: self.pool_units[pool as usize],
            routed: self.routing[pool as usize].is_some(),
            fallback: self.routing[pool as usize]
                .as_ref()
                .map_or(0, |map| map.fallback()),
        });
        slots.push(spec);
        DYNAMIC | (self.sites.len() - 1) as u32
    }
}

/// The finished NSEC chain of a signed zone (empty for an unsigned one).
fn chain_of(view: &ZoneView) -> Chain {
    let mut chain = Chain::default();
    let Some(signing) = &view.signing else {
        return chain;
    };
    for (key, owner) in &signing.chain {
        let nsec = &view.nodes[owner].rrsets[&rtype::NSEC];
        let rrsigs = signing.rrsigs(owner, rtype::NSEC);
        chain.push(key, owner, nsec.ttl, &nsec.rdatas[0], rrsigs);
    }
    chain
}

/// One build of a site's answer.
pub struct SiteBuild {
    pub sections: Sections,
    pub rcode: u16,
    /// The pool RRset's type the answer used, if any.
    pub family: Option<u16>,
    /// The proof the engine adds to the signed form.
    pub proof: Proof,
}

/// Builds a site's answer for one variant of its pool, signed when `signed` (and the zone
/// is signed here).
pub fn build_site(
    compiled: &Compiled,
    spec: &SiteSpec,
    pools: &dyn PoolRecords,
    signed: bool,
) -> SiteBuild {
    let view = &compiled.views[spec.zone as usize];
    let parent = spec.start.parent().unwrap_or_else(Name::root);
    let built = view.build(
        node_question(&spec.start, &parent),
        &spec.start,
        spec.qtype,
        pools,
        signed,
    );
    SiteBuild {
        sections: built.sections,
        rcode: built.rcode,
        family: built.pool.map(|(_, t)| t),
        proof: built.proof,
    }
}

/// Whether the zone of a site is signed here.
pub fn site_is_signed(compiled: &Compiled, spec: &SiteSpec) -> bool {
    compiled.views[spec.zone as usize].signing.is_some()
}
