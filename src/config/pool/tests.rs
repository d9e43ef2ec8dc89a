//! Parsing `[[pool]]` tables; the validation rules are tested in `rules`.

use super::*;
use std::net::{Ipv4Addr, Ipv6Addr};

mod rules;

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

/// A pool named `www.example.test.` with `top` as its own keys, `check` as its
/// `[pool.check]` keys and `endpoints` as its `[[pool.endpoint]]` tables.
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
                site: None,
            },
            EndpointConfig {
                address: IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)),
                priority: 2,
                weight: 5,
                check_address: None,
                site: None,
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

const TWO_SITES: &str = "[[pool.endpoint]]\naddress = \"192.0.2.1\"\nsite = \"fra\"\n\
[[pool.endpoint]]\naddress = \"192.0.2.2\"\nsite = \"iad\"\n";

fn routed(routes: &str) -> PoolConfig {
    pool_with(
        "",
        "kind = \"tcp\"\nport = 80",
        &format!("{TWO_SITES}{routes}"),
    )
}

#[test]
fn routes_parse_with_their_matches_and_sites() {
    let pool = routed(
        "[[pool.route]]\nmatch = [\"10.1.0.0/16\", \"country:de\", \"continent:EU\"]\nsites = [\"fra\", \"iad\"]\n\
         [[pool.route]]\nmatch = [\"default\"]\nsites = [\"iad\", \"fra\"]\n",
    );
    assert_eq!(problems(&pool), vec![]);
    assert_eq!(pool.routes.len(), 2);
    let first: Vec<String> = pool.routes[0]
        .matches
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(first, ["10.1.0.0/16", "country:DE", "continent:EU"]);
    assert_eq!(pool.endpoints[0].site.as_deref(), Some("fra"));
    let bad = parse(
        "[[pool]]\nname = \"a.test.\"\n[pool.check]\nkind = \"icmp\"\n[[pool.endpoint]]\naddress = \"192.0.2.1\"\n[[pool.route]]\nmatch = [\"country:Germany\"]\nsites = []\n",
    )
    .unwrap_err();
    assert!(bad.contains("two-letter"), "{bad}");
}

#[test]
fn route_mistakes_are_named() {
    let no_default = routed("[[pool.route]]\nmatch = [\"10.1.0.0/16\"]\nsites = [\"fra\"]\n");
    assert_single_problem(&no_default, "route.match", "must match \"default\"");
    let early_default = routed(
        "[[pool.route]]\nmatch = [\"default\"]\nsites = [\"fra\"]\n[[pool.route]]\nmatch = [\"default\"]\nsites = [\"iad\"]\n",
    );
    assert_single_problem(&early_default, "route.match", "make it the last route");
    let unknown = routed("[[pool.route]]\nmatch = [\"default\"]\nsites = [\"fra\", \"sin\"]\n");
    assert_single_problem(&unknown, "route.sites", "no endpoint has site \"sin\"");
    let twice = routed("[[pool.route]]\nmatch = [\"default\"]\nsites = [\"fra\", \"fra\"]\n");
    assert_single_problem(&twice, "route.sites", "listed twice");
    let no_site = pool_with(
        "",
        "kind = \"tcp\"\nport = 80",
        "[[pool.endpoint]]\naddress = \"192.0.2.1\"\n[[pool.route]]\nmatch = [\"default\"]\nsites = []\n",
    );
    let keys: Vec<&str> = problems(&no_site).iter().map(|p| p.1).collect();
    assert_eq!(keys, ["endpoint.site", "route.sites"]);
    let manual = pool_with(
        "failback = \"manual\"",
        "kind = \"tcp\"\nport = 80",
        &format!("{TWO_SITES}[[pool.route]]\nmatch = [\"default\"]\nsites = [\"fra\"]\n"),
    );
    assert_single_problem(&manual, "failback", "not supported with routes");
}
