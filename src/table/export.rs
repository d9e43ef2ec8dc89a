//! A zone's records as a table serves them now, for transfers out: every record of the zone
//! file, a pool's A and AAAA as the addresses it answers with at this moment, and for a
//! signed zone its DNSKEY, CDS, CDNSKEY and NSEC records and the RRSIGs of every RRset.
//! Runs off the query path (a transfer, a journal update), allocates freely.

use super::Table;
use crate::name::Name;
use crate::wire::rtype;
use crate::zone::Record;

/// One zone's records, split the way transfers out need them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ZoneRecords {
    /// The zone's SOA, first and last in a transfer.
    pub soa: Option<Record>,
    /// Every other record that does not depend on health, sorted by owner and type.
    pub records: Vec<Record>,
    /// The pools' A and AAAA (and their RRSIGs in a signed zone): what they serve now.
    pub pools: Vec<Record>,
    /// Whether Swivel signs the zone (its signatures change without a serial change).
    pub signed_here: bool,
}

impl Table {
    /// The records of zone `origin` as this table serves them; `None` when the table has
    /// no such zone.
    pub fn zone_records(&self, origin: &Name) -> Option<ZoneRecords> {
        let compiled = &*self.compiled;
        let view = compiled.views.iter().find(|v| &v.origin == origin)?;
        let signing = view.signing.as_ref();
        let mut out = ZoneRecords {
            signed_here: signing.is_some_and(|s| s.signer.is_some()),
            ..ZoneRecords::default()
        };
        let mut names: Vec<&Name> = (view.nodes.keys())
            .filter(|n| !view.in_child_zone(n))
            .collect();
        names.sort_unstable();
        for name in names {
            for (&t, set) in &view.nodes[name].rrsets {
                let record = |rtype: u16, rdata: Vec<u8>| Record {
                    owner: name.clone(),
                    rtype,
                    ttl: set.ttl,
                    rdata,
                    line: 0,
                };
                let Some(pool) = set.pool else {
                    for rdata in &set.rdatas {
                        let r = record(t, rdata.clone());
                        match t == rtype::SOA && name == origin {
                            true => out.soa = Some(r),
                            false => out.records.push(r),
                        }
                    }
                    for rrsig in signing.map_or(&[][..], |s| s.rrsigs(name, t)) {
                        out.records.push(record(rtype::RRSIG, rrsig.clone()));
                    }
                    continue;
                };
                let (ttl, rdatas) = self.pool_rdatas(pool, name, t);
                if rdatas.is_empty() {
                    continue;
                }
                let with_ttl = |rtype: u16, rdata: Vec<u8>| Record {
                    ttl,
                    ..record(rtype, rdata)
                };
                if let Some(signer) = signing.and_then(|s| s.signer.as_ref()) {
                    let sets: Vec<&[u8]> = rdatas.iter().map(Vec::as_slice).collect();
                    for rrsig in signer.sign(name, t, ttl, &sets) {
                        out.pools.push(with_ttl(rtype::RRSIG, rrsig));
                    }
                }
                out.pools
                    .extend(rdatas.into_iter().map(|rdata| with_ttl(t, rdata)));
            }
        }
        Some(out)
    }

    /// TTL and every distinct RDATA of type `t` that pool `pool` answers at `name` now,
    /// over all its variants (each rotation, each weighted choice) and routes, in
    /// first-seen order.
    fn pool_rdatas(&self, pool: u32, name: &Name, t: u16) -> (u32, Vec<Vec<u8>>) {
        let specs = &self.compiled.pool_sites[pool as usize];
        let Some(slot) = specs.iter().position(|s| &s.start == name && s.qtype == t) else {
            return (0, Vec::new());
        };
        // Every route of the pool (one unit without routes): a secondary cannot route.
        let c = &*self.compiled;
        let Some(&first) = c.pool_units.get(pool as usize) else {
            return (0, Vec::new());
        };
        let end = (c.pool_units.get(pool as usize + 1)).map_or(self.units.len(), |&u| u as usize);
        let mut ttl = 0;
        let mut rdatas: Vec<Vec<u8>> = Vec::new();
        for answers in &self.units[first as usize..end] {
            let Some((variants, _)) = answers.sites.get(slot) else {
                continue;
            };
            for index in variants.clone() {
                let answer = &answers.arena.answers[index as usize];
                for (record_type, record_ttl, rdata) in records_in(answers.arena.bytes(answer)) {
                    if record_type == t && !rdatas.iter().any(|r| r == rdata) {
                        ttl = record_ttl;
                        rdatas.push(rdata.to_vec());
                    }
                }
            }
        }
        (ttl, rdatas)
    }
}

/// Type, TTL and RDATA of each record in precompiled answer bytes (owner names are skipped:
/// labels, or a compression pointer that ends them).
fn records_in(bytes: &[u8]) -> Vec<(u16, u32, &[u8])> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        loop {
            match bytes.get(at) {
                Some(0) => {
                    at += 1;
                    break;
                }
                Some(len) if len & 0xc0 == 0xc0 => {
                    at += 2;
                    break;
                }
                Some(len) => at += 1 + usize::from(*len),
                None => return out,
            }
        }
        let Some(fixed) = bytes.get(at..at + 10) else {
            return out;
        };
        let record_type = u16::from_be_bytes([fixed[0], fixed[1]]);
        let ttl = u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]);
        let len = usize::from(u16::from_be_bytes([fixed[8], fixed[9]]));
        let Some(rdata) = bytes.get(at + 10..at + 10 + len) else {
            return out;
        };
        out.push((record_type, ttl, rdata));
        at += 10 + len;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::{PoolAnswer, PoolDef, Served, Spread};

    fn zone() -> crate::zone::Zone {
        let origin = Name::from_text("example.test.").unwrap();
        crate::zone::parse_zone(
            &origin,
            std::path::Path::new("test.zone"),
            b"$TTL 300\n@ SOA ns hostmaster 7 3600 600 86400 60\n@ NS ns\nns A 192.0.2.53\n\
             sub NS ns.sub\nns.sub A 192.0.2.54\n",
        )
        .expect("the test zone is valid")
    }

    fn pool(spread: Spread, last: u8) -> PoolDef {
        PoolDef::new(
            Name::from_text("www.example.test.").unwrap(),
            PoolAnswer {
                ttl: 30,
                spread,
                v4: (1..=last)
                    .map(|i| Served {
                        address: [198, 51, 100, i].into(),
                        weight: 1,
                    })
                    .collect(),
                v6: Vec::new(),
            },
        )
    }

    #[test]
    fn a_zone_gives_its_records_its_soa_apart_and_a_pool_every_address_it_serves_now() {
        let origin = Name::from_text("example.test.").unwrap();
        for spread in [Spread::All, Spread::Rotate, Spread::Weighted] {
            let table = Table::compile(&[zone()], &[pool(spread, 3)]);
            let got = table.zone_records(&origin).unwrap();
            assert_eq!(got.soa.as_ref().unwrap().rtype, rtype::SOA);
            // NS at the apex, ns A, the delegation and its glue: the file's records.
            let types: Vec<u16> = got.records.iter().map(|r| r.rtype).collect();
            assert_eq!(types.len(), 4, "{types:?}");
            let pooled: Vec<(u16, u32, Vec<u8>)> = (got.pools.iter())
                .map(|r| (r.rtype, r.ttl, r.rdata.clone()))
                .collect();
            let want: Vec<(u16, u32, Vec<u8>)> = (1..=3)
                .map(|i| (rtype::A, 30, vec![198, 51, 100, i]))
                .collect();
            assert_eq!(pooled, want, "{spread:?}");
            // A health change is seen at once: one address less.
            let fewer = table.with_pool(0, 0, &pool(spread, 2).answers[0]);
            assert_eq!(fewer.zone_records(&origin).unwrap().pools.len(), 2);
        }
        let table = Table::compile(&[zone()], &[]);
        assert!(table
            .zone_records(&Name::from_text("other.test.").unwrap())
            .is_none());
    }
}
