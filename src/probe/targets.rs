//! What to probe, from the configuration: every endpoint of every pool, keyed by pool and
//! address, with the check its `[pool.check]` describes. The local checks and the probe
//! agent both use it.

use super::cadence::Cadence;
use super::scheduler::ProbeTarget;
use super::{CheckKind as ProbeKind, CheckSpec, HttpCheck, Target, TlsMode};
use crate::config::pool::{CheckConfig, CheckKind, PoolConfig};
use crate::name::Name;
use std::net::IpAddr;

/// Identifies an endpoint across reloads: its pool's name and its served address.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct EndpointKey {
    pub pool: Name,
    pub address: IpAddr,
}

/// The probe's view of a pool's check (validated configuration: the port is known).
fn check_spec(check: &CheckConfig) -> CheckSpec {
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
            ca_file: check.ca_file.clone(),
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

/// Every endpoint of `pools` to probe, keyed by pool name and served address (the local
/// checks and the probe agent both use this).
pub fn probe_targets<'a>(
    pools: impl IntoIterator<Item = &'a PoolConfig>,
) -> Vec<ProbeTarget<EndpointKey>> {
    let mut targets = Vec::new();
    for pool in pools {
        let Some(owner) = pool.owner() else { continue };
        for endpoint in &pool.endpoints {
            targets.push(ProbeTarget {
                key: EndpointKey {
                    pool: owner.clone(),
                    address: endpoint.address,
                },
                spec: check_spec(&pool.check),
                target: Target {
                    address: endpoint.check_target(),
                },
                cadence: Cadence {
                    interval: pool.check.interval,
                    fast_interval: pool.check.fast_interval(),
                    fall: pool.check.fall,
                    rise: pool.check.rise,
                },
            });
        }
    }
    targets
}
