//! What an agent holds for one responder until the responder takes it: results in the order
//! they were made, bounded. When full, the oldest result goes (counted); a result older
//! than its pool's `stale_after` goes too before it is sent, since the responder would take
//! it, on arrival, as fresh news. Each result has a sequence number, so a batch in flight
//! is acknowledged exactly even when newer results pushed older ones out meanwhile.

use crate::report::ReportedResult;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// One result waiting to be sent.
#[derive(Clone, Debug)]
struct Pending {
    seq: u64,
    result: ReportedResult,
    queued: Instant,
    /// The pool's `stale_after`: older than this, the result is worthless.
    max_age: Duration,
}

/// The results waiting for one responder.
#[derive(Debug)]
pub struct Buffer {
    items: VecDeque<Pending>,
    capacity: usize,
    next_seq: u64,
    /// Results pushed out by newer ones while the buffer was full.
    pub dropped: u64,
    /// Results that aged past their pool's `stale_after` before they could be sent.
    pub expired: u64,
}

/// Results to send and the sequence number that acknowledges them.
#[derive(Debug)]
pub struct Batch {
    pub results: Vec<ReportedResult>,
    pub last_seq: u64,
}

impl Buffer {
    /// A buffer holding at most `capacity` results (at least one).
    pub fn new(capacity: usize) -> Buffer {
        Buffer {
            items: VecDeque::new(),
            capacity: capacity.max(1),
            next_seq: 0,
            dropped: 0,
            expired: 0,
        }
    }

    /// Results waiting.
    pub fn waiting(&self) -> usize {
        self.items.len()
    }

    /// When the oldest waiting result was queued.
    pub fn oldest(&self) -> Option<Instant> {
        self.items.front().map(|p| p.queued)
    }

    /// Adds a result made at `queued`; pushes the oldest out when full.
    pub fn push(&mut self, result: ReportedResult, queued: Instant, max_age: Duration) {
        if self.items.len() == self.capacity {
            self.items.pop_front();
            self.dropped += 1;
        }
        self.items.push_back(Pending {
            seq: self.next_seq,
            result,
            queued,
            max_age,
        });
        self.next_seq += 1;
    }

    /// Removes results older than their pool's `stale_after` at `now`.
    pub fn expire(&mut self, now: Instant) {
        let before = self.items.len();
        self.items
            .retain(|p| now.saturating_duration_since(p.queued) <= p.max_age);
        self.expired += (before - self.items.len()) as u64;
    }

    /// The oldest `max` results, still held until [`Buffer::acknowledge`].
    pub fn batch(&self, max: usize) -> Option<Batch> {
        let taken: Vec<&Pending> = self.items.iter().take(max).collect();
        let last_seq = taken.last()?.seq;
        Some(Batch {
            results: taken.iter().map(|p| p.result.clone()).collect(),
            last_seq,
        })
    }

    /// Removes every result up to `last_seq`: the responder has them.
    pub fn acknowledge(&mut self, last_seq: u64) {
        while self.items.front().is_some_and(|p| p.seq <= last_seq) {
            self.items.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(n: u8) -> ReportedResult {
        ReportedResult {
            pool: "www.example.test.".into(),
            address: [192, 0, 2, n].into(),
            ok: true,
            latency_ms: 1.0,
            error: None,
            reason: None,
            at: 1.0,
        }
    }

    fn addresses(batch: &Batch) -> Vec<u8> {
        let octet = |r: &ReportedResult| match r.address {
            std::net::IpAddr::V4(v4) => v4.octets()[3],
            std::net::IpAddr::V6(_) => 0,
        };
        batch.results.iter().map(octet).collect()
    }

    #[test]
    fn bounded_oldest_first_and_acknowledged_exactly() {
        let t0 = Instant::now();
        let age = Duration::from_secs(3);
        let mut buffer = Buffer::new(3);
        for n in 1..=5 {
            buffer.push(result(n), t0, age);
        }
        assert_eq!(
            (buffer.waiting(), buffer.dropped),
            (3, 2),
            "the two oldest went"
        );
        let batch = buffer.batch(2).unwrap();
        assert_eq!(addresses(&batch), [3, 4]);
        // While the batch is in flight, two more arrive and push 3 and 4 out.
        buffer.push(result(6), t0, age);
        buffer.push(result(7), t0, age);
        buffer.acknowledge(batch.last_seq);
        assert_eq!(
            addresses(&buffer.batch(10).unwrap()),
            [5, 6, 7],
            "nothing newer is lost"
        );
        buffer.acknowledge(buffer.batch(10).unwrap().last_seq);
        assert!(buffer.waiting() == 0 && buffer.batch(10).is_none());
    }

    #[test]
    fn results_past_their_pools_stale_after_are_not_sent() {
        let t0 = Instant::now();
        let mut buffer = Buffer::new(10);
        buffer.push(result(1), t0, Duration::from_secs(1));
        buffer.push(result(2), t0, Duration::from_secs(5));
        buffer.push(
            result(3),
            t0 + Duration::from_secs(2),
            Duration::from_secs(1),
        );
        assert_eq!(buffer.oldest(), Some(t0));
        buffer.expire(t0 + Duration::from_millis(2500));
        assert_eq!(buffer.expired, 1);
        assert_eq!(addresses(&buffer.batch(10).unwrap()), [2, 3]);
    }
}
