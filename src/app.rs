//! Loading a whole configuration (the file, every zone it names, the compiled table) and
//! reloading it into a running server; shared by `swivel serve`, `swivel check`, SIGHUP
//! and (later) the control API.

use crate::config::{self, Config};
use crate::diag::{Diagnostic, Diagnostics};
use crate::name::Name;
use crate::zone::{self, Zone};
use std::path::{Path, PathBuf};

mod permissions;
mod reload;
mod zone_clash;

pub use reload::{changes_needing_restart, merge_reload, ReloadReport};
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

/// Reads the configuration and every zone, and compiles the table. Reports every problem in
/// the configuration, or else every problem in every zone, before refusing.
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
    let mut errors = Vec::new();
    for entry in &config.zones {
        let text = match source {
            Source::File(_) => std::fs::read(&entry.file).map_err(|e| {
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
        match text.map(|text| zone::parse_zone(&entry.origin, &entry.file, &text)) {
            Ok(Ok(zone)) => zones.push(zone),
            Ok(Err(diagnostics)) => errors.extend(diagnostics.0),
            Err(diagnostic) => errors.push(diagnostic),
        }
    }
    if !errors.is_empty() {
        return Err(Diagnostics(errors));
    }
    let names: Vec<Name> = config.pools.iter().filter_map(|p| p.owner()).collect();
    for problem in check_pools_against_zones(&zones, &names) {
        let line = config.pool_lines[problem.pool];
        errors.push(Diagnostic::new(&config.file, line, problem.message));
    }
    if !errors.is_empty() {
        return Err(Diagnostics(errors));
    }
    Ok(Loaded { config, zones })
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
