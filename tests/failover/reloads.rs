//! Reloads and health together: a reload of a large zone is loaded and compiled off the
//! failover runtime, so status, overrides and failover keep their timing meanwhile; and
//! endpoints a reload adds are checked before they are served.

use crate::support::backend::Backend;
use crate::support::dns::{query_udp, TYPE_A};
use crate::support::http::request;
use crate::support::process::{Config, Served};
use crate::support::wait_until;
use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::path::Path;
use std::time::{Duration, Instant};

/// Records in the large zone: enough that loading and compiling it takes seconds.
const LARGE_ZONE_RECORDS: usize = 400_000;

fn large_zone() -> String {
    let mut text = String::from(crate::support::zone::APEX);
    text.reserve(LARGE_ZONE_RECORDS * 24);
    for i in 0..LARGE_ZONE_RECORDS {
        let _ = writeln!(text, "h{i} A 192.0.{}.{}", (i >> 8) & 0xff, i & 0xff);
    }
    text
}

fn pool(port: u16, interval: &str, endpoints: &[(&str, u32)], policy: &str) -> String {
    let mut text = format!(
        "[[pool]]\nname = \"www.example.test.\"\npolicy = \"{policy}\"\n\
         [pool.check]\nkind = \"tcp\"\nport = {port}\ninterval = \"{interval}\"\ntimeout = \"100ms\"\n\
         fall = 3\nrise = 2\n"
    );
    for (address, priority) in endpoints {
        let _ = write!(
            text,
            "[[pool.endpoint]]\naddress = \"{address}\"\npriority = {priority}\n"
        );
    }
    text
}

fn start(dir: &Path, zone: &str, pools: &str) -> Served {
    std::fs::write(dir.join("example.test.zone"), zone).unwrap();
    let config = Config::new()
        .server("workers = 1")
        .example_zone()
        .tail(pools)
        .write(&dir.join("swivel.toml"));
    Served::start(&config, &[], &dir.join("swivel.log"))
}

fn addresses(server: &Served) -> Vec<Ipv4Addr> {
    let reply = query_udp(server.dns, "www.example.test.", TYPE_A).expect("a reply");
    let mut addresses = reply.a_addresses();
    addresses.sort();
    addresses
}

fn ip(text: &str) -> Ipv4Addr {
    text.parse().unwrap()
}

#[test]
fn a_reload_of_a_large_zone_holds_up_neither_status_nor_failover() {
    let (port, mut backends) = Backend::start_on(&["127.0.0.2", "127.0.0.3"]);
    let _standby = backends.pop().unwrap();
    let mut primary = backends.pop().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pools = pool(
        port,
        "200ms",
        &[("127.0.0.2", 1), ("127.0.0.3", 2)],
        "failover",
    );
    let server = start(dir.path(), &large_zone(), &pools);
    assert_eq!(addresses(&server), [ip("127.0.0.2")]);

    // Start a reload of the large zone, then fail the primary while it loads.
    let control = server.control;
    let reload = std::thread::spawn(move || {
        let reply = request(control, "POST", "/v1/reload", &[], "");
        (reply.status, Instant::now())
    });
    assert!(
        wait_until(Duration::from_secs(10), || server
            .log()
            .contains("reloading the configuration and zones")),
        "the reload did not start; log:\n{}",
        server.log()
    );
    let status_asked = Instant::now();
    let status = request(control, "GET", "/v1/status", &[], "");
    let status_took = status_asked.elapsed();
    assert_eq!(status.status, 200, "{}", status.body);

    primary.stop();
    let stopped = Instant::now();
    let moved = wait_until(Duration::from_secs(30), || {
        addresses(&server) == [ip("127.0.0.3")]
    });
    let detected = Instant::now();
    assert!(moved, "no failover; log:\n{}", server.log());
    let (reload_status, reload_done) = reload.join().unwrap();
    assert_eq!(reload_status, 200, "log:\n{}", server.log());

    // The negative control: had the reload blocked the runtime, status and the failover
    // would have waited for it. Both must have happened while it was still running.
    assert!(
        reload_done > detected,
        "the reload finished before the failover was seen, so this run proves nothing: \
         make the zone larger (reload done {:?} after the primary stopped, failover after {:?})",
        reload_done - stopped,
        detected - stopped
    );
    assert!(
        status_took < Duration::from_secs(1),
        "status took {status_took:?} during the reload"
    );
    let detection = detected - stopped;
    assert!(
        detection < Duration::from_millis(1500),
        "failover during a reload took {detection:?} (interval 200ms, fall 3)"
    );
    eprintln!(
        "during a reload of {LARGE_ZONE_RECORDS} records: status in {status_took:?}, failover in \
         {detection:?}, reload done {:?} after the primary stopped",
        reload_done - stopped
    );
}

#[test]
fn endpoints_a_reload_adds_are_checked_before_they_are_served() {
    let (port, mut backends) = Backend::start_on(&["127.0.0.2", "127.0.0.3", "127.0.0.4"]);
    // 127.0.0.3 stops listening: a dead endpoint, its checks refused.
    backends[1].stop();
    let dir = tempfile::tempdir().unwrap();
    // A long interval: without a first check, a new endpoint would be served for seconds.
    let before = pool(port, "5s", &[("127.0.0.2", 1)], "all");
    let server = start(dir.path(), crate::support::zone::APEX, &before);
    assert_eq!(addresses(&server), [ip("127.0.0.2")]);

    let after = pool(
        port,
        "5s",
        &[("127.0.0.2", 1), ("127.0.0.3", 1), ("127.0.0.4", 1)],
        "all",
    );
    let config = Config::new()
        .server("workers = 1")
        .example_zone()
        .tail(&after)
        .write(&dir.path().join("swivel.toml"));
    assert!(config.exists());
    let reply = request(server.control, "POST", "/v1/reload", &[], "");
    assert_eq!(reply.status, 200, "{}", reply.body);
    // Right after the reload: the dead endpoint is not served, the live new one is.
    assert_eq!(
        addresses(&server),
        [ip("127.0.0.2"), ip("127.0.0.4")],
        "log:\n{}",
        server.log()
    );
    assert!(
        server
            .log()
            .contains("checking the endpoints the reload adds before they are served"),
        "{}",
        server.log()
    );
}
