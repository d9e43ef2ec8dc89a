//! The records of an AXFR (RFC 5936) or IXFR (RFC 1995) answer, message by message, turned
//! into what the primary sent: the whole zone, differences from our serial, or word that
//! we are up to date. No I/O.
//!
//! An AXFR answer is the SOA, every other record, and the SOA again. An IXFR answer is the
//! new SOA and then, for each step from our serial on, the old SOA, the records deleted,
//! the new SOA and the records added, closed by the new SOA; or the new SOA alone (nothing
//! newer to give); or the whole zone in AXFR form.

use super::message::soa_serial;
use crate::name::Name;
use crate::wire::rtype;
use crate::zone::Record;

/// What a finished transfer gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The primary's serial (the one SOA of an IXFR answer) is not newer than ours.
    UpToDate { serial: u32 },
    /// An IXFR answered with the primary's newer SOA alone: it has no differences to give,
    /// so the zone must come by AXFR.
    NeedsFull { serial: u32 },
    /// The whole zone, its SOA first (an AXFR, or an IXFR answered in AXFR form).
    Full { serial: u32, records: Vec<Record> },
    /// The steps from our serial to `serial`, in order.
    Incremental { serial: u32, changes: Vec<Change> },
}

/// One step of an IXFR: the records to delete (the old SOA first) and to add (the new SOA
/// first).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub from: u32,
    pub to: u32,
    pub deleted: Vec<Record>,
    pub added: Vec<Record>,
}

/// Where the record stream is.
#[derive(Debug)]
enum State {
    /// Nothing seen yet.
    Start,
    /// The first SOA only.
    First {
        soa: Record,
        serial: u32,
    },
    /// An answer in AXFR form, until the SOA comes back.
    Whole {
        serial: u32,
        records: Vec<Record>,
    },
    /// Inside an IXFR step's deletions or additions.
    Step {
        serial: u32,
        changes: Vec<Change>,
        current: Change,
        adding: bool,
    },
    Done,
}

/// One transfer's answer, fed message by message.
#[derive(Debug)]
pub struct Stream {
    origin: Name,
    /// Our serial, for an IXFR; `None` for an AXFR.
    ixfr_from: Option<u32>,
    max_records: usize,
    seen: usize,
    state: State,
}

impl Stream {
    /// The answer to an AXFR query for `origin`.
    pub fn axfr(origin: &Name, max_records: usize) -> Stream {
        Stream::new(origin, None, max_records)
    }

    /// The answer to an IXFR query for `origin` from serial `ours`.
    pub fn ixfr(origin: &Name, ours: u32, max_records: usize) -> Stream {
        Stream::new(origin, Some(ours), max_records)
    }

    fn new(origin: &Name, ixfr_from: Option<u32>, max_records: usize) -> Stream {
        Stream {
            origin: origin.clone(),
            ixfr_from,
            max_records,
            seen: 0,
            state: State::Start,
        }
    }

    /// Takes the answer records of the next message: `Some` once the transfer is complete
    /// (this message must then hold nothing after its end), `None` while more must come.
    pub fn feed(&mut self, records: Vec<Record>) -> Result<Option<Outcome>, String> {
        self.seen = self.seen.saturating_add(records.len());
        if self.seen > self.max_records {
            return Err(format!(
                "more than {} records: the transfer is larger than the zone may be",
                self.max_records
            ));
        }
        let mut outcome = None;
        for record in records {
            if outcome.is_some() {
                return Err("records after the closing SOA".into());
            }
            outcome = self.next(record)?;
        }
        if outcome.is_none() {
            if let (State::First { serial, .. }, Some(ours)) = (&self.state, self.ixfr_from) {
                // An IXFR answer of one SOA (RFC 1995 section 4).
                let serial = *serial;
                self.state = State::Done;
                outcome = Some(if super::serial::is_newer(serial, ours) {
                    Outcome::NeedsFull { serial }
                } else {
                    Outcome::UpToDate { serial }
                });
            }
        }
        Ok(outcome)
    }

    /// The serial of `record` when it is the zone's SOA.
    fn apex_soa(&self, record: &Record) -> Option<u32> {
        (record.rtype == rtype::SOA && record.owner == self.origin)
            .then(|| soa_serial(&record.rdata))
            .flatten()
    }

    fn next(&mut self, record: Record) -> Result<Option<Outcome>, String> {
        let soa = self.apex_soa(&record);
        let state = std::mem::replace(&mut self.state, State::Done);
        let (state, outcome) = match state {
            State::Start => match soa {
                Some(serial) => (
                    State::First {
                        soa: record,
                        serial,
                    },
                    None,
                ),
                None => return Err("the answer does not start with the zone's SOA".into()),
            },
            State::First { soa: first, serial } => match (soa, self.ixfr_from) {
                (Some(old), Some(ours)) if old == ours && old != serial => {
                    let current = Change {
                        from: old,
                        to: old,
                        deleted: vec![record],
                        added: Vec::new(),
                    };
                    let changes = Vec::new();
                    let adding = false;
                    (
                        State::Step {
                            serial,
                            changes,
                            current,
                            adding,
                        },
                        None,
                    )
                }
                (Some(other), Some(ours)) if other != serial => {
                    return Err(format!(
                        "the IXFR answer starts from serial {other}, not from ours ({ours})"
                    ))
                }
                (Some(closing), _) if closing == serial => {
                    let records = vec![first];
                    (State::Done, Some(Outcome::Full { serial, records }))
                }
                (Some(other), _) => {
                    return Err(format!(
                        "a second SOA with serial {other} inside a transfer of serial {serial}"
                    ))
                }
                (None, _) => {
                    let records = vec![first, record];
                    (State::Whole { serial, records }, None)
                }
            },
            State::Whole {
                serial,
                mut records,
            } => match soa {
                Some(closing) if closing == serial => {
                    (State::Done, Some(Outcome::Full { serial, records }))
                }
                Some(other) => {
                    return Err(format!(
                        "a second SOA with serial {other} inside a transfer of serial {serial}"
                    ))
                }
                None => {
                    records.push(record);
                    (State::Whole { serial, records }, None)
                }
            },
            State::Step {
                serial,
                mut changes,
                mut current,
                adding,
            } => match (soa, adding) {
                (None, _) => {
                    match adding {
                        true => current.added.push(record),
                        false => current.deleted.push(record),
                    }
                    (
                        State::Step {
                            serial,
                            changes,
                            current,
                            adding,
                        },
                        None,
                    )
                }
                (Some(to), false) => {
                    current.to = to;
                    current.added.push(record);
                    let adding = true;
                    (
                        State::Step {
                            serial,
                            changes,
                            current,
                            adding,
                        },
                        None,
                    )
                }
                (Some(end), true) if end == serial && current.to == serial => {
                    changes.push(current);
                    (State::Done, Some(Outcome::Incremental { serial, changes }))
                }
                (Some(from), true) if from == current.to => {
                    changes.push(current);
                    let current = Change {
                        from,
                        to: from,
                        deleted: vec![record],
                        added: Vec::new(),
                    };
                    let adding = false;
                    (
                        State::Step {
                            serial,
                            changes,
                            current,
                            adding,
                        },
                        None,
                    )
                }
                (Some(from), true) => {
                    return Err(format!(
                        "an IXFR step starts from serial {from}, where the one before ended at {}",
                        current.to
                    ))
                }
            },
            State::Done => return Err("records after the closing SOA".into()),
        };
        self.state = state;
        Ok(outcome)
    }
}

#[cfg(test)]
#[path = "transfer_tests.rs"]
pub(crate) mod tests;
