//! Loading a whole configuration (the file, every zone it names, the pools checked against
//! the zones and the machine) and what a reload keeps of the running one; shared by
//! `swivel serve`, `swivel check`, SIGHUP and the control API. The table is compiled by the
//! caller from what this loads.

use crate::config::{self, Config};
use crate::diag::{Diagnostic, Diagnostics};
use crate::geo::RouteMap;
use crate::name::Name;
use crate::zone::{self, Zone};
use std::path::{Path, PathBuf};
use std::sync::Arc;

mod geo;
mod keys;
mod permissions;
mod preflight;
mod reload;
mod secondary;
mod signed_elsewhere;
mod zone_clash;

pub use keys::{check_roles, load_zone_keys, signers, SignedZone};
use preflight::preflight;
pub use reload::{changes_needing_restart, merge_reload, ReloadReport};
pub use signed_elsewhere::is_signed_elsewhere;
pub use zone_clash::{check_pools_against_zones, ZoneClash};

/// The built-in demo configuration (examples/demo/swivel.toml).
pub const DEMO_CONFIG: &str = include_str!("../examples/demo/swivel.toml");
/// The built-in demo zone (examples/demo/example.test.zone).
pub const DEMO_ZONE: &str = include_str!("../examples/demo/example.test.zone");
/// The folder the built-in demo files are named under in messages.
const DEMO_DIR: &str = "<built-in demo>";
/// The zone file name the demo configuration refers to.
const DEMO_ZONE_FILE: &str = "example.test.zone";

/// Where a configuration comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A configuration file; zone paths resolve against its folder.
    File(PathBuf),
    /// The demo compiled into the binary.
    BuiltInDemo,
}

/// A configuration with every zone loaded and every pool checked against the zones.
pub struct Loaded {
    pub config: Config,
    pub zones: Vec<Zone>,
    /// Per zone of `zones` (same order), its keys and signing policy when it is signed
    /// here.
    pub signing: Vec<Option<SignedZone>>,
    /// Secondary zones configured but not served now (no copy yet, or past its expire
    /// time): their names answer SERVFAIL.
    pub unserved: Vec<Name>,
    /// Per pool of `config.pools`, its compiled routes (`None` without routes).
    pub routing: Vec<Option<Arc<RouteMap>>>,
}

/// What a load found, for printing and logging.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    pub zones: Vec<ZoneSummary>,
}

/// One loaded zone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZoneSummary {
    pub origin: Name,
    pub file: PathBuf,
    pub records: usize,
}

impl Summary {
    /// Records over all zones.
    pub fn total_records(&self) -> usize {
        self.zones.iter().map(|z| z.records).sum()
    }
}

/// "1 zone, 15 records".
impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (zones, records) = (self.zones.len(), self.total_records());
        let plural = |n: usize| if n == 1 { "" } else { "s" };
        write!(
            f,
            "{zones} zone{}, {records} record{}",
            plural(zones),
            plural(records)
        )
    }
}

impl Loaded {
    pub fn summary(&self) -> Summary {
        let zones = self
            .zones
            .iter()
            .map(|z| ZoneSummary {
                origin: z.origin.clone(),
                file: z.file.clone(),
                records: z.records.len(),
            })
            .collect();
        Summary { zones }
    }
}

/// Reads the configuration and every zone, checks the pools against the zones and what the
/// machine must offer ([`preflight`]: state folder, ICMP privilege, CA files). Reports every
/// problem in the configuration, or else every problem in every zone, before refusing.
/// `serve`, `check` and every reload go through here, so they refuse the same things.
pub fn load(source: &Source) -> Result<Loaded, Diagnostics> {
    let config = match source {
        Source::File(path) => {
            let config = config::load(path)?;
            let world_writable = permissions::world_writable_places(path, &config);
            if !world_writable.is_empty() {
                return Err(Diagnostics(world_writable));
            }
            config
        }
        Source::BuiltInDemo => config::parse(
            DEMO_CONFIG,
            &Path::new(DEMO_DIR).join("swivel.toml"),
            Path::new(DEMO_DIR),
        )?,
    };
    let mut zones = Vec::with_capacity(config.zones.len());
    let mut unserved = Vec::new();
    let mut errors = Vec::new();
    let now = unix_now();
    for entry in &config.zones {
        if entry.secondary.is_some() && !entry.file.exists() {
            tracing::info!(zone = %entry.origin, "secondary zone: no saved copy yet, served (until then SERVFAIL) once transferred");
            unserved.push(entry.origin.clone());
            continue;
        }
        let text = match source {
            Source::File(_) => read_zone_file(&entry.file, entry.max_size).map_err(|e| {
                let message = format!(
                    "zone {}: cannot read zone file {}: {e}",
                    entry.origin,
                    entry.file.display()
                );
                Diagnostic::new(&config.file, entry.line, message)
            }),
            Source::BuiltInDemo if entry.file == Path::new(DEMO_DIR).join(DEMO_ZONE_FILE) => {
                Ok(DEMO_ZONE.as_bytes().to_vec())
            }
            Source::BuiltInDemo => Err(Diagnostic::new(
                &config.file,
                entry.line,
                "the demo has no such zone file",
            )),
        };
        let parsed = text.map(|text| {
            let zone = zone::parse_zone(&entry.origin, &entry.file, &text);
            let expired = zone
                .as_ref()
                .ok()
                .and_then(|zone| secondary::expired(entry, zone, &text, now));
            (zone, expired)
        });
        match parsed {
            Ok((Ok(_), Some(reason))) => {
                tracing::warn!(zone = %entry.origin, "secondary zone expired, answering SERVFAIL: {reason}");
                unserved.push(entry.origin.clone());
            }
            Ok((Ok(zone), None)) => zones.push(zone),
            Ok((Err(diagnostics), _)) => errors.extend(diagnostics.0),
            Err(diagnostic) => errors.push(diagnostic),
        }
    }
    if !errors.is_empty() {
        return Err(Diagnostics(errors));
    }
    // Pools in a secondary zone that is not served now are checked when its copy comes.
    let (lines, names): (Vec<usize>, Vec<Name>) = config
        .pools
        .iter()
        .zip(&config.pool_lines)
        .filter_map(|(pool, &line)| Some((line, pool.owner()?)))
        .filter(|(_, name)| !secondary::in_unserved(name, &unserved))
        .unzip();
    for problem in check_pools_against_zones(&zones, &names) {
        let line = lines[problem.pool];
        errors.push(Diagnostic::new(&config.file, line, problem.message));
    }
    errors.extend(signed_elsewhere::check_signed_elsewhere(&config, &zones));
    if !errors.is_empty() {
        return Err(Diagnostics(errors));
    }
    preflight(&config)?;
    let routing = geo::route_maps(&config).map_err(Diagnostics)?;
    let by_config_zone = signed_zones(&config, unix_now())?;
    let signing = zones
        .iter()
        .map(|zone| {
            let at = config.zones.iter().position(|z| z.origin == zone.origin)?;
            by_config_zone[at].clone()
        })
        .collect();
    Ok(Loaded {
        config,
        zones,
        signing,
        unserved,
        routing,
    })
}

/// Seconds since the epoch now.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Per zone (configuration order), the keys and policy of a zone signed here, read once;
/// every problem with a key file or a missing role is reported.
fn signed_zones(config: &Config, now: u64) -> Result<Vec<Option<SignedZone>>, Diagnostics> {
    let mut signing = Vec::with_capacity(config.zones.len());
    let mut errors = Vec::new();
    for zone in &config.zones {
        let Some(dnssec) = &zone.dnssec else {
            signing.push(None);
            continue;
        };
        if let crate::config::Denial::Nsec3 { .. } = dnssec.denial {
            let message = format!(
                "zone {}: denial = \"nsec3\" is not built yet (NSEC3 chains are planned); \
                 use denial = \"nsec\"",
                zone.origin
            );
            errors.push(Diagnostic::new(&config.file, dnssec.keys_line, message));
            continue;
        }
        match load_zone_keys(&config.file, zone, dnssec) {
            Ok(keys) => match check_roles(&config.file, zone, dnssec, &keys, now) {
                Ok(()) => signing.push(Some(SignedZone::new(keys, dnssec))),
                Err(problem) => errors.push(problem),
            },
            Err(problems) => errors.extend(problems),
        }
    }
    if errors.is_empty() {
        Ok(signing)
    } else {
        Err(Diagnostics(errors))
    }
}

/// The bytes of a zone file: a regular file of at most `max_size` bytes. A FIFO, a device
/// or a folder is refused before it is read (a FIFO would block, `/dev/zero` never ends).
fn read_zone_file(path: &Path, max_size: u64) -> std::io::Result<Vec<u8>> {
    use std::io::{Error, Read};
    use std::os::unix::fs::OpenOptionsExt;
    // Non-blocking, so that opening a FIFO returns at once (it is then refused); a regular
    // file reads the same either way.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let metadata = file.metadata()?;
    if !metadata.is_file() {
        return Err(Error::other(
            "it is not a regular file (a folder, FIFO, socket or device)",
        ));
    }
    let too_large = || {
        Error::other(format!(
            "it is larger than the zone's max_size of {max_size} bytes"
        ))
    };
    if metadata.len() > max_size {
        return Err(too_large());
    }
    let mut text = Vec::with_capacity(metadata.len() as usize);
    file.take(max_size + 1).read_to_end(&mut text)?;
    if text.len() as u64 > max_size {
        return Err(too_large());
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_configuration_is_valid() {
        let config = config::parse(DEMO_CONFIG, Path::new("swivel.toml"), Path::new(""))
            .expect("demo configuration parses");
        assert_eq!(config.zones.len(), 1);
        assert_eq!(
            config.zones[0].origin,
            Name::from_text("example.test.").unwrap()
        );
        assert_eq!(
            config.server.listen,
            vec!["127.0.0.1:5353".parse().unwrap()]
        );
    }

    #[test]
    fn a_zone_file_that_is_no_regular_file_or_too_large_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo.zone");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        let error = read_zone_file(&fifo, 1 << 20).unwrap_err().to_string();
        assert!(error.contains("not a regular file"), "{error}");
        let error = read_zone_file(dir.path(), 1 << 20).unwrap_err().to_string();
        assert!(error.contains("not a regular file"), "{error}");
        let error = read_zone_file(Path::new("/dev/zero"), 1 << 20)
            .unwrap_err()
            .to_string();
        assert!(error.contains("not a regular file"), "{error}");
        let big = dir.path().join("big.zone");
        std::fs::write(&big, vec![b';'; 101]).unwrap();
        let error = read_zone_file(&big, 100).unwrap_err().to_string();
        assert!(error.contains("max_size of 100 bytes"), "{error}");
        assert_eq!(read_zone_file(&big, 101).unwrap().len(), 101);
    }

    #[test]
    fn missing_zone_file_names_the_configuration_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("swivel.toml");
        std::fs::write(
            &path,
            "[[zone]]\norigin = \"example.test.\"\nfile = \"absent.zone\"\n",
        )
        .unwrap();
        let errors = load(&Source::File(path.clone()))
            .err()
            .expect("load refused")
            .0;
        assert_eq!(errors.len(), 1);
        assert_eq!(
            (errors[0].file.as_path(), errors[0].line),
            (path.as_path(), 3)
        );
        assert!(
            errors[0].message.contains("absent.zone"),
            "{}",
            errors[0].message
        );
    }
}
