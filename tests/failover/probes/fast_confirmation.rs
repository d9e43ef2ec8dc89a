//! Fast confirmation (`check.fast_interval`) end to end: a real `swivel serve` in front of
//! real HTTP backends on loopback, timed through its DNS answers. With interval 200ms,
//! fall 3 and rise 2, the median detection and failback over ten rounds stay within 0.4s
//! and 0.25s; with `fast_interval = interval` (fast confirmation off, the negative control)
//! detection is measurably slower. Steady state costs no extra checks, and an endpoint
//! that flaps on every check never flips the answers (while with fall 1 it does).

use crate::support::backend::scripted::{self, Behaviour};
use crate::support::backend::Backend;
use crate::support::dns::{query_udp, TYPE_A};
use crate::support::process::{Config, Process, STARTUP};
use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

const MS: Duration = Duration::from_millis(1);
const ROUNDS: usize = 10;

/// A running `swivel serve` with its folder; killed when dropped.
struct Server {
    swivel: Process,
    dns: SocketAddr,
    _dir: tempfile::TempDir,
}

fn serve(pools: &str) -> Server {
    let dir = tempfile::tempdir().unwrap();
    crate::support::zone::write(dir.path(), crate::support::zone::APEX);
    let config = Config::new()
        .server("workers = 1")
        .example_zone()
        .tail(pools)
        .write(&dir.path().join("swivel.toml"));
    let swivel = Process::swivel(
        &["serve", "--config", config.to_str().unwrap()],
        &dir.path().join("swivel.log"),
    );
    let dns = swivel.wait_listening(STARTUP).dns();
    Server {
        swivel,
        dns,
        _dir: dir,
    }
}

impl Server {
    fn addresses(&self, name: &str) -> Vec<Ipv4Addr> {
        query_udp(self.dns, name, TYPE_A)
            .expect("a reply")
            .a_addresses()
    }

    /// Polls every 5ms until `name` answers exactly `want`; how long that took.
    fn time_until(&self, name: &str, want: &[Ipv4Addr]) -> Duration {
        let started = Instant::now();
        while self.addresses(name) != want {
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "{name} did not answer {want:?}; log:\n{}",
                self.swivel.log()
            );
            std::thread::sleep(5 * MS);
        }
        started.elapsed()
    }
}

fn ip(text: &str) -> Ipv4Addr {
    text.parse().unwrap()
}

/// An http pool: interval 200ms, timeout 100ms, fall and rise as given, `extra` more
/// `[pool.check]` keys, and `endpoints` (address, priority).
fn pool(
    name: &str,
    port: u16,
    fall_rise: (u32, u32),
    extra: &str,
    endpoints: &[(&str, u32)],
) -> String {
    let (fall, rise) = fall_rise;
    let mut text = format!(
        "[[pool]]\nname = \"{name}\"\nwhen_all_down = \"nodata\"\n[pool.check]\nkind = \"http\"\n\
         port = {port}\npath = \"/health\"\ninterval = \"200ms\"\ntimeout = \"100ms\"\n\
         fall = {fall}\nrise = {rise}\n{extra}\n"
    );
    for (address, priority) in endpoints {
        text.push_str(&format!(
            "[[pool.endpoint]]\naddress = \"{address}\"\npriority = {priority}\n"
        ));
    }
    text
}

/// Detection and failback times, sorted.
struct Timings {
    detection: Vec<Duration>,
    failback: Vec<Duration>,
}

fn median(sorted: &[Duration]) -> Duration {
    (sorted[sorted.len() / 2 - 1] + sorted[sorted.len() / 2]) / 2
}

impl Timings {
    fn report(&self, label: &str) -> String {
        let show = |v: &[Duration]| {
            format!(
                "median {:.3}s (min {:.3}s, max {:.3}s)",
                median(v).as_secs_f64(),
                v[0].as_secs_f64(),
                v[v.len() - 1].as_secs_f64()
            )
        };
        format!(
            "{label}: detection {}, failback {} over {} rounds",
            show(&self.detection),
            show(&self.failback),
            self.detection.len()
        )
    }
}

/// Ten rounds of stopping the primary (timing until the answers move to the secondary)
/// and starting it again (timing until they come back), with the check keys `extra`.
fn failover_rounds(primary_host: &str, secondary_host: &str, extra: &str) -> Timings {
    let (port, mut backends) = Backend::start_on(&[primary_host, secondary_host]);
    let _secondary = backends.pop().unwrap();
    let mut primary = backends.pop().unwrap();
    let server = serve(&pool(
        "www.example.test.",
        port,
        (3, 2),
        extra,
        &[(primary_host, 1), (secondary_host, 2)],
    ));
    let (primary_ip, secondary_ip) = (ip(primary_host), ip(secondary_host));
    server.time_until("www.example.test", &[primary_ip]);
    let mut timings = Timings {
        detection: Vec::new(),
        failback: Vec::new(),
    };
    for round in 0..ROUNDS {
        // Start each round at a different point of the check schedule.
        std::thread::sleep(Duration::from_millis(150 + (round as u64 * 73) % 200));
        primary.stop();
        timings
            .detection
            .push(server.time_until("www.example.test", &[secondary_ip]));
        std::thread::sleep(Duration::from_millis(100 + (round as u64 * 41) % 200));
        primary.restart();
        timings
            .failback
            .push(server.time_until("www.example.test", &[primary_ip]));
    }
    timings.detection.sort();
    timings.failback.sort();
    timings
}

#[test]
fn fast_interval_confirms_failures_and_recoveries_quickly() {
    let timings = failover_rounds("127.0.30.1", "127.0.30.2", "");
    let report = timings.report("fast_interval default (50ms)");
    eprintln!("{report} (interval 200ms, fall 3, rise 2)");
    assert!(median(&timings.detection) <= 400 * MS, "{report}");
    assert!(median(&timings.failback) <= 250 * MS, "{report}");
}

/// The negative control: with `fast_interval = interval`, three failures take three
/// intervals, so the median detection is above 0.4s and the test above would fail.
#[test]
fn without_fast_confirmation_detection_is_slower() {
    let timings = failover_rounds("127.0.30.3", "127.0.30.4", "fast_interval = \"200ms\"");
    let report = timings.report("fast_interval = interval (200ms)");
    eprintln!("{report} (interval 200ms, fall 3, rise 2)");
    assert!(median(&timings.detection) > 400 * MS, "{report}");
}

/// Steady state (an endpoint always up, one always down) makes one check per interval, as
/// before fast confirmation; an endpoint that alternates good and bad on every check is
/// checked faster after each failure but never flips the answers, while the same endpoint
/// under fall 1 and rise 1 does (which shows the answers are watched closely enough to see
/// a flip).
#[test]
fn steady_state_costs_no_extra_checks_and_flapping_never_flips() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let flapping = || {
        Behaviour::Alternate(
            Box::new(Behaviour::respond(200, "ok")),
            Box::new(Behaviour::respond(503, "")),
        )
    };
    let (up, down, flap, flap_fall_1) = runtime.block_on(async {
        (
            scripted::Backend::http("127.0.31.1", Behaviour::respond(200, "ok")).await,
            scripted::Backend::http("127.0.31.2", Behaviour::respond(503, "")).await,
            scripted::Backend::http("127.0.31.3", flapping()).await,
            scripted::Backend::http("127.0.31.4", flapping()).await,
        )
    });
    let pools = [
        pool(
            "up.example.test.",
            up.port(),
            (3, 2),
            "",
            &[("127.0.31.1", 1)],
        ),
        pool(
            "down.example.test.",
            down.port(),
            (3, 2),
            "",
            &[("127.0.31.2", 1)],
        ),
        pool(
            "flap.example.test.",
            flap.port(),
            (3, 2),
            "",
            &[("127.0.31.3", 1)],
        ),
        pool(
            "flap1.example.test.",
            flap_fall_1.port(),
            (1, 1),
            "",
            &[("127.0.31.4", 1)],
        ),
    ];
    let server = serve(&pools.concat());
    std::thread::sleep(300 * MS);

    let window = Duration::from_secs(3);
    let before = [&up, &down, &flap, &flap_fall_1].map(|b| b.accepted());
    let started = Instant::now();
    let mut flap_answers = std::collections::BTreeSet::new();
    let mut flap_fall_1_answers = std::collections::BTreeSet::new();
    while started.elapsed() < window {
        flap_answers.insert(server.addresses("flap.example.test"));
        flap_fall_1_answers.insert(server.addresses("flap1.example.test"));
        std::thread::sleep(5 * MS);
    }
    let elapsed = started.elapsed();
    let after = [&up, &down, &flap, &flap_fall_1].map(|b| b.accepted());
    let checks: Vec<usize> = after.iter().zip(before).map(|(a, b)| a - b).collect();
    // One check per jittered interval (190..210ms): 3s / 200ms = 15, one more at the edges.
    let per_interval = elapsed.as_secs_f64() / 0.2;
    eprintln!("checks in {elapsed:?}: up {}, down {}, flapping {}, flapping with fall 1 {} (interval 200ms: {per_interval:.1})",
        checks[0], checks[1], checks[2], checks[3]);
    let steady = (per_interval - 2.0) as usize..=(per_interval * 1.06 + 1.0) as usize;
    assert!(
        steady.contains(&checks[0]),
        "up: {checks:?}, expected {steady:?}"
    );
    assert!(
        steady.contains(&checks[1]),
        "down: {checks:?}, expected {steady:?}"
    );
    // Flapping: 200ms after each success, 50ms after each failure, 125ms on average.
    assert!(
        checks[2] as f64 >= per_interval * 1.35,
        "a flapping endpoint is checked fast after each failure: {checks:?}"
    );
    assert_eq!(
        flap_answers.into_iter().collect::<Vec<_>>(),
        [vec![ip("127.0.31.3")]],
        "a flapping endpoint flipped the answers under fall 3, rise 2"
    );
    assert!(
        flap_fall_1_answers.len() > 1,
        "under fall 1 the same flapping endpoint should flip the answers: {flap_fall_1_answers:?}"
    );
    drop(server);
}
