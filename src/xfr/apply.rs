//! Applying an IXFR's steps to the records of the zone at our serial: each step deletes its
//! records (the old SOA among them) and adds its own (the new SOA among them). A record is
//! matched by owner, type and RDATA, not TTL. A deletion of a record the zone does not have
//! is an error (the copies differ: the caller falls back to AXFR). No I/O.

use super::transfer::Change;
use crate::name::Name;
use crate::zone::Record;
use std::collections::HashMap;

/// The zone after `changes`, from `records`: the records kept in their order, then the
/// added ones in the order they came.
pub fn apply(records: &[Record], changes: &[Change]) -> Result<Vec<Record>, String> {
    let mut slots: Vec<Option<Record>> = records.iter().cloned().map(Some).collect();
    let mut index: HashMap<(Name, u16, Vec<u8>), usize> = HashMap::with_capacity(slots.len());
    for (i, record) in records.iter().enumerate() {
        index.insert(key(record), i);
    }
    for change in changes {
        for deleted in &change.deleted {
            let Some(i) = index.remove(&key(deleted)) else {
                return Err(format!(
                    "the step from serial {} to {} deletes {} type {}, which our copy does not have",
                    change.from, change.to, deleted.owner, deleted.rtype
                ));
            };
            slots[i] = None;
        }
        for added in &change.added {
            let k = key(added);
            match index.get(&k) {
                // Already there: the new TTL wins.
                Some(&i) => slots[i] = Some(added.clone()),
                None => {
                    index.insert(k, slots.len());
                    slots.push(Some(added.clone()));
                }
            }
        }
    }
    Ok(slots.into_iter().flatten().collect())
}

fn key(record: &Record) -> (Name, u16, Vec<u8>) {
    (record.owner.clone(), record.rtype, record.rdata.clone())
}

#[cfg(test)]
#[path = "apply_tests.rs"]
mod tests;
