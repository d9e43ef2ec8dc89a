//! The TOML configuration file: schema, defaults, validation with file and line.
//!
//! [`load`] reads a file, [`parse`] checks text; both report every problem they find as a
//! [`Diagnostic`] naming the configuration file and line. Relative zone file paths resolve
//! against the configuration file's folder. The reference is docs/CONFIGURATION.md.

mod checkers;
mod control;
mod dnssec;
mod duration;
pub mod geo;
pub mod net;
pub mod pool;
mod rrl;
mod secondary;
mod transfer;
mod tsig;
mod udp;
mod url;

pub use checkers::{CheckerConfig, ProbeConfig, LOCAL};
pub use control::{
    ControlConfig, ControlTls, DEFAULT_CONTROL_IDLE_TIMEOUT, DEFAULT_CONTROL_LISTEN,
    DEFAULT_CONTROL_MAX_CONNECTIONS, DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_MAX_BODY_SIZE,
    DEFAULT_REQUEST_TIMEOUT, MIN_TOKEN_LEN,
};
pub use dnssec::{Denial, DnssecConfig};
pub use duration::parse_duration;
pub use rrl::RrlConfig;
pub use secondary::{saved_copy_path, SecondaryConfig, SECONDARY_DIR};
pub use transfer::{Cidr, TransferOutConfig};
pub use tsig::{TsigAlgorithm, TsigKeyConfig, MIN_TSIG_SECRET_LEN};
pub use udp::{
    IoChoice, UdpOptions, DEFAULT_UDP_BATCH, DEFAULT_UDP_SOCKET_BUFFER, MAX_BUSY_POLL_US,
    UDP_BATCH_RANGE, UDP_SOCKET_BUFFER_RANGE,
};
pub use url::ResponderUrl;

use crate::diag::{Diagnostic, Diagnostics};
use crate::name::Name;
use checkers::{RawChecker, RawChecks, RawProbe};
use control::RawControl;
use dnssec::RawDnssec;
pub use geo::{GeoConfig, Matcher, RouteConfig};
use pool::{validate_pools, PoolConfig};
use rrl::RawRrl;
use serde::Deserialize;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::Spanned;
use tsig::RawTsig;

/// `server.listen` when omitted.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:5353";
/// `server.workers` when omitted: one UDP worker per CPU core.
pub const DEFAULT_WORKERS: usize = 0;
/// `server.tcp_idle_timeout` when omitted.
pub const DEFAULT_TCP_IDLE_TIMEOUT: Duration = Duration::from_secs(10);
/// `server.tcp_max_connections` when omitted.
pub const DEFAULT_TCP_MAX_CONNECTIONS: usize = 1024;
/// `server.tcp_max_per_client` when omitted.
pub const DEFAULT_TCP_MAX_PER_CLIENT: usize = 32;
/// `zone.max_size` when omitted: 1 GiB, about 20 million records of a typical zone.
pub const DEFAULT_ZONE_MAX_SIZE: u64 = 1 << 30;
/// The most UDP workers `server.workers` may ask for.
pub const MAX_WORKERS: usize = 1024;

/// A validated configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// The file it was read from, as named in diagnostics.
    pub file: PathBuf,
    pub server: ServerConfig,
    pub control: ControlConfig,
    /// In file order; origins are unique.
    pub zones: Vec<ZoneConfig>,
    /// Health-checked pools, in file order; names are unique.
    pub pools: Vec<PoolConfig>,
    /// The line of each pool's table, for errors found later against the zones.
    pub pool_lines: Vec<usize>,
    /// `[[checker]]`: the probe agents whose reports this responder counts, in file order.
    pub checkers: Vec<CheckerConfig>,
    /// `[checks] local`: whether this responder runs the checks itself (the checker `local`).
    pub local_checks: bool,
    /// `[probe]`: this file's settings as a probe agent (`swivel probe`).
    pub probe: Option<ProbeConfig>,
}

/// What the file is read for: `swivel serve` (and `check`) or `swivel probe`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// A responder: zones are required, `[probe]` is optional.
    Serve,
    /// A probe agent: `[probe]` and pools are required, zones are not (nor read).
    Probe,
}

/// The `[server]` table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerConfig {
    /// Every address serves UDP and TCP.
    pub listen: Vec<SocketAddr>,
    /// UDP workers per listen address; 0 means one per CPU core.
    pub workers: usize,
    pub tcp_idle_timeout: Duration,
    pub tcp_max_connections: usize,
    pub tcp_max_per_client: usize,
    /// Where latches and overrides persist; resolved against the configuration's folder.
    /// None: nothing persists (the built-in demo, or a configuration without pools).
    pub state_dir: Option<PathBuf>,
    /// Response rate limiting of UDP replies; `None` (no `[server.rrl]` table) is off.
    pub rrl: Option<RrlConfig>,
    /// `io`, `udp_batch`, `udp_socket_buffer`, `pin_workers`, `cpu_steering`, `busy_poll`.
    pub udp: UdpOptions,
    /// `[server.geo]`: where routes' countries, continents, ASNs and regions come from.
    pub geo: Option<GeoConfig>,
}

/// One `[[zone]]` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZoneConfig {
    pub origin: Name,
    /// Resolved against the configuration file's folder. For a secondary zone, where its
    /// copy is kept in `state_dir` ([`saved_copy_path`]).
    pub file: PathBuf,
    /// Line of the `file` key in the configuration, for errors about the file itself.
    pub line: usize,
    /// `max_size`: a larger zone file is refused, in bytes.
    pub max_size: u64,
    /// `[zone.dnssec]`: sign the zone with these keys.
    pub dnssec: Option<DnssecConfig>,
    /// `primaries` (and `tsig`): a secondary zone, fed by zone transfers.
    pub secondary: Option<SecondaryConfig>,
    /// `allow_transfer`, `allow_transfer_tsig` and `notify`: transfers out.
    pub transfer_out: TransferOutConfig,
}

/// Reads and validates the configuration file at `path` for `swivel serve`.
pub fn load(path: &Path) -> Result<Config, Diagnostics> {
    load_as(path, Mode::Serve)
}

/// Reads and validates the configuration file at `path` for `mode`.
pub fn load_as(path: &Path, mode: Mode) -> Result<Config, Diagnostics> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Diagnostics(vec![Diagnostic::new(
            path,
            0,
            format!("cannot read configuration file: {e}"),
        )])
    })?;
    let base_dir = path.parent().unwrap_or(Path::new(""));
    parse_as(&text, path, base_dir, mode)
}

/// Validates configuration text for `swivel serve`; `file` names it in diagnostics and
/// `base_dir` is where relative zone file paths start.
pub fn parse(text: &str, file: &Path, base_dir: &Path) -> Result<Config, Diagnostics> {
    parse_as(text, file, base_dir, Mode::Serve)
}

/// Validates configuration text for `mode`.
pub fn parse_as(
    text: &str,
    file: &Path,
    base_dir: &Path,
    mode: Mode,
) -> Result<Config, Diagnostics> {
    let raw: RawConfig = toml::from_str(text).map_err(|e| {
        let line = e.span().map_or(0, |span| line_of(text, span.start));
        Diagnostics(vec![Diagnostic::new(
            file,
            line,
            e.message().trim_end().to_string(),
        )])
    })?;
    let mut checker = Checker {
        text,
        file,
        errors: Vec::new(),
    };
    let server = checker.server(raw.server, base_dir);
    let control = checker.control(raw.control, &server, base_dir);
    let keys = checker.tsig_keys(raw.tsig, base_dir);
    let zones = checker.zones(
        raw.zones,
        base_dir,
        mode,
        server.state_dir.as_deref(),
        &keys,
    );
    let (pools, pool_lines) = checker.pools(raw.pools, base_dir);
    checker.route_sources(&pools, &pool_lines, server.geo.as_ref());
    let checkers = checker.checkers(raw.checkers, control.token.as_deref());
    let local_checks = raw.checks.local.unwrap_or(true);
    let probe = match (raw.probe, mode) {
        (Some(probe), _) => checker.probe(probe, base_dir),
        (None, Mode::Probe) => {
            checker.errors.push(Diagnostic::new(
                file,
                0,
                "no [probe] table: swivel probe needs [probe] with name, report_to and token",
            ));
            None
        }
        (None, Mode::Serve) => None,
    };
    match mode {
        Mode::Serve => checker.fleet(&pools, &pool_lines, &checkers, local_checks),
        Mode::Probe if pools.is_empty() => checker.errors.push(Diagnostic::new(
            file,
            0,
            "no pools: swivel probe checks the endpoints of the [[pool]] tables; add at least one",
        )),
        Mode::Probe => {}
    }
    if !checker.errors.is_empty() {
        return Err(Diagnostics(checker.errors));
    }
    Ok(Config {
        file: file.to_path_buf(),
        server,
        control,
        zones,
        pools,
        pool_lines,
        checkers,
        local_checks,
        probe,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    server: RawServer,
    #[serde(default)]
    control: RawControl,
    #[serde(default, rename = "zone")]
    zones: Vec<RawZone>,
    #[serde(default, rename = "pool")]
    pools: Vec<Spanned<PoolConfig>>,
    #[serde(default, rename = "tsig")]
    tsig: Vec<Spanned<RawTsig>>,
    #[serde(default, rename = "checker")]
    checkers: Vec<RawChecker>,
    #[serde(default)]
    checks: RawChecks,
    probe: Option<Spanned<RawProbe>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawServer {
    listen: Option<Spanned<Vec<Spanned<String>>>>,
    workers: Option<Spanned<usize>>,
    tcp_idle_timeout: Option<Spanned<String>>,
    tcp_max_connections: Option<Spanned<usize>>,
    tcp_max_per_client: Option<Spanned<usize>>,
    state_dir: Option<Spanned<String>>,
    rrl: Option<RawRrl>,
    io: Option<Spanned<String>>,
    udp_batch: Option<Spanned<usize>>,
    udp_socket_buffer: Option<Spanned<usize>>,
    pin_workers: Option<bool>,
    cpu_steering: Option<bool>,
    busy_poll: Option<Spanned<u32>>,
    geo: Option<Spanned<RawGeo>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGeo {
    database: Option<String>,
    nets: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawZone {
    origin: Spanned<String>,
    file: Option<Spanned<String>>,
    primaries: Option<Spanned<Vec<Spanned<String>>>>,
    tsig: Option<Spanned<String>>,
    max_size: Option<Spanned<u64>>,
    dnssec: Option<RawDnssec>,
    allow_transfer: Option<Spanned<Vec<Spanned<String>>>>,
    allow_transfer_tsig: Option<Spanned<Vec<Spanned<String>>>>,
    notify: Option<Spanned<Vec<Spanned<String>>>>,
}

/// Collects every problem while turning raw values into checked ones.
struct Checker<'a> {
    text: &'a str,
    file: &'a Path,
    errors: Vec<Diagnostic>,
}

impl Checker<'_> {
    fn line<T>(&self, value: &Spanned<T>) -> usize {
        line_of(self.text, value.span().start)
    }

    fn error<T>(&mut self, at: &Spanned<T>, message: String) {
        let line = self.line(at);
        self.errors.push(Diagnostic::new(self.file, line, message));
    }

    fn address(&mut self, key: &str, text: &Spanned<String>) -> Option<SocketAddr> {
        match text.get_ref().parse() {
            Ok(addr) => Some(addr),
            Err(_) => {
                let message = format!(
                    "{key}: invalid address {:?}: write IP and port, e.g. \"127.0.0.1:53\" or \"[::1]:53\"",
                    text.get_ref()
                );
                self.error(text, message);
                None
            }
        }
    }

    fn server(&mut self, raw: RawServer, base_dir: &Path) -> ServerConfig {
        let udp = self.udp_options(&raw);
        let listen = match raw.listen {
            None => vec![DEFAULT_LISTEN
                .parse()
                .expect("default listen address parses")],
            Some(list) => {
                if list.get_ref().is_empty() {
                    self.error(
                        &list,
                        "server.listen: give at least one address".to_string(),
                    );
                }
                let mut seen = HashMap::new();
                let mut addrs = Vec::new();
                for entry in list.get_ref() {
                    let Some(addr) = self.address("server.listen", entry) else {
                        continue;
                    };
                    let line = self.line(entry);
                    if let Some(first) = seen.insert(addr, line) {
                        self.error(
                            entry,
                            format!(
                                "server.listen: {addr} is listed twice (first on line {first})"
                            ),
                        );
                    } else {
                        addrs.push(addr);
                    }
                }
                addrs
            }
        };
        let workers = raw.workers.map_or(DEFAULT_WORKERS, |w| {
            if *w.get_ref() > MAX_WORKERS {
                self.error(
                    &w,
                    format!("server.workers: at most {MAX_WORKERS} (0 means one per CPU core)"),
                );
            }
            w.into_inner()
        });
        let tcp_idle_timeout = raw.tcp_idle_timeout.map_or(DEFAULT_TCP_IDLE_TIMEOUT, |t| {
            match parse_duration(t.get_ref()) {
                Ok(d) if d.is_zero() => {
                    self.error(
                        &t,
                        "server.tcp_idle_timeout: must be more than zero".to_string(),
                    );
                    d
                }
                Ok(d) => d,
                Err(message) => {
                    self.error(&t, format!("server.tcp_idle_timeout: {message}"));
                    DEFAULT_TCP_IDLE_TIMEOUT
                }
            }
        });
        let tcp_max_connections = self.at_least_one(
            "server.tcp_max_connections",
            raw.tcp_max_connections,
            DEFAULT_TCP_MAX_CONNECTIONS,
        );
        let tcp_max_per_client = self.at_least_one(
            "server.tcp_max_per_client",
            raw.tcp_max_per_client,
            DEFAULT_TCP_MAX_PER_CLIENT,
        );
        let state_dir = raw.state_dir.and_then(|dir| {
            if dir.get_ref().is_empty() {
                self.error(&dir, "server.state_dir: give a folder path".to_string());
                return None;
            }
            Some(base_dir.join(dir.get_ref()))
        });
        let rrl = raw.rrl.map(|raw| self.rrl(raw));
        let geo = raw.geo.map(|geo| {
            let line = self.line(&geo);
            let geo = geo.into_inner();
            let path = |p: Option<String>| p.filter(|p| !p.is_empty()).map(|p| base_dir.join(p));
            GeoConfig {
                database: path(geo.database),
                nets: path(geo.nets),
                line,
            }
        });
        ServerConfig {
            listen,
            workers,
            tcp_idle_timeout,
            tcp_max_connections,
            tcp_max_per_client,
            state_dir,
            rrl,
            udp,
            geo,
        }
    }

    /// Pools with their lines; every problem is reported at its pool's line.
    fn pools(
        &mut self,
        raw: Vec<Spanned<PoolConfig>>,
        base_dir: &Path,
    ) -> (Vec<PoolConfig>, Vec<usize>) {
        let lines: Vec<usize> = raw.iter().map(|p| self.line(p)).collect();
        let mut pools: Vec<PoolConfig> = raw.into_iter().map(Spanned::into_inner).collect();
        for pool in &mut pools {
            if let Some(file) = &mut pool.check.ca_file {
                *file = base_dir.join(&*file);
            }
        }
        for problem in validate_pools(&pools) {
            self.errors.push(Diagnostic::new(
                self.file,
                lines[problem.pool],
                problem.message,
            ));
        }
        (pools, lines)
    }

    /// Routes that match countries, continents or ASNs need `server.geo.database`, and
    /// regions need `server.geo.nets`.
    fn route_sources(&mut self, pools: &[PoolConfig], lines: &[usize], geo: Option<&GeoConfig>) {
        for (pool, &line) in pools.iter().zip(lines) {
            let matches = pool.routes.iter().flat_map(|r| &r.matches);
            let mut reported = (false, false);
            for matcher in matches {
                let (needs, key, seen) = match matcher {
                    m if m.needs_database() => (
                        geo.is_some_and(|g| g.database.is_none()) || geo.is_none(),
                        "database",
                        &mut reported.0,
                    ),
                    Matcher::Region(_) => (
                        geo.is_none_or(|g| g.nets.is_none()),
                        "nets",
                        &mut reported.1,
                    ),
                    _ => continue,
                };
                if needs && !*seen {
                    *seen = true;
                    self.errors.push(Diagnostic::new(
                        self.file,
                        line,
                        format!(
                            "pool {:?}: route.match {matcher}: needs server.geo.{key} (add [server.geo] {key} = \"...\")",
                            pool.name
                        ),
                    ));
                }
            }
        }
    }

    fn at_least_one(&mut self, key: &str, value: Option<Spanned<usize>>, default: usize) -> usize {
        let Some(value) = value else { return default };
        if *value.get_ref() == 0 {
            self.error(&value, format!("{key}: must be at least 1"));
        }
        value.into_inner()
    }

    /// A bearer token: at least [`MIN_TOKEN_LEN`] characters of printable ASCII without
    /// spaces.
    fn token(&mut self, key: &str, token: Spanned<String>) -> Option<String> {
        let text = token.get_ref();
        if text.is_empty() {
            self.error(&token, format!("{key}: give a token, or leave the key out"));
            return None;
        }
        if !text.bytes().all(|b| b.is_ascii_graphic()) {
            self.error(
                &token,
                format!("{key}: use printable ASCII without spaces (it is sent in an HTTP header)"),
            );
            return None;
        }
        if text.len() < MIN_TOKEN_LEN {
            self.error(
                &token,
                format!(
                    "{key}: {} characters is too short to be hard to guess; use at least \
                     {MIN_TOKEN_LEN} (e.g. the output of `openssl rand -hex 24`)",
                    text.len()
                ),
            );
            return None;
        }
        Some(token.into_inner())
    }

    fn zones(
        &mut self,
        raw: Vec<RawZone>,
        base_dir: &Path,
        mode: Mode,
        state_dir: Option<&Path>,
        keys: &HashMap<String, TsigKeyConfig>,
    ) -> Vec<ZoneConfig> {
        if raw.is_empty() && mode == Mode::Serve {
            self.errors.push(Diagnostic::new(
                self.file,
                0,
                "no zones: add at least one [[zone]] table with origin and file",
            ));
        }
        let mut first_line = HashMap::new();
        let mut zones = Vec::new();
        for zone in raw {
            let origin_line = self.line(&zone.origin);
            let origin = Name::from_text(zone.origin.get_ref());
            if origin.is_none() {
                let message = format!(
                    "zone origin {:?} is not a valid domain name",
                    zone.origin.get_ref()
                );
                self.error(&zone.origin, message);
            }
            if let Some(file) = zone.file.as_ref().filter(|f| f.get_ref().is_empty()) {
                self.error(
                    file,
                    "zone file: give the path of the zone's master file".to_string(),
                );
            }
            let Some(origin) = origin else { continue };
            if let Some(first) = first_line.get(&origin) {
                let message = format!("zone {origin} is defined twice (first on line {first})");
                self.error(&zone.origin, message);
                continue;
            }
            first_line.insert(origin.clone(), origin_line);
            let max_size = zone.max_size.map_or(DEFAULT_ZONE_MAX_SIZE, |size| {
                if *size.get_ref() == 0 {
                    self.error(&size, "zone max_size: must be at least 1 byte".to_string());
                }
                size.into_inner()
            });
            let transfer_out = self.transfer_out(
                &origin,
                zone.allow_transfer,
                zone.allow_transfer_tsig,
                zone.notify,
                keys,
            );
            let (file, line, secondary) = match (zone.file, zone.primaries) {
                (Some(file), None) => {
                    if let Some(tsig) = &zone.tsig {
                        self.error(
                            tsig,
                            format!("zone {origin} tsig: only a secondary zone (with primaries) uses a key"),
                        );
                    }
                    (base_dir.join(file.get_ref()), self.line(&file), None)
                }
                (None, Some(primaries)) => {
                    let line = self.line(&primaries);
                    let secondary = self.secondary(
                        &origin,
                        &zone.origin,
                        primaries,
                        zone.tsig,
                        state_dir,
                        keys,
                    );
                    let file = saved_copy_path(state_dir.unwrap_or(Path::new("")), &origin);
                    (file, line, secondary)
                }
                (Some(file), Some(_)) => {
                    self.error(
                        &file,
                        format!(
                            "zone {origin}: give file (a primary zone) or primaries (a secondary \
                             zone), not both"
                        ),
                    );
                    continue;
                }
                (None, None) => {
                    self.error(
                        &zone.origin,
                        format!(
                            "zone {origin}: give file (its master file) or primaries (a \
                             secondary zone fed by zone transfers)"
                        ),
                    );
                    continue;
                }
            };
            let dnssec = zone.dnssec.map(|raw| self.dnssec(raw, base_dir));
            if dnssec.is_some() && secondary.is_some() {
                self.error(
                    &zone.origin,
                    format!("zone {origin}: a secondary zone cannot have [zone.dnssec] yet"),
                );
            }
            zones.push(ZoneConfig {
                origin,
                file,
                line,
                max_size,
                dnssec,
                secondary,
                transfer_out,
            });
        }
        zones
    }
}

/// The 1-based line holding byte `offset` of `text`.
fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests;
