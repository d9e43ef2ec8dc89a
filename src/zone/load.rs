//! Reading master files with the `domain` crate's zone file scanner, and validating them.
//!
//! Scanning turns each entry into a [`Record`] in wire form with the line it starts on;
//! [`super::validate`] then applies the zone-level rules. Every problem found is reported,
//! except that a syntax error stops the scan there (the scanner cannot resume).

#[cfg(test)]
mod line_tests;
mod lines;
#[cfg(test)]
mod tests;

use super::{validate, Record, Zone};
use crate::diag::{Diagnostic, Diagnostics};
use crate::name::{wire_name_len, Name};
use crate::wire::rtype;
use bytes::Bytes;
use domain::base::iana::{Class, Rtype};
use domain::base::name::{ParsedName, ToName};
use domain::base::rdata::{ComposeRecordData, ParseRecordData};
use domain::dep::octseq::Parser;
use domain::rdata::ZoneRecordData;
use domain::zonefile::inplace::{Entry, ScannedRecord, ScannedRecordData, Zonefile};
use lines::{EntryKind, EntryStarts};
use std::borrow::Cow;
use std::panic::AssertUnwindSafe;
use std::path::Path;

/// Longest RDATA the wire format can carry.
const MAX_RDATA_LEN: usize = 65535;

/// Loads and validates the zone `origin` from the master file at `path`.
pub fn load_zone(origin: &Name, path: &Path) -> Result<Zone, Diagnostics> {
    let text = std::fs::read(path).map_err(|e| {
        Diagnostics(vec![Diagnostic::new(
            path,
            0,
            format!("cannot read zone file: {e}"),
        )])
    })?;
    parse_zone(origin, path, &text)
}

/// Parses and validates master-file text; `path` is used in diagnostics only. Warnings
/// (records dropped or changed) are logged.
pub fn parse_zone(origin: &Name, path: &Path, text: &[u8]) -> Result<Zone, Diagnostics> {
    let (result, warnings) = parse_zone_with_warnings(origin, path, text);
    for warning in warnings {
        tracing::warn!("{warning}");
    }
    result
}

/// [`parse_zone`], returning the warnings instead of logging them.
pub(super) fn parse_zone_with_warnings(
    origin: &Name,
    path: &Path,
    text: &[u8],
) -> (Result<Zone, Diagnostics>, Vec<Diagnostic>) {
    let scanned = scan(origin, path, text);
    let mut diagnostics = scanned.diagnostics;
    let mut warnings = Vec::new();
    let records = if scanned.complete && scanned.entries == 0 && diagnostics.is_empty() {
        diagnostics.push(Diagnostic::new(
            path,
            0,
            "zone file is empty: it holds no records",
        ));
        Vec::new()
    } else {
        let records = scanned.records;
        validate::validate(
            origin,
            path,
            records,
            scanned.complete,
            &mut diagnostics,
            &mut warnings,
        )
    };
    if diagnostics.is_empty() {
        let zone = Zone {
            origin: origin.clone(),
            file: path.to_path_buf(),
            records,
        };
        return (Ok(zone), warnings);
    }
    // By line, problems with the file as a whole (line 0) last.
    diagnostics.sort_by_key(|d| if d.line == 0 { usize::MAX } else { d.line });
    (Err(Diagnostics(diagnostics)), warnings)
}

/// What scanning a file produced.
struct Scanned {
    /// Records of class IN, in file order.
    records: Vec<Record>,
    diagnostics: Vec<Diagnostic>,
    /// Whether the scanner reached the end of the file.
    complete: bool,
    /// Entries seen, records of any class and `$INCLUDE`s.
    entries: usize,
}

/// Runs the scanner over the whole text, converting each record.
fn scan(origin: &Name, path: &Path, text: &[u8]) -> Scanned {
    // A UTF-8 byte order mark, as some editors write, is not part of the first owner.
    let text = text.strip_prefix(b"\xef\xbb\xbf").unwrap_or(text);
    // The scanner wants every entry to end with a line feed, the last one too.
    let text: Cow<[u8]> = if text.is_empty() || text.ends_with(b"\n") {
        Cow::Borrowed(text)
    } else {
        Cow::Owned([text, b"\n"].concat())
    };
    let mut scanned = Scanned {
        records: Vec::new(),
        diagnostics: Vec::new(),
        complete: false,
        entries: 0,
    };
    // The scanner can panic on text that ends inside parentheses: it only sees what is before.
    let unclosed = lines::unclosed_parenthesis(&text);
    let scanned_text = unclosed.map_or(&text[..], |(offset, _)| &text[..offset]);
    scan_entries(origin, path, scanned_text, &mut scanned);
    if let Some((_, paren_line)) = unclosed {
        scanned.diagnostics.push(Diagnostic::new(
            path,
            paren_line,
            "parenthesis opened here is not closed by the end of the file",
        ));
        scanned.complete = false;
    }
    scanned
}

/// Scans entries until the end of `text` or the first syntax error.
fn scan_entries(origin: &Name, path: &Path, text: &[u8], scanned: &mut Scanned) {
    // Class checks are ours (so that they do not stop the scan), hence `allow_invalid`.
    let mut zonefile = Zonefile::from(text).allow_invalid();
    zonefile.set_origin(domain_name(origin));
    zonefile.set_default_class(Class::IN);
    let mut starts = EntryStarts::new(text).peekable();
    loop {
        // A panic in the scanner must not take the server down with it.
        let next = std::panic::catch_unwind(AssertUnwindSafe(|| zonefile.next_entry()));
        let entry = match next {
            Ok(Ok(Some(entry))) => entry,
            Ok(Ok(None)) => {
                scanned.complete = true;
                return;
            }
            Ok(Err(error)) => {
                scanned
                    .diagnostics
                    .push(scanner_diagnostic(path, text, &error.to_string()));
                return;
            }
            Err(panic) => {
                let reason = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                let line = starts.peek().map_or(0, |s| s.line);
                scanned.diagnostics.push(Diagnostic::new(
                    path,
                    line,
                    format!(
                        "cannot read the zone file from here on: the scanner failed ({reason})"
                    ),
                ));
                return;
            }
        };
        scanned.entries += 1;
        let start = starts.next();
        let line = start.map_or(0, |s| s.line);
        match entry {
            Entry::Include { .. } => {
                debug_assert_eq!(start.map(|s| s.kind), Some(EntryKind::Include));
                scanned.diagnostics.push(Diagnostic::new(
                    path,
                    line,
                    "$INCLUDE is not supported: put the included records into this file",
                ));
            }
            Entry::Record(record) => {
                debug_assert_eq!(start.map(|s| s.kind), Some(EntryKind::Record));
                let at_in_data = start.is_some_and(|s| s.at_in_data);
                match convert(&record, line, at_in_data) {
                    Ok(record) => scanned.records.push(record),
                    Err(message) => scanned
                        .diagnostics
                        .push(Diagnostic::new(path, line, message)),
                }
            }
        }
    }
}

/// Our name as a `domain` name.
fn domain_name(name: &Name) -> domain::base::Name<Bytes> {
    domain::base::Name::from_octets(Bytes::copy_from_slice(name.as_wire()))
        .expect("a Name is valid wire")
}

/// Converts a scanned record of class IN; errors explain why the record is refused.
fn convert(record: &ScannedRecord, line: usize, at_in_data: bool) -> Result<Record, String> {
    let rtype = record.rtype();
    if record.class() != Class::IN {
        return Err(format!(
            "class {} is not supported: Swivel serves class IN only",
            record.class()
        ));
    }
    let mut owner_wire = Vec::new();
    let _ = record.owner().compose(&mut owner_wire);
    let owner = Name::from_wire(&owner_wire)
        .ok_or("bad owner name: it has an empty label (as in \"a..b\")")?;
    let mut rdata = rdata_wire(rtype, record.data())?;
    if at_in_data {
        resolve_at_names(rtype.to_int(), &mut rdata);
    }
    Ok(Record {
        owner,
        rtype: rtype.to_int(),
        ttl: record.ttl().as_secs(),
        rdata,
        line,
    })
}

/// A bare `@` where a name is expected stands for the origin (RFC 1035 section 5.1), but the
/// scanner only knows that for owners: elsewhere it makes a name whose first label is `@`,
/// followed by the origin. This drops that label from the name fields of the usual types.
fn resolve_at_names(rtype: u16, rdata: &mut Vec<u8>) {
    let (first_offset, names) = match rtype {
        rtype::NS | rtype::CNAME | rtype::PTR | rtype::DNAME => (0, 1),
        rtype::MX => (2, 1),
        rtype::SRV => (6, 1),
        rtype::SOA => (0, 2),
        _ => return,
    };
    let mut offset = first_offset;
    for _ in 0..names {
        if rdata
            .get(offset..)
            .is_some_and(|rest| rest.starts_with(b"\x01@"))
        {
            rdata.drain(offset..offset + 2);
        }
        match rdata.get(offset..).and_then(wire_name_len) {
            Some(len) => offset += len,
            None => return,
        }
    }
}

/// Uncompressed wire RDATA, checked by parsing it back: the scanner lets names with empty
/// labels (`a..b`) through, and RFC 3597 data (`\# len hex`) of a known type is not checked
/// at all. The latter is re-encoded, so that names in it are uncompressed.
fn rdata_wire(rtype: Rtype, data: &ScannedRecordData) -> Result<Vec<u8>, String> {
    let mut wire = Vec::new();
    let _ = data.compose_rdata(&mut wire);
    if wire.len() > MAX_RDATA_LEN {
        return Err(format!(
            "{rtype} RDATA of {} bytes is longer than the limit of {MAX_RDATA_LEN}",
            wire.len()
        ));
    }
    let generic = matches!(data, ZoneRecordData::Unknown(_));
    let mut parser = Parser::from_ref(wire.as_slice());
    let reencoded =
        match ZoneRecordData::<&[u8], ParsedName<&[u8]>>::parse_rdata(rtype, &mut parser) {
            Ok(None) | Ok(Some(ZoneRecordData::Unknown(_))) => return Ok(wire),
            Ok(Some(parsed)) if parser.remaining() == 0 => {
                let mut reencoded = Vec::with_capacity(wire.len());
                let _ = parsed.compose_rdata(&mut reencoded);
                Some(reencoded)
            }
            _ => None,
        };
    match reencoded {
        Some(reencoded) if generic => Ok(reencoded),
        Some(reencoded) if reencoded == wire => Ok(wire),
        _ if generic => Err(format!("the \\# data is not valid {rtype} RDATA")),
        _ => Err(format!(
            "bad {rtype} data: a domain name in it has an empty label (as in \"a..b\")"
        )),
    }
}

/// Turns a scanner error (`line:col: message`) into a diagnostic at the line of the token
/// it concerns, with a message an operator can act on.
fn scanner_diagnostic(path: &Path, text: &[u8], error: &str) -> Diagnostic {
    let mut parts = error.splitn(3, ':');
    let line = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    let col = parts.next().and_then(|s| s.parse().ok()).unwrap_or(1);
    let message = parts.next().map_or(error, str::trim);
    // These the scanner reports at the offending token; the others once past it.
    let at_position = message == "trailing tokens"
        || message == "unbalanced parens"
        || message.starts_with("bad symbol");
    let site = lines::error_site(text, line, col, at_position);
    let token = &site.token;
    let line = site.line;
    let plain = |text: String| (line, text);
    let (line, explained) = match (message, site.open_paren_line) {
        _ if site.unclosed_quote => plain(format!("quoted string {token} is not closed on its line")),
        ("trailing tokens" | "short buffer", Some(open)) if site.at_end => (
            open,
            "parenthesis opened here is not closed by the end of the file".to_string(),
        ),
        ("trailing tokens" | "short buffer", None) if site.at_end => {
            plain("unexpected end of file".to_string())
        }
        ("trailing tokens", Some(open)) => (
            open,
            format!(
                "parenthesis opened here is not closed: the record runs on into \"{token}\" at line {line}"
            ),
        ),
        ("trailing tokens", None) => {
            plain(format!("unexpected \"{token}\" after the end of the record"))
        }
        ("expected rtype", _) => plain(format!("unknown record type, class or TTL \"{token}\"")),
        ("unexpected end of entry", _) => {
            plain(format!("record is incomplete: data missing after \"{token}\""))
        }
        ("unbalanced parens", _) => plain("closing parenthesis without an opening one".to_string()),
        _ if message.starts_with("unknown control") => {
            plain(format!("unknown directive \"{token}\""))
        }
        _ if token.is_empty() => plain(message.to_string()),
        _ => plain(format!("{message} at \"{token}\"")),
    };
    Diagnostic::new(path, line, explained)
}
