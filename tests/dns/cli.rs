//! The `swivel` binary's command line: `check` on good and bad configurations, `--version`,
//! and `serve` refusing a broken configuration.

use std::path::Path;
use std::process::{Command, Output};

const ZONE: &str = "\
$TTL 300
@    IN SOA ns1.example.test. hostmaster.example.test. 1 7200 3600 1209600 300
@    IN NS  ns1.example.test.
ns1  IN A   192.0.2.53
www  IN A   192.0.2.10
www  IN AAAA 2001:db8::10
";

const OTHER_ZONE: &str = "\
@    IN SOA ns1.other.test. hostmaster.other.test. 1 7200 3600 1209600 300
     IN NS  ns1.other.test.
ns1  3600 IN A 192.0.2.54
";

fn swivel(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_swivel"))
        .args(args)
        .output()
        .expect("run swivel")
}

fn check(config: &Path) -> (bool, String, String) {
    let output = swivel(&["check", "--config", config.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output.status.success(), stdout, stderr)
}

fn expect_refused(config: &Path, expected: &[&str]) -> String {
    let output = swivel(&["check", "--config", config.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(
        output.status.code(),
        Some(1),
        "check should exit 1; stderr:\n{stderr}"
    );
    for text in expected {
        assert!(
            stderr.contains(text),
            "stderr should contain {text:?}:\n{stderr}"
        );
    }
    stderr
}

/// A folder with swivel.toml (`config`) and the two zone files.
fn setup(config: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("swivel.toml"), config).unwrap();
    std::fs::write(dir.path().join("example.test.zone"), ZONE).unwrap();
    std::fs::create_dir(dir.path().join("zones")).unwrap();
    std::fs::write(dir.path().join("zones/other.test.zone"), OTHER_ZONE).unwrap();
    dir
}

const GOOD: &str = r#"[server]
listen = ["127.0.0.1:5300", "[::1]:5300"]
tcp_idle_timeout = "5s"

[[zone]]
origin = "example.test."
file = "example.test.zone"

[[zone]]
origin = "other.test"
file = "zones/other.test.zone"
"#;

#[test]
fn check_accepts_a_good_configuration_and_prints_counts() {
    let dir = setup(GOOD);
    let (ok, stdout, stderr) = check(&dir.path().join("swivel.toml"));
    assert!(ok, "check should succeed; stderr:\n{stderr}");
    assert!(stdout.contains("zone example.test. from "), "{stdout}");
    assert!(stdout.contains("example.test.zone: 5 records"), "{stdout}");
    assert!(stdout.contains("zone other.test. from "), "{stdout}");
    assert!(stdout.contains("other.test.zone: 3 records"), "{stdout}");
    assert!(stdout.contains("total: 2 zones, 8 records"), "{stdout}");
    assert!(stdout.contains("listen 127.0.0.1:5300"), "{stdout}");
}

#[test]
fn check_accepts_the_example_configuration() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/demo/swivel.toml");
    let (ok, stdout, stderr) = check(&example);
    assert!(ok, "check should succeed; stderr:\n{stderr}");
    assert!(stdout.contains("total: 1 zone, 15 records"), "{stdout}");
}

#[test]
fn check_names_an_unknown_key_with_file_and_line() {
    let dir = setup(&GOOD.replace("tcp_idle_timeout", "tcp_idle_timeout_secs"));
    expect_refused(
        &dir.path().join("swivel.toml"),
        &["swivel.toml:3:", "tcp_idle_timeout_secs"],
    );
}

#[test]
fn check_refuses_a_bad_origin() {
    let dir = setup(&GOOD.replace("\"other.test\"", "\"other..test\""));
    expect_refused(
        &dir.path().join("swivel.toml"),
        &["swivel.toml:10:", "other..test"],
    );
}

#[test]
fn check_refuses_a_missing_zone_file() {
    let dir = setup(GOOD);
    std::fs::remove_file(dir.path().join("zones/other.test.zone")).unwrap();
    expect_refused(
        &dir.path().join("swivel.toml"),
        &["swivel.toml:11:", "other.test.zone"],
    );
}

#[test]
fn check_reports_errors_in_every_zone() {
    let dir = setup(GOOD);
    let broken = ZONE.replace("192.0.2.10", "192.0.2.300");
    std::fs::write(dir.path().join("example.test.zone"), broken).unwrap();
    let other = format!("{OTHER_ZONE}bad  IN A  not-an-address\n");
    std::fs::write(dir.path().join("zones/other.test.zone"), other).unwrap();
    expect_refused(
        &dir.path().join("swivel.toml"),
        &["example.test.zone:5", "other.test.zone:4"],
    );
}

#[test]
fn check_refuses_an_unreadable_configuration() {
    expect_refused(
        Path::new("/nonexistent/swivel.toml"),
        &["/nonexistent/swivel.toml", "cannot read"],
    );
}

#[test]
fn serve_refuses_to_start_on_a_broken_configuration() {
    let dir = setup(&GOOD.replace("[server]", "[server]\nwrokers = 2"));
    let config = dir.path().join("swivel.toml");
    let output = swivel(&["serve", "--config", config.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("swivel.toml:2:") && stderr.contains("wrokers"),
        "{stderr}"
    );
}

#[test]
fn version_prints_the_package_version() {
    let output = swivel(&["--version"]);
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        stdout.trim(),
        format!("swivel {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn help_lists_the_commands() {
    let output = swivel(&["--help"]);
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    for text in ["serve", "check", "--version", "dig @127.0.0.1 -p 5353"] {
        assert!(
            stdout.contains(text),
            "help should mention {text:?}:\n{stdout}"
        );
    }
}

#[test]
fn check_requires_a_config_argument() {
    let output = swivel(&["check"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--config"));
}
