//! Pools checked against the zones they live in: a pool owns the A and AAAA answers of one
//! exact name, so that name must be in a configured zone, above any delegation, not below a
//! DNAME, and free of A, AAAA and CNAME records of its own.

use crate::name::Name;
use crate::wire::rtype;
use crate::zone::Zone;

/// A pool whose name cannot be served in the zones as configured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZoneClash {
    /// Index of the pool in the list checked.
    pub pool: usize,
    pub message: String,
    /// The zone record the pool clashes with, if any: (file, line).
    pub record: Option<(std::path::PathBuf, usize)>,
}

/// Checks pool names against the zones: each must lie in a configured zone, not at or
/// below a delegation, not be a wildcard, and own no A, AAAA or CNAME records there.
pub fn check_pools_against_zones(zones: &[Zone], pools: &[Name]) -> Vec<ZoneClash> {
    let mut problems = Vec::new();
    for (index, name) in pools.iter().enumerate() {
        let mut problem =
            |message: String, record: Option<&crate::zone::Record>, file: &std::path::Path| {
                problems.push(ZoneClash {
                    pool: index,
                    message,
                    record: record.map(|r| (file.to_path_buf(), r.line)),
                })
            };
        if pools[..index].contains(name) {
            problem(
                format!("pool {name} is configured twice"),
                None,
                std::path::Path::new(""),
            );
            continue;
        }
        let zone = zones
            .iter()
            .filter(|z| name.is_below_or_at(&z.origin))
            .max_by_key(|z| z.origin.len());
        let Some(zone) = zone else {
            problem(
                format!("pool {name} is in no configured zone"),
                None,
                std::path::Path::new(""),
            );
            continue;
        };
        if name.is_wildcard() {
            problem(
                format!("pool {name} is a wildcard name; a pool owns one exact name"),
                None,
                &zone.file,
            );
        }
        for record in zone.records.iter().filter(|r| r.owner == *name) {
            if matches!(record.rtype, rtype::A | rtype::AAAA | rtype::CNAME) {
                let kind = match record.rtype {
                    rtype::A => "A",
                    rtype::AAAA => "AAAA",
                    _ => "CNAME",
                };
                let text = format!("pool {name} owns the A and AAAA records of its name, but {} has {kind} at line {}", zone.file.display(), record.line);
                problem(text, Some(record), &zone.file);
            }
        }
        let cut = zone.records.iter().find(|r| {
            r.rtype == rtype::NS && r.owner != zone.origin && name.is_below_or_at(&r.owner)
        });
        if let Some(cut) = cut {
            let text = format!(
                "pool {name} is at or below the delegation {} ({} line {})",
                cut.owner,
                zone.file.display(),
                cut.line
            );
            problem(text, Some(cut), &zone.file);
        }
        let dname = zone
            .records
            .iter()
            .find(|r| r.rtype == rtype::DNAME && r.owner != *name && name.is_below_or_at(&r.owner));
        if let Some(dname) = dname {
            let text = format!(
                "pool {name} is below the DNAME at {} ({} line {}), which hides it (RFC 6672 section 2.4)",
                dname.owner,
                zone.file.display(),
                dname.line
            );
            problem(text, Some(dname), &zone.file);
        }
    }
    problems
}
