//! One zone arranged for resolution at compile time: CNAME chains, wildcards, cuts and
//! negative answers are worked out here and written as answer sections.
//!
//! Names owned by a health-checked pool carry placeholder A and AAAA RRsets; their records
//! come from a [`PoolRecords`] source at build time, and a build reports whether it used
//! one, so the compiler knows which answers must be rebuilt when the pool changes.

mod additional;
mod proofs;

use super::arena::Proof;
use super::signing::{Shape, ZoneSigning};
use super::writer::{QuestionName, Section, Sections, Writer};
use crate::dnssec::ZoneSigner;
use crate::name::Name;
use crate::wire::rcode;
use crate::wire::rtype;
use crate::zone::Zone;
use additional::{additional_target, PoolUse};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Longest CNAME chain followed inside a zone.
const MAX_CHAIN: usize = 20;

#[derive(Debug)]
pub struct RRset {
    pub ttl: u32,
    pub rdatas: Vec<Vec<u8>>,
    /// Set for a pool's A or AAAA placeholder: the records come from the pool.
    pub pool: Option<u32>,
}

#[derive(Debug, Default)]
pub struct NodeData {
    pub rrsets: BTreeMap<u16, RRset>,
}

/// Supplies the current records of pool-owned RRsets during a build.
pub trait PoolRecords {
    /// TTL and RDATAs of `pool`'s RRset of type `rtype`; no RDATAs means none.
    fn rrset(&self, pool: u32, rtype: u16) -> (u32, Vec<Vec<u8>>);
    /// Every address `pool` serves now of type `rtype`, whatever its spread: what the
    /// additional section carries for a pool name.
    fn all(&self, pool: u32, rtype: u16) -> (u32, Vec<Vec<u8>>);
}

/// One zone, owning what later pool rebuilds need.
pub struct ZoneView {
    pub origin: Name,
    pub nodes: HashMap<Name, NodeData>,
    /// Names strictly below the origin that carry NS: the zone cuts.
    cuts: Vec<Name>,
    /// Origins of other configured zones below this one: their names are theirs.
    children: Vec<Name>,
    /// For a zone signed here: its signatures and NSEC chain.
    pub signing: Option<ZoneSigning>,
}

pub enum Resolved<'a> {
    Data(&'a NodeData),
    NxDomain,
    /// Out of the zone or in a child zone: a chain stops there.
    Elsewhere,
    /// At or below this cut: a chain ends with the referral.
    Delegated(&'a Name),
    /// Below the DNAME owned by this name: the chain goes on at the synthesized name.
    Redirected(&'a Name, &'a RRset),
}

/// What one resolution produced.
pub struct Built {
    pub sections: Sections,
    pub rcode: u16,
    /// The pool RRset the answer used, if any: (pool, type).
    pub pool: Option<(u32, u16)>,
    /// What the engine adds to the signed form for the question name.
    pub proof: Proof,
}

impl ZoneView {
    /// Arranges `zone`; `pools` are the (index, name) of pools whose names lie in it. With
    /// a `signer` the zone's DNSSEC records are added and every static RRset is signed.
    pub fn new(
        zone: &Zone,
        children: Vec<Name>,
        pools: &[(u32, &Name)],
        signer: Option<Arc<ZoneSigner>>,
    ) -> ZoneView {
        let mut nodes: HashMap<Name, NodeData> = HashMap::new();
        for record in &zone.records {
            let node = nodes.entry(record.owner.clone()).or_default();
            let set = node.rrsets.entry(record.rtype).or_insert_with(|| RRset {
                ttl: record.ttl,
                rdatas: Vec::new(),
                pool: None,
            });
            set.rdatas.push(record.rdata.clone());
        }
        for &(pool, name) in pools {
            let node = nodes.entry(name.clone()).or_default();
            for t in [rtype::A, rtype::AAAA] {
                node.rrsets.insert(
                    t,
                    RRset {
                        ttl: 0,
                        rdatas: Vec::new(),
                        pool: Some(pool),
                    },
                );
            }
        }
        // Empty non-terminals exist too (RFC 4592 section 2.2.2).
        let owners: Vec<Name> = nodes.keys().cloned().collect();
        for owner in owners {
            let mut name = owner.parent();
            while let Some(parent) = name {
                if !parent.is_below_or_at(&zone.origin) || nodes.contains_key(&parent) {
                    break;
                }
                name = parent.parent();
                nodes.insert(parent, NodeData::default());
            }
        }
        let cuts: Vec<Name> = nodes
            .iter()
            .filter(|(name, data)| *name != &zone.origin && data.rrsets.contains_key(&rtype::NS))
            .map(|(name, _)| name.clone())
            .collect();
        let signing = match signer {
            Some(signer) => {
                let soa = &nodes[&zone.origin].rrsets[&rtype::SOA];
                let shape = Shape {
                    origin: &zone.origin,
                    cuts: &cuts,
                    children: &children,
                    nsec_ttl: negative_ttl(soa.ttl, &soa.rdatas[0]),
                };
                Some(ZoneSigning::new(&mut nodes, &shape, signer))
            }
            None => ZoneSigning::presigned(&mut nodes, &zone.origin),
        };
        ZoneView {
            origin: zone.origin.clone(),
            nodes,
            cuts,
            children,
            signing,
        }
    }

    pub fn in_child_zone(&self, name: &Name) -> bool {
        self.children.iter().any(|c| name.is_below_or_at(c))
    }

    /// The highest cut at or above `name`, if any.
    pub fn cut_above(&self, name: &Name) -> Option<&Name> {
        if self.cuts.is_empty() {
            return None;
        }
        self.cuts
            .iter()
            .filter(|cut| name.is_below_or_at(cut))
            .min_by_key(|cut| cut.len())
    }

    pub fn resolve(&self, name: &Name) -> Resolved<'_> {
        if !name.is_below_or_at(&self.origin) || self.in_child_zone(name) {
            return Resolved::Elsewhere;
        }
        if let Some(cut) = self.cut_above(name) {
            return Resolved::Delegated(cut);
        }
        if let Some(data) = self.nodes.get(name) {
            return Resolved::Data(data);
        }
        let mut ancestor = name.parent();
        while let Some(encloser) = ancestor {
            if let Some((owner, data)) = self.nodes.get_key_value(&encloser) {
                if let Some(dname) = data.rrsets.get(&rtype::DNAME) {
                    return Resolved::Redirected(owner, dname);
                }
                let wildcard = encloser.wildcard_child().and_then(|w| self.nodes.get(&w));
                return wildcard.map_or(Resolved::NxDomain, Resolved::Data);
            }
            ancestor = encloser.parent();
        }
        Resolved::NxDomain
    }

    /// The SOA of a negative answer, with its RRSIGs when `sign` is given.
    pub fn put_negative(&self, w: &mut Writer, sign: Option<&ZoneSigning>) {
        let soa = &self.nodes[&self.origin].rrsets[&rtype::SOA];
        let rdata = &soa.rdatas[0][..];
        let ttl = negative_ttl(soa.ttl, rdata);
        self.put(
            w,
            sign,
            Section::Authority,
            &self.origin,
            rtype::SOA,
            ttl,
            &[rdata],
            false,
        );
    }

    /// Whether answers built with `signed` carry DNSSEC records: the zone is signed here.
    fn signer_for(&self, signed: bool) -> Option<&ZoneSigning> {
        self.signing.as_ref().filter(|_| signed)
    }

    /// Resolves `qtype` at `start` (following CNAMEs) into answer sections, taking pool
    /// records from `pools`; `signed` adds the RRSIGs and the NSEC proofs known at compile
    /// time (a signed wildcard answer leaves out the additional section: the engine adds
    /// the proof for the question name after the authority section).
    pub fn build(
        &self,
        question: QuestionName<'_>,
        start: &Name,
        qtype: u16,
        pools: &dyn PoolRecords,
        signed: bool,
    ) -> Built {
        let sign = self.signer_for(signed);
        let mut w = Writer::new(question);
        let mut owner = start.clone();
        let mut chain: Vec<Name> = Vec::new();
        let mut targets = Vec::new();
        let mut code = rcode::NOERROR;
        let mut used_pool = None;
        let mut dnames: Vec<&Name> = Vec::new();
        // A wildcard's answer is for names not known yet: the proof that the name itself
        // does not exist comes per query.
        let mut proof = match (sign.is_some(), start.is_wildcard()) {
            (true, true) => Proof::CoverName,
            _ => Proof::None,
        };
        loop {
            let data = match self.resolve(&owner) {
                Resolved::Data(data) => data,
                Resolved::Elsewhere => break,
                Resolved::Redirected(dname_owner, dname) => {
                    // Written once in a chain, as Knot DNS writes it.
                    if !dnames.contains(&dname_owner) {
                        let rdatas: Vec<&[u8]> = dname.rdatas.iter().map(Vec::as_slice).collect();
                        let (t, ttl) = (rtype::DNAME, dname.ttl);
                        self.put(
                            &mut w,
                            sign,
                            Section::Answer,
                            dname_owner,
                            t,
                            ttl,
                            &rdatas,
                            false,
                        );
                        dnames.push(dname_owner);
                    }
                    let Some(target) = synthesize(&owner, dname_owner, &dname.rdatas[0]) else {
                        code = rcode::YXDOMAIN;
                        break;
                    };
                    w.rrset(
                        Section::Answer,
                        &owner,
                        rtype::CNAME,
                        dname.ttl,
                        [target.as_wire()],
                    );
                    chain.push(owner.clone());
                    if qtype == rtype::CNAME || chain.len() >= MAX_CHAIN {
                        break;
                    }
                    owner = target;
                    continue;
                }
                Resolved::Delegated(cut) => {
                    let ns = &self.nodes[cut].rrsets[&rtype::NS];
                    let rdatas = ns.rdatas.iter().map(Vec::as_slice);
                    w.rrset(Section::Authority, cut, rtype::NS, ns.ttl, rdatas);
                    if let Some(s) = sign {
                        self.put_delegation_proof(&mut w, s, cut);
                    }
                    targets.extend(ns.rdatas.iter().filter_map(|r| Name::from_wire(r)));
                    break;
                }
                Resolved::NxDomain => {
                    code = rcode::NXDOMAIN;
                    self.put_negative(&mut w, sign);
                    if let Some(s) = sign {
                        self.put_nxdomain_proof(&mut w, s, &owner);
                    }
                    break;
                }
            };
            if let (Some(cname), false) = (data.rrsets.get(&rtype::CNAME), qtype == rtype::CNAME) {
                let rdatas: Vec<&[u8]> = cname.rdatas.iter().map(Vec::as_slice).collect();
                let (t, ttl) = (rtype::CNAME, cname.ttl);
                self.put(
                    &mut w,
                    sign,
                    Section::Answer,
                    &owner,
                    t,
                    ttl,
                    &rdatas,
                    false,
                );
                chain.push(owner.clone());
                let target = Name::from_wire(&cname.rdatas[0]).expect("CNAME RDATA is a name");
                if qtype == rtype::ANY || chain.contains(&target) || chain.len() >= MAX_CHAIN {
                    break;
                }
                owner = target;
                continue;
            }
            let current = |t: u16, set| current_records(t, set, pools);
            let found = match qtype {
                // RFC 8482: one RRset, the lowest type, as Knot DNS answers.
                rtype::ANY => data
                    .rrsets
                    .iter()
                    .find_map(|(&t, set)| Some((t, set, current(t, set)?))),
                _ => data
                    .rrsets
                    .get(&qtype)
                    .and_then(|set| Some((qtype, set, current(qtype, set)?))),
            };
            match found {
                None => {
                    self.put_negative(&mut w, sign);
                    match sign {
                        // Wildcard NODATA: the wildcard's own NSEC comes with the proof.
                        Some(_) if owner == *start && start.is_wildcard() => {
                            proof = Proof::NameAndWildcard;
                        }
                        Some(s) => self.put_nodata_proof(&mut w, s, (&owner, qtype), data, pools),
                        None => {}
                    }
                }
                Some((t, set, (ttl, rdatas))) => {
                    if let Some(pool) = set.pool {
                        used_pool = Some((pool, t));
                    }
                    let slices: Vec<&[u8]> = rdatas.iter().map(Vec::as_slice).collect();
                    let from_pool = set.pool.is_some();
                    self.put(
                        &mut w,
                        sign,
                        Section::Answer,
                        &owner,
                        t,
                        ttl,
                        &slices,
                        from_pool,
                    );
                    targets.extend(rdatas.iter().filter_map(|r| additional_target(t, r)));
                }
            }
            // A pool's placeholders count as used even when empty: the answer changes with it.
            if let Some(set) = data.rrsets.get(&qtype).filter(|s| s.pool.is_some()) {
                used_pool = used_pool.or(set.pool.map(|p| (p, qtype)));
            }
            if qtype == rtype::ANY && used_pool.is_none() {
                used_pool = data
                    .rrsets
                    .iter()
                    .find_map(|(&t, s)| s.pool.map(|p| (p, t)));
            }
            break;
        }
        let pool_use = PoolUse {
            source: pools,
            used: &mut used_pool,
            qtype,
        };
        if !(sign.is_some() && start.is_wildcard()) {
            self.put_additional(&mut w, &targets, Some(pool_use), sign);
        }
        Built {
            sections: w.finish(),
            rcode: code,
            pool: used_pool,
            proof,
        }
    }

    /// The query types that need an answer of their own at a name: its own types, and when
    /// it is a CNAME, the types at the end of the chain.
    pub fn distinct_types(&self, name: &Name) -> Vec<u16> {
        let mut types: Vec<u16> = vec![rtype::ANY];
        let mut owner = name.clone();
        let mut seen = Vec::new();
        loop {
            let target = match self.resolve(&owner) {
                Resolved::Data(data) => {
                    types.extend(data.rrsets.keys());
                    let Some(cname) = data.rrsets.get(&rtype::CNAME) else {
                        break;
                    };
                    Name::from_wire(&cname.rdatas[0]).expect("CNAME RDATA is a name")
                }
                Resolved::Redirected(dname_owner, dname) => {
                    match synthesize(&owner, dname_owner, &dname.rdatas[0]) {
                        Some(target) => target,
                        None => break,
                    }
                }
                _ => break,
            };
            seen.push(owner.clone());
            if seen.contains(&target) || seen.len() >= MAX_CHAIN {
                break;
            }
            owner = target;
        }
        types.sort_unstable();
        types.dedup();
        types
    }

    /// The referral for a cut: its NS set in authority (with the DS or the NSEC proving
    /// there is none when `signed`), glue in additional.
    pub fn referral(&self, cut: &Name, signed: bool) -> Sections {
        let mut w = Writer::new(QuestionName::EndsWith {
            suffix: cut,
            alias: None,
        });
        let ns = &self.nodes[cut].rrsets[&rtype::NS];
        w.rrset(
            Section::Authority,
            cut,
            rtype::NS,
            ns.ttl,
            ns.rdatas.iter().map(Vec::as_slice),
        );
        let sign = self.signer_for(signed);
        if let Some(s) = sign {
            self.put_delegation_proof(&mut w, s, cut);
        }
        let targets: Vec<Name> = ns
            .rdatas
            .iter()
            .filter_map(|r| Name::from_wire(r))
            .collect();
        self.put_additional(&mut w, &targets, None, sign);
        w.finish()
    }

    /// DS at a cut, answered by the parent: the DS RRset or NODATA (proven by the NSEC at
    /// the cut when `signed`).
    pub fn ds_at_cut(&self, cut: &Name, signed: bool) -> Sections {
        let sign = self.signer_for(signed);
        let mut w = Writer::new(QuestionName::Exact(cut));
        match self.nodes[cut].rrsets.get(&rtype::DS) {
            Some(ds) => {
                let rdatas: Vec<&[u8]> = ds.rdatas.iter().map(Vec::as_slice).collect();
                self.put(
                    &mut w,
                    sign,
                    Section::Answer,
                    cut,
                    rtype::DS,
                    ds.ttl,
                    &rdatas,
                    false,
                );
            }
            None => {
                self.put_negative(&mut w, sign);
                if let Some(s) = sign {
                    self.put_delegation_proof(&mut w, s, cut);
                }
            }
        }
        w.finish()
    }
}

/// The TTL of negative answers: the smaller of the SOA's TTL and MINIMUM (RFC 2308).
fn negative_ttl(soa_ttl: u32, rdata: &[u8]) -> u32 {
    let minimum = rdata[rdata.len() - 4..].try_into().map(u32::from_be_bytes);
    soa_ttl.min(minimum.expect("SOA RDATA ends with MINIMUM"))
}

/// The records of an RRset as served now: a pool placeholder resolves to the pool's
/// current records; an empty RRset counts as absent.
fn current_records<'s>(
    rtype_: u16,
    set: &'s RRset,
    pools: &dyn PoolRecords,
) -> Option<(u32, Cow<'s, [Vec<u8>]>)> {
    let (ttl, rdatas) = match set.pool {
        Some(pool) => {
            let (ttl, rdatas) = pools.rrset(pool, rtype_);
            (ttl, Cow::Owned(rdatas))
        }
        None => (set.ttl, Cow::Borrowed(&set.rdatas[..])),
    };
    (!rdatas.is_empty()).then_some((ttl, rdatas))
}

/// The name a DNAME owned by `owner` with RDATA `target` makes of `name` (below `owner`):
/// `None` when it would be longer than a name can be (RFC 6672 section 2.2).
fn synthesize(name: &Name, owner: &Name, target: &[u8]) -> Option<Name> {
    let prefix = &name.as_wire()[..name.len() - owner.len()];
    let wire = [prefix, &target.to_ascii_lowercase()].concat();
    (wire.len() <= crate::name::MAX_NAME_LEN)
        .then(|| Name::from_wire(&wire))
        .flatten()
}
