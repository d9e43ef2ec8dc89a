//! Single HTTP, TCP and ICMP checks against real loopback backends.

use super::{http_check, http_spec, target};
use crate::support::backend::scripted::{closed_port, Backend, Behaviour};
use std::time::{Duration, Instant};
use swivel::probe::{icmp, run_check, CheckKind, CheckSpec, FailureKind, HttpCheck, USER_AGENT};

const SECOND: Duration = Duration::from_secs(1);

#[tokio::test]
async fn http_200_with_expected_body_is_healthy_and_sends_the_configured_request() {
    let backend = Backend::http("127.0.0.2", Behaviour::respond(200, "status: ok\n")).await;
    let check = HttpCheck {
        expect_body: Some("ok".into()),
        ..http_check()
    };
    let outcome = run_check(
        &http_spec(check, backend.port(), SECOND),
        &target("127.0.0.2"),
    )
    .await;
    assert!(outcome.ok, "{outcome:?}");
    assert_eq!((outcome.error, outcome.reason), (None, None));
    assert!(outcome.latency < SECOND);

    let seen = backend.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].request_line, "GET /health HTTP/1.1");
    assert_eq!(seen[0].header("host"), Some("www.example.test"));
    assert_eq!(seen[0].header("connection"), Some("close"));
    assert_eq!(seen[0].header("user-agent"), Some(USER_AGENT));
    assert!(USER_AGENT.starts_with("swivel-healthcheck/"));
}

#[tokio::test]
async fn without_a_host_the_host_header_is_the_address_and_port() {
    let backend = Backend::http("127.0.0.2", Behaviour::respond(200, "")).await;
    let check = HttpCheck {
        host: None,
        ..http_check()
    };
    let outcome = run_check(
        &http_spec(check, backend.port(), SECOND),
        &target("127.0.0.2"),
    )
    .await;
    assert!(outcome.ok, "{outcome:?}");
    let expected = format!("127.0.0.2:{}", backend.port());
    assert_eq!(backend.seen()[0].header("host"), Some(expected.as_str()));
}

#[tokio::test]
async fn an_unexpected_status_is_unhealthy() {
    let backend = Backend::http("127.0.0.2", Behaviour::respond(503, "ok")).await;
    let spec = http_spec(http_check(), backend.port(), SECOND);
    let outcome = run_check(&spec, &target("127.0.0.2")).await;
    assert!(!outcome.ok);
    assert_eq!(outcome.error.as_deref(), Some("status 503 not in [200]"));
    assert_eq!(outcome.reason, Some(FailureKind::Status));

    let check = HttpCheck {
        expect_status: vec![200, 204],
        ..http_check()
    };
    let outcome = run_check(
        &http_spec(check, backend.port(), SECOND),
        &target("127.0.0.2"),
    )
    .await;
    assert_eq!(
        outcome.error.as_deref(),
        Some("status 503 not in [200, 204]")
    );
}

#[tokio::test]
async fn a_body_without_the_expected_text_is_unhealthy() {
    let backend = Backend::http("127.0.0.2", Behaviour::respond(200, "degraded")).await;
    let check = HttpCheck {
        expect_body: Some("ok".into()),
        ..http_check()
    };
    let outcome = run_check(
        &http_spec(check, backend.port(), SECOND),
        &target("127.0.0.2"),
    )
    .await;
    assert!(!outcome.ok);
    assert_eq!(
        outcome.error.as_deref(),
        Some("body does not contain \"ok\"")
    );
    assert_eq!(outcome.reason, Some(FailureKind::Body));
}

#[tokio::test]
async fn a_redirect_is_a_status_and_is_not_followed() {
    let elsewhere = Backend::http("127.0.0.3", Behaviour::respond(200, "ok")).await;
    let location = format!("http://127.0.0.3:{}/health", elsewhere.port());
    let redirect = Behaviour::Respond {
        status: 301,
        body: Vec::new(),
        headers: vec![("Location".into(), location)],
    };
    let backend = Backend::http("127.0.0.2", redirect).await;

    let spec = http_spec(http_check(), backend.port(), SECOND);
    let outcome = run_check(&spec, &target("127.0.0.2")).await;
    assert_eq!(outcome.error.as_deref(), Some("status 301 not in [200]"));
    let check = HttpCheck {
        expect_status: vec![301],
        ..http_check()
    };
    let outcome = run_check(
        &http_spec(check, backend.port(), SECOND),
        &target("127.0.0.2"),
    )
    .await;
    assert!(outcome.ok, "{outcome:?}");
    assert_eq!(backend.seen().len(), 2);
    assert_eq!(elsewhere.accepted(), 0, "the redirect was followed");
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_within_the_bound() {
    let backend = Backend::http("127.0.0.2", Behaviour::Hang).await;
    let timeout = Duration::from_millis(300);
    let started = Instant::now();
    let outcome = run_check(
        &http_spec(http_check(), backend.port(), timeout),
        &target("127.0.0.2"),
    )
    .await;
    let elapsed = started.elapsed();
    assert_eq!(
        outcome.error.as_deref(),
        Some("timeout after 300ms waiting for the response")
    );
    assert_eq!(outcome.reason, Some(FailureKind::Timeout));
    assert!(
        elapsed >= timeout && elapsed < timeout + Duration::from_millis(200),
        "{elapsed:?}"
    );
    assert!(outcome.latency >= timeout && outcome.latency <= elapsed);
}

#[tokio::test]
async fn a_stalled_body_times_out_only_when_the_body_matters() {
    let backend = Backend::http("127.0.0.2", Behaviour::HeadersThenHang).await;
    let timeout = Duration::from_millis(300);
    let check = HttpCheck {
        expect_body: Some("ok".into()),
        ..http_check()
    };
    let outcome = run_check(
        &http_spec(check, backend.port(), timeout),
        &target("127.0.0.2"),
    )
    .await;
    assert_eq!(
        outcome.error.as_deref(),
        Some("timeout after 300ms reading the body")
    );

    // Without expect_body the status decides, and the body is not waited for.
    let outcome = run_check(
        &http_spec(http_check(), backend.port(), timeout),
        &target("127.0.0.2"),
    )
    .await;
    assert!(outcome.ok, "{outcome:?}");
    assert!(outcome.latency < timeout);
}

#[tokio::test]
async fn an_endless_body_is_read_only_up_to_the_limit() {
    let backend = Backend::http("127.0.0.2", Behaviour::EndlessBody).await;
    let timeout = Duration::from_secs(2);
    let check = |text: &str| HttpCheck {
        expect_body: Some(text.into()),
        ..http_check()
    };
    let outcome = run_check(
        &http_spec(check("ok"), backend.port(), timeout),
        &target("127.0.0.2"),
    )
    .await;
    assert_eq!(outcome.reason, Some(FailureKind::Body), "{outcome:?}");
    assert!(outcome.latency < timeout / 2, "{:?}", outcome.latency);

    let outcome = run_check(
        &http_spec(check("xxxx"), backend.port(), timeout),
        &target("127.0.0.2"),
    )
    .await;
    assert!(outcome.ok, "{outcome:?}");
}

#[tokio::test]
async fn a_closed_connection_or_a_garbled_response_is_unhealthy() {
    let cases = [
        (Vec::new(), "connection closed before a complete response"),
        (b"SSH-2.0-OpenSSH_9.6\r\n".to_vec(), "invalid HTTP response"),
    ];
    for (reply, expected) in cases {
        let backend = Backend::http("127.0.0.2", Behaviour::Raw(reply)).await;
        let spec = http_spec(http_check(), backend.port(), SECOND);
        let outcome = run_check(&spec, &target("127.0.0.2")).await;
        assert_eq!(outcome.reason, Some(FailureKind::Other), "{outcome:?}");
        let error = outcome.error.unwrap();
        assert!(error.starts_with(expected), "{error}");
    }
}

#[tokio::test]
async fn a_closed_port_is_refused() {
    let port = closed_port("127.0.0.2").await;
    let outcome = run_check(&http_spec(http_check(), port, SECOND), &target("127.0.0.2")).await;
    assert_eq!(outcome.error.as_deref(), Some("connection refused"));
    assert_eq!(outcome.reason, Some(FailureKind::Refused));
    assert!(outcome.latency < SECOND);
}

fn tcp_spec(port: u16, timeout: Duration) -> CheckSpec {
    CheckSpec {
        kind: CheckKind::Tcp,
        port,
        timeout,
    }
}

#[tokio::test]
async fn tcp_connect_succeeds_or_is_refused() {
    let backend = Backend::http("127.0.0.4", Behaviour::Hang).await;
    let outcome = run_check(&tcp_spec(backend.port(), SECOND), &target("127.0.0.4")).await;
    assert!(outcome.ok, "{outcome:?}");

    let port = closed_port("127.0.0.4").await;
    let outcome = run_check(&tcp_spec(port, SECOND), &target("127.0.0.4")).await;
    assert_eq!(outcome.error.as_deref(), Some("connection refused"));
    assert_eq!(outcome.reason, Some(FailureKind::Refused));
}

#[tokio::test]
async fn tcp_connect_to_a_full_listen_queue_times_out() {
    use socket2::{Domain, Socket, Type};
    // A listener that never accepts, with the shortest queue: once it is full, the kernel
    // drops further connection attempts and the connect hangs.
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    socket
        .bind(
            &"127.0.0.4:0"
                .parse::<std::net::SocketAddr>()
                .unwrap()
                .into(),
        )
        .unwrap();
    socket.listen(0).unwrap();
    let addr = socket.local_addr().unwrap().as_socket().unwrap();
    let mut queued = Vec::new();
    for _ in 0..8 {
        let attempt = tokio::time::timeout(
            Duration::from_millis(100),
            tokio::net::TcpStream::connect(addr),
        );
        match attempt.await {
            Ok(stream) => queued.push(stream.unwrap()),
            Err(_) => break,
        }
    }
    let timeout = Duration::from_millis(200);
    let outcome = run_check(&tcp_spec(addr.port(), timeout), &target("127.0.0.4")).await;
    assert_eq!(
        outcome.error.as_deref(),
        Some("timeout after 200ms while connecting")
    );
    assert_eq!(outcome.reason, Some(FailureKind::Timeout));
}

fn icmp_spec() -> CheckSpec {
    CheckSpec {
        kind: CheckKind::Icmp,
        port: 0,
        timeout: SECOND,
    }
}

#[tokio::test]
async fn icmp_echo_to_loopback_is_healthy() {
    if let Err(message) = icmp::check_privilege() {
        return crate::support::skip("icmp_echo_to_loopback_is_healthy", &message.to_string());
    }
    let outcome = run_check(&icmp_spec(), &target("127.0.0.1")).await;
    assert!(outcome.ok, "{outcome:?}");
    assert!(outcome.latency < SECOND);

    // Concurrent echoes to one address share the socket and are told apart.
    let mut pings = tokio::task::JoinSet::new();
    for _ in 0..8 {
        pings.spawn(async { run_check(&icmp_spec(), &target("127.0.0.5")).await });
    }
    while let Some(outcome) = pings.join_next().await {
        let outcome = outcome.unwrap();
        assert!(outcome.ok, "{outcome:?}");
    }

    if std::net::UdpSocket::bind("[::1]:0").is_ok() {
        let outcome = run_check(&icmp_spec(), &target("::1")).await;
        assert!(outcome.ok, "{outcome:?}");
    }
}
