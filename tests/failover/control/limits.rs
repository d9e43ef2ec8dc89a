//! The control listener's limits against a real `swivel serve` over real sockets: idle and
//! trickling connections by the hundred (the server under `ulimit -n 1024`) never stop the
//! API, metrics or DNS over UDP and TCP for a normal client, and never run the process out
//! of descriptors or memory; the header, idle and request timeouts close what they should
//! and nothing else; and every error reply is JSON, the body limit's included.

use crate::support::dns::{query_tcp, query_udp, TYPE_A};
use crate::support::http::{request, HttpReply};
use crate::support::process::{Config, Process, STARTUP};
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

const TOKEN: &str = "limits-token-0123456789";

/// A server with `control` keys added, started under `ulimit -n <limit>` when given.
struct Limited {
    process: Process,
    dns: SocketAddr,
    control: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Limited {
    fn start(control: &str, open_files: Option<u32>) -> Limited {
        let dir = tempfile::tempdir().unwrap();
        crate::support::zone::write(dir.path(), crate::support::zone::APEX);
        let config = Config::new()
            .server("workers = 1")
            .control(&format!("token = \"{TOKEN}\"\n{control}"))
            .example_zone()
            .write(&dir.path().join("swivel.toml"));
        let args = ["serve", "--config", config.to_str().unwrap()];
        let log = dir.path().join("swivel.log");
        let swivel = std::path::Path::new(env!("CARGO_BIN_EXE_swivel"));
        let process = match open_files {
            None => Process::swivel(&args, &log),
            Some(limit) => {
                let script = format!("ulimit -n {limit} && exec \"$0\" \"$@\"");
                Process::spawn(&["sh", "-c", &script], swivel, &args, &log)
            }
        };
        let listening = process.wait_listening(STARTUP);
        Limited {
            dns: listening.dns(),
            control: listening.control,
            process,
            _dir: dir,
        }
    }

    fn log(&self) -> String {
        self.process.log()
    }

    /// What a normal client asks: liveness, the API, metrics, DNS over UDP and TCP.
    fn answers_a_normal_client(&self, when: &str) {
        let health = request(self.control, "GET", "/healthz", &[], "");
        assert_eq!(
            (health.status, health.body.as_str()),
            (200, "ok\n"),
            "{when}"
        );
        let status = request(self.control, "GET", "/v1/status", &[], "");
        assert_eq!(status.status, 200, "{when}: {}", status.body);
        assert_eq!(status.json()["version"], env!("CARGO_PKG_VERSION"));
        let metrics = request(self.control, "GET", "/metrics", &[], "");
        assert_eq!(metrics.status, 200, "{when}");
        assert!(metrics.body.contains("swivel_"), "{when}: {}", metrics.body);
        let udp = query_udp(self.dns, "ns1.example.test.", TYPE_A);
        assert_eq!(
            udp.map(|r| r.a_addresses()),
            Some(vec![[192, 0, 2, 53].into()]),
            "{when}: DNS over UDP"
        );
        let tcp = query_tcp(self.dns, "ns1.example.test.", TYPE_A);
        assert_eq!(
            tcp.map(|r| r.a_addresses()),
            Some(vec![[192, 0, 2, 53].into()]),
            "{when}: DNS over TCP"
        );
    }
}

/// Many client connections that the test keeps open: reopened whenever the server closes
/// one, each sending `prefix` when it opens and then one more header byte per `trickle`.
struct Crowd {
    target: SocketAddr,
    prefix: &'static [u8],
    streams: Vec<Option<TcpStream>>,
    /// Connections the server closed (seen as end of stream or a reset).
    closed_by_server: usize,
    opened: usize,
}

impl Crowd {
    fn new(target: SocketAddr, size: usize, prefix: &'static [u8]) -> Crowd {
        let mut crowd = Crowd {
            target,
            prefix,
            streams: (0..size).map(|_| None).collect(),
            closed_by_server: 0,
            opened: 0,
        };
        crowd.refill();
        crowd
    }

    /// Opens every missing connection (a connection the kernel cannot take at once is
    /// tried again next time).
    fn refill(&mut self) {
        for slot in &mut self.streams {
            if slot.is_some() {
                continue;
            }
            let Ok(mut stream) =
                TcpStream::connect_timeout(&self.target, Duration::from_millis(250))
            else {
                continue;
            };
            if stream.write_all(self.prefix).is_err() {
                continue;
            }
            stream.set_nonblocking(true).unwrap();
            self.opened += 1;
            *slot = Some(stream);
        }
    }

    /// Drops the connections the server has closed, and sends one byte on the others when
    /// `byte` is given.
    fn tend(&mut self, byte: Option<u8>) {
        for slot in &mut self.streams {
            let Some(stream) = slot else { continue };
            let mut buf = [0u8; 512];
            let closed = match stream.read(&mut buf) {
                Ok(0) => true,
                Ok(_) => false,
                Err(e) if e.kind() == ErrorKind::WouldBlock => false,
                Err(_) => true,
            };
            let closed = closed || byte.is_some_and(|b| stream.write(&[b]).is_err());
            if closed {
                self.closed_by_server += 1;
                *slot = None;
            }
        }
    }

    fn open(&self) -> usize {
        self.streams.iter().filter(|s| s.is_some()).count()
    }
}

#[test]
fn a_thousand_idle_control_connections_under_ulimit_1024_leave_dns_and_the_api_answering() {
    let server = Limited::start("", Some(1024));
    let log = server.log();
    assert!(
        log.contains("file descriptor budget") && log.contains("open_files_limit=1024"),
        "the budget is logged once at start:\n{log}"
    );
    let mut crowd = Crowd::new(server.control, 1100, b"");
    let opened_at_once = crowd.opened;
    assert!(
        opened_at_once >= 1000,
        "the kernel took {opened_at_once} of 1100 connections"
    );
    server.answers_a_normal_client("with 1100 idle connections opened");
    // Keep the crowd at 1100 for a while (past the header read timeout, so the server
    // closes and the crowd reopens), asking as a normal client every second.
    let start = Instant::now();
    let mut rounds = 0;
    while start.elapsed() < Duration::from_secs(10) {
        crowd.tend(None);
        crowd.refill();
        server.answers_a_normal_client(&format!(
            "after {:?} with {} idle connections held",
            start.elapsed(),
            crowd.open()
        ));
        rounds += 1;
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(rounds >= 2, "{rounds} rounds of checks");
    assert!(
        crowd.closed_by_server > 1000,
        "the server makes room by closing idle connections ({} closed)",
        crowd.closed_by_server
    );
    let fds = server.process.open_fds();
    assert!(fds < 1024, "{fds} descriptors open");
    let log = server.log();
    assert!(!log.contains("Too many open files"), "{log}");
    assert!(!log.contains("accepting a connection failed"), "{log}");
}

#[test]
fn slowloris_for_a_minute_never_stops_the_api_metrics_or_dns_and_memory_stays_bounded() {
    let server = Limited::start("", Some(1024));
    let rss_at_start = server.process.rss_kib();
    // Each connection starts a request and then sends one header byte a second, never
    // finishing its header.
    let mut crowd = Crowd::new(
        server.control,
        500,
        b"GET /v1/status HTTP/1.1\r\nHost: x\r\nX-Slow: ",
    );
    let start = Instant::now();
    let mut last_check = Instant::now() - Duration::from_secs(10);
    let mut checks = 0;
    let mut peak_rss = rss_at_start;
    while start.elapsed() < Duration::from_secs(60) {
        crowd.tend(Some(b'a'));
        crowd.refill();
        if last_check.elapsed() >= Duration::from_secs(4) {
            server.answers_a_normal_client(&format!(
                "{:?} into the slowloris, {} trickling connections open",
                start.elapsed(),
                crowd.open()
            ));
            peak_rss = peak_rss.max(server.process.rss_kib());
            checks += 1;
            last_check = Instant::now();
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    assert!(checks >= 10, "{checks} checks in a minute");
    assert!(
        crowd.closed_by_server >= 500,
        "trickled headers are cut off ({} closed by the server)",
        crowd.closed_by_server
    );
    // Generous: a connection holds at most a 16 KiB header buffer.
    assert!(
        peak_rss < rss_at_start + 100 * 1024,
        "resident memory went from {rss_at_start} KiB to {peak_rss} KiB"
    );
    assert!(!server.log().contains("Too many open files"));
}

/// Reads until the server closes the connection; how long that took, or `None` when it was
/// still open after `limit`.
fn time_to_close(stream: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    stream.set_read_timeout(Some(limit)).unwrap();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return Some(start.elapsed()),
            Ok(_) => continue,
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return Some(start.elapsed()),
            Err(_) => return None,
        }
    }
}

#[test]
fn header_and_idle_timeouts_close_only_what_waits_too_long() {
    let server = Limited::start("header_read_timeout = \"1s\"\nidle_timeout = \"3s\"", None);
    // Sends nothing: closed after the header read timeout.
    let mut silent = TcpStream::connect(server.control).unwrap();
    let closed = time_to_close(&mut silent, Duration::from_secs(10)).expect("closed");
    assert!(
        (Duration::from_millis(800)..Duration::from_secs(3)).contains(&closed),
        "{closed:?}"
    );
    // Trickles a header: closed after the header read timeout too, bytes or not.
    let mut slow = TcpStream::connect(server.control).unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\n").unwrap();
    let started = Instant::now();
    slow.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut cut = None;
    while started.elapsed() < Duration::from_secs(10) {
        if slow.write_all(b"X").is_err() || matches!(slow.read(&mut [0u8; 64]), Ok(0)) {
            cut = Some(started.elapsed());
            break;
        }
    }
    let cut = cut.expect("a trickled header is cut off");
    assert!(cut < Duration::from_secs(3), "{cut:?}");

    // Negative control: a complete request is answered, and the connection is then kept
    // alive past the header timeout, until the idle timeout.
    let mut kept = TcpStream::connect(server.control).unwrap();
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    kept.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut reply = [0u8; 512];
    let n = kept.read(&mut reply).unwrap();
    let reply = String::from_utf8_lossy(&reply[..n]);
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.ends_with("ok\n"), "{reply}");
    let idle_closed = time_to_close(&mut kept, Duration::from_secs(10)).expect("closed when idle");
    assert!(
        (Duration::from_millis(2500)..Duration::from_secs(5)).contains(&idle_closed),
        "kept alive past the 1 s header timeout, closed after the 3 s idle timeout: {idle_closed:?}"
    );
}

#[test]
fn at_the_connection_cap_idle_connections_make_room_and_descriptors_stay_bounded() {
    let server = Limited::start("max_connections = 4", None);
    let before = server.process.open_fds();
    let mut idle: Vec<TcpStream> = (0..40)
        .map(|_| TcpStream::connect(server.control).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let reply = request(server.control, "GET", "/v1/status", &[], "");
    assert_eq!(reply.status, 200, "a newcomer that asks gets in");
    let during = server.process.open_fds();
    assert!(
        during <= before + 4 + 1,
        "at most the cap and one more: {before} before, {during} with 40 idle"
    );
    let still_open = idle
        .iter_mut()
        .filter_map(|s| time_to_close(s, Duration::from_millis(10)).xor(Some(Duration::ZERO)))
        .count();
    assert!(still_open <= 4, "{still_open} idle connections kept");
}

fn post(server: &Limited, path: &str, token: &str, body: &str) -> HttpReply {
    let auth = format!("Bearer {token}");
    request(
        server.control,
        "POST",
        path,
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        body,
    )
}

fn assert_json_error(reply: &HttpReply, status: u16, wanted: &str) {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert!(
        reply.header("content-type").unwrap_or("").contains("json"),
        "{reply:?}"
    );
    let error = reply.json()["error"].as_str().unwrap_or("").to_string();
    assert!(error.contains(wanted), "{wanted:?} not in {error:?}");
}

#[test]
fn every_error_is_json_bodies_are_strict_and_limited_and_slow_requests_time_out() {
    let server = Limited::start("max_body_size = 4096\nrequest_timeout = \"1s\"", None);
    let override_path = "/v1/pools/www.example.test./endpoints/192.0.2.1/override";
    let big = format!("{{\"state\": \"down\", \"pad\": \"{}\"}}", "x".repeat(5000));
    assert_json_error(
        &post(&server, override_path, TOKEN, &big),
        413,
        "length limit",
    );
    let report = format!(
        "{{\"checker\": \"x\", \"results\": [], \"pad\": \"{}\"}}",
        "x".repeat(5000)
    );
    assert_json_error(
        &post(&server, "/v1/reports", TOKEN, &report),
        413,
        "length limit",
    );
    // Negative control: the same body under the limit gets past it (to the pool lookup).
    let padded = format!("{{\"state\": \"down\"{}}}", " ".repeat(3000));
    assert_json_error(
        &post(&server, override_path, TOKEN, &padded),
        404,
        "no pool",
    );

    assert_json_error(
        &post(&server, override_path, TOKEN, "[\"down\"]"),
        400,
        "must be a JSON object",
    );
    assert_json_error(
        &post(
            &server,
            override_path,
            TOKEN,
            "{\"state\": \"down\", \"force\": true}",
        ),
        400,
        "unknown field `force`",
    );
    assert_json_error(
        &post(&server, override_path, TOKEN, "{\"state\""),
        400,
        "not JSON",
    );
    assert_json_error(
        &post(&server, "/v1/reports", "", "[]"),
        401,
        "Authorization",
    );
    assert_json_error(
        &request(server.control, "GET", "/v1/reload", &[], ""),
        405,
        "method not allowed",
    );
    assert_json_error(
        &request(server.control, "GET", "/nothing", &[], ""),
        404,
        "no such path",
    );

    // A body that never finishes arriving: 408 after the request timeout.
    let mut slow = TcpStream::connect(server.control).unwrap();
    let head = format!(
        "POST {override_path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Length: 100\r\nConnection: close\r\n\r\n{{\"state\":"
    );
    slow.write_all(head.as_bytes()).unwrap();
    let started = Instant::now();
    slow.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut reply = String::new();
    let _ = slow.read_to_string(&mut reply);
    let waited = started.elapsed();
    assert!(reply.starts_with("HTTP/1.1 408"), "{reply}");
    assert!(reply.contains("control.request_timeout"), "{reply}");
    assert!(
        (Duration::from_millis(800)..Duration::from_secs(4)).contains(&waited),
        "{waited:?}"
    );
}
