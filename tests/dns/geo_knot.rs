//! Knot DNS's geoip module (`mod-geoip`, subnet mode, Debian package knot-module-geoip)
//! as the reference for routing by client subnet: the same networks configured in both, the
//! same client subnets asked of both with kdig, the same addresses and ECS scopes back.
//!
//! Swivel routes first match first, Knot takes the most specific network; with networks
//! that do not overlap the two agree. Clients in none of the networks differ on purpose:
//! Knot answers them from the zone with scope 0, Swivel with its default route and the
//! scope of the largest block no route's network touches (docs/GEO.md); they are compared
//! for the address only.

use crate::knot_compare::knotd_available;
use crate::knot_compare::servers::{free_port, knot_config, start_knot_config, TempDir};
use crate::support::backend::Backend;
use crate::support::kdig::{dig, kdig_missing};
use crate::support::process::{Config, Process, STARTUP};
use crate::support::skip;

const ZONE: &str = "$ORIGIN example.test.\n$TTL 3600\n\
@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 192.0.2.53\n";

/// Subnet (mode) networks and the address each gets: the same in both servers.
const NETWORKS: [(&str, &str, &str); 3] = [
    ("10.1.0.0/16", "fra", "127.0.0.2"),
    ("10.2.0.0/24", "iad", "127.0.0.3"),
    ("2001:db8::/32", "ams", "127.0.0.4"),
];

#[test]
fn subnet_routes_answer_like_knot_s_geoip_module() {
    let test = "subnet_routes_answer_like_knot_s_geoip_module";
    if !knotd_available(test) || kdig_missing(test) {
        return;
    }
    let module = std::process::Command::new("sh")
        .args(["-c", "ls /usr/lib/*/knot/modules-*/geoip.so"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !module {
        return skip(
            test,
            "Knot's geoip module is not installed (apt-get install knot-module-geoip)",
        );
    }
    let dir = TempDir::new("geo-knot");
    // Knot: the zone (with a fallback address for clients in no network) and the module.
    let zone = dir.path().join("example.test.zone");
    std::fs::write(&zone, format!("{ZONE}www A 127.0.0.9\n")).unwrap();
    let mut geo = String::from("www.example.test:\n");
    for (net, _, address) in NETWORKS {
        geo += &format!("  - net: {net}\n    A: {address}\n");
    }
    std::fs::write(dir.path().join("geo.conf"), geo).unwrap();
    let port = free_port();
    let config = knot_config(dir.path(), port, "").replacen(
        "server:\n",
        "server:\n    edns-client-subnet: on\n",
        1,
    ) + &format!(
        "mod-geoip:\n  - id: geo\n    config-file: \"{}\"\n    mode: subnet\n    ttl: 30\n\
             zone:\n  - domain: example.test\n    file: \"{}\"\n    module: mod-geoip/geo\n",
        dir.path().join("geo.conf").display(),
        zone.display()
    );
    let knot = start_knot_config(dir.path(), port, &config, "example.test.")
        .unwrap_or_else(|e| panic!("knotd: {e}"));

    // Swivel: a routed pool with one site per network (TCP checks against real listeners)
    // and the fallback address as the default route's site.
    let (check_port, _backends) =
        Backend::start_on(&["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.9"]);
    let mut pool = format!(
        "[[pool]]\nname = \"www.example.test.\"\nttl = 30\n[pool.check]\nkind = \"tcp\"\n\
         port = {check_port}\ninterval = \"200ms\"\ntimeout = \"150ms\"\n"
    );
    let sites = NETWORKS
        .iter()
        .map(|&(_, site, address)| (site, address))
        .chain([("elsewhere", "127.0.0.9")]);
    for (site, address) in sites {
        pool += &format!("[[pool.endpoint]]\naddress = \"{address}\"\nsite = \"{site}\"\n");
    }
    for (net, site, _) in NETWORKS {
        pool += &format!("[[pool.route]]\nmatch = [\"{net}\"]\nsites = [\"{site}\"]\n");
    }
    pool += "[[pool.route]]\nmatch = [\"default\"]\nsites = [\"elsewhere\"]\n";
    let swivel_dir = tempfile::tempdir().unwrap();
    std::fs::write(swivel_dir.path().join("example.test.zone"), ZONE).unwrap();
    let config = Config::new()
        .server("workers = 1")
        .example_zone()
        .tail(&pool)
        .write(&swivel_dir.path().join("swivel.toml"));
    let swivel = Process::swivel(
        &["serve", "--config", config.to_str().unwrap()],
        &swivel_dir.path().join("swivel.log"),
    );
    let swivel_dns = swivel.wait_listening(STARTUP).dns();

    let www = "www.example.test";
    let subnets = [
        "10.1.2.0/24",
        "10.1.0.0/16",
        "10.2.0.128/25",
        "10.2.0.0/24",
        "2001:db8:5::/48",
        "2001:db8::/32",
    ];
    let mut differences = Vec::new();
    for subnet in subnets {
        let (k, s) = (
            dig(knot.addr, www, Some(subnet), None),
            dig(swivel_dns, www, Some(subnet), None),
        );
        assert!(
            !k.addresses.is_empty(),
            "knotd answered {subnet}: {}",
            knot.log_tail()
        );
        if k != s {
            differences.push(format!("{subnet}: knotd {k:?}, swivel {s:?}"));
        }
    }
    // Clients in no network: the same address, scopes differ by design (see above).
    for subnet in [
        "10.3.0.0/24",
        "10.1.0.0/12",
        "192.0.2.0/24",
        "2001:db9::/48",
    ] {
        let (k, s) = (
            dig(knot.addr, www, Some(subnet), None),
            dig(swivel_dns, www, Some(subnet), None),
        );
        if k.addresses != s.addresses {
            differences.push(format!("{subnet}: knotd {k:?}, swivel {s:?}"));
        }
        assert_eq!(
            k.subnet.as_deref().map(|t| t.ends_with("/0")),
            Some(true),
            "{k:?}"
        );
    }
    assert!(
        differences.is_empty(),
        "swivel and knotd differ:\n{}\nswivel log:\n{}",
        differences.join("\n"),
        swivel.log()
    );
}
