//! Secondary zones against a real primary: knotd on loopback holds the zone and admits
//! transfers signed with a TSIG key only; `swivel serve` is its secondary. The transfer
//! must give the answers Knot gives (the comparison corpus), a change on Knot must come as
//! IXFR, a wrong or missing key must be refused with the old copy kept, and a restart with
//! the primary down must serve the saved copy. Each has its negative control.

use crate::knot_compare::servers::{self, free_port, ServerProcess, TempDir};
use crate::knot_compare::{compare_over_corpus, data_dir, knotd_available, ORIGIN};
use crate::support::dns::{build_query, query_udp, Reply, RCODE_NXDOMAIN};
use crate::support::process::{Config, Served, DNS_LISTEN};
use crate::support::wait_until;
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The key Knot and Swivel share (32 bytes, base64).
const SECRET: &str = "c3dpdmVsLXhmci10ZXN0LXNlY3JldC0zMi1ieXRlcyE=";
/// The same name with another secret.
const WRONG_SECRET: &str = "d3JvbmcteGZyLXRlc3Qtc2VjcmV0LTMyLWJ5dGVzISE=";
const TYPE_A: u16 = 1;
const REFUSED: u8 = 5;
const SERVFAIL: u8 = 2;

/// A knotd primary for `origin` from `zone_file` (copied into `dir`), transfers only with
/// the key, differences kept in its journal so that IXFR can be served.
struct Primary {
    process: Option<ServerProcess>,
    dir: PathBuf,
    zone: PathBuf,
    port: u16,
    origin: String,
}

impl Primary {
    fn start(dir: &Path, origin: &str, zone_text: &str) -> Primary {
        Primary::start_notifying(dir, origin, zone_text, None)
    }

    /// [`Primary::start`], sending NOTIFY to `notify` on every change.
    fn start_notifying(
        dir: &Path,
        origin: &str,
        zone_text: &str,
        notify: Option<SocketAddr>,
    ) -> Primary {
        let port = free_port();
        let (remote, notify_line) = match notify {
            Some(addr) => (
                format!(
                    "remote:\n  - id: swivel\n    address: {}@{}\n",
                    addr.ip(),
                    addr.port()
                ),
                "    notify: swivel\n",
            ),
            None => (String::new(), ""),
        };
        let zone = dir.join("primary.zone");
        std::fs::write(&zone, zone_text).expect("write the primary's zone");
        let dir_text = dir.display();
        let config = servers::knot_config(dir, port, "info")
            + &format!(
                "key:\n  - id: xfr-key\n    algorithm: hmac-sha256\n    secret: {SECRET}\n{remote}\
                 acl:\n  - id: transfer\n    address: 127.0.0.0/8\n    key: xfr-key\n    action: transfer\n\
                 control:\n    listen: \"{dir_text}/knot.sock\"\n\
                 zone:\n  - domain: {origin}\n    file: \"{}\"\n    acl: transfer\n    \
                 zonefile-load: difference\n    journal-content: changes\n    zonefile-sync: -1\n\
                 {notify_line}",
                zone.display()
            );
        std::fs::write(dir.join("knot.conf"), &config).expect("write knot.conf");
        let mut primary = Primary {
            process: None,
            dir: dir.to_path_buf(),
            zone,
            port,
            origin: origin.to_string(),
        };
        primary.restart();
        primary
    }

    fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    fn process(&self) -> &ServerProcess {
        self.process.as_ref().expect("knotd runs")
    }

    fn stop(&mut self) {
        self.process = None;
    }

    /// Starts knotd (again) with its configuration, on its port.
    fn restart(&mut self) {
        let config = std::fs::read_to_string(self.dir.join("knot.conf")).expect("knot.conf");
        let process = servers::start_knot_config(&self.dir, self.port, &config, &self.origin)
            .unwrap_or_else(|e| panic!("{e}"));
        self.process = Some(process);
    }

    /// Writes the zone anew and has knotd reload it (`knotc zone-reload`).
    fn change(&self, origin: &str, zone_text: &str) {
        std::fs::write(&self.zone, zone_text).expect("write the primary's zone");
        let output = Command::new("knotc")
            .arg("-c")
            .arg(self.dir.join("knot.conf"))
            .args(["zone-reload", origin])
            .output()
            .expect("run knotc");
        assert!(
            output.status.success(),
            "knotc zone-reload failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// A Swivel configuration with `origin` as a secondary zone of `primary`, its copy in
/// `state`, signed with `secret` (or no key at all).
fn secondary_config(
    origin: &str,
    primary: SocketAddr,
    state: &Path,
    secret: Option<&str>,
) -> Config {
    let server = format!("workers = 1\nstate_dir = \"{}\"", state.display());
    let (tsig, key) = match secret {
        Some(secret) => (
            format!("[[tsig]]\nname = \"xfr-key\"\nalgorithm = \"hmac-sha256\"\nsecret = \"{secret}\"\n"),
            "tsig = \"xfr-key\"\n",
        ),
        None => (String::new(), ""),
    };
    Config::new().server(&server).tail(&format!(
        "{tsig}\n[[zone]]\norigin = \"{origin}\"\nprimaries = [\"{primary}\"]\n{key}"
    ))
}

/// The small zone of the IXFR and key tests, at `serial`, with `extra` records; refresh and
/// retry of one second so that a change is picked up at once.
fn small_zone(serial: u32, extra: &str) -> String {
    zone_expiring_after(3600, serial, extra)
}

/// [`small_zone`] with an SOA expire time of `expire` seconds.
fn zone_expiring_after(expire: u32, serial: u32, extra: &str) -> String {
    zone_with_timers(1, expire, serial, extra)
}

/// The small zone with SOA refresh and retry of `refresh` and expire of `expire` seconds.
fn zone_with_timers(refresh: u32, expire: u32, serial: u32, extra: &str) -> String {
    format!(
        "$ORIGIN xfr.test.\n$TTL 300\n\
         @ SOA ns1 hostmaster {serial} {refresh} {refresh} {expire} 60\n@ NS ns1\n\
         ns1 A 192.0.2.1\nwww A 192.0.2.10\n{extra}"
    )
}

const SMALL: &str = "xfr.test.";

/// The corpus's NOTIFY queries come from the primary's address (127.0.0.1) here, so a
/// secondary Swivel accepts them (RFC 1996), where knotd, the zone's primary, does not.
const NOTIFY_WAIVERS: &str = "\
compare.test. SOA opcode=4 | AA | true | a secondary's NOTIFY answer (RFC 1996 section 4.7)\n\
compare.test. SOA opcode=4 | rcode | NOERROR(0) | NOTIFY from the primary's address, accepted\n\
compare.test. SOA opcode=4 | OPT | none | Swivel's NOTIFY answer carries no OPT\n\
compare.test. SOA opcode=4 noedns | AA | true | a secondary's NOTIFY answer\n\
compare.test. SOA opcode=4 noedns | rcode | NOERROR(0) | NOTIFY from the primary's address, accepted\n";

fn ask(server: SocketAddr, name: &str) -> Option<Reply> {
    query_udp(server, name, TYPE_A)
}

/// The A addresses `name` has at `server`, when it answers NOERROR.
fn addresses(server: SocketAddr, name: &str) -> Option<Vec<String>> {
    let reply = ask(server, name).filter(|r| r.rcode == 0)?;
    Some(
        reply
            .a_addresses()
            .iter()
            .map(ToString::to_string)
            .collect(),
    )
}

fn wait_for_address(server: SocketAddr, name: &str, address: &str, log: impl Fn() -> String) {
    let seen = wait_until(Duration::from_secs(15), || {
        addresses(server, name).is_some_and(|a| a.contains(&address.to_string()))
    });
    assert!(seen, "{name} never answered {address}; log:\n{}", log());
}

#[test]
fn a_zone_transferred_from_knot_is_answered_as_knot_answers_it() {
    if !knotd_available("a_zone_transferred_from_knot_is_answered_as_knot_answers_it") {
        return;
    }
    let (knot_dir, swivel_dir) = (TempDir::new("xfr-knot"), TempDir::new("xfr-swivel"));
    let zone_text = std::fs::read_to_string(data_dir().join("compare.test.zone")).unwrap();
    let primary = Primary::start(knot_dir.path(), ORIGIN, &zone_text);
    let state = swivel_dir.path().join("state");
    let config = secondary_config(ORIGIN, primary.addr(), &state, Some(SECRET))
        .write(&swivel_dir.path().join("swivel.toml"));
    let swivel = servers::start_swivel_config(swivel_dir.path(), &config, ORIGIN)
        .unwrap_or_else(|e| panic!("{e}"));
    let served = wait_until(Duration::from_secs(15), || {
        ask(swivel.addr, "host.compare.test.").is_some_and(|r| r.rcode == 0)
    });
    assert!(
        served,
        "the zone was never transferred:\n{}",
        swivel.log_tail()
    );
    let (text, problems) = compare_over_corpus(primary.process(), &swivel, NOTIFY_WAIVERS);
    println!("{text}");
    assert_eq!(
        problems, 0,
        "the secondary differs from its primary:\n{text}"
    );
    // This Swivel has no zone file: what it answered came by AXFR.
    assert!(
        swivel.log_tail().contains("kind=\"AXFR\""),
        "{}",
        swivel.log_tail()
    );
}

#[test]
fn a_change_on_knot_arrives_as_ixfr_and_the_first_copy_as_axfr() {
    if !knotd_available("a_change_on_knot_arrives_as_ixfr_and_the_first_copy_as_axfr") {
        return;
    }
    let (knot_dir, swivel_dir) = (TempDir::new("ixfr-knot"), TempDir::new("ixfr-swivel"));
    let primary = Primary::start(knot_dir.path(), SMALL, &small_zone(1, ""));
    let state = swivel_dir.path().join("state");
    let config = secondary_config(SMALL, primary.addr(), &state, Some(SECRET))
        .write(&swivel_dir.path().join("swivel.toml"));
    let swivel = Served::start(&config, &[], &swivel_dir.path().join("swivel.log"));
    wait_for_address(swivel.dns, "www.xfr.test.", "192.0.2.10", || swivel.log());
    let first = swivel.log();
    assert!(first.contains("kind=\"AXFR\""), "{first}");
    assert!(!first.contains("kind=\"IXFR\""), "{first}");
    // Not there yet: the control for the change below.
    assert_eq!(
        ask(swivel.dns, "new.xfr.test.").map(|r| r.rcode),
        Some(RCODE_NXDOMAIN)
    );

    primary.change(SMALL, &small_zone(2, "new A 192.0.2.20\n"));
    wait_for_address(swivel.dns, "new.xfr.test.", "192.0.2.20", || swivel.log());
    let log = swivel.log();
    let transfers: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("zone transferred"))
        .collect();
    assert_eq!(transfers.len(), 2, "{log}");
    assert!(
        transfers[1].contains("kind=\"IXFR\"") && transfers[1].contains("serial=2"),
        "{log}"
    );
    // The copy on disk has the change, and the old records are still served.
    let copy = std::fs::read_to_string(state.join("secondary/xfr.test.zone")).unwrap();
    assert!(
        copy.starts_with("; swivel secondary zone copy: origin=xfr.test. serial=2 "),
        "{copy}"
    );
    assert_eq!(
        addresses(swivel.dns, "www.xfr.test."),
        Some(vec!["192.0.2.10".into()])
    );
}

#[test]
fn a_wrong_or_missing_key_is_refused_and_the_saved_copy_served_also_with_the_primary_down() {
    if !knotd_available(
        "a_wrong_or_missing_key_is_refused_and_the_saved_copy_served_also_with_the_primary_down",
    ) {
        return;
    }
    let (knot_dir, swivel_dir) = (TempDir::new("key-knot"), TempDir::new("key-swivel"));
    let primary = Primary::start(knot_dir.path(), SMALL, &small_zone(1, ""));
    let state = swivel_dir.path().join("state");
    let config_path = swivel_dir.path().join("swivel.toml");
    let log_path = |n: &str| swivel_dir.path().join(format!("swivel-{n}.log"));
    let start = |secret: Option<&str>, primary: SocketAddr, n: &str| {
        let config = secondary_config(SMALL, primary, &state, secret).write(&config_path);
        Served::start(&config, &[], &log_path(n))
    };

    // The first copy, with the right key.
    let swivel = start(Some(SECRET), primary.addr(), "first");
    wait_for_address(swivel.dns, "www.xfr.test.", "192.0.2.10", || swivel.log());
    drop(swivel);
    primary.change(SMALL, &small_zone(2, "new A 192.0.2.20\n"));

    for (secret, refusal, n) in [
        (Some(WRONG_SECRET), "BADSIG", "wrong-key"),
        (None, "NOTAUTH", "no-key"),
    ] {
        let swivel = start(secret, primary.addr(), n);
        // The saved copy is served at once, before any primary is asked.
        assert_eq!(
            addresses(swivel.dns, "www.xfr.test."),
            Some(vec!["192.0.2.10".into()])
        );
        swivel
            .process
            .wait_for_log(refusal, Duration::from_secs(10));
        assert!(
            swivel.log().contains("refresh from this primary failed"),
            "{}",
            swivel.log()
        );
        // The change stays out, refresh after refresh.
        std::thread::sleep(Duration::from_millis(2500));
        let new = ask(swivel.dns, "new.xfr.test.").map(|r| r.rcode);
        assert_eq!(new, Some(RCODE_NXDOMAIN), "{}", swivel.log());
        assert!(
            !swivel.log().contains("zone transferred"),
            "{}",
            swivel.log()
        );
    }

    // The control: with the right key the change comes.
    let swivel = start(Some(SECRET), primary.addr(), "right-key");
    wait_for_address(swivel.dns, "new.xfr.test.", "192.0.2.20", || swivel.log());
    drop(swivel);

    // The primary down: the saved copy (with the change) is served.
    let down = primary.addr();
    let mut primary = primary;
    primary.stop();
    let swivel = start(Some(SECRET), down, "primary-down");
    assert_eq!(
        addresses(swivel.dns, "new.xfr.test."),
        Some(vec!["192.0.2.20".into()])
    );
    swivel
        .process
        .wait_for_log("refresh from this primary failed", Duration::from_secs(10));
    drop(swivel);
    // Its control: with no saved copy the zone is not served (SERVFAIL, as Knot answers
    // for a zone it has not loaded), and a zone that is not ours stays REFUSED.
    std::fs::remove_dir_all(state.join("secondary")).unwrap();
    let swivel = start(Some(SECRET), down, "no-copy");
    swivel
        .process
        .wait_for_log("no saved copy yet", Duration::from_secs(5));
    assert_eq!(
        ask(swivel.dns, "www.xfr.test.").map(|r| r.rcode),
        Some(SERVFAIL)
    );
    assert_eq!(
        ask(swivel.dns, "www.other.test.").map(|r| r.rcode),
        Some(REFUSED)
    );
}

#[test]
fn past_the_soa_expire_time_without_a_primary_the_zone_answers_servfail_until_one_answers() {
    if !knotd_available(
        "past_the_soa_expire_time_without_a_primary_the_zone_answers_servfail_until_one_answers",
    ) {
        return;
    }
    let (knot_dir, swivel_dir) = (TempDir::new("expire-knot"), TempDir::new("expire-swivel"));
    let mut primary = Primary::start(knot_dir.path(), SMALL, &zone_expiring_after(4, 1, ""));
    let state = swivel_dir.path().join("state");
    let config = secondary_config(SMALL, primary.addr(), &state, Some(SECRET))
        .write(&swivel_dir.path().join("swivel.toml"));
    let log = |n: &str| swivel_dir.path().join(format!("swivel-{n}.log"));
    let swivel = Served::start(&config, &[], &log("first"));
    wait_for_address(swivel.dns, "www.xfr.test.", "192.0.2.10", || swivel.log());
    // Refreshes every second keep it alive past its expire time while Knot runs.
    std::thread::sleep(Duration::from_secs(5));
    let rcode = |swivel: &Served| ask(swivel.dns, "www.xfr.test.").map(|r| r.rcode);
    assert_eq!(rcode(&swivel), Some(0), "{}", swivel.log());

    primary.stop();
    let stopped = Instant::now();
    let servfail = wait_until(Duration::from_secs(15), || rcode(&swivel) == Some(SERVFAIL));
    assert!(servfail, "never SERVFAIL:\n{}", swivel.log());
    // Not before the expire time (4 s after the last refresh, at most 1 s before the stop).
    assert!(
        stopped.elapsed() >= Duration::from_secs(2),
        "{:?}",
        stopped.elapsed()
    );
    assert!(
        swivel.log().contains("secondary zone expired"),
        "{}",
        swivel.log()
    );
    drop(swivel);

    // A restart with the primary still down: the copy is past its expire time.
    let swivel = Served::start(&config, &[], &log("restarted"));
    assert_eq!(rcode(&swivel), Some(SERVFAIL), "{}", swivel.log());
    // The primary back: the zone is served again.
    primary.restart();
    let back = wait_until(Duration::from_secs(15), || rcode(&swivel) == Some(0));
    assert!(back, "never served again:\n{}", swivel.log());
}

#[test]
fn a_notify_from_knot_brings_a_change_within_two_seconds_and_a_strangers_is_refused() {
    if !knotd_available(
        "a_notify_from_knot_brings_a_change_within_two_seconds_and_a_strangers_is_refused",
    ) {
        return;
    }
    let (knot_dir, swivel_dir) = (TempDir::new("notify-knot"), TempDir::new("notify-swivel"));
    // Swivel's port is chosen first, for Knot's notify target.
    let swivel_addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    // Refresh and retry of an hour: only a NOTIFY can bring a change within seconds.
    let zone = |serial, extra| zone_with_timers(3600, 7200, serial, extra);
    let primary = Primary::start_notifying(knot_dir.path(), SMALL, &zone(1, ""), Some(swivel_addr));
    let state = swivel_dir.path().join("state");
    let text = secondary_config(SMALL, primary.addr(), &state, Some(SECRET))
        .text()
        .replace(DNS_LISTEN, &swivel_addr.to_string());
    let config = swivel_dir.path().join("swivel.toml");
    std::fs::write(&config, text).unwrap();
    let swivel = Served::start(&config, &[], &swivel_dir.path().join("swivel.log"));
    wait_for_address(swivel.dns, "www.xfr.test.", "192.0.2.10", || swivel.log());

    // A stranger's NOTIFY is refused and changes nothing.
    let stranger = UdpSocket::bind("127.0.0.2:0").expect("bind 127.0.0.2");
    stranger
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let mut notify = build_query(0x4e4f, "xfr.test.", 6);
    notify[2] = 0x20; // opcode NOTIFY
    stranger.send_to(&notify, swivel.dns).unwrap();
    let mut reply = [0u8; 512];
    let (len, _) = stranger.recv_from(&mut reply).expect("an answer to NOTIFY");
    assert_eq!(
        &reply[..4],
        &[0x4e, 0x4f, 0xa4, 0x05],
        "REFUSED NOTIFY response"
    );
    assert_eq!(len, notify.len());
    assert!(
        !swivel.log().contains("NOTIFY from a primary"),
        "{}",
        swivel.log()
    );

    primary.change(SMALL, &zone(2, "new A 192.0.2.20\n"));
    let changed = Instant::now();
    let logs = || format!("{}\nknotd:\n{}", swivel.log(), primary.process().log_tail());
    wait_for_address(swivel.dns, "new.xfr.test.", "192.0.2.20", logs);
    let took = changed.elapsed();
    assert!(
        took < Duration::from_secs(2),
        "took {took:?}:\n{}",
        swivel.log()
    );
    let log = swivel.log();
    assert!(log.contains("NOTIFY from a primary: refreshing"), "{log}");
    let transfers: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("zone transferred"))
        .collect();
    assert_eq!(transfers.len(), 2, "{log}");
    assert!(transfers[1].contains("kind=\"IXFR\""), "{log}");
}
