//! The failover runtime: one tokio task that owns the failover state, the probe scheduler
//! and the right to store new answer tables. Probe reports, operator commands and reloads
//! all arrive here, so the table has a single writer and nothing is locked.
//!
//! A health change rebuilds only the changed pool's answers ([`Table::with_pool`]) and
//! swaps the table pointer; workers pick it up on their next batch.

use super::persist::{LoadNote, StateStore};
use super::status::Status;
use super::{ControlError, EndpointKey, Failover};
use crate::app::{self, Loaded, ReloadReport, Source};
use crate::config::Config;
use crate::diag::{Diagnostic, Diagnostics};
use crate::health::config::CheckKind;
use crate::health::state::Override;
use crate::probe::scheduler::{first_round, ProbeReport, Scheduler, DEFAULT_MAX_CONCURRENCY};
use crate::table::{SharedTable, Table};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::{mpsc, oneshot};

/// A request to the runtime, with the channel its answer goes back on.
enum Command {
    Override {
        pool: String,
        address: IpAddr,
        value: Option<Override>,
        reply: oneshot::Sender<Result<(), ControlError>>,
    },
    Failback {
        pool: String,
        reply: oneshot::Sender<Result<Option<u32>, ControlError>>,
    },
    Reload {
        reply: oneshot::Sender<Result<ReloadReport, Diagnostics>>,
    },
    Status {
        reply: oneshot::Sender<Status>,
    },
}

/// How the rest of the server talks to the runtime (cheap to clone).
#[derive(Clone)]
pub struct Handle {
    commands: mpsc::Sender<Command>,
}

/// The runtime stopped: only while the process shuts down.
fn stopped() -> Diagnostics {
    Diagnostics(vec![Diagnostic::new(
        "swivel",
        0,
        "the server is shutting down",
    )])
}

impl Handle {
    async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Command) -> Option<T> {
        let (reply, answer) = oneshot::channel();
        self.commands.send(make(reply)).await.ok()?;
        answer.await.ok()
    }

    /// Forces an endpoint down (`Some(ForceDown)`), up, or back to its checks (`None`).
    pub async fn set_override(
        &self,
        pool: &str,
        address: IpAddr,
        value: Option<Override>,
    ) -> Result<(), ControlError> {
        let pool = pool.to_string();
        let stopped = ControlError::NoSuchPool(pool.clone());
        self.ask(|reply| Command::Override {
            pool,
            address,
            value,
            reply,
        })
        .await
        .unwrap_or(Err(stopped))
    }

    /// Releases a manual-failback latch; returns the tier that was latched.
    pub async fn failback(&self, pool: &str) -> Result<Option<u32>, ControlError> {
        let pool = pool.to_string();
        let stopped = ControlError::NoSuchPool(pool.clone());
        self.ask(|reply| Command::Failback { pool, reply })
            .await
            .unwrap_or(Err(stopped))
    }

    /// Reloads the configuration and zones; on any error nothing changes.
    pub async fn reload(&self) -> Result<ReloadReport, Diagnostics> {
        self.ask(|reply| Command::Reload { reply })
            .await
            .unwrap_or_else(|| Err(stopped()))
    }

    /// A snapshot of every pool and the runtime's counters.
    pub async fn status(&self) -> Status {
        self.ask(|reply| Command::Status { reply })
            .await
            .unwrap_or_default()
    }
}

/// What start-up hands back: the table to serve and the handle to the runtime.
pub struct Started {
    pub table: SharedTable,
    pub handle: Handle,
}

struct Runtime {
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
    let mut failover = Failover::new(&config.pools, &saved, Instant::now());
    let targets = failover.targets();
    if !targets.is_empty() {
        tracing::info!(
            endpoints = targets.len(),
            "running the first round of health checks"
        );
    }
    for report in first_round(&targets).await {
        failover.observe(&report.key, &report.outcome, report.at);
    }
    failover.decide_all();
    let started = Instant::now();
    let table = Table::compile(&zones, &failover.pool_defs()).shared();
    let (mut scheduler, reports) = Scheduler::new(DEFAULT_MAX_CONCURRENCY);
    scheduler.set_targets(targets);
    let (commands, receiver) = mpsc::channel(64);
    let runtime = Runtime {
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
        handle: Handle { commands },
    })
}

impl Runtime {
    async fn run(
        mut self,
        mut reports: mpsc::Receiver<ProbeReport<EndpointKey>>,
        mut commands: mpsc::Receiver<Command>,
    ) {
        loop {
            tokio::select! {
                Some(report) = reports.recv() => {
                    if let Some(pool) = self.failover.observe(&report.key, &report.outcome, report.at) {
                        self.redecide(pool);
                    }
                }
                command = commands.recv() => match command {
                    Some(command) => self.handle(command).await,
                    None => break,
                },
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
                let status = Status {
                    pools: self.failover.status(),
                    table_swaps: self.table_swaps,
                    table_build_seconds: self.table_build_seconds,
                    reloads: self.reloads.clone(),
                };
                let _ = reply.send(status);
            }
        }
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
        let mut failover = self
            .failover
            .reconfigure(&loaded.config.pools, Instant::now());
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
        let changes = self.scheduler.set_targets(failover.targets());
        tracing::info!(
            added = changes.added,
            removed = changes.removed,
            changed = changes.changed,
            "health checks updated"
        );
        self.failover = failover;
        self.config.pools = loaded.config.pools;
        self.config.zones = loaded.config.zones;
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
