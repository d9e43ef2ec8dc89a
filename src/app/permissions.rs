//! The start-up refusal of world-writable places: a configuration file, the folder holding
//! it, a zone file or the state folder that any local user could write would let them
//! change what Swivel serves, so loading refuses them, naming the path.

use crate::config::Config;
use crate::diag::Diagnostic;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// The "others may write" permission bit.
const WORLD_WRITABLE: u32 = 0o002;

/// Problems with the permissions of the configuration file `path`, its folder, and
/// `config`'s state folder (when it exists already; Swivel creates it without the bit).
pub(super) fn world_writable_places(path: &Path, config: &Config) -> Vec<Diagnostic> {
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut places = vec![
        ("configuration file", path),
        ("configuration folder", folder),
    ];
    if let Some(state_dir) = &config.server.state_dir {
        places.push(("state_dir", state_dir.as_path()));
    }
    for zone in &config.zones {
        places.push(("zone file", zone.file.as_path()));
    }
    places
        .into_iter()
        .filter_map(|(what, place)| {
            let mode = std::fs::metadata(place).ok()?.permissions().mode();
            (mode & WORLD_WRITABLE != 0).then(|| {
                Diagnostic::new(
                    path,
                    0,
                    format!(
                        "{what} {} is world-writable (mode {:o}): any local user could change \
                         what Swivel serves; refusing it (fix with: chmod o-w {})",
                        place.display(),
                        mode & 0o7777,
                        place.display()
                    ),
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_in(dir: &Path, state_dir: Option<&Path>) -> (std::path::PathBuf, Config) {
        let path = dir.join("swivel.toml");
        let state = state_dir.map_or(String::new(), |d| {
            format!("[server]\nstate_dir = \"{}\"\n", d.display())
        });
        let text = format!("{state}[[zone]]\norigin = \"example.test.\"\nfile = \"z.zone\"\n");
        std::fs::write(&path, &text).unwrap();
        let config = crate::config::parse(&text, &path, dir).unwrap();
        (path, config)
    }

    fn chmod(path: &Path, mode: u32) {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn private_places_pass_and_each_world_writable_one_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        std::fs::create_dir(&state).unwrap();
        let (path, config) = config_in(dir.path(), Some(&state));
        chmod(dir.path(), 0o755);
        assert!(world_writable_places(&path, &config).is_empty());

        chmod(&path, 0o666);
        chmod(&state, 0o777);
        let problems = world_writable_places(&path, &config);
        let messages: Vec<&str> = problems.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(problems.len(), 2, "{messages:?}");
        assert!(messages[0].starts_with(&format!(
            "configuration file {} is world-writable (mode 666)",
            path.display()
        )));
        assert!(
            messages[1].starts_with(&format!("state_dir {} is world-writable", state.display()))
        );
        assert!(problems.iter().all(|d| d.file == path));

        chmod(&path, 0o644);
        chmod(&state, 0o750);
        chmod(dir.path(), 0o1777);
        let problems = world_writable_places(&path, &config);
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].message.contains("configuration folder"),
            "{}",
            problems[0]
        );
        chmod(dir.path(), 0o755);

        let zone = dir.path().join("z.zone");
        std::fs::write(&zone, "").unwrap();
        chmod(&zone, 0o644);
        assert!(world_writable_places(&path, &config).is_empty());
        chmod(&zone, 0o646);
        let problems = world_writable_places(&path, &config);
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0]
                .message
                .starts_with(&format!("zone file {} is world-writable", zone.display())),
            "{}",
            problems[0]
        );
        chmod(dir.path(), 0o700);
    }

    #[test]
    fn a_state_dir_not_yet_created_is_no_problem() {
        let dir = tempfile::tempdir().unwrap();
        let (path, config) = config_in(dir.path(), Some(&dir.path().join("later")));
        assert!(world_writable_places(&path, &config).is_empty());
    }
}
