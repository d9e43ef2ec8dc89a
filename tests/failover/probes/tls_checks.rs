//! HTTPS checks against a loopback server with a self-signed certificate: verification on
//! and off, the server name and Host header, and TLS failures.

use super::{http_check, http_spec, target};
use crate::support::backend::scripted::{
    ca_as_server_acceptor, private_ca_acceptor, self_signed_acceptor,
    self_signed_acceptor_with_alpn, Backend, Behaviour,
};
use std::time::Duration;
use swivel::probe::{run_check, FailureKind, HttpCheck, TlsMode};

const SECOND: Duration = Duration::from_secs(1);
const NAME: &str = "secure.example.test";

fn https_check(verify: bool) -> HttpCheck {
    HttpCheck {
        host: Some(NAME.into()),
        expect_body: Some("ok".into()),
        tls: Some(TlsMode {
            verify,
            ca_file: None,
        }),
        ..http_check()
    }
}

#[tokio::test]
async fn a_self_signed_certificate_fails_verification() {
    let backend = Backend::https(
        "127.0.0.6",
        Behaviour::respond(200, "ok"),
        self_signed_acceptor(NAME),
    )
    .await;
    let spec = http_spec(https_check(true), backend.port(), SECOND);
    let outcome = run_check(&spec, &target("127.0.0.6")).await;
    assert!(!outcome.ok);
    assert_eq!(outcome.reason, Some(FailureKind::Tls));
    let error = outcome.error.unwrap();
    assert!(
        error.starts_with("certificate verification failed: unknown issuer"),
        "{error}"
    );
    assert!(
        backend.seen().is_empty(),
        "a request went out over an unverified connection"
    );
}

#[tokio::test]
async fn without_verification_the_check_passes_and_sends_host_as_server_name() {
    let backend = Backend::https(
        "127.0.0.6",
        Behaviour::respond(200, "ok"),
        self_signed_acceptor(NAME),
    )
    .await;
    let spec = http_spec(https_check(false), backend.port(), SECOND);
    let outcome = run_check(&spec, &target("127.0.0.6")).await;
    assert!(outcome.ok, "{outcome:?}");
    let seen = backend.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].sni.as_deref(), Some(NAME));
    assert_eq!(seen[0].header("host"), Some(NAME));
}

#[tokio::test]
async fn status_and_body_are_checked_over_tls_too() {
    let backend = Backend::https(
        "127.0.0.6",
        Behaviour::respond(503, "ok"),
        self_signed_acceptor(NAME),
    )
    .await;
    let spec = http_spec(https_check(false), backend.port(), SECOND);
    let outcome = run_check(&spec, &target("127.0.0.6")).await;
    assert_eq!(outcome.error.as_deref(), Some("status 503 not in [200]"));

    let backend = Backend::https(
        "127.0.0.6",
        Behaviour::respond(200, "no"),
        self_signed_acceptor(NAME),
    )
    .await;
    let spec = http_spec(https_check(false), backend.port(), SECOND);
    let outcome = run_check(&spec, &target("127.0.0.6")).await;
    assert_eq!(outcome.reason, Some(FailureKind::Body));
}

#[tokio::test]
async fn without_a_host_no_server_name_is_sent() {
    let backend = Backend::https(
        "127.0.0.6",
        Behaviour::respond(200, "ok"),
        self_signed_acceptor(NAME),
    )
    .await;
    let check = HttpCheck {
        host: None,
        ..https_check(false)
    };
    let outcome = run_check(
        &http_spec(check, backend.port(), SECOND),
        &target("127.0.0.6"),
    )
    .await;
    assert!(outcome.ok, "{outcome:?}");
    let seen = backend.seen();
    assert_eq!(seen[0].sni, None);
    let expected = format!("127.0.0.6:{}", backend.port());
    assert_eq!(seen[0].header("host"), Some(expected.as_str()));
}

#[tokio::test]
async fn a_refused_handshake_is_a_tls_failure() {
    // The server speaks only h2, the check only HTTP/1.1: the server ends the handshake.
    let acceptor = self_signed_acceptor_with_alpn(NAME, vec![b"h2".to_vec()]);
    let backend = Backend::https("127.0.0.6", Behaviour::respond(200, "ok"), acceptor).await;
    let spec = http_spec(https_check(false), backend.port(), SECOND);
    let outcome = run_check(&spec, &target("127.0.0.6")).await;
    assert_eq!(outcome.reason, Some(FailureKind::Tls), "{outcome:?}");
    let error = outcome.error.unwrap();
    assert!(
        error.starts_with("TLS handshake failed: received fatal alert"),
        "{error}"
    );
}

#[tokio::test]
async fn https_to_a_silent_plain_server_times_out_in_the_handshake() {
    let backend = Backend::http("127.0.0.6", Behaviour::Hang).await;
    let spec = http_spec(
        https_check(false),
        backend.port(),
        Duration::from_millis(300),
    );
    let outcome = run_check(&spec, &target("127.0.0.6")).await;
    assert_eq!(
        outcome.error.as_deref(),
        Some("timeout after 300ms during the TLS handshake")
    );
}

fn with_ca_file(pem: &str, dir: &std::path::Path) -> HttpCheck {
    let ca_file = dir.join("ca.pem");
    std::fs::write(&ca_file, pem).unwrap();
    HttpCheck {
        tls: Some(TlsMode {
            verify: true,
            ca_file: Some(ca_file),
        }),
        ..https_check(true)
    }
}

#[tokio::test]
async fn a_private_ca_in_ca_file_is_trusted_besides_the_system_roots() {
    let (acceptor, ca_pem) = private_ca_acceptor(NAME);
    let backend = Backend::https("127.0.0.6", Behaviour::respond(200, "ok"), acceptor).await;
    let without = http_spec(https_check(true), backend.port(), SECOND);
    let outcome = run_check(&without, &target("127.0.0.6")).await;
    let error = outcome.error.unwrap_or_default();
    assert!(error.contains("unknown issuer"), "without ca_file: {error}");

    let dir = tempfile::tempdir().unwrap();
    let with = http_spec(with_ca_file(&ca_pem, dir.path()), backend.port(), SECOND);
    let outcome = run_check(&with, &target("127.0.0.6")).await;
    assert!(outcome.ok, "with ca_file: {outcome:?}");
}

#[tokio::test]
async fn a_ca_certificate_used_as_the_servers_own_reads_as_english() {
    let (acceptor, pem) = ca_as_server_acceptor(NAME);
    let backend = Backend::https("127.0.0.6", Behaviour::respond(200, "ok"), acceptor).await;
    let dir = tempfile::tempdir().unwrap();
    let spec = http_spec(with_ca_file(&pem, dir.path()), backend.port(), SECOND);
    let outcome = run_check(&spec, &target("127.0.0.6")).await;
    assert_eq!(outcome.reason, Some(FailureKind::Tls));
    let error = outcome.error.unwrap();
    assert_eq!(
        error,
        "certificate verification failed: the server sent a CA certificate as its own \
         certificate (CA used as end entity)"
    );
    assert!(!error.contains("OtherError"), "{error}");
}
