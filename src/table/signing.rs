//! A signed zone at compile time: its DNSSEC records (DNSKEY, CDS, CDNSKEY, the NSEC chain)
//! added to the zone's names, every static RRset signed once (on every core), and the
//! chain's order for the proofs each answer needs. A zone signed elsewhere (its file holds
//! DNSKEY, RRSIG and NSEC records) brings its signatures and chain instead.

use super::zone_view::{NodeData, RRset};
use crate::dnssec::nsec::{canonical_key_of, nsec_rdata};
use crate::dnssec::ZoneSigner;
use crate::name::Name;
use crate::wire::rtype;
use std::collections::HashMap;
use std::sync::Arc;

/// Types a zone signed here may not bring from its file: Swivel makes them.
const MADE_HERE: [u16; 7] = [
    rtype::RRSIG,
    rtype::NSEC,
    rtype::NSEC3,
    rtype::NSEC3PARAM,
    rtype::DNSKEY,
    rtype::CDS,
    rtype::CDNSKEY,
];

/// The signatures and chain of one signed zone.
pub struct ZoneSigning {
    /// The keys that sign here; none for a zone signed elsewhere (which has no pools).
    pub signer: Option<Arc<ZoneSigner>>,
    /// RRSIG RDATAs of every static RRset, by owner and type.
    sigs: HashMap<(Name, u16), Vec<Vec<u8>>>,
    /// The NSEC owners in canonical order, with their sort keys.
    pub chain: Vec<(Vec<u8>, Name)>,
}

/// What a zone's names are, for deciding what is signed.
pub struct Shape<'a> {
    pub origin: &'a Name,
    pub cuts: &'a [Name],
    pub children: &'a [Name],
    pub nsec_ttl: u32,
}

impl Shape<'_> {
    fn below_cut(&self, name: &Name) -> bool {
        self.cuts
            .iter()
            .any(|c| name != c && name.is_below_or_at(c))
    }

    fn in_child(&self, name: &Name) -> bool {
        self.children.iter().any(|c| name.is_below_or_at(c))
    }

    /// Whether `name` owns authoritative data of this zone (or is a cut): an NSEC owner.
    fn in_chain(&self, name: &Name, data: &NodeData) -> bool {
        !data.rrsets.is_empty() && !self.below_cut(name) && !self.in_child(name)
    }

    /// Whether the RRset `t` at `name` is signed: authoritative data, and at a cut only
    /// DS and NSEC (the NS there and glue belong to the child).
    fn signs(&self, name: &Name, t: u16) -> bool {
        if self.cuts.contains(name) {
            return t == rtype::DS || t == rtype::NSEC;
        }
        !self.below_cut(name) && !self.in_child(name)
    }
}

impl ZoneSigning {
    /// Adds the records a signed zone serves to `nodes` and signs every static RRset.
    pub fn new(
        nodes: &mut HashMap<Name, NodeData>,
        shape: &Shape<'_>,
        signer: Arc<ZoneSigner>,
    ) -> ZoneSigning {
        for data in nodes.values_mut() {
            data.rrsets.retain(|t, _| !MADE_HERE.contains(t));
        }
        let apex = nodes.entry(shape.origin.clone()).or_default();
        let dnskey_ttl = apex.rrsets.get(&rtype::SOA).map_or(3600, |s| s.ttl);
        let (cds, cdnskey) = signer.cds();
        for (t, rdatas) in [
            (rtype::DNSKEY, signer.dnskeys()),
            (rtype::CDS, cds),
            (rtype::CDNSKEY, cdnskey),
        ] {
            if !rdatas.is_empty() {
                apex.rrsets.insert(t, static_set(dnskey_ttl, rdatas));
            }
        }
        let chain = add_nsec_chain(nodes, shape);
        let sigs = sign_all(nodes, shape, &signer);
        ZoneSigning {
            signer: Some(signer),
            sigs,
            chain,
        }
    }

    /// A zone signed elsewhere, when its apex has DNSKEY, RRSIG and NSEC records: its
    /// RRSIGs are taken off the names and kept by the RRset they cover, and its NSEC
    /// records form the chain. `None` for a zone without them (served unsigned).
    pub fn presigned(nodes: &mut HashMap<Name, NodeData>, origin: &Name) -> Option<ZoneSigning> {
        let apex = nodes.get(origin)?;
        let signed = [rtype::DNSKEY, rtype::RRSIG, rtype::NSEC];
        if !signed.iter().all(|t| apex.rrsets.contains_key(t)) {
            return None;
        }
        let mut sigs: HashMap<(Name, u16), Vec<Vec<u8>>> = HashMap::new();
        for (name, data) in nodes.iter_mut() {
            let Some(rrsig) = data.rrsets.remove(&rtype::RRSIG) else {
                continue;
            };
            for rdata in rrsig.rdatas.into_iter().filter(|r| r.len() > 18) {
                let covered = u16::from_be_bytes([rdata[0], rdata[1]]);
                sigs.entry((name.clone(), covered)).or_default().push(rdata);
            }
        }
        let mut chain: Vec<(Vec<u8>, Name)> = (nodes.iter())
            .filter(|(_, data)| data.rrsets.contains_key(&rtype::NSEC))
            .map(|(name, _)| (canonical_key_of(name), name.clone()))
            .collect();
        chain.sort_unstable();
        Some(ZoneSigning {
            signer: None,
            sigs,
            chain,
        })
    }

    /// The RRSIGs of a static RRset (empty for one that is not signed).
    pub fn rrsigs(&self, owner: &Name, t: u16) -> &[Vec<u8>] {
        self.sigs
            .get(&(owner.clone(), t))
            .map_or(&[][..], Vec::as_slice)
    }

    /// The NSEC owner whose record covers or matches `name`: the last owner at or before
    /// it in canonical order (the last owner of all covers names after it).
    pub fn covering(&self, name: &Name) -> &Name {
        let key = canonical_key_of(name);
        let at = self.chain.partition_point(|(k, _)| *k <= key);
        &self.chain[at.saturating_sub(1)].1
    }
}

fn static_set(ttl: u32, rdatas: Vec<Vec<u8>>) -> RRset {
    RRset {
        ttl,
        rdatas,
        pool: None,
    }
}

/// The type bitmap of an NSEC owner: its types (a pool's A and AAAA always, whatever it
/// serves now: the pool's own answers carry the bitmap of the moment), RRSIG and NSEC; at a
/// cut only NS and DS.
pub fn owner_types(data: &NodeData, at_cut: bool) -> Vec<u16> {
    let mut types: Vec<u16> = (data.rrsets.keys().copied())
        .filter(|&t| !at_cut || t == rtype::NS || t == rtype::DS)
        .collect();
    types.extend([rtype::RRSIG, rtype::NSEC]);
    types
}

/// Adds an NSEC RRset to every owner of the zone; returns the owners in canonical order.
fn add_nsec_chain(nodes: &mut HashMap<Name, NodeData>, shape: &Shape<'_>) -> Vec<(Vec<u8>, Name)> {
    let mut chain: Vec<(Vec<u8>, Name)> = (nodes.iter())
        .filter(|(name, data)| shape.in_chain(name, data))
        .map(|(name, _)| (canonical_key_of(name), name.clone()))
        .collect();
    chain.sort_unstable();
    for (i, (_, owner)) in chain.iter().enumerate() {
        let next = &chain[(i + 1) % chain.len()].1;
        let data = nodes.get_mut(owner).expect("chain owners are nodes");
        let types = owner_types(data, shape.cuts.contains(owner));
        let rdata = nsec_rdata(next, types);
        data.rrsets
            .insert(rtype::NSEC, static_set(shape.nsec_ttl, vec![rdata]));
    }
    chain
}

/// Signs every static RRset of the zone, spread over the machine's cores.
fn sign_all(
    nodes: &HashMap<Name, NodeData>,
    shape: &Shape<'_>,
    signer: &ZoneSigner,
) -> HashMap<(Name, u16), Vec<Vec<u8>>> {
    let jobs: Vec<(&Name, u16, &RRset)> = nodes
        .iter()
        .flat_map(|(name, data)| data.rrsets.iter().map(move |(&t, set)| (name, t, set)))
        .filter(|&(name, t, set)| set.pool.is_none() && shape.signs(name, t))
        .collect();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = jobs.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let workers: Vec<_> = jobs
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|&(name, t, set)| {
                            let rdatas: Vec<&[u8]> = set.rdatas.iter().map(Vec::as_slice).collect();
                            ((name.clone(), t), signer.sign(name, t, set.ttl, &rdatas))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("a signing thread panicked"))
            .collect()
    })
}
