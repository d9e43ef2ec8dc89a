//! The additional section of an answer: the A and AAAA of the in-zone names its NS, MX and
//! SRV records point at, static or, for a pool's name, the pool's current addresses.

use super::{PoolRecords, ZoneView};
use crate::name::Name;
use crate::table::signing::ZoneSigning;
use crate::table::writer::{Section, Writer};
use crate::wire::rtype;

/// Pool addresses for an additional section: where they come from, and where the answer
/// records that it used a pool (with `qtype`, which keeps such an answer to one variant).
pub(super) struct PoolUse<'a> {
    pub source: &'a dyn PoolRecords,
    pub used: &'a mut Option<(u32, u16)>,
    pub qtype: u16,
}

impl ZoneView {
    /// A/AAAA of in-zone targets of NS, MX and SRV records (glue included). A pool name's
    /// addresses are taken from `pools` when given, which then records in `used` that the
    /// answer depends on that pool; an answer depends on one pool at most, so a second
    /// pool's addresses are left out (a resolver asks for them). Without `pools` (referrals)
    /// pool names are left out.
    pub(super) fn put_additional(
        &self,
        w: &mut Writer,
        targets: &[Name],
        mut pools: Option<PoolUse<'_>>,
        sign: Option<&ZoneSigning>,
    ) {
        for (i, target) in targets.iter().enumerate() {
            let outside = !target.is_below_or_at(&self.origin) || self.in_child_zone(target);
            if targets[..i].contains(target) || outside {
                continue;
            }
            let Some(data) = self.nodes.get(target) else {
                continue;
            };
            for t in [rtype::A, rtype::AAAA] {
                let Some(set) = data.rrsets.get(&t) else {
                    continue;
                };
                let Some(pool) = set.pool else {
                    let rdatas: Vec<&[u8]> = set.rdatas.iter().map(Vec::as_slice).collect();
                    let section = Section::Additional;
                    self.put(w, sign, section, target, t, set.ttl, &rdatas, false);
                    continue;
                };
                let Some(PoolUse {
                    source,
                    used,
                    qtype,
                }) = pools.as_mut()
                else {
                    continue;
                };
                if used.is_some_and(|(p, _)| p != pool) {
                    continue;
                }
                // Used even when empty: the section changes when the pool does.
                **used = Some(used.unwrap_or((pool, *qtype)));
                let (ttl, rdatas) = source.all(pool, t);
                let rdatas: Vec<&[u8]> = rdatas.iter().map(Vec::as_slice).collect();
                self.put(w, sign, Section::Additional, target, t, ttl, &rdatas, true);
            }
        }
    }
}

/// The name whose addresses go in the additional section for a record, if any.
pub(super) fn additional_target(rtype_: u16, rdata: &[u8]) -> Option<Name> {
    match rtype_ {
        rtype::NS => Name::from_wire(rdata),
        rtype::MX => Name::from_wire(rdata.get(2..)?),
        rtype::SRV => Name::from_wire(rdata.get(6..)?),
        _ => None,
    }
}
