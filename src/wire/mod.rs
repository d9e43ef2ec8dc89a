//! DNS messages in wire form, read and written in place without allocation: borrowed views
//! of the header and the OPT record with a getter and a setter per field, the OPT record's
//! high-level form to parse and emit, the parse of a query, moving the compression
//! pointers of records copied elsewhere, and the numbers of types, classes and rcodes.
//!
//! In the manner of smoltcp's `wire`: a view (`Header<T>`, `OptRecord<T>`) wraps a buffer
//! `T: AsRef<[u8]>` (and `AsMut<[u8]>` to write), field offsets live in private `field`
//! modules, and a `Repr` is what `parse` returns and `emit` writes.

mod compression;
pub mod ecs;
pub mod header;
pub mod opt;
mod query;
mod record;

pub use compression::move_pointers;
pub use ecs::ClientSubnet;
pub use header::Header;
pub use opt::{EdnsOption, OptRecord, Options, OptionsIter, Repr as OptRepr};
pub use query::{parse_query, Query, QueryError};
pub use record::find_opt;

/// Byte ranges of fields, for the `field` modules of the views.
mod field {
    pub type Field = core::ops::Range<usize>;
    pub type Rest = core::ops::RangeFrom<usize>;
}

/// Bytes too short for what is read or written in them, or not what they should be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Error;

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("truncated or malformed DNS message bytes")
    }
}

impl std::error::Error for Error {}

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
    pub const DNSKEY: u16 = 48;
    pub const NSEC3: u16 = 50;
    pub const NSEC3PARAM: u16 = 51;
    pub const CDS: u16 = 59;
    pub const CDNSKEY: u16 = 60;
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

/// Response codes used by Swivel (RFC 1035, RFC 2136, RFC 6891).
pub mod rcode {
    pub const NOERROR: u16 = 0;
    pub const FORMERR: u16 = 1;
    pub const SERVFAIL: u16 = 2;
    pub const NXDOMAIN: u16 = 3;
    pub const NOTIMP: u16 = 4;
    pub const REFUSED: u16 = 5;
    /// A name that should not exist does: a DNAME substitution longer than 255 octets
    /// (RFC 6672 section 2.2).
    pub const YXDOMAIN: u16 = 6;
    pub const NOTAUTH: u16 = 9;
    /// Extended: 16, carried as 1 in the OPT TTL's upper byte.
    pub const BADVERS: u16 = 16;

    /// Splits a 12-bit rcode into the header's four bits and the OPT record's upper eight
    /// (RFC 6891 section 6.1.3).
    #[inline]
    pub const fn split(code: u16) -> (u16, u8) {
        (code & 0xf, (code >> 4) as u8)
    }

    /// The rcode made of the header's four bits and the OPT record's upper eight.
    #[inline]
    pub const fn join(header: u16, extended: u8) -> u16 {
        (extended as u16) << 4 | (header & 0xf)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extended_rcodes_split_between_header_and_opt() {
        assert_eq!(rcode::split(rcode::NXDOMAIN), (3, 0));
        assert_eq!(rcode::split(rcode::BADVERS), (0, 1));
        assert_eq!(rcode::split(0xfff), (0xf, 0xff));
        assert_eq!(rcode::join(0, 1), rcode::BADVERS);
        assert_eq!(rcode::join(rcode::REFUSED, 0), rcode::REFUSED);
    }
}
