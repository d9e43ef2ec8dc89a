//! End-to-end routing by client network: `swivel serve` with a routed pool in front of
//! real HTTP backends (one per site on its own loopback address), asked by kdig with EDNS
//! Client Subnet options and from two loopback source addresses; a site's backends stopped
//! and started; a MaxMind database written by the test (`mmdb-writer` from PyPI), and a
//! corrupt one refused at start and on reload.

use crate::support::backend::Backend;
use crate::support::http::request;
use crate::support::kdig::{dig, kdig_missing};
use crate::support::process::{Config, Process, STARTUP};
use crate::support::{skip, wait_until};
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// A routed pool `www.example.test.`: `sites` as (site, address) with HTTP checks on
/// `port`, and `routes` as its `[[pool.route]]` tables.
fn routed_pool(port: u16, sites: &[(&str, &str)], routes: &str) -> String {
    let mut pool = format!(
        "[[pool]]\nname = \"www.example.test.\"\nttl = 30\n\
         [pool.check]\nkind = \"http\"\nport = {port}\npath = \"/health\"\n\
         interval = \"200ms\"\ntimeout = \"150ms\"\nfall = 3\nrise = 2\n"
    );
    for (site, address) in sites {
        pool.push_str(&format!(
            "[[pool.endpoint]]\naddress = \"{address}\"\nsite = \"{site}\"\n"
        ));
    }
    pool + routes
}

fn start(dir: &Path, server: &str, pools: &str) -> (Process, SocketAddr, SocketAddr) {
    std::fs::write(dir.join("example.test.zone"), crate::support::zone::APEX).unwrap();
    let config = Config::new()
        .server(&format!("workers = 1\nstate_dir = \"state\"\n{server}"))
        .example_zone()
        .tail(pools)
        .write(&dir.join("swivel.toml"));
    let swivel = Process::swivel(
        &["serve", "--config", config.to_str().unwrap()],
        &dir.join("swivel.log"),
    );
    let listening = swivel.wait_listening(STARTUP);
    (swivel, listening.dns(), listening.control)
}

const TWO_ROUTES: &str = "[[pool.route]]\nmatch = [\"10.1.0.0/16\", \"127.0.1.0/24\"]\n\
sites = [\"fra\", \"iad\"]\n[[pool.route]]\nmatch = [\"default\"]\nsites = [\"iad\", \"fra\"]\n";

#[test]
fn clients_get_their_nearest_healthy_site_by_subnet_or_source_and_fail_over_between_sites() {
    let test = "clients_get_their_nearest_healthy_site";
    if kdig_missing(test) {
        return;
    }
    let (port, mut backends) = Backend::start_on(&["127.0.0.2", "127.0.0.3"]);
    let _iad = backends.pop().unwrap();
    let mut fra = backends.pop().unwrap();
    let temp = tempfile::tempdir().unwrap();
    let pool = routed_pool(
        port,
        &[("fra", "127.0.0.2"), ("iad", "127.0.0.3")],
        TWO_ROUTES,
    );
    let (swivel, dns, control) = start(temp.path(), "", &pool);
    let www = "www.example.test";

    // ECS: the client's subnet picks the route; the scope is the network that decided it.
    let lab = dig(dns, www, Some("10.1.2.0/24"), None);
    assert_eq!(lab.addresses, ["127.0.0.2"], "{}", swivel.log());
    assert_eq!(lab.subnet.as_deref(), Some("10.1.2.0/24/16"));
    let far = dig(dns, www, Some("192.0.2.0/24"), None);
    assert_eq!(far.addresses, ["127.0.0.3"]);
    assert_eq!(
        far.subnet.as_deref(),
        Some("192.0.2.0/24/1"),
        "the largest block no other route's network is in: 128.0.0.0/1"
    );
    // A name that does not depend on the client still echoes ECS, scope 0.
    let ns = dig(dns, "ns1.example.test", Some("10.1.2.0/24"), None);
    assert_eq!(ns.subnet.as_deref(), Some("10.1.2.0/24/0"));
    // Without ECS the source address decides, and no option comes back.
    let near = dig(dns, www, None, Some("127.0.1.1"));
    assert_eq!(
        (near.addresses, near.subnet),
        (vec!["127.0.0.2".to_string()], None)
    );
    let other = dig(dns, www, None, Some("127.0.0.1"));
    assert_eq!(other.addresses, ["127.0.0.3"]);

    // fra fails: its clients go to the next site of their route within the detection time,
    // and come back after it recovers; the other route stays on iad throughout.
    fra.stop();
    let started = Instant::now();
    let moved = wait_until(Duration::from_secs(5), || {
        dig(dns, www, Some("10.1.2.0/24"), None).addresses == ["127.0.0.3"]
    });
    assert!(
        moved,
        "fra's clients did not move to iad; log:\n{}",
        swivel.log()
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    let status = request(control, "GET", "/v1/status", &[], "").json();
    let route = &status["pools"][0]["routes"][0];
    assert_eq!(route["site"], "iad", "{status}");
    assert!(route["reason"].as_str().unwrap().contains("fra"), "{route}");
    assert_eq!(status["pools"][0]["routes"][1]["site"], "iad");
    assert!(
        swivel.log().contains("failover from site fra to site iad"),
        "a failover between sites is logged like a tier change"
    );
    fra.restart();
    let back = wait_until(Duration::from_secs(5), || {
        dig(dns, www, Some("10.1.2.0/24"), None).addresses == ["127.0.0.2"]
    });
    assert!(
        back,
        "fra's clients did not come back; log:\n{}",
        swivel.log()
    );
    assert_eq!(
        dig(dns, www, None, Some("127.0.0.1")).addresses,
        ["127.0.0.3"]
    );
}

/// Writes a MaxMind database of `networks` (`CIDR=COUNTRY/CONTINENT`) to `path`; false
/// (with a SKIPPED line, or a failure in CI) when python's mmdb-writer is missing.
fn write_mmdb(test: &str, path: &Path, networks: &[&str]) -> bool {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/geo/make-mmdb.py");
    let output = Command::new("python3")
        .arg(script)
        .arg(path)
        .args(networks)
        .output();
    match output {
        Ok(o) if o.status.success() => true,
        Ok(o) => {
            skip(
                test,
                &format!(
                    "python3 with mmdb-writer (pip install mmdb-writer): {}",
                    String::from_utf8_lossy(&o.stderr)
                ),
            );
            false
        }
        Err(e) => {
            skip(test, &format!("python3: {e}"));
            false
        }
    }
}

const COUNTRY_ROUTES: &str =
    "[[pool.route]]\nmatch = [\"country:DE\"]\nsites = [\"fra\", \"iad\"]\n\
[[pool.route]]\nmatch = [\"continent:EU\"]\nsites = [\"ams\", \"iad\"]\n\
[[pool.route]]\nmatch = [\"default\"]\nsites = [\"iad\"]\n";

#[test]
fn country_and_continent_routes_from_a_maxmind_database_and_a_corrupt_one_is_refused() {
    let test = "country_and_continent_routes_from_a_maxmind_database";
    if kdig_missing(test) {
        return;
    }
    let temp = tempfile::tempdir().unwrap();
    let db = temp.path().join("country.mmdb");
    let networks = [
        "10.1.0.0/16=DE/EU",
        "10.2.0.0/16=FR/EU",
        "10.3.0.0/16=US/NA",
    ];
    if !write_mmdb(test, &db, &networks) {
        return;
    }
    let (port, _backends) = Backend::start_on(&["127.0.0.2", "127.0.0.3", "127.0.0.4"]);
    let sites = [
        ("fra", "127.0.0.2"),
        ("iad", "127.0.0.3"),
        ("ams", "127.0.0.4"),
    ];
    let pool = routed_pool(port, &sites, COUNTRY_ROUTES);
    let geo = "[server.geo]\ndatabase = \"country.mmdb\"\n";
    let (swivel, dns, control) = start(temp.path(), geo, &pool);
    let www = "www.example.test";
    let de = dig(dns, www, Some("10.1.9.0/24"), None);
    assert_eq!(de.addresses, ["127.0.0.2"], "{}", swivel.log());
    assert_eq!(
        de.subnet.as_deref(),
        Some("10.1.9.0/24/16"),
        "the database's network"
    );
    let fr = dig(dns, www, Some("10.2.9.0/24"), None);
    assert_eq!(fr.addresses, ["127.0.0.4"], "continent EU");
    let us = dig(dns, www, Some("10.3.9.0/24"), None);
    assert_eq!(us.addresses, ["127.0.0.3"], "no route for NA: the default");

    // A corrupt database: `swivel check` names it, and a reload keeps the running routes.
    std::fs::write(&db, b"this is not a MaxMind database").unwrap();
    let config = temp.path().join("swivel.toml");
    let check = Command::new(env!("CARGO_BIN_EXE_swivel"))
        .args(["check", "--config", config.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&check.stderr);
    assert!(!check.status.success());
    assert!(
        stderr.contains("country.mmdb") && stderr.contains("server.geo.database"),
        "{stderr}"
    );
    let reload = request(control, "POST", "/v1/reload", &[], "");
    assert_ne!(reload.status, 200, "the reload is refused: {}", reload.body);
    assert!(reload.body.contains("country.mmdb"), "{}", reload.body);
    assert_eq!(
        dig(dns, www, Some("10.1.9.0/24"), None).addresses,
        ["127.0.0.2"],
        "the running server keeps its routes"
    );
    // A missing one likewise; then a good one with DE moved is taken by the next reload.
    std::fs::remove_file(&db).unwrap();
    let reload = request(control, "POST", "/v1/reload", &[], "");
    assert!(reload.body.contains("country.mmdb"), "{}", reload.body);
    assert!(write_mmdb(
        test,
        &db,
        &["10.1.0.0/16=US/NA", "10.2.0.0/16=DE/EU"]
    ));
    let reload = request(control, "POST", "/v1/reload", &[], "");
    assert_eq!(reload.status, 200, "{}", reload.body);
    assert_eq!(
        dig(dns, www, Some("10.2.9.0/24"), None).addresses,
        ["127.0.0.2"]
    );
    assert_eq!(
        dig(dns, www, Some("10.1.9.0/24"), None).addresses,
        ["127.0.0.3"]
    );
}
