//! The failover runtime: one tokio task that owns the failover state, the probe scheduler
//! and the right to store new answer tables. Local probe results, probe agents' reports,
//! operator commands and reloads all arrive here, so the table has a single writer and
//! nothing is locked. The task also wakes when a checker's view turns stale, to recompute
//! the verdicts that depended on it.
//!
//! A health change rebuilds only the changed pool's answers ([`Table::with_pool`]) and
//! swaps the table pointer; workers pick it up on their next batch.

mod handle;
mod state_file;

use handle::Command;
pub use handle::Handle;

use super::fleet::Fleet;
use super::status::Status;
use super::{Failover, Observation, ReportTally};
use crate::app::{self, Loaded, ReloadReport, Source};
use crate::config::pool::CheckKind;
use crate::config::{CheckerConfig, Config};
use crate::diag::{Diagnostic, Diagnostics};
use crate::probe::scheduler::{first_round, ProbeReport, Scheduler, DEFAULT_MAX_CONCURRENCY};
use crate::probe::EndpointKey;
use crate::table::{SharedTable, Table};
use arc_swap::ArcSwap;
use state_file::{LoadNote, StateStore};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Instant, SystemTime};
use tokio::sync::mpsc;

/// What start-up hands back: the table to serve and the handle to the runtime.
pub struct Started {
    pub table: SharedTable,
    pub handle: Handle,
}

struct Runtime {
    checkers: Arc<ArcSwap<Vec<CheckerConfig>>>,
    source: Source,
    config: Config,
    failover: Failover,
    table: SharedTable,
    scheduler: Scheduler<EndpointKey>,
    store: Option<StateStore>,
    table_swaps: u64,
    table_build_seconds: f64,
    reloads: BTreeMap<String, u64>,
}

/// Restores saved state, runs one round of checks (bounded by the longest timeout) so the
/// first answers already reflect health, compiles the table and starts the runtime task.
/// Fails when the state folder is unusable or ICMP checks are configured without the
/// privilege to send them.
pub async fn start(loaded: Loaded, source: Source) -> Result<Started, String> {
    let Loaded { config, zones } = loaded;
    if config.pools.iter().any(|p| p.check.kind == CheckKind::Icmp) {
        crate::probe::icmp::check_privilege()
            .map_err(|e| format!("ICMP health checks are configured but cannot run: {e}"))?;
    }
    let store = match &config.server.state_dir {
        Some(dir) => {
            Some(StateStore::open(dir).map_err(|e| format!("state_dir {}: {e}", dir.display()))?)
        }
        None => None,
    };
    let saved = match &store {
        None => Default::default(),
        Some(store) => {
            let (saved, note) = store
                .load()
                .map_err(|e| format!("{}: {e}", store.path().display()))?;
            if let LoadNote::SetAside { set_aside, error } = note {
                tracing::error!(file = %store.path().display(), set_aside = %set_aside.display(), %error,
                    "the state file is corrupt: set aside, starting without saved overrides and latches");
            }
            saved
        }
    };
    let fleet = Fleet::from_config(&config);
    let mut failover = Failover::new(
        &config.pools,
        fleet.clone(),
        &saved,
        Instant::now(),
        SystemTime::now(),
    );
    let targets = local_targets(&failover);
    if !targets.is_empty() {
        tracing::info!(
            endpoints = targets.len(),
            "running the first round of health checks"
        );
    }
    for report in first_round(&targets).await {
        failover.observe(&report.key, &report.outcome, report.at);
    }
    if fleet.len() > 1 || fleet.local().is_none() {
        let checkers: Vec<&str> = fleet.names().iter().map(String::as_str).collect();
        tracing::info!(
            checkers = %checkers.join(", "),
            "endpoint verdicts follow the quorum of these checkers; probe agents report to POST /v1/reports"
        );
    }
    failover.decide_all();
    let started = Instant::now();
    let table = Table::compile(&zones, &failover.pool_defs()).shared();
    let (mut scheduler, reports) = Scheduler::new(DEFAULT_MAX_CONCURRENCY);
    scheduler.set_targets(targets);
    let (commands, receiver) = mpsc::channel(64);
    let checkers = Arc::new(ArcSwap::from_pointee(config.checkers.clone()));
    let runtime = Runtime {
        checkers: checkers.clone(),
        source,
        config,
        failover,
        table: table.clone(),
        scheduler,
        store,
        table_swaps: 0,
        table_build_seconds: started.elapsed().as_secs_f64(),
        reloads: BTreeMap::new(),
    };
    runtime.persist();
    tokio::spawn(runtime.run(reports, receiver));
    Ok(Started {
        table,
        handle: Handle { commands, checkers },
    })
}

impl Runtime {
    async fn run(
        mut self,
        mut reports: mpsc::Receiver<ProbeReport<EndpointKey>>,
        mut commands: mpsc::Receiver<Command>,
    ) {
        loop {
            let sweep_at = self.failover.next_sweep();
            tokio::select! {
                Some(report) = reports.recv() => {
                    let changed = self.failover.observe(&report.key, &report.outcome, report.at);
                    if let Some(local) = self.failover.fleet().local() {
                        self.failover.count_report(local, 1, 0, report.at);
                    }
                    if let Some(pool) = changed {
                        self.redecide(pool);
                    }
                }
                command = commands.recv() => match command {
                    Some(command) => self.handle(command).await,
                    None => break,
                },
                () = sleep_until(sweep_at) => {
                    for pool in self.failover.sweep(Instant::now()) {
                        self.redecide(pool);
                    }
                }
            }
        }
        self.scheduler.stop();
    }

    async fn handle(&mut self, command: Command) {
        match command {
            Command::Override {
                pool,
                address,
                value,
                reply,
            } => {
                let result = self
                    .failover
                    .set_override(&pool, address, value)
                    .map(|index| {
                        self.redecide(index);
                        self.persist();
                    });
                let _ = reply.send(result);
            }
            Command::Failback { pool, reply } => {
                let result = self.failover.release(&pool).map(|(index, tier)| {
                    self.redecide(index);
                    self.persist();
                    tier
                });
                let _ = reply.send(result);
            }
            Command::Reload { reply } => {
                let result = self.reload().await;
                let key = if result.is_ok() { "ok" } else { "error" };
                *self.reloads.entry(key.to_string()).or_default() += 1;
                let _ = reply.send(result);
            }
            Command::Status { reply } => {
                let now = Instant::now();
                let status = Status {
                    pools: self.failover.status(now),
                    table_swaps: self.table_swaps,
                    table_build_seconds: self.table_build_seconds,
                    reloads: self.reloads.clone(),
                    checkers: self.failover.checker_status(now),
                };
                let _ = reply.send(status);
            }
            Command::Report {
                checker,
                observations,
                unreadable,
                reply,
            } => {
                let _ = reply.send(self.report(&checker, &observations, unreadable));
            }
        }
    }

    /// Applies a probe agent's results, each as an observation of the checker received now;
    /// every pool whose verdicts changed is decided once afterwards.
    fn report(
        &mut self,
        checker: &str,
        observations: &[Observation],
        unreadable: u64,
    ) -> Option<ReportTally> {
        let index = self.failover.fleet().index(checker)?;
        let tally = self
            .failover
            .apply_report(index, observations, unreadable, Instant::now());
        if tally.ignored > 0 {
            tracing::debug!(
                checker,
                ignored = tally.ignored,
                "results for pools or endpoints not configured here were ignored"
            );
        }
        for &pool in &tally.changed {
            self.redecide(pool);
        }
        Some(tally)
    }

    /// Decides pool `index` again; a changed answer goes into a new table.
    fn redecide(&mut self, index: usize) {
        let outcome = self.failover.decide(index);
        if outcome.answer_changed {
            let answer = self.failover.decision(index).map(|d| d.answer.clone());
            if let Some(answer) = answer {
                let started = Instant::now();
                let table = self.table.load().with_pool(index, &answer);
                self.table.store(Arc::new(table));
                self.table_build_seconds = started.elapsed().as_secs_f64();
                self.table_swaps += 1;
            }
        }
        if outcome.latch_changed {
            self.persist();
        }
    }

    /// Loads everything anew off the runtime's threads and swaps it in when all is valid.
    /// Endpoints present before and after keep their health; probes follow the new set.
    async fn reload(&mut self) -> Result<ReloadReport, Diagnostics> {
        let source = self.source.clone();
        let loaded = tokio::task::spawn_blocking(move || app::load(&source))
            .await
            .map_err(|e| {
                Diagnostics(vec![Diagnostic::new(
                    "swivel",
                    0,
                    format!("reload failed: {e}"),
                )])
            })??;
        let restart_needed = app::changes_needing_restart(&self.config, &loaded.config);
        let summary = loaded.summary();
        let fleet = Fleet::from_config(&loaded.config);
        if &fleet != self.failover.fleet() {
            tracing::info!(checkers = %fleet.names().join(", "), "the checkers changed");
        }
        let mut failover = self
            .failover
            .reconfigure(&loaded.config.pools, fleet, Instant::now());
        failover.decide_all();
        let pools = failover.pool_defs();
        let zones = loaded.zones;
        let started = Instant::now();
        let table = tokio::task::spawn_blocking(move || Table::compile(&zones, &pools))
            .await
            .map_err(|e| {
                Diagnostics(vec![Diagnostic::new(
                    "swivel",
                    0,
                    format!("reload failed: {e}"),
                )])
            })?;
        self.table.store(Arc::new(table));
        self.table_build_seconds = started.elapsed().as_secs_f64();
        self.table_swaps += 1;
        let changes = self.scheduler.set_targets(local_targets(&failover));
        tracing::info!(
            added = changes.added,
            removed = changes.removed,
            changed = changes.changed,
            "health checks updated"
        );
        self.failover = failover;
        self.checkers
            .store(Arc::new(loaded.config.checkers.clone()));
        self.config.pools = loaded.config.pools;
        self.config.zones = loaded.config.zones;
        self.config.checkers = loaded.config.checkers;
        self.config.local_checks = loaded.config.local_checks;
        self.persist();
        Ok(ReloadReport {
            summary,
            restart_needed,
        })
    }

    /// Writes latches and overrides to `state_dir`, when one is configured.
    fn persist(&self) {
        let Some(store) = &self.store else { return };
        if let Err(error) = store.save(&self.failover.saved_state()) {
            tracing::error!(file = %store.path().display(), %error, "cannot save the state file");
        }
    }
}

/// The endpoints the local checks probe: all of them, or none when `[checks] local = false`.
fn local_targets(failover: &Failover) -> Vec<crate::probe::scheduler::ProbeTarget<EndpointKey>> {
    match failover.fleet().local() {
        Some(_) => failover.targets(),
        None => Vec::new(),
    }
}

/// Sleeps until `at`; forever when there is nothing to wait for.
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}
