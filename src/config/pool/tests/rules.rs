//! Every validation rule, each with the pool and key it names.

use super::*;

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
    assert_single_problem(&fall, "check.fall", "from 1 to 1000");
    let rise = pool_with("", "kind = \"icmp\"\nrise = 0", ONE_ENDPOINT);
    assert_single_problem(&rise, "check.rise", "from 1 to 1000");
    let huge = pool_with("", "kind = \"icmp\"\nrise = 1001", ONE_ENDPOINT);
    assert_single_problem(&huge, "check.rise", "from 1 to 1000");
}

#[test]
fn refuses_intervals_out_of_range() {
    let fast = pool_with(
        "",
        "kind = \"icmp\"\ninterval = \"5ms\"\ntimeout = \"1ms\"",
        ONE_ENDPOINT,
    );
    assert_single_problem(&fast, "check.interval", "from 10ms to 3600s");
    let slow = pool_with("", "kind = \"icmp\"\ninterval = \"2h\"", ONE_ENDPOINT);
    assert_single_problem(&slow, "check.interval", "out of range");
    let fastest = pool_with(
        "",
        "kind = \"icmp\"\ninterval = \"10ms\"\ntimeout = \"5ms\"",
        ONE_ENDPOINT,
    );
    assert_eq!(problems(&fastest), vec![]);
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
    assert_single_problem(&interval, "check.interval", "out of range");
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

#[test]
fn quorum_and_stale_after_defaults_and_rules() {
    let pool = pool_with(
        "",
        "kind = \"icmp\"\ninterval = \"200ms\"\ntimeout = \"100ms\"",
        ONE_ENDPOINT,
    );
    assert_eq!(pool.check.quorum, 1);
    assert_eq!(pool.check.stale_after(), Duration::from_millis(600));
    let set = pool_with(
        "",
        "kind = \"icmp\"\nquorum = 2\nstale_after = \"5s\"",
        ONE_ENDPOINT,
    );
    assert_eq!(problems(&set), vec![]);
    assert_eq!(
        (set.check.quorum, set.check.stale_after()),
        (2, Duration::from_secs(5))
    );
    let zero = pool_with("", "kind = \"icmp\"\nquorum = 0", ONE_ENDPOINT);
    assert_single_problem(&zero, "check.quorum", "at least 1");
    let short = pool_with("", "kind = \"icmp\"\nstale_after = \"1s\"", ONE_ENDPOINT);
    assert_single_problem(
        &short,
        "check.stale_after",
        "longer than check.interval (1s)",
    );
}

#[test]
fn ca_file_belongs_to_verified_https_checks() {
    let tcp = pool_with(
        "",
        "kind = \"tcp\"\nport = 80\nca_file = \"ca.pem\"",
        ONE_ENDPOINT,
    );
    assert_single_problem(&tcp, "check.ca_file", "only to https");
    let unverified = pool_with(
        "",
        "kind = \"https\"\ntls_verify = false\nca_file = \"ca.pem\"",
        ONE_ENDPOINT,
    );
    assert_single_problem(
        &unverified,
        "check.ca_file",
        "no effect with tls_verify = false",
    );
    let https = pool_with("", "kind = \"https\"\nca_file = \"ca.pem\"", ONE_ENDPOINT);
    assert_eq!(problems(&https), vec![]);
}

#[test]
fn fast_interval_defaults_to_a_quarter_of_interval_within_bounds() {
    let default = pool_with("", "kind = \"icmp\"", ONE_ENDPOINT);
    assert_eq!(default.check.fast_interval(), Duration::from_millis(250));
    let quick = pool_with(
        "",
        "kind = \"icmp\"\ninterval = \"200ms\"\ntimeout = \"100ms\"",
        ONE_ENDPOINT,
    );
    assert_eq!(quick.check.fast_interval(), Duration::from_millis(50));
    // A quarter of the shortest interval would be 2.5ms: the default stays at 10ms.
    let shortest = pool_with(
        "",
        "kind = \"icmp\"\ninterval = \"10ms\"\ntimeout = \"5ms\"",
        ONE_ENDPOINT,
    );
    assert_eq!(shortest.check.fast_interval(), Duration::from_millis(10));
    assert_eq!(problems(&shortest), vec![]);
    let set = pool_with(
        "",
        "kind = \"icmp\"\ninterval = \"200ms\"\ntimeout = \"100ms\"\nfast_interval = \"80ms\"",
        ONE_ENDPOINT,
    );
    assert_eq!(set.check.fast_interval(), Duration::from_millis(80));
    assert_eq!(problems(&set), vec![]);
    // Equal to interval turns fast confirmation off; a fast_interval shorter than the
    // timeout is allowed (a check never starts before the previous one ended).
    let off = pool_with(
        "",
        "kind = \"icmp\"\ninterval = \"200ms\"\ntimeout = \"100ms\"\nfast_interval = \"200ms\"",
        ONE_ENDPOINT,
    );
    assert_eq!(problems(&off), vec![]);
}

#[test]
fn fast_interval_out_of_range_is_refused() {
    let too_short = pool_with("", "kind = \"icmp\"\nfast_interval = \"5ms\"", ONE_ENDPOINT);
    assert_single_problem(
        &too_short,
        "check.fast_interval",
        "from 10ms to check.interval (1s)",
    );
    let too_long = pool_with(
        "",
        "kind = \"icmp\"\ninterval = \"200ms\"\ntimeout = \"100ms\"\nfast_interval = \"201ms\"",
        ONE_ENDPOINT,
    );
    assert_single_problem(&too_long, "check.fast_interval", "out of range");
    let zero = pool_with("", "kind = \"icmp\"\nfast_interval = \"0s\"", ONE_ENDPOINT);
    assert_single_problem(&zero, "check.fast_interval", "out of range");
}
