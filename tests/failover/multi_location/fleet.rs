//! What both fleet variants share: configuration text for responders and agents, processes
//! killed when dropped, and a responder's DNS answers, status and metrics as the test reads
//! them.

use crate::support::dns::{build_query, parse_reply, TYPE_A};
use crate::support::http::request;
pub use crate::support::process::Process;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The pool every fleet serves.
pub const POOL: &str = "www.example.test.";
/// Every checker's check interval; two responders must agree within it.
pub const INTERVAL: Duration = Duration::from_millis(300);
/// The checkers, each an agent with its own token.
pub const CHECKERS: [(&str, &str); 3] = [
    ("c1", "token-c1-0123456789"),
    ("c2", "token-c2-0123456789"),
    ("c3", "token-c3-0123456789"),
];
/// The responders' control token (they listen beyond loopback in namespaces).
pub const CONTROL_TOKEN: &str = "control-token-0123";

use crate::support::zone::APEX as ZONE;

/// The pool: one endpoint checked over HTTP every 300 ms, down after two failures, up
/// after two passes, quorum 2, no address at all when it is down.
pub fn pool_text(endpoint: IpAddr, port: u16, check_address: Option<IpAddr>) -> String {
    let check_address =
        check_address.map_or(String::new(), |a| format!("check_address = \"{a}\"\n"));
    format!(
        "[[pool]]\nname = \"{POOL}\"\nwhen_all_down = \"nodata\"\n\
         [pool.check]\nkind = \"http\"\nport = {port}\npath = \"/\"\ninterval = \"300ms\"\n\
         timeout = \"200ms\"\nfall = 2\nrise = 2\nquorum = 2\n\
         [[pool.endpoint]]\naddress = \"{endpoint}\"\n{check_address}"
    )
}

/// A responder without local checks, listening to the three agents.
/// `dns` and `control` are the listen addresses (port 0 for one the kernel chooses).
pub fn write_responder(
    dir: &Path,
    dns: impl std::fmt::Display,
    control: impl std::fmt::Display,
    pool: &str,
) -> PathBuf {
    std::fs::write(dir.join("example.test.zone"), ZONE).unwrap();
    let mut text = format!(
        "[server]\nlisten = [\"{dns}\"]\nworkers = 1\n\
         [control]\nlisten = \"{control}\"\ntoken = \"{CONTROL_TOKEN}\"\n\
         [checks]\nlocal = false\n\
         [[zone]]\norigin = \"example.test.\"\nfile = \"example.test.zone\"\n"
    );
    for (name, token) in CHECKERS {
        text.push_str(&format!(
            "[[checker]]\nname = \"{name}\"\ntoken = \"{token}\"\n"
        ));
    }
    text.push_str(pool);
    let path = dir.join("responder.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Agent `index`'s configuration, reporting to every URL of `report_to`.
pub fn write_agent(dir: &Path, index: usize, report_to: &[String], pool: &str) -> PathBuf {
    let (name, token) = CHECKERS[index];
    let urls: Vec<String> = report_to.iter().map(|u| format!("\"{u}\"")).collect();
    let text = format!(
        "[probe]\nname = \"{name}\"\nreport_to = [{}]\ntoken = \"{token}\"\nallow_plain_http = true\n{pool}",
        urls.join(", ")
    );
    let path = dir.join(format!("agent-{name}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

/// A `swivel serve` responder as the test reaches it.
pub struct Responder {
    pub process: Process,
    pub dns: SocketAddr,
    pub control: SocketAddr,
}

impl Responder {
    /// The pool's A addresses; `None` when no reply came. The socket is bound to the
    /// wildcard address so that responders in a namespace are reached from the root one.
    pub fn answers(&self) -> Option<Vec<Ipv4Addr>> {
        let socket = UdpSocket::bind("0.0.0.0:0").ok()?;
        socket
            .set_read_timeout(Some(Duration::from_millis(500)))
            .ok()?;
        let id = (std::process::id() as u16) ^ 0x5a5a;
        socket
            .send_to(&build_query(id, POOL, TYPE_A), self.dns)
            .ok()?;
        let mut buffer = [0u8; 4096];
        let (len, _) = crate::support::dns::recv_from(&socket, &mut buffer).ok()?;
        let reply = parse_reply(&buffer[..len]).filter(|reply| reply.id == id)?;
        Some(reply.a_addresses())
    }

    pub fn status(&self) -> serde_json::Value {
        let reply = request(self.control, "GET", "/v1/status", &[], "");
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.json()
    }

    /// The pool's only endpoint in the status.
    pub fn endpoint(&self) -> serde_json::Value {
        self.status()["pools"][0]["endpoints"][0].clone()
    }

    /// One checker's view of the endpoint.
    pub fn view(&self, checker: &str) -> serde_json::Value {
        let endpoint = self.endpoint();
        let views = endpoint["checkers"].as_array().expect("checker views");
        let view = views.iter().find(|v| v["checker"] == checker);
        view.unwrap_or_else(|| panic!("no view of {checker} in {endpoint}"))
            .clone()
    }

    pub fn metrics(&self) -> String {
        request(self.control, "GET", "/metrics", &[], "").body
    }
}

/// Waits until every responder answers `want`, and returns when each first did (in the
/// order of `responders`), polling them in turn. Panics with the logs after `timeout`.
pub fn changes_to(
    responders: &[&Responder],
    want: &[Ipv4Addr],
    timeout: Duration,
) -> Vec<Duration> {
    let started = std::time::Instant::now();
    let mut seen: Vec<Option<Duration>> = vec![None; responders.len()];
    while started.elapsed() < timeout {
        for (index, responder) in responders.iter().enumerate() {
            if seen[index].is_none() && responder.answers().as_deref() == Some(want) {
                seen[index] = Some(started.elapsed());
            }
        }
        if seen.iter().all(Option::is_some) {
            return seen.into_iter().flatten().collect();
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let logs: Vec<String> = responders.iter().map(|r| r.process.log()).collect();
    panic!(
        "not every responder answered {want:?} within {timeout:?} (seen {seen:?});\n{}",
        logs.join("\n-----\n")
    );
}

/// Asserts that every responder answers `want` on every query for `period`.
pub fn answers_stay(responders: &[&Responder], want: &[Ipv4Addr], period: Duration) {
    let started = std::time::Instant::now();
    let mut queries = 0;
    while started.elapsed() < period {
        for responder in responders {
            let answer = responder.answers();
            assert_eq!(
                answer.as_deref(),
                Some(want),
                "after {:?} ({queries} queries); log:\n{}",
                started.elapsed(),
                responder.process.log()
            );
            queries += 1;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
