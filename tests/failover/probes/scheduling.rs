//! The probe scheduler against real loopback backends: timing, isolation of slow endpoints,
//! the concurrency bound, the first round, target changes and stopping.

use super::{http_check, http_spec, target};
use crate::support::backend::scripted::{closed_port, Backend, Behaviour};
use std::time::{Duration, Instant};
use swivel::probe::cadence::Cadence;
use swivel::probe::scheduler::{first_round, ProbeReport, ProbeTarget, Scheduler, TargetChanges};
use swivel::probe::{FailureKind, HttpCheck};
use tokio::sync::mpsc::Receiver;

const MS: Duration = Duration::from_millis(1);

fn probe(
    key: &'static str,
    backend: &Backend,
    timeout: Duration,
    interval: Duration,
) -> ProbeTarget<&'static str> {
    ProbeTarget {
        key,
        spec: http_spec(http_check(), backend.port(), timeout),
        target: target(&backend.addr.ip().to_string()),
        cadence: Cadence::steady(interval),
    }
}

/// Every report that arrives within `window`.
async fn collect(
    reports: &mut Receiver<ProbeReport<&'static str>>,
    window: Duration,
) -> Vec<ProbeReport<&'static str>> {
    let deadline = tokio::time::Instant::now() + window;
    let mut collected = Vec::new();
    while let Ok(Some(report)) = tokio::time::timeout_at(deadline, reports.recv()).await {
        collected.push(report);
    }
    collected
}

/// Gaps between consecutive reports for `key`.
fn gaps(reports: &[ProbeReport<&'static str>], key: &str) -> Vec<Duration> {
    let times: Vec<Instant> = reports
        .iter()
        .filter(|r| r.key == key)
        .map(|r| r.at)
        .collect();
    times.windows(2).map(|pair| pair[1] - pair[0]).collect()
}

#[tokio::test]
async fn reports_arrive_at_the_interval_with_jitter() {
    let backend = Backend::http("127.0.0.2", Behaviour::respond(200, "ok")).await;
    let (mut scheduler, mut reports) = Scheduler::new(8);
    let interval = 100 * MS;
    scheduler.set_targets(vec![probe("www", &backend, 500 * MS, interval)]);

    let reports = collect(&mut reports, 750 * MS).await;
    assert!(
        (6..=8).contains(&reports.len()),
        "{} reports",
        reports.len()
    );
    assert!(reports.iter().all(|r| r.key == "www" && r.outcome.ok));
    // Each check is due one jittered interval (95..105ms) after the previous was due, so a
    // late wake-up lengthens one gap and shortens the next; the mean stays at the interval.
    let gaps = gaps(&reports, "www");
    let mean = gaps.iter().sum::<Duration>() / gaps.len() as u32;
    assert!(
        mean >= 90 * MS && mean <= 115 * MS,
        "mean gap {mean:?} in {gaps:?}"
    );
    assert!(
        gaps.iter().all(|gap| *gap >= 40 * MS && *gap <= 170 * MS),
        "{gaps:?}"
    );
}

#[tokio::test]
async fn a_hanging_endpoint_does_not_delay_another() {
    let hanging = Backend::http("127.0.0.7", Behaviour::Hang).await;
    let healthy = Backend::http("127.0.0.8", Behaviour::respond(200, "ok")).await;
    let (mut scheduler, mut reports) = Scheduler::new(4);
    scheduler.set_targets(vec![
        probe("hanging", &hanging, 1000 * MS, 100 * MS),
        probe("healthy", &healthy, 1000 * MS, 100 * MS),
    ]);

    let reports = collect(&mut reports, 800 * MS).await;
    assert!(
        hanging.accepted() >= 1,
        "the hanging endpoint was not being checked"
    );
    assert!(
        reports.iter().all(|r| r.key == "healthy"),
        "a hanging check reported early"
    );
    assert!(reports.len() >= 6, "{} reports", reports.len());
    let gaps = gaps(&reports, "healthy");
    assert!(gaps.iter().all(|gap| *gap <= 170 * MS), "{gaps:?}");
}

#[tokio::test]
async fn concurrency_is_bounded_by_the_semaphore() {
    let hanging = Backend::http("127.0.0.7", Behaviour::Hang).await;
    let (mut scheduler, mut reports) = Scheduler::new(2);
    let keys = ["a", "b", "c", "d"];
    scheduler.set_targets(
        keys.iter()
            .map(|key| probe(key, &hanging, 300 * MS, 100 * MS))
            .collect(),
    );

    // Every first check is due within 100ms, but only two may run until one times out.
    tokio::time::sleep(250 * MS).await;
    assert_eq!(hanging.accepted(), 2);
    let reports = collect(&mut reports, 500 * MS).await;
    assert!(hanging.accepted() >= 4, "the waiting checks never ran");
    assert!(reports
        .iter()
        .all(|r| r.outcome.reason == Some(FailureKind::Timeout)));
}

#[tokio::test]
async fn first_round_checks_everything_at_once_and_reports_in_order() {
    let healthy = Backend::http("127.0.0.2", Behaviour::respond(200, "ok")).await;
    let failing = Backend::http("127.0.0.3", Behaviour::respond(503, "")).await;
    let hanging = Backend::http("127.0.0.7", Behaviour::Hang).await;
    let timeout = 300 * MS;
    let mut refused = probe("refused", &healthy, timeout, 100 * MS);
    refused.spec.port = closed_port("127.0.0.2").await;
    let targets = vec![
        probe("hanging-1", &hanging, timeout, 100 * MS),
        probe("healthy", &healthy, timeout, 100 * MS),
        probe("failing", &failing, timeout, 100 * MS),
        refused,
        probe("hanging-2", &hanging, timeout, 100 * MS),
    ];

    let started = Instant::now();
    let reports = first_round(&targets).await;
    let elapsed = started.elapsed();
    assert!(
        elapsed >= timeout && elapsed < timeout + 250 * MS,
        "{elapsed:?}"
    );
    let summary: Vec<(&str, Option<FailureKind>)> =
        reports.iter().map(|r| (r.key, r.outcome.reason)).collect();
    assert_eq!(
        summary,
        [
            ("hanging-1", Some(FailureKind::Timeout)),
            ("healthy", None),
            ("failing", Some(FailureKind::Status)),
            ("refused", Some(FailureKind::Refused)),
            ("hanging-2", Some(FailureKind::Timeout)),
        ]
    );
}

#[tokio::test]
async fn set_targets_adds_removes_restarts_and_keeps() {
    let a = Backend::http("127.0.0.2", Behaviour::respond(200, "ok")).await;
    let b = Backend::http("127.0.0.3", Behaviour::respond(200, "ok")).await;
    let c = Backend::http("127.0.0.4", Behaviour::respond(200, "ok")).await;
    let interval = 50 * MS;
    let (mut scheduler, mut reports) = Scheduler::new(8);
    let changes = scheduler.set_targets(vec![
        probe("a", &a, 500 * MS, interval),
        probe("b", &b, 500 * MS, interval),
    ]);
    assert_eq!(
        changes,
        TargetChanges {
            added: 2,
            ..TargetChanges::default()
        }
    );
    let first = collect(&mut reports, 200 * MS).await;
    assert!(first.iter().any(|r| r.key == "a") && first.iter().any(|r| r.key == "b"));

    let changes = scheduler.set_targets(vec![
        probe("b", &b, 500 * MS, interval),
        probe("c", &c, 500 * MS, interval),
    ]);
    assert_eq!(
        changes,
        TargetChanges {
            added: 1,
            removed: 1,
            changed: 0,
            unchanged: 1
        }
    );
    while reports.try_recv().is_ok() {}
    let checks_of_a = a.accepted();
    let second = collect(&mut reports, 200 * MS).await;
    assert!(
        second.iter().all(|r| r.key != "a"),
        "a removed endpoint still reports"
    );
    assert!(second.iter().any(|r| r.key == "b") && second.iter().any(|r| r.key == "c"));
    assert!(
        a.accepted() <= checks_of_a + 1,
        "a removed endpoint is still checked"
    );

    let moved = HttpCheck {
        path: "/moved".into(),
        ..http_check()
    };
    let mut changed_b = probe("b", &b, 500 * MS, interval);
    changed_b.spec = http_spec(moved, b.port(), 500 * MS);
    let changes = scheduler.set_targets(vec![changed_b, probe("c", &c, 500 * MS, interval)]);
    assert_eq!(
        changes,
        TargetChanges {
            changed: 1,
            unchanged: 1,
            ..TargetChanges::default()
        }
    );
    assert_eq!(scheduler.len(), 2);
    tokio::time::sleep(150 * MS).await;
    assert_eq!(b.seen().last().unwrap().request_line, "GET /moved HTTP/1.1");
}

#[tokio::test]
async fn dropping_the_scheduler_stops_every_check() {
    let backend = Backend::http("127.0.0.2", Behaviour::respond(200, "ok")).await;
    let (mut scheduler, mut reports) = Scheduler::new(8);
    scheduler.set_targets(vec![probe("www", &backend, 500 * MS, 20 * MS)]);
    assert!(!collect(&mut reports, 100 * MS).await.is_empty());

    drop(scheduler);
    let closed = tokio::time::timeout(500 * MS, async { while reports.recv().await.is_some() {} });
    assert!(
        closed.await.is_ok(),
        "reports kept coming after the scheduler was dropped"
    );
    let checks = backend.accepted();
    tokio::time::sleep(100 * MS).await;
    assert_eq!(backend.accepted(), checks);
}
