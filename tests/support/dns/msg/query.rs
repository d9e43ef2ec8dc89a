//! Building queries, including odd ones: any opcode, QDCOUNT and class, any EDNS version,
//! unknown options and several OPT records.

use super::TYPE_OPT;

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
