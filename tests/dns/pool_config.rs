//! `swivel check` on pool configurations: the shipped examples pass, and a pool that
//! clashes with its zone or is malformed is refused with file and line.

use std::path::Path;
use std::process::{Command, Output};

fn check(config: &Path) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_swivel"))
        .args(["check", "--config"])
        .arg(config)
        .output();
    output.expect("run swivel check")
}

#[test]
fn the_example_configurations_pass_check() {
    for example in [
        "examples/active-passive/swivel.toml",
        "examples/two-sites/swivel.toml",
        "examples/three-sites/swivel.toml",
    ] {
        let output = check(Path::new(example));
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{example}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            stdout.contains("pool "),
            "{example} lists its pools: {stdout}"
        );
    }
}

/// A zone of its own: the test names the line of `www` in it.
const ZONE: &str = "\
$ORIGIN example.test.
@    SOA ns1 hostmaster 1 7200 3600 1209600 60
@    NS  ns1
ns1  A   192.0.2.53
www  A   192.0.2.80
";

fn config_with(pool: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("example.test.zone"), ZONE).unwrap();
    let text =
        format!("[[zone]]\norigin = \"example.test.\"\nfile = \"example.test.zone\"\n\n{pool}");
    let path = dir.path().join("swivel.toml");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

const POOL: &str = "\
[[pool]]
name = \"www.example.test.\"
[pool.check]
kind = \"tcp\"
port = 80
[[pool.endpoint]]
address = \"192.0.2.1\"
";

#[test]
fn a_pool_over_zone_addresses_is_refused_naming_both_places() {
    let (_dir, path) = config_with(POOL);
    let output = check(&path);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("swivel.toml:5:"),
        "the pool's line: {stderr}"
    );
    assert!(
        stderr.contains("example.test.zone") && stderr.contains("A at line 5"),
        "the record's place: {stderr}"
    );
}

#[test]
fn malformed_pools_are_refused_with_their_line() {
    let outside = POOL.replace("www.example.test.", "www.elsewhere.test.");
    let (_dir, path) = config_with(&outside);
    let stderr = String::from_utf8_lossy(&check(&path).stderr).to_string();
    assert!(
        stderr.contains("swivel.toml:5:") && stderr.contains("no configured zone"),
        "{stderr}"
    );

    let slow = POOL.replace("www.", "pool.").replace(
        "port = 80",
        "port = 80\ninterval = \"1s\"\ntimeout = \"2s\"",
    );
    let (_dir, path) = config_with(&slow);
    let stderr = String::from_utf8_lossy(&check(&path).stderr).to_string();
    assert!(
        stderr.contains("swivel.toml:5:") && stderr.contains("timeout"),
        "{stderr}"
    );

    let typo = POOL
        .replace("www.", "pool.")
        .replace("port = 80", "port = 80\nfal = 3");
    let (_dir, path) = config_with(&typo);
    let stderr = String::from_utf8_lossy(&check(&path).stderr).to_string();
    assert!(stderr.contains("fal"), "the unknown key is named: {stderr}");
    assert!(stderr.contains("swivel.toml:"), "{stderr}");
}
