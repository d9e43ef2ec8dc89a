//! One task per responder: waits for results, gathers them into a batch (up to
//! [`BATCH_WINDOW`] or [`BATCH_RESULTS`] results), posts it, and on failure keeps the
//! results (bounded, see [`super::buffer`]) and tries again after an exponential backoff
//! with jitter. Each responder has its own task and buffer, so a slow or dead responder
//! never delays another. Changes of the link's state are logged once, not per batch.

use super::buffer::Buffer;
use super::client::{Client, SendError};
use super::metrics::LinkCounters;
use crate::report::ReportBatch;
use hyper::StatusCode;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// The longest a result waits for others to share its batch.
pub const BATCH_WINDOW: Duration = Duration::from_millis(200);
/// A batch this large is sent at once.
pub const BATCH_RESULTS: usize = 100;
/// The most results in one request (a backlog goes in several).
pub const MAX_PER_REQUEST: usize = 1000;
/// The first wait after a failure; it doubles up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::from_millis(250);
pub const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// What the fan-out, a sender and the metrics share.
pub struct Outbox {
    pub buffer: Mutex<Buffer>,
    pub ready: Notify,
    /// What became of the reports to this responder.
    pub link: LinkCounters,
}

impl Outbox {
    pub fn new(capacity: usize) -> Arc<Outbox> {
        Arc::new(Outbox {
            buffer: Mutex::new(Buffer::new(capacity)),
            ready: Notify::new(),
            link: LinkCounters::default(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Buffer> {
        self.buffer.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The link to a responder as last logged.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Link {
    Starting,
    Up,
    Down(String),
    Refused(StatusCode),
}

/// Sends `outbox`'s results to one responder until the process ends.
pub async fn run(mut client: Client, url: String, checker: String, outbox: Arc<Outbox>) {
    let mut link = Link::Starting;
    let mut backoff = FIRST_BACKOFF;
    let mut down_since = Instant::now();
    loop {
        gather(&outbox).await;
        let (batch, dropped) = {
            let mut buffer = outbox.lock();
            buffer.expire(Instant::now());
            (
                buffer.batch(MAX_PER_REQUEST),
                buffer.dropped + buffer.expired,
            )
        };
        let Some(batch) = batch else { continue };
        let results = batch.results.len();
        let body = ReportBatch {
            checker: checker.clone(),
            results: batch.results,
        };
        let body = serde_json::to_vec(&body).expect("a report serializes");
        match client.post(body.into()).await {
            Ok(ack) => {
                outbox.lock().acknowledge(batch.last_seq);
                outbox.link.accepted(results);
                backoff = FIRST_BACKOFF;
                if link != Link::Up {
                    match &link {
                        Link::Starting => {
                            tracing::info!(responder = %url, "reporting to the responder")
                        }
                        _ => tracing::info!(
                            responder = %url, after_seconds = down_since.elapsed().as_secs(),
                            results_lost_so_far = dropped, "reporting to the responder again"
                        ),
                    }
                    link = Link::Up;
                }
                if ack.ignored > 0 {
                    tracing::debug!(responder = %url, ignored = ack.ignored, "the responder has no such pool or endpoint for some results");
                }
            }
            Err(SendError::Refused { status, message })
                if status == StatusCode::BAD_REQUEST || status == StatusCode::PAYLOAD_TOO_LARGE =>
            {
                // Sending the same again cannot help.
                outbox.lock().acknowledge(batch.last_seq);
                outbox.link.refused(results);
                tracing::error!(responder = %url, %status, "the responder refused a report; dropped it: {message}");
            }
            Err(error) => {
                outbox.link.failed();
                let next = match &error {
                    SendError::Refused { status, .. } if is_auth(*status) => Link::Refused(*status),
                    SendError::Refused { status, .. } => Link::Down(status.to_string()),
                    SendError::Unreachable(text) => Link::Down(text.clone()),
                };
                let changed = match (&link, &next) {
                    (Link::Down(_), Link::Down(_)) => false,
                    (a, b) => a != b,
                };
                if changed {
                    if link == Link::Up || link == Link::Starting {
                        down_since = Instant::now();
                    }
                    match &next {
                        Link::Refused(_) => tracing::error!(
                            responder = %url, checker, "the responder refuses this checker's reports ({error}); \
                             check [probe] name and token against its [[checker]] table; retrying with backoff"
                        ),
                        _ => tracing::warn!(
                            responder = %url, "cannot report to the responder: {error}; checks go on, \
                             results wait (bounded) and sending is retried with backoff"
                        ),
                    }
                    link = next;
                }
                tokio::time::sleep(jittered(backoff)).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

fn is_auth(status: StatusCode) -> bool {
    status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN
}

/// Waits until a batch is due: [`BATCH_RESULTS`] results wait, or the oldest has waited
/// [`BATCH_WINDOW`].
async fn gather(outbox: &Outbox) {
    loop {
        let notified = outbox.ready.notified();
        let (waiting, oldest) = {
            let buffer = outbox.lock();
            (buffer.waiting(), buffer.oldest())
        };
        if waiting >= BATCH_RESULTS {
            return;
        }
        match oldest {
            None => notified.await,
            Some(oldest) => {
                let due = oldest + BATCH_WINDOW;
                if Instant::now() >= due {
                    return;
                }
                tokio::select! {
                    () = notified => {}
                    () = tokio::time::sleep_until(due.into()) => return,
                }
            }
        }
    }
}

/// `wait` stretched or shrunk at random by up to 20%.
fn jittered(wait: Duration) -> Duration {
    let bits = RandomState::new().hash_one(0u8);
    let unit = (bits >> 11) as f64 / (1u64 << 53) as f64;
    wait.mul_f64(0.8 + 0.4 * unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_a_fifth() {
        let waits: Vec<Duration> = (0..500).map(|_| jittered(Duration::from_secs(1))).collect();
        assert!(waits
            .iter()
            .all(|w| (Duration::from_millis(800)..=Duration::from_millis(1200)).contains(w)));
        let spread = *waits.iter().max().unwrap() - *waits.iter().min().unwrap();
        assert!(spread > Duration::from_millis(200), "{spread:?}");
    }
}
