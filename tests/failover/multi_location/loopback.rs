//! The fleet on loopback, for machines where network namespaces cannot be made: a real
//! HTTP backend on 127.0.1x.2, two responders and three `swivel probe` agents on 127.0.0.1.
//! A path cannot really be cut here: "cutting" checker c_i re-reads its configuration
//! (SIGHUP) with a `check_address` of 127.0.1x.3, where nothing listens, so that one checker
//! alone sees the endpoint fail while the others do not.

use super::fleet::{pool_text, write_agent, write_responder, Process, Responder, CHECKERS};
use super::Site;
use crate::support::backend::{port_free_on, Backend};
use crate::support::process::{CONTROL_LISTEN, DNS_LISTEN, STARTUP};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

pub struct LoopbackSite {
    /// The served and checked address, 127.0.1<tag>.2.
    endpoint: Ipv4Addr,
    /// Where nothing listens: 127.0.1<tag>.3.
    refusing: Ipv4Addr,
    agents: Vec<Option<Process>>,
    responders: Vec<Responder>,
    backend: Backend,
    report_to: Vec<String>,
    port: u16,
    agent_configs: Vec<PathBuf>,
    dir: tempfile::TempDir,
}

impl LoopbackSite {
    /// Starts the fleet; `tag` gives each test its own backend addresses.
    pub fn start(tag: u8) -> LoopbackSite {
        let endpoint = Ipv4Addr::new(127, 0, 10 + tag, 2);
        let refusing = Ipv4Addr::new(127, 0, 10 + tag, 3);
        let port = port_free_on(&[&endpoint.to_string(), &refusing.to_string()]);
        let backend = Backend::start(SocketAddr::new(endpoint.into(), port));
        let dir = tempfile::tempdir().unwrap();
        let pool = pool_text(IpAddr::V4(endpoint), port, None);
        let mut responders = Vec::new();
        for index in 1..=2 {
            let folder = dir.path().join(format!("responder{index}"));
            std::fs::create_dir(&folder).unwrap();
            let dns = DNS_LISTEN;
            let control = CONTROL_LISTEN;
            let config = write_responder(&folder, dns, control, &pool);
            let process = Process::swivel_in(
                &[],
                &["serve", "--config", config.to_str().unwrap()],
                &folder.join("swivel.log"),
            );
            let listening = process.wait_listening(STARTUP);
            let (dns, control) = (listening.dns(), listening.control);
            responders.push(Responder {
                process,
                dns,
                control,
            });
        }
        let report_to: Vec<String> = responders
            .iter()
            .map(|r| format!("http://{}", r.control))
            .collect();
        let mut site = LoopbackSite {
            endpoint,
            refusing,
            agents: Vec::new(),
            responders,
            backend,
            port,
            agent_configs: Vec::new(),
            report_to,
            dir,
        };
        for index in 0..CHECKERS.len() {
            let config = write_agent(site.dir.path(), index, &site.report_to, &pool);
            site.agent_configs.push(config);
            site.agents.push(None);
            site.start_agent(index);
        }
        site
    }
}

impl Site for LoopbackSite {
    fn responders(&self) -> [&Responder; 2] {
        [&self.responders[0], &self.responders[1]]
    }

    fn endpoint(&self) -> Ipv4Addr {
        self.endpoint
    }

    fn cut(&mut self, agent: usize) {
        let pool = pool_text(
            IpAddr::V4(self.endpoint),
            self.port,
            Some(IpAddr::V4(self.refusing)),
        );
        write_agent(self.dir.path(), agent, &self.report_to, &pool);
        let process = self.agents[agent].as_ref().expect("the agent runs");
        process.signal("HUP");
        process.wait_for_log("reloaded: health checks updated", Duration::from_secs(5));
    }

    fn backend_down(&mut self) {
        self.backend.stop();
    }

    fn backend_up(&mut self) {
        self.backend.restart();
    }

    fn stop_agent(&mut self, agent: usize) {
        self.agents[agent] = None;
    }

    fn start_agent(&mut self, agent: usize) {
        let config = self.agent_configs[agent].to_str().unwrap().to_string();
        let log = self.dir.path().join(format!("agent-c{}.log", agent + 1));
        let process = Process::swivel_in(&[], &["probe", "--config", &config], &log);
        process.wait_for_log("probe agent ready", Duration::from_secs(10));
        self.agents[agent] = Some(process);
    }

    fn agent_log(&self, agent: usize) -> String {
        self.agents[agent]
            .as_ref()
            .map_or(String::new(), Process::log)
    }
}
