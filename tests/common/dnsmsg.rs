//! DNS message helpers for integration tests: a query builder that can produce odd queries
//! (any opcode, QDCOUNT, class, EDNS version, several OPT records) and a reply parser with
//! name decompression that turns records into comparable values.
//!
//! Include it with `#[path = "common/dnsmsg.rs"] mod dnsmsg;`.
#![allow(dead_code)]

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

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

/// Record type mnemonics known to the helpers; anything else is written `TYPEnnn`.
const TYPE_NAMES: &[(&str, u16)] = &[
    ("A", 1),
    ("NS", 2),
    ("CNAME", 5),
    ("SOA", 6),
    ("NULL", 10),
    ("PTR", 12),
    ("HINFO", 13),
    ("MX", 15),
    ("TXT", 16),
    ("AAAA", 28),
    ("SRV", 33),
    ("NAPTR", 35),
    ("DNAME", 39),
    ("OPT", 41),
    ("DS", 43),
    ("RRSIG", 46),
    ("NSEC", 47),
    ("DNSKEY", 48),
    ("SVCB", 64),
    ("HTTPS", 65),
    ("IXFR", 251),
    ("AXFR", 252),
    ("MAILB", 253),
    ("MAILA", 254),
    ("ANY", 255),
    ("CAA", 257),
];

/// Parses a type mnemonic or `TYPEnnn`, case-insensitively.
pub fn type_from_text(text: &str) -> Option<u16> {
    let upper = text.to_ascii_uppercase();
    if let Some(number) = upper.strip_prefix("TYPE") {
        return number.parse().ok();
    }
    TYPE_NAMES
        .iter()
        .find(|(name, _)| *name == upper)
        .map(|&(_, value)| value)
}

/// The mnemonic of a type, or `TYPEnnn`.
pub fn type_to_text(rtype: u16) -> String {
    match TYPE_NAMES.iter().find(|&&(_, value)| value == rtype) {
        Some((name, _)) => name.to_string(),
        None => format!("TYPE{rtype}"),
    }
}

/// Parses a class mnemonic (IN, CH, HS, NONE, ANY) or `CLASSnnn`.
pub fn class_from_text(text: &str) -> Option<u16> {
    match text.to_ascii_uppercase().as_str() {
        "IN" => Some(1),
        "CH" => Some(3),
        "HS" => Some(4),
        "NONE" => Some(254),
        "ANY" => Some(255),
        other => other.strip_prefix("CLASS")?.parse().ok(),
    }
}

/// Encodes presentation form (`www.Example.test.`, final dot optional) into wire form,
/// keeping the case as written. Supports `\.` and `\DDD` escapes.
pub fn name_to_wire(text: &str) -> Option<Vec<u8>> {
    let mut wire = Vec::new();
    if text != "." {
        let text = text.strip_suffix('.').unwrap_or(text);
        let mut label = Vec::new();
        let mut bytes = text.bytes();
        while let Some(byte) = bytes.next() {
            match byte {
                b'.' => push_label(&mut wire, &mut label)?,
                b'\\' => {
                    let first = bytes.next()?;
                    if first.is_ascii_digit() {
                        let digits = [first, bytes.next()?, bytes.next()?];
                        let value = std::str::from_utf8(&digits).ok()?.parse::<u8>().ok()?;
                        label.push(value);
                    } else {
                        label.push(first);
                    }
                }
                other => label.push(other),
            }
        }
        push_label(&mut wire, &mut label)?;
    }
    wire.push(0);
    (wire.len() <= 255).then_some(wire)
}

fn push_label(wire: &mut Vec<u8>, label: &mut Vec<u8>) -> Option<()> {
    if label.is_empty() || label.len() > 63 {
        return None;
    }
    wire.push(label.len() as u8);
    wire.append(label);
    Some(())
}

/// Presentation form of an uncompressed wire name, with escapes for odd bytes.
pub fn name_to_text(wire: &[u8]) -> String {
    let mut text = String::new();
    let mut pos = 0;
    while pos < wire.len() && wire[pos] != 0 {
        let len = wire[pos] as usize;
        for &byte in wire.get(pos + 1..pos + 1 + len).unwrap_or(&[]) {
            match byte {
                b'.' | b'\\' | b'"' | b'(' | b')' | b';' | b'@' | b'$' => {
                    text.push('\\');
                    text.push(byte as char);
                }
                0x21..=0x7e => text.push(byte as char),
                _ => text.push_str(&format!("\\{byte:03}")),
            }
        }
        text.push('.');
        pos += 1 + len;
    }
    if text.is_empty() {
        text.push('.');
    }
    text
}

/// One EDNS OPT record to put in a query.
#[derive(Clone, Debug)]
pub struct EdnsSpec {
    pub udp_size: u16,
    pub version: u8,
    pub dnssec_ok: bool,
    /// (code, data) pairs.
    pub options: Vec<(u16, Vec<u8>)>,
}

/// A query as it will be put on the wire; every field may be set to odd values.
#[derive(Clone, Debug)]
pub struct QuerySpec {
    pub id: u16,
    /// The header flags word without opcode: QR, AA, TC, RD, RA, Z, AD, CD bits.
    pub flags: u16,
    pub opcode: u8,
    /// Wire-form name, case as written.
    pub qname: Vec<u8>,
    pub qtype: u16,
    pub qclass: u16,
    /// How many times the question is written (0 means an empty question section).
    pub qdcount: u16,
    /// OPT records appended to the additional section (usually zero or one).
    pub edns: Vec<EdnsSpec>,
}

pub const FLAG_QR: u16 = 0x8000;
pub const FLAG_AA: u16 = 0x0400;
pub const FLAG_TC: u16 = 0x0200;
pub const FLAG_RD: u16 = 0x0100;
pub const FLAG_RA: u16 = 0x0080;
pub const FLAG_AD: u16 = 0x0020;
pub const FLAG_CD: u16 = 0x0010;

impl QuerySpec {
    /// Serialises the query.
    pub fn to_wire(&self) -> Vec<u8> {
        let mut wire = Vec::with_capacity(64);
        wire.extend_from_slice(&self.id.to_be_bytes());
        let flags = (self.flags & !0x7800) | (u16::from(self.opcode & 0x0f) << 11);
        wire.extend_from_slice(&flags.to_be_bytes());
        for count in [self.qdcount, 0, 0, self.edns.len() as u16] {
            wire.extend_from_slice(&count.to_be_bytes());
        }
        for _ in 0..self.qdcount {
            wire.extend_from_slice(&self.qname);
            wire.extend_from_slice(&self.qtype.to_be_bytes());
            wire.extend_from_slice(&self.qclass.to_be_bytes());
        }
        for edns in &self.edns {
            wire.push(0);
            wire.extend_from_slice(&TYPE_OPT.to_be_bytes());
            wire.extend_from_slice(&edns.udp_size.to_be_bytes());
            let ttl = (u32::from(edns.version) << 16) | if edns.dnssec_ok { 0x8000 } else { 0 };
            wire.extend_from_slice(&ttl.to_be_bytes());
            let rdlen: usize = edns.options.iter().map(|(_, data)| 4 + data.len()).sum();
            wire.extend_from_slice(&(rdlen as u16).to_be_bytes());
            for (code, data) in &edns.options {
                wire.extend_from_slice(&code.to_be_bytes());
                wire.extend_from_slice(&(data.len() as u16).to_be_bytes());
                wire.extend_from_slice(data);
            }
        }
        wire
    }
}

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

impl fmt::Display for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let class = match self.class {
            1 => "IN".to_string(),
            3 => "CH".to_string(),
            other => format!("CLASS{other}"),
        };
        let owner = name_to_text(&self.owner);
        let rtype = type_to_text(self.rtype);
        write!(
            f,
            "{owner} {} {class} {rtype} {}",
            self.ttl,
            rdata_to_text(self.rtype, &self.rdata)
        )
    }
}

fn rdata_to_text(rtype: u16, rdata: &[u8]) -> String {
    let names_after = |skip: usize| name_to_text(rdata.get(skip..).unwrap_or(&[]));
    match (rtype, rdata.len()) {
        (TYPE_A, 4) => Ipv4Addr::new(rdata[0], rdata[1], rdata[2], rdata[3]).to_string(),
        (TYPE_AAAA, 16) => Ipv6Addr::from(<[u8; 16]>::try_from(rdata).unwrap()).to_string(),
        (TYPE_NS | TYPE_CNAME | TYPE_PTR | TYPE_DNAME, _) => names_after(0),
        (TYPE_MX, 3..) => format!(
            "{} {}",
            u16::from_be_bytes([rdata[0], rdata[1]]),
            names_after(2)
        ),
        (TYPE_SRV, 7..) => {
            let word = |at: usize| u16::from_be_bytes([rdata[at], rdata[at + 1]]);
            format!("{} {} {} {}", word(0), word(2), word(4), names_after(6))
        }
        (TYPE_SOA, 22..) => soa_to_text(rdata),
        (TYPE_TXT, _) => format!(
            "({} bytes) {}",
            rdata.len(),
            String::from_utf8_lossy(&rdata[..rdata.len().min(40)])
        ),
        _ => format!("\\# {} {}", rdata.len(), hex(rdata)),
    }
}

/// `MNAME RNAME SERIAL REFRESH RETRY EXPIRE MINIMUM` of normalised SOA RDATA.
fn soa_to_text(rdata: &[u8]) -> String {
    let (names, numbers) = rdata.split_at(rdata.len() - 20);
    let mut mname_end = 0;
    while mname_end < names.len() && names[mname_end] != 0 {
        mname_end += 1 + usize::from(names[mname_end]);
    }
    let (mname, rname) = names.split_at((mname_end + 1).min(names.len()));
    let values: Vec<String> = numbers
        .chunks(4)
        .map(|chunk| u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]).to_string())
        .collect();
    format!(
        "{} {} {}",
        name_to_text(mname),
        name_to_text(rname),
        values.join(" ")
    )
}

/// Lowercase hexadecimal.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
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

#[cfg(test)]
mod self_check {
    use super::*;

    /// A reply for `WWW.example.test. MX` with a compressed owner, MX target and SOA, and
    /// an OPT record carrying extended rcode 1 (BADVERS with header rcode 0).
    const REPLY: &[u8] = &[
        0x12, 0x34, 0x84, 0x00, 0, 1, 0, 1, 0, 1, 0, 1, // header: QR AA, 1/1/1/1
        3, b'W', b'W', b'W', 7, b'e', b'x', b'a', b'm', b'p', b'l', b'e', 4, b't', b'e', b's',
        b't', 0, 0, 15, 0, 1, // question at 12: WWW.example.test. MX IN
        0xc0, 12, 0, 15, 0, 1, 0, 0, 0x0e, 0x10, 0, 7, 0, 10, 2, b'M', b'x', 0xc0,
        16, // MX 10 Mx.example.test.
        0xc0, 16, 0, 6, 0, 1, 0, 0, 1, 44, 0, 27, 2, b'n', b's', 0xc0, 16, 0xc0,
        16, // SOA ns. example.test.
        0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5, // SOA numbers
        0, 0, 41, 4, 0xd0, 1, 0, 0x80, 0, 0, 4, 0, 10, 0,
        0, // OPT 1232, ext 1, DO, cookie opt
    ];

    #[test]
    fn parses_a_compressed_reply() {
        let message = Message::parse(REPLY).expect("parses");
        assert_eq!(message.id, 0x1234);
        assert!(message.flag(FLAG_QR) && message.flag(FLAG_AA) && !message.flag(FLAG_TC));
        assert_eq!(message.rcode(), 16);
        assert_eq!(message.question_bytes, &REPLY[12..34]);
        assert_eq!(name_to_text(&message.questions[0].0), "WWW.example.test.");
        let mx = &message.answer[0];
        assert_eq!(name_to_text(&mx.owner), "www.example.test.");
        assert_eq!((mx.rtype, mx.class, mx.ttl), (TYPE_MX, 1, 3600));
        let mut expected = vec![0, 10];
        expected.extend(name_to_wire("mx.example.test.").unwrap());
        assert_eq!(mx.rdata, expected);
        let soa = &message.authority[0];
        assert_eq!(&soa.rdata[..4], b"\x02ns\x07");
        assert_eq!(soa.rdata.len(), 17 + 14 + 20);
        let opt = &message.opts[0];
        assert_eq!((opt.udp_size, opt.version, opt.dnssec_ok), (1232, 0, true));
        assert_eq!(opt.options, vec![(10, Vec::new())]);
        assert!(message.additional.is_empty());
    }

    #[test]
    fn rejects_forward_pointers_and_truncation() {
        let mut looping = REPLY[..34].to_vec();
        looping[12] = 0xc0;
        looping[13] = 12;
        assert!(Message::parse(&looping).is_err());
        assert!(Message::parse(&REPLY[..REPLY.len() - 1]).is_err());
        assert!(Message::parse(&REPLY[..11]).is_err());
    }

    #[test]
    fn builds_queries_with_odd_fields() {
        let query = QuerySpec {
            id: 7,
            flags: FLAG_RD,
            opcode: 5,
            qname: name_to_wire("A.b.").unwrap(),
            qtype: type_from_text("type65400").unwrap(),
            qclass: class_from_text("CH").unwrap(),
            qdcount: 2,
            edns: vec![EdnsSpec {
                udp_size: 4096,
                version: 1,
                dnssec_ok: true,
                options: vec![(65001, vec![0xab])],
            }],
        };
        let wire = query.to_wire();
        assert_eq!(&wire[..12], &[0, 7, 0x29, 0, 0, 2, 0, 0, 0, 0, 0, 1]);
        assert_eq!(&wire[12..21], &[1, b'A', 1, b'b', 0, 0xff, 0x78, 0, 3]);
        let parsed = Message::parse(&wire).expect("own query parses");
        assert_eq!(parsed.questions.len(), 2);
        assert_eq!(parsed.opcode(), 5);
        assert_eq!(parsed.opts[0].options, vec![(65001, vec![0xab])]);
        assert_eq!(parsed.opts[0].version, 1);
    }
}
