//! The two servers under comparison as child processes (knotd and swivel) on free loopback
//! ports, killed on drop, plus plain UDP and TCP exchanges with timeouts.

use crate::support::process::{Config, Listening};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Where knotd is installed by the Debian package.
pub const KNOTD: &str = "/usr/sbin/knotd";

/// A directory removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(label: &str) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let unique = format!(
            "swivel-{label}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let path = std::env::temp_dir().join(unique);
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A loopback port that is free for both UDP and TCP at the moment of asking: for knotd,
/// which cannot report a port the kernel chose.
pub fn free_port() -> u16 {
    for _ in 0..50 {
        let udp = UdpSocket::bind("127.0.0.1:0").expect("bind UDP");
        let port = udp.local_addr().expect("local addr").port();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no loopback port free for both UDP and TCP");
}

/// How a query travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
}

/// Sends `query` and waits up to `timeout` for a reply, trying twice. `None` when the
/// server stayed silent (or closed the TCP connection without answering).
pub fn exchange(
    addr: SocketAddr,
    transport: Transport,
    query: &[u8],
    timeout: Duration,
) -> Option<Vec<u8>> {
    (0..2).find_map(|_| match transport {
        Transport::Udp => exchange_udp(addr, query, timeout),
        Transport::Tcp => exchange_tcp(addr, query, timeout),
    })
}

fn exchange_udp(addr: SocketAddr, query: &[u8], timeout: Duration) -> Option<Vec<u8>> {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind client UDP socket");
    socket.connect(addr).expect("connect UDP");
    socket.set_read_timeout(Some(timeout)).expect("set timeout");
    socket.send(query).expect("send UDP query");
    let mut buf = vec![0u8; 65535];
    let len = socket.recv(&mut buf).ok()?;
    buf.truncate(len);
    Some(buf)
}

fn exchange_tcp(addr: SocketAddr, query: &[u8], timeout: Duration) -> Option<Vec<u8>> {
    let mut stream = TcpStream::connect_timeout(&addr, timeout).ok()?;
    stream.set_read_timeout(Some(timeout)).ok()?;
    let mut framed = (query.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(query);
    stream.write_all(&framed).ok()?;
    let mut len = [0u8; 2];
    stream.read_exact(&mut len).ok()?;
    let mut reply = vec![0u8; usize::from(u16::from_be_bytes(len))];
    stream.read_exact(&mut reply).ok()?;
    Some(reply)
}

/// A server child process; killed and reaped on drop, also when a test panics.
pub struct ServerProcess {
    pub name: String,
    pub addr: SocketAddr,
    child: Child,
    log: PathBuf,
}

impl ServerProcess {
    /// The tail of the process's output, for failure messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// Waits until the server answers an SOA query for `zone` over UDP.
    fn wait_ready(mut self, zone: &str) -> Result<ServerProcess, String> {
        let probe = readiness_probe(zone);
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "{} exited early ({status}):\n{}",
                    self.name,
                    self.log_tail()
                ));
            }
            if exchange_udp(self.addr, &probe, Duration::from_millis(200)).is_some() {
                return Ok(self);
            }
            // A refused port answers at once; do not spin.
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(format!(
            "{} did not answer within 15 s:\n{}",
            self.name,
            self.log_tail()
        ))
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn readiness_probe(zone: &str) -> Vec<u8> {
    let mut query = vec![0xab, 0xcd, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in zone.trim_end_matches('.').split('.') {
        query.push(label.len() as u8);
        query.extend_from_slice(label.as_bytes());
    }
    query.extend_from_slice(&[0, 0, 6, 0, 1]);
    query
}

fn spawn(
    name: &str,
    mut command: Command,
    dir: &Path,
    addr: SocketAddr,
) -> Result<ServerProcess, String> {
    let log = dir.join(format!("{name}.log"));
    let out = std::fs::File::create(&log).map_err(|e| e.to_string())?;
    let err = out.try_clone().map_err(|e| e.to_string())?;
    let child = command
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .map_err(|e| format!("cannot start {name}: {e}"))?;
    Ok(ServerProcess {
        name: name.to_string(),
        addr,
        child,
        log,
    })
}

/// Starts knotd serving `zone_file` as `origin` from a fresh config in `dir`.
pub fn start_knot(dir: &Path, origin: &str, zone_file: &Path) -> Result<ServerProcess, String> {
    let port = free_port();
    let config = knot_config(dir, port, "")
        + &format!(
            "zone:\n  - domain: {origin}\n    file: \"{}\"\n    zonefile-load: whole\n    \
             journal-content: none\n    zonefile-sync: -1\n",
            zone_file.display()
        );
    start_knot_config(dir, port, &config, origin)
}

/// The `server`, `log`, `database` and `template` sections of a knotd configuration
/// listening on `port` and keeping everything in `dir`, logging at `level`
/// (`warning` when empty); the caller adds its zones (and keys, ACLs).
pub fn knot_config(dir: &Path, port: u16, level: &str) -> String {
    let dir_text = dir.display();
    let level = if level.is_empty() { "warning" } else { level };
    format!(
        "server:\n    rundir: \"{dir_text}\"\n    listen: 127.0.0.1@{port}\n    udp-workers: 1\n    \
         tcp-workers: 1\n    background-workers: 1\n\
         log:\n  - target: stderr\n    any: {level}\n\
         database:\n    storage: \"{dir_text}\"\n\
         template:\n  - id: default\n    storage: \"{dir_text}\"\n"
    )
}

/// Starts knotd with the configuration `config` (listening on 127.0.0.1 `port`), written
/// to `dir/knot.conf`, and waits until it answers for `origin`.
pub fn start_knot_config(
    dir: &Path,
    port: u16,
    config: &str,
    origin: &str,
) -> Result<ServerProcess, String> {
    let config_path = dir.join("knot.conf");
    std::fs::write(&config_path, config).map_err(|e| e.to_string())?;
    let mut command = Command::new(KNOTD);
    command.arg("-c").arg(&config_path);
    spawn(
        "knotd",
        command,
        dir,
        SocketAddr::from(([127, 0, 0, 1], port)),
    )?
    .wait_ready(origin)
}

/// Starts `swivel serve` on `zone_file` (copied into `dir`) as `origin`, on a port the
/// kernel chooses (read from its log).
pub fn start_swivel(dir: &Path, origin: &str, zone_file: &Path) -> Result<ServerProcess, String> {
    let zone_name = zone_file
        .file_name()
        .expect("zone file name")
        .to_string_lossy()
        .to_string();
    std::fs::copy(zone_file, dir.join(&zone_name)).map_err(|e| e.to_string())?;
    let config_path = Config::new()
        .server("workers = 1")
        .zone(origin, &zone_name)
        .write(&dir.join("swivel.toml"));
    start_swivel_config(dir, &config_path, origin)
}

/// Starts `swivel serve --config config_path` in `dir` and waits until it answers (any
/// answer) for `origin`.
pub fn start_swivel_config(
    dir: &Path,
    config_path: &Path,
    origin: &str,
) -> Result<ServerProcess, String> {
    let mut command = Command::new(env!("CARGO_BIN_EXE_swivel"));
    command.arg("serve").arg("--config").arg(config_path);
    let unknown = SocketAddr::from(([127, 0, 0, 1], 0));
    let mut server = spawn("swivel", command, dir, unknown)?;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let log = std::fs::read_to_string(&server.log).unwrap_or_default();
        if let Some(listening) = Listening::from_log(&log).filter(|l| !l.dns.is_empty()) {
            server.addr = listening.dns();
            break;
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "swivel did not log where it listens within 15 s:\n{}",
                server.log_tail()
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    server.wait_ready(origin)
}
