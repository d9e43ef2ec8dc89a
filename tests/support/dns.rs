//! DNS over real sockets for the tests: one query builder, a small reply parser with just
//! what most tests look at, UDP and TCP exchanges, and (in [`msg`]) the full message
//! builder and parser of the comparison tests.

pub mod msg;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream, UdpSocket};
use std::time::Duration;

pub const HEADER_LEN: usize = 12;
pub const TYPE_A: u16 = 1;
pub const TYPE_AAAA: u16 = 28;
pub const RCODE_NOERROR: u8 = 0;
pub const RCODE_NXDOMAIN: u8 = 3;

/// A parsed reply: just what the tests look at.
#[derive(Debug)]
pub struct Reply {
    pub id: u16,
    pub flags: u16,
    pub rcode: u8,
    pub answers: Vec<Answer>,
}

#[derive(Debug)]
pub struct Answer {
    /// Presentation form, lowercase, with the final dot.
    pub owner: String,
    pub rtype: u16,
    pub ttl: u32,
    pub rdata: Vec<u8>,
}

impl Reply {
    /// The addresses of the A records in the answer section, sorted.
    pub fn a_addresses(&self) -> Vec<Ipv4Addr> {
        let mut addrs: Vec<Ipv4Addr> = self
            .answers
            .iter()
            .filter(|a| a.rtype == TYPE_A && a.rdata.len() == 4)
            .map(|a| Ipv4Addr::new(a.rdata[0], a.rdata[1], a.rdata[2], a.rdata[3]))
            .collect();
        addrs.sort();
        addrs
    }

    pub fn is_authoritative(&self) -> bool {
        self.flags & 0x0400 != 0
    }
}

/// A query for `name` (presentation form) and `qtype`, class IN, no flags (no recursion
/// desired), no EDNS.
pub fn build_query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    build_query_with(id, name, qtype, 0, false)
}

/// The first flag byte with RD (recursion desired) set.
pub const RD: u8 = 0x01;

/// A query with `flags` as the header's first flag byte (QR, opcode, AA, TC, RD; e.g.
/// [`RD`]) and, with `edns`, an OPT record offering a 1232-byte payload.
pub fn build_query_with(id: u16, name: &str, qtype: u16, flags: u8, edns: bool) -> Vec<u8> {
    let mut msg = Vec::with_capacity(64);
    msg.extend_from_slice(&id.to_be_bytes());
    msg.extend_from_slice(&[flags, 0, 0, 1, 0, 0, 0, 0, 0, u8::from(edns)]);
    msg.extend_from_slice(&wire_name(name));
    msg.extend_from_slice(&qtype.to_be_bytes());
    msg.extend_from_slice(&1u16.to_be_bytes());
    if edns {
        msg.extend_from_slice(&[0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]);
    }
    msg
}

/// A name in uncompressed wire form.
pub fn wire_name(name: &str) -> Vec<u8> {
    let mut wire = Vec::new();
    for label in name
        .trim_end_matches('.')
        .split('.')
        .filter(|l| !l.is_empty())
    {
        wire.push(label.len() as u8);
        wire.extend_from_slice(label.as_bytes());
    }
    wire.push(0);
    wire
}

/// Whether `reply` answers `query` with NOERROR and at least one answer record (same ID,
/// QR set, question echoed).
pub fn is_noerror_answer(reply: &[u8], query: &[u8]) -> bool {
    reply.len() > query.len()
        && reply[..2] == query[..2]
        && reply[2] & 0x80 != 0
        && reply[3] & 0x0f == 0
        && u16::from_be_bytes([reply[6], reply[7]]) > 0
        && reply[HEADER_LEN..query.len()] == query[HEADER_LEN..]
}

/// Parses a reply; `None` if it is malformed.
pub fn parse_reply(msg: &[u8]) -> Option<Reply> {
    let u16_at = |pos: usize| Some(u16::from_be_bytes([*msg.get(pos)?, *msg.get(pos + 1)?]));
    let id = u16_at(0)?;
    let flags = u16_at(2)?;
    let (qdcount, ancount) = (u16_at(4)?, u16_at(6)?);
    let mut pos = 12;
    for _ in 0..qdcount {
        pos = read_name(msg, pos)?.1 + 4;
    }
    let mut answers = Vec::new();
    for _ in 0..ancount {
        let (owner, next) = read_name(msg, pos)?;
        let rtype = u16_at(next)?;
        let ttl = u32::from_be_bytes(msg.get(next + 4..next + 8)?.try_into().ok()?);
        let rdlen = u16_at(next + 8)? as usize;
        let rdata = msg.get(next + 10..next + 10 + rdlen)?.to_vec();
        pos = next + 10 + rdlen;
        answers.push(Answer {
            owner,
            rtype,
            ttl,
            rdata,
        });
    }
    Some(Reply {
        id,
        flags,
        rcode: (flags & 0x000f) as u8,
        answers,
    })
}

/// Reads a possibly compressed name at `pos`; returns it and the position after it.
fn read_name(msg: &[u8], mut pos: usize) -> Option<(String, usize)> {
    let mut name = String::new();
    let mut end = None;
    for _ in 0..128 {
        let len = *msg.get(pos)? as usize;
        if len & 0xc0 == 0xc0 {
            end.get_or_insert(pos + 2);
            pos = ((len & 0x3f) << 8) | *msg.get(pos + 1)? as usize;
            continue;
        }
        if len == 0 {
            if name.is_empty() {
                name.push('.');
            }
            return Some((name.to_ascii_lowercase(), end.unwrap_or(pos + 1)));
        }
        name.push_str(&String::from_utf8_lossy(msg.get(pos + 1..pos + 1 + len)?));
        name.push('.');
        pos += 1 + len;
    }
    None
}

/// One UDP query; `None` on timeout or a malformed or mismatched reply.
pub fn query_udp(server: SocketAddr, name: &str, qtype: u16) -> Option<Reply> {
    let socket = UdpSocket::bind("127.0.0.1:0").ok()?;
    socket
        .set_read_timeout(Some(Duration::from_millis(500)))
        .ok()?;
    let id = next_id();
    socket.send_to(&build_query(id, name, qtype), server).ok()?;
    let mut buf = [0u8; 65535];
    let (len, _) = recv_from(&socket, &mut buf).ok()?;
    parse_reply(&buf[..len]).filter(|reply| reply.id == id)
}

/// `socket.recv_from`, again after EINTR: a receive with a timeout returns it on any handled
/// signal whatever SA_RESTART says, and one test binary runs many servers and children.
pub fn recv_from(socket: &UdpSocket, buf: &mut [u8]) -> std::io::Result<(usize, SocketAddr)> {
    loop {
        match socket.recv_from(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// One TCP query (two-byte length prefix); `None` on any failure.
pub fn query_tcp(server: SocketAddr, name: &str, qtype: u16) -> Option<Reply> {
    let mut stream = TcpStream::connect_timeout(&server, Duration::from_secs(2)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    let id = next_id();
    let query = build_query(id, name, qtype);
    let mut framed = (query.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&query);
    stream.write_all(&framed).ok()?;
    let mut len = [0u8; 2];
    stream.read_exact(&mut len).ok()?;
    let mut reply = vec![0u8; u16::from_be_bytes(len) as usize];
    stream.read_exact(&mut reply).ok()?;
    parse_reply(&reply).filter(|reply| reply.id == id)
}

fn next_id() -> u16 {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(0x1234);
    NEXT.fetch_add(7, Ordering::Relaxed)
}
