//! The status page rendered by a real browser (headless Chromium), and JSON logs.

use super::harness::{run_swivel, Server};
use std::process::Command;
use std::time::Duration;

/// The Chromium binary, if installed.
fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser"].into_iter().find(|name| {
        Command::new(name)
            .arg("--version")
            .output()
            .is_ok_and(|out| out.status.success())
    })
}

#[test]
fn status_page_renders_in_headless_chromium() {
    let Some(browser) = chromium() else {
        return crate::support::skip(
            "status_page_renders_in_headless_chromium",
            "chromium is not installed (Debian package `chromium`; .ci/run installs it)",
        );
    };
    let server = Server::start();
    assert_eq!(
        server
            .set_override("www.example.test.", "127.0.0.3", "down")
            .status,
        200
    );
    let reply = server.get("/");
    assert_eq!(reply.status, 200);
    assert!(reply
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));

    let profile = tempfile::tempdir().unwrap();
    let url = format!("http://{}/", server.control);
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            &format!("--user-data-dir={}", profile.path().display()),
            "--dump-dom",
            &url,
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start chromium");
    let finished = crate::support::wait_until(Duration::from_secs(60), || {
        child.try_wait().ok().flatten().is_some()
    });
    if !finished {
        let _ = child.kill();
        panic!("chromium did not finish within 60 s");
    }
    let output = child.wait_with_output().unwrap();
    let dom = String::from_utf8_lossy(&output.stdout);
    assert!(dom.contains("<title>Swivel status</title>"), "{dom}");
    assert!(dom.contains("<h2>www.example.test.</h2>"), "{dom}");
    assert!(dom.contains("<h2>api.example.test.</h2>"), "{dom}");
    for (class, address) in [
        ("up", "127.0.0.2"),
        ("down", "127.0.0.3"),
        ("down", "127.0.0.4"),
    ] {
        let row = format!("<tr class=\"endpoint {class}\" data-address=\"{address}\">");
        assert!(dom.contains(&row), "missing {row} in:\n{dom}");
    }
    assert!(dom.contains("forced down by an operator"), "{dom}");
    assert!(
        dom.contains("http-equiv=\"refresh\""),
        "the page refreshes itself"
    );
}

#[test]
fn json_logs_are_one_object_per_line() {
    let server = Server::start_with(None, &["--log-format", "json"]);
    assert_eq!(
        server
            .set_override("www.example.test.", "127.0.0.3", "down")
            .status,
        200
    );
    let wanted = "override set over the control API";
    assert!(
        crate::support::wait_until(Duration::from_secs(5), || server.log().contains(wanted)),
        "{}",
        server.log()
    );
    let log = server.log();
    let mut override_logged = false;
    for line in log.lines() {
        let entry: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(
            entry["timestamp"].is_string() && entry["level"].is_string(),
            "{line}"
        );
        if entry["fields"]["message"] == wanted {
            assert_eq!(entry["level"], "INFO");
            assert_eq!(entry["fields"]["pool"], "www.example.test.");
            assert_eq!(entry["fields"]["endpoint"], "127.0.0.3");
            assert_eq!(entry["fields"]["state"], "down");
            override_logged = true;
        }
    }
    assert!(override_logged, "{log}");
    let refused = run_swivel(&["serve", "--log-format", "xml"]);
    assert!(!refused.status.success());
}
