//! `swivel ctl` against a running server: its output, its exit codes, and every error it
//! must explain (no server, no or a wrong token, unknown names, a refused reload).

use super::harness::{ips, run_swivel, stderr, stdout, Server};

#[test]
fn ctl_shows_status_and_changes_endpoints() {
    let server = Server::start();
    let status = server.ctl(&["status"]);
    assert!(status.status.success(), "{}", stderr(&status));
    let text = stdout(&status);
    assert!(text.contains("www.example.test.  policy failover, failback auto, tier 1, TTL 30, degraded, serving 127.0.0.2, 127.0.0.3"), "{text}");
    assert!(
        text.contains(
            "api.example.test.  policy failover, failback manual, tier 2, held on tier 2"
        ),
        "{text}"
    );
    assert!(text.contains("ADDRESS    PRIO  STATE"), "{text}");
    let down_row = text
        .lines()
        .find(|l| l.trim_start().starts_with("127.0.0.4  1     down"))
        .unwrap_or_else(|| panic!("no row for 127.0.0.4:\n{text}"));
    assert!(down_row.contains("failed"), "{down_row}");

    let json = server.ctl(&["status", "--json"]);
    assert!(json.status.success());
    let parsed: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(parsed["pools"].as_array().unwrap().len(), 2);

    let drained = server.ctl(&["override", "www.example.test", "127.0.0.3", "down"]);
    assert!(drained.status.success(), "{}", stderr(&drained));
    assert_eq!(
        stdout(&drained),
        "www.example.test. 127.0.0.3: override down; state down; the pool serves 127.0.0.2\n"
    );
    assert_eq!(server.answers("www.example.test."), ips(&["127.0.0.2"]));
    let back = server.ctl(&["override", "www.example.test.", "127.0.0.3", "auto"]);
    assert!(back.status.success());
    assert!(
        stdout(&back).contains("no override (back to its checks); state up"),
        "{}",
        stdout(&back)
    );
    assert_eq!(
        server.answers("www.example.test."),
        ips(&["127.0.0.2", "127.0.0.3"])
    );
}

#[test]
fn ctl_failback_releases_a_held_pool() {
    let server = Server::start();
    assert!(server
        .ctl(&["override", "api.example.test.", "127.0.0.4", "up"])
        .status
        .success());
    assert_eq!(
        server.answers("api.example.test."),
        ips(&["127.0.0.2"]),
        "still held"
    );
    let released = server.ctl(&["failback", "api.example.test."]);
    assert!(released.status.success(), "{}", stderr(&released));
    assert_eq!(
        stdout(&released),
        "api.example.test.: released from tier 2; the pool serves 127.0.0.4\n"
    );
    assert_eq!(server.answers("api.example.test."), ips(&["127.0.0.4"]));
    let again = server.ctl(&["failback", "api.example.test."]);
    assert!(again.status.success());
    assert!(
        stdout(&again).contains("nothing to release"),
        "{}",
        stdout(&again)
    );
}

#[test]
fn ctl_reload_prints_the_result_or_every_error() {
    let server = Server::start();
    let zone = server.dir.join("example.test.zone");
    let grown = format!("{}new  A  192.0.2.99\n", super::harness::zone_text());
    std::fs::write(&zone, grown).unwrap();
    let config = server.ctl_config_path();
    // The address comes from --config this time.
    let reloaded = run_swivel(&["ctl", "--config", config.to_str().unwrap(), "reload"]);
    assert!(reloaded.status.success(), "{}", stderr(&reloaded));
    let text = stdout(&reloaded);
    assert!(
        text.contains("zone example.test. from") && text.contains("reloaded: 1 zone, 34 records"),
        "{text}"
    );
    assert_eq!(server.answers("new.example.test."), ips(&["192.0.2.99"]));

    std::fs::write(
        &zone,
        format!("{}oops  A  not-an-address\n", super::harness::ZONE),
    )
    .unwrap();
    let refused = server.ctl(&["reload"]);
    assert_eq!(refused.status.code(), Some(1));
    let errors = stderr(&refused);
    assert!(errors.contains("reload refused: 1 error"), "{errors}");
    assert!(
        errors.contains(&format!("{}:6: ", zone.display())),
        "{errors}"
    );
    assert!(stdout(&refused).is_empty());
    assert_eq!(
        server.answers("new.example.test."),
        ips(&["192.0.2.99"]),
        "old data kept"
    );
}

#[test]
fn ctl_errors_are_clear_and_exit_non_zero() {
    let server = Server::start_with(Some("tok-123-0123456789"), &[]);
    let unknown = server.ctl(&[
        "--token",
        "tok-123-0123456789",
        "failback",
        "nope.example.test.",
    ]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(
        stderr(&unknown).contains("no pool named nope.example.test. (404 Not Found)"),
        "{}",
        stderr(&unknown)
    );

    let no_token = server.ctl(&["override", "www.example.test.", "127.0.0.3", "down"]);
    assert_eq!(no_token.status.code(), Some(1));
    let message = stderr(&no_token);
    assert!(
        message.contains("401") && message.contains("--token"),
        "{message}"
    );
    let wrong = server.ctl(&["--token", "tok-124-0123456789", "reload"]);
    assert_eq!(wrong.status.code(), Some(1));
    assert!(
        stderr(&wrong).contains("does not match"),
        "{}",
        stderr(&wrong)
    );
    assert_eq!(
        server.answers("www.example.test."),
        ips(&["127.0.0.2", "127.0.0.3"])
    );

    // The token is read from the configuration file too.
    let config = server.ctl_config_path();
    let with_config = run_swivel(&[
        "ctl",
        "--config",
        config.to_str().unwrap(),
        "override",
        "www.example.test.",
        "127.0.0.3",
        "down",
    ]);
    assert!(with_config.status.success(), "{}", stderr(&with_config));
    assert_eq!(server.answers("www.example.test."), ips(&["127.0.0.2"]));

    // Bound without listening, and held: connections to it are refused.
    let (free, _held) = crate::support::backend::refusing_port(&["127.0.0.1"]);
    let nobody = run_swivel(&["ctl", "--control", &format!("127.0.0.1:{free}"), "status"]);
    assert_eq!(nobody.status.code(), Some(1));
    let message = stderr(&nobody);
    assert!(
        message.contains(&format!("127.0.0.1:{free}")) && message.contains("refused"),
        "{message}"
    );

    let bad_state = server.ctl(&["override", "www.example.test.", "127.0.0.3", "sideways"]);
    assert!(!bad_state.status.success());
    assert!(
        stderr(&bad_state).contains("sideways"),
        "{}",
        stderr(&bad_state)
    );
}
