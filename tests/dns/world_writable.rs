//! Swivel refuses a world-writable configuration file, configuration folder or state
//! folder: `swivel check` reports it and `swivel serve` does not start, naming the path.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use crate::support::zone::APEX as ZONE;

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn swivel(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_swivel"))
        .args(args)
        .output()
        .expect("run swivel")
}

/// A private folder with a configuration (port 0, a state folder) and its zone.
fn setup(dir: &Path) -> (String, std::path::PathBuf) {
    chmod(dir, 0o700);
    let state = dir.join("state");
    std::fs::create_dir(&state).unwrap();
    chmod(&state, 0o700);
    let config = dir.join("swivel.toml");
    std::fs::write(
        &config,
        "[server]\nlisten = [\"127.0.0.1:0\"]\nstate_dir = \"state\"\n[control]\nlisten = \"127.0.0.2:0\"\n\
         [[zone]]\norigin = \"example.test.\"\nfile = \"example.test.zone\"\n",
    )
    .unwrap();
    chmod(&config, 0o644);
    std::fs::write(dir.join("example.test.zone"), ZONE).unwrap();
    (config.to_str().unwrap().to_string(), state)
}

#[test]
fn check_and_serve_refuse_world_writable_places_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let (config, state) = setup(dir.path());
    let ok = swivel(&["check", "--config", &config]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );

    let places = [
        (Path::new(&config).to_path_buf(), 0o666),
        (dir.path().to_path_buf(), 0o777),
        (state.clone(), 0o1777),
    ];
    for (place, mode) in places {
        chmod(&place, mode);
        let checked = swivel(&["check", "--config", &config]);
        let stderr = String::from_utf8_lossy(&checked.stderr);
        assert_eq!(
            checked.status.code(),
            Some(1),
            "check of {}: {stderr}",
            place.display()
        );
        let named = format!("{} is world-writable", place.display());
        assert!(
            stderr.contains(&named),
            "check does not say {named:?}: {stderr}"
        );

        let served = swivel(&["serve", "--config", &config]);
        let log = String::from_utf8_lossy(&served.stderr);
        assert!(
            !served.status.success(),
            "serve started with {} world-writable",
            place.display()
        );
        assert!(log.contains(&named), "serve does not say {named:?}: {log}");
        chmod(
            &place,
            if place == Path::new(&config) {
                0o644
            } else {
                0o700
            },
        );
    }
    let ok = swivel(&["check", "--config", &config]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
}
