//! Compiling validated zones into the answer table: resolution (CNAME chains, wildcards,
//! cuts, negative answers) happens here, once, so the engine only copies bytes.

use super::writer::{QuestionName, Section, Sections, Writer};
use super::{Answer, Node, Table, ZoneSummary, NONE};
use crate::name::Name;
use crate::wire::rcode;
use crate::zone::{rtype, Zone};
use std::collections::{BTreeMap, HashMap};

/// Longest CNAME chain followed inside a zone.
const MAX_CHAIN: usize = 20;
/// A query type no zone data has: selects the "no such type" answer.
const NO_TYPE: u16 = 0;

#[derive(Debug)]
struct RRset {
    ttl: u32,
    rdatas: Vec<Vec<u8>>,
}

#[derive(Debug, Default)]
struct NodeData {
    rrsets: BTreeMap<u16, RRset>,
}

/// One zone arranged for resolution.
struct ZoneView<'z> {
    origin: &'z Name,
    nodes: HashMap<Name, NodeData>,
    /// Names strictly below the origin that carry NS: the zone cuts.
    cuts: Vec<Name>,
    /// Origins of other configured zones below this one: their names are theirs.
    children: Vec<&'z Name>,
}

enum Resolved<'a> {
    Data(&'a NodeData),
    NxDomain,
    /// Out of the zone or in a child zone: a chain stops there.
    Elsewhere,
    /// At or below this cut: a chain ends with the referral.
    Delegated(&'a Name),
}

/// What a chain of resolution produced.
struct Built {
    sections: Sections,
    rcode: u16,
}

pub fn compile(zones: &[Zone]) -> Table {
    let mut table = Table::default();
    let origins: Vec<&Name> = zones.iter().map(|z| &z.origin).collect();
    for zone in zones {
        let children = origins
            .iter()
            .copied()
            .filter(|o| *o != &zone.origin && o.is_below_or_at(&zone.origin))
            .collect();
        let view = ZoneView::new(zone, children);
        table.add_zone(&view, zone.records.len());
    }
    table
}

impl<'z> ZoneView<'z> {
    fn new(zone: &'z Zone, children: Vec<&'z Name>) -> ZoneView<'z> {
        let mut nodes: HashMap<Name, NodeData> = HashMap::new();
        for record in &zone.records {
            let node = nodes.entry(record.owner.clone()).or_default();
            let set = node.rrsets.entry(record.rtype).or_insert_with(|| RRset {
                ttl: record.ttl,
                rdatas: Vec::new(),
            });
            set.rdatas.push(record.rdata.clone());
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
        let cuts = nodes
            .iter()
            .filter(|(name, data)| *name != &zone.origin && data.rrsets.contains_key(&rtype::NS))
            .map(|(name, _)| name.clone())
            .collect();
        ZoneView {
            origin: &zone.origin,
            nodes,
            cuts,
            children,
        }
    }

    fn in_child_zone(&self, name: &Name) -> bool {
        self.children.iter().any(|c| name.is_below_or_at(c))
    }

    /// The highest cut at or above `name`, if any.
    fn cut_above(&self, name: &Name) -> Option<&Name> {
        if self.cuts.is_empty() {
            return None;
        }
        self.cuts
            .iter()
            .filter(|cut| name.is_below_or_at(cut))
            .min_by_key(|cut| cut.len())
    }

    fn resolve(&self, name: &Name) -> Resolved<'_> {
        if !name.is_below_or_at(self.origin) || self.in_child_zone(name) {
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
            if self.nodes.contains_key(&encloser) {
                let wildcard = encloser.wildcard_child().and_then(|w| self.nodes.get(&w));
                return wildcard.map_or(Resolved::NxDomain, Resolved::Data);
            }
            ancestor = encloser.parent();
        }
        Resolved::NxDomain
    }

    /// SOA for negative answers: TTL the smaller of the SOA's TTL and MINIMUM (RFC 2308).
    fn negative_soa(&self) -> (u32, &[u8]) {
        let soa = &self.nodes[self.origin].rrsets[&rtype::SOA];
        let rdata = &soa.rdatas[0][..];
        let minimum = u32::from_be_bytes(
            rdata[rdata.len() - 4..]
                .try_into()
                .expect("SOA RDATA ends with MINIMUM"),
        );
        (soa.ttl.min(minimum), rdata)
    }

    fn put_negative(&self, w: &mut Writer) {
        let (ttl, rdata) = self.negative_soa();
        w.rrset(Section::Authority, self.origin, rtype::SOA, ttl, [rdata]);
    }

    /// A/AAAA of in-zone targets of NS, MX and SRV records (glue included).
    fn put_additional(&self, w: &mut Writer, targets: &[Name]) {
        for (i, target) in targets.iter().enumerate() {
            if targets[..i].contains(target)
                || !target.is_below_or_at(self.origin)
                || self.in_child_zone(target)
            {
                continue;
            }
            if let Some(data) = self.nodes.get(target) {
                for t in [rtype::A, rtype::AAAA] {
                    if let Some(set) = data.rrsets.get(&t) {
                        w.rrset(
                            Section::Additional,
                            target,
                            t,
                            set.ttl,
                            set.rdatas.iter().map(Vec::as_slice),
                        );
                    }
                }
            }
        }
    }

    /// Resolves `qtype` at `start` (following CNAMEs) into answer sections.
    fn build(&self, question: QuestionName<'_>, start: &Name, qtype: u16) -> Built {
        let mut w = Writer::new(question);
        let mut owner = start.clone();
        let mut chain: Vec<Name> = Vec::new();
        let mut targets = Vec::new();
        let mut code = rcode::NOERROR;
        loop {
            let data = match self.resolve(&owner) {
                Resolved::Data(data) => data,
                Resolved::Elsewhere => break,
                Resolved::Delegated(cut) => {
                    let ns = &self.nodes[cut].rrsets[&rtype::NS];
                    let rdatas = ns.rdatas.iter().map(Vec::as_slice);
                    w.rrset(Section::Authority, cut, rtype::NS, ns.ttl, rdatas);
                    targets.extend(ns.rdatas.iter().filter_map(|r| Name::from_wire(r)));
                    break;
                }
                Resolved::NxDomain => {
                    code = rcode::NXDOMAIN;
                    self.put_negative(&mut w);
                    break;
                }
            };
            if let (Some(cname), false) = (data.rrsets.get(&rtype::CNAME), qtype == rtype::CNAME) {
                w.rrset(
                    Section::Answer,
                    &owner,
                    rtype::CNAME,
                    cname.ttl,
                    cname.rdatas.iter().map(Vec::as_slice),
                );
                chain.push(owner.clone());
                let target = Name::from_wire(&cname.rdatas[0]).expect("CNAME RDATA is a name");
                if qtype == rtype::ANY || chain.contains(&target) || chain.len() >= MAX_CHAIN {
                    break;
                }
                owner = target;
                continue;
            }
            let sets: Vec<(&u16, &RRset)> = match qtype {
                // RFC 8482: one RRset, the lowest type, as Knot DNS answers.
                rtype::ANY => data.rrsets.iter().take(1).collect(),
                _ => data.rrsets.get_key_value(&qtype).into_iter().collect(),
            };
            if sets.is_empty() {
                self.put_negative(&mut w);
            }
            for (&t, set) in sets {
                w.rrset(
                    Section::Answer,
                    &owner,
                    t,
                    set.ttl,
                    set.rdatas.iter().map(Vec::as_slice),
                );
                targets.extend(set.rdatas.iter().filter_map(|r| additional_target(t, r)));
            }
            break;
        }
        self.put_additional(&mut w, &targets);
        Built {
            sections: w.finish(),
            rcode: code,
        }
    }

    /// The query types that need an answer of their own at a name: its own types, and when
    /// it is a CNAME, the types at the end of the chain.
    fn distinct_types(&self, name: &Name) -> Vec<u16> {
        let mut types: Vec<u16> = vec![rtype::ANY];
        let mut owner = name.clone();
        let mut seen = Vec::new();
        while let Resolved::Data(data) = self.resolve(&owner) {
            types.extend(data.rrsets.keys());
            let Some(cname) = data.rrsets.get(&rtype::CNAME) else {
                break;
            };
            seen.push(owner.clone());
            let target = Name::from_wire(&cname.rdatas[0]).expect("CNAME RDATA is a name");
            if seen.contains(&target) || seen.len() >= MAX_CHAIN {
                break;
            }
            owner = target;
        }
        types.sort_unstable();
        types.dedup();
        types
    }

    /// The referral for a cut: its NS set in authority, glue in additional.
    fn referral(&self, cut: &Name) -> Sections {
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
        let targets: Vec<Name> = ns
            .rdatas
            .iter()
            .filter_map(|r| Name::from_wire(r))
            .collect();
        self.put_additional(&mut w, &targets);
        w.finish()
    }
}

/// The name whose addresses go in the additional section for a record, if any.
fn additional_target(rtype_: u16, rdata: &[u8]) -> Option<Name> {
    match rtype_ {
        rtype::NS => Name::from_wire(rdata),
        rtype::MX => Name::from_wire(rdata.get(2..)?),
        rtype::SRV => Name::from_wire(rdata.get(6..)?),
        _ => None,
    }
}

impl Table {
    fn push_answer(&mut self, sections: Sections, code: u16, authoritative: bool) -> u32 {
        let span = |start: usize, len: usize| start as u32..(start + len) as u32;
        let answer = Answer {
            authoritative,
            rcode: code,
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

    fn push_built(&mut self, built: Built) -> u32 {
        self.push_answer(built.sections, built.rcode, true)
    }

    fn add_zone(&mut self, zone: &ZoneView<'_>, records: usize) {
        let apex = QuestionName::EndsWith {
            suffix: zone.origin,
            alias: None,
        };
        let mut negative = Writer::new(apex);
        zone.put_negative(&mut negative);
        let negative = negative.finish();
        let nxdomain = self.push_answer(negative.clone(), rcode::NXDOMAIN, true);
        let nodata = self.push_answer(negative, rcode::NOERROR, true);

        let names: Vec<&Name> = zone
            .nodes
            .keys()
            .filter(|n| !zone.in_child_zone(n))
            .collect();
        let first = self.nodes.len() as u32;
        for (i, name) in names.iter().enumerate() {
            self.names.insert(name.as_wire().into(), first + i as u32);
        }
        let mut referrals: HashMap<&Name, u32> = HashMap::new();
        for name in &names {
            let mut node = Node {
                types: 0..0,
                default: nodata,
                referral: NONE,
                at_cut: false,
                wildcard: NONE,
                nxdomain,
            };
            if let Some(w) = name.wildcard_child() {
                node.wildcard = self
                    .names
                    .get(w.as_wire())
                    .copied()
                    .filter(|&i| i >= first)
                    .unwrap_or(NONE);
            }
            let types_start = self.by_type.len() as u32;
            if let Some(cut) = zone.cut_above(name) {
                node.referral = *referrals.entry(cut).or_insert_with(|| {
                    let sections = zone.referral(cut);
                    self.push_answer(sections, rcode::NOERROR, false)
                });
                node.at_cut = cut == *name;
                if node.at_cut {
                    let mut w = Writer::new(QuestionName::Exact(name));
                    match zone.nodes[*name].rrsets.get(&rtype::DS) {
                        Some(ds) => w.rrset(
                            Section::Answer,
                            name,
                            rtype::DS,
                            ds.ttl,
                            ds.rdatas.iter().map(Vec::as_slice),
                        ),
                        None => zone.put_negative(&mut w),
                    }
                    let ds = self.push_answer(w.finish(), rcode::NOERROR, true);
                    self.by_type.push((rtype::DS, ds));
                }
            } else {
                let question = match (name.is_wildcard(), name.parent()) {
                    (true, Some(parent)) => Some(parent),
                    _ => None,
                };
                let make_question = || match &question {
                    Some(parent) => QuestionName::EndsWith {
                        suffix: parent,
                        alias: Some(name),
                    },
                    None => QuestionName::Exact(name),
                };
                let is_cname = zone.nodes[*name].rrsets.contains_key(&rtype::CNAME);
                for t in zone.distinct_types(name) {
                    let built = zone.build(make_question(), name, t);
                    let index = self.push_built(built);
                    self.by_type.push((t, index));
                }
                if is_cname {
                    let built = zone.build(make_question(), name, NO_TYPE);
                    node.default = self.push_built(built);
                }
            }
            node.types = types_start..self.by_type.len() as u32;
            self.nodes.push(node);
        }
        self.zones.push(ZoneSummary {
            origin: zone.origin.clone(),
            records,
            names: names.len(),
        });
    }
}
