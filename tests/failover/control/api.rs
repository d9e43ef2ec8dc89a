//! The JSON API: the status snapshot, each override as seen in DNS answers, failback, input
//! errors, and the token rule.

use super::harness::{endpoint, ips, pool_of, run_swivel, stderr, Server};

#[test]
fn status_json_shows_pools_endpoints_and_last_checks() {
    let server = Server::start();
    let status = server.status();
    assert_eq!(status["version"], env!("CARGO_PKG_VERSION"));
    let www = pool_of(&status, "www.example.test.");
    assert_eq!(www["policy"], "failover");
    assert_eq!(www["failback"], "auto");
    assert_eq!(www["active_tier"], 1);
    assert_eq!(www["ttl"], 30);
    assert_eq!(
        www["serving"],
        serde_json::json!(["127.0.0.2", "127.0.0.3"])
    );
    let up = endpoint(&status, "www.example.test.", "127.0.0.2");
    assert_eq!(up["state"], "up");
    assert_eq!(up["override"], serde_json::Value::Null);
    assert_eq!(up["serving"], true);
    assert_eq!(up["last_check"]["ok"], true);
    assert!(up["last_check"]["latency_ms"].as_f64().unwrap() >= 0.0);
    let down = endpoint(&status, "www.example.test.", "127.0.0.4");
    assert_eq!(down["state"], "down");
    assert_eq!(down["serving"], false);
    assert_eq!(down["last_check"]["ok"], false);
    let error = down["last_check"]["error"].as_str().unwrap();
    assert!(error.contains("refused"), "{error}");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    for field in [&down["since"], &down["last_check"]["at"]] {
        let at = field.as_f64().unwrap();
        assert!((now - 60.0..=now + 1.0).contains(&at), "{at} vs now {now}");
    }
    let api = pool_of(&status, "api.example.test.");
    assert_eq!(api["failback"], "manual");
    assert_eq!(api["active_tier"], 2);
    assert_eq!(api["latched_tier"], 2);
    assert_eq!(api["serving"], serde_json::json!(["127.0.0.2"]));

    let health = server.get("/healthz");
    assert_eq!((health.status, health.body.as_str()), (200, "ok\n"));
}

#[test]
fn overrides_drain_force_up_and_hand_back_to_the_checks() {
    let server = Server::start();
    let www = "www.example.test.";
    assert_eq!(server.answers(www), ips(&["127.0.0.2", "127.0.0.3"]));

    let reply = server.set_override(www, "127.0.0.3", "down");
    assert_eq!(reply.status, 200, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["override"], "down");
    assert_eq!(body["state"], "down");
    assert_eq!(body["serving"], serde_json::json!(["127.0.0.2"]));
    assert_eq!(server.answers(www), ips(&["127.0.0.2"]), "drained");
    let drained = endpoint(&server.status(), www, "127.0.0.3").clone();
    assert_eq!(drained["override"], "down");
    assert_eq!(drained["checked_state"], "up", "the checks still pass");

    // Force the endpoint without a backend up: it is answered although its checks fail.
    let reply = server.set_override("WWW.Example.Test", "127.0.0.4", "up");
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(server.answers(www), ips(&["127.0.0.2", "127.0.0.4"]));

    for address in ["127.0.0.3", "127.0.0.4"] {
        let reply = server.set_override(www, address, "auto");
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.json()["override"], serde_json::Value::Null);
    }
    assert_eq!(
        server.answers(www),
        ips(&["127.0.0.2", "127.0.0.3"]),
        "back to what the checks say"
    );
    let log = server.log();
    assert!(
        log.contains("override set over the control API")
            && log.contains("endpoint override changed"),
        "overrides are logged:\n{log}"
    );
}

#[test]
fn failback_releases_a_manual_pool() {
    let server = Server::start();
    let api = "api.example.test.";
    assert_eq!(server.answers(api), ips(&["127.0.0.2"]));
    // The tier-1 endpoint comes up (forced): the pool stays on tier 2 until released.
    assert_eq!(server.set_override(api, "127.0.0.4", "up").status, 200);
    assert_eq!(server.answers(api), ips(&["127.0.0.2"]), "held on tier 2");
    let reply = server.post("/v1/pools/api.example.test/failback", "");
    assert_eq!(reply.status, 200, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["released_tier"], 2);
    assert_eq!(body["serving"], serde_json::json!(["127.0.0.4"]));
    assert_eq!(server.answers(api), ips(&["127.0.0.4"]));
    assert_eq!(
        pool_of(&server.status(), api)["latched_tier"],
        serde_json::Value::Null
    );
}

#[test]
fn bad_requests_get_json_errors() {
    let server = Server::start();
    let cases = [
        (
            "/v1/pools/nope.example.test./endpoints/127.0.0.2/override",
            "{\"state\":\"down\"}",
            404,
            "no pool named nope.example.test.",
        ),
        (
            "/v1/pools/www.example.test./endpoints/127.0.0.9/override",
            "{\"state\":\"down\"}",
            404,
            "has no endpoint 127.0.0.9",
        ),
        (
            "/v1/pools/www.example.test./endpoints/%5B2001:db8::1%5D/override",
            "{\"state\":\"down\"}",
            404,
            "has no endpoint 2001:db8::1",
        ),
        (
            "/v1/pools/www.example.test./endpoints/2001:db8::1/override",
            "{\"state\":\"down\"}",
            404,
            "has no endpoint 2001:db8::1",
        ),
        (
            "/v1/pools/www.example.test./endpoints/banana/override",
            "{\"state\":\"down\"}",
            400,
            "not an IPv4 or IPv6 address",
        ),
        (
            "/v1/pools/www.example.test./endpoints/127.0.0.2/override",
            "{\"state\":\"sideways\"}",
            400,
            "use \\\"down\\\"",
        ),
        (
            "/v1/pools/www.example.test./endpoints/127.0.0.2/override",
            "not json",
            400,
            "the body must be",
        ),
        (
            "/v1/pools/nope.example.test./failback",
            "",
            404,
            "no pool named",
        ),
        ("/v1/nothing", "", 404, "no such path"),
        ("/v1/pools/www%FF/failback", "", 400, "UTF-8"),
    ];
    for (path, body, status, message) in cases {
        let reply = server.post(path, body);
        assert_eq!(reply.status, status, "{path}: {}", reply.body);
        assert!(
            reply.header("content-type").unwrap().contains("json"),
            "{path}"
        );
        assert!(reply.body.contains(message), "{path}: {}", reply.body);
        reply.json();
    }
    assert_eq!(server.get("/v1/reload").status, 405);
    assert_eq!(
        server.answers("www.example.test."),
        ips(&["127.0.0.2", "127.0.0.3"])
    );
}

#[test]
fn token_guards_every_change_and_leaves_reads_open() {
    let server = Server::start_with(Some("let-me-in-42-0123456"), &[]);
    let path = "/v1/pools/www.example.test./endpoints/127.0.0.3/override";
    let body = "{\"state\": \"down\"}";
    let control = server.control;
    let missing = crate::support::http::request(control, "POST", path, &[], body);
    let wrong = crate::support::http::request(
        control,
        "POST",
        path,
        &[("Authorization", "Bearer let-me-in-43")],
        body,
    );
    let reload = crate::support::http::request(control, "POST", "/v1/reload", &[], "");
    let failback = crate::support::http::request(
        control,
        "POST",
        "/v1/pools/api.example.test./failback",
        &[],
        "",
    );
    for reply in [&missing, &wrong, &reload, &failback] {
        assert_eq!(reply.status, 401, "{}", reply.body);
        assert!(reply
            .header("www-authenticate")
            .unwrap()
            .starts_with("Bearer"));
        reply.json();
    }
    assert!(
        missing.body.contains("Authorization: Bearer"),
        "{}",
        missing.body
    );
    assert!(wrong.body.contains("wrong token"), "{}", wrong.body);
    assert_eq!(
        server.answers("www.example.test."),
        ips(&["127.0.0.2", "127.0.0.3"]),
        "nothing changed"
    );

    for read in ["/v1/status", "/metrics", "/healthz", "/"] {
        assert_eq!(server.get(read).status, 200, "{read} stays open");
    }
    let right = server.post(path, body);
    assert_eq!(right.status, 200, "{}", right.body);
    assert_eq!(server.answers("www.example.test."), ips(&["127.0.0.2"]));
}

#[test]
fn a_non_loopback_control_listener_without_a_token_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("example.test.zone"), super::harness::ZONE).unwrap();
    let config = "[server]\nlisten = [\"127.0.0.1:0\"]\n\n[control]\nlisten = \"0.0.0.0:8053\"\n\n\
                  [[zone]]\norigin = \"example.test.\"\nfile = \"example.test.zone\"\n";
    let path = dir.path().join("swivel.toml");
    std::fs::write(&path, config).unwrap();
    let path = path.to_str().unwrap();
    let served = run_swivel(&["serve", "--config", path]);
    assert!(!served.status.success());
    let log = stderr(&served);
    let wanted = format!("{path}:5: control.listen: 0.0.0.0:8053 is not a loopback address");
    assert!(
        log.contains(&wanted) && log.contains("control.token is required"),
        "{log}"
    );
    assert!(log.contains("refusing to start"), "{log}");
    let checked = run_swivel(&["check", "--config", path]);
    assert!(!checked.status.success());
    assert!(stderr(&checked).contains(&wanted), "{}", stderr(&checked));
}

#[test]
fn a_taken_control_address_stops_start_up_naming_it() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("example.test.zone"), super::harness::ZONE).unwrap();
    let config = format!(
        "[server]\nlisten = [\"127.0.0.1:0\"]\n[control]\nlisten = \"{address}\"\n\
         [[zone]]\norigin = \"example.test.\"\nfile = \"example.test.zone\"\n"
    );
    let path = dir.path().join("swivel.toml");
    std::fs::write(&path, config).unwrap();
    let served = run_swivel(&["serve", "--config", path.to_str().unwrap()]);
    assert!(!served.status.success());
    let log = stderr(&served);
    assert!(
        log.contains(&format!("cannot listen on the control address {address}")),
        "{log}"
    );
}
