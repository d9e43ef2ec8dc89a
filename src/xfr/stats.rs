//! Counters of transfers out and NOTIFY sent, for `/metrics`: process-wide atomics, bumped
//! off the query path (the TCP side, the NOTIFY tasks) and read when scraped.

use std::sync::atomic::{AtomicU64, Ordering};

/// What a transfer out was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutKind {
    /// An AXFR request.
    Axfr,
    /// An IXFR answered with the journal's differences.
    Ixfr,
    /// An IXFR answered with the whole zone (the journal does not reach back).
    IxfrFull,
    /// An IXFR from a client that is current: the SOA alone.
    IxfrUpToDate,
}

/// How a transfer out ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutResult {
    /// Sent in full.
    Ok,
    /// The client is not admitted: REFUSED.
    Refused,
    /// The request's signature was not accepted: NOTAUTH with a TSIG error.
    Notauth,
    /// The request was malformed: FORMERR.
    Formerr,
    /// The zone is not served now (a secondary zone without a copy): SERVFAIL.
    Servfail,
    /// The connection broke or stalled while the answer was written.
    Failed,
}

pub const OUT_KINDS: [OutKind; 4] = [
    OutKind::Axfr,
    OutKind::Ixfr,
    OutKind::IxfrFull,
    OutKind::IxfrUpToDate,
];
pub const OUT_RESULTS: [OutResult; 6] = [
    OutResult::Ok,
    OutResult::Refused,
    OutResult::Notauth,
    OutResult::Formerr,
    OutResult::Servfail,
    OutResult::Failed,
];

impl OutKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OutKind::Axfr => "axfr",
            OutKind::Ixfr => "ixfr",
            OutKind::IxfrFull => "ixfr_full",
            OutKind::IxfrUpToDate => "ixfr_uptodate",
        }
    }
}

impl OutResult {
    pub fn as_str(self) -> &'static str {
        match self {
            OutResult::Ok => "ok",
            OutResult::Refused => "refused",
            OutResult::Notauth => "notauth",
            OutResult::Formerr => "formerr",
            OutResult::Servfail => "servfail",
            OutResult::Failed => "failed",
        }
    }
}

/// The result of one NOTIFY sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotifyResult {
    /// The secondary answered NOERROR.
    Ok,
    /// It answered with another rcode (or a TSIG error).
    Rejected,
    /// No answer before the try's timeout.
    Timeout,
    /// It could not be sent, or the answer was not one to it.
    Error,
}

pub const NOTIFY_RESULTS: [NotifyResult; 4] = [
    NotifyResult::Ok,
    NotifyResult::Rejected,
    NotifyResult::Timeout,
    NotifyResult::Error,
];

impl NotifyResult {
    pub fn as_str(self) -> &'static str {
        match self {
            NotifyResult::Ok => "ok",
            NotifyResult::Rejected => "rejected",
            NotifyResult::Timeout => "timeout",
            NotifyResult::Error => "error",
        }
    }
}

static TRANSFERS: [[AtomicU64; OUT_RESULTS.len()]; OUT_KINDS.len()] =
    [const { [const { AtomicU64::new(0) }; OUT_RESULTS.len()] }; OUT_KINDS.len()];
static NOTIFIES: [AtomicU64; NOTIFY_RESULTS.len()] =
    [const { AtomicU64::new(0) }; NOTIFY_RESULTS.len()];

/// Counts one transfer out.
pub fn count_transfer(kind: OutKind, result: OutResult) {
    let k = OUT_KINDS.iter().position(|&x| x == kind).unwrap_or(0);
    let r = OUT_RESULTS.iter().position(|&x| x == result).unwrap_or(0);
    TRANSFERS[k][r].fetch_add(1, Ordering::Relaxed);
}

/// Counts one NOTIFY sent.
pub fn count_notify(result: NotifyResult) {
    let r = NOTIFY_RESULTS
        .iter()
        .position(|&x| x == result)
        .unwrap_or(0);
    NOTIFIES[r].fetch_add(1, Ordering::Relaxed);
}

/// Every transfer counter: (kind, result, count).
pub fn transfers() -> Vec<(OutKind, OutResult, u64)> {
    let mut out = Vec::new();
    for (k, kind) in OUT_KINDS.iter().enumerate() {
        for (r, result) in OUT_RESULTS.iter().enumerate() {
            out.push((*kind, *result, TRANSFERS[k][r].load(Ordering::Relaxed)));
        }
    }
    out
}

/// Every NOTIFY counter: (result, count).
pub fn notifies() -> Vec<(NotifyResult, u64)> {
    NOTIFY_RESULTS
        .iter()
        .enumerate()
        .map(|(r, result)| (*result, NOTIFIES[r].load(Ordering::Relaxed)))
        .collect()
}
