//! Unit tests of configuration parsing, defaults and validation.

use super::*;

fn parse_text(text: &str) -> Result<Config, Diagnostics> {
    parse(
        text,
        Path::new("/etc/swivel/swivel.toml"),
        Path::new("/etc/swivel"),
    )
}

fn errors(text: &str) -> Vec<Diagnostic> {
    parse_text(text)
        .expect_err("configuration should be refused")
        .0
}

const ONE_ZONE: &str = "[[zone]]\norigin = \"example.test.\"\nfile = \"example.test.zone\"\n";

#[test]
fn full_configuration_parses() {
    let text = r#"
[server]
listen = ["127.0.0.1:5353", "[::1]:5353"]
workers = 3
tcp_idle_timeout = "2500ms"
tcp_max_connections = 100
tcp_max_per_client = 4
[control]
listen = "127.0.0.1:9000"
[[zone]]
origin = "example.test."
file = "example.test.zone"
[[zone]]
origin = "Other.Test"
file = "/var/zones/other.zone"
"#;
    let config = parse_text(text).unwrap();
    assert_eq!(
        config.server.listen,
        vec![
            "127.0.0.1:5353".parse::<SocketAddr>().unwrap(),
            "[::1]:5353".parse().unwrap()
        ]
    );
    assert_eq!(config.server.workers, 3);
    assert_eq!(config.server.tcp_idle_timeout, Duration::from_millis(2500));
    assert_eq!(config.server.tcp_max_connections, 100);
    assert_eq!(config.server.tcp_max_per_client, 4);
    assert_eq!(config.control.listen, "127.0.0.1:9000".parse().unwrap());
    assert_eq!(config.zones.len(), 2);
    assert_eq!(
        config.zones[0].origin,
        Name::from_text("example.test.").unwrap()
    );
    assert_eq!(
        config.zones[0].file,
        PathBuf::from("/etc/swivel/example.test.zone")
    );
    assert_eq!(config.zones[0].line, 12);
    assert_eq!(
        config.zones[1].origin,
        Name::from_text("other.test.").unwrap()
    );
    assert_eq!(config.zones[1].file, PathBuf::from("/var/zones/other.zone"));
}

#[test]
fn omitted_keys_take_documented_defaults() {
    let config = parse_text(ONE_ZONE).unwrap();
    assert_eq!(
        config.server.listen,
        vec![DEFAULT_LISTEN.parse::<SocketAddr>().unwrap()]
    );
    assert_eq!(config.server.workers, 0);
    assert_eq!(config.server.tcp_idle_timeout, Duration::from_secs(10));
    assert_eq!(config.server.tcp_max_connections, 1024);
    assert_eq!(config.server.tcp_max_per_client, 32);
    assert_eq!(
        config.control.listen,
        DEFAULT_CONTROL_LISTEN.parse().unwrap()
    );
    let settings = crate::server::Settings::from_config(&config.server);
    assert_eq!(settings.listen, config.server.listen);
    assert_eq!(settings.tcp_max_per_client, 32);
}

#[test]
fn unknown_key_is_named_with_its_line() {
    let text = format!("[server]\nworkers = 1\nlisten_udp = [\"127.0.0.1:53\"]\n{ONE_ZONE}");
    let errors = errors(&text);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].line, 3);
    assert!(
        errors[0].message.contains("listen_udp"),
        "{}",
        errors[0].message
    );
    assert_eq!(errors[0].file, PathBuf::from("/etc/swivel/swivel.toml"));
}

#[test]
fn unknown_table_is_an_error() {
    let errors = errors(&format!("{ONE_ZONE}[[pools]]\nname = \"x\"\n"));
    assert!(errors[0].message.contains("pools"), "{}", errors[0].message);
    assert_eq!(errors[0].line, 4);
}

#[test]
fn wrong_type_reports_line() {
    let errors = errors(&format!("[server]\n\nworkers = \"many\"\n{ONE_ZONE}"));
    assert_eq!(errors[0].line, 3);
}

#[test]
fn every_validation_error_is_reported() {
    let text = r#"[server]
listen = ["127.0.0.1:53", "localhost:53", "127.0.0.1:53"]
tcp_idle_timeout = "ten seconds"
tcp_max_connections = 0
[control]
listen = "127.0.0.1:53"
[[zone]]
origin = "bad..name"
file = "a.zone"
[[zone]]
origin = "example.test"
file = "b.zone"
[[zone]]
origin = "EXAMPLE.test."
file = "c.zone"
"#;
    let errors = errors(text);
    let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, vec![2, 2, 3, 4, 6, 8, 14], "{errors:?}");
    assert!(errors[0].message.contains("localhost:53"));
    assert!(errors[1].message.contains("twice"));
    assert!(errors[2].message.contains("ten seconds"));
    assert!(errors[4].message.contains("control.listen"));
    assert!(errors[5].message.contains("bad..name"));
    assert!(errors[6].message.contains("example.test.") && errors[6].message.contains("line 11"));
}

#[test]
fn empty_listen_and_no_zones_are_refused() {
    let errors = errors("[server]\nlisten = []\n");
    assert_eq!(errors.len(), 2);
    assert_eq!(errors[0].line, 2);
    assert!(errors[1].message.contains("[[zone]]"));
}

#[test]
fn zone_without_file_is_refused() {
    let errors = errors("[[zone]]\norigin = \"example.test.\"\n");
    assert!(errors[0].message.contains("file"), "{}", errors[0].message);
}

#[test]
fn zero_timeout_and_too_many_workers_are_refused() {
    let errors = errors(&format!(
        "[server]\nworkers = 5000\ntcp_idle_timeout = \"0s\"\n{ONE_ZONE}"
    ));
    let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, vec![2, 3]);
}

#[test]
fn load_resolves_paths_against_the_file_folder() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("swivel.toml");
    std::fs::write(&path, ONE_ZONE).unwrap();
    let config = load(&path).unwrap();
    assert_eq!(config.zones[0].file, dir.path().join("example.test.zone"));
    assert_eq!(config.file, path);
}

#[test]
fn missing_file_is_a_diagnostic() {
    let errors = load(Path::new("/nonexistent/swivel.toml")).unwrap_err().0;
    assert_eq!(errors[0].file, PathBuf::from("/nonexistent/swivel.toml"));
    assert!(errors[0].message.contains("cannot read"));
}

#[test]
fn control_token_is_read_and_never_printed() {
    let config = parse_text(&format!(
        "[control]\nlisten = \"127.0.0.1:9000\"\ntoken = \"s3cret-token-0123\"\n{ONE_ZONE}"
    ))
    .unwrap();
    assert_eq!(config.control.token.as_deref(), Some("s3cret-token-0123"));
    let printed = format!("{:?}", config.control);
    assert!(!printed.contains("s3cret"), "{printed}");
    let without = parse_text(ONE_ZONE).unwrap();
    assert_eq!(without.control.token, None);
}

#[test]
fn non_loopback_control_listener_needs_a_token() {
    let errors = errors(&format!(
        "[server]\nlisten = [\"127.0.0.1:53\"]\n[control]\n\nlisten = \"0.0.0.0:8053\"\n{ONE_ZONE}"
    ));
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].line, 5);
    assert!(
        errors[0].message.contains("control.token is required"),
        "{}",
        errors[0].message
    );
    for listen in ["0.0.0.0:8053", "[2001:db8::1]:8053", "192.0.2.1:8053"] {
        let text =
            format!("[control]\nlisten = \"{listen}\"\ntoken = \"abcdefghijklmnop\"\n{ONE_ZONE}");
        assert!(parse_text(&text).is_ok(), "{listen} with a token");
    }
    for listen in ["127.0.0.2:8053", "[::1]:8053"] {
        let text = format!("[control]\nlisten = \"{listen}\"\n{ONE_ZONE}");
        assert!(parse_text(&text).is_ok(), "{listen} is loopback");
    }
}

#[test]
fn tokens_shorter_than_16_characters_are_refused_with_their_line() {
    let text = format!(
        "[control]\ntoken = \"fifteen-chars-x\"\n{ONE_ZONE}[[checker]]\nname = \"fra1\"\ntoken = \"short\"\n"
    );
    let found = errors(&text);
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(found[0].line, 2);
    assert!(
        found[0]
            .message
            .contains("control.token: 15 characters is too short")
            && found[0].message.contains("at least 16"),
        "{}",
        found[0].message
    );
    assert_eq!(found[1].line, 8);
    assert!(
        found[1].message.starts_with("checker.token: 5 characters"),
        "{}",
        found[1].message
    );
    let probe = probe_errors(&format!(
        "{POOL}[probe]\nname = \"c1\"\nreport_to = [\"http://127.0.0.1:8053\"]\ntoken = \"0123456789abcde\"\n"
    ));
    assert!(
        probe[0].message.starts_with("probe.token: 15 characters"),
        "{probe:?}"
    );
    let sixteen = format!("[control]\ntoken = \"sixteen-chars-xy\"\n{ONE_ZONE}");
    assert!(parse_text(&sixteen).is_ok());
}

#[test]
fn control_tls_and_limits_parse_with_paths_from_the_config_folder() {
    let text = format!(
        "[control]\ntls_cert = \"tls/cert.pem\"\ntls_key = \"/keys/key.pem\"\n\
         tls_client_ca = \"agents.pem\"\nmax_connections = 32\nheader_read_timeout = \"2s\"\n\
         idle_timeout = \"90s\"\nrequest_timeout = \"10s\"\nmax_body_size = 4096\n{ONE_ZONE}"
    );
    let control = parse_text(&text).unwrap().control;
    assert_eq!(
        control.tls,
        Some(ControlTls {
            cert: PathBuf::from("/etc/swivel/tls/cert.pem"),
            key: PathBuf::from("/keys/key.pem"),
            client_ca: Some(PathBuf::from("/etc/swivel/agents.pem")),
        })
    );
    assert_eq!(control.max_connections, 32);
    assert_eq!(control.header_read_timeout, Duration::from_secs(2));
    assert_eq!(control.idle_timeout, Duration::from_secs(90));
    assert_eq!(control.request_timeout, Duration::from_secs(10));
    assert_eq!(control.max_body_size, 4096);
    let defaults = parse_text(ONE_ZONE).unwrap().control;
    assert_eq!(defaults.tls, None);
    assert_eq!(
        (defaults.max_connections, defaults.max_body_size),
        (256, 1 << 20)
    );
    assert_eq!(defaults.header_read_timeout, Duration::from_secs(5));
    assert_eq!(defaults.idle_timeout, Duration::from_secs(60));
    assert_eq!(defaults.request_timeout, Duration::from_secs(30));
}

#[test]
fn control_tls_and_limit_mistakes_are_named_with_their_lines() {
    for (keys, line, wanted) in [
        ("tls_cert = \"c.pem\"", 2, "give both"),
        ("\ntls_key = \"k.pem\"", 3, "give both"),
        (
            "tls_client_ca = \"ca.pem\"",
            2,
            "client certificates need TLS",
        ),
        ("max_connections = 0", 2, "at least 1"),
        ("header_read_timeout = \"0s\"", 2, "more than zero"),
        ("idle_timeout = \"soon\"", 2, "invalid duration"),
        ("max_body_size = 10", 2, "out of range"),
    ] {
        let found = errors(&format!("[control]\n{keys}\n{ONE_ZONE}"));
        assert_eq!(found.len(), 1, "{keys}: {found:?}");
        assert_eq!(found[0].line, line, "{keys}: {found:?}");
        assert!(
            found[0].message.contains(wanted),
            "{keys}: {}",
            found[0].message
        );
    }
}

#[test]
fn empty_or_spaced_tokens_are_refused() {
    for (token, wanted) in [("", "give a token"), ("two words", "printable ASCII")] {
        let errors = errors(&format!("[control]\ntoken = \"{token}\"\n{ONE_ZONE}"));
        assert_eq!(errors[0].line, 2);
        assert!(errors[0].message.contains(wanted), "{}", errors[0].message);
    }
}

const POOL: &str = "[[pool]]\nname = \"www.example.test.\"\n[pool.check]\nkind = \"tcp\"\nport = 80\nquorum = 2\n[[pool.endpoint]]\naddress = \"192.0.2.1\"\n";

const PROBE: &str = "[probe]\nname = \"fra1\"\nreport_to = [\"https://ns1.example.net:8053\", \"http://127.0.0.1:8053\"]\ntoken = \"fra1-secret-0123456\"\nca_file = \"ca.pem\"\n";

fn probe_errors(text: &str) -> Vec<Diagnostic> {
    parse_as(
        text,
        Path::new("/etc/swivel/swivel.toml"),
        Path::new("/etc/swivel"),
        Mode::Probe,
    )
    .expect_err("configuration should be refused")
    .0
}

#[test]
fn checkers_and_quorum_parse_for_a_responder() {
    let text = format!(
        "{ONE_ZONE}[checks]\nlocal = false\n[[checker]]\nname = \"fra1\"\ntoken = \"token-of-fra1-0123\"\n\
         [[checker]]\nname = \"nyc1\"\ntoken = \"token-of-nyc1-0123\"\n{POOL}{PROBE}"
    );
    let config = parse_text(&text).unwrap();
    assert!(!config.local_checks);
    let names: Vec<&str> = config.checkers.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["fra1", "nyc1"]);
    assert!(
        !format!("{config:?}").contains("fra1-secret"),
        "tokens are never printed"
    );
    let probe = config.probe.unwrap();
    assert_eq!(probe.report_to.len(), 2);
    assert_eq!(probe.ca_file, Some(PathBuf::from("/etc/swivel/ca.pem")));
    assert!(parse_text(ONE_ZONE).unwrap().local_checks);
}

#[test]
fn an_agent_needs_probe_and_pools_but_no_zones() {
    let config = parse_as(
        &format!("{POOL}{PROBE}"),
        Path::new("agent.toml"),
        Path::new(""),
        Mode::Probe,
    )
    .unwrap();
    assert_eq!(config.probe.unwrap().name, "fra1");
    assert!(config.zones.is_empty());
    let errors = probe_errors(POOL);
    assert!(
        errors[0].message.contains("no [probe] table"),
        "{}",
        errors[0].message
    );
    let errors = probe_errors(PROBE);
    assert!(
        errors[0].message.contains("no pools"),
        "{}",
        errors[0].message
    );
}

#[test]
fn probe_mistakes_are_named_with_their_lines() {
    let text = format!(
        "{POOL}[probe]\nname = \"local\"\nreport_to = [\"http://198.18.0.1:8053\", \"ftp://x\"]\ntoken = \"has space\"\n"
    );
    let errors = probe_errors(&text);
    let found: Vec<(usize, &str)> = errors
        .iter()
        .map(|e| (e.line, e.message.as_str()))
        .collect();
    assert_eq!(errors.len(), 4, "{found:?}");
    assert!(
        found
            .iter()
            .any(|(line, m)| *line == 10 && m.contains("\"local\" is the responder's own checks")),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|(line, m)| *line == 11 && m.contains("plain http to another machine")),
        "{found:?}"
    );
    assert!(
        found.iter().any(|(_, m)| m.contains("https:// or http://")),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|(line, m)| *line == 12 && m.contains("printable ASCII")),
        "{found:?}"
    );
    let allowed = format!(
        "{POOL}[probe]\nname = \"c1\"\nreport_to = [\"http://198.18.0.1:8053\"]\ntoken = \"token-of-c1-012345\"\nallow_plain_http = true\n"
    );
    let config = parse_as(&allowed, Path::new("a.toml"), Path::new(""), Mode::Probe).unwrap();
    assert!(config.probe.unwrap().allow_plain_http);
}

#[test]
fn checker_tables_must_be_unique_and_quorums_reachable() {
    let text = format!(
        "{ONE_ZONE}[control]\ntoken = \"ctl-token-0123456\"\n\
         [[checker]]\nname = \"fra1\"\ntoken = \"token-a-0123456789\"\n\
         [[checker]]\nname = \"fra1\"\ntoken = \"token-b-0123456789\"\n\
         [[checker]]\nname = \"nyc1\"\ntoken = \"token-a-0123456789\"\n\
         [[checker]]\nname = \"sin1\"\ntoken = \"ctl-token-0123456\"\n\
         [[checker]]\nname = \"local\"\ntoken = \"token-d-0123456789\"\n\
         [[checker]]\nname = \"bad name\"\ntoken = \"token-e-0123456789\"\n"
    );
    let found = errors(&text);
    let messages: Vec<String> = found
        .iter()
        .map(|e| format!("{}: {}", e.line, e.message))
        .collect();
    assert_eq!(found.len(), 5, "{messages:#?}");
    assert!(
        messages[0].starts_with("10: checker.name: \"fra1\" is defined twice (first on line 7)"),
        "{messages:#?}"
    );
    assert!(
        messages[1].contains("same token as checker \"fra1\""),
        "{messages:#?}"
    );
    assert!(
        messages[2].contains("has the control.token"),
        "{messages:#?}"
    );
    assert!(
        messages[3].contains("\"local\" is the responder's own checks"),
        "{messages:#?}"
    );
    assert!(
        messages[4].contains("is not a checker name"),
        "{messages:#?}"
    );

    let unreachable = errors(&format!("{ONE_ZONE}{POOL}"));
    assert_eq!(unreachable.len(), 1);
    assert_eq!(unreachable[0].line, 4, "the pool's line");
    assert!(
        unreachable[0]
            .message
            .contains("check.quorum: 2 fresh checkers must agree, but only 1 report (local)"),
        "{}",
        unreachable[0].message
    );
    let nobody = errors(&format!(
        "{ONE_ZONE}[checks]\nlocal = false\n{}",
        POOL.replace("quorum = 2\n", "")
    ));
    assert!(
        nobody[0].message.contains("nothing would check the pools"),
        "{}",
        nobody[0].message
    );
}

#[test]
fn probe_metrics_listen_is_optional_and_checked_with_its_line() {
    let probe = "[probe]\nname = \"c1\"\nreport_to = [\"http://127.0.0.1:8053\"]\n\
                 token = \"c1-token-of-some-length\"\n";
    let parse = |extra: &str| {
        parse_as(
            &format!("{POOL}{probe}{extra}"),
            Path::new("agent.toml"),
            Path::new(""),
            Mode::Probe,
        )
    };
    let without = parse("").unwrap().probe.unwrap();
    assert_eq!(without.metrics_listen, None);
    let with = parse("metrics_listen = \"127.0.0.1:9101\"\n")
        .unwrap()
        .probe
        .unwrap();
    assert_eq!(with.metrics_listen, Some("127.0.0.1:9101".parse().unwrap()));
    let errors = parse("metrics_listen = \"localhost\"\n").unwrap_err().0;
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].line, 13, "{}", errors[0].message);
    assert!(
        errors[0]
            .message
            .contains("probe.metrics_listen: invalid address"),
        "{}",
        errors[0].message
    );
}

const SECRET: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

#[test]
fn a_zone_with_primaries_is_a_secondary_zone_with_its_key() {
    let text = format!(
        "[server]\nstate_dir = \"/var/lib/swivel\"\n\
         [[tsig]]\nname = \"xfr-key\"\nalgorithm = \"hmac-sha256\"\nsecret = \"{SECRET}\"\n\
         [[zone]]\norigin = \"example.test.\"\nprimaries = [\"192.0.2.53:53\", \"[2001:db8::53]:5353\"]\ntsig = \"xfr-key\"\n"
    );
    let config = parse_text(&text).unwrap();
    let zone = &config.zones[0];
    let secondary = zone.secondary.as_ref().expect("a secondary zone");
    assert_eq!(
        secondary.primaries,
        vec![
            "192.0.2.53:53".parse::<SocketAddr>().unwrap(),
            "[2001:db8::53]:5353".parse().unwrap()
        ]
    );
    let key = secondary.tsig.as_ref().unwrap();
    assert_eq!(key.name, Name::from_text("xfr-key.").unwrap());
    assert_eq!(key.algorithm, TsigAlgorithm::HmacSha256);
    assert_eq!(key.secret, b"0123456789abcdef0123456789abcdef");
    assert_eq!(
        zone.file,
        PathBuf::from("/var/lib/swivel/secondary/example.test.zone")
    );
    assert!(!format!("{config:?}").contains("0123456789abcdef"));
}

#[test]
fn bad_tsig_keys_and_secondary_zones_are_refused_at_their_line() {
    let text = "[[tsig]]\nname = \"k1\"\nalgorithm = \"hmac-md5\"\nsecret = \"MDEy\"\n\
                [[tsig]]\nname = \"k2\"\nalgorithm = \"hmac-sha512\"\nsecret = \"!!!\"\n\
                [[zone]]\norigin = \"a.test.\"\nprimaries = [\"192.0.2.1\"]\ntsig = \"nokey\"\n\
                [[zone]]\norigin = \"b.test.\"\nfile = \"b.zone\"\nprimaries = [\"192.0.2.1:53\"]\n\
                [[zone]]\norigin = \"c.test.\"\n";
    let errors = errors(text);
    let found = |line: usize, part: &str| {
        assert!(
            errors
                .iter()
                .any(|e| e.line == line && e.message.contains(part)),
            "no error at line {line} with {part:?}: {errors:#?}"
        )
    };
    found(3, "hmac-md5");
    found(4, "at least 16");
    found(8, "not base64");
    found(10, "needs server.state_dir");
    found(11, "invalid address");
    found(12, "no [[tsig]] key is named \"nokey\"");
    found(15, "not both");
    found(18, "give file");
}

#[test]
fn a_secret_file_must_be_private_and_base64() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("xfr.secret");
    std::fs::write(&secret, format!("{SECRET}\n")).unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).unwrap();
    let text = format!(
        "[server]\nstate_dir = \"state\"\n[[tsig]]\nname = \"k\"\nalgorithm = \"hmac-sha256\"\n\
         secret_file = \"xfr.secret\"\n{ONE_ZONE}"
    );
    let parse_here = || parse(&text, &dir.path().join("swivel.toml"), dir.path());
    let refused = parse_here().unwrap_err().0;
    assert_eq!(refused[0].file, secret);
    assert!(refused[0].message.contains("chmod 600"), "{refused:?}");
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert!(parse_here().is_ok());
    std::fs::write(&secret, "not base64 at all\n").unwrap();
    let refused = parse_here().unwrap_err().0;
    assert_eq!(
        (refused[0].file.as_path(), refused[0].line),
        (secret.as_path(), 1)
    );
}

#[test]
fn a_zone_offers_transfers_to_networks_and_keys_and_notifies_its_secondaries() {
    let text = format!(
        "[[tsig]]\nname = \"xfr-key\"\nalgorithm = \"hmac-sha256\"\nsecret = \"{SECRET}\"\n\
         [[zone]]\norigin = \"example.test.\"\nfile = \"example.test.zone\"\n\
         allow_transfer = [\"198.51.100.0/24\", \"2001:db8::/32\", \"192.0.2.7\"]\n\
         allow_transfer_tsig = [\"xfr-key\"]\nnotify = [\"198.51.100.7:53\"]\n\
         [[zone]]\norigin = \"other.test.\"\nfile = \"other.test.zone\"\n"
    );
    let config = parse_text(&text).unwrap();
    let out = &config.zones[0].transfer_out;
    let nets: Vec<String> = out.allow.iter().map(ToString::to_string).collect();
    assert_eq!(nets, ["198.51.100.0/24", "2001:db8::/32", "192.0.2.7/32"]);
    assert_eq!(out.keys.len(), 1);
    assert_eq!(out.keys[0].name, Name::from_text("xfr-key.").unwrap());
    assert_eq!(
        out.notify,
        vec!["198.51.100.7:53".parse::<SocketAddr>().unwrap()]
    );
    assert!(out.offered());
    // Without the keys, nothing is offered.
    assert!(config.zones[1].transfer_out.is_empty());
}

#[test]
fn bad_transfer_out_keys_are_refused_at_their_line() {
    let text = format!(
        "[[tsig]]\nname = \"xfr-key\"\nalgorithm = \"hmac-sha256\"\nsecret = \"{SECRET}\"\n\
         [[zone]]\norigin = \"example.test.\"\nfile = \"example.test.zone\"\n\
         allow_transfer = [\n  \"198.51.100.0/33\",\n  \"10.0.0.0/8\",\n  \"10.0.0.0/8\",\n]\n\
         allow_transfer_tsig = [\"nokey\"]\n\
         notify = [\"198.51.100.7\"]\n"
    );
    let errors = errors(&text);
    let found = |line: usize, part: &str| {
        assert!(
            errors
                .iter()
                .any(|e| e.line == line && e.message.contains(part)),
            "no error at line {line} with {part:?}: {errors:#?}"
        )
    };
    found(9, "allow_transfer: \"198.51.100.0/33\" is not a network");
    found(11, "10.0.0.0/8 is listed twice");
    found(13, "no [[tsig]] key is named \"nokey\"");
    found(14, "zone example.test. notify: invalid address");
    assert_eq!(errors.len(), 4, "{errors:#?}");
}

const ROUTED_POOL: &str = r#"
[[pool]]
name = "www.example.test."
[pool.check]
kind = "tcp"
port = 80
[[pool.endpoint]]
address = "192.0.2.1"
site = "fra"
[[pool.route]]
match = ["country:DE", "region:lab"]
sites = ["fra"]
[[pool.route]]
match = ["default"]
sites = ["fra"]
"#;

#[test]
fn routes_name_the_geo_source_they_need() {
    let found = errors(&format!("{ONE_ZONE}{ROUTED_POOL}"));
    let messages: Vec<String> = found.iter().map(|d| d.message.clone()).collect();
    assert_eq!(found.len(), 2, "{messages:?}");
    assert!(
        messages[0].contains("country:DE: needs server.geo.database"),
        "{messages:?}"
    );
    assert!(
        messages[1].contains("region:lab: needs server.geo.nets"),
        "{messages:?}"
    );
    assert_eq!(found[0].line, 5, "the line of the [[pool]] table");
    let with_geo = format!(
        "[server.geo]\ndatabase = \"geo/country.mmdb\"\nnets = \"geo/regions.nets\"\n{ONE_ZONE}{ROUTED_POOL}"
    );
    let config = parse_text(&with_geo).expect("with both sources it parses");
    let geo = config.server.geo.unwrap();
    assert_eq!(
        geo.database.unwrap(),
        Path::new("/etc/swivel/geo/country.mmdb")
    );
    assert_eq!(geo.nets.unwrap(), Path::new("/etc/swivel/geo/regions.nets"));
}
