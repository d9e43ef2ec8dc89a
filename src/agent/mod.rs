//! The probe agent, `swivel probe --config FILE`: runs the configured checks from where it
//! stands, with the same scheduler as a responder's local checks, and reports every result
//! to each responder in `[probe] report_to`, which counts it as the view of checker
//! `[probe] name` (see docs/MULTI-LOCATION.md).
//!
//! Each responder has its own sender task and bounded buffer ([`sender`], [`buffer`]): a
//! slow or unreachable responder never delays the checks or another responder. SIGHUP
//! re-reads the pools; SIGTERM and SIGINT stop the agent. With `[probe] metrics_listen`
//! the agent serves its own metrics there ([`metrics`]).

mod buffer;
mod client;
mod metrics;
mod sender;

use crate::config::{self, Config, Mode, ProbeConfig};
use crate::name::Name;
use crate::probe::scheduler::{first_round, ProbeReport, Scheduler, DEFAULT_MAX_CONCURRENCY};
use crate::probe::{probe_targets, EndpointKey};
use crate::report::ReportedResult;
use metrics::AgentCounters;
use sender::Outbox;
use std::collections::HashMap;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::signal::unix::{signal, SignalKind};

/// Results buffered per responder at least, whatever the number of endpoints.
const MIN_BUFFER: usize = 256;
/// Results buffered per responder for each endpoint checked.
const BUFFER_PER_ENDPOINT: usize = 4;

/// Runs the agent on the configuration at `path` until SIGTERM or SIGINT.
pub fn run(path: &Path) -> ExitCode {
    let config = match config::load_as(path, Mode::Probe) {
        Ok(config) => config,
        Err(diagnostics) => {
            for diagnostic in &diagnostics.0 {
                tracing::error!("{diagnostic}");
            }
            tracing::error!("refusing to start: {}", diagnostics.count());
            return ExitCode::FAILURE;
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("swivel-probe")
        .enable_all()
        .build();
    match runtime {
        Ok(runtime) => runtime.block_on(agent(path, config)),
        Err(error) => {
            tracing::error!("cannot start the async runtime: {error}");
            ExitCode::FAILURE
        }
    }
}

/// The TLS settings for https responders from `[probe]`: `ca_file` and the client
/// certificate, if any (`swivel check --probe` reads them too); the error names the file.
pub fn tls_config(probe: &ProbeConfig) -> Result<Arc<rustls::ClientConfig>, String> {
    let identity = probe
        .client_identity
        .as_ref()
        .map(|(cert, key)| (cert.as_path(), key.as_path()));
    client::tls_config(probe.ca_file.as_deref(), identity)
}

/// The checks in force and where their results go.
struct Agent {
    name: String,
    outboxes: Vec<Arc<Outbox>>,
    /// Each pool's `stale_after`: results older than that are not worth sending.
    stale_after: HashMap<Name, Duration>,
    counters: Arc<AgentCounters>,
}

async fn agent(path: &Path, config: Config) -> ExitCode {
    let probe = config.probe.clone().expect("probe mode requires [probe]");
    if let Err(message) = crate::probe::icmp::privilege_for(&config.pools) {
        tracing::error!("refusing to start: {message}");
        return ExitCode::FAILURE;
    }
    let (Ok(mut hangup), Ok(mut terminate), Ok(mut interrupt)) = (
        signal(SignalKind::hangup()),
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::error!("cannot install signal handlers");
        return ExitCode::FAILURE;
    };
    let tls = match tls_config(&probe) {
        Ok(tls) => tls,
        Err(message) => {
            tracing::error!("refusing to start: {message}");
            return ExitCode::FAILURE;
        }
    };
    let targets = probe_targets(&config.pools);
    let capacity = (targets.len() * BUFFER_PER_ENDPOINT).max(MIN_BUFFER);
    let mut agent = Agent {
        name: probe.name.clone(),
        outboxes: Vec::new(),
        stale_after: stale_after(&config),
        counters: Arc::default(),
    };
    agent.counters.set_endpoints(targets.len());
    for url in &probe.report_to {
        let outbox = Outbox::new(capacity);
        let client = client::Client::new(url.clone(), tls.clone(), &probe.token);
        tokio::spawn(sender::run(
            client,
            url.text.clone(),
            probe.name.clone(),
            outbox.clone(),
        ));
        agent.outboxes.push(outbox);
    }
    if let Some(address) = probe.metrics_listen {
        let metrics = metrics::Metrics {
            checker: probe.name.clone(),
            agent: agent.counters.clone(),
            links: probe
                .report_to
                .iter()
                .map(|url| url.text.clone())
                .zip(agent.outboxes.iter().cloned())
                .collect(),
        };
        match metrics::serve(address, metrics).await {
            Ok(local) => tracing::info!(address = %local, "metrics listening"),
            Err(error) => {
                tracing::error!("refusing to start: probe.metrics_listen {address}: {error}");
                return ExitCode::FAILURE;
            }
        }
    }
    let responders: Vec<&str> = probe.report_to.iter().map(|u| u.text.as_str()).collect();
    tracing::info!(
        checker = %probe.name, endpoints = targets.len(), pools = config.pools.len(),
        responders = %responders.join(", "),
        "probe agent starting: first round of checks"
    );
    let first_checks = first_round(&targets).await;
    for report in &first_checks {
        agent.post(report);
    }
    let (mut scheduler, mut reports) = Scheduler::new(DEFAULT_MAX_CONCURRENCY);
    scheduler.set_targets_after(targets, &first_checks);
    tracing::info!(checker = %probe.name, "probe agent ready; SIGHUP re-reads the pools");
    loop {
        tokio::select! {
            Some(report) = reports.recv() => agent.post(&report),
            _ = hangup.recv() => agent.reload(path, &probe, &mut scheduler),
            _ = terminate.recv() => break,
            _ = interrupt.recv() => break,
        }
    }
    scheduler.stop();
    tracing::info!("probe agent stopping");
    ExitCode::SUCCESS
}

impl Agent {
    /// Hands one result to every responder's outbox.
    fn post(&self, report: &ProbeReport<EndpointKey>) {
        self.counters.count_check(report.outcome.ok);
        let max_age = self
            .stale_after
            .get(&report.key.pool)
            .copied()
            .unwrap_or(Duration::from_secs(3));
        let result = ReportedResult::new(
            report.key.pool.to_string(),
            report.key.address,
            &report.outcome,
            unix_now(),
        );
        for outbox in &self.outboxes {
            outbox
                .buffer
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(result.clone(), report.at, max_age);
            outbox.ready.notify_one();
        }
    }

    /// SIGHUP: the pools of the file as it is now; `[probe]` changes need a restart.
    fn reload(
        &mut self,
        path: &Path,
        running: &ProbeConfig,
        scheduler: &mut Scheduler<EndpointKey>,
    ) {
        let config = match config::load_as(path, Mode::Probe) {
            Ok(config) => config,
            Err(diagnostics) => {
                for diagnostic in &diagnostics.0 {
                    tracing::error!("{diagnostic}");
                }
                tracing::error!("reload refused: still checking the previous pools");
                return;
            }
        };
        if config.probe.as_ref() != Some(running) {
            tracing::warn!(checker = %self.name, "[probe] changed; restart swivel probe to apply it (still using the old settings)");
        }
        if let Err(message) = crate::probe::icmp::privilege_for(&config.pools) {
            tracing::error!("reload refused: {message}");
            return;
        }
        self.stale_after = stale_after(&config);
        let targets = probe_targets(&config.pools);
        self.counters.set_endpoints(targets.len());
        let changes = scheduler.set_targets(targets);
        tracing::info!(
            added = changes.added,
            removed = changes.removed,
            changed = changes.changed,
            "reloaded: health checks updated"
        );
    }
}

fn stale_after(config: &Config) -> HashMap<Name, Duration> {
    config
        .pools
        .iter()
        .filter_map(|pool| Some((pool.owner()?, pool.check.stale_after())))
        .collect()
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}
