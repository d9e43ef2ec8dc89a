//! Transfers out against a real secondary: knotd on loopback is a secondary of `swivel
//! serve`, with a TSIG key for transfers and NOTIFY. Knot's first copy comes by AXFR and
//! answers as Swivel does; a change on Swivel (file edited, serial bumped, SIGHUP) reaches
//! Knot by Swivel's NOTIFY and an IXFR from Swivel's journal, with Knot's own refresh an
//! hour away. `kdig` checks the refusals: no key, a wrong key, an address not admitted;
//! each beside its control, a transfer that is admitted.

use crate::knot_compare::knotd_available;
use crate::knot_compare::servers::{self, free_port, TempDir};
use crate::support::http;
use crate::support::process::{Config, Served};
use crate::support::wait_until;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// The key Knot and Swivel share (32 bytes, base64).
const SECRET: &str = "c3dpdmVsLXhmci1vdXQtc2VjcmV0LTMyLWJ5dGVzISE=";
/// The same key name with another secret.
const WRONG_SECRET: &str = "d3JvbmcteGZyLW91dC1zZWNyZXQtMzItYnl0ZXMhISE=";
const ORIGIN: &str = "out.test.";

/// The zone at `serial` with `extra` records; SOA refresh and retry of an hour, so that
/// only a NOTIFY makes Knot look again within a test.
fn zone(serial: u32, extra: &str) -> String {
    format!(
        "$ORIGIN out.test.\n$TTL 300\n\
         @ SOA ns1 hostmaster {serial} 3600 3600 86400 60\n@ NS ns1\n@ MX 10 mail\n\
         @ TXT \"v=spf1 -all\"\nns1 A 192.0.2.1\nmail A 192.0.2.25\nwww A 192.0.2.10\n\
         www AAAA 2001:db8::10\nftp CNAME www\n*.apps A 192.0.2.80\nsub NS ns.sub\n\
         ns.sub A 192.0.2.53\n{extra}"
    )
}

/// Swivel serving `zone.file` with transfers to loopback signed with the key, and NOTIFY
/// to `notify`.
fn swivel_config(dir: &Path, notify: SocketAddr) -> std::path::PathBuf {
    let state = dir.join("state");
    Config::new()
        .server(&format!("workers = 1\nstate_dir = \"{}\"", state.display()))
        .tail(&format!(
            "[[tsig]]\nname = \"xfr-key\"\nalgorithm = \"hmac-sha256\"\nsecret = \"{SECRET}\"\n\n\
             [[zone]]\norigin = \"{ORIGIN}\"\nfile = \"zone.file\"\n\
             allow_transfer = [\"127.0.0.1/32\"]\nallow_transfer_tsig = [\"xfr-key\"]\n\
             notify = [\"{notify}\"]\n"
        ))
        .write(&dir.join("swivel.toml"))
}

/// A knotd secondary of `primary` for the zone, on `port`, taking NOTIFY signed with the key.
fn knot_secondary(dir: &Path, port: u16, primary: SocketAddr) -> servers::ServerProcess {
    let config = servers::knot_config(dir, port, "info")
        + &format!(
            "key:\n  - id: xfr-key\n    algorithm: hmac-sha256\n    secret: {SECRET}\n\
             remote:\n  - id: swivel\n    address: {}@{}\n    key: xfr-key\n\
             acl:\n  - id: notify\n    address: 127.0.0.0/8\n    key: xfr-key\n    action: notify\n\
             zone:\n  - domain: {ORIGIN}\n    master: swivel\n    acl: notify\n    \
             file: \"{}/secondary.zone\"\n    zonefile-sync: -1\n",
            primary.ip(),
            primary.port(),
            dir.display()
        );
    servers::start_knot_config(dir, port, &config, ORIGIN).unwrap_or_else(|e| panic!("{e}"))
}

/// `kdig` at `server` with `args`; its whole output.
fn kdig(server: SocketAddr, args: &[&str]) -> String {
    let output = Command::new("kdig")
        .arg(format!("@{}", server.ip()))
        .args(["-p", &server.port().to_string(), "+time=3", "+retry=0"])
        .args(args)
        .output()
        .expect("run kdig");
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The answer section's records for `name` `qtype`, sorted, over UDP.
fn answer(server: SocketAddr, name: &str, qtype: &str) -> Vec<String> {
    let text = kdig(server, &[name, qtype, "+noall", "+answer"]);
    let mut lines: Vec<String> = text
        .lines()
        .filter(|l| !l.starts_with(';') && !l.trim().is_empty())
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    lines.sort();
    lines
}

/// The questions both servers are asked, and must answer alike.
const QUESTIONS: [(&str, &str); 11] = [
    ("out.test.", "SOA"),
    ("out.test.", "NS"),
    ("out.test.", "MX"),
    ("out.test.", "TXT"),
    ("www.out.test.", "A"),
    ("www.out.test.", "AAAA"),
    ("ftp.out.test.", "CNAME"),
    ("x.apps.out.test.", "A"),
    ("mail.out.test.", "A"),
    ("new.out.test.", "A"),
    ("www.out.test.", "TXT"),
];

/// Asserts that Knot answers every question as Swivel does (and that Swivel answers some).
fn assert_same_answers(swivel: SocketAddr, knot: SocketAddr) {
    let mut answered = 0;
    for (name, qtype) in QUESTIONS {
        let (ours, theirs) = (answer(swivel, name, qtype), answer(knot, name, qtype));
        assert_eq!(ours, theirs, "{name} {qtype}: Swivel, then Knot");
        answered += usize::from(!ours.is_empty());
    }
    assert!(answered >= 8, "too few questions had answers: {answered}");
}

fn metrics(swivel: &Served) -> String {
    http::request(swivel.control, "GET", "/metrics", &[], "").body
}

/// The value of the metric line starting with `series` (0 when absent).
fn metric(text: &str, series: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|v| v.trim().parse().ok()))
        .unwrap_or(0)
}

#[test]
fn knot_as_a_secondary_of_swivel_gets_axfr_then_ixfr_by_notify_and_answers_as_swivel() {
    if !knotd_available(
        "knot_as_a_secondary_of_swivel_gets_axfr_then_ixfr_by_notify_and_answers_as_swivel",
    ) {
        return;
    }
    let (knot_dir, swivel_dir) = (TempDir::new("out-knot"), TempDir::new("out-swivel"));
    let knot_port = free_port();
    let knot_addr = SocketAddr::from(([127, 0, 0, 1], knot_port));
    let zone_path = swivel_dir.path().join("zone.file");
    std::fs::write(&zone_path, zone(1, "")).unwrap();
    let config = swivel_config(swivel_dir.path(), knot_addr);
    let swivel = Served::start(&config, &[], &swivel_dir.path().join("swivel.log"));
    let knot = knot_secondary(knot_dir.path(), knot_port, swivel.dns);
    let copied = wait_until(Duration::from_secs(15), || {
        answer(knot_addr, "www.out.test.", "A") == answer(swivel.dns, "www.out.test.", "A")
    });
    assert!(
        copied,
        "Knot never got the zone:\n{}\n{}",
        knot.log_tail(),
        swivel.log()
    );
    assert!(
        knot.log_tail().contains("AXFR, incoming"),
        "{}",
        knot.log_tail()
    );
    assert_same_answers(swivel.dns, knot_addr);
    assert!(swivel.log().contains("kind=\"axfr\""), "{}", swivel.log());
    // Not there yet: the control for the change below.
    assert!(answer(knot_addr, "new.out.test.", "A").is_empty());

    std::fs::write(&zone_path, zone(2, "new A 192.0.2.20\n")).unwrap();
    let www = std::fs::read_to_string(&zone_path)
        .unwrap()
        .replace("www A 192.0.2.10", "www A 192.0.2.11");
    std::fs::write(&zone_path, www).unwrap();
    swivel.process.signal("HUP");
    // Knot's refresh is an hour away: only Swivel's NOTIFY brings the change this soon.
    let arrived = wait_until(Duration::from_secs(5), || {
        answer(knot_addr, "new.out.test.", "A") == vec!["new.out.test. 300 IN A 192.0.2.20"]
    });
    assert!(
        arrived,
        "the change never reached Knot:\n{}\n{}",
        knot.log_tail(),
        swivel.log()
    );
    let knot_log = knot.log_tail();
    assert!(knot_log.contains("notify, incoming"), "{knot_log}");
    assert!(knot_log.contains("IXFR, incoming"), "{knot_log}");
    assert!(knot_log.contains("serial 1 -> 2"), "{knot_log}");
    assert_same_answers(swivel.dns, knot_addr);
    assert_eq!(
        answer(knot_addr, "www.out.test.", "A"),
        vec!["www.out.test. 300 IN A 192.0.2.11"]
    );
    let text = metrics(&swivel);
    assert_eq!(
        metric(
            &text,
            "swivel_transfers_out_total{kind=\"ixfr\",result=\"ok\"}"
        ),
        1,
        "{text}"
    );
    assert!(
        metric(
            &text,
            "swivel_transfers_out_total{kind=\"axfr\",result=\"ok\"}"
        ) >= 1,
        "{text}"
    );
    assert!(
        metric(&text, "swivel_notify_sent_total{result=\"ok\"}") >= 1,
        "{text}"
    );
    assert!(
        swivel
            .log()
            .contains("kind=\"ixfr\" serial=2 client_serial=1"),
        "{}",
        swivel.log()
    );
}

#[test]
fn transfers_without_the_key_with_a_wrong_key_or_from_another_address_are_refused() {
    let (swivel_dir, nowhere) = (
        TempDir::new("out-refused"),
        SocketAddr::from(([127, 0, 0, 1], free_port())),
    );
    std::fs::write(swivel_dir.path().join("zone.file"), zone(7, "")).unwrap();
    let config = swivel_config(swivel_dir.path(), nowhere);
    let swivel = Served::start(&config, &[], &swivel_dir.path().join("swivel.log"));
    let key = format!("hmac-sha256:xfr-key:{SECRET}");
    let wrong = format!("hmac-sha256:xfr-key:{WRONG_SECRET}");
    let other_name = format!("hmac-sha256:other-key:{SECRET}");
    let axfr = |extra: &[&str]| {
        let mut args = vec![ORIGIN, "AXFR"];
        args.extend_from_slice(extra);
        kdig(swivel.dns, &args)
    };
    // The control: the key from an admitted address gets the zone, signed.
    let admitted = axfr(&["-y", &key]);
    assert!(
        admitted.contains("www.out.test.") && admitted.contains("TSIG"),
        "{admitted}"
    );
    assert_eq!(
        admitted.matches("IN\tSOA").count(),
        2,
        "SOA first and last:\n{admitted}"
    );
    let unsigned = axfr(&[]);
    assert!(
        unsigned.contains("REFUSED") && !unsigned.contains("www.out.test."),
        "{unsigned}"
    );
    let badsig = axfr(&["-y", &wrong]);
    assert!(
        badsig.contains("BADSIG") && !badsig.contains("www.out.test."),
        "{badsig}"
    );
    let badkey = axfr(&["-y", &other_name]);
    assert!(
        badkey.contains("BADKEY") && !badkey.contains("www.out.test."),
        "{badkey}"
    );
    // 127.0.0.2 is loopback but not in allow_transfer; the control is the same command from
    // 127.0.0.1.
    let stranger = axfr(&["-y", &key, "-b", "127.0.0.2"]);
    assert!(
        stranger.contains("REFUSED") && !stranger.contains("www.out.test."),
        "{stranger}"
    );
    let local = axfr(&["-y", &key, "-b", "127.0.0.1"]);
    assert!(local.contains("www.out.test."), "{local}");
    // IXFR: from a serial the journal does not reach the whole zone, from the current one
    // the SOA alone.
    let full = kdig(swivel.dns, &[ORIGIN, "IXFR=3", "-y", &key]);
    assert!(full.contains("www.out.test."), "{full}");
    let current = kdig(swivel.dns, &[ORIGIN, "IXFR=7", "-y", &key]);
    assert!(
        !current.contains("www.out.test.") && current.matches("IN\tSOA").count() == 1,
        "{current}"
    );
    // Over UDP, AXFR stays NOTIMP as Knot answers it.
    let udp = kdig(swivel.dns, &[ORIGIN, "AXFR", "+notcp", "-y", &key]);
    assert!(udp.contains("NOTIMP"), "{udp}");
    let text = metrics(&swivel);
    let count = |result: &str| {
        metric(
            &text,
            &format!("swivel_transfers_out_total{{kind=\"axfr\",result=\"{result}\"}}"),
        )
    };
    assert_eq!(
        (count("ok"), count("refused"), count("notauth")),
        (2, 2, 2),
        "{text}"
    );
    assert_eq!(
        metric(
            &text,
            "swivel_transfers_out_total{kind=\"ixfr_full\",result=\"ok\"}"
        ),
        1
    );
    assert_eq!(
        metric(
            &text,
            "swivel_transfers_out_total{kind=\"ixfr_uptodate\",result=\"ok\"}"
        ),
        1
    );
}
