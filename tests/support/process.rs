//! Helpers for process tests: a minimal DNS client over real UDP and TCP sockets, free
//! loopback ports, and a guard that runs `swivel` and captures its log.
#![allow(dead_code)]

use std::fs::File;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

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

/// A query for `name` (presentation form) and `qtype`, class IN, no recursion desired.
pub fn build_query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    let mut msg = Vec::with_capacity(64);
    msg.extend_from_slice(&id.to_be_bytes());
    msg.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name
        .trim_end_matches('.')
        .split('.')
        .filter(|l| !l.is_empty())
    {
        msg.push(label.len() as u8);
        msg.extend_from_slice(label.as_bytes());
    }
    msg.push(0);
    msg.extend_from_slice(&qtype.to_be_bytes());
    msg.extend_from_slice(&1u16.to_be_bytes());
    msg
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
    let (len, _) = socket.recv_from(&mut buf).ok()?;
    parse_reply(&buf[..len]).filter(|reply| reply.id == id)
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

/// A loopback port free for both UDP and TCP at the time of asking.
pub fn free_port() -> u16 {
    loop {
        let udp = UdpSocket::bind("127.0.0.1:0").expect("bind an ephemeral UDP port");
        let port = udp.local_addr().unwrap().port();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// Whether `port` on 127.0.0.1 can be bound for both UDP and TCP right now.
pub fn port_is_free(port: u16) -> bool {
    UdpSocket::bind(("127.0.0.1", port)).is_ok() && TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// Polls `condition` every 50 ms until it holds or `timeout` passes.
pub fn wait_until(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A running `swivel` process whose stderr goes to a file; killed when dropped.
pub struct Swivel {
    child: Child,
    log: PathBuf,
}

impl Swivel {
    /// Starts `swivel` with `args`; its log goes to `log`.
    pub fn start(args: &[&str], log: &Path) -> Swivel {
        let stderr = File::create(log).expect("create log file");
        let child = Command::new(env!("CARGO_BIN_EXE_swivel"))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(stderr))
            .spawn()
            .expect("start swivel");
        Swivel {
            child,
            log: log.to_path_buf(),
        }
    }

    /// Everything logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the log contains `text`; panics with the log otherwise.
    pub fn wait_for_log(&self, text: &str, timeout: Duration) {
        if !wait_until(timeout, || self.log().contains(text)) {
            panic!(
                "swivel did not log {text:?} within {timeout:?}; log:\n{}",
                self.log()
            );
        }
    }

    /// Sends a signal by name (`HUP`, `TERM`) with the shell's built-in kill, which every
    /// system has (the kill(1) binary may be missing from a minimal image).
    pub fn signal(&self, name: &str) {
        let command = format!("kill -{name} {}", self.child.id());
        let status = Command::new("sh")
            .args(["-c", &command])
            .status()
            .expect("run sh");
        assert!(status.success(), "{command} failed");
    }

    /// The exit status if the process has ended.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().expect("poll swivel")
    }

    /// Waits up to `timeout` for the process to end.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let mut status = None;
        wait_until(timeout, || {
            status = self.exited();
            status.is_some()
        });
        status
    }
}

impl Drop for Swivel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
