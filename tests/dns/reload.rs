//! `swivel serve` as a real process: answering over UDP and TCP, reloading on SIGHUP,
//! keeping the old data when a reload is refused, and the built-in demo.

use crate::support::dns::{query_tcp, query_udp, RCODE_NOERROR, RCODE_NXDOMAIN, TYPE_A};
use crate::support::process::{Process, CONTROL_LISTEN, DNS_LISTEN};
use crate::support::wait_until;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::path::Path;
use std::time::Duration;

const STARTUP: Duration = Duration::from_secs(20);
const SETTLE: Duration = Duration::from_secs(10);

const ZONE: &str = "\
$TTL 300
@    IN SOA ns1.example.test. hostmaster.example.test. 1 7200 3600 1209600 300
@    IN NS  ns1.example.test.
ns1  IN A   192.0.2.53
www  IN A   192.0.2.10
";

/// The configuration (a zone of its own: the tests check line numbers in it), DNS on `listen`.
fn config(listen: &str) -> String {
    format!(
        "[server]\nlisten = [\"{listen}\"]\nworkers = 1\n\n[control]\nlisten = \"{CONTROL_LISTEN}\"\n\n\
         [[zone]]\norigin = \"example.test.\"\nfile = \"example.test.zone\"\n"
    )
}

fn addresses(server: SocketAddr, name: &str) -> Option<Vec<Ipv4Addr>> {
    query_udp(server, name, TYPE_A)
        .filter(|r| r.rcode == RCODE_NOERROR)
        .map(|r| r.a_addresses())
}

fn ip(text: &str) -> Ipv4Addr {
    text.parse().unwrap()
}

/// Starts swivel on a kernel-chosen port with ZONE; returns it once it answers.
fn start_with_zone(dir: &Path) -> (Process, SocketAddr) {
    std::fs::write(dir.join("swivel.toml"), config(DNS_LISTEN)).unwrap();
    std::fs::write(dir.join("example.test.zone"), ZONE).unwrap();
    let config_path = dir.join("swivel.toml");
    let swivel = Process::swivel(
        &["serve", "--config", config_path.to_str().unwrap()],
        &dir.join("swivel.log"),
    );
    let server = swivel.wait_listening(STARTUP).dns();
    let answered = wait_until(STARTUP, || addresses(server, "www.example.test.").is_some());
    assert!(
        answered,
        "swivel did not answer on {server}; log:\n{}",
        swivel.log()
    );
    (swivel, server)
}

#[test]
fn sighup_reloads_zones_and_a_broken_reload_keeps_the_old_data() {
    let dir = tempfile::tempdir().unwrap();
    let (mut swivel, server) = start_with_zone(dir.path());
    assert_eq!(
        addresses(server, "www.example.test."),
        Some(vec![ip("192.0.2.10")])
    );
    let nx = query_udp(server, "new.example.test.", TYPE_A).expect("reply for a missing name");
    assert_eq!(nx.rcode, RCODE_NXDOMAIN);

    let grown = format!("{ZONE}new  IN A   192.0.2.99\nwww  IN A   192.0.2.11\n");
    std::fs::write(dir.path().join("example.test.zone"), grown).unwrap();
    swivel.signal("HUP");
    let reloaded = wait_until(SETTLE, || {
        addresses(server, "new.example.test.") == Some(vec![ip("192.0.2.99")])
    });
    assert!(
        reloaded,
        "new record not served after SIGHUP; log:\n{}",
        swivel.log()
    );
    assert_eq!(
        addresses(server, "www.example.test."),
        Some(vec![ip("192.0.2.10"), ip("192.0.2.11")])
    );
    let over_tcp = query_tcp(server, "new.example.test.", TYPE_A).expect("TCP reply");
    assert_eq!(over_tcp.a_addresses(), vec![ip("192.0.2.99")]);

    let broken = format!("{ZONE}new  IN A   192.0.2.99\nbad  IN A   192.0.2.256\n");
    std::fs::write(dir.path().join("example.test.zone"), broken).unwrap();
    swivel.signal("HUP");
    swivel.wait_for_log("reload refused", SETTLE);
    let log = swivel.log();
    assert!(
        log.contains("example.test.zone:7"),
        "the log should name file and line:\n{log}"
    );
    assert_eq!(
        addresses(server, "new.example.test."),
        Some(vec![ip("192.0.2.99")])
    );
    assert_eq!(
        addresses(server, "www.example.test."),
        Some(vec![ip("192.0.2.10"), ip("192.0.2.11")])
    );
    assert!(
        swivel.exited().is_none(),
        "a refused reload must not stop the server"
    );

    swivel.signal("TERM");
    let status = swivel
        .wait_exit(SETTLE)
        .expect("swivel should exit on SIGTERM");
    assert!(status.success(), "exit status {status:?}");
}

#[test]
fn changed_listen_address_needs_a_restart_but_zones_still_reload() {
    let dir = tempfile::tempdir().unwrap();
    let (swivel, server) = start_with_zone(dir.path());
    // The new address is a socket this test holds, which answers nothing.
    let held = UdpSocket::bind("127.0.0.1:0").unwrap();
    let other_port = held.local_addr().unwrap().port();
    std::fs::write(
        dir.path().join("swivel.toml"),
        config(&format!("127.0.0.1:{other_port}")),
    )
    .unwrap();
    let grown = format!("{ZONE}new  IN A   192.0.2.99\n");
    std::fs::write(dir.path().join("example.test.zone"), grown).unwrap();
    swivel.signal("HUP");
    swivel.wait_for_log("reload done", SETTLE);
    let log = swivel.log();
    assert!(
        log.contains("server.listen changed") && log.contains("restart"),
        "{log}"
    );
    assert_eq!(
        addresses(server, "new.example.test."),
        Some(vec![ip("192.0.2.99")])
    );
    let elsewhere: SocketAddr = ([127, 0, 0, 1], other_port).into();
    assert!(
        query_udp(elsewhere, "www.example.test.", TYPE_A).is_none(),
        "the new address must not be bound yet"
    );
}

#[test]
fn serve_without_config_runs_the_demo_on_port_5353() {
    const TEST: &str = "serve_without_config_runs_the_demo_on_port_5353";
    const DEMO_PORT: u16 = 5353;
    if !demo_port_free() {
        return crate::support::skip(TEST, &format!("127.0.0.1:{DEMO_PORT} is in use"));
    }
    let dir = tempfile::tempdir().unwrap();
    let mut swivel = Process::swivel(&["serve"], &dir.path().join("swivel.log"));
    let server: SocketAddr = ([127, 0, 0, 1], DEMO_PORT).into();
    let mut exited = None;
    let answered = wait_until(STARTUP, || {
        exited = swivel.exited();
        exited.is_some() || addresses(server, "www.example.test.").is_some()
    });
    let log = swivel.log();
    if exited.is_some() && (log.contains("cannot listen") || log.contains("in use")) {
        let reason = format!("a port the demo needs was taken meanwhile:\n{log}");
        return crate::support::skip(TEST, &reason);
    }
    assert!(
        answered && exited.is_none(),
        "the demo did not answer; log:\n{}",
        swivel.log()
    );
    assert_eq!(
        addresses(server, "www.example.test."),
        Some(vec![ip("192.0.2.10"), ip("192.0.2.11")])
    );
    assert_eq!(
        addresses(server, "anything.apps.example.test."),
        Some(vec![ip("192.0.2.80")])
    );
    let over_tcp =
        query_tcp(server, "mail.example.test.", TYPE_A).expect("TCP reply from the demo");
    assert_eq!(over_tcp.a_addresses(), vec![ip("192.0.2.25")]);
    assert!(over_tcp.is_authoritative());
    let log = swivel.log();
    assert!(log.contains("built-in demo"), "{log}");
    assert!(
        log.contains("dig @127.0.0.1 -p 5353 www.example.test A"),
        "{log}"
    );
}

/// Whether the demo's fixed DNS port, 5353 on 127.0.0.1, can be bound for UDP and TCP now.
fn demo_port_free() -> bool {
    UdpSocket::bind("127.0.0.1:5353").is_ok()
        && std::net::TcpListener::bind("127.0.0.1:5353").is_ok()
}
