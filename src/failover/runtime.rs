//! The failover runtime: one tokio task that owns the failover state, the probe scheduler
//! and the right to store new answer tables. Local probe results, probe agents' reports,
//! operator commands and reloads all arrive here, so the table has a single writer and
//! nothing is locked. The task also wakes when a checker's view turns stale, to recompute
//! the verdicts that depended on it.
//!
//! A health change rebuilds only the changed pool's answers ([`Table::with_pool`]) and
//! swaps the table pointer; workers pick it up on their next batch. A reload loads and
//! compiles on a blocking thread while the task goes on with everything else; the task
//! then applies the new configuration to its state and swaps the prepared table in,
//! rebuilding first the pools whose answer changed meanwhile.

mod handle;
mod outgoing;
mod resign;
mod secondary;
mod state_file;

use handle::Command;
pub use handle::{tokens_match, Handle};
use outgoing::Outgoing;
use resign::{Resigned, Resigner};
use secondary::{Secondaries, Transferred};

use super::fleet::Fleet;
use super::status::Status;
use super::{Failover, Observation, ReportTally};
use crate::app::{self, Loaded, ReloadReport, Source, Summary};
use crate::config::{CheckerConfig, Config};
use crate::diag::{Diagnostic, Diagnostics};
use crate::name::Name;
use crate::probe::probe_targets;
use crate::probe::scheduler::{
    first_round, ProbeReport, ProbeTarget, Scheduler, DEFAULT_MAX_CONCURRENCY,
};
use crate::probe::EndpointKey;
use crate::server::notify::{self, Notice, NotifyInbox};
use crate::table::{PoolAnswer, PoolDef, SharedTable, Table};
use arc_swap::ArcSwap;
use state_file::{LoadNote, StateStore};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Instant, SystemTime};
use tokio::sync::{mpsc, oneshot};

/// What start-up hands back: the table to serve and the handle to the runtime.
pub struct Started {
    pub table: SharedTable,
    pub handle: Handle,
    /// Where the UDP workers hand NOTIFY over, when there are secondary zones.
    pub notify: Option<NotifyInbox>,
    /// The zones offered to secondaries, for the TCP side.
    pub transfers: crate::server::SharedOffered,
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
    reloads: Reloads,
    /// Where prepared reloads come back to the runtime's task.
    reload_done: mpsc::Sender<Result<Prepared, Diagnostics>>,
    /// Signed zones compiled again before their signatures age or keys change state.
    resigner: Resigner,
    /// The secondary zones' refresh tasks; a transfer asks for a reload.
    secondaries: Secondaries,
    /// The zones offered to secondaries (transfers out, journals, NOTIFY).
    outgoing: Outgoing,
}

/// Restores saved state, runs one round of checks (bounded by the longest timeout) so the
/// first answers already reflect health, compiles the table and starts the runtime task.
/// Fails when the state folder is unusable (`app::load` checked it before).
pub async fn start(loaded: Loaded, source: Source) -> Result<Started, String> {
    let Loaded {
        config,
        zones,
        signing,
        unserved,
        routing,
    } = loaded;
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
    failover.set_routing(routing);
    let targets = local_targets(&failover);
    if !targets.is_empty() {
        tracing::info!(
            endpoints = targets.len(),
            "running the first round of health checks"
        );
    }
    let first_checks = first_round(&targets).await;
    for report in &first_checks {
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
    let compiled = resign::compile_at(&zones, &signing, &failover.pool_defs(), app::unix_now());
    let table = compiled.table.with_unserved(unserved).shared();
    let (mut scheduler, reports) = Scheduler::new(DEFAULT_MAX_CONCURRENCY);
    scheduler.set_targets_after(targets, &first_checks);
    let (commands, receiver) = mpsc::channel(64);
    let (reload_done, reloaded) = mpsc::channel(1);
    let (resign_done, resigned) = mpsc::channel(1);
    let mut resigner = Resigner::new(resign_done);
    resigner.loaded(zones, signing, compiled.next);
    let checkers = Arc::new(ArcSwap::from_pointee(config.checkers.clone()));
    let (transferred_tx, transferred) = mpsc::channel(16);
    let has_secondaries = config.zones.iter().any(|z| z.secondary.is_some());
    let (inbox, notices) = forward_notices(has_secondaries);
    let mut secondaries = Secondaries::new(transferred_tx, inbox.clone());
    secondaries.sync(&config);
    let outgoing = Outgoing::start(table.clone(), &config);
    let transfers = outgoing.shared();
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
        reloads: Reloads::default(),
        reload_done,
        resigner,
        secondaries,
        outgoing,
    };
    runtime.persist();
    tokio::spawn(runtime.run(reports, receiver, reloaded, resigned, transferred, notices));
    Ok(Started {
        table,
        handle: Handle { commands, checkers },
        notify: inbox,
        transfers,
    })
}

impl Runtime {
    async fn run(
        mut self,
        mut reports: mpsc::Receiver<ProbeReport<EndpointKey>>,
        mut commands: mpsc::Receiver<Command>,
        mut reloaded: mpsc::Receiver<Result<Prepared, Diagnostics>>,
        mut resigned: mpsc::Receiver<Resigned>,
        mut transferred: mpsc::Receiver<Transferred>,
        mut notices: mpsc::Receiver<Notice>,
    ) {
        loop {
            let sweep_at = self.failover.next_sweep();
            let resign_at = self.resigner.due();
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
                    Some(command) => self.handle(command),
                    None => break,
                },
                Some(prepared) = reloaded.recv() => self.finish_reload(prepared),
                () = sleep_until(resign_at) => self.resigner.start(self.failover.pool_defs()),
                Some(done) = resigned.recv() => self.finish_resign(done),
                Some(done) = transferred.recv() => self.request_reload(done.reply),
                Some(notice) = notices.recv() => self.secondaries.notified(&notice),
                () = sleep_until(sweep_at) => {
                    for pool in self.failover.sweep(Instant::now()) {
                        self.redecide(pool);
                    }
                }
            }
        }
        self.scheduler.stop();
    }

    fn handle(&mut self, command: Command) {
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
            Command::Reload { reply } => self.request_reload(reply),
            Command::Status { reply } => {
                let now = Instant::now();
                let status = Status {
                    pools: self.failover.status(now),
                    table_swaps: self.table_swaps,
                    table_build_seconds: self.table_build_seconds,
                    reloads: self.reloads.count.clone(),
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
            // Only the routes whose answer changed are built again.
            let started = Instant::now();
            let mut table: Option<Table> = None;
            for route in 0..self.failover.routes(index) {
                let Some(decision) = self.failover.route_decision(index, route) else {
                    continue;
                };
                if decision.changed {
                    let next = match &table {
                        Some(table) => table.with_pool(index, route, &decision.answer),
                        None => self.table.load().with_pool(index, route, &decision.answer),
                    };
                    table = Some(next);
                }
            }
            if let Some(table) = table {
                self.table.store(Arc::new(table));
                self.table_build_seconds = started.elapsed().as_secs_f64();
                self.table_swaps += 1;
            }
        }
        if outcome.latch_changed {
            self.persist();
        }
    }

    /// Takes a reload request: it joins the reload that starts next (one that is already
    /// loading may have read the files before they changed).
    fn request_reload(&mut self, reply: ReloadReply) {
        self.reloads.queued.push(reply);
        if self.reloads.running.is_empty() {
            self.start_reload();
        }
    }

    /// Loads and compiles the configuration anew on a blocking thread, with the pools'
    /// current answers; the result comes back to [`Runtime::finish_reload`]. Meanwhile the
    /// runtime goes on answering commands, reports and probe results.
    fn start_reload(&mut self) {
        self.reloads.running = std::mem::take(&mut self.reloads.queued);
        let source = self.source.clone();
        let answers: HashMap<Name, Vec<PoolAnswer>> = self
            .failover
            .pool_defs()
            .into_iter()
            .map(|def| (def.name, def.answers))
            .collect();
        let known: HashSet<EndpointKey> =
            self.failover.targets().into_iter().map(|t| t.key).collect();
        let done = self.reload_done.clone();
        tokio::spawn(async move {
            let prepared = tokio::task::spawn_blocking(move || prepare_reload(&source, &answers))
                .await
                .unwrap_or_else(|e| {
                    Err(Diagnostics(vec![Diagnostic::new(
                        "swivel",
                        0,
                        format!("reload failed: {e}"),
                    )]))
                });
            let prepared = match prepared {
                Ok(prepared) => Ok(check_new_endpoints(prepared, &known).await),
                Err(diagnostics) => Err(diagnostics),
            };
            let _ = done.send(prepared).await;
        });
    }

    /// Swaps in a prepared reload (or reports why there is none), answers everyone who
    /// asked for it, and starts the next reload if more requests came meanwhile.
    fn finish_reload(&mut self, prepared: Result<Prepared, Diagnostics>) {
        let result = prepared.map(|prepared| self.apply_reload(prepared));
        let key = if result.is_ok() { "ok" } else { "error" };
        for reply in std::mem::take(&mut self.reloads.running) {
            *self.reloads.count.entry(key.to_string()).or_default() += 1;
            let _ = reply.send(result.clone());
        }
        if !self.reloads.queued.is_empty() {
            self.start_reload();
        }
    }

    /// Applies a valid configuration to the running state: endpoints present before and
    /// after keep their health, probes follow the new set, and pools whose answer changed
    /// while the table compiled are rebuilt (microseconds each) before the swap.
    fn apply_reload(&mut self, prepared: Prepared) -> ReloadReport {
        let (config, restart_needed) = app::merge_reload(&self.config, prepared.config);
        let fleet = Fleet::from_config(&config);
        if &fleet != self.failover.fleet() {
            tracing::info!(checkers = %fleet.names().join(", "), "the checkers changed");
        }
        let mut failover = self
            .failover
            .reconfigure(&config.pools, fleet, Instant::now());
        failover.set_routing(prepared.routing);
        for report in &prepared.first_checks {
            failover.observe(&report.key, &report.outcome, report.at);
        }
        failover.decide_all();
        let mut table = prepared.table;
        self.resigner
            .loaded(prepared.zones, prepared.signing, prepared.resign_at);
        for (index, (now, compiled)) in failover.pool_defs().iter().zip(&prepared.pools).enumerate()
        {
            table = rebuild_changed(table, index, now, compiled);
        }
        // The old table may be large (every record of every zone): free it off this task.
        let old = self.table.swap(Arc::new(table));
        tokio::task::spawn_blocking(move || drop(old));
        self.table_build_seconds = prepared.build_seconds;
        self.table_swaps += 1;
        let changes = self
            .scheduler
            .set_targets_after(local_targets(&failover), &prepared.first_checks);
        tracing::info!(
            added = changes.added,
            removed = changes.removed,
            changed = changes.changed,
            "health checks updated"
        );
        self.failover = failover;
        self.checkers.store(Arc::new(config.checkers.clone()));
        self.config = config;
        self.secondaries.sync(&self.config);
        self.outgoing.sync(&self.config);
        self.persist();
        ReloadReport {
            summary: prepared.summary,
            restart_needed,
        }
    }

    /// Swaps in a re-signed table (unless a reload replaced the zones meanwhile), with the
    /// pools whose answer changed while it compiled rebuilt first.
    fn finish_resign(&mut self, resigned: Resigned) {
        let Some(resigned) = self.resigner.finish(resigned) else {
            return;
        };
        let mut table = resigned.compiled.table;
        for (index, (now, compiled)) in self
            .failover
            .pool_defs()
            .iter()
            .zip(&resigned.pools)
            .enumerate()
        {
            table = rebuild_changed(table, index, now, compiled);
        }
        let old = self.table.swap(Arc::new(table));
        tokio::task::spawn_blocking(move || drop(old));
        self.table_build_seconds = resigned.compiled.build_seconds;
        self.table_swaps += 1;
        let next = resigned
            .compiled
            .next
            .map(crate::dnssec::time::format_timestamp);
        tracing::info!(
            seconds = resigned.compiled.build_seconds,
            next = next.as_deref().unwrap_or("never"),
            "signed zones signed again"
        );
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
fn local_targets(failover: &Failover) -> Vec<ProbeTarget<EndpointKey>> {
    match failover.fleet().local() {
        Some(_) => failover.targets(),
        None => Vec::new(),
    }
}

/// A reload's answer channel.
type ReloadReply = oneshot::Sender<Result<ReloadReport, Diagnostics>>;

/// Reload requests: those the reload under way will answer, those that wait for the next.
#[derive(Default)]
struct Reloads {
    running: Vec<ReloadReply>,
    queued: Vec<ReloadReply>,
    /// Answered requests by result (`ok`, `error`), for status and metrics.
    count: BTreeMap<String, u64>,
}

/// A configuration loaded, checked and compiled off the runtime's task.
struct Prepared {
    config: Config,
    summary: Summary,
    table: Table,
    /// The zones and keys the table was compiled from, kept for re-signing.
    zones: Vec<crate::zone::Zone>,
    signing: Vec<Option<app::SignedZone>>,
    /// When the table must be compiled again for its signatures (seconds since the epoch).
    resign_at: Option<u64>,
    /// The pools as the table was compiled with them.
    pools: Vec<PoolDef>,
    /// Per pool, its compiled routes.
    routing: Vec<Option<Arc<crate::geo::RouteMap>>>,
    build_seconds: f64,
    /// The first check of every endpoint the reload adds, so that none enters the answers
    /// unchecked (empty when the local checks are off).
    first_checks: Vec<ProbeReport<EndpointKey>>,
}

/// Runs the first check of every endpoint of `prepared` that is not among `known` (bounded
/// by the longest timeout), as start-up does for all of them.
async fn check_new_endpoints(mut prepared: Prepared, known: &HashSet<EndpointKey>) -> Prepared {
    if !prepared.config.local_checks {
        return prepared;
    }
    let new: Vec<ProbeTarget<EndpointKey>> = probe_targets(&prepared.config.pools)
        .into_iter()
        .filter(|target| !known.contains(&target.key))
        .collect();
    if !new.is_empty() {
        tracing::info!(
            endpoints = new.len(),
            "checking the endpoints the reload adds before they are served"
        );
        prepared.first_checks = first_round(&new).await;
    }
    prepared
}

/// Loads everything anew and compiles the table, each pool with the answer it has now
/// (a new pool with none); runs on a blocking thread.
/// `table` with the routes of pool `index` whose answer now differs from the one it was
/// compiled with built again.
fn rebuild_changed(mut table: Table, index: usize, now: &PoolDef, compiled: &PoolDef) -> Table {
    for (route, answer) in now.answers.iter().enumerate() {
        if compiled.answers.get(route) != Some(answer) {
            table = table.with_pool(index, route, answer);
        }
    }
    table
}

fn prepare_reload(
    source: &Source,
    answers: &HashMap<Name, Vec<PoolAnswer>>,
) -> Result<Prepared, Diagnostics> {
    let loaded = app::load(source)?;
    let summary = loaded.summary();
    let pools: Vec<PoolDef> = (loaded.config.pools.iter())
        .zip(&loaded.routing)
        .map(|(pool, routing)| {
            let name = pool.owner().expect("pool names are validated before use");
            let routes = pool.routes.len().max(1);
            // The answers of the running pool when its routes are the same in number.
            let answers = answers
                .get(&name)
                .filter(|a| a.len() == routes)
                .cloned()
                .unwrap_or_else(|| vec![PoolAnswer::empty(pool.ttl); routes]);
            PoolDef {
                name,
                answers,
                routing: routing.clone(),
            }
        })
        .collect();
    let compiled = resign::compile_at(&loaded.zones, &loaded.signing, &pools, app::unix_now());
    Ok(Prepared {
        config: loaded.config,
        summary,
        table: compiled.table.with_unserved(loaded.unserved),
        zones: loaded.zones,
        signing: loaded.signing,
        resign_at: compiled.next,
        pools,
        routing: loaded.routing,
        build_seconds: compiled.build_seconds,
        first_checks: Vec::new(),
    })
}

/// The NOTIFY inbox for the UDP workers (only when there are secondary zones at start: a
/// reload that adds the first one needs a restart for NOTIFY) and the runtime's end: a
/// thread moves notices from the workers' non-blocking channel to the runtime's task.
fn forward_notices(wanted: bool) -> (Option<NotifyInbox>, mpsc::Receiver<Notice>) {
    let (sender, receiver) = mpsc::channel(notify::NOTIFY_QUEUE);
    if !wanted {
        return (None, receiver);
    }
    let (inbox, from_workers) = notify::inbox();
    let forwarded = std::thread::Builder::new()
        .name("notify".into())
        .spawn(move || {
            while let Ok(notice) = from_workers.recv() {
                if sender.blocking_send(notice).is_err() {
                    return;
                }
            }
        });
    if let Err(error) = forwarded {
        tracing::error!(%error, "cannot start the NOTIFY thread: NOTIFY is answered NOTIMP");
        return (None, receiver);
    }
    (Some(inbox), receiver)
}

/// Sleeps until `at`; forever when there is nothing to wait for.
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}
