//! Query counters that cost the query path nothing shared: every UDP worker owns a block of
//! counters in its own cache lines, and so does every thread that runs TCP connections.
//! Only the owner writes its block (a plain load and store, no locked instruction, no lock,
//! no allocation); the blocks are registered once in a global list and summed when the
//! metrics are scraped.

use crate::engine::{DropReason, Outcome, Transport};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Response codes counted one by one: 0 to 16 (BADVERS); higher ones share the last slot.
pub const RCODE_SLOTS: usize = 18;
/// The slot of response codes above 16.
const OTHER_RCODE: usize = RCODE_SLOTS - 1;

/// One owner's counters, aligned so that no two owners share a cache line (128 bytes also
/// keeps the adjacent-line prefetcher from pairing them).
#[repr(align(128))]
#[derive(Debug, Default)]
pub struct QueryCounters {
    /// Replies sent, by response code slot.
    replies: [AtomicU64; RCODE_SLOTS],
    /// Replies cut to fit the size limit (TC set).
    truncated: AtomicU64,
    /// Packets not answered: shorter than a header.
    dropped_malformed: AtomicU64,
    /// Packets not answered: responses (QR set).
    dropped_response: AtomicU64,
    /// Datagrams not answered: larger than the receive buffer, so cut by the kernel.
    dropped_oversized: AtomicU64,
    /// UDP replies not sent: over the response rate limit.
    rrl_dropped: AtomicU64,
    /// UDP replies over the rate limit sent truncated instead (slip).
    rrl_slipped: AtomicU64,
}

/// Adds one to a counter that only the calling thread writes.
#[inline]
fn bump(counter: &AtomicU64) {
    counter.store(counter.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
}

impl QueryCounters {
    /// A new block, registered for `transport` so that scrapes include it.
    pub fn register(transport: Transport) -> Arc<QueryCounters> {
        let counters = Arc::new(QueryCounters::default());
        registry().blocks.push((transport, counters.clone()));
        counters
    }

    /// Counts what the engine did with one packet. Call only from the block's owner.
    #[inline]
    pub fn count(&self, outcome: &Outcome) {
        match *outcome {
            Outcome::Reply {
                rcode, truncated, ..
            } => {
                bump(&self.replies[usize::from(rcode).min(OTHER_RCODE)]);
                if truncated {
                    bump(&self.truncated);
                }
            }
            Outcome::Drop(DropReason::Malformed) => bump(&self.dropped_malformed),
            Outcome::Drop(DropReason::Response) => bump(&self.dropped_response),
        }
    }

    /// Counts a datagram dropped unread because it did not fit the receive buffer.
    #[inline]
    pub fn count_oversized(&self) {
        bump(&self.dropped_oversized);
    }

    /// Counts a reply withheld by response rate limiting.
    #[inline]
    pub fn count_rate_limited(&self) {
        bump(&self.rrl_dropped);
    }

    /// Counts a reply over the rate limit that was sent truncated (also count the reply).
    #[inline]
    pub fn count_slipped(&self) {
        bump(&self.rrl_slipped);
    }
}

/// Every live block, and what the blocks of finished threads counted.
struct Registry {
    blocks: Vec<(Transport, Arc<QueryCounters>)>,
    retired_tcp: QueryTotals,
}

fn registry() -> std::sync::MutexGuard<'static, Registry> {
    static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
        blocks: Vec::new(),
        retired_tcp: QueryTotals::ZERO,
    });
    REGISTRY
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A thread's TCP block; when the thread ends, its counts move to the registry's retired
/// totals and the block leaves the list, so threads that come and go leave nothing behind.
struct ThreadBlock(Arc<QueryCounters>);

impl Drop for ThreadBlock {
    fn drop(&mut self) {
        let mut registry = registry();
        registry
            .blocks
            .retain(|(_, block)| !Arc::ptr_eq(block, &self.0));
        registry.retired_tcp.add(&self.0);
    }
}

thread_local! {
    /// The TCP counters of the calling thread, registered on first use. TCP connection
    /// tasks count here between awaits, so each block has one writer: its thread.
    static TCP_COUNTERS: ThreadBlock = ThreadBlock(QueryCounters::register(Transport::Tcp));
}

/// Registers the calling thread's TCP block now, so that the first TCP query it serves
/// allocates nothing: the server's runtime calls it as each of its threads starts.
pub fn prepare_tcp_thread() {
    TCP_COUNTERS.with(|_| ());
}

/// Counts a TCP outcome into the calling thread's block.
#[inline]
pub fn count_tcp(outcome: &Outcome) {
    TCP_COUNTERS.with(|block| block.0.count(outcome));
}

/// The sum over every block of one transport.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueryTotals {
    /// Replies by response code slot (see [`rcode_name`]).
    pub replies: [u64; RCODE_SLOTS],
    pub truncated: u64,
    pub dropped_malformed: u64,
    pub dropped_response: u64,
    pub dropped_oversized: u64,
    pub rrl_dropped: u64,
    pub rrl_slipped: u64,
}

impl QueryTotals {
    const ZERO: QueryTotals = QueryTotals {
        replies: [0; RCODE_SLOTS],
        truncated: 0,
        dropped_malformed: 0,
        dropped_response: 0,
        dropped_oversized: 0,
        rrl_dropped: 0,
        rrl_slipped: 0,
    };

    fn add(&mut self, counters: &QueryCounters) {
        for (total, counter) in self.replies.iter_mut().zip(&counters.replies) {
            *total += counter.load(Ordering::Relaxed);
        }
        self.truncated += counters.truncated.load(Ordering::Relaxed);
        self.dropped_malformed += counters.dropped_malformed.load(Ordering::Relaxed);
        self.dropped_response += counters.dropped_response.load(Ordering::Relaxed);
        self.dropped_oversized += counters.dropped_oversized.load(Ordering::Relaxed);
        self.rrl_dropped += counters.rrl_dropped.load(Ordering::Relaxed);
        self.rrl_slipped += counters.rrl_slipped.load(Ordering::Relaxed);
    }
}

/// Sums every registered block: (UDP, TCP).
pub fn totals() -> (QueryTotals, QueryTotals) {
    let registry = registry();
    let mut udp = QueryTotals::default();
    let mut tcp = registry.retired_tcp.clone();
    for (transport, counters) in &registry.blocks {
        match transport {
            Transport::Udp => udp.add(counters),
            Transport::Tcp => tcp.add(counters),
        }
    }
    (udp, tcp)
}

/// The mnemonic of a response code slot (RFC 6895), `RCODE<n>` for unnamed ones and
/// `OTHER` for the shared slot above 16.
pub fn rcode_name(slot: usize) -> std::borrow::Cow<'static, str> {
    const NAMES: [&str; 17] = [
        "NOERROR",
        "FORMERR",
        "SERVFAIL",
        "NXDOMAIN",
        "NOTIMP",
        "REFUSED",
        "YXDOMAIN",
        "YXRRSET",
        "NXRRSET",
        "NOTAUTH",
        "NOTZONE",
        "DSOTYPENI",
        "",
        "",
        "",
        "",
        "BADVERS",
    ];
    match NAMES.get(slot) {
        Some(name) if !name.is_empty() => (*name).into(),
        Some(_) => format!("RCODE{slot}").into(),
        None => "OTHER".into(),
    }
}

/// Whether a response code slot is one the engine answers with, so that its series is
/// always present (at 0) rather than appearing with the first such reply.
pub fn rcode_always_shown(slot: usize) -> bool {
    use crate::wire::rcode::*;
    [
        NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED, NOTAUTH, BADVERS,
    ]
    .iter()
    .any(|&code| usize::from(code) == slot)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_summed_over_blocks_by_transport() {
        let before = totals();
        let a = QueryCounters::register(Transport::Udp);
        let b = QueryCounters::register(Transport::Udp);
        let reply = |rcode, truncated| Outcome::Reply {
            len: 12,
            rcode,
            truncated,
            answer: 0,
        };
        a.count(&reply(0, false));
        a.count(&reply(0, true));
        b.count(&reply(3, false));
        b.count(&reply(4000, false));
        b.count(&Outcome::Drop(DropReason::Malformed));
        std::thread::spawn(move || {
            count_tcp(&reply(5, false));
            count_tcp(&Outcome::Drop(DropReason::Response));
        })
        .join()
        .unwrap();
        let (udp, tcp) = totals();
        // Other tests in this process may count too; these blocks add exactly this much.
        assert!(udp.replies[0] >= before.0.replies[0] + 2);
        assert!(udp.replies[3] > before.0.replies[3]);
        assert!(udp.replies[OTHER_RCODE] > before.0.replies[OTHER_RCODE]);
        assert!(udp.truncated > before.0.truncated);
        assert!(udp.dropped_malformed > before.0.dropped_malformed);
        assert!(tcp.replies[5] > before.1.replies[5]);
        assert!(tcp.dropped_response > before.1.dropped_response);
        assert_eq!(a.replies[0].load(Ordering::Relaxed), 2);
        assert_eq!(b.replies[OTHER_RCODE].load(Ordering::Relaxed), 1);
    }

    #[test]
    fn a_finished_thread_leaves_its_counts_but_not_its_block() {
        let before = totals().1;
        let block = std::thread::spawn(|| {
            count_tcp(&Outcome::Drop(DropReason::Malformed));
            TCP_COUNTERS.with(|block| Arc::as_ptr(&block.0) as usize)
        })
        .join()
        .unwrap();
        assert!(totals().1.dropped_malformed > before.dropped_malformed);
        let listed = registry()
            .blocks
            .iter()
            .any(|(_, b)| Arc::as_ptr(b) as usize == block);
        assert!(!listed, "the finished thread's block left the registry");
    }

    #[test]
    fn blocks_do_not_share_cache_lines() {
        assert_eq!(std::mem::align_of::<QueryCounters>(), 128);
        assert_eq!(std::mem::size_of::<QueryCounters>() % 128, 0);
    }

    #[test]
    fn rcode_names() {
        assert_eq!(rcode_name(0), "NOERROR");
        assert_eq!(rcode_name(3), "NXDOMAIN");
        assert_eq!(rcode_name(13), "RCODE13");
        assert_eq!(rcode_name(16), "BADVERS");
        assert_eq!(rcode_name(OTHER_RCODE), "OTHER");
        assert!(rcode_always_shown(9) && !rcode_always_shown(6));
    }
}
