//! `swivel` (or any program) as a child process whose stderr goes to a log file, killed when
//! its guard is dropped; the configuration of a `swivel serve` on kernel-chosen ports; and
//! the addresses such a server logs once it listens, so that tests running in parallel never
//! race for a port.

use super::wait_until;
use std::fs::File;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::Duration;

/// How long a server may take to start on a loaded machine.
pub const STARTUP: Duration = Duration::from_secs(20);

/// Where test servers answer DNS: a port the kernel chooses.
pub const DNS_LISTEN: &str = "127.0.0.1:0";
/// Where test servers' control API listens: a port the kernel chooses, on a loopback address
/// of its own (the configuration refuses a `control.listen` equal to a `server.listen`
/// entry, and `127.0.0.1:0` would be), that no test backend uses.
pub const CONTROL_LISTEN: &str = "127.0.1.1:0";

/// A `swivel serve` configuration: `[server]` listening on [`DNS_LISTEN`], `[control]` on
/// [`CONTROL_LISTEN`], the zones, and any further tables.
#[derive(Clone, Debug, Default)]
pub struct Config {
    server: Vec<String>,
    control: Vec<String>,
    zones: Vec<(String, String)>,
    tail: Vec<String>,
}

impl Config {
    pub fn new() -> Config {
        Config::default()
    }

    /// More `[server]` keys (or `[server.*]` tables), as TOML text.
    pub fn server(mut self, keys: &str) -> Config {
        self.server.push(keys.to_string());
        self
    }

    /// More `[control]` keys (e.g. `token = "…"`).
    pub fn control(mut self, keys: &str) -> Config {
        self.control.push(keys.to_string());
        self
    }

    /// A `[[zone]]` table.
    pub fn zone(mut self, origin: &str, file: &str) -> Config {
        self.zones.push((origin.to_string(), file.to_string()));
        self
    }

    /// `example.test.` from `example.test.zone`.
    pub fn example_zone(self) -> Config {
        self.zone("example.test.", "example.test.zone")
    }

    /// Further tables after the zones (pools, checkers, `[checks]`…).
    pub fn tail(mut self, text: &str) -> Config {
        self.tail.push(text.to_string());
        self
    }

    pub fn text(&self) -> String {
        let mut text = format!("[server]\nlisten = [\"{DNS_LISTEN}\"]\n");
        for keys in &self.server {
            text.push_str(keys.trim_end());
            text.push('\n');
        }
        text.push_str(&format!("\n[control]\nlisten = \"{CONTROL_LISTEN}\"\n"));
        for keys in &self.control {
            text.push_str(keys.trim_end());
            text.push('\n');
        }
        for (origin, file) in &self.zones {
            text.push_str(&format!(
                "\n[[zone]]\norigin = \"{origin}\"\nfile = \"{file}\"\n"
            ));
        }
        for table in &self.tail {
            text.push('\n');
            text.push_str(table);
            if !table.ends_with('\n') {
                text.push('\n');
            }
        }
        text
    }

    /// Writes the configuration to `path` and returns it.
    pub fn write(&self, path: &Path) -> PathBuf {
        std::fs::write(path, self.text()).expect("write the configuration");
        path.to_path_buf()
    }
}

/// A running process whose stderr goes to a file; killed when dropped.
pub struct Process {
    child: Option<Child>,
    log: PathBuf,
}

impl Process {
    /// Runs `program args` behind `prefix` (e.g. `ip netns exec NS`), logging to `log`.
    pub fn spawn(prefix: &[&str], program: &Path, args: &[&str], log: &Path) -> Process {
        let stderr = File::create(log).expect("create a log file");
        let mut command = match prefix.split_first() {
            Some((first, rest)) => {
                let mut command = Command::new(first);
                command.args(rest).arg(program);
                command
            }
            None => Command::new(program),
        };
        let child = command
            .args(args)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(stderr))
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", program.display()));
        Process {
            child: Some(child),
            log: log.to_path_buf(),
        }
    }

    /// `swivel args`, logging to `log`.
    pub fn swivel(args: &[&str], log: &Path) -> Process {
        Process::swivel_in(&[], args, log)
    }

    /// `swivel args` behind `prefix`.
    pub fn swivel_in(prefix: &[&str], args: &[&str], log: &Path) -> Process {
        Process::spawn(prefix, Path::new(env!("CARGO_BIN_EXE_swivel")), args, log)
    }

    /// Everything logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the log contains `text`; panics with the log otherwise.
    pub fn wait_for_log(&self, text: &str, timeout: Duration) {
        if !wait_until(timeout, || self.log().contains(text)) {
            panic!(
                "no {text:?} logged within {timeout:?}; log:\n{}",
                self.log()
            );
        }
    }

    /// Waits until a `swivel serve` is ready (its "ready;" line) and returns the addresses
    /// it logged it listens on; panics with the log if it does not get there in `timeout`.
    pub fn wait_listening(&self, timeout: Duration) -> Listening {
        let mut found = None;
        let ready = wait_until(timeout, || {
            let log = self.log();
            found = log
                .contains("ready;")
                .then(|| Listening::from_log(&log))
                .flatten();
            found.is_some()
        });
        match found {
            Some(listening) if ready => listening,
            _ => panic!(
                "swivel did not log where it listens within {timeout:?}; log:\n{}",
                self.log()
            ),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("the process runs").id()
    }

    /// Sends a signal by name (`HUP`, `TERM`) with the shell's built-in kill, which every
    /// system has (the kill(1) binary may be missing from a minimal image).
    pub fn signal(&self, name: &str) {
        let command = format!("kill -{name} {}", self.pid());
        let status = Command::new("sh")
            .args(["-c", &command])
            .status()
            .expect("run sh");
        assert!(status.success(), "{command} failed");
    }

    /// Stops the process at once (SIGKILL), as a crash or a power cut would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The exit status if the process has ended.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child
            .as_mut()
            .expect("the process runs")
            .try_wait()
            .expect("poll the process")
    }

    /// Waits up to `timeout` for the process to end.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let mut status = None;
        wait_until(timeout, || {
            status = self.exited();
            status.is_some()
        });
        status
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|child| matches!(child.try_wait(), Ok(None)))
    }

    /// Resident memory of the process in KiB (VmRSS in /proc/PID/status).
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .expect("read /proc/PID/status");
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS in /proc/PID/status")
    }

    /// Open file descriptors of the process.
    pub fn open_fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid()))
            .map(|entries| entries.count())
            .unwrap_or(0)
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Where a `swivel serve` listens, as it logged it (the real ports, chosen by the kernel for
/// port 0).
#[derive(Clone, Debug)]
pub struct Listening {
    /// One per `server.listen` entry, in order.
    pub dns: Vec<SocketAddr>,
    pub control: SocketAddr,
}

impl Listening {
    /// Reads the `listening address=… udp_workers=…` lines and the `control listening
    /// address=…` line of a log, as text or as JSON lines (`--log-format json`); `None`
    /// until the control line is there.
    pub fn from_log(log: &str) -> Option<Listening> {
        let mut dns = Vec::new();
        let mut control = None;
        for line in log.lines() {
            match Self::line(line) {
                Some((true, address)) => control = Some(address),
                Some((false, address)) => dns.push(address),
                None => {}
            }
        }
        Some(Listening {
            dns,
            control: control?,
        })
    }

    /// `(is the control listener, address)` of one log line that says where it listens.
    fn line(line: &str) -> Option<(bool, SocketAddr)> {
        if line.starts_with('{') {
            let entry: serde_json::Value = serde_json::from_str(line).ok()?;
            let fields = &entry["fields"];
            let address = fields["address"].as_str()?.parse().ok()?;
            return match fields["message"].as_str()? {
                "control listening" => Some((true, address)),
                "listening" if fields.get("udp_workers").is_some() => Some((false, address)),
                _ => None,
            };
        }
        let address = || -> Option<SocketAddr> {
            let rest = line.split(" address=").nth(1)?;
            rest.split_whitespace().next()?.parse().ok()
        };
        if line.contains(" control listening address=") {
            Some((true, address()?))
        } else if line.contains(" listening address=") && line.contains(" udp_workers=") {
            Some((false, address()?))
        } else {
            None
        }
    }

    /// The first DNS address.
    pub fn dns(&self) -> SocketAddr {
        self.dns[0]
    }
}

/// A `swivel serve` that has logged where it listens.
pub struct Served {
    pub process: Process,
    pub dns: SocketAddr,
    pub control: SocketAddr,
}

impl Served {
    /// Runs `swivel serve --config config` (with `args` added), logging to `log`, and waits
    /// until it is ready.
    pub fn start(config: &Path, args: &[&str], log: &Path) -> Served {
        let mut all = vec!["serve", "--config", config.to_str().expect("a UTF-8 path")];
        all.extend_from_slice(args);
        let process = Process::swivel(&all, log);
        let listening = process.wait_listening(STARTUP);
        Served {
            process,
            dns: listening.dns(),
            control: listening.control,
        }
    }

    pub fn log(&self) -> String {
        self.process.log()
    }
}

/// Runs the swivel binary to completion with `args` (without a `SWIVEL_TOKEN` from the
/// environment).
pub fn run_swivel(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_swivel"))
        .args(args)
        .env_remove("SWIVEL_TOKEN")
        .output()
        .expect("run swivel")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}
