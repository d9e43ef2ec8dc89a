//! `POST /v1/reports` against a real `swivel serve`: each checker's own token, the body's
//! checker name checked against it, malformed bodies, results for unknown pools and
//! endpoints counted, the agent's timestamp shown, metrics, `swivel ctl status`, and a
//! reload that keeps the views of checkers that stay.

use super::fleet::Process;
use crate::support::backend::Backend;
use crate::support::http::{request, HttpReply};
use crate::support::process::{CONTROL_LISTEN, DNS_LISTEN, STARTUP};
use std::net::SocketAddr;
use std::path::Path;

use crate::support::zone::APEX as ZONE;

fn config(dns: &str, control: &str, port: u16, checkers: &[(&str, &str)]) -> String {
    let mut text = format!(
        "[server]\nlisten = [\"{dns}\"]\nworkers = 1\n[control]\nlisten = \"{control}\"\ntoken = \"ctl-token-01234567\"\n\
         [[zone]]\norigin = \"example.test.\"\nfile = \"example.test.zone\"\n\
         [[pool]]\nname = \"www.example.test.\"\n[pool.check]\nkind = \"tcp\"\nport = {port}\n\
         interval = \"500ms\"\ntimeout = \"400ms\"\nstale_after = \"1h\"\n\
         [[pool.endpoint]]\naddress = \"127.0.30.2\"\n"
    );
    for (name, token) in checkers {
        text.push_str(&format!(
            "[[checker]]\nname = \"{name}\"\ntoken = \"{token}\"\n"
        ));
    }
    text
}

fn post(control: SocketAddr, path: &str, token: Option<&str>, body: &str) -> HttpReply {
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
    request(control, "POST", path, &headers, body)
}

fn report(checker: &str, results: &str) -> String {
    format!("{{\"checker\": \"{checker}\", \"results\": [{results}]}}")
}

const GOOD: &str = r#"{"pool": "WWW.example.test", "address": "127.0.30.2", "ok": true, "latency_ms": 2.5, "at": 1700000000.25}"#;
const STRANGERS: &str = r#"{"pool": "nope.example.test.", "address": "127.0.30.2", "ok": false, "latency_ms": 1, "error": "refused", "reason": "refused", "at": 1700000000.5},
  {"pool": "www.example.test.", "address": "192.0.2.99", "ok": true, "latency_ms": 1, "at": 1700000000.5}"#;

fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
}

#[test]
fn reports_need_the_checkers_own_token_and_unknown_endpoints_are_counted() {
    let backend = Backend::start(SocketAddr::new([127, 0, 30, 2].into(), 0));
    let port = backend.addr().port();
    let dir = tempfile::tempdir().unwrap();
    let dns = DNS_LISTEN;
    let control = CONTROL_LISTEN;
    std::fs::write(dir.path().join("example.test.zone"), ZONE).unwrap();
    let path = dir.path().join("swivel.toml");
    let fleet = [
        ("fra1", "fra1-token-0123456"),
        ("nyc1", "nyc1-token-0123456"),
    ];
    std::fs::write(&path, config(dns, control, port, &fleet)).unwrap();
    let server = Process::swivel_in(
        &[],
        &["serve", "--config", path.to_str().unwrap()],
        &dir.path().join("swivel.log"),
    );
    let listening = server.wait_listening(STARTUP);
    let (dns, control) = (listening.dns(), listening.control);

    let good = report("fra1", GOOD);
    let refused = post(control, "/v1/reports", None, &good);
    assert_eq!(refused.status, 401, "{}", refused.body);
    assert_eq!(
        refused.header("www-authenticate"),
        Some("Bearer realm=\"swivel\"")
    );
    assert_eq!(
        post(control, "/v1/reports", Some("ctl-token-01234567"), &good).status,
        401,
        "the control token is no checker's"
    );
    assert_eq!(
        post(control, "/v1/reports", Some("fra1-token-0123456-"), &good).status,
        401
    );
    let forbidden = post(
        control,
        "/v1/reports",
        Some("fra1-token-0123456"),
        &report("nyc1", GOOD),
    );
    assert_eq!(forbidden.status, 403, "{}", forbidden.body);
    assert!(
        forbidden.body.contains("belongs to checker \\\"fra1\\\""),
        "{}",
        forbidden.body
    );
    let malformed = post(
        control,
        "/v1/reports",
        Some("fra1-token-0123456"),
        "{\"checker\": \"fra1\"",
    );
    assert_eq!(malformed.status, 400, "{}", malformed.body);
    assert_eq!(
        post(control, "/v1/reload", Some("fra1-token-0123456"), "").status,
        401,
        "a checker token changes nothing else"
    );

    let body = report("fra1", &format!("{GOOD}, {STRANGERS}"));
    let accepted = post(control, "/v1/reports", Some("fra1-token-0123456"), &body);
    assert_eq!(accepted.status, 200, "{}", accepted.body);
    assert_eq!(
        accepted.json(),
        serde_json::json!({"accepted": 1, "ignored": 2})
    );

    let status = request(control, "GET", "/v1/status", &[], "").json();
    let endpoint = &status["pools"][0]["endpoints"][0];
    let fra1 = &endpoint["checkers"][1];
    assert_eq!(
        (fra1["checker"].as_str(), fra1["state"].as_str()),
        (Some("fra1"), Some("up"))
    );
    assert_eq!(
        fra1["last_result"]["reported_at"], 1700000000.25,
        "the agent's timestamp is shown"
    );
    assert_eq!(fra1["last_result"]["latency_ms"], 2.5);
    assert_eq!(
        endpoint["checkers"][2]["state"], "unknown",
        "nyc1 has not reported"
    );
    let checkers = &status["checkers"];
    assert_eq!(checkers[0]["name"], "local");
    assert_eq!(
        (
            checkers[1]["reports"].as_u64(),
            checkers[1]["results"].as_u64(),
            checkers[1]["ignored"].as_u64()
        ),
        (Some(1), Some(1), Some(2))
    );

    let metrics = request(control, "GET", "/metrics", &[], "").body;
    for (series, value) in [
        ("swivel_report_rejections_total{reason=\"unauthorized\"}", 3.0),
        ("swivel_report_rejections_total{reason=\"forbidden\"}", 1.0),
        ("swivel_report_rejections_total{reason=\"malformed\"}", 1.0),
        ("swivel_checker_results_total{checker=\"fra1\",result=\"ignored\"}", 2.0),
        ("swivel_checker_view_up{pool=\"www.example.test.\",address=\"127.0.30.2\",checker=\"fra1\"}", 1.0),
        ("swivel_endpoint_quorum{pool=\"www.example.test.\",address=\"127.0.30.2\"}", 1.0),
    ] {
        assert_eq!(metric(&metrics, series), Some(value), "{series} in:\n{metrics}");
    }

    let ctl = std::process::Command::new(env!("CARGO_BIN_EXE_swivel"))
        .args(["ctl", "--control", &control.to_string(), "status"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&ctl.stdout);
    assert!(
        text.contains("checkers: local, fra1 (last report "),
        "{text}"
    );
    assert!(text.contains("nyc1 (no report yet)"), "{text}");
    let fra1_row = text.lines().find(|l| l.trim_start().starts_with("fra1 "));
    let fra1_row = fra1_row.unwrap_or_else(|| panic!("no row for fra1 in:\n{text}"));
    assert!(
        fra1_row.contains(" up ") && fra1_row.contains("22:13:20.250 UTC"),
        "the agent's clock is shown: {fra1_row}"
    );

    reload_keeps_views_of_checkers_that_stay(&path, control, dns, port);
    assert!(
        server.log().contains("the checkers changed"),
        "{}",
        server.log()
    );
}

fn reload_keeps_views_of_checkers_that_stay(
    path: &Path,
    control: SocketAddr,
    dns: SocketAddr,
    port: u16,
) {
    let fleet = [
        ("sin1", "sin1-token-0123456"),
        ("fra1", "fra1-token-0123456"),
    ];
    // The same listen addresses as the running server's file: nothing needs a restart.
    let _ = dns;
    std::fs::write(path, config(DNS_LISTEN, CONTROL_LISTEN, port, &fleet)).unwrap();
    let reload = post(control, "/v1/reload", Some("ctl-token-01234567"), "");
    assert_eq!(reload.status, 200, "{}", reload.body);
    let status = request(control, "GET", "/v1/status", &[], "").json();
    let views: Vec<(String, String)> = status["pools"][0]["endpoints"][0]["checkers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["checker"].as_str().unwrap().into(),
                v["state"].as_str().unwrap().into(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = [("local", "up"), ("sin1", "unknown"), ("fra1", "up")]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(views, expected, "fra1's view is kept; nyc1 is gone");
    assert_eq!(
        post(
            control,
            "/v1/reports",
            Some("nyc1-token-0123456"),
            &report("nyc1", GOOD)
        )
        .status,
        401
    );
    assert_eq!(
        post(
            control,
            "/v1/reports",
            Some("sin1-token-0123456"),
            &report("sin1", GOOD)
        )
        .status,
        200
    );
}
