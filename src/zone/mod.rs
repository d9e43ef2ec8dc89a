//! Zones as loaded from RFC 1035 master files: validated records in wire form.

mod load;
mod validate;

pub use load::{load_zone, parse_zone};

use crate::name::Name;
use std::path::PathBuf;

/// Record type numbers used by the loader, the table compiler and the engine.
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

/// The IN class; the only one Swivel serves.
pub const CLASS_IN: u16 = 1;

/// One resource record of class IN.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Owner, lowercase wire form.
    pub owner: Name,
    pub rtype: u16,
    pub ttl: u32,
    /// Uncompressed wire-form RDATA, names in it as written in the file.
    pub rdata: Vec<u8>,
    /// 1-based line in the zone file where the record starts.
    pub line: usize,
}

/// A validated zone: exactly one SOA at the origin, NS at the origin, every record at or
/// below the origin, no CNAME beside other data.
#[derive(Clone, Debug)]
pub struct Zone {
    pub origin: Name,
    pub file: PathBuf,
    pub records: Vec<Record>,
}
