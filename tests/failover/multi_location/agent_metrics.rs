//! A probe agent's own metrics (`[probe] metrics_listen`) with real processes: a `swivel
//! probe` agent reporting to a real `swivel serve` responder, scraped over HTTP. Checks and
//! accepted results count up; with the responder gone the backlog grows, failures count,
//! the last success stands still and results past `stale_after` are counted as dropped.
//! Without `metrics_listen` the agent listens on nothing (the negative control), and a
//! taken address stops it at start.

use super::fleet::Process;
use crate::support::backend::Backend;
use crate::support::http::request;
use crate::support::process::{CONTROL_LISTEN, DNS_LISTEN, STARTUP};
use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

const TOKEN: &str = "agent-metrics-token-c1";

/// The pool both read: one endpoint checked every 200ms; results older than 2s are not
/// worth sending.
fn pool(port: u16) -> String {
    format!(
        "[[pool]]\nname = \"www.example.test.\"\n[pool.check]\nkind = \"http\"\nport = {port}\n\
         interval = \"200ms\"\ntimeout = \"100ms\"\nstale_after = \"2s\"\n\
         [[pool.endpoint]]\naddress = \"127.0.32.1\"\n"
    )
}

fn start_responder(dir: &Path, port: u16) -> (Process, SocketAddr) {
    std::fs::write(dir.join("example.test.zone"), crate::support::zone::APEX).unwrap();
    let text = format!(
        "[server]\nlisten = [\"{DNS_LISTEN}\"]\nworkers = 1\n[control]\nlisten = \"{CONTROL_LISTEN}\"\n\
         [checks]\nlocal = false\n[[checker]]\nname = \"c1\"\ntoken = \"{TOKEN}\"\n\
         [[zone]]\norigin = \"example.test.\"\nfile = \"example.test.zone\"\n{}",
        pool(port)
    );
    let path = dir.join("responder.toml");
    std::fs::write(&path, text).unwrap();
    let process = Process::swivel_in(
        &[],
        &["serve", "--config", path.to_str().unwrap()],
        &dir.join("responder.log"),
    );
    let control = process.wait_listening(STARTUP).control;
    (process, control)
}

/// Starts an agent reporting to `control`, with `extra` more `[probe]` keys.
fn start_agent(dir: &Path, control: SocketAddr, port: u16, extra: &str) -> Process {
    let text = format!(
        "[probe]\nname = \"c1\"\nreport_to = [\"http://{control}\"]\ntoken = \"{TOKEN}\"\n{extra}\n{}",
        pool(port)
    );
    let path = dir.join("agent.toml");
    std::fs::write(&path, text).unwrap();
    Process::swivel_in(
        &[],
        &["probe", "--config", path.to_str().unwrap()],
        &dir.join("agent.log"),
    )
}

/// The address of the agent's `metrics listening address=…` log line.
fn metrics_address(agent: &Process) -> SocketAddr {
    agent.wait_for_log("metrics listening", Duration::from_secs(10));
    let log = agent.log();
    let line = log
        .lines()
        .find(|line| line.contains("metrics listening"))
        .unwrap();
    let rest = line.split(" address=").nth(1).expect("an address field");
    rest.split_whitespace().next().unwrap().parse().unwrap()
}

fn scrape(address: SocketAddr) -> String {
    let reply = request(address, "GET", "/metrics", &[], "");
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body
}

fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {series} in\n{text}"))
}

/// TCP addresses `pid` listens on: its socket inodes matched against the LISTEN entries
/// of /proc/net/tcp and tcp6.
fn listening(pid: u32) -> Vec<String> {
    let mut inodes = HashSet::new();
    for entry in std::fs::read_dir(format!("/proc/{pid}/fd")).unwrap() {
        let target = std::fs::read_link(entry.unwrap().path()).unwrap_or_default();
        let target = target.to_string_lossy();
        if let Some(inode) = target
            .strip_prefix("socket:[")
            .and_then(|t| t.strip_suffix(']'))
        {
            inodes.insert(inode.to_string());
        }
    }
    let mut found = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let text = std::fs::read_to_string(table).unwrap_or_default();
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() > 9 && fields[3] == "0A" && inodes.contains(fields[9]) {
                found.push(fields[1].to_string());
            }
        }
    }
    found
}

#[test]
fn an_agent_serves_its_own_metrics_and_shows_a_lost_responder() {
    let backend = Backend::start("127.0.32.1:0".parse().unwrap());
    let port = backend.addr().port();
    let dir = tempfile::tempdir().unwrap();
    let (mut responder, control) = start_responder(dir.path(), port);
    let agent = start_agent(
        dir.path(),
        control,
        port,
        "metrics_listen = \"127.0.0.1:0\"",
    );
    let metrics = metrics_address(&agent);
    assert_eq!(listening(agent.pid()).len(), 1, "only the metrics listener");
    let healthz = request(metrics, "GET", "/healthz", &[], "");
    assert_eq!((healthz.status, healthz.body.as_str()), (200, "ok\n"));

    let responder_label = format!("{{responder=\"http://{control}\"}}");
    let sent = |text: &str| {
        value(
            text,
            &format!("swivel_probe_results_sent_total{responder_label}"),
        )
    };
    let checks_ok = "swivel_probe_checks_total{checker=\"c1\",result=\"ok\"}";
    let delivered =
        crate::support::wait_until(Duration::from_secs(5), || sent(&scrape(metrics)) >= 3.0);
    assert!(delivered, "{}", scrape(metrics));
    let first = scrape(metrics);
    std::thread::sleep(Duration::from_millis(1000));
    let second = scrape(metrics);
    assert_eq!(value(&first, "swivel_probe_endpoints{checker=\"c1\"}"), 1.0);
    let more_checks = value(&second, checks_ok) - value(&first, checks_ok);
    assert!(
        (3.0..=7.0).contains(&more_checks),
        "about five checks a second: {more_checks}"
    );
    assert!(sent(&second) > sent(&first), "{second}");
    assert_eq!(
        value(
            &second,
            &format!("swivel_probe_responder_up{responder_label}")
        ),
        1.0
    );
    let backlog = format!("swivel_probe_backlog{responder_label}");
    assert!(value(&second, &backlog) <= 3.0, "{second}");
    let last_success = format!("swivel_probe_last_success_timestamp_seconds{responder_label}");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!(
        (now - value(&second, &last_success)).abs() < 2.0,
        "{second}"
    );
    responder.kill();
    std::thread::sleep(Duration::from_millis(1200));
    let cut = scrape(metrics);
    assert!(
        value(&cut, &backlog) >= 3.0,
        "results wait for the responder: {cut}"
    );
    assert!(
        value(
            &cut,
            &format!("swivel_probe_report_failures_total{responder_label}")
        ) >= 1.0,
        "{cut}"
    );
    assert_eq!(
        value(&cut, &format!("swivel_probe_responder_up{responder_label}")),
        0.0
    );
    let stalled = value(&cut, &last_success);
    assert!(stalled <= value(&second, &last_success) + 0.5, "{cut}");
    let expired = format!(
        "swivel_probe_results_dropped_total{{responder=\"http://{control}\",reason=\"expired\"}}"
    );
    let dropped = crate::support::wait_until(Duration::from_secs(8), || {
        value(&scrape(metrics), &expired) > 0.0
    });
    let later = scrape(metrics);
    assert!(
        dropped,
        "results older than stale_after are dropped: {later}"
    );
    assert_eq!(value(&later, &last_success), stalled, "{later}");
    assert!(
        value(&later, checks_ok) > value(&cut, checks_ok),
        "checks go on"
    );
}

/// The negative control: without `metrics_listen` the agent listens on no TCP port at
/// all; with a taken address it refuses to start and says why.
#[test]
fn without_metrics_listen_an_agent_listens_on_nothing() {
    let backend = Backend::start("127.0.32.2:0".parse().unwrap());
    let port = backend.addr().port();
    let dir = tempfile::tempdir().unwrap();
    let (_responder, control) = start_responder(dir.path(), port);
    let agent = start_agent(dir.path(), control, port, "");
    agent.wait_for_log("probe agent ready", Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(listening(agent.pid()), Vec::<String>::new());
    assert!(!agent.log().contains("metrics listening"));
    drop(agent);

    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap();
    let mut refused = start_agent(
        dir.path(),
        control,
        port,
        &format!("metrics_listen = \"{address}\""),
    );
    let status = refused.wait_exit(Duration::from_secs(10));
    assert!(
        status.is_some_and(|s| !s.success()),
        "the agent should refuse to start: {}",
        refused.log()
    );
    assert!(
        refused.log().contains(&format!(
            "refusing to start: probe.metrics_listen {address}"
        )),
        "{}",
        refused.log()
    );
}
