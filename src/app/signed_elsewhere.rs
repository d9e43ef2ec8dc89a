//! Zones signed elsewhere (their files hold DNSKEY, RRSIG and NSEC records from
//! `dnssec-signzone`, `ldns-signzone` or a hidden primary) and what Swivel refuses about
//! them: a health-checked pool inside one (its changing answers could only be signed with
//! the zone's keys), and NSEC3 chains (not served yet).

use crate::config::Config;
use crate::diag::Diagnostic;
use crate::wire::rtype;
use crate::zone::Zone;

/// Whether the zone's file holds its own signatures: a DNSKEY and an RRSIG at the apex.
pub fn is_signed_elsewhere(zone: &Zone) -> bool {
    let at_apex = |t| (zone.records.iter()).any(|r| r.rtype == t && r.owner == zone.origin);
    at_apex(rtype::DNSKEY) && at_apex(rtype::RRSIG)
}

/// Problems with the zones signed elsewhere among `zones`, loaded for `config`.
pub fn check_signed_elsewhere(config: &Config, zones: &[Zone]) -> Vec<Diagnostic> {
    let mut problems = Vec::new();
    for zone in zones {
        let entry = config.zones.iter().find(|z| z.origin == zone.origin);
        if entry.is_some_and(|e| e.dnssec.is_some()) || !is_signed_elsewhere(zone) {
            continue;
        }
        if let Some(nsec3) = zone.records.iter().find(|r| r.rtype == rtype::NSEC3PARAM) {
            problems.push(Diagnostic::new(
                &zone.file,
                nsec3.line,
                format!(
                    "zone {} is signed with NSEC3, which Swivel does not serve yet; sign it \
                     with NSEC (dnssec-signzone without -3), or give it [zone.dnssec] keys \
                     and let Swivel sign it",
                    zone.origin
                ),
            ));
        }
        for (pool, &line) in config.pools.iter().zip(&config.pool_lines) {
            let Some(name) = pool.owner() else { continue };
            if name.is_below_or_at(&zone.origin) && !in_other_zone(&name, zone, zones) {
                problems.push(Diagnostic::new(
                    &config.file,
                    line,
                    format!(
                        "pool {} is in zone {}, which is signed elsewhere (its file has \
                         DNSKEY and RRSIG records): the pool's answers change with health \
                         and can only be signed with the zone's keys; give the zone \
                         [zone.dnssec] keys (Swivel then signs the whole zone)",
                        pool.name, zone.origin
                    ),
                ));
            }
        }
    }
    problems
}

/// Whether `name` belongs to a zone below `zone` (a child zone configured too).
fn in_other_zone(name: &crate::name::Name, zone: &Zone, zones: &[Zone]) -> bool {
    zones.iter().any(|other| {
        other.origin != zone.origin
            && other.origin.is_below_or_at(&zone.origin)
            && name.is_below_or_at(&other.origin)
    })
}
