//! DNAME redirections (RFC 6672) as the engine needs them at query time: a name below a
//! DNAME owner gets an answer that depends on the whole question name (the synthesized
//! CNAME), so it cannot be precompiled. The table keeps per DNAME the record's bytes and
//! its target; the engine writes the DNAME, synthesizes the CNAME into the reply and looks
//! the new name up again within the zone.

use crate::name::Name;
use crate::wire::{class, rtype};
use std::ops::Range;

/// One DNAME of a zone, ready to copy.
#[derive(Debug)]
pub struct Dname {
    /// Wire length of the owner name.
    owner_len: u16,
    ttl: u32,
    /// The record after its owner: type, class, TTL, RDLENGTH and the target, uncompressed
    /// (RFC 6672 section 2.5), as written in the zone file.
    record: Box<[u8]>,
    /// The target in lowercase wire form, for lookups of synthesized names.
    target: Box<[u8]>,
    /// The nodes of the DNAME's zone: a synthesized name is only followed inside them.
    zone: Range<u32>,
    /// In a signed zone, each RRSIG of the DNAME after its owner name (type, class, TTL,
    /// RDLENGTH, RDATA), for queries with the DO bit.
    rrsigs: Box<[Box<[u8]>]>,
}

impl Dname {
    pub fn new(owner: &Name, ttl: u32, target: &[u8], zone: Range<u32>) -> Dname {
        let mut record = Vec::with_capacity(10 + target.len());
        record.extend_from_slice(&rtype::DNAME.to_be_bytes());
        record.extend_from_slice(&class::IN.to_be_bytes());
        record.extend_from_slice(&ttl.to_be_bytes());
        record.extend_from_slice(&(target.len() as u16).to_be_bytes());
        record.extend_from_slice(target);
        Dname {
            owner_len: owner.len() as u16,
            ttl,
            record: record.into(),
            target: target.to_ascii_lowercase().into(),
            zone,
            rrsigs: Box::default(),
        }
    }

    /// Adds the DNAME's RRSIG RDATAs (a signed zone).
    pub fn with_rrsigs(mut self, rrsigs: &[Vec<u8>]) -> Dname {
        let record = |rdata: &Vec<u8>| {
            let mut record = Vec::with_capacity(10 + rdata.len());
            record.extend_from_slice(&rtype::RRSIG.to_be_bytes());
            record.extend_from_slice(&class::IN.to_be_bytes());
            record.extend_from_slice(&self.ttl.to_be_bytes());
            record.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
            record.extend_from_slice(rdata);
            record.into_boxed_slice()
        };
        self.rrsigs = rrsigs.iter().map(record).collect();
        self
    }
}

/// A DNAME found by a lookup: the question name is below its owner.
#[derive(Clone, Copy)]
pub struct DnameRef<'t> {
    pub(super) dname: &'t Dname,
}

impl<'t> DnameRef<'t> {
    /// Wire length of the DNAME's owner, a suffix of the name looked up.
    #[inline]
    pub fn owner_len(&self) -> usize {
        self.dname.owner_len as usize
    }

    /// TTL of the DNAME, which the synthesized CNAME carries too.
    #[inline]
    pub fn ttl(&self) -> u32 {
        self.dname.ttl
    }

    /// The DNAME record after its owner name (type, class, TTL, RDLENGTH, target).
    #[inline]
    pub fn record(&self) -> &'t [u8] {
        &self.dname.record
    }

    /// The target, lowercase wire form.
    #[inline]
    pub fn target(&self) -> &'t [u8] {
        &self.dname.target
    }

    /// Identifies this DNAME while the table lives (for rate limiting per answer, and to
    /// write a DNAME once when a chain meets it again).
    #[inline]
    pub fn identity(&self) -> u64 {
        std::ptr::from_ref(self.dname) as usize as u64
    }

    /// The nodes of the zone the DNAME is in.
    #[inline]
    pub fn zone(&self) -> &'t Range<u32> {
        &self.dname.zone
    }

    /// Each RRSIG of the DNAME after its owner name; empty in an unsigned zone.
    #[inline]
    pub fn rrsigs(&self) -> &'t [Box<[u8]>] {
        &self.dname.rrsigs
    }
}
