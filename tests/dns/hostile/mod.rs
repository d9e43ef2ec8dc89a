//! Shared by the hostile-input tests (malformed.rs, tcp_abuse.rs): `swivel serve` as a
//! child process on loopback, its resident memory, queries built by hand, and a small
//! fixed-seed random generator.

pub mod packets;

use crate::support::dns::{build_query_with, RD};
pub use crate::support::dns::{is_noerror_answer, wire_name, HEADER_LEN, TYPE_A};
use crate::support::http::request;
use crate::support::process::{Config, Process, STARTUP};
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

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
    process: Process,
    pub addr: SocketAddr,
    /// The control listener (metrics).
    pub control: SocketAddr,
    _dir: tempfile::TempDir,
}

impl ServerProcess {
    /// Starts swivel serving [`ZONE`] on a kernel-chosen loopback port, with `server_keys`
    /// added to its `[server]` table; returns once it answers a query.
    pub fn start(server_keys: &str) -> ServerProcess {
        let dir = tempfile::tempdir().expect("temporary folder");
        let config = Config::new()
            .server(server_keys)
            .example_zone()
            .write(&dir.path().join("swivel.toml"));
        std::fs::write(dir.path().join("example.test.zone"), ZONE).expect("write zone");
        let process = Process::swivel(
            &["serve", "--config", config.to_str().unwrap()],
            &dir.path().join("swivel.log"),
        );
        let listening = process.wait_listening(STARTUP);
        let server = ServerProcess {
            process,
            addr: listening.dns(),
            control: listening.control,
            _dir: dir,
        };
        let deadline = Instant::now() + STARTUP;
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
        self.process.log()
    }

    /// Resident memory of the process in KiB (VmRSS in /proc/PID/status).
    pub fn rss_kib(&self) -> u64 {
        self.process.rss_kib()
    }

    /// The value of the metric series whose line starts with `series` (name and labels),
    /// 0 when absent.
    pub fn metric(&self, series: &str) -> u64 {
        let reply = request(self.control, "GET", "/metrics", &[], "");
        reply
            .body
            .lines()
            .find_map(|line| line.strip_prefix(series)?.trim().parse::<f64>().ok())
            .map_or(0, |value| value as u64)
    }

    /// Open file descriptors of the process.
    pub fn open_fds(&self) -> usize {
        self.process.open_fds()
    }

    /// Whether `www.example.test A` gets its NOERROR answer over UDP within a second.
    pub fn answers_normally(&self) -> bool {
        let Ok(socket) = UdpSocket::bind("127.0.0.1:0") else {
            return false;
        };
        let _ = socket.set_read_timeout(Some(Duration::from_secs(1)));
        let query = build_query_with(0x5151, "www.example.test", TYPE_A, RD, false);
        if socket.send_to(&query, self.addr).is_err() {
            return false;
        }
        let mut buf = [0u8; 2048];
        match socket.recv(&mut buf) {
            Ok(len) => is_noerror_answer(&buf[..len], &query),
            Err(_) => false,
        }
    }
}

/// A query: header with RD and one question, class IN.
pub fn build_query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    build_query_with(id, name, qtype, RD, false)
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
