//! The DNSSEC parts of a signed answer written at compile time: RRSIGs beside each RRset,
//! and the NSEC records proving what does not exist, where the name is known then (a
//! NODATA at an existing name, an NXDOMAIN at the end of a CNAME chain, a delegation).

use super::{NodeData, PoolRecords, ZoneView};
use crate::dnssec::nsec::nsec_rdata;
use crate::name::{wire_name_len, Name};
use crate::table::signing::ZoneSigning;
use crate::table::writer::{Section, Writer};
use crate::wire::rtype;

impl ZoneView {
    /// Writes an RRset, and its RRSIGs when `sign` is given: a static RRset's from the
    /// zone's signatures, a pool's (whose records change with health) signed now.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn put(
        &self,
        w: &mut Writer,
        sign: Option<&ZoneSigning>,
        section: Section,
        owner: &Name,
        t: u16,
        ttl: u32,
        rdatas: &[&[u8]],
        from_pool: bool,
    ) {
        let Some(s) = sign.filter(|_| !rdatas.is_empty()) else {
            return w.rrset(section, owner, t, ttl, rdatas.iter().copied());
        };
        if let (true, Some(signer)) = (from_pool, &s.signer) {
            let sigs = signer.sign_cached(owner, t, ttl, rdatas);
            w.signed_rrset(section, owner, t, ttl, rdatas.iter().copied(), &sigs);
        } else {
            let sigs = s.rrsigs(owner, t);
            w.signed_rrset(section, owner, t, ttl, rdatas.iter().copied(), sigs);
        }
    }

    /// The NSEC record of `owner` as the zone has it, with its RRSIGs.
    fn put_nsec(&self, w: &mut Writer, s: &ZoneSigning, owner: &Name) {
        let Some(nsec) = self
            .nodes
            .get(owner)
            .and_then(|d| d.rrsets.get(&rtype::NSEC))
        else {
            return;
        };
        let rdatas = nsec.rdatas.iter().map(Vec::as_slice);
        let sigs = s.rrsigs(owner, rtype::NSEC);
        w.signed_rrset_literal(
            Section::Authority,
            owner,
            rtype::NSEC,
            nsec.ttl,
            rdatas,
            sigs,
        );
    }

    /// Proves that the existing name `name` has no RRset of type `qtype`: its own NSEC, or
    /// for an empty non-terminal the NSEC covering it. For a pool's A or AAAA the bitmap is
    /// the one of this moment: a family the pool serves no address of now is left out (the
    /// answer is one of the pool's, rebuilt when it changes). Elsewhere the bitmap lists
    /// both families at a pool's name.
    pub(super) fn put_nodata_proof(
        &self,
        w: &mut Writer,
        s: &ZoneSigning,
        (name, qtype): (&Name, u16),
        data: &NodeData,
        pools: &dyn PoolRecords,
    ) {
        let Some(nsec) = data.rrsets.get(&rtype::NSEC) else {
            return self.put_nsec(w, s, s.covering(name));
        };
        let Some(signer) = &s.signer else {
            return self.put_nsec(w, s, name);
        };
        if data.rrsets.get(&qtype).is_none_or(|set| set.pool.is_none()) {
            return self.put_nsec(w, s, name);
        }
        let absent = |(&t, set): (&u16, &super::RRset)| {
            let pool = set.pool?;
            pools.rrset(pool, t).1.is_empty().then_some(t)
        };
        let absent: Vec<u16> = data.rrsets.iter().filter_map(absent).collect();
        if absent.is_empty() {
            return self.put_nsec(w, s, name);
        }
        let static_rdata = &nsec.rdatas[0];
        let next_len = wire_name_len(static_rdata).expect("NSEC RDATA starts with a name");
        let next = Name::from_wire(&static_rdata[..next_len]).expect("a valid name");
        let types = (data.rrsets.keys().copied())
            .filter(|t| !absent.contains(t))
            .chain([rtype::RRSIG]);
        let rdata = nsec_rdata(&next, types);
        let sigs = signer.sign_cached(name, rtype::NSEC, nsec.ttl, &[&rdata]);
        w.signed_rrset_literal(
            Section::Authority,
            name,
            rtype::NSEC,
            nsec.ttl,
            [&rdata[..]],
            &sigs,
        );
    }

    /// Proves that `name`, known at compile time, does not exist: the NSEC covering it and
    /// the one covering the wildcard at its closest encloser (once if they are one).
    pub(super) fn put_nxdomain_proof(&self, w: &mut Writer, s: &ZoneSigning, name: &Name) {
        let cover = s.covering(name);
        self.put_nsec(w, s, cover);
        let mut encloser = name.parent();
        while let Some(e) = encloser.as_ref().filter(|e| !self.nodes.contains_key(e)) {
            encloser = e.parent();
        }
        let Some(wildcard) = encloser.and_then(|e| e.wildcard_child()) else {
            return;
        };
        let wildcard_cover = s.covering(&wildcard);
        if wildcard_cover != cover {
            self.put_nsec(w, s, wildcard_cover);
        }
    }

    /// What a delegation says about the child's keys: its DS RRset signed, or the NSEC at
    /// the cut proving there is none (an insecure delegation, RFC 4035 section 3.1.4).
    pub(super) fn put_delegation_proof(&self, w: &mut Writer, s: &ZoneSigning, cut: &Name) {
        match self.nodes[cut].rrsets.get(&rtype::DS) {
            Some(ds) => {
                let rdatas = ds.rdatas.iter().map(Vec::as_slice);
                let sigs = s.rrsigs(cut, rtype::DS);
                w.signed_rrset(Section::Authority, cut, rtype::DS, ds.ttl, rdatas, sigs);
            }
            None => self.put_nsec(w, s, cut),
        }
    }
}
