//! The query engine: query bytes in, answer table, reply bytes out. No I/O, no clock, no
//! allocation, so it is unit-tested, fuzzed and benchmarked directly.

use crate::table::Table;

/// Largest UDP payload Swivel advertises and sends (RFC 9715 / DNS flag day 2020).
pub const EDNS_UDP_SIZE: u16 = 1232;
/// Reply buffer size that suffices for any UDP reply.
pub const UDP_REPLY_BUF: usize = EDNS_UDP_SIZE as usize;
/// Reply buffer size that suffices for any TCP reply.
pub const TCP_REPLY_BUF: usize = 65535;

/// How the query arrived; decides the size limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
}

/// Why a packet got no reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropReason {
    /// Shorter than a header, or otherwise unreadable.
    Malformed,
    /// QR set: a response, never answered.
    Response,
}

/// What the engine did with one packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// `out[..len]` holds the reply.
    Reply { len: usize, rcode: u16, truncated: bool },
    Drop(DropReason),
}

/// Answers one query from `table` into `out`, which must hold at least [`UDP_REPLY_BUF`]
/// bytes for UDP and [`TCP_REPLY_BUF`] for TCP.
pub fn answer(query: &[u8], table: &Table, transport: Transport, out: &mut [u8]) -> Outcome {
    let _ = (query, table, transport, out);
    Outcome::Drop(DropReason::Malformed)
}
