//! One task per secondary zone: it keeps the zone in step with its primaries. It starts from
//! the saved copy in `state_dir` (which the load already served), asks the primaries in
//! order for their SOA, transfers when theirs is newer (`xfr::client::refresh`), validates
//! the result like a zone file (`zone::parse_zone` on the copy's text, then the pools
//! against it), writes the copy atomically and asks the runtime for a reload, which
//! compiles the table off the runtime's task and swaps it in. A refused transfer is logged
//! with the primary and the reason, and the old copy stays. The SOA's refresh and retry
//! times pace it.

use super::ReloadReply;
use crate::app::check_pools_against_zones;
use crate::config::{Config, ZoneConfig};
use crate::name::Name;
use crate::server::notify::{Notice, NotifyInbox};
use crate::wire::rtype;
use crate::xfr::client::{self, Refreshed, Request};
use crate::xfr::message::soa_field;
use crate::xfr::saved::{self, Header};
use crate::zone::{self, Record, Zone};
use arc_swap::ArcSwap;
use std::collections::HashMap;
use std::net::IpAddr;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, Notify};

/// How long to wait before trying again when there is no copy (so no SOA retry time).
const RETRY_WITHOUT_COPY: Duration = Duration::from_secs(10);
/// The shortest pause between refreshes, whatever the SOA says.
const MIN_INTERVAL: Duration = Duration::from_secs(1);
/// The longest pause between refreshes, whatever the SOA says.
const MAX_INTERVAL: Duration = Duration::from_secs(24 * 3600);
/// The most records a transfer may bring, against a primary that never ends one.
const MAX_RECORDS: usize = 50_000_000;

/// A secondary zone's copy changed on disk: the runtime reloads and answers on `reply`.
pub(super) struct Transferred {
    pub reply: ReloadReply,
}

/// The refresh tasks of the secondary zones in force.
pub(super) struct Secondaries {
    tasks: HashMap<Name, Task>,
    /// Where the UDP workers hand NOTIFY over; it learns the primaries' addresses here.
    inbox: Option<NotifyInbox>,
    /// The pool names in force, for checking a transferred zone against them.
    pools: Arc<ArcSwap<Vec<Name>>>,
    transferred: mpsc::Sender<Transferred>,
}

/// One zone's refresh task.
struct Task {
    config: ZoneConfig,
    abort: tokio::task::AbortHandle,
    /// Wakes the task for a refresh now (a primary's NOTIFY).
    wake: Arc<Notify>,
}

impl Secondaries {
    pub(super) fn new(
        transferred: mpsc::Sender<Transferred>,
        inbox: Option<NotifyInbox>,
    ) -> Secondaries {
        Secondaries {
            tasks: HashMap::new(),
            inbox,
            pools: Arc::new(ArcSwap::from_pointee(Vec::new())),
            transferred,
        }
    }

    /// Starts a task for every secondary zone of `config` that has none with the same
    /// settings, and stops the tasks of zones that are gone or changed.
    pub(super) fn sync(&mut self, config: &Config) {
        let names: Vec<Name> = config.pools.iter().filter_map(|p| p.owner()).collect();
        self.pools.store(Arc::new(names));
        let wanted: HashMap<&Name, &ZoneConfig> = config
            .zones
            .iter()
            .filter(|z| z.secondary.is_some())
            .map(|z| (&z.origin, z))
            .collect();
        self.tasks.retain(|origin, task| {
            let keep = wanted.get(origin).is_some_and(|z| **z == task.config);
            if !keep {
                task.abort.abort();
            }
            keep
        });
        if let Some(inbox) = &self.inbox {
            let mut addresses: Vec<IpAddr> = wanted
                .values()
                .filter_map(|z| z.secondary.as_ref())
                .flat_map(|s| s.primaries.iter().map(|p| p.ip()))
                .collect();
            addresses.sort();
            addresses.dedup();
            inbox.primaries.store(Arc::new(addresses));
        }
        for (origin, zone) in wanted {
            if self.tasks.contains_key(origin) {
                continue;
            }
            let wake = Arc::new(Notify::new());
            let task = tokio::spawn(keep_in_step(
                zone.clone(),
                self.pools.clone(),
                self.transferred.clone(),
                wake.clone(),
            ));
            let task = Task {
                config: zone.clone(),
                abort: task.abort_handle(),
                wake,
            };
            self.tasks.insert(origin.clone(), task);
        }
    }
}

impl Secondaries {
    /// A NOTIFY from a primary's address: the zone it names is refreshed now when the
    /// sender is one of that zone's primaries; anything else is logged and ignored.
    pub(super) fn notified(&self, notice: &Notice) {
        let task = self
            .tasks
            .iter()
            .find(|(origin, _)| origin.as_wire() == notice.zone());
        let Some((origin, task)) = task else {
            tracing::info!(from = %notice.from, "NOTIFY for a zone that is not a secondary zone here: ignored");
            return;
        };
        let primary = task
            .config
            .secondary
            .as_ref()
            .is_some_and(|s| s.primaries.iter().any(|p| p.ip() == notice.from));
        if primary {
            tracing::info!(zone = %origin, from = %notice.from, "NOTIFY from a primary: refreshing");
            task.wake.notify_one();
        } else {
            tracing::info!(zone = %origin, from = %notice.from, "NOTIFY from an address that is not this zone's primary: ignored");
        }
    }
}

impl Drop for Secondaries {
    fn drop(&mut self) {
        for task in self.tasks.values() {
            task.abort.abort();
        }
    }
}

/// Sleeps for `pause`, or less when `wake` is notified.
async fn sleep_or_wake(pause: Duration, wake: &Notify) {
    tokio::select! {
        () = tokio::time::sleep(pause) => {}
        () = wake.notified() => {}
    }
}

/// The refresh loop of one secondary zone. Past the SOA's expire time without a successful
/// refresh, it asks for a reload, which leaves the zone out (SERVFAIL); the next success
/// brings it back the same way.
async fn keep_in_step(
    zone: ZoneConfig,
    pools: Arc<ArcSwap<Vec<Name>>>,
    transferred: mpsc::Sender<Transferred>,
    wake: Arc<Notify>,
) {
    let (mut current, mut last_success) = load_copy(&zone).await.unzip();
    // As the load decided: a copy past its expire time is not served.
    let mut expired = current
        .as_ref()
        .and_then(|records| apex_soa(&zone.origin, records))
        .and_then(|soa| soa_field(&soa.rdata, 3))
        .zip(last_success)
        .is_some_and(|(expire, last)| client::unix_now() > last.saturating_add(u64::from(expire)));
    loop {
        let ok = refresh(&zone, &mut current, &pools, &transferred).await;
        if ok {
            last_success = Some(client::unix_now());
            if expired {
                expired = false;
                tracing::info!(zone = %zone.origin, "a primary answered again: serving the zone");
                swap_in(&zone.origin, &transferred).await;
            }
        }
        let soa = current
            .as_ref()
            .and_then(|records| apex_soa(&zone.origin, records));
        let pause = match (soa, ok) {
            (Some(soa), true) => seconds(soa_field(&soa.rdata, 1)),
            (Some(soa), false) => seconds(soa_field(&soa.rdata, 2)),
            (None, _) => RETRY_WITHOUT_COPY,
        };
        let expires_at = soa
            .and_then(|soa| soa_field(&soa.rdata, 3))
            .zip(last_success)
            .map(|(expire, last)| last.saturating_add(u64::from(expire)));
        let now = client::unix_now();
        match expires_at {
            Some(at) if !expired && at.saturating_sub(now) < pause.as_secs() => {
                sleep_or_wake(Duration::from_secs(at.saturating_sub(now) + 1), &wake).await;
                if !refresh(&zone, &mut current, &pools, &transferred).await {
                    expired = true;
                    tracing::warn!(zone = %zone.origin, "secondary zone expired: no primary answered within the SOA expire time; answering SERVFAIL");
                    swap_in(&zone.origin, &transferred).await;
                } else {
                    last_success = Some(client::unix_now());
                }
            }
            _ => sleep_or_wake(pause, &wake).await,
        }
    }
}

/// An SOA timer as a pause, within [`MIN_INTERVAL`] and [`MAX_INTERVAL`].
fn seconds(field: Option<u32>) -> Duration {
    let seconds = Duration::from_secs(u64::from(field.unwrap_or(60)));
    seconds.clamp(MIN_INTERVAL, MAX_INTERVAL)
}

fn apex_soa<'a>(origin: &Name, records: &'a [Record]) -> Option<&'a Record> {
    records
        .iter()
        .find(|r| r.rtype == rtype::SOA && r.owner == *origin)
}

/// The records of the saved copy, when there is a valid one, and when it was last known to
/// be in step.
async fn load_copy(zone: &ZoneConfig) -> Option<(Vec<Record>, u64)> {
    let (origin, path) = (zone.origin.clone(), zone.file.clone());
    let loaded = tokio::task::spawn_blocking(move || {
        let text = std::fs::read(&path).ok()?;
        match zone::parse_zone(&origin, &path, &text) {
            Ok(zone) => Some((zone.records, saved::last_success(&path, &text).unwrap_or(0))),
            Err(diagnostics) => {
                for diagnostic in &diagnostics.0 {
                    tracing::error!(zone = %origin, "saved copy unusable: {diagnostic}");
                }
                None
            }
        }
    });
    loaded.await.ok().flatten()
}

/// Asks the primaries in order until one answers; true when the zone is now in step.
async fn refresh(
    zone: &ZoneConfig,
    current: &mut Option<Vec<Record>>,
    pools: &ArcSwap<Vec<Name>>,
    transferred: &mpsc::Sender<Transferred>,
) -> bool {
    let Some(secondary) = &zone.secondary else {
        return false;
    };
    for &primary in &secondary.primaries {
        let request = Request {
            origin: &zone.origin,
            key: secondary.tsig.as_ref(),
            current: current.as_deref(),
            max_records: MAX_RECORDS,
        };
        let refreshed = match client::refresh(primary, &request).await {
            Ok(refreshed) => refreshed,
            Err(error) => {
                tracing::warn!(zone = %zone.origin, %primary, %error, "refresh from this primary failed");
                continue;
            }
        };
        let Refreshed::Zone {
            serial,
            records,
            kind,
            fallback,
        } = refreshed
        else {
            tracing::debug!(zone = %zone.origin, %primary, "zone is up to date");
            let path = saved::refreshed_path(&zone.file);
            let marked = tokio::task::spawn_blocking({
                let copy = zone.file.clone();
                move || saved::mark_refreshed(&copy, client::unix_now())
            });
            if let Ok(Err(error)) = marked.await {
                tracing::error!(file = %path.display(), %error, "cannot record the refresh");
            }
            return true;
        };
        if let Some(reason) = fallback {
            tracing::info!(zone = %zone.origin, %primary, %reason, "IXFR not possible: transferring the whole zone");
        }
        let count = records.len();
        let checked = check_and_save(zone, primary, serial, records, pools.load_full()).await;
        match checked {
            Ok(records) => {
                tracing::info!(zone = %zone.origin, %primary, serial, records = count,
                    kind = kind.as_str(), "zone transferred");
                *current = Some(records);
                swap_in(&zone.origin, transferred).await;
                return true;
            }
            Err(reason) => {
                tracing::error!(zone = %zone.origin, %primary, serial, kind = kind.as_str(),
                    "transfer refused, still serving the copy we had: {reason}");
            }
        }
    }
    false
}

/// Validates a transferred zone as a zone file is (the copy's text through the zone loader,
/// then the pools against it) and writes the copy; the validated records come back.
async fn check_and_save(
    zone: &ZoneConfig,
    primary: SocketAddr,
    serial: u32,
    records: Vec<Record>,
    pools: Arc<Vec<Name>>,
) -> Result<Vec<Record>, String> {
    let (origin, path) = (zone.origin.clone(), zone.file.clone());
    let work = move || {
        let header = Header {
            serial,
            fetched: client::unix_now(),
            primary: primary.to_string(),
        };
        let text = saved::render(&origin, &records, &header);
        let label = PathBuf::from(format!("transfer from {primary}"));
        let checked: Zone = zone::parse_zone(&origin, &label, text.as_bytes()).map_err(|d| {
            let lines: Vec<String> = d.0.iter().map(ToString::to_string).collect();
            lines.join("; ")
        })?;
        let clashes = check_pools_against_zones(std::slice::from_ref(&checked), &pools);
        let clashes: Vec<String> = clashes
            .into_iter()
            .filter(|c| pools.get(c.pool).is_some_and(|p| p.is_below_or_at(&origin)))
            .map(|c| c.message)
            .collect();
        if !clashes.is_empty() {
            return Err(clashes.join("; "));
        }
        saved::write_atomically(&path, &text)
            .map_err(|e| format!("cannot save the copy {}: {e}", path.display()))?;
        Ok(checked.records)
    };
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| format!("validation failed: {e}"))?
}

/// Asks the runtime to reload (the new copy with everything else) and logs how it went.
async fn swap_in(origin: &Name, transferred: &mpsc::Sender<Transferred>) {
    let (reply, answer) = oneshot::channel();
    if transferred.send(Transferred { reply }).await.is_err() {
        return;
    }
    match answer.await {
        Ok(Ok(_)) => tracing::info!(zone = %origin, "the transferred zone is served"),
        Ok(Err(diagnostics)) => {
            tracing::error!(zone = %origin, "the reload that would serve the transferred zone was refused: {diagnostics}")
        }
        Err(_) => {}
    }
}
