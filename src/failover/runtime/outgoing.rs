//! Transfers out, the runtime's part: which zones are offered (rebuilt from the
//! configuration at start and on every reload, each zone keeping its journal), and a task
//! that watches the served table. When a table with new zone data is swapped in, it
//! compares each offered zone with what it saw before: a newer serial adds the differences
//! to the zone's journal (saved in `state_dir`) and sends NOTIFY to the zone's `notify`
//! addresses; the same serial with other content is logged and starts the journal again
//! (older clients then get the whole zone). A zone seen for the first time (at start, or
//! added by a reload) gets its journal from `state_dir`, kept only when it ends at the
//! zone as it is now, and a NOTIFY. A pool's health change swaps a table with the same
//! zones and is not looked at. The watcher keeps a copy of each offered zone's records
//! (those that do not depend on health) to compute the next differences from.

use crate::config::{Config, TsigKeyConfig};
use crate::name::Name;
use crate::server::SharedOffered;
use crate::table::{SharedTable, Table};
use crate::xfr::journal::{self, Change, Journal, DEFAULT_MAX_BYTES};
use crate::xfr::message::soa_serial;
use crate::xfr::out::{Offered, OfferedZone};
use crate::xfr::serial::is_newer;
use crate::zone::Record;
use arc_swap::ArcSwap;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How often the watcher looks at the table pointer.
const WATCH_EVERY: Duration = Duration::from_millis(100);

/// The zones offered to secondaries, and the task that keeps their journals and NOTIFYs.
pub struct Outgoing {
    offered: SharedOffered,
    state_dir: Arc<ArcSwap<Option<PathBuf>>>,
}

impl Outgoing {
    /// Offers the zones of `config` and starts watching `table` (on the current runtime).
    pub fn start(table: SharedTable, config: &Config) -> Outgoing {
        let outgoing = Outgoing {
            offered: Arc::new(ArcSwap::from_pointee(Offered::default())),
            state_dir: Arc::new(ArcSwap::from_pointee(None)),
        };
        outgoing.sync(config);
        let watcher = Watcher {
            table,
            offered: outgoing.offered.clone(),
            state_dir: outgoing.state_dir.clone(),
            seen: HashMap::new(),
            pending: HashMap::new(),
        };
        tokio::spawn(watcher.run());
        outgoing
    }

    /// What the TCP side answers transfers from.
    pub fn shared(&self) -> SharedOffered {
        self.offered.clone()
    }

    /// Offers the zones of `config` (after a reload): a zone offered before keeps its
    /// journal.
    pub fn sync(&self, config: &Config) {
        let old = self.offered.load();
        let mut zones = HashMap::new();
        for zone in config.zones.iter().filter(|z| !z.transfer_out.is_empty()) {
            let journal = match old.zones.get(&zone.origin) {
                Some(kept) => kept.journal.clone(),
                None => Arc::new(Mutex::new(Journal::new(DEFAULT_MAX_BYTES))),
            };
            zones.insert(
                zone.origin.clone(),
                OfferedZone {
                    config: zone.transfer_out.clone(),
                    journal,
                },
            );
        }
        self.state_dir
            .store(Arc::new(config.server.state_dir.clone()));
        self.offered.store(Arc::new(Offered { zones }));
    }
}

/// What the watcher last saw of one zone.
struct Seen {
    soa: Record,
    /// The records that do not depend on health (what the journal holds).
    records: Vec<Record>,
    digest: [u8; 32],
}

struct Watcher {
    table: SharedTable,
    offered: SharedOffered,
    state_dir: Arc<ArcSwap<Option<PathBuf>>>,
    seen: HashMap<Name, Seen>,
    /// NOTIFYs still being sent, by zone and address: a newer change replaces them.
    pending: HashMap<(Name, SocketAddr), tokio::task::AbortHandle>,
}

impl Watcher {
    async fn run(mut self) {
        let mut last_table: Option<Arc<Table>> = None;
        let mut last_offered: Option<Arc<Offered>> = None;
        let mut tick = tokio::time::interval(WATCH_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let table = self.table.load_full();
            let offered = self.offered.load_full();
            let same_table = last_table.as_ref().is_some_and(|t| t.same_zones(&table));
            let same_offered = last_offered
                .as_ref()
                .is_some_and(|o| Arc::ptr_eq(o, &offered));
            if same_table && same_offered {
                continue;
            }
            self.seen
                .retain(|origin, _| offered.zones.contains_key(origin));
            for (origin, zone) in &offered.zones {
                if same_table && self.seen.contains_key(origin) {
                    continue;
                }
                let looked = {
                    let (table, origin) = (table.clone(), origin.clone());
                    tokio::task::spawn_blocking(move || table.zone_records(&origin)).await
                };
                let Ok(Some(now)) = looked else { continue };
                let Some(soa) = now.soa else { continue };
                let digest = journal::digest(&soa, &now.records);
                let seen = Seen {
                    soa,
                    records: now.records,
                    digest,
                };
                let state_dir = self.state_dir.load_full();
                let path = (*state_dir)
                    .as_ref()
                    .map(|dir| journal::journal_path(dir, origin));
                let notify = self
                    .update(origin, zone, seen, now.signed_here, path.as_deref())
                    .await;
                if notify {
                    self.notify(origin, &zone.config.notify, zone.config.keys.first());
                }
            }
            last_table = Some(table);
            last_offered = Some(offered);
        }
    }

    /// Takes in the zone as it is now; returns whether its secondaries are to be told.
    async fn update(
        &mut self,
        origin: &Name,
        zone: &OfferedZone,
        now: Seen,
        signed_here: bool,
        path: Option<&std::path::Path>,
    ) -> bool {
        let serial = soa_serial(&now.soa.rdata).unwrap_or(0);
        let tip = Some((serial, now.digest));
        let journal = zone.journal.clone();
        let Some(before) = self.seen.remove(origin) else {
            // First sight: the saved journal counts only if it ends at this very zone.
            let mut loaded = match path.map(|p| journal::load(p, DEFAULT_MAX_BYTES)) {
                None => Journal::new(DEFAULT_MAX_BYTES),
                Some(Ok(loaded)) => loaded,
                Some(Err(error)) => {
                    tracing::warn!(zone = %origin, file = %path.map_or(String::new(), |p| p.display().to_string()),
                        %error, "the zone's journal is unreadable: starting a new one (IXFR from older serials gets the whole zone)");
                    Journal::new(DEFAULT_MAX_BYTES)
                }
            };
            if loaded.tip() != tip || signed_here {
                if !loaded.is_empty() {
                    tracing::info!(zone = %origin, serial,
                        "the saved journal does not end at the zone served now: starting a new one");
                }
                loaded.reset(tip);
            }
            *lock(&journal) = loaded;
            self.save(origin, &journal, path).await;
            self.seen.insert(origin.clone(), now);
            return true;
        };
        let old_serial = soa_serial(&before.soa.rdata).unwrap_or(0);
        let notify = if is_newer(serial, old_serial) {
            if signed_here {
                lock(&journal).reset(tip);
            } else {
                let (deleted, added) = journal::diff(&before.records, &now.records);
                tracing::info!(zone = %origin, from = old_serial, to = serial,
                    deleted = deleted.len(), added = added.len(), "zone changed: journaled");
                let change = Change {
                    from: before.soa,
                    to: now.soa.clone(),
                    deleted,
                    added,
                };
                lock(&journal).push(change, now.digest);
            }
            true
        } else if serial == old_serial {
            if before.digest != now.digest && !signed_here {
                tracing::warn!(zone = %origin, serial,
                    "the zone's content changed but its serial did not: secondaries will not \
                     see the change until the serial goes up; the journal starts again here");
                lock(&journal).reset(tip);
            }
            false
        } else {
            tracing::warn!(zone = %origin, from = old_serial, to = serial,
                "the zone's serial went back: secondaries keep the newer serial they have; \
                 the journal starts again here");
            lock(&journal).reset(tip);
            false
        };
        if before.digest != now.digest {
            self.save(origin, &journal, path).await;
        }
        self.seen.insert(origin.clone(), now);
        notify
    }

    /// Writes the journal to `path` (off the task), logging a failure.
    async fn save(
        &self,
        origin: &Name,
        journal: &Arc<Mutex<Journal>>,
        path: Option<&std::path::Path>,
    ) {
        let Some(path) = path.map(|p| p.to_path_buf()) else {
            return;
        };
        let journal = journal.clone();
        let written = tokio::task::spawn_blocking(move || {
            let copy = lock(&journal).clone();
            journal::save(&path, &copy).map_err(|e| format!("{}: {e}", path.display()))
        })
        .await;
        if let Ok(Err(error)) = written {
            tracing::error!(zone = %origin, %error, "cannot save the zone's journal");
        }
    }

    /// Sends NOTIFY for `origin` to every address (replacing NOTIFYs still being sent).
    fn notify(&mut self, origin: &Name, targets: &[SocketAddr], key: Option<&TsigKeyConfig>) {
        let Some(seen) = self.seen.get(origin) else {
            return;
        };
        self.pending.retain(|_, task| !task.is_finished());
        for &target in targets {
            let (zone, soa, key) = (origin.clone(), seen.soa.clone(), key.cloned());
            let task = tokio::spawn(async move {
                crate::xfr::notify_out::send(target, &zone, &soa, key.as_ref()).await;
            });
            if let Some(old) = self
                .pending
                .insert((origin.clone(), target), task.abort_handle())
            {
                old.abort();
            }
        }
    }
}

fn lock(journal: &Mutex<Journal>) -> std::sync::MutexGuard<'_, Journal> {
    journal.lock().unwrap_or_else(|e| e.into_inner())
}
