//! End-to-end failover: `swivel serve` with health-checked pools in front of real HTTP and
//! TCP backends on loopback addresses that are stopped and started during the test.

use crate::support::backend::{refusing_port, Backend};
use crate::support::dns::{query_udp, TYPE_A};
use crate::support::process::{Config, Process, STARTUP};
use crate::support::wait_until;
use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The shared zone and a CNAME to the pool `www`.
fn zone_text() -> String {
    format!("{}web  CNAME www\n", crate::support::zone::APEX)
}

/// A running server with its folder; the process is killed when dropped.
struct Server {
    swivel: Process,
    dns: SocketAddr,
    control: SocketAddr,
    dir: PathBuf,
    _temp: tempfile::TempDir,
}

fn write_config(dir: &Path, pools: &str) -> PathBuf {
    std::fs::write(dir.join("example.test.zone"), zone_text()).unwrap();
    Config::new()
        .server("workers = 1\nstate_dir = \"state\"")
        .example_zone()
        .tail(pools)
        .write(&dir.join("swivel.toml"))
}

/// Starts the server of `dir`; it listens on ports the kernel chooses, read from its log.
fn start_in(dir: &Path, temp: tempfile::TempDir) -> Server {
    let config = dir.join("swivel.toml");
    let swivel = Process::swivel(
        &["serve", "--config", config.to_str().unwrap()],
        &dir.join("swivel.log"),
    );
    let listening = swivel.wait_listening(STARTUP);
    Server {
        swivel,
        dns: listening.dns(),
        control: listening.control,
        dir: dir.to_path_buf(),
        _temp: temp,
    }
}

fn serve(pools: &str) -> Server {
    let temp = tempfile::tempdir().unwrap();
    write_config(temp.path(), pools);
    let dir = temp.path().to_path_buf();
    start_in(&dir, temp)
}

impl Server {
    fn addresses(&self, name: &str) -> Vec<Ipv4Addr> {
        let reply = query_udp(self.dns, name, TYPE_A).expect("a reply");
        reply.a_addresses()
    }

    /// The A addresses in answer order (unsorted).
    fn ordered(&self, name: &str) -> Vec<Ipv4Addr> {
        let reply = query_udp(self.dns, name, TYPE_A).expect("a reply");
        let a = reply
            .answers
            .iter()
            .filter(|a| a.rtype == TYPE_A && a.rdata.len() == 4);
        a.map(|a| Ipv4Addr::new(a.rdata[0], a.rdata[1], a.rdata[2], a.rdata[3]))
            .collect()
    }

    /// Polls until `name` answers exactly `want`; returns how long it took.
    fn wait_for(&self, name: &str, want: &[Ipv4Addr], timeout: Duration) -> Duration {
        let started = Instant::now();
        let ok = wait_until(timeout, || self.addresses(name) == want);
        assert!(
            ok,
            "{name} did not answer {want:?} within {timeout:?}; log:\n{}",
            self.swivel.log()
        );
        started.elapsed()
    }

    fn restart(self) -> Server {
        let Server {
            swivel, dir, _temp, ..
        } = self;
        drop(swivel);
        start_in(&dir, _temp)
    }
}

fn ip(text: &str) -> Ipv4Addr {
    text.parse().unwrap()
}

fn http_pool(name: &str, port: u16, extra: &str, endpoints: &[(&str, u32)]) -> String {
    let mut pool = format!(
        "[[pool]]\nname = \"{name}\"\nttl = 30\nttl_degraded = 5\n{extra}\n\
         [pool.check]\nkind = \"http\"\nport = {port}\npath = \"/health\"\nexpect_body = \"ok\"\n\
         interval = \"200ms\"\ntimeout = \"150ms\"\nfall = 3\nrise = 2\n"
    );
    for (address, priority) in endpoints {
        pool.push_str(&format!(
            "[[pool.endpoint]]\naddress = \"{address}\"\npriority = {priority}\n"
        ));
    }
    pool
}

#[test]
fn primary_failure_moves_answers_within_a_second_and_they_come_back() {
    let (port, mut backends) = Backend::start_on(&["127.0.0.2", "127.0.0.3"]);
    let _secondary = backends.pop().unwrap();
    let mut primary = backends.pop().unwrap();
    let server = serve(&http_pool(
        "www.example.test.",
        port,
        "",
        &[("127.0.0.2", 1), ("127.0.0.3", 2)],
    ));
    assert_eq!(
        server.addresses("www.example.test"),
        [ip("127.0.0.2")],
        "the first answer reflects health"
    );
    let via_cname = query_udp(server.dns, "web.example.test", TYPE_A).unwrap();
    assert_eq!(
        via_cname.a_addresses(),
        [ip("127.0.0.2")],
        "a CNAME to the pool follows it"
    );
    assert_eq!(via_cname.answers.last().unwrap().ttl, 30);

    primary.stop();
    let detection = server.wait_for(
        "www.example.test",
        &[ip("127.0.0.3")],
        Duration::from_secs(3),
    );
    assert!(
        detection < Duration::from_secs(1),
        "failover took {detection:?}"
    );
    let degraded = query_udp(server.dns, "www.example.test", TYPE_A).unwrap();
    assert_eq!(
        degraded.answers[0].ttl, 5,
        "degraded TTL while off the top tier"
    );
    // After the switch, no answer lists the dead endpoint.
    let until = Instant::now() + Duration::from_millis(800);
    while Instant::now() < until {
        assert_eq!(server.addresses("www.example.test"), [ip("127.0.0.3")]);
        assert_eq!(server.addresses("web.example.test"), [ip("127.0.0.3")]);
    }
    primary.restart();
    let failback = server.wait_for(
        "www.example.test",
        &[ip("127.0.0.2")],
        Duration::from_secs(3),
    );
    assert!(
        failback < Duration::from_secs(1),
        "failback took {failback:?}"
    );
    let log = server.swivel.log();
    assert!(
        log.contains("endpoint health changed"),
        "transitions are logged:\n{log}"
    );
    let down =
        "pool=www.example.test. endpoint=127.0.0.2 from=up to=down reason=3 consecutive failures";
    assert!(
        log.contains(down),
        "the transition is logged with its reason:\n{log}"
    );
    let up =
        "pool=www.example.test. endpoint=127.0.0.2 from=down to=up reason=2 consecutive successes";
    assert!(log.contains(up), "{log}");
    eprintln!("failover timings: detection {detection:?}, failback {failback:?} (interval 200ms, fall 3, rise 2)");
}

#[test]
fn manual_failback_holds_across_a_restart() {
    let (port, mut backends) = Backend::start_on(&["127.0.0.2", "127.0.0.3"]);
    let _secondary = backends.pop().unwrap();
    let mut primary = backends.pop().unwrap();
    let pool = http_pool(
        "www.example.test.",
        port,
        "failback = \"manual\"",
        &[("127.0.0.2", 1), ("127.0.0.3", 2)],
    );
    let server = serve(&pool);
    assert_eq!(server.addresses("www.example.test"), [ip("127.0.0.2")]);
    primary.stop();
    server.wait_for(
        "www.example.test",
        &[ip("127.0.0.3")],
        Duration::from_secs(3),
    );
    primary.restart();
    std::thread::sleep(Duration::from_millis(1200));
    assert_eq!(
        server.addresses("www.example.test"),
        [ip("127.0.0.3")],
        "latched on the secondary"
    );
    // The state file is written by the server on its own time: a bounded wait.
    let state_file = server.dir.join("state/swivel-state.json");
    let mut state = String::new();
    wait_until(Duration::from_secs(10), || {
        state = std::fs::read_to_string(&state_file).unwrap_or_default();
        state.contains("\"www.example.test.\": 2")
    });
    assert!(
        state.contains("\"www.example.test.\": 2"),
        "latch persisted: {state}"
    );
    let server = server.restart();
    assert_eq!(
        server.addresses("www.example.test"),
        [ip("127.0.0.3")],
        "the latch survives a restart"
    );
    // The operator releases it: answers return to the primary at once.
    let control = server.control.to_string();
    let ctl = std::process::Command::new(env!("CARGO_BIN_EXE_swivel"))
        .args([
            "ctl",
            "--control",
            &control,
            "failback",
            "www.example.test.",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&ctl.stderr);
    assert!(ctl.status.success(), "swivel ctl failback: {stderr}");
    assert_eq!(
        server.addresses("www.example.test"),
        [ip("127.0.0.2")],
        "released"
    );
    let state = std::fs::read_to_string(server.dir.join("state/swivel-state.json")).unwrap();
    assert!(
        !state.contains("\"www.example.test.\": 2"),
        "the release is persisted: {state}"
    );
}

#[test]
fn when_all_down_serves_what_the_pool_says() {
    // Nothing listens on this port (held, bound without listening): every check is refused.
    let (port, _held) = refusing_port(&["127.0.0.2", "127.0.0.3"]);
    let endpoints = [("127.0.0.2", 1), ("127.0.0.3", 2)];
    let pools = [
        http_pool(
            "all.example.test.",
            port,
            "when_all_down = \"serve-all\"",
            &endpoints,
        ),
        http_pool(
            "primary.example.test.",
            port,
            "when_all_down = \"serve-primary\"",
            &endpoints,
        ),
        http_pool(
            "none.example.test.",
            port,
            "when_all_down = \"nodata\"",
            &endpoints,
        ),
    ];
    let server = serve(&pools.concat());
    assert_eq!(
        server.addresses("all.example.test"),
        [ip("127.0.0.2"), ip("127.0.0.3")]
    );
    assert_eq!(server.addresses("primary.example.test"), [ip("127.0.0.2")]);
    let nodata = query_udp(server.dns, "none.example.test", TYPE_A).unwrap();
    assert_eq!(
        (nodata.rcode, nodata.answers.len()),
        (0, 0),
        "NOERROR with no address"
    );
}

fn tcp_pool(name: &str, port: u16, policy: &str, endpoints: &[(&str, u32)]) -> String {
    let mut pool = format!(
        "[[pool]]\nname = \"{name}\"\npolicy = \"{policy}\"\n\
         [pool.check]\nkind = \"tcp\"\nport = {port}\ninterval = \"1s\"\ntimeout = \"200ms\"\n"
    );
    for (address, weight) in endpoints {
        pool.push_str(&format!(
            "[[pool.endpoint]]\naddress = \"{address}\"\nweight = {weight}\n"
        ));
    }
    pool
}

#[test]
fn all_rotates_and_weighted_follows_the_weights() {
    let hosts = ["127.0.0.2", "127.0.0.3", "127.0.0.4"];
    let (port, _backends) = Backend::start_on(&hosts);
    let all = tcp_pool(
        "all.example.test.",
        port,
        "all",
        &[("127.0.0.2", 1), ("127.0.0.3", 1), ("127.0.0.4", 1)],
    );
    let weighted = tcp_pool(
        "lb.example.test.",
        port,
        "weighted",
        &[("127.0.0.2", 3), ("127.0.0.3", 1)],
    );
    let server = serve(&(all + &weighted));

    let mut first: HashMap<Ipv4Addr, u32> = HashMap::new();
    for _ in 0..300 {
        let order = server.ordered("all.example.test");
        assert_eq!(order.len(), 3, "every healthy endpoint in every answer");
        *first.entry(order[0]).or_default() += 1;
    }
    for host in hosts {
        let count = first.get(&ip(host)).copied().unwrap_or(0);
        assert!(
            (80..=120).contains(&count),
            "{host} first {count} times of 300: {first:?}"
        );
    }

    let mut chosen: HashMap<Ipv4Addr, u32> = HashMap::new();
    for _ in 0..800 {
        let answer = server.addresses("lb.example.test");
        assert_eq!(answer.len(), 1, "one endpoint per answer");
        *chosen.entry(answer[0]).or_default() += 1;
    }
    let heavy = chosen.get(&ip("127.0.0.2")).copied().unwrap_or(0);
    assert!(
        (540..=660).contains(&heavy),
        "weight 3 of 4 got {heavy} of 800: {chosen:?}"
    );
}
