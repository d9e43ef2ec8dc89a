//! `swivel check`: a configuration and its zones validated as `serve` and `probe` read them,
//! with a summary printed, or every problem with file and line and exit code 1.

use crate::app::{self, Source};
use crate::diag::Diagnostics;
use std::path::Path;
use std::process::ExitCode;

/// `swivel check`: loads the configuration and every zone as `serve` would, and prints
/// what it found, or every problem.
pub fn check(path: &Path) -> ExitCode {
    print_signed_zones(path);
    match app::load(&Source::File(path.to_path_buf())) {
        Ok(loaded) => {
            let summary = loaded.summary();
            println!("{}: configuration OK", path.display());
            for addr in &loaded.config.server.listen {
                println!("listen {addr} (UDP and TCP)");
            }
            for zone in &summary.zones {
                println!(
                    "zone {} from {}: {} records",
                    zone.origin,
                    zone.file.display(),
                    zone.records
                );
            }
            for (signing, zone) in loaded.signing.iter().zip(&loaded.zones) {
                if signing.is_none() && app::is_signed_elsewhere(zone) {
                    println!(
                        "zone {}: signed elsewhere, served with the signatures and NSEC \
                         records of its file",
                        zone.origin
                    );
                }
            }
            let config = &loaded.config;
            let fleet = crate::failover::fleet::Fleet::from_config(config);
            if fleet.len() > 1 || fleet.local().is_none() {
                println!("checkers: {}", fleet.names().join(", "));
            }
            for (index, pool) in config.pools.iter().enumerate() {
                let check = &pool.check;
                println!(
                    "pool {}: policy {}, failback {}, {} endpoints, {} check every {:?}{}",
                    pool.name,
                    format!("{:?}", pool.policy).to_lowercase(),
                    format!("{:?}", pool.failback).to_lowercase(),
                    pool.endpoints.len(),
                    check.kind.as_str(),
                    check.interval,
                    if fleet.len() > 1 {
                        format!(
                            ", quorum {} of {} checkers, stale after {:?}",
                            check.quorum,
                            fleet.len(),
                            check.stale_after()
                        )
                    } else {
                        String::new()
                    }
                );
                for (number, route) in pool.routes.iter().enumerate() {
                    let matches: Vec<String> =
                        route.matches.iter().map(|m| m.to_string()).collect();
                    println!(
                        "  route {}: {} -> sites {}",
                        number + 1,
                        matches.join(", "),
                        route.sites.join(", ")
                    );
                }
                if let Some(Some(map)) = loaded.routing.get(index) {
                    println!("  routes compiled into {} address ranges", map.pieces());
                }
            }
            println!("total: {summary}");
            ExitCode::SUCCESS
        }
        Err(diagnostics) => refuse(path, &diagnostics),
    }
}

/// For each signed zone whose keys load: its keys (tag, algorithm, duty, state now) and the
/// DS records to give the parent (SHA-256) for its key-signing keys. Problems are left to
/// the load that follows, which reports them all.
fn print_signed_zones(path: &Path) {
    let Ok(config) = crate::config::load(path) else {
        return;
    };
    let now = crate::control::human::unix_now() as u64;
    for zone in &config.zones {
        let Some(dnssec) = &zone.dnssec else { continue };
        let Ok(keys) = app::load_zone_keys(&config.file, zone, dnssec) else {
            continue;
        };
        println!("zone {}: signed, {} keys", zone.origin, keys.keys.len());
        for key in &keys.keys {
            println!(
                "  key {} algorithm {} {} {}",
                key.tag,
                key.algorithm,
                keys.duty(key, now).name(),
                key.state(now).name()
            );
        }
        for key in &keys.keys {
            if keys.duty(key, now) != crate::dnssec::Duty::Zsk && key.state(now).is_published() {
                println!("  DS for the parent: {}", key.ds_record());
            }
        }
    }
}

/// Prints every problem to stderr and a summary line; the exit code of a refused check.
fn refuse(path: &Path, diagnostics: &Diagnostics) -> ExitCode {
    for diagnostic in &diagnostics.0 {
        eprintln!("{diagnostic}");
    }
    eprintln!(
        "{}: {}; configuration refused",
        path.display(),
        diagnostics.count()
    );
    ExitCode::FAILURE
}

/// `swivel check --probe`: the file as a probe agent reads it.
pub fn check_probe(path: &Path) -> ExitCode {
    match crate::config::load_as(path, crate::config::Mode::Probe) {
        Ok(config) => {
            let probe = config.probe.expect("probe mode requires [probe]");
            if let Err(reason) = crate::agent::tls_config(&probe) {
                let problem = crate::diag::Diagnostic::new(path, 0, reason);
                return refuse(path, &Diagnostics(vec![problem]));
            }
            println!("{}: probe configuration OK", path.display());
            println!("checker {}", probe.name);
            for url in &probe.report_to {
                println!("report to {url}");
            }
            if let Some(address) = probe.metrics_listen {
                println!("metrics on http://{address}/metrics");
            }
            for pool in &config.pools {
                println!(
                    "pool {}: {} endpoints, {} check every {:?}",
                    pool.name,
                    pool.endpoints.len(),
                    pool.check.kind.as_str(),
                    pool.check.interval
                );
            }
            ExitCode::SUCCESS
        }
        Err(diagnostics) => refuse(path, &diagnostics),
    }
}
