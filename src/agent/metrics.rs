//! The probe agent's own metrics, served on `[probe] metrics_listen` when it is set:
//! `GET /metrics` in the Prometheus text format (checks run, results sent to, waiting for
//! and lost on the way to each responder, each responder's last accepted report) and
//! `GET /healthz`. Counters are atomics bumped by the checks and the sender tasks; a
//! scrape reads them and each responder's buffer once.

use super::sender::Outbox;
use crate::metrics_text::family;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::DescriptorEncoder;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// What the agent as a whole counts.
#[derive(Debug, Default)]
pub struct AgentCounters {
    checks_ok: AtomicU64,
    checks_failed: AtomicU64,
    endpoints: AtomicU64,
}

impl AgentCounters {
    /// One check finished, passed or not.
    pub fn count_check(&self, ok: bool) {
        let counter = if ok {
            &self.checks_ok
        } else {
            &self.checks_failed
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The number of endpoints checked now.
    pub fn set_endpoints(&self, endpoints: usize) {
        self.endpoints.store(endpoints as u64, Ordering::Relaxed);
    }
}

/// What one responder's sender counts.
#[derive(Debug, Default)]
pub struct LinkCounters {
    /// Results the responder accepted.
    sent: AtomicU64,
    /// Requests that failed (unreachable, refused, or an error status).
    failed_requests: AtomicU64,
    /// Results the responder refused as malformed or too large: dropped, never resent.
    refused: AtomicU64,
    /// Unix time in milliseconds of the last accepted report; 0 before the first.
    last_success_ms: AtomicU64,
    /// Whether the last request was accepted.
    up: AtomicBool,
}

impl LinkCounters {
    /// The responder accepted a report of `results` results.
    pub fn accepted(&self, results: usize) {
        self.sent.fetch_add(results as u64, Ordering::Relaxed);
        self.last_success_ms.store(unix_ms(), Ordering::Relaxed);
        self.up.store(true, Ordering::Relaxed);
    }

    /// The responder refused a report of `results` results for good (dropped).
    pub fn refused(&self, results: usize) {
        self.refused.fetch_add(results as u64, Ordering::Relaxed);
        self.failed_requests.fetch_add(1, Ordering::Relaxed);
    }

    /// A request failed; its results wait for the next attempt.
    pub fn failed(&self) {
        self.failed_requests.fetch_add(1, Ordering::Relaxed);
        self.up.store(false, Ordering::Relaxed);
    }
}

/// Everything a scrape reads.
#[derive(Clone)]
pub struct Metrics {
    pub checker: String,
    pub agent: Arc<AgentCounters>,
    /// Each responder's URL and outbox, in `report_to` order.
    pub links: Vec<(String, Arc<Outbox>)>,
}

/// Binds `address` and serves the metrics there until the process ends; the address bound
/// (with the port the kernel chose for port 0).
pub async fn serve(address: SocketAddr, metrics: Metrics) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(address).await?;
    let local = listener.local_addr()?;
    let router = Router::new()
        .route("/metrics", get(scrape))
        .route("/healthz", get(healthz))
        .with_state(metrics);
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, router).await {
            tracing::error!(address = %local, %error, "the metrics listener stopped");
        }
    });
    Ok(local)
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn scrape(State(metrics): State<Metrics>) -> impl IntoResponse {
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
        )],
        render(&metrics),
    )
}

/// One responder as a scrape sees it.
struct LinkReading {
    labels: [(&'static str, String); 1],
    sent: u64,
    failed_requests: u64,
    overflowed: u64,
    expired: u64,
    refused: u64,
    backlog: u64,
    oldest_seconds: f64,
    last_success_seconds: f64,
    up: bool,
}

struct Scrape {
    checker: String,
    checks_ok: u64,
    checks_failed: u64,
    endpoints: u64,
    links: Vec<LinkReading>,
}

/// The metrics text of one scrape.
pub fn render(metrics: &Metrics) -> String {
    let now = Instant::now();
    let links = metrics
        .links
        .iter()
        .map(|(url, outbox)| {
            let (backlog, oldest, overflowed, expired) = {
                let buffer = outbox.buffer.lock().unwrap_or_else(|e| e.into_inner());
                (
                    buffer.waiting() as u64,
                    buffer.oldest(),
                    buffer.dropped,
                    buffer.expired,
                )
            };
            let link = &outbox.link;
            LinkReading {
                labels: [("responder", url.clone())],
                sent: link.sent.load(Ordering::Relaxed),
                failed_requests: link.failed_requests.load(Ordering::Relaxed),
                overflowed,
                expired,
                refused: link.refused.load(Ordering::Relaxed),
                backlog,
                oldest_seconds: oldest.map_or(0.0, |at| now.duration_since(at).as_secs_f64()),
                last_success_seconds: link.last_success_ms.load(Ordering::Relaxed) as f64 / 1000.0,
                up: link.up.load(Ordering::Relaxed),
            }
        })
        .collect();
    let scrape = Scrape {
        checker: metrics.checker.clone(),
        checks_ok: metrics.agent.checks_ok.load(Ordering::Relaxed),
        checks_failed: metrics.agent.checks_failed.load(Ordering::Relaxed),
        endpoints: metrics.agent.endpoints.load(Ordering::Relaxed),
        links,
    };
    let mut registry = Registry::default();
    registry.register_collector(Box::new(scrape));
    let mut text = String::new();
    prometheus_client::encoding::prometheus_text::encode(&mut text, &registry)
        .expect("writing metrics into a String cannot fail");
    text
}

impl fmt::Debug for Scrape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scrape").finish_non_exhaustive()
    }
}

impl Collector for Scrape {
    fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
        let checker = [("checker", self.checker.clone())];
        family(
            &mut encoder,
            "swivel_probe_endpoints",
            "Endpoints this agent checks.",
            MetricType::Gauge,
            [(checker.clone(), self.endpoints)],
        )?;
        family(
            &mut encoder,
            "swivel_probe_checks",
            "Health checks this agent ran, by result (ok or failed).",
            MetricType::Counter,
            [
                (
                    [checker[0].clone(), ("result", "ok".to_string())],
                    self.checks_ok,
                ),
                (
                    [checker[0].clone(), ("result", "failed".to_string())],
                    self.checks_failed,
                ),
            ],
        )?;
        let links = &self.links;
        let each = |value: fn(&LinkReading) -> u64| {
            links
                .iter()
                .map(move |link| (link.labels.clone(), value(link)))
        };
        family(
            &mut encoder,
            "swivel_probe_results_sent",
            "Results the responder accepted.",
            MetricType::Counter,
            each(|l| l.sent),
        )?;
        family(
            &mut encoder,
            "swivel_probe_report_failures",
            "Reports to the responder that failed (unreachable, refused or an error status).",
            MetricType::Counter,
            each(|l| l.failed_requests),
        )?;
        let mut dropped = Vec::new();
        for link in links {
            let responder = link.labels[0].clone();
            for (reason, value) in [
                ("overflow", link.overflowed),
                ("expired", link.expired),
                ("refused", link.refused),
            ] {
                dropped.push(([responder.clone(), ("reason", reason.to_string())], value));
            }
        }
        family(
            &mut encoder,
            "swivel_probe_results_dropped",
            "Results never delivered, by reason: overflow (pushed out of a full backlog), \
             expired (older than the pool's stale_after before they could be sent), refused \
             (the responder refused the report as malformed or too large).",
            MetricType::Counter,
            dropped,
        )?;
        family(
            &mut encoder,
            "swivel_probe_backlog",
            "Results waiting to be sent to the responder.",
            MetricType::Gauge,
            each(|l| l.backlog),
        )?;
        family(
            &mut encoder,
            "swivel_probe_backlog_oldest_seconds",
            "How long the oldest waiting result has waited (0 with none waiting).",
            MetricType::Gauge,
            links
                .iter()
                .map(|link| (link.labels.clone(), link.oldest_seconds)),
        )?;
        family(
            &mut encoder,
            "swivel_probe_last_success_timestamp_seconds",
            "Unix time of the responder's last accepted report (0 before the first).",
            MetricType::Gauge,
            links
                .iter()
                .map(|link| (link.labels.clone(), link.last_success_seconds)),
        )?;
        family(
            &mut encoder,
            "swivel_probe_responder_up",
            "1 when the last report to the responder was accepted, else 0.",
            MetricType::Gauge,
            each(|l| u64::from(l.up)),
        )
    }
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_millis() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scrape_shows_every_counter_per_responder() {
        let outbox = Outbox::new(4);
        outbox.link.accepted(3);
        outbox.link.failed();
        outbox.link.refused(2);
        let agent = Arc::new(AgentCounters::default());
        agent.count_check(true);
        agent.count_check(false);
        agent.count_check(true);
        agent.set_endpoints(2);
        let metrics = Metrics {
            checker: "c1".into(),
            agent,
            links: vec![("http://127.0.0.1:8053".into(), outbox)],
        };
        let text = render(&metrics);
        for line in [
            "swivel_probe_endpoints{checker=\"c1\"} 2",
            "swivel_probe_checks_total{checker=\"c1\",result=\"ok\"} 2",
            "swivel_probe_checks_total{checker=\"c1\",result=\"failed\"} 1",
            "swivel_probe_results_sent_total{responder=\"http://127.0.0.1:8053\"} 3",
            "swivel_probe_report_failures_total{responder=\"http://127.0.0.1:8053\"} 2",
            "swivel_probe_results_dropped_total{responder=\"http://127.0.0.1:8053\",reason=\"refused\"} 2",
            "swivel_probe_backlog{responder=\"http://127.0.0.1:8053\"} 0",
            "swivel_probe_responder_up{responder=\"http://127.0.0.1:8053\"} 0",
        ] {
            assert!(text.contains(line), "{line} missing from\n{text}");
        }
    }
}
