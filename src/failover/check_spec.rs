//! Turning a pool's `[pool.check]` configuration into what a probe runs.

use crate::config::pool::{CheckConfig, CheckKind};
use crate::probe::{CheckKind as ProbeKind, CheckSpec, HttpCheck, TlsMode};

/// The probe's view of a pool's check (validated configuration: the port is known).
pub fn from_config(check: &CheckConfig) -> CheckSpec {
    let http = |tls| {
        ProbeKind::Http(HttpCheck {
            path: check.path.clone(),
            host: check.host.clone(),
            expect_status: check.expect_status.clone(),
            expect_body: check.expect_body.clone(),
            tls,
        })
    };
    let kind = match check.kind {
        CheckKind::Http => http(None),
        CheckKind::Https => http(Some(TlsMode {
            verify: check.tls_verify,
        })),
        CheckKind::Tcp => ProbeKind::Tcp,
        CheckKind::Icmp => ProbeKind::Icmp,
    };
    CheckSpec {
        kind,
        port: check.target_port().unwrap_or(0),
        timeout: check.timeout,
    }
}
