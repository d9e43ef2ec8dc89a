//! The journal of a zone Swivel offers to secondaries: its recent changes, each the records
//! deleted and added between two serials (RFC 1995's differences), from which IXFR is
//! answered. Bounded in size: the oldest changes are dropped first. Kept in `state_dir` as
//! `journal/<origin>journal`, written atomically after every change, with the serial and a
//! digest of the zone it ends at, so a restart keeps it only when the zone is still what
//! the journal last saw.
//!
//! The journal holds the zone's records that do not depend on health: a pool's addresses
//! change without a serial change and are never in it.

use crate::config::saved_copy_path;
use crate::name::Name;
use crate::xfr::message::soa_serial;
use crate::xfr::serial::is_newer;
use crate::zone::Record;
use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};

/// The sub-folder of `state_dir` that holds the journals.
pub const JOURNAL_DIR: &str = "journal";
/// How large a journal may grow (the records of its changes in wire form), by default.
pub const DEFAULT_MAX_BYTES: usize = 4 << 20;
/// What a journal file starts with.
const MAGIC: &[u8; 8] = b"SWJRNL1\n";

/// One change of a zone: from the zone with SOA `from` to the zone with SOA `to`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub from: Record,
    pub to: Record,
    pub deleted: Vec<Record>,
    pub added: Vec<Record>,
}

impl Change {
    pub fn from_serial(&self) -> u32 {
        soa_serial(&self.from.rdata).unwrap_or(0)
    }

    pub fn to_serial(&self) -> u32 {
        soa_serial(&self.to.rdata).unwrap_or(0)
    }

    /// Bytes the change takes in wire form (what the size bound counts).
    fn size(&self) -> usize {
        [&self.from, &self.to]
            .into_iter()
            .chain(&self.deleted)
            .chain(&self.added)
            .map(wire_size)
            .sum()
    }
}

fn wire_size(record: &Record) -> usize {
    record.owner.len() + 10 + record.rdata.len()
}

/// The records deleted and added from `old` to `new`, as multisets of (owner, type, TTL,
/// RDATA): a record whose TTL changed is deleted and added again.
pub fn diff(old: &[Record], new: &[Record]) -> (Vec<Record>, Vec<Record>) {
    type Key<'a> = (&'a Name, u16, u32, &'a [u8]);
    fn key(r: &Record) -> Key<'_> {
        (&r.owner, r.rtype, r.ttl, &r.rdata)
    }
    let mut counts: HashMap<Key<'_>, i64> = HashMap::with_capacity(old.len());
    for r in old {
        *counts.entry(key(r)).or_default() += 1;
    }
    let mut added = Vec::new();
    for r in new {
        match counts.get_mut(&key(r)) {
            Some(n) if *n > 0 => *n -= 1,
            _ => added.push(r.clone()),
        }
    }
    let mut deleted = Vec::new();
    for r in old {
        let n = counts
            .get_mut(&key(r))
            .expect("every old record was counted");
        if *n > 0 {
            *n -= 1;
            deleted.push(r.clone());
        }
    }
    (deleted, added)
}

/// A SHA-256 digest of a zone's records in any order (sorted first), which the journal
/// keeps for the zone it ends at.
pub fn digest(soa: &Record, records: &[Record]) -> [u8; 32] {
    let mut wire: Vec<Vec<u8>> = std::iter::once(soa)
        .chain(records)
        .map(encode_one)
        .collect();
    wire.sort_unstable();
    let mut context = ring::digest::Context::new(&ring::digest::SHA256);
    for w in &wire {
        context.update(w);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(context.finish().as_ref());
    out
}

/// The recent changes of one zone, oldest first, each starting where the one before ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Journal {
    changes: VecDeque<Change>,
    bytes: usize,
    max_bytes: usize,
    /// The serial and digest of the zone the last change ends at (or the zone it was
    /// started for, with no change yet).
    tip: Option<(u32, [u8; 32])>,
}

impl Journal {
    pub fn new(max_bytes: usize) -> Journal {
        Journal {
            changes: VecDeque::new(),
            bytes: 0,
            max_bytes,
            tip: None,
        }
    }

    pub fn changes(&self) -> impl Iterator<Item = &Change> {
        self.changes.iter()
    }

    pub fn len(&self) -> usize {
        self.changes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// The bytes its changes take.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn tip(&self) -> Option<(u32, [u8; 32])> {
        self.tip
    }

    /// Forgets every change; the journal starts again at the zone `tip` names.
    pub fn reset(&mut self, tip: Option<(u32, [u8; 32])>) {
        self.changes.clear();
        self.bytes = 0;
        self.tip = tip;
    }

    /// Adds `change`, which must start where the journal ends (else the journal starts
    /// again from it), then drops the oldest changes until the journal fits its bound. A
    /// change larger than the bound alone leaves the journal empty. `tip` is the digest of
    /// the zone the change ends at.
    pub fn push(&mut self, change: Change, tip: [u8; 32]) {
        let to = change.to_serial();
        if let Some(last) = self.changes.back() {
            if last.to_serial() != change.from_serial() {
                self.reset(None);
            }
        }
        self.bytes += change.size();
        self.changes.push_back(change);
        while self.bytes > self.max_bytes {
            let Some(oldest) = self.changes.pop_front() else {
                break;
            };
            self.bytes -= oldest.size();
        }
        self.tip = Some((to, tip));
    }

    /// The changes that lead from serial `serial` to the journal's end, in order; `None`
    /// when the journal does not reach back to it (or holds nothing).
    pub fn since(&self, serial: u32) -> Option<Vec<&Change>> {
        let start = self
            .changes
            .iter()
            .position(|c| c.from_serial() == serial)?;
        let found: Vec<&Change> = self.changes.range(start..).collect();
        // Serials only move forward inside a journal; a later change that starts at the same
        // serial (the zone went back and on again) would make the chain ambiguous.
        let forward = found
            .iter()
            .all(|c| is_newer(c.to_serial(), c.from_serial()));
        forward.then_some(found)
    }

    /// The journal in its file form.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.bytes + self.changes.len() * 16);
        out.extend_from_slice(MAGIC);
        match self.tip {
            Some((serial, digest)) => {
                out.push(1);
                out.extend_from_slice(&serial.to_be_bytes());
                out.extend_from_slice(&digest);
            }
            None => out.push(0),
        }
        out.extend_from_slice(&(self.changes.len() as u32).to_be_bytes());
        for change in &self.changes {
            out.extend_from_slice(&encode_one(&change.from));
            out.extend_from_slice(&encode_one(&change.to));
            for list in [&change.deleted, &change.added] {
                out.extend_from_slice(&(list.len() as u32).to_be_bytes());
                for record in list {
                    out.extend_from_slice(&encode_one(record));
                }
            }
        }
        out
    }

    /// Reads a journal file's bytes; the error says what is wrong.
    pub fn decode(bytes: &[u8], max_bytes: usize) -> Result<Journal, String> {
        let mut reader = Reader { bytes, at: 0 };
        if reader.take(MAGIC.len())? != MAGIC {
            return Err("not a Swivel journal (wrong first bytes)".into());
        }
        let tip = match reader.take(1)?[0] {
            0 => None,
            1 => {
                let serial = reader.u32()?;
                let mut digest = [0u8; 32];
                digest.copy_from_slice(reader.take(32)?);
                Some((serial, digest))
            }
            _ => return Err("bad tip marker".into()),
        };
        let mut journal = Journal::new(max_bytes);
        let count = reader.u32()?;
        for _ in 0..count {
            let from = reader.record()?;
            let to = reader.record()?;
            let mut lists = [Vec::new(), Vec::new()];
            for list in &mut lists {
                let n = reader.u32()?;
                for _ in 0..n {
                    list.push(reader.record()?);
                }
            }
            let [deleted, added] = lists;
            let change = Change {
                from,
                to,
                deleted,
                added,
            };
            journal.bytes += change.size();
            journal.changes.push_back(change);
        }
        if reader.at != bytes.len() {
            return Err("bytes after the last change".into());
        }
        journal.tip = tip;
        Ok(journal)
    }
}

/// Where the journal of `origin` lives in `state_dir`: named like its secondary copy would
/// be (see [`saved_copy_path`]), with `journal` for `zone`.
pub fn journal_path(state_dir: &Path, origin: &Name) -> PathBuf {
    let copy = saved_copy_path(state_dir, origin);
    let name = copy.file_name().map_or_else(String::new, |n| {
        let name = n.to_string_lossy();
        name.strip_suffix("zone").unwrap_or(&name).to_string()
    });
    state_dir.join(JOURNAL_DIR).join(format!("{name}journal"))
}

/// Loads the journal at `path`: an empty one when there is no file; an error (the caller
/// logs it and starts empty) when it cannot be read as a journal.
pub fn load(path: &Path, max_bytes: usize) -> Result<Journal, String> {
    match std::fs::read(path) {
        Ok(bytes) => Journal::decode(&bytes, max_bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Journal::new(max_bytes)),
        Err(e) => Err(e.to_string()),
    }
}

/// Writes the journal to `path` atomically (owner-only, like a saved copy).
pub fn save(path: &Path, journal: &Journal) -> std::io::Result<()> {
    super::saved::write_bytes_atomically(path, &journal.encode())
}

fn encode_one(record: &Record) -> Vec<u8> {
    let mut out = Vec::with_capacity(wire_size(record));
    out.extend_from_slice(record.owner.as_wire());
    out.extend_from_slice(&record.rtype.to_be_bytes());
    out.extend_from_slice(&record.ttl.to_be_bytes());
    out.extend_from_slice(&(record.rdata.len() as u16).to_be_bytes());
    out.extend_from_slice(&record.rdata);
    out
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, len: usize) -> Result<&'a [u8], String> {
        let end = self.at.checked_add(len).ok_or("cut short")?;
        let slice = self.bytes.get(self.at..end).ok_or("cut short")?;
        self.at = end;
        Ok(slice)
    }

    fn u32(&mut self) -> Result<u32, String> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn record(&mut self) -> Result<Record, String> {
        let rest = self.bytes.get(self.at..).ok_or("cut short")?;
        let len = crate::name::wire_name_len(rest).ok_or("a bad owner name")?;
        let owner = Name::from_wire(&rest[..len]).ok_or("a bad owner name")?;
        self.at += len;
        let fixed = self.take(8)?;
        let rtype = u16::from_be_bytes([fixed[0], fixed[1]]);
        let ttl = u32::from_be_bytes([fixed[2], fixed[3], fixed[4], fixed[5]]);
        let rdlen = usize::from(u16::from_be_bytes([fixed[6], fixed[7]]));
        let rdata = self.take(rdlen)?.to_vec();
        Ok(Record {
            owner,
            rtype,
            ttl,
            rdata,
            line: 0,
        })
    }
}

#[cfg(test)]
#[path = "journal_tests.rs"]
mod tests;
