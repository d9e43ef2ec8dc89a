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

/// Record type numbers (RFC 1035 section 3.2.2 and the IANA registry) used by the loader,
/// the table compiler and the engine.
pub mod rtype {
    pub const A: u16 = 1;
    pub const NS: u16 = 2;
    pub const CNAME: u16 = 5;
    pub const SOA: u16 = 6;
    pub const PTR: u16 = 12;
    pub const MX: u16 = 15;
    pub const TXT: u16 = 16;
    pub const AAAA: u16 = 28;
    pub const SRV: u16 = 33;
    pub const DNAME: u16 = 39;
    pub const OPT: u16 = 41;
    pub const DS: u16 = 43;
    pub const RRSIG: u16 = 46;
    pub const NSEC: u16 = 47;
    pub const IXFR: u16 = 251;
    pub const AXFR: u16 = 252;
    pub const MAILB: u16 = 253;
    pub const MAILA: u16 = 254;
    pub const ANY: u16 = 255;
    pub const CAA: u16 = 257;
}

/// Record class numbers (RFC 1035 section 3.2.4).
pub mod class {
    /// The Internet class; the only one Swivel serves.
    pub const IN: u16 = 1;
    /// The query class ANY (RFC 1035 section 3.2.5).
    pub const ANY: u16 = 255;
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
