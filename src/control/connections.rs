//! The control listener's connection slots: `max_connections` open at once, and one more
//! while it makes room. A connection arriving at the cap makes the one idle longest (no
//! request in progress) close, so connections that send nothing cannot lock out a client
//! that asks something; when every one is busy, the newcomer is served and accepting waits
//! for a connection to close (later ones wait in the kernel's queue, holding no
//! descriptor). Each connection's [`Activity`] says whether it
//! has a request in progress and since when it waits, for eviction and for its timeouts.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// Milliseconds since the first call, never 0 (0 means "not set" in [`Activity`]).
fn now_ms() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_millis() as u64 + 1
}

/// What one connection is doing, updated by its request handling and its reads.
#[derive(Debug)]
pub(super) struct Activity {
    /// Requests whose reply is not finished.
    in_flight: AtomicU64,
    /// Requests answered on this connection.
    served: AtomicU64,
    /// When the connection was accepted.
    accepted_ms: u64,
    /// When it last became idle (accepted, or a reply finished).
    idle_since_ms: AtomicU64,
    /// When the first byte of the next request's header arrived; 0 while none has.
    head_started_ms: AtomicU64,
}

/// Why a connection is closed by the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Expiry {
    /// No complete request header within `header_read_timeout`.
    Header,
    /// Kept alive with no request for `idle_timeout`.
    Idle,
}

impl Activity {
    fn new() -> Activity {
        let now = now_ms();
        Activity {
            in_flight: AtomicU64::new(0),
            served: AtomicU64::new(0),
            accepted_ms: now,
            idle_since_ms: AtomicU64::new(now),
            head_started_ms: AtomicU64::new(0),
        }
    }

    /// Bytes of a request arrived: the header timeout of a later request runs from here.
    pub fn bytes_read(&self) {
        if self.in_flight.load(Ordering::Relaxed) == 0
            && self.head_started_ms.load(Ordering::Relaxed) == 0
        {
            self.head_started_ms.store(now_ms(), Ordering::Relaxed);
        }
    }

    /// A request's header is complete and its handling starts.
    pub fn request_started(&self) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.head_started_ms.store(0, Ordering::Relaxed);
    }

    /// A request's reply is done.
    pub fn request_finished(&self) {
        self.served.fetch_add(1, Ordering::Relaxed);
        self.idle_since_ms.store(now_ms(), Ordering::Relaxed);
        self.head_started_ms.store(0, Ordering::Relaxed);
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
    }

    fn idle_since(&self) -> Option<u64> {
        (self.in_flight.load(Ordering::Relaxed) == 0)
            .then(|| self.idle_since_ms.load(Ordering::Relaxed))
    }

    /// When the connection must be closed if nothing changes, and why; none while a
    /// request is in progress (the request timeout bounds that).
    fn deadline(&self, header: Duration, idle: Duration) -> Option<(u64, Expiry)> {
        if self.in_flight.load(Ordering::Relaxed) > 0 {
            return None;
        }
        let header_ms = header.as_millis() as u64;
        if self.served.load(Ordering::Relaxed) == 0 {
            return Some((self.accepted_ms + header_ms, Expiry::Header));
        }
        match self.head_started_ms.load(Ordering::Relaxed) {
            0 => Some((
                self.idle_since_ms.load(Ordering::Relaxed) + idle.as_millis() as u64,
                Expiry::Idle,
            )),
            started => Some((started + header_ms, Expiry::Header)),
        }
    }

    /// Resolves when the connection has waited too long for a request header or sat idle
    /// too long. Checks at least every half second, since a header starting can bring the
    /// deadline forward.
    pub async fn expired(&self, header: Duration, idle: Duration) -> Expiry {
        const RECHECK: Duration = Duration::from_millis(500);
        loop {
            let wait = match self.deadline(header, idle) {
                None => RECHECK,
                Some((deadline, why)) => {
                    let now = now_ms();
                    if now >= deadline {
                        return why;
                    }
                    Duration::from_millis(deadline - now).min(RECHECK)
                }
            };
            tokio::time::sleep(wait).await;
        }
    }
}

/// The open connections and the cap.
pub(super) struct Slots {
    max: usize,
    open: Mutex<Open>,
    /// Signalled when a slot frees.
    freed: Notify,
}

#[derive(Default)]
struct Open {
    next_id: u64,
    /// By id, that is in order of acceptance.
    connections: BTreeMap<u64, Entry>,
}

struct Entry {
    activity: Arc<Activity>,
    evict: Arc<Notify>,
    /// Told to close, not closed yet.
    evicted: bool,
}

/// One open connection's place; dropping it frees the place.
pub(super) struct Slot {
    slots: Arc<Slots>,
    id: u64,
    pub activity: Arc<Activity>,
    /// Notified when a new connection takes this one's place.
    pub evict: Arc<Notify>,
}

impl Slots {
    pub fn new(max: usize) -> Arc<Slots> {
        Arc::new(Slots {
            max: max.max(1),
            open: Mutex::default(),
            freed: Notify::new(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Open> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until one more connection may be accepted: while more than the cap are open
    /// (one beyond it, while an evicted connection closes or when every other one is
    /// busy), it waits for one to close. Open connections never pass the cap by more than one.
    pub async fn ready(&self) {
        loop {
            let freed = self.freed.notified();
            if self.lock().connections.len() <= self.max {
                return;
            }
            freed.await;
        }
    }

    /// Takes a place for a connection just accepted; beyond the cap, tells the connection
    /// idle longest to close (unless one is closing already).
    pub fn admit(self: &Arc<Self>) -> Slot {
        let activity = Arc::new(Activity::new());
        let evict = Arc::new(Notify::new());
        let mut open = self.lock();
        if open.connections.len() >= self.max
            && !open.connections.values().any(|entry| entry.evicted)
        {
            let victim = open
                .connections
                .iter()
                .filter_map(|(&id, entry)| Some((entry.activity.idle_since()?, id)))
                .min();
            if let Some((_, id)) = victim {
                let entry = open.connections.get_mut(&id).expect("the victim is open");
                entry.evicted = true;
                entry.evict.notify_one();
            }
        }
        let id = open.next_id;
        open.next_id += 1;
        open.connections.insert(
            id,
            Entry {
                activity: activity.clone(),
                evict: evict.clone(),
                evicted: false,
            },
        );
        Slot {
            slots: self.clone(),
            id,
            activity,
            evict,
        }
    }

    #[cfg(test)]
    pub fn open_count(&self) -> usize {
        self.lock().connections.len()
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.slots.lock().connections.remove(&self.id);
        self.slots.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn beyond_the_cap_the_longest_idle_connection_makes_room() {
        let slots = Slots::new(2);
        slots.ready().await;
        let first = slots.admit();
        tokio::time::sleep(Duration::from_millis(5)).await;
        slots.ready().await;
        let second = slots.admit();
        second.activity.request_started();
        // At the cap nothing is evicted until a connection really arrives.
        slots.ready().await;
        let waiting = tokio::time::timeout(Duration::from_millis(50), first.evict.notified());
        assert!(waiting.await.is_err(), "no eviction without a newcomer");
        // A third arrives: the idle first one is told to close, the busy second one stays,
        // and a fourth waits until the first has closed.
        let third = slots.admit();
        tokio::time::timeout(Duration::from_secs(1), first.evict.notified())
            .await
            .expect("the idle connection is told to close");
        let ready = tokio::spawn({
            let slots = slots.clone();
            async move { slots.ready().await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!ready.is_finished(), "never two beyond the cap");
        drop(first);
        tokio::time::timeout(Duration::from_secs(1), ready)
            .await
            .expect("room once the evicted connection closed")
            .unwrap();
        assert_eq!(slots.open_count(), 2);
        // Everything busy: the newcomer is served beyond the cap, and nobody else gets in
        // until a connection closes.
        third.activity.request_started();
        let fourth = slots.admit();
        let waiting = tokio::time::timeout(Duration::from_millis(100), slots.ready()).await;
        assert!(waiting.is_err(), "one beyond the cap at most");
        drop(fourth);
        tokio::time::timeout(Duration::from_secs(1), slots.ready())
            .await
            .expect("room once a connection closed");
    }

    #[test]
    fn deadlines_follow_the_connection_state() {
        let header = Duration::from_secs(5);
        let idle = Duration::from_secs(60);
        let activity = Activity::new();
        let (first, why) = activity.deadline(header, idle).unwrap();
        assert_eq!((first, why), (activity.accepted_ms + 5000, Expiry::Header));
        activity.request_started();
        assert_eq!(activity.deadline(header, idle), None, "busy: no deadline");
        activity.request_finished();
        let (_, why) = activity.deadline(header, idle).unwrap();
        assert_eq!(why, Expiry::Idle);
        activity.bytes_read();
        let (_, why) = activity.deadline(header, idle).unwrap();
        assert_eq!(
            why,
            Expiry::Header,
            "a started header has the header timeout"
        );
    }
}
