//! Borrowed views of DNS messages: the header, the question and the OPT record of a query,
//! read in place without allocation.

mod query;

pub use query::{parse_query, Edns, Query, QueryError};

/// Byte ranges and bits of the 12-byte header (RFC 1035 section 4.1.1).
pub mod header {
    pub const LEN: usize = 12;
    pub const ID: core::ops::Range<usize> = 0..2;
    pub const FLAGS: core::ops::Range<usize> = 2..4;
    pub const QDCOUNT: core::ops::Range<usize> = 4..6;
    pub const ANCOUNT: core::ops::Range<usize> = 6..8;
    pub const NSCOUNT: core::ops::Range<usize> = 8..10;
    pub const ARCOUNT: core::ops::Range<usize> = 10..12;

    pub const QR: u16 = 0x8000;
    pub const OPCODE_MASK: u16 = 0x7800;
    pub const AA: u16 = 0x0400;
    pub const TC: u16 = 0x0200;
    pub const RD: u16 = 0x0100;
    pub const RA: u16 = 0x0080;
    pub const AD: u16 = 0x0020;
    pub const CD: u16 = 0x0010;
    pub const RCODE_MASK: u16 = 0x000f;
}

/// Response codes used by Swivel (RFC 1035, RFC 6891).
pub mod rcode {
    pub const NOERROR: u16 = 0;
    pub const FORMERR: u16 = 1;
    pub const SERVFAIL: u16 = 2;
    pub const NXDOMAIN: u16 = 3;
    pub const NOTIMP: u16 = 4;
    pub const REFUSED: u16 = 5;
    pub const NOTAUTH: u16 = 9;
    /// Extended: 16, carried as 1 in the OPT TTL's upper byte.
    pub const BADVERS: u16 = 16;
}

/// Reads a big-endian u16 at `at`; the caller has checked the bounds.
#[inline]
pub fn get_u16(buf: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([buf[at], buf[at + 1]])
}

/// Writes a big-endian u16 at `at`; the caller has checked the bounds.
#[inline]
pub fn put_u16(buf: &mut [u8], at: usize, value: u16) {
    buf[at..at + 2].copy_from_slice(&value.to_be_bytes());
}
