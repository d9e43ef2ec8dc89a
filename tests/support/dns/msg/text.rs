//! Presentation form: type and class mnemonics, names in text, and a readable rendering
//! of records for reports.

use super::{
    Record, TYPE_A, TYPE_AAAA, TYPE_CNAME, TYPE_DNAME, TYPE_MX, TYPE_NS, TYPE_PTR, TYPE_SOA,
    TYPE_SRV, TYPE_TXT,
};
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

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
