//! Shared by the hostile-input tests (malformed.rs, tcp_abuse.rs): `swivel serve` as a
//! child process on loopback, its resident memory, queries built by hand, and a small
//! fixed-seed random generator.
#![allow(dead_code)]

pub mod packets;

use std::io::Read;
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const TYPE_A: u16 = 1;
pub const HEADER_LEN: usize = 12;

/// The zone every hostile test serves.
pub const ZONE: &str = "\
$ORIGIN example.test.
$TTL 300
@        SOA ns1 hostmaster 1 7200 3600 1209600 300
@        NS  ns1
@        MX  10 mail
@        TXT \"v=spf1 mx -all\"
ns1      A   192.0.2.53
mail     A   192.0.2.25
www      A   192.0.2.10
www      AAAA 2001:db8::10
alias    CNAME www
*.wild   A   192.0.2.80
sub      NS  ns.sub
ns.sub   A   192.0.2.99
";

/// A running `swivel serve`, killed when dropped; its log is kept for failure messages.
pub struct ServerProcess {
    child: Child,
    pub addr: SocketAddr,
    dir: tempfile::TempDir,
}

/// A loopback port free for both UDP and TCP at the time of asking.
pub fn free_port() -> u16 {
    loop {
        let udp = UdpSocket::bind("127.0.0.1:0").expect("bind an ephemeral UDP port");
        let port = udp.local_addr().expect("bound").port();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

impl ServerProcess {
    /// Starts swivel serving [`ZONE`] on a free loopback port, with `server_keys` added to
    /// its `[server]` table; returns once it answers a query.
    pub fn start(server_keys: &str) -> ServerProcess {
        let dir = tempfile::tempdir().expect("temporary folder");
        let port = free_port();
        let config = format!(
            "[server]\nlisten = [\"127.0.0.1:{port}\"]\n{server_keys}\n\
             [control]\nlisten = \"127.0.0.1:{}\"\n\n\
             [[zone]]\norigin = \"example.test.\"\nfile = \"example.test.zone\"\n",
            free_port()
        );
        std::fs::write(dir.path().join("swivel.toml"), config).expect("write config");
        std::fs::write(dir.path().join("example.test.zone"), ZONE).expect("write zone");
        let log = std::fs::File::create(dir.path().join("swivel.log")).expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_swivel"))
            .arg("serve")
            .arg("--config")
            .arg(dir.path().join("swivel.toml"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start swivel");
        let server = ServerProcess {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while !server.answers_normally() {
            assert!(
                Instant::now() < deadline,
                "swivel did not start; log:\n{}",
                server.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    pub fn log(&self) -> String {
        let mut text = String::new();
        if let Ok(mut file) = std::fs::File::open(self.dir.path().join("swivel.log")) {
            let _ = file.read_to_string(&mut text);
        }
        text
    }

    /// Resident memory of the process in KiB (VmRSS in /proc/PID/status).
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("read /proc/PID/status");
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS in /proc/PID/status")
    }

    /// Open file descriptors of the process.
    pub fn open_fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.child.id()))
            .map(|entries| entries.count())
            .unwrap_or(0)
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Whether `www.example.test A` gets its NOERROR answer over UDP within a second.
    pub fn answers_normally(&self) -> bool {
        let Ok(socket) = UdpSocket::bind("127.0.0.1:0") else {
            return false;
        };
        let _ = socket.set_read_timeout(Some(Duration::from_secs(1)));
        let query = build_query(0x5151, "www.example.test", TYPE_A);
        if socket.send_to(&query, self.addr).is_err() {
            return false;
        }
        let mut buf = [0u8; 2048];
        match socket.recv(&mut buf) {
            Ok(len) => is_noerror_answer(&buf[..len], &query),
            Err(_) => false,
        }
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether `reply` answers `query` with NOERROR and at least one answer record.
pub fn is_noerror_answer(reply: &[u8], query: &[u8]) -> bool {
    reply.len() > query.len()
        && reply[..2] == query[..2]
        && reply[2] & 0x80 != 0
        && reply[3] & 0x0f == 0
        && u16::from_be_bytes([reply[6], reply[7]]) > 0
        && reply[HEADER_LEN..query.len()] == query[HEADER_LEN..]
}

/// A query: header with RD and one question, class IN.
pub fn build_query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    let mut query = id.to_be_bytes().to_vec();
    query.extend_from_slice(&[1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    query.extend_from_slice(&wire_name(name));
    query.extend_from_slice(&qtype.to_be_bytes());
    query.extend_from_slice(&1u16.to_be_bytes());
    query
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

/// xorshift64*: a fixed-seed generator, so every run sends the same packets.
pub struct Random(u64);

impl Random {
    pub fn new(seed: u64) -> Random {
        Random(seed.max(1))
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..bound` (bound > 0).
    pub fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }

    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}
