//! A fleet in network namespaces made and removed by the test: a backend namespace, three
//! checker namespaces each running `swivel probe`, and a responder namespace running two
//! `swivel serve` responders that the test reaches over one veth pair from the root
//! namespace. Every address is in the benchmarking range (198.18.0.0/15) on interfaces of
//! these namespaces (veth pairs, and the backend's address on its own namespace's
//! loopback), so no traffic leaves the machine. Everything is removed when dropped, even
//! when a test panics; namespaces left behind by a killed test run are removed first.
//!
//! ```text
//!   c1 ──toback── b (198.18.0.100 on lo)     c_i: 198.18.i.2   ↔ b: 198.18.i.1
//!   c2 ──toback──/                            c_i: 198.18.1i.2  ↔ r: 198.18.1i.1
//!   c3 ──toback─/                             root: 198.19.P.4t+1 ↔ r: 198.19.P.4t+2
//!   c1..c3 ──toresp── r (two responders) ──toroot── root (the test)
//! ```

use super::fleet::{pool_text, write_agent, write_responder, Process, Responder, CHECKERS};
use super::Site;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// Names of this suite's namespaces start with this, then the test process's id.
const PREFIX: &str = "swml-";
/// The served (and checked) address, on the backend namespace's loopback.
pub const BACKEND: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 100);
const BACKEND_PORT: u16 = 8080;
const DNS_PORTS: [u16; 2] = [5301, 5302];
const CONTROL_PORTS: [u16; 2] = [8053, 8054];

/// The `ip` program: on the PATH, or where Debian puts it (root's PATH may lack sbin).
fn ip_program() -> &'static str {
    ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"]
        .into_iter()
        .find(|path| std::path::Path::new(path).exists())
        .unwrap_or("ip")
}

/// Runs `ip args`; the error names the command and what it printed.
fn ip(args: &[&str]) -> Result<(), String> {
    let output = Command::new(ip_program())
        .args(args)
        .output()
        .map_err(|e| format!("cannot run ip (package iproute2): {e}"))?;
    if output.status.success() {
        return Ok(());
    }
    Err(format!(
        "`ip {}` failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr).trim()
    ))
}

/// The namespaces and the root end of the link to them; removed when dropped.
struct Network {
    names: Vec<String>,
    root_link: String,
}

impl Network {
    fn new(tag: u8) -> Result<Network, String> {
        remove_leftovers();
        let pid = std::process::id();
        let mut network = Network {
            names: Vec::new(),
            root_link: format!("swml{}{tag}", pid % 100_000),
        };
        for role in ["b", "r", "c1", "c2", "c3"] {
            let name = format!("{PREFIX}{pid}-{tag}-{role}");
            ip(&["netns", "add", &name])?;
            network.names.push(name.clone());
            ip(&["-n", &name, "link", "set", "lo", "up"])?;
        }
        network.wire(tag)?;
        Ok(network)
    }

    fn ns(&self, role: &str) -> &str {
        let index = ["b", "r", "c1", "c2", "c3"]
            .iter()
            .position(|r| *r == role)
            .unwrap();
        &self.names[index]
    }

    /// The root namespace's address on the link to the responders, and the responders'.
    fn root_addresses(tag: u8) -> (Ipv4Addr, Ipv4Addr) {
        let third = (std::process::id() % 256) as u8;
        let base = 4 * tag;
        (
            Ipv4Addr::new(198, 19, third, base + 1),
            Ipv4Addr::new(198, 19, third, base + 2),
        )
    }

    fn wire(&self, tag: u8) -> Result<(), String> {
        let (b, r) = (self.ns("b").to_string(), self.ns("r").to_string());
        ip(&[
            "-n",
            &b,
            "addr",
            "add",
            &format!("{BACKEND}/32"),
            "dev",
            "lo",
        ])?;
        for i in 1..=3u8 {
            let c = self.ns(&format!("c{i}")).to_string();
            let peer = format!("c{i}");
            for (here, there, there_ns, subnet) in
                [("toback", &peer, &b, i), ("toresp", &peer, &r, 10 + i)]
            {
                ip(&[
                    "link", "add", here, "netns", &c, "type", "veth", "peer", "name", there,
                    "netns", there_ns,
                ])?;
                ip(&[
                    "-n",
                    &c,
                    "addr",
                    "add",
                    &format!("198.18.{subnet}.2/24"),
                    "dev",
                    here,
                ])?;
                ip(&[
                    "-n",
                    there_ns,
                    "addr",
                    "add",
                    &format!("198.18.{subnet}.1/24"),
                    "dev",
                    there,
                ])?;
                ip(&["-n", &c, "link", "set", here, "up"])?;
                ip(&["-n", there_ns, "link", "set", there, "up"])?;
            }
            ip(&[
                "-n",
                &c,
                "route",
                "add",
                &format!("{BACKEND}/32"),
                "via",
                &format!("198.18.{i}.1"),
            ])?;
        }
        let (root, responders) = Network::root_addresses(tag);
        ip(&[
            "link",
            "add",
            &self.root_link,
            "type",
            "veth",
            "peer",
            "name",
            "toroot",
            "netns",
            &r,
        ])?;
        ip(&["addr", "add", &format!("{root}/30"), "dev", &self.root_link])?;
        ip(&[
            "-n",
            &r,
            "addr",
            "add",
            &format!("{responders}/30"),
            "dev",
            "toroot",
        ])?;
        ip(&["link", "set", &self.root_link, "up"])?;
        ip(&["-n", &r, "link", "set", "toroot", "up"])
    }

    fn exec(&self, role: &str) -> Vec<String> {
        ["ip", "netns", "exec", self.ns(role)]
            .map(String::from)
            .to_vec()
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        let _ = ip(&["link", "del", &self.root_link]);
        for name in &self.names {
            let _ = ip(&["netns", "del", name]);
        }
    }
}

/// Removes namespaces of this suite whose test process no longer runs.
fn remove_leftovers() {
    let Ok(output) = Command::new(ip_program()).args(["netns", "list"]).output() else {
        return;
    };
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let name = line.split_whitespace().next().unwrap_or("");
        let Some(rest) = name.strip_prefix(PREFIX) else {
            continue;
        };
        let pid = rest.split('-').next().unwrap_or("");
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            let _ = ip(&["netns", "del", name]);
        }
    }
}

/// The fleet in namespaces. Processes are fields before the network, so they are killed
/// before the namespaces go.
pub struct NetnsSite {
    agents: Vec<Option<Process>>,
    responders: Vec<Responder>,
    backend: Option<Process>,
    agent_configs: Vec<PathBuf>,
    dir: tempfile::TempDir,
    network: Network,
}

impl NetnsSite {
    /// Builds the namespaces (`tag` keeps concurrent tests apart) and starts everything;
    /// an error when namespaces cannot be made here.
    pub fn start(tag: u8) -> Result<NetnsSite, String> {
        let network = Network::new(tag)?;
        let dir = tempfile::tempdir().unwrap();
        let pool = pool_text(IpAddr::V4(BACKEND), BACKEND_PORT, None);
        let (_, responder_address) = Network::root_addresses(tag);
        let mut site = NetnsSite {
            agents: Vec::new(),
            responders: Vec::new(),
            backend: None,
            agent_configs: Vec::new(),
            dir,
            network,
        };
        site.backend_up();
        for (index, (&dns_port, &control_port)) in DNS_PORTS.iter().zip(&CONTROL_PORTS).enumerate()
        {
            let folder = site.dir.path().join(format!("responder{}", index + 1));
            std::fs::create_dir(&folder).unwrap();
            let dns = SocketAddr::new(responder_address.into(), dns_port);
            let listen: SocketAddr = ([0, 0, 0, 0], control_port).into();
            let config = write_responder(&folder, dns, listen, &pool);
            let exec = site.network.exec("r");
            let prefix: Vec<&str> = exec.iter().map(String::as_str).collect();
            let process = Process::swivel_in(
                &prefix,
                &["serve", "--config", config.to_str().unwrap()],
                &folder.join("swivel.log"),
            );
            process.wait_for_log("ready;", Duration::from_secs(15));
            let control = SocketAddr::new(responder_address.into(), control_port);
            site.responders.push(Responder {
                process,
                dns,
                control,
            });
        }
        for index in 0..CHECKERS.len() {
            let subnet = 11 + index;
            let report_to: Vec<String> = CONTROL_PORTS
                .iter()
                .map(|port| format!("http://198.18.{subnet}.1:{port}"))
                .collect();
            let config = write_agent(site.dir.path(), index, &report_to, &pool);
            site.agent_configs.push(config);
            site.agents.push(None);
            site.start_agent(index);
        }
        Ok(site)
    }
}

impl Site for NetnsSite {
    fn responders(&self) -> [&Responder; 2] {
        [&self.responders[0], &self.responders[1]]
    }

    fn endpoint(&self) -> Ipv4Addr {
        BACKEND
    }

    /// Takes checker `agent`'s link to the backend down: its checks fail with "network
    /// unreachable" while its reports still reach the responders.
    fn cut(&mut self, agent: usize) {
        let ns = self.network.ns(&format!("c{}", agent + 1)).to_string();
        ip(&["-n", &ns, "link", "set", "toback", "down"]).unwrap();
    }

    fn backend_down(&mut self) {
        if let Some(mut backend) = self.backend.take() {
            backend.kill();
        }
    }

    fn backend_up(&mut self) {
        let exec = self.network.exec("b");
        let variable = format!("SWIVEL_ML_BACKEND={BACKEND}:{BACKEND_PORT}");
        let mut prefix: Vec<&str> = exec.iter().map(String::as_str).collect();
        prefix.extend(["env", variable.as_str()]);
        let program = std::env::current_exe().unwrap();
        let process = Process::spawn(
            &prefix,
            &program,
            &[
                "multi_location::backend_process",
                "--exact",
                "--ignored",
                "--nocapture",
            ],
            &self.dir.path().join("backend.log"),
        );
        process.wait_for_log("backend serving", Duration::from_secs(10));
        self.backend = Some(process);
    }

    fn stop_agent(&mut self, agent: usize) {
        self.agents[agent] = None;
    }

    fn start_agent(&mut self, agent: usize) {
        let exec = self.network.exec(&format!("c{}", agent + 1));
        let prefix: Vec<&str> = exec.iter().map(String::as_str).collect();
        let config = self.agent_configs[agent].to_str().unwrap().to_string();
        let log = self.dir.path().join(format!("agent-c{}.log", agent + 1));
        let process = Process::swivel_in(&prefix, &["probe", "--config", &config], &log);
        process.wait_for_log("probe agent ready", Duration::from_secs(10));
        self.agents[agent] = Some(process);
    }

    fn agent_log(&self, agent: usize) -> String {
        self.agents[agent]
            .as_ref()
            .map_or(String::new(), Process::log)
    }
}
