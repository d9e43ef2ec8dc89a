//! Signed zones validated end to end by a real validating resolver: Unbound, with the
//! zone's KSK as its trust anchor and a stub zone pointing at `swivel serve`, resolves
//! positive answers, NXDOMAIN, NODATA, wildcard answers, wildcard NODATA, empty
//! non-terminals, CNAMEs, DNAMEs, an insecure delegation's DS denial and a health-checked pool's
//! answers before and after a failover, every one with the AD bit (validated secure). The
//! negative control: the same queries through an Unbound whose anchor is another key fail
//! validation (SERVFAIL), so the AD bits cannot come from Unbound trusting anything.

use super::dnssec_keys::{keygen, tools_missing};
use crate::support::backend::{port_free_on, Backend};
use crate::support::process::{Config, Process, STARTUP};
use crate::support::wait_until;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const ZONE: &str = "\
$ORIGIN example.test.
$TTL 3600
@        IN SOA ns1 hostmaster 1 7200 3600 1209600 300
@        NS  ns1
@        MX  10 mail
ns1      A   192.0.2.53
mail     A   192.0.2.25
www      A   192.0.2.1
www      A   192.0.2.2
www      AAAA 2001:db8::1
alias    CNAME www
*.wild   TXT \"wild\"
a.b.c    A   192.0.2.9
sub      NS  ns.sub
ns.sub   A   192.0.2.99
redir    DNAME wild.example.test.
gone     DNAME nothere.example.test.
";

/// The pool in the signed zone: two endpoints with an HTTP check on `port`.
fn pool(port: u16) -> String {
    format!(
        "[[pool]]\nname = \"app.example.test.\"\nttl = 1\nttl_degraded = 1\n\
         [pool.check]\nkind = \"http\"\nport = {port}\npath = \"/health\"\nexpect_body = \"ok\"\n\
         interval = \"200ms\"\ntimeout = \"150ms\"\nfall = 2\nrise = 2\n\
         [[pool.endpoint]]\naddress = \"127.0.21.2\"\n\
         [[pool.endpoint]]\naddress = \"127.0.21.3\"\n"
    )
}

/// Queries (name, type, expected rcode) that must all validate.
const SECURE: &[(&str, &str, &str)] = &[
    ("www.example.test", "A", "NOERROR"),
    ("www.example.test", "AAAA", "NOERROR"),
    ("nope.example.test", "A", "NXDOMAIN"),
    ("deep.nope.example.test", "TXT", "NXDOMAIN"),
    ("www.example.test", "TXT", "NOERROR"),
    ("x.wild.example.test", "TXT", "NOERROR"),
    ("y.z.wild.example.test", "TXT", "NOERROR"),
    ("x.wild.example.test", "A", "NOERROR"),
    ("alias.example.test", "A", "NOERROR"),
    ("c.example.test", "A", "NOERROR"),
    ("b.c.example.test", "MX", "NOERROR"),
    ("sub.example.test", "DS", "NOERROR"),
    ("example.test", "DNSKEY", "NOERROR"),
    ("example.test", "MX", "NOERROR"),
    ("app.example.test", "A", "NOERROR"),
    ("app.example.test", "AAAA", "NOERROR"),
    ("app.example.test", "TXT", "NOERROR"),
    ("x.redir.example.test", "TXT", "NOERROR"),
    ("x.redir.example.test", "A", "NOERROR"),
    ("a.gone.example.test", "A", "NXDOMAIN"),
];

/// A validating Unbound on `127.0.20.<host>` that sends `example.test.` to `swivel` and
/// trusts `anchor` (a DNSKEY record in presentation form) for it.
struct Unbound {
    _process: Process,
    addr: SocketAddr,
}

impl Unbound {
    fn start(dir: &Path, host: u8, swivel: SocketAddr, anchor: &str) -> Unbound {
        let ip = format!("127.0.20.{host}");
        let port = port_free_on(&[&ip]);
        let conf = dir.join(format!("unbound-{host}.conf"));
        std::fs::write(
            &conf,
            format!(
                "server:\n  interface: {ip}\n  port: {port}\n  do-ip6: no\n  use-syslog: no\n\
                 logfile: \"\"\n  chroot: \"\"\n  username: \"\"\n  directory: \"{dir}\"\n\
                 pidfile: \"{dir}/unbound-{host}.pid\"\n  do-not-query-localhost: no\n\
                 access-control: 127.0.0.0/8 allow\n  num-threads: 1\n  so-reuseport: no\n\
                 local-zone: \"test.\" nodefault\n  qname-minimisation: no\n\
                 val-log-level: 2\n  verbosity: 1\n  trust-anchor: \"{anchor}\"\n\
                 stub-zone:\n  name: \"example.test.\"\n  stub-addr: {}@{}\n",
                swivel.ip(),
                swivel.port(),
                dir = dir.display(),
            ),
        )
        .unwrap();
        let log = dir.join(format!("unbound-{host}.log"));
        let process = Process::spawn(
            &[],
            Path::new("unbound"),
            &["-d", "-c", conf.to_str().unwrap()],
            &log,
        );
        let addr: SocketAddr = format!("{ip}:{port}").parse().unwrap();
        let up = wait_until(STARTUP, || dig(addr, "example.test", "SOA").is_some());
        assert!(up, "unbound did not answer; log:\n{}", process.log());
        Unbound {
            _process: process,
            addr,
        }
    }
}

/// `kdig +dnssec` through a resolver: (rcode, whether AD is set), or `None` on timeout.
fn dig(server: SocketAddr, name: &str, qtype: &str) -> Option<(String, bool)> {
    let output = Command::new("kdig")
        .arg(format!("@{}", server.ip()))
        .args(["-p", &server.port().to_string()])
        .args(["+dnssec", "+timeout=3", "+retry=1", name, qtype])
        .output()
        .expect("run kdig");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let status = text.split("status: ").nth(1)?.split(';').next()?.trim();
    let flags = text.split(";; Flags: ").nth(1)?.split(';').next()?;
    let ad = flags.split_whitespace().any(|f| f == "ad");
    Some((status.to_string(), ad))
}

/// The DNSKEY record of the key with base name `base` in `keys`, for a trust anchor.
fn dnskey_of(keys: &Path, base: &str) -> String {
    let text = std::fs::read_to_string(keys.join(format!("{base}.key"))).unwrap();
    let line = text.lines().find(|l| l.contains("DNSKEY")).unwrap();
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A new ECDSA KSK and ZSK for `example.test.` in `dir/keys`: the folder and the KSK's base
/// name.
fn ecdsa_key_pair(dir: &Path) -> (std::path::PathBuf, String) {
    let keys = dir.join("keys");
    std::fs::create_dir(&keys).unwrap();
    let ksk = keygen(
        &keys,
        &["-a", "ECDSAP256SHA256", "-f", "KSK", "example.test"],
    );
    keygen(&keys, &["-a", "ECDSAP256SHA256", "example.test"]);
    (keys, ksk)
}

/// A signed `example.test.` served by swivel, with the pool's backends; returns the
/// server, its DNS address, the KSK's DNSKEY record and the backends.
fn signed_server(dir: &Path) -> (Process, SocketAddr, String, Vec<Backend>) {
    let (keys, ksk) = ecdsa_key_pair(dir);
    std::fs::write(dir.join("example.test.zone"), ZONE).unwrap();
    let (port, backends) = Backend::start_on(&["127.0.21.2", "127.0.21.3"]);
    let config = Config::new()
        .example_zone()
        .tail(&pool(port))
        .text()
        .replace(
            "file = \"example.test.zone\"\n",
            "file = \"example.test.zone\"\n[zone.dnssec]\nkeys = \"keys\"\n",
        );
    let path = dir.join("swivel.toml");
    std::fs::write(&path, config).unwrap();
    let server = Process::swivel(
        &["serve", "--config", path.to_str().unwrap()],
        &dir.join("swivel.log"),
    );
    let dns = server.wait_listening(STARTUP).dns[0];
    (server, dns, dnskey_of(&keys, &ksk), backends)
}

#[test]
fn unbound_validates_every_kind_of_answer_and_a_failover() {
    let test = "unbound_validates_every_kind_of_answer_and_a_failover";
    if tools_missing(test, &["dnssec-keygen", "unbound", "kdig"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (_server, dns, anchor, mut backends) = signed_server(dir.path());
    let unbound = Unbound::start(dir.path(), 1, dns, &anchor);
    let mut failures = Vec::new();
    for &(name, qtype, rcode) in SECURE {
        let got = dig(unbound.addr, name, qtype);
        if got != Some((rcode.to_string(), true)) {
            failures.push(format!(
                "{name} {qtype}: got {got:?}, wanted {rcode} with AD"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // A failover: the pool's A RRset changes, signed in the runtime before the swap.
    backends[0].stop();
    let moved = wait_until(Duration::from_secs(10), || {
        let direct = crate::support::dns::query_udp(dns, "app.example.test", 1);
        direct.is_some_and(|r| {
            r.a_addresses() == ["127.0.21.3".parse::<std::net::Ipv4Addr>().unwrap()]
        })
    });
    assert!(moved, "the pool did not fail over");
    std::thread::sleep(Duration::from_millis(1100));
    let got = dig(unbound.addr, "app.example.test", "A");
    assert_eq!(
        got,
        Some(("NOERROR".to_string(), true)),
        "after the failover"
    );
}

#[test]
fn unbound_with_another_key_as_anchor_refuses_the_answers() {
    let test = "unbound_with_another_key_as_anchor_refuses_the_answers";
    if tools_missing(test, &["dnssec-keygen", "unbound", "kdig"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (_server, dns, _anchor, _backends) = signed_server(dir.path());
    let other = dir.path().join("other");
    std::fs::create_dir(&other).unwrap();
    let wrong = keygen(
        &other,
        &["-a", "ECDSAP256SHA256", "-f", "KSK", "example.test"],
    );
    let unbound = Unbound::start(dir.path(), 2, dns, &dnskey_of(&other, &wrong));
    for (name, qtype) in [("www.example.test", "A"), ("nope.example.test", "A")] {
        let got = dig(unbound.addr, name, qtype);
        assert_eq!(got, Some(("SERVFAIL".to_string(), false)), "{name} {qtype}");
    }
}

#[test]
fn a_key_published_later_enters_the_dnskey_set_at_its_time_without_a_reload() {
    let test = "a_key_published_later_enters_the_dnskey_set_at_its_time_without_a_reload";
    if tools_missing(test, &["dnssec-keygen"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    std::fs::create_dir(&keys).unwrap();
    keygen(&keys, &["-a", "ED25519", "-f", "KSK", "example.test"]);
    keygen(&keys, &["-a", "ED25519", "example.test"]);
    // The successor ZSK of a pre-publication rollover: published in 4 s, active in a day.
    keygen(
        &keys,
        &[
            "-a",
            "ED25519",
            "-P",
            "now+4",
            "-A",
            "now+1d",
            "example.test",
        ],
    );
    std::fs::write(dir.path().join("example.test.zone"), ZONE).unwrap();
    let config = Config::new().example_zone().text().replace(
        "file = \"example.test.zone\"\n",
        "file = \"example.test.zone\"\n[zone.dnssec]\nkeys = \"keys\"\n",
    );
    let path = dir.path().join("swivel.toml");
    std::fs::write(&path, config).unwrap();
    let server = Process::swivel(
        &["serve", "--config", path.to_str().unwrap()],
        &dir.path().join("swivel.log"),
    );
    let dns = server.wait_listening(STARTUP).dns[0];
    let dnskeys = || {
        let reply = crate::support::dns::query_tcp(dns, "example.test", 48).expect("a reply");
        reply.answers.iter().filter(|a| a.rtype == 48).count()
    };
    assert_eq!(dnskeys(), 2, "the successor is not published yet");
    let published = wait_until(Duration::from_secs(15), || dnskeys() == 3);
    assert!(
        published,
        "the successor was not published; log:\n{}",
        server.log()
    );
    assert!(
        server.log().contains("signed zones signed again"),
        "{}",
        server.log()
    );
}

/// `ZONE` signed by `dnssec-signzone` (NSEC) with a new KSK and ZSK in `dir`; returns the
/// KSK's DNSKEY record.
fn sign_with_bind(dir: &Path) -> String {
    let (keys, ksk) = ecdsa_key_pair(dir);
    std::fs::write(dir.join("example.test.unsigned"), ZONE).unwrap();
    let zone = dir.join("example.test.zone");
    // Smart signing (-S): the keys come from the keys folder, DNSKEYs added to the zone.
    let out = Command::new("dnssec-signzone")
        .current_dir(dir)
        .args(["-q", "-S", "-K", "keys", "-o", "example.test"])
        .args(["-f", zone.to_str().unwrap(), "example.test.unsigned"])
        .output()
        .expect("run dnssec-signzone");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    dnskey_of(&keys, &ksk)
}

#[test]
fn a_zone_signed_by_dnssec_signzone_is_served_signed_and_validates() {
    let test = "a_zone_signed_by_dnssec_signzone_is_served_signed_and_validates";
    if tools_missing(
        test,
        &["dnssec-keygen", "dnssec-signzone", "unbound", "kdig"],
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let anchor = sign_with_bind(dir.path());
    let path = Config::new()
        .example_zone()
        .write(&dir.path().join("swivel.toml"));
    let check = crate::support::process::run_swivel(&["check", "--config", path.to_str().unwrap()]);
    let printed = crate::support::process::stdout(&check);
    assert!(
        printed.contains("zone example.test.: signed elsewhere"),
        "{printed}"
    );
    let server = Process::swivel(
        &["serve", "--config", path.to_str().unwrap()],
        &dir.path().join("swivel.log"),
    );
    let dns = server.wait_listening(STARTUP).dns[0];
    let unbound = Unbound::start(dir.path(), 3, dns, &anchor);
    let mut failures = Vec::new();
    for &(name, qtype, rcode) in SECURE.iter().filter(|(n, _, _)| !n.starts_with("app.")) {
        let got = dig(unbound.addr, name, qtype);
        if got != Some((rcode.to_string(), true)) {
            failures.push(format!(
                "{name} {qtype}: got {got:?}, wanted {rcode} with AD"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_pool_in_a_zone_signed_elsewhere_is_refused_without_keys() {
    let test = "a_pool_in_a_zone_signed_elsewhere_is_refused_without_keys";
    if tools_missing(test, &["dnssec-keygen", "dnssec-signzone"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    sign_with_bind(dir.path());
    let config = Config::new().example_zone().tail(&pool(8080));
    let path = config.write(&dir.path().join("swivel.toml"));
    let check = crate::support::process::run_swivel(&["check", "--config", path.to_str().unwrap()]);
    let err = crate::support::process::stderr(&check);
    assert!(
        !check.status.success(),
        "a pool in a zone signed elsewhere was accepted"
    );
    assert!(
        err.contains("pool app.example.test. is in zone example.test., which is signed elsewhere"),
        "{err}"
    );
    // Negative control: the same configuration with the unsigned zone is accepted.
    std::fs::copy(
        dir.path().join("example.test.unsigned"),
        dir.path().join("example.test.zone"),
    )
    .unwrap();
    let check = crate::support::process::run_swivel(&["check", "--config", path.to_str().unwrap()]);
    assert!(
        check.status.success(),
        "{}",
        crate::support::process::stderr(&check)
    );
}
