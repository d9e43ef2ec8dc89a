//! A `swivel serve` process with a zone, two health-checked pools and a control API on a
//! free port, in front of tiny TCP backends on 127.0.0.2 and 127.0.0.3 (127.0.0.4 has none,
//! so its checks are refused and it is down).
//!
//! Pool `www.example.test.` (failback auto) has 127.0.0.2, .3 and .4 in one tier, so it
//! serves .2 and .3. Pool `api.example.test.` (failback manual) has .4 on tier 1 and .2 on
//! tier 2, so it starts on tier 2, held there.

use super::common::{free_port, query_udp, Swivel, TYPE_A};
use super::http::{request, HttpReply};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

pub const STARTUP: Duration = Duration::from_secs(20);

pub const ZONE: &str = "\
$ORIGIN example.test.
$TTL 300
@    SOA ns1 hostmaster 1 7200 3600 1209600 60
@    NS  ns1
ns1  A   192.0.2.53
";

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

/// Listens on `port` of 127.0.0.2 and 127.0.0.3 and accepts every connection for as long
/// as the test process lives, so TCP checks there pass.
pub fn start_backends() -> u16 {
    'search: loop {
        let first = TcpListener::bind(("127.0.0.2", 0)).unwrap();
        let port = first.local_addr().unwrap().port();
        if TcpListener::bind(("127.0.0.4", port)).is_err() {
            continue 'search;
        }
        let Ok(second) = TcpListener::bind(("127.0.0.3", port)) else {
            continue 'search;
        };
        for listener in [first, second] {
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    drop(stream);
                }
            });
        }
        return port;
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

/// The configuration text; `control` is the `[control]` table's body.
pub fn config_text(dns: SocketAddr, control: &str, backend_port: u16) -> String {
    format!(
        "[server]\nlisten = [\"{dns}\"]\nworkers = 1\nstate_dir = \"state\"\n\n\
         [control]\n{control}\n\n\
         [[zone]]\norigin = \"example.test.\"\nfile = \"example.test.zone\"\n\n{}",
        pools(backend_port)
    )
}

/// A running server and its folder (configuration, zone, state, logs).
pub struct Server {
    pub swivel: Swivel,
    pub dns: SocketAddr,
    pub control: SocketAddr,
    pub token: Option<String>,
    pub dir: PathBuf,
    starts: usize,
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
        let dns: SocketAddr = ([127, 0, 0, 1], free_port()).into();
        let control: SocketAddr = ([127, 0, 0, 1], free_port()).into();
        let mut table = format!("listen = \"{control}\"");
        if let Some(token) = token {
            table.push_str(&format!("\ntoken = \"{token}\""));
        }
        std::fs::write(dir.join("example.test.zone"), zone_text()).unwrap();
        let config = config_text(dns, &table, start_backends());
        std::fs::write(dir.join("swivel.toml"), config).unwrap();
        let swivel = launch(&dir, 1, args);
        let server = Server {
            swivel,
            dns,
            control,
            token: token.map(str::to_string),
            dir,
            starts: 1,
            _temp: temp,
        };
        server.wait_ready();
        server
    }

    fn wait_ready(&self) {
        self.swivel.wait_for_log("ready;", STARTUP);
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

    /// Starts the stopped process again on the same folder and ports.
    pub fn start_again(&mut self) {
        self.starts += 1;
        self.swivel = launch(&self.dir, self.starts, &[]);
        self.wait_ready();
    }

    pub fn restart(&mut self) {
        self.stop();
        self.start_again();
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.join("swivel.toml")
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
fn launch(dir: &Path, n: usize, args: &[&str]) -> Swivel {
    let config = dir.join("swivel.toml");
    let mut all = vec!["serve", "--config", config.to_str().unwrap()];
    all.extend_from_slice(args);
    Swivel::start(&all, &dir.join(format!("swivel-{n}.log")))
}

/// Runs the swivel binary to completion with `args`.
pub fn run_swivel(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_swivel"))
        .args(args)
        .env_remove("SWIVEL_TOKEN")
        .output()
        .expect("run swivel")
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

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}
