//! Zones as loaded from RFC 1035 master files: validated records in wire form.

mod load;
mod validate;

pub use load::{load_zone, parse_zone};

use crate::name::Name;
use std::path::PathBuf;

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
/// below the origin, no CNAME beside other data, at most one DNAME at a name and nothing
/// below it.
#[derive(Clone, Debug)]
pub struct Zone {
    pub origin: Name,
    pub file: PathBuf,
    pub records: Vec<Record>,
}
