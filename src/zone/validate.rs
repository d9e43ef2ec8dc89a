//! Zone-level rules for loaded records: one SOA at the origin, NS at the apex, everything in
//! zone and of a type that belongs in a zone, CNAMEs alone at their name, nothing below a
//! DNAME (`validate/dname.rs`); identical records
//! kept once and the TTLs of an RRset made equal (both with a warning, as Knot DNS does).

mod dname;
#[cfg(test)]
mod tests;

use super::Record;
use crate::diag::Diagnostic;
use crate::name::Name;
use crate::wire::rtype;
use domain::base::iana::Rtype;
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// Applies the zone rules to `records` (in file order), adding a diagnostic to `diagnostics`
/// for each problem and to `warnings` for each record dropped or changed, and returns the
/// records to keep. `complete` says whether the whole file was read; checks for records that
/// are missing are only made then.
pub(super) fn validate(
    origin: &Name,
    path: &Path,
    records: Vec<Record>,
    complete: bool,
    diagnostics: &mut Vec<Diagnostic>,
    warnings: &mut Vec<Diagnostic>,
) -> Vec<Record> {
    let records = keep_zone_data(origin, path, records, diagnostics);
    let mut records = drop_duplicates(path, records, warnings);
    unify_rrset_ttls(path, &mut records, warnings);
    check_soa(origin, path, &records, complete, diagnostics);
    if complete
        && !records
            .iter()
            .any(|r| r.rtype == rtype::NS && r.owner == *origin)
    {
        diagnostics.push(Diagnostic::new(
            path,
            0,
            format!("no NS records at the zone apex {origin}"),
        ));
    }
    check_cnames(path, &records, diagnostics);
    dname::check_dnames(origin, path, &records, diagnostics);
    records
}

/// The mnemonic of a record type, `TYPEnnn` for types without one.
pub(super) fn type_name(rtype: u16) -> String {
    Rtype::from_int(rtype).to_string()
}

/// Refuses records outside the zone and records of meta and query types.
fn keep_zone_data(
    origin: &Name,
    path: &Path,
    records: Vec<Record>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<Record> {
    let mut kept = Vec::with_capacity(records.len());
    for record in records {
        if !record.owner.is_below_or_at(origin) {
            diagnostics.push(Diagnostic::new(
                path,
                record.line,
                format!(
                    "{} is out of zone: not at or below the zone origin {origin}",
                    record.owner
                ),
            ));
        } else if is_meta_type(record.rtype) {
            diagnostics.push(Diagnostic::new(
                path,
                record.line,
                format!(
                    "record type {} cannot appear in a zone",
                    type_name(record.rtype)
                ),
            ));
        } else {
            kept.push(record);
        }
    }
    kept
}

/// Type 0, OPT, and the meta and query types 128 to 255 (RFC 6895 section 3.1).
fn is_meta_type(rtype: u16) -> bool {
    rtype == 0 || rtype == rtype::OPT || (128..=255).contains(&rtype)
}

/// Keeps the first of records with the same owner, type and RDATA, warning about the others.
fn drop_duplicates(
    path: &Path,
    records: Vec<Record>,
    warnings: &mut Vec<Diagnostic>,
) -> Vec<Record> {
    let mut first_lines: HashMap<(&Name, u16, &[u8]), usize> =
        HashMap::with_capacity(records.len());
    let mut duplicates = HashSet::new();
    for (index, record) in records.iter().enumerate() {
        let key = (&record.owner, record.rtype, record.rdata.as_slice());
        if let Some(&first_line) = first_lines.get(&key) {
            warnings.push(Diagnostic::new(
                path,
                record.line,
                format!(
                    "{} {} repeats the record at line {first_line}; keeping it once",
                    record.owner,
                    type_name(record.rtype)
                ),
            ));
            duplicates.insert(index);
        } else {
            first_lines.insert(key, record.line);
        }
    }
    if duplicates.is_empty() {
        return records;
    }
    records
        .into_iter()
        .enumerate()
        .filter(|(index, _)| !duplicates.contains(index))
        .map(|(_, r)| r)
        .collect()
}

/// Gives every record of an RRset the TTL of its first record, warning about each change.
/// RRSIGs are left alone: one name's RRSIGs cover several RRsets with TTLs of their own.
fn unify_rrset_ttls(path: &Path, records: &mut [Record], warnings: &mut Vec<Diagnostic>) {
    let mut first: HashMap<(&Name, u16), (u32, usize)> = HashMap::new();
    let mut changes = Vec::new();
    for (index, record) in records.iter().enumerate() {
        if record.rtype == rtype::RRSIG {
            continue;
        }
        let &mut (ttl, line) = first
            .entry((&record.owner, record.rtype))
            .or_insert((record.ttl, record.line));
        if record.ttl != ttl {
            warnings.push(Diagnostic::new(
                path,
                record.line,
                format!(
                    "TTL {} of {} {} differs from TTL {ttl} of the same RRset at line {line}; using {ttl}",
                    record.ttl,
                    record.owner,
                    type_name(record.rtype)
                ),
            ));
            changes.push((index, ttl));
        }
    }
    for (index, ttl) in changes {
        records[index].ttl = ttl;
    }
}

/// Exactly one SOA, at the origin.
fn check_soa(
    origin: &Name,
    path: &Path,
    records: &[Record],
    complete: bool,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let mut first_line = None;
    for soa in records.iter().filter(|r| r.rtype == rtype::SOA) {
        if soa.owner != *origin {
            diagnostics.push(Diagnostic::new(
                path,
                soa.line,
                format!("SOA at {} is not at the zone origin {origin}", soa.owner),
            ));
        }
        match first_line {
            None => first_line = Some(soa.line),
            Some(first) => diagnostics.push(Diagnostic::new(
                path,
                soa.line,
                format!("second SOA record (the first is at line {first}); a zone has exactly one"),
            )),
        }
    }
    if complete && first_line.is_none() {
        diagnostics.push(Diagnostic::new(
            path,
            0,
            format!("no SOA record at the zone origin {origin}"),
        ));
    }
}

/// Whether a type may share a name with a CNAME (RFC 4035 section 2.5: DNSSEC records).
fn may_be_beside_cname(rtype: u16) -> bool {
    matches!(rtype, rtype::RRSIG | rtype::NSEC)
}

/// A CNAME is the only CNAME at its name, and nothing but DNSSEC records is beside it.
fn check_cnames(path: &Path, records: &[Record], diagnostics: &mut Vec<Diagnostic>) {
    let mut cname_lines: HashMap<&Name, Vec<usize>> = HashMap::new();
    for record in records.iter().filter(|r| r.rtype == rtype::CNAME) {
        cname_lines
            .entry(&record.owner)
            .or_default()
            .push(record.line);
    }
    if cname_lines.is_empty() {
        return;
    }
    // The first record of each other type at a CNAME's name, in file order.
    let mut others: HashMap<&Name, Vec<(u16, usize)>> = HashMap::new();
    for record in records
        .iter()
        .filter(|r| r.rtype != rtype::CNAME && !may_be_beside_cname(r.rtype))
    {
        if cname_lines.contains_key(&record.owner) {
            let types = others.entry(&record.owner).or_default();
            if !types.iter().any(|&(t, _)| t == record.rtype) {
                types.push((record.rtype, record.line));
            }
        }
    }
    let mut by_line: Vec<_> = cname_lines.iter().collect();
    by_line.sort_by_key(|(_, lines)| lines[0]);
    for (owner, lines) in by_line {
        for line in &lines[1..] {
            diagnostics.push(Diagnostic::new(
                path,
                *line,
                format!(
                    "second CNAME at {owner} (the first is at line {}); a name has at most one",
                    lines[0]
                ),
            ));
        }
        for &(other, other_line) in others.get(owner).map_or(&[][..], Vec::as_slice) {
            diagnostics.push(Diagnostic::new(
                path,
                lines[0],
                format!(
                    "CNAME at {owner} beside {} at line {other_line}",
                    type_name(other)
                ),
            ));
        }
    }
}
