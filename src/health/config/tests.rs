//! Parsing `[[pool]]` tables and every validation rule.

use super::*;
use std::net::{Ipv4Addr, Ipv6Addr};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(rename = "pool")]
    pools: Vec<PoolConfig>,
}

fn parse(text: &str) -> Result<Vec<PoolConfig>, String> {
    toml::from_str::<File>(text)
        .map(|f| f.pools)
        .map_err(|e| e.to_string())
}

fn one(text: &str) -> PoolConfig {
    let mut pools = parse(text).expect("pool parses");
    assert_eq!(pools.len(), 1);
    pools.remove(0)
}

/// A valid minimal pool with `extra` appended to its `[pool.check]` table and endpoints
/// replaced by `endpoints` when given.
fn pool_with(top: &str, check: &str, endpoints: &str) -> PoolConfig {
    one(&format!(
        "[[pool]]\nname = \"www.example.test.\"\n{top}\n[pool.check]\n{check}\n{endpoints}"
    ))
}

const ONE_ENDPOINT: &str = "[[pool.endpoint]]\naddress = \"192.0.2.1\"\n";

fn problems(pool: &PoolConfig) -> Vec<(Option<usize>, &'static str, String)> {
    pool.validate()
        .into_iter()
        .map(|p| (p.endpoint, p.key, p.message))
        .collect()
}

/// Asserts that `pool` has exactly one problem, at `key`, whose message names the pool and
/// contains `fragment`.
fn assert_single_problem(pool: &PoolConfig, key: &str, fragment: &str) {
    let found = problems(pool);
    assert_eq!(found.len(), 1, "expected one problem, got {found:#?}");
    let (_, found_key, message) = &found[0];
    assert_eq!(*found_key, key, "{message}");
    assert!(
        message.starts_with("pool \"www.example.test.\": "),
        "message names the pool: {message}"
    );
    let field = key.trim_start_matches("endpoint.");
    assert!(message.contains(field), "message names {field}: {message}");
    assert!(message.contains(fragment), "{message:?} lacks {fragment:?}");
}

const FULL: &str = r#"
[[pool]]
name = "www.example.test."
ttl = 30
ttl_degraded = 10
policy = "failover"
failback = "manual"
when_all_down = "serve-primary"
[pool.check]
kind = "http"
port = 8080
path = "/health"
host = "www.example.test"
expect_status = [200, 204]
expect_body = "ok"
interval = "1s"
timeout = "500ms"
fall = 3
rise = 2
[[pool.endpoint]]
address = "192.0.2.1"
priority = 1
weight = 1
check_address = "10.0.0.1"
[[pool.endpoint]]
address = "2001:db8::1"
priority = 2
weight = 5

[[pool]]
name = "api.example.test"
policy = "weighted"
[pool.check]
kind = "tcp"
port = 443
interval = "1m30s"
timeout = "2s"
[[pool.endpoint]]
address = "198.51.100.7"
"#;

#[test]
fn parses_a_full_pool_and_applies_defaults() {
    let pools = parse(FULL).expect("parses");
    assert_eq!(pools.len(), 2);
    let www = &pools[0];
    assert_eq!(www.name, "www.example.test.");
    assert_eq!(www.ttl, 30);
    assert_eq!(www.ttl_degraded, Some(10));
    assert_eq!(www.policy, Policy::Failover);
    assert_eq!(www.failback, Failback::Manual);
    assert_eq!(www.when_all_down, WhenAllDown::ServePrimary);
    let check = &www.check;
    assert_eq!(check.kind, CheckKind::Http);
    assert_eq!(check.port, Some(8080));
    assert_eq!(check.target_port(), Some(8080));
    assert_eq!(check.path, "/health");
    assert_eq!(check.host.as_deref(), Some("www.example.test"));
    assert_eq!(check.expect_status, vec![200, 204]);
    assert_eq!(check.expect_body.as_deref(), Some("ok"));
    assert_eq!(check.interval, Duration::from_secs(1));
    assert_eq!(check.timeout, Duration::from_millis(500));
    assert_eq!((check.fall, check.rise), (3, 2));
    assert!(check.tls_verify);
    assert_eq!(
        www.endpoints,
        vec![
            EndpointConfig {
                address: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
                priority: 1,
                weight: 1,
                check_address: Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))),
            },
            EndpointConfig {
                address: IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)),
                priority: 2,
                weight: 5,
                check_address: None,
            },
        ]
    );
    assert_eq!(
        www.endpoints[0].check_target(),
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))
    );
    assert_eq!(www.endpoints[1].check_target(), www.endpoints[1].address);
    assert_eq!(www.owner().unwrap().to_string(), "www.example.test.");

    let api = &pools[1];
    assert_eq!(api.ttl, DEFAULT_TTL);
    assert_eq!(api.ttl_degraded, None);
    assert_eq!(api.degraded_ttl(), DEFAULT_TTL);
    assert_eq!(api.policy, Policy::Weighted);
    assert_eq!(api.failback, Failback::Auto);
    assert_eq!(api.when_all_down, WhenAllDown::ServeAll);
    assert_eq!(api.check.interval, Duration::from_secs(90));
    assert_eq!(api.check.path, "/");
    assert_eq!(api.check.expect_status, vec![200]);
    assert_eq!((api.check.fall, api.check.rise), (3, 2));
    assert_eq!(api.endpoints[0].priority, 1);
    assert_eq!(api.endpoints[0].weight, 1);
    assert_eq!(api.owner().unwrap().to_string(), "api.example.test.");

    assert_eq!(validate_pools(&pools), vec![]);
}

#[test]
fn check_defaults_for_a_bare_http_check() {
    let pool = pool_with("", "kind = \"https\"", ONE_ENDPOINT);
    assert_eq!(pool.check.interval, DEFAULT_INTERVAL);
    assert_eq!(pool.check.timeout, DEFAULT_TIMEOUT);
    assert_eq!(pool.check.port, None);
    assert_eq!(pool.check.target_port(), Some(443));
    assert!(pool.check.tls_verify);
    assert_eq!(problems(&pool), vec![]);
    let http = pool_with("", "kind = \"http\"", ONE_ENDPOINT);
    assert_eq!(http.check.target_port(), Some(80));
    let icmp = pool_with("", "kind = \"icmp\"", ONE_ENDPOINT);
    assert_eq!(icmp.check.target_port(), None);
    assert_eq!(problems(&icmp), vec![]);
}

#[test]
fn parser_refuses_unknown_keys_bad_values_and_missing_check() {
    let cases = [
        ("colour = \"red\"", "kind = \"tcp\"\nport = 80", "colour"),
        ("", "kind = \"tcp\"\nport = 80\nretries = 3", "retries"),
        ("", "kind = \"udp\"", "udp"),
        ("policy = \"random\"", "kind = \"icmp\"", "random"),
        ("failback = \"never\"", "kind = \"icmp\"", "never"),
        (
            "when_all_down = \"serve_all\"",
            "kind = \"icmp\"",
            "serve_all",
        ),
        (
            "",
            "kind = \"icmp\"\ninterval = \"1 s\"",
            "invalid duration",
        ),
        ("", "kind = \"icmp\"\ntimeout = 5", "string"),
        ("ttl = -1", "kind = \"icmp\"", "ttl"),
        ("", "kind = \"tcp\"\nport = 70000", "port"),
    ];
    for (top, check, fragment) in cases {
        let text = format!(
            "[[pool]]\nname = \"www.example.test.\"\n{top}\n[pool.check]\n{check}\n{ONE_ENDPOINT}"
        );
        let error = parse(&text).expect_err(&text);
        assert!(error.contains(fragment), "{error:?} lacks {fragment:?}");
    }
    let unknown_endpoint_key = format!("{ONE_ENDPOINT}port = 80\n");
    assert!(parse(&format!(
        "[[pool]]\nname = \"a.test.\"\n[pool.check]\nkind = \"icmp\"\n{unknown_endpoint_key}"
    ))
    .is_err());
    let bad_address = "[[pool]]\nname = \"a.test.\"\n[pool.check]\nkind = \"icmp\"\n\
                       [[pool.endpoint]]\naddress = \"192.0.2.300\"\n";
    assert!(parse(bad_address).is_err());
    let no_check = "[[pool]]\nname = \"a.test.\"\n[[pool.endpoint]]\naddress = \"192.0.2.1\"\n";
    assert!(parse(no_check).unwrap_err().contains("check"));
}

#[test]
fn refuses_a_pool_without_endpoints() {
    let pool = pool_with("", "kind = \"icmp\"", "");
    assert_single_problem(&pool, "endpoint", "no endpoints");
}

#[test]
fn refuses_duplicate_addresses_and_names_both_endpoints() {
    let endpoints = "[[pool.endpoint]]\naddress = \"2001:db8::1\"\n\
                     [[pool.endpoint]]\naddress = \"192.0.2.1\"\n\
                     [[pool.endpoint]]\naddress = \"2001:DB8:0::1\"\npriority = 2\n";
    let pool = pool_with("", "kind = \"icmp\"", endpoints);
    assert_single_problem(&pool, "endpoint.address", "also the address of endpoint 1");
    assert_eq!(pool.validate()[0].endpoint, Some(2));
    assert!(pool.validate()[0]
        .message
        .contains("endpoint 3 (2001:db8::1)"));
}

#[test]
fn weight_zero_is_refused_only_under_weighted() {
    let endpoints = "[[pool.endpoint]]\naddress = \"192.0.2.1\"\nweight = 0\n";
    let weighted = pool_with("policy = \"weighted\"", "kind = \"icmp\"", endpoints);
    assert_single_problem(&weighted, "endpoint.weight", "at least 1");
    for policy in ["failover", "all"] {
        let pool = pool_with(
            &format!("policy = \"{policy}\""),
            "kind = \"icmp\"",
            endpoints,
        );
        assert_eq!(problems(&pool), vec![], "{policy}");
    }
}

#[test]
fn refuses_zero_fall_and_rise() {
    let fall = pool_with("", "kind = \"icmp\"\nfall = 0", ONE_ENDPOINT);
    assert_single_problem(&fall, "check.fall", "at least 1");
    let rise = pool_with("", "kind = \"icmp\"\nrise = 0", ONE_ENDPOINT);
    assert_single_problem(&rise, "check.rise", "at least 1");
}

#[test]
fn timeout_must_be_shorter_than_interval() {
    let equal = pool_with(
        "",
        "kind = \"icmp\"\ninterval = \"1s\"\ntimeout = \"1000ms\"",
        ONE_ENDPOINT,
    );
    assert_single_problem(
        &equal,
        "check.timeout",
        "must be shorter than check.interval (1s)",
    );
    let longer = pool_with("", "kind = \"icmp\"\ninterval = \"200ms\"", ONE_ENDPOINT);
    assert_single_problem(&longer, "check.timeout", "500ms");
    let shorter = pool_with(
        "",
        "kind = \"icmp\"\ninterval = \"200ms\"\ntimeout = \"199ms\"",
        ONE_ENDPOINT,
    );
    assert_eq!(problems(&shorter), vec![]);
}

#[test]
fn refuses_zero_durations() {
    let interval = pool_with("", "kind = \"icmp\"\ninterval = \"0s\"", ONE_ENDPOINT);
    assert_single_problem(&interval, "check.interval", "more than zero");
    let timeout = pool_with("", "kind = \"icmp\"\ntimeout = \"0ms\"", ONE_ENDPOINT);
    assert_single_problem(&timeout, "check.timeout", "more than zero");
}

#[test]
fn port_rules_per_kind() {
    let tcp = pool_with("", "kind = \"tcp\"", ONE_ENDPOINT);
    assert_single_problem(&tcp, "check.port", "tcp check needs the port");
    let icmp = pool_with("", "kind = \"icmp\"\nport = 80", ONE_ENDPOINT);
    assert_single_problem(&icmp, "check.port", "icmp check has no port");
    let zero = pool_with("", "kind = \"http\"\nport = 0", ONE_ENDPOINT);
    assert_single_problem(&zero, "check.port", "1 to 65535");
}

#[test]
fn http_options_are_refused_on_other_kinds() {
    let cases = [
        ("path = \"/health\"", "check.path"),
        ("host = \"www.example.test\"", "check.host"),
        ("expect_status = [204]", "check.expect_status"),
        ("expect_body = \"ok\"", "check.expect_body"),
    ];
    for (line, key) in cases {
        let tcp = pool_with(
            "",
            &format!("kind = \"tcp\"\nport = 22\n{line}"),
            ONE_ENDPOINT,
        );
        assert_single_problem(&tcp, key, "only to http and https checks, not tcp");
        let icmp = pool_with("", &format!("kind = \"icmp\"\n{line}"), ONE_ENDPOINT);
        assert_single_problem(&icmp, key, "not icmp");
        let http = pool_with("", &format!("kind = \"http\"\n{line}"), ONE_ENDPOINT);
        assert_eq!(problems(&http), vec![], "{line}");
    }
}

#[test]
fn tls_verify_opt_out_only_for_https() {
    let https = pool_with("", "kind = \"https\"\ntls_verify = false", ONE_ENDPOINT);
    assert!(!https.check.tls_verify);
    assert_eq!(problems(&https), vec![]);
    for kind in ["http", "icmp"] {
        let pool = pool_with(
            "",
            &format!("kind = \"{kind}\"\ntls_verify = false"),
            ONE_ENDPOINT,
        );
        assert_single_problem(&pool, "check.tls_verify", &format!("not {kind}"));
    }
}

#[test]
fn refuses_malformed_http_options() {
    let path = pool_with("", "kind = \"http\"\npath = \"health\"", ONE_ENDPOINT);
    assert_single_problem(&path, "check.path", "must start with \"/\"");
    let spaced = pool_with("", "kind = \"http\"\npath = \"/a b\"", ONE_ENDPOINT);
    assert_single_problem(&spaced, "check.path", "no spaces");
    let host = pool_with("", "kind = \"https\"\nhost = \"a b\"", ONE_ENDPOINT);
    assert_single_problem(&host, "check.host", "not a host name");
    let empty = pool_with("", "kind = \"http\"\nexpect_status = []", ONE_ENDPOINT);
    assert_single_problem(&empty, "check.expect_status", "at least one");
    let status = pool_with(
        "",
        "kind = \"http\"\nexpect_status = [200, 700]",
        ONE_ENDPOINT,
    );
    assert_single_problem(&status, "check.expect_status", "700 is not an HTTP status");
    let body = pool_with("", "kind = \"http\"\nexpect_body = \"\"", ONE_ENDPOINT);
    assert_single_problem(&body, "check.expect_body", "is empty");
}

#[test]
fn refuses_bad_names_and_ttls() {
    let mut name = pool_with("", "kind = \"icmp\"", ONE_ENDPOINT);
    name.name = "www..example.test.".to_string();
    let found = problems(&name);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].1, "name");
    assert!(found[0].2.contains("not a valid domain name"), "{found:?}");

    let ttl = pool_with("ttl = 2147483648", "kind = \"icmp\"", ONE_ENDPOINT);
    assert_single_problem(&ttl, "ttl", "at most 2147483647");
    let degraded = pool_with(
        "ttl = 10\nttl_degraded = 60",
        "kind = \"icmp\"",
        ONE_ENDPOINT,
    );
    assert_single_problem(&degraded, "ttl_degraded", "longer than ttl (10)");
    let fine = pool_with("ttl = 0\nttl_degraded = 0", "kind = \"icmp\"", ONE_ENDPOINT);
    assert_eq!(problems(&fine), vec![]);
}

#[test]
fn refuses_unservable_addresses() {
    let served = "[[pool.endpoint]]\naddress = \"0.0.0.0\"\n";
    let pool = pool_with("", "kind = \"icmp\"", served);
    assert_single_problem(&pool, "endpoint.address", "cannot be served");
    let probed = "[[pool.endpoint]]\naddress = \"192.0.2.1\"\ncheck_address = \"ff02::1\"\n";
    let pool = pool_with("", "kind = \"icmp\"", probed);
    assert_single_problem(&pool, "endpoint.check_address", "cannot be probed");
}

#[test]
fn reports_every_problem_not_just_the_first() {
    let endpoints = "[[pool.endpoint]]\naddress = \"192.0.2.1\"\nweight = 0\n\
                     [[pool.endpoint]]\naddress = \"192.0.2.1\"\n";
    let pool = pool_with(
        "policy = \"weighted\"",
        "kind = \"tcp\"\nfall = 0\ntimeout = \"2s\"",
        endpoints,
    );
    let keys: Vec<&str> = problems(&pool).into_iter().map(|p| p.1).collect();
    assert_eq!(
        keys,
        [
            "check.fall",
            "check.timeout",
            "check.port",
            "endpoint.weight",
            "endpoint.address"
        ]
    );
}

#[test]
fn validate_pools_numbers_pools_and_refuses_duplicate_names() {
    let text = format!(
        "[[pool]]\nname = \"WWW.example.test\"\n[pool.check]\nkind = \"icmp\"\n{ONE_ENDPOINT}\
         [[pool]]\nname = \"b.example.test.\"\n[pool.check]\nkind = \"tcp\"\n{ONE_ENDPOINT}\
         [[pool]]\nname = \"www.example.test.\"\n[pool.check]\nkind = \"icmp\"\n{ONE_ENDPOINT}"
    );
    let pools = parse(&text).unwrap();
    let found = validate_pools(&pools);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert_eq!((found[0].pool, found[0].key), (1, "check.port"));
    assert!(found[0]
        .message
        .starts_with("pool \"b.example.test.\": check.port: "));
    assert_eq!((found[1].pool, found[1].key), (2, "name"));
    assert!(
        found[1]
            .message
            .contains("another pool (number 1) already has this name"),
        "{}",
        found[1].message
    );
    assert_eq!(found[1].to_string(), found[1].message);
}
