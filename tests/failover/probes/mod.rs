//! Health probes against real backends on loopback: HTTP, HTTPS, TCP and ICMP checks, and
//! the probe scheduler's timing, isolation, concurrency bound and target changes, and fast
//! confirmation of changes through a real server.

mod checks;
mod fast_confirmation;
mod scheduling;
mod tls_checks;

use std::time::Duration;
use swivel::probe::{CheckKind, CheckSpec, HttpCheck, Target};

/// An HTTP check of `/health` with Host `www.example.test`, expecting 200.
fn http_check() -> HttpCheck {
    HttpCheck {
        path: "/health".into(),
        host: Some("www.example.test".into()),
        expect_status: vec![200],
        expect_body: None,
        tls: None,
    }
}

fn http_spec(http: HttpCheck, port: u16, timeout: Duration) -> CheckSpec {
    CheckSpec {
        kind: CheckKind::Http(http),
        port,
        timeout,
    }
}

fn target(ip: &str) -> Target {
    Target {
        address: ip.parse().unwrap(),
    }
}
