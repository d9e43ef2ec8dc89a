//! DNS message helpers for integration tests: a query builder that can produce odd queries
//! (any opcode, QDCOUNT, class, EDNS version, several OPT records) and a reply parser with
//! name decompression that turns records into comparable values.
//!
//! Its own tests are in tests/dns/dns_msg.rs (run once, in one binary). A test crate rarely
//! uses every helper, hence the `allow` below.
#![allow(dead_code, unused_imports)]

mod query;
mod text;

pub use query::{EdnsSpec, QuerySpec};
pub use text::{class_from_text, hex, name_to_text, name_to_wire, type_from_text, type_to_text};

pub const TYPE_A: u16 = 1;
pub const TYPE_NS: u16 = 2;
pub const TYPE_CNAME: u16 = 5;
pub const TYPE_SOA: u16 = 6;
pub const TYPE_PTR: u16 = 12;
pub const TYPE_MX: u16 = 15;
pub const TYPE_TXT: u16 = 16;
pub const TYPE_AAAA: u16 = 28;
pub const TYPE_SRV: u16 = 33;
pub const TYPE_DNAME: u16 = 39;
pub const TYPE_OPT: u16 = 41;

/// Header flag bits.
pub const FLAG_QR: u16 = 0x8000;
pub const FLAG_AA: u16 = 0x0400;
pub const FLAG_TC: u16 = 0x0200;
pub const FLAG_RD: u16 = 0x0100;
pub const FLAG_RA: u16 = 0x0080;
pub const FLAG_AD: u16 = 0x0020;
pub const FLAG_CD: u16 = 0x0010;

/// A resource record in comparable form: names lowercased and uncompressed.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Record {
    /// Lowercase uncompressed wire form.
    pub owner: Vec<u8>,
    pub rtype: u16,
    pub class: u16,
    pub ttl: u32,
    /// RDATA with embedded names decompressed and lowercased for NS, CNAME, SOA, MX, PTR,
    /// SRV and DNAME; raw bytes for every other type.
    pub rdata: Vec<u8>,
}

/// The EDNS OPT record of a reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Opt {
    pub owner_is_root: bool,
    pub udp_size: u16,
    pub extended_rcode: u8,
    pub version: u8,
    pub dnssec_ok: bool,
    pub options: Vec<(u16, Vec<u8>)>,
}

/// A parsed DNS message.
#[derive(Clone, Debug)]
pub struct Message {
    pub id: u16,
    /// The flags word including opcode and the low four bits of the rcode.
    pub flags: u16,
    /// The question section exactly as received.
    pub question_bytes: Vec<u8>,
    /// (name as received, not lowercased; type; class).
    pub questions: Vec<(Vec<u8>, u16, u16)>,
    pub answer: Vec<Record>,
    pub authority: Vec<Record>,
    /// Additional records other than OPT.
    pub additional: Vec<Record>,
    /// Every OPT record found in the additional section.
    pub opts: Vec<Opt>,
}

impl Message {
    pub fn opcode(&self) -> u8 {
        ((self.flags >> 11) & 0x0f) as u8
    }

    pub fn flag(&self, mask: u16) -> bool {
        self.flags & mask != 0
    }

    /// The full rcode: header bits plus the extended bits of the first OPT record.
    pub fn rcode(&self) -> u16 {
        let high = self
            .opts
            .first()
            .map_or(0, |opt| u16::from(opt.extended_rcode));
        (high << 4) | (self.flags & 0x000f)
    }

    /// Parses a whole message; trailing bytes are an error.
    pub fn parse(wire: &[u8]) -> Result<Message, String> {
        let header = wire.get(..12).ok_or("shorter than a header")?;
        let word = |at: usize| u16::from_be_bytes([header[at], header[at + 1]]);
        let counts = [word(4), word(6), word(8), word(10)];
        let mut pos = 12;
        let mut questions = Vec::new();
        for _ in 0..counts[0] {
            let (name, next) = read_name(wire, pos, false)?;
            let fixed = wire.get(next..next + 4).ok_or("question cut short")?;
            let qtype = u16::from_be_bytes([fixed[0], fixed[1]]);
            let qclass = u16::from_be_bytes([fixed[2], fixed[3]]);
            questions.push((name, qtype, qclass));
            pos = next + 4;
        }
        let question_bytes = wire[12..pos].to_vec();
        let mut sections: [Vec<Record>; 3] = Default::default();
        let mut opts = Vec::new();
        for (index, section) in sections.iter_mut().enumerate() {
            for _ in 0..counts[index + 1] {
                let (record, next) = read_record(wire, pos)?;
                pos = next;
                if index == 2 && record.rtype == TYPE_OPT {
                    opts.push(opt_from_record(&record)?);
                } else {
                    section.push(record);
                }
            }
        }
        if pos != wire.len() {
            return Err(format!("{} trailing bytes", wire.len() - pos));
        }
        let [answer, authority, additional] = sections;
        Ok(Message {
            id: word(0),
            flags: word(2),
            question_bytes,
            questions,
            answer,
            authority,
            additional,
            opts,
        })
    }
}

fn opt_from_record(record: &Record) -> Result<Opt, String> {
    let mut options = Vec::new();
    let mut rest = record.rdata.as_slice();
    while !rest.is_empty() {
        let head = rest.get(..4).ok_or("OPT option header cut short")?;
        let code = u16::from_be_bytes([head[0], head[1]]);
        let len = usize::from(u16::from_be_bytes([head[2], head[3]]));
        let data = rest.get(4..4 + len).ok_or("OPT option data cut short")?;
        options.push((code, data.to_vec()));
        rest = &rest[4 + len..];
    }
    Ok(Opt {
        owner_is_root: record.owner == [0],
        udp_size: record.class,
        extended_rcode: (record.ttl >> 24) as u8,
        version: (record.ttl >> 16) as u8,
        dnssec_ok: record.ttl & 0x8000 != 0,
        options,
    })
}

/// Reads a possibly compressed name at `pos`; returns it uncompressed (lowercased when
/// asked) and the position after it in the message.
pub fn read_name(wire: &[u8], mut pos: usize, lowercase: bool) -> Result<(Vec<u8>, usize), String> {
    let mut name = Vec::new();
    let mut end = None;
    let mut jumps = 0;
    loop {
        let len = *wire.get(pos).ok_or("name runs past the end")?;
        match len {
            0 => {
                name.push(0);
                let end = end.unwrap_or(pos + 1);
                if name.len() > 255 {
                    return Err("name longer than 255 bytes".into());
                }
                if lowercase {
                    name.make_ascii_lowercase();
                }
                return Ok((name, end));
            }
            1..=63 => {
                let label = wire
                    .get(pos..pos + 1 + usize::from(len))
                    .ok_or("label runs past the end")?;
                name.extend_from_slice(label);
                pos += 1 + usize::from(len);
            }
            0xc0..=0xff => {
                let low = *wire.get(pos + 1).ok_or("pointer cut short")?;
                let target = (usize::from(len & 0x3f) << 8) | usize::from(low);
                end.get_or_insert(pos + 2);
                jumps += 1;
                if target >= pos || jumps > 64 {
                    return Err(format!("bad compression pointer at {pos}"));
                }
                pos = target;
            }
            _ => return Err(format!("unknown label type {len:#x} at {pos}")),
        }
    }
}

fn read_record(wire: &[u8], pos: usize) -> Result<(Record, usize), String> {
    let (owner, pos) = read_name(wire, pos, true)?;
    let fixed = wire.get(pos..pos + 10).ok_or("record header cut short")?;
    let rtype = u16::from_be_bytes([fixed[0], fixed[1]]);
    let class = u16::from_be_bytes([fixed[2], fixed[3]]);
    let ttl = u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]);
    let rdlen = usize::from(u16::from_be_bytes([fixed[8], fixed[9]]));
    let start = pos + 10;
    let raw = wire
        .get(start..start + rdlen)
        .ok_or("RDATA runs past the end")?;
    let rdata = normalize_rdata(wire, start, rtype, raw)?;
    Ok((
        Record {
            owner,
            rtype,
            class,
            ttl,
            rdata,
        },
        start + rdlen,
    ))
}

/// Decompresses and lowercases the names inside the RDATA of the well-known types.
fn normalize_rdata(wire: &[u8], start: usize, rtype: u16, raw: &[u8]) -> Result<Vec<u8>, String> {
    let (prefix, names, suffix) = match rtype {
        TYPE_NS | TYPE_CNAME | TYPE_PTR | TYPE_DNAME => (0, 1, 0),
        TYPE_SOA => (0, 2, 20),
        TYPE_MX => (2, 1, 0),
        TYPE_SRV => (6, 1, 0),
        _ => return Ok(raw.to_vec()),
    };
    let end = start + raw.len();
    let mut out = raw.get(..prefix).ok_or("RDATA too short")?.to_vec();
    let mut pos = start + prefix;
    for _ in 0..names {
        let (name, next) = read_name(wire, pos, true)?;
        if next > end {
            return Err("name in RDATA runs past the RDATA".into());
        }
        out.extend_from_slice(&name);
        pos = next;
    }
    if end - pos != suffix {
        return Err(format!(
            "RDATA of type {rtype} has {} bytes after its names, expected {suffix}",
            end - pos
        ));
    }
    out.extend_from_slice(&wire[pos..end]);
    Ok(out)
}
