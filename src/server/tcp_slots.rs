//! The TCP connection slots: caps on open connections in total and per client address, and
//! who gives way when a cap is reached. A new connection is worth more than an idle one
//! (RFC 7766 section 6.2.3): when a cap is full, the connection idle the longest (of that
//! client for the per-client cap, of anyone for the total cap) is told to close and the
//! newcomer takes its slot. Under pressure (more than half the total in use) idle
//! connections get a shorter timeout, as NSD does.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// The shortest idle timeout under pressure.
const PRESSURE_IDLE_FLOOR: Duration = Duration::from_millis(200);

/// The idle timeout under pressure: a tenth of the configured one, at least
/// [`PRESSURE_IDLE_FLOOR`], never more than the configured one.
pub(super) fn pressure_idle_timeout(idle_timeout: Duration) -> Duration {
    (idle_timeout / 10)
        .max(PRESSURE_IDLE_FLOOR)
        .min(idle_timeout)
}

/// Which cap made a connection give way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cap {
    PerClient,
    Total,
}

/// Connections closed to admit a newcomer, by cap, since the process started.
static EVICTED_PER_CLIENT: AtomicU64 = AtomicU64::new(0);
static EVICTED_TOTAL: AtomicU64 = AtomicU64::new(0);
/// Connections closed by the idle timeout while under pressure (the shorter timeout).
static CLOSED_UNDER_PRESSURE: AtomicU64 = AtomicU64::new(0);
/// Open connections over every listener.
static OPEN: AtomicUsize = AtomicUsize::new(0);

/// What the metrics show of the TCP slots.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SlotCounts {
    pub open: u64,
    pub evicted_per_client: u64,
    pub evicted_total: u64,
    pub closed_under_pressure: u64,
}

/// The counts now.
pub fn slot_counts() -> SlotCounts {
    SlotCounts {
        open: OPEN.load(Ordering::Relaxed) as u64,
        evicted_per_client: EVICTED_PER_CLIENT.load(Ordering::Relaxed),
        evicted_total: EVICTED_TOTAL.load(Ordering::Relaxed),
        closed_under_pressure: CLOSED_UNDER_PRESSURE.load(Ordering::Relaxed),
    }
}

/// Counts a connection closed by the shorter idle timeout.
pub(super) fn count_closed_under_pressure() {
    CLOSED_UNDER_PRESSURE.fetch_add(1, Ordering::Relaxed);
}

/// The open connections and the caps on them.
pub(super) struct Slots {
    max_total: usize,
    max_per_client: usize,
    /// Activity times are milliseconds since this instant.
    epoch: Instant,
    /// Open connections, also readable without the lock (for the pressure test).
    total: AtomicUsize,
    open: Mutex<HashMap<IpAddr, Vec<Arc<Connection>>>>,
}

/// What a connection's task and the slot table share.
pub(super) struct Connection {
    /// When the connection last finished a query or was accepted, in ms since the epoch.
    last_active_ms: AtomicU64,
    /// Set (under the table's lock) when the connection gave its slot to a newcomer.
    evicted: AtomicBool,
    /// Wakes the connection's task to close.
    evict: Notify,
}

/// One admitted connection; dropping it frees its slot (unless it was evicted, which freed
/// the slot already).
pub(super) struct Permit {
    slots: Arc<Slots>,
    client: IpAddr,
    connection: Arc<Connection>,
}

impl Slots {
    pub fn new(max_total: usize, max_per_client: usize) -> Arc<Self> {
        Arc::new(Slots {
            max_total,
            max_per_client,
            epoch: Instant::now(),
            total: AtomicUsize::new(0),
            open: Mutex::default(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<IpAddr, Vec<Arc<Connection>>>> {
        self.open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// Admits a connection from `client`. When a cap is full, the connection idle the
    /// longest gives way (told to close at once) and the cap it was evicted under is
    /// returned beside the permit.
    pub fn admit(self: &Arc<Self>, client: IpAddr) -> (Permit, Option<Cap>) {
        let mut open = self.lock();
        let from_client = open.get(&client).map_or(0, Vec::len);
        let cap = if from_client >= self.max_per_client {
            Some(Cap::PerClient)
        } else if self.total.load(Ordering::Relaxed) >= self.max_total {
            Some(Cap::Total)
        } else {
            None
        };
        if let Some(cap) = cap {
            let victim = match cap {
                Cap::PerClient => {
                    idlest(open.get(&client).into_iter().flatten().map(|c| (client, c)))
                }
                Cap::Total => idlest(
                    open.iter()
                        .flat_map(|(owner, list)| list.iter().map(move |c| (*owner, c))),
                ),
            };
            if let Some((owner, victim)) = victim {
                remove(&mut open, owner, &victim);
                victim.evicted.store(true, Ordering::Relaxed);
                victim.evict.notify_one();
                self.total.fetch_sub(1, Ordering::Relaxed);
                OPEN.fetch_sub(1, Ordering::Relaxed);
                match cap {
                    Cap::PerClient => &EVICTED_PER_CLIENT,
                    Cap::Total => &EVICTED_TOTAL,
                }
                .fetch_add(1, Ordering::Relaxed);
            }
        }
        let connection = Arc::new(Connection {
            last_active_ms: AtomicU64::new(self.now_ms()),
            evicted: AtomicBool::new(false),
            evict: Notify::new(),
        });
        open.entry(client).or_default().push(connection.clone());
        self.total.fetch_add(1, Ordering::Relaxed);
        OPEN.fetch_add(1, Ordering::Relaxed);
        let permit = Permit {
            slots: self.clone(),
            client,
            connection,
        };
        (permit, cap)
    }

    /// Whether more than half the total is in use.
    fn under_pressure(&self) -> bool {
        self.total.load(Ordering::Relaxed) * 2 > self.max_total
    }

    #[cfg(test)]
    fn open_from(&self, client: IpAddr) -> usize {
        self.lock().get(&client).map_or(0, Vec::len)
    }
}

/// The connection idle the longest, with its client; among equals the earliest admitted
/// (each client's list is in admission order and `min_by_key` keeps the first minimum).
fn idlest<'a>(
    connections: impl Iterator<Item = (IpAddr, &'a Arc<Connection>)>,
) -> Option<(IpAddr, Arc<Connection>)> {
    connections
        .min_by_key(|(_, c)| c.last_active_ms.load(Ordering::Relaxed))
        .map(|(client, c)| (client, c.clone()))
}

/// Removes `connection` from `client`'s list, and the list when it empties.
fn remove(
    open: &mut HashMap<IpAddr, Vec<Arc<Connection>>>,
    client: IpAddr,
    connection: &Arc<Connection>,
) {
    let Some(connections) = open.get_mut(&client) else {
        return;
    };
    if let Some(at) = connections.iter().position(|c| Arc::ptr_eq(c, connection)) {
        connections.remove(at);
    }
    if connections.is_empty() {
        open.remove(&client);
    }
}

impl Permit {
    /// Marks the connection active now (a query read or a reply written).
    pub fn touch(&self) {
        self.connection
            .last_active_ms
            .store(self.slots.now_ms(), Ordering::Relaxed);
    }

    /// Resolves when the connection has been told to give its slot to a newcomer.
    pub async fn evicted(&self) {
        self.connection.evict.notified().await
    }

    /// How long the connection has been idle.
    pub fn idle_for(&self) -> Duration {
        let last = self.connection.last_active_ms.load(Ordering::Relaxed);
        Duration::from_millis(self.slots.now_ms().saturating_sub(last))
    }

    /// Whether the server is under pressure (more than half the total in use).
    pub fn under_pressure(&self) -> bool {
        self.slots.under_pressure()
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut open = self.slots.lock();
        if self.connection.evicted.load(Ordering::Relaxed) {
            return;
        }
        remove(&mut open, self.client, &self.connection);
        self.slots.total.fetch_sub(1, Ordering::Relaxed);
        OPEN.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn ip(last: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
    }

    fn backdate(permit: &Permit, ms: u64) {
        let now = permit.slots.now_ms() + 10_000;
        permit
            .connection
            .last_active_ms
            .store(now.saturating_sub(ms), Ordering::Relaxed);
    }

    #[test]
    fn the_per_client_cap_evicts_that_clients_idlest_connection() {
        let slots = Slots::new(10, 2);
        let (a1, _) = slots.admit(ip(1));
        let (a2, _) = slots.admit(ip(1));
        let (b1, _) = slots.admit(ip(2));
        backdate(&a1, 100);
        backdate(&a2, 500);
        backdate(&b1, 9_000);
        let (_a3, cap) = slots.admit(ip(1));
        assert_eq!(cap, Some(Cap::PerClient));
        assert!(
            a2.connection.evicted.load(Ordering::Relaxed),
            "idlest of ip 1"
        );
        assert!(!a1.connection.evicted.load(Ordering::Relaxed));
        assert!(
            !b1.connection.evicted.load(Ordering::Relaxed),
            "another client's"
        );
        assert_eq!(slots.open_from(ip(1)), 2);
        drop(a2);
        assert_eq!(slots.total.load(Ordering::Relaxed), 3, "no double free");
    }

    #[test]
    fn the_total_cap_evicts_anyones_idlest_connection() {
        let slots = Slots::new(3, 3);
        let (a1, _) = slots.admit(ip(1));
        let (b1, _) = slots.admit(ip(2));
        let (c1, _) = slots.admit(ip(3));
        backdate(&a1, 10);
        backdate(&b1, 800);
        backdate(&c1, 20);
        let (_d1, cap) = slots.admit(ip(4));
        assert_eq!(cap, Some(Cap::Total));
        assert!(b1.connection.evicted.load(Ordering::Relaxed));
        assert_eq!(slots.open_from(ip(2)), 0);
        assert_eq!(slots.total.load(Ordering::Relaxed), 3);
    }

    #[test]
    fn below_the_caps_nobody_is_evicted_and_drops_free_slots() {
        let slots = Slots::new(4, 2);
        let (a1, cap1) = slots.admit(ip(1));
        let (_a2, cap2) = slots.admit(ip(1));
        assert_eq!((cap1, cap2), (None, None));
        assert!(!slots.under_pressure(), "2 of 4 is not more than half");
        let (_b1, _) = slots.admit(ip(2));
        assert!(slots.under_pressure());
        drop(a1);
        assert_eq!(slots.open_from(ip(1)), 1);
        assert_eq!(slots.total.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn equally_idle_connections_give_way_oldest_first() {
        let slots = Slots::new(10, 2);
        let (a1, _) = slots.admit(ip(1));
        let (a2, _) = slots.admit(ip(1));
        backdate(&a1, 100);
        backdate(&a2, 100);
        let _a3 = slots.admit(ip(1));
        assert!(a1.connection.evicted.load(Ordering::Relaxed));
        assert!(!a2.connection.evicted.load(Ordering::Relaxed));
    }

    #[test]
    fn pressure_timeout_is_a_tenth_with_a_floor() {
        let s = Duration::from_secs;
        assert_eq!(pressure_idle_timeout(s(10)), s(1));
        assert_eq!(pressure_idle_timeout(s(1)), Duration::from_millis(200));
        assert_eq!(
            pressure_idle_timeout(Duration::from_millis(100)),
            Duration::from_millis(100)
        );
    }
}
