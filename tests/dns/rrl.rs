//! Response rate limiting end to end: one source floods `swivel serve` over UDP and is
//! limited (most replies dropped, every second one slipped as a truncated reply), while a
//! source in another /24 is served normally; the metrics count both kinds.

use crate::support::dns::{build_query, parse_reply};
use crate::support::process::{Config, Served};
use crate::support::zone;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

/// What came back for a burst of `count` queries sent from `from`.
#[derive(Debug, Default)]
struct Burst {
    full: usize,
    truncated: usize,
}

fn burst(server: SocketAddr, from: &str, name: &str, count: u16) -> Burst {
    let socket = UdpSocket::bind((from, 0)).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    for id in 0..count {
        socket.send_to(&build_query(id, name, 1), server).unwrap();
    }
    let mut result = Burst::default();
    let mut buf = [0u8; 1500];
    while let Ok((len, _)) = crate::support::dns::recv_from(&socket, &mut buf) {
        let reply = parse_reply(&buf[..len]).expect("every reply is well-formed");
        if reply.flags & 0x0200 != 0 {
            assert!(reply.answers.is_empty(), "a slipped reply has no records");
            result.truncated += 1;
        } else {
            assert_eq!(reply.answers.len(), 1);
            result.full += 1;
        }
    }
    result
}

fn metric(control: SocketAddr, line_start: &str) -> u64 {
    let text = crate::support::http::request(control, "GET", "/metrics", &[], "").body;
    let line = text.lines().find(|l| l.starts_with(line_start));
    let line = line.unwrap_or_else(|| panic!("no metric {line_start} in:\n{text}"));
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

#[test]
fn a_flooding_source_is_limited_and_slipped_while_another_is_served() {
    let dir = tempfile::tempdir().unwrap();
    zone::write(dir.path(), zone::WWW_80);
    let config = Config::new()
        .server("workers = 1\n[server.rrl]\nresponses_per_second = 10\nslip = 2\nwindow = \"5s\"")
        .example_zone()
        .write(&dir.path().join("swivel.toml"));
    let swivel = Served::start(&config, &[], &dir.path().join("log"));
    let (dns, control) = (swivel.dns, swivel.control);

    let started = Instant::now();
    let flood = burst(dns, "127.0.0.1", "www.example.test", 400);
    let elapsed = started.elapsed().as_secs_f64();
    // At most the burst allowance plus what refilled meanwhile gets full answers.
    let allowed = 10 + (elapsed * 10.0).ceil() as usize;
    assert!(
        flood.full >= 10 && flood.full <= allowed,
        "{flood:?} in {elapsed:.2}s"
    );
    let limited = 400 - flood.full;
    let slipped = flood.truncated;
    assert!(
        slipped.abs_diff(limited / 2) <= 2,
        "every 2nd limited reply slips: {flood:?}"
    );

    // Another /24 is a different bucket: served in full.
    let other = burst(dns, "127.0.1.1", "www.example.test", 10);
    assert_eq!(
        (other.full, other.truncated),
        (10, 0),
        "another source is served normally"
    );

    assert_eq!(metric(control, "swivel_rrl_slipped_total"), slipped as u64);
    assert_eq!(metric(control, "swivel_rrl_limited_total"), limited as u64);
    let dropped = metric(
        control,
        "swivel_dropped_total{transport=\"udp\",reason=\"rate_limited\"}",
    );
    assert_eq!(dropped, (limited - slipped) as u64);
}
