//! `GET /metrics` after known traffic: every query counter moves by exactly what was sent,
//! per transport and response code, and the endpoint, failover, table and reload metrics
//! match the server's state.

use super::harness::Server;
use crate::support::dns::{build_query, query_tcp, query_udp, TYPE_A};
use std::net::UdpSocket;

const TYPE_TXT: u16 = 16;

/// The value of the series `key` (name and labels exactly as exposed).
fn value(metrics: &str, key: &str) -> f64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no series {key} in:\n{metrics}"))
        .parse()
        .unwrap()
}

fn queries(transport: &str, rcode: &str) -> String {
    format!("swivel_queries_total{{transport=\"{transport}\",rcode=\"{rcode}\"}}")
}

fn scrape(server: &Server) -> String {
    let reply = server.get("/metrics");
    assert_eq!(reply.status, 200);
    assert!(
        reply
            .header("content-type")
            .unwrap()
            .starts_with("text/plain; version=0.0.4"),
        "{reply:?}"
    );
    reply.body
}

#[test]
fn query_counters_move_by_exactly_the_traffic_sent() {
    let server = Server::start();
    let before = scrape(&server);

    let raw = UdpSocket::bind("127.0.0.1:0").unwrap();
    for _ in 0..3 {
        raw.send_to(&[1, 2, 3, 4, 5], server.dns).unwrap();
    }
    let mut response = build_query(7, "www.example.test.", TYPE_A);
    response[2] |= 0x80;
    for _ in 0..2 {
        raw.send_to(&response, server.dns).unwrap();
    }
    let udp = |name: &str, qtype: u16, times: usize| {
        for _ in 0..times {
            query_udp(server.dns, name, qtype).expect("a UDP reply");
        }
    };
    udp("www.example.test.", TYPE_A, 7);
    udp("nope.example.test.", TYPE_A, 5);
    udp("example.org.", TYPE_A, 3);
    let truncated = query_udp(server.dns, "big.example.test.", TYPE_TXT).unwrap();
    assert_ne!(truncated.flags & 0x0200, 0, "TC set without EDNS");
    udp("big.example.test.", TYPE_TXT, 1);
    let tcp = |name: &str, qtype: u16, times: usize| {
        for _ in 0..times {
            query_tcp(server.dns, name, qtype).expect("a TCP reply");
        }
    };
    tcp("www.example.test.", TYPE_A, 4);
    tcp("nope.example.test.", TYPE_A, 2);
    tcp("big.example.test.", TYPE_TXT, 1);

    let after = scrape(&server);
    let moved = |key: &str| value(&after, key) - value(&before, key);
    let expected = [
        (queries("udp", "NOERROR"), 9.0),
        (queries("udp", "NXDOMAIN"), 5.0),
        (queries("udp", "REFUSED"), 3.0),
        (queries("udp", "FORMERR"), 0.0),
        (queries("udp", "SERVFAIL"), 0.0),
        (queries("tcp", "NOERROR"), 5.0),
        (queries("tcp", "NXDOMAIN"), 2.0),
        (queries("tcp", "REFUSED"), 0.0),
        ("swivel_truncated_total{transport=\"udp\"}".into(), 2.0),
        ("swivel_truncated_total{transport=\"tcp\"}".into(), 0.0),
        (
            "swivel_dropped_total{transport=\"udp\",reason=\"malformed\"}".into(),
            3.0,
        ),
        (
            "swivel_dropped_total{transport=\"udp\",reason=\"response\"}".into(),
            2.0,
        ),
        (
            "swivel_dropped_total{transport=\"tcp\",reason=\"malformed\"}".into(),
            0.0,
        ),
    ];
    for (key, wanted) in expected {
        assert_eq!(
            moved(&key),
            wanted,
            "{key}\nbefore:\n{before}\nafter:\n{after}"
        );
    }
}

#[test]
fn endpoint_table_and_reload_metrics_follow_the_state() {
    let server = Server::start();
    let before = scrape(&server);
    let up = |address: &str| {
        format!("swivel_endpoint_up{{pool=\"www.example.test.\",address=\"{address}\"}}")
    };
    assert_eq!(value(&before, &up("127.0.0.2")), 1.0);
    assert_eq!(value(&before, &up("127.0.0.3")), 1.0);
    assert_eq!(value(&before, &up("127.0.0.4")), 0.0);
    let refused = "swivel_check_failures_total{pool=\"www.example.test.\",address=\"127.0.0.4\",reason=\"refused\"}";
    assert!(value(&before, refused) >= 1.0, "{before}");
    assert!(
        !before.contains("address=\"127.0.0.2\",reason="),
        "no failures for a healthy endpoint"
    );
    let series = "{pool=\"www.example.test.\",address=\"127.0.0.2\"";
    let count = value(
        &before,
        &format!("swivel_check_duration_seconds_count{series}}}"),
    );
    assert!(count >= 1.0, "{before}");
    let infinite = value(
        &before,
        &format!("swivel_check_duration_seconds_bucket{series},le=\"+Inf\"}}"),
    );
    assert_eq!(infinite, count, "the +Inf bucket holds every check");
    let fast = value(
        &before,
        &format!("swivel_check_duration_seconds_bucket{series},le=\"0.001\"}}"),
    );
    let slow = value(
        &before,
        &format!("swivel_check_duration_seconds_bucket{series},le=\"1\"}}"),
    );
    assert!(fast <= slow && slow <= infinite, "buckets are cumulative");
    assert_eq!(
        value(
            &before,
            "swivel_failovers_total{pool=\"www.example.test.\"}"
        ),
        0.0
    );
    assert!(value(&before, "swivel_table_build_seconds") > 0.0);
    let swaps = value(&before, "swivel_table_swaps_total");
    assert_eq!(
        value(&before, "swivel_config_reloads_total{result=\"ok\"}"),
        0.0
    );

    assert_eq!(
        server
            .set_override("www.example.test.", "127.0.0.2", "down")
            .status,
        200
    );
    assert_eq!(server.post("/v1/reload", "").status, 200);
    std::fs::write(server.dir.join("example.test.zone"), "garbage\n").unwrap();
    assert_eq!(server.post("/v1/reload", "").status, 422);

    let after = scrape(&server);
    assert_eq!(
        value(&after, &up("127.0.0.2")),
        0.0,
        "drained counts as not up"
    );
    let serving = "swivel_endpoint_serving{pool=\"www.example.test.\",address=\"127.0.0.2\"}";
    assert_eq!(value(&after, serving), 0.0);
    assert_eq!(
        value(&after, "swivel_table_swaps_total"),
        swaps + 2.0,
        "the override and the reload"
    );
    assert_eq!(
        value(&after, "swivel_config_reloads_total{result=\"ok\"}"),
        1.0
    );
    assert_eq!(
        value(&after, "swivel_config_reloads_total{result=\"error\"}"),
        1.0
    );
    assert_eq!(
        value(
            &after,
            "swivel_pool_ttl_seconds{pool=\"www.example.test.\"}"
        ),
        30.0
    );
}
