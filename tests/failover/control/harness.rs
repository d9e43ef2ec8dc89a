//! A `swivel serve` process with a zone, two health-checked pools and a control API, on
//! ports the kernel chooses (read from its log), in front of tiny TCP backends on 127.0.0.2
//! and 127.0.0.3 (127.0.0.4 has none, so its checks are refused and it is down).
//!
//! Pool `www.example.test.` (failback auto) has 127.0.0.2, .3 and .4 in one tier, so it
//! serves .2 and .3. Pool `api.example.test.` (failback manual) has .4 on tier 1 and .2 on
//! tier 2, so it starts on tier 2, held there.

use crate::support::backend::Backend;
use crate::support::dns::{query_udp, TYPE_A};
use crate::support::http::{request, HttpReply};
pub use crate::support::process::{run_swivel, stderr, stdout, STARTUP};
use crate::support::process::{Config, Process};
pub use crate::support::zone::APEX as ZONE;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Output;

/// Thirty 100-byte TXT records: more than fits a 512-byte UDP reply.
pub fn big_txt() -> String {
    (0..30)
        .map(|i| format!("big  TXT \"{i:02}{}\"\n", "x".repeat(98)))
        .collect()
}

/// The zone every test starts with (the big TXT set last, so line numbers above stay).
pub fn zone_text() -> String {
    format!("{ZONE}{}", big_txt())
}

/// Backends that accept every connection on one port of 127.0.0.2 and 127.0.0.3, so TCP
/// checks there pass, and that port held on 127.0.0.4 without listening, so checks there
/// are refused; all for as long as the returned value lives.
pub struct Backends {
    pub port: u16,
    _listening: Vec<Backend>,
    _refusing: Vec<socket2::Socket>,
}

pub fn start_backends() -> Backends {
    loop {
        let (port, listening) = Backend::start_on(&["127.0.0.2", "127.0.0.3"]);
        let refusing = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)
            .expect("a TCP socket");
        let addr: SocketAddr = ([127, 0, 0, 4], port).into();
        if refusing.bind(&addr.into()).is_ok() {
            return Backends {
                port,
                _listening: listening,
                _refusing: vec![refusing],
            };
        }
    }
}

/// The two pools, checking TCP `port` twice a second. A first check decides at once; after
/// that three failures in a row are needed, so one slow check on a busy machine changes
/// nothing.
pub fn pools(port: u16) -> String {
    let check = format!(
        "[pool.check]\nkind = \"tcp\"\nport = {port}\ninterval = \"500ms\"\ntimeout = \"400ms\"\nfall = 3\nrise = 1\n"
    );
    format!(
        "[[pool]]\nname = \"www.example.test.\"\n{check}\
         [[pool.endpoint]]\naddress = \"127.0.0.2\"\n\
         [[pool.endpoint]]\naddress = \"127.0.0.3\"\n\
         [[pool.endpoint]]\naddress = \"127.0.0.4\"\n\n\
         [[pool]]\nname = \"api.example.test.\"\nfailback = \"manual\"\n{check}\
         [[pool.endpoint]]\naddress = \"127.0.0.4\"\npriority = 1\n\
         [[pool.endpoint]]\naddress = \"127.0.0.2\"\npriority = 2\n"
    )
}

/// The configuration; `control` holds more `[control]` keys.
pub fn config(control: &str, backend_port: u16) -> Config {
    Config::new()
        .server("workers = 1\nstate_dir = \"state\"")
        .control(control)
        .example_zone()
        .tail(&pools(backend_port))
}

/// A running server and its folder (configuration, zone, state, logs).
pub struct Server {
    pub swivel: Process,
    pub dns: SocketAddr,
    pub control: SocketAddr,
    pub token: Option<String>,
    pub dir: PathBuf,
    starts: usize,
    _backends: Backends,
    _temp: tempfile::TempDir,
}

impl Server {
    /// Starts a server without a control token.
    pub fn start() -> Server {
        Server::start_with(None, &[])
    }

    /// Starts a server with `token` (if any) and `args` added to `serve`.
    pub fn start_with(token: Option<&str>, args: &[&str]) -> Server {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().to_path_buf();
        let control = token.map_or(String::new(), |token| format!("token = \"{token}\""));
        std::fs::write(dir.join("example.test.zone"), zone_text()).unwrap();
        let backends = start_backends();
        config(&control, backends.port).write(&dir.join("swivel.toml"));
        let swivel = launch(&dir, 1, args);
        let listening = swivel.wait_listening(STARTUP);
        Server {
            swivel,
            dns: listening.dns(),
            control: listening.control,
            token: token.map(str::to_string),
            dir,
            starts: 1,
            _backends: backends,
            _temp: temp,
        }
    }

    /// Stops the process with SIGTERM and waits for a clean exit.
    pub fn stop(&mut self) {
        self.swivel.signal("TERM");
        let status = self
            .swivel
            .wait_exit(STARTUP)
            .expect("swivel stops on TERM");
        assert!(status.success(), "exit status {status:?}");
    }

    /// Starts the stopped process again on the same folder; it listens on new ports (read
    /// from its log again).
    pub fn start_again(&mut self) {
        self.starts += 1;
        self.swivel = launch(&self.dir, self.starts, &[]);
        let listening = self.swivel.wait_listening(STARTUP);
        self.dns = listening.dns();
        self.control = listening.control;
    }

    pub fn restart(&mut self) {
        self.stop();
        self.start_again();
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.join("swivel.toml")
    }

    /// The server's configuration as `swivel ctl --config` reads it: the same file, but
    /// naming the control address the server really listens on instead of port 0.
    pub fn ctl_config_path(&self) -> PathBuf {
        let text = std::fs::read_to_string(self.config_path()).unwrap();
        let listen = format!("listen = \"{}\"", crate::support::process::CONTROL_LISTEN);
        assert!(text.contains(&listen), "{text}");
        let real = text.replace(&listen, &format!("listen = \"{}\"", self.control));
        let path = self.dir.join("ctl.toml");
        std::fs::write(&path, real).unwrap();
        path
    }

    pub fn get(&self, path: &str) -> HttpReply {
        request(self.control, "GET", path, &[], "")
    }

    /// A POST carrying the server's token, if it has one.
    pub fn post(&self, path: &str, body: &str) -> HttpReply {
        let auth = self.token.as_ref().map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> = auth
            .iter()
            .map(|value| ("Authorization", value.as_str()))
            .collect();
        request(self.control, "POST", path, &headers, body)
    }

    /// `POST .../override` with `{"state": state}`.
    pub fn set_override(&self, pool: &str, address: &str, state: &str) -> HttpReply {
        let path = format!("/v1/pools/{pool}/endpoints/{address}/override");
        self.post(&path, &format!("{{\"state\": \"{state}\"}}"))
    }

    /// The A addresses answered for `name` over UDP, sorted.
    pub fn answers(&self, name: &str) -> Vec<Ipv4Addr> {
        query_udp(self.dns, name, TYPE_A)
            .unwrap_or_else(|| panic!("no DNS reply for {name}; log:\n{}", self.swivel.log()))
            .a_addresses()
    }

    /// The status JSON.
    pub fn status(&self) -> serde_json::Value {
        let reply = self.get("/v1/status");
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.json()
    }

    /// Runs `swivel ctl --control <this server> args...`.
    pub fn ctl(&self, args: &[&str]) -> Output {
        let control = self.control.to_string();
        let mut all = vec!["ctl", "--control", &control];
        all.extend_from_slice(args);
        run_swivel(&all)
    }

    pub fn log(&self) -> String {
        self.swivel.log()
    }
}

/// Starts `swivel serve` on `dir`'s configuration; the log goes to `swivel-<n>.log`.
fn launch(dir: &Path, n: usize, args: &[&str]) -> Process {
    let config = dir.join("swivel.toml");
    let mut all = vec!["serve", "--config", config.to_str().unwrap()];
    all.extend_from_slice(args);
    Process::swivel(&all, &dir.join(format!("swivel-{n}.log")))
}

pub fn ip(text: &str) -> Ipv4Addr {
    text.parse().unwrap()
}

pub fn ips(list: &[&str]) -> Vec<Ipv4Addr> {
    list.iter().map(|text| ip(text)).collect()
}

/// The endpoint `address` of pool `pool` in a status JSON.
pub fn endpoint<'a>(
    status: &'a serde_json::Value,
    pool: &str,
    address: &str,
) -> &'a serde_json::Value {
    let pool = pool_of(status, pool);
    pool["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["address"] == address)
        .unwrap_or_else(|| panic!("no endpoint {address} in {pool}"))
}

/// The pool named `name` in a status JSON.
pub fn pool_of<'a>(status: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    status["pools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no pool {name} in {status}"))
}
