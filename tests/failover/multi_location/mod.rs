//! Checks from several locations end to end, with real processes: three `swivel probe`
//! agents report to two `swivel serve` responders that have no checks of their own and
//! decide by quorum (2 of 3). In network namespaces made by the test (a real path between
//! one checker and the backend is cut); and always also over loopback, where the cut is
//! simulated (see `multi_location/loopback.rs`). Plus the report API's authentication
//! (`multi_location/report_api.rs`), reports over HTTPS (`multi_location/https.rs`) and the
//! agents' own metrics (`multi_location/agent_metrics.rs`).
//!
//! Where namespaces cannot be made (not root, no `ip`), the namespace tests are skipped by
//! the one rule of `support::skip`: a SKIPPED line, or a failure when `CI` is set.

mod agent_metrics;
mod fleet;
mod https;
mod loopback;
mod netns;
mod report_api;

use fleet::{answers_stay, changes_to, Responder, INTERVAL};
use std::net::Ipv4Addr;
use std::time::Duration;

/// A fleet the scenarios can drive, in namespaces or on loopback.
pub trait Site {
    fn responders(&self) -> [&Responder; 2];
    /// The pool's only endpoint.
    fn endpoint(&self) -> Ipv4Addr;
    /// Cuts the path between checker `agent` and the backend.
    fn cut(&mut self, agent: usize);
    fn backend_down(&mut self);
    fn backend_up(&mut self);
    /// Kills agent `agent` (as a crash would).
    fn stop_agent(&mut self, agent: usize);
    fn start_agent(&mut self, agent: usize);
    fn agent_log(&self, agent: usize) -> String;
}

/// The namespace fleet, or `None` (after printing why) where namespaces cannot be made.
fn netns_site(tag: u8, test: &str) -> Option<netns::NetnsSite> {
    match netns::NetnsSite::start(tag) {
        Ok(site) => Some(site),
        Err(reason) => {
            let reason = format!(
                "network namespaces cannot be made here (run as root with iproute2: {reason}); \
                 the loopback variant runs instead and cannot cut a real path"
            );
            crate::support::skip(test, &reason);
            None
        }
    }
}

/// The longest two responders may disagree: one check interval, plus the time the test
/// takes to poll both (a few milliseconds each).
const AGREEMENT: Duration = Duration::from_millis(300 + 100);

fn assert_agree(times: &[Duration], what: &str) {
    let spread = times[0].abs_diff(times[1]);
    assert!(
        spread <= AGREEMENT,
        "{what}: the responders changed {spread:?} apart ({times:?}); one check interval is {INTERVAL:?}"
    );
    println!("{what}: both responders changed within {spread:?} of each other");
}

/// Waits until both responders have a fresh result of every checker.
fn all_checkers_fresh(site: &dyn Site) {
    let responders = site.responders();
    let fresh = crate::support::wait_until(Duration::from_secs(5), || {
        responders
            .iter()
            .all(|r| r.endpoint()["quorum"]["fresh"] == 3)
    });
    assert!(
        fresh,
        "every checker should report: {}",
        responders[0].endpoint()
    );
}

/// Cutting one checker's path changes no answer; the backend down changes both
/// responders' answers once two checkers agree, and back up again, within one interval
/// of each other.
fn cut_path_then_backend_down_and_up(site: &mut dyn Site) {
    let endpoint = site.endpoint();
    let responders = site.responders();
    changes_to(&responders, &[endpoint], Duration::from_secs(10));
    all_checkers_fresh(site);

    site.cut(0);
    let responders = site.responders();
    let cut_seen = crate::support::wait_until(Duration::from_secs(5), || {
        responders.iter().all(|r| {
            let view = r.view("c1");
            view["state"] == "down" && view["fresh"] == true
        })
    });
    assert!(
        cut_seen,
        "c1 should see the endpoint down: {}",
        responders[0].endpoint()
    );
    answers_stay(&responders, &[endpoint], Duration::from_millis(1500));
    for responder in responders {
        let endpoint_status = responder.endpoint();
        assert_eq!(endpoint_status["state"], "up");
        assert_eq!(
            endpoint_status["quorum"]["verdict"],
            "up: 2 of 3 fresh checkers see it up (quorum 2)"
        );
    }

    site.backend_down();
    let responders = site.responders();
    let times = changes_to(&responders, &[], Duration::from_secs(5));
    assert_agree(&times, "backend down");
    for responder in responders {
        let status = responder.endpoint();
        assert_eq!(status["state"], "down");
        assert_eq!(status["quorum"]["met"], true);
        let verdict = status["quorum"]["verdict"].as_str().unwrap();
        assert!(verdict.starts_with("down: "), "{verdict}");
        assert!(responder.process.log().contains("endpoint health changed"));
    }

    site.backend_up();
    let responders = site.responders();
    let times = changes_to(&responders, &[endpoint], Duration::from_secs(5));
    assert_agree(&times, "backend up (c1 still cut off)");
    let reason = responders[0].endpoint()["reason"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        reason.starts_with("2 of 3 fresh checkers see it up (quorum 2): c2 (")
            && reason.contains("c3 ("),
        "{reason}"
    );
}

/// Stopped agents go stale and are reported so; with too few fresh checkers the answers
/// stay as they were even when the backend dies; a checker coming back restores the quorum.
fn stopped_agents_go_stale(site: &mut dyn Site) {
    let endpoint = site.endpoint();
    changes_to(&site.responders(), &[endpoint], Duration::from_secs(10));
    all_checkers_fresh(site);

    site.stop_agent(2);
    let responders = site.responders();
    let stale = crate::support::wait_until(Duration::from_secs(3), || {
        responders.iter().all(|r| r.view("c3")["fresh"] == false)
    });
    assert!(stale, "c3 should be stale: {}", responders[0].endpoint());
    for responder in responders {
        let status = responder.endpoint();
        let verdict = status["quorum"]["verdict"].as_str().unwrap();
        assert!(
            verdict.starts_with(
                "up: 2 of 2 fresh checkers see it up (quorum 2); stale: c3 (silent for"
            ),
            "{verdict}"
        );
        let checkers = responder.status()["checkers"].clone();
        let c3 = checkers
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "c3")
            .unwrap()
            .clone();
        assert!(
            c3["last_report_age_seconds"].as_f64().unwrap() > 0.9,
            "{c3}"
        );
        assert!(responder
            .metrics()
            .contains("swivel_checker_fresh{pool=\"www.example.test.\",address=\""));
    }

    site.stop_agent(1);
    let responders = site.responders();
    let lost = crate::support::wait_until(Duration::from_secs(3), || {
        responders
            .iter()
            .all(|r| r.endpoint()["quorum"]["met"] == false)
    });
    assert!(
        lost,
        "the quorum should be lost: {}",
        responders[0].endpoint()
    );
    for responder in responders {
        let verdict = responder.endpoint()["quorum"]["verdict"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(
            verdict.starts_with("no quorum: 1 fresh checker of 2 needed, keeping up; stale: c2"),
            "{verdict}"
        );
        assert!(responder.metrics().contains(&format!(
            "swivel_endpoint_quorum{{pool=\"www.example.test.\",address=\"{endpoint}\"}} 0"
        )));
        responder
            .process
            .wait_for_log("endpoint lost its quorum", Duration::from_secs(2));
    }

    // c1 alone sees the backend die: no failover on missing data.
    site.backend_down();
    let responders = site.responders();
    let c1_down = crate::support::wait_until(Duration::from_secs(3), || {
        responders.iter().all(|r| r.view("c1")["state"] == "down")
    });
    assert!(
        c1_down,
        "c1 should see the backend down; log:\n{}",
        site.agent_log(0)
    );
    answers_stay(&responders, &[endpoint], Duration::from_millis(1000));

    // c2 comes back, sees it down too: two agree, and both responders follow.
    site.start_agent(1);
    let responders = site.responders();
    let times = changes_to(&responders, &[], Duration::from_secs(5));
    assert_agree(&times, "quorum regained with the backend down");
    for responder in responders {
        responder
            .process
            .wait_for_log("endpoint has a quorum again", Duration::from_secs(2));
    }
}

#[test]
fn netns_a_cut_path_changes_no_answer_and_a_dead_backend_does() {
    if let Some(mut site) = netns_site(
        0,
        "netns_a_cut_path_changes_no_answer_and_a_dead_backend_does",
    ) {
        cut_path_then_backend_down_and_up(&mut site);
    }
}

#[test]
fn netns_stopped_agents_go_stale_and_missing_data_moves_nothing() {
    if let Some(mut site) = netns_site(
        1,
        "netns_stopped_agents_go_stale_and_missing_data_moves_nothing",
    ) {
        stopped_agents_go_stale(&mut site);
    }
}

#[test]
fn loopback_a_refusing_checker_changes_no_answer_and_a_dead_backend_does() {
    cut_path_then_backend_down_and_up(&mut loopback::LoopbackSite::start(0));
}

#[test]
fn loopback_stopped_agents_go_stale_and_missing_data_moves_nothing() {
    stopped_agents_go_stale(&mut loopback::LoopbackSite::start(1));
}

/// Not a test: the HTTP backend that the namespace tests run inside the backend namespace
/// (`ip netns exec … <this test binary> multi_location::backend_process --exact --ignored`).
#[test]
#[ignore = "a helper process for the namespace tests; serves only with SWIVEL_ML_BACKEND set"]
fn backend_process() {
    let Ok(address) = std::env::var("SWIVEL_ML_BACKEND") else {
        return;
    };
    let _backend = crate::support::backend::Backend::start(
        address.parse().expect("SWIVEL_ML_BACKEND is host:port"),
    );
    eprintln!("backend serving on {address}");
    loop {
        std::thread::sleep(Duration::from_secs(60));
    }
}

#[test]
fn swivel_check_reads_an_agents_file_as_swivel_probe_does() {
    let dir = tempfile::tempdir().unwrap();
    let pool = fleet::pool_text([192, 0, 2, 1].into(), 80, None);
    let agent = fleet::write_agent(
        dir.path(),
        0,
        &["https://ns1.example.net:8053".into()],
        &pool,
    );
    let check = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_swivel"))
            .args(args)
            .output()
            .unwrap()
    };
    let path = agent.to_str().unwrap();
    let ok = check(&["check", "--probe", "--config", path]);
    let stdout = String::from_utf8_lossy(&ok.stdout);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(
        stdout.contains("checker c1\nreport to https://ns1.example.net:8053\n"),
        "{stdout}"
    );
    let as_responder = check(&["check", "--config", path]);
    assert!(
        !as_responder.status.success(),
        "an agent's file has no zones"
    );
    std::fs::write(
        &agent,
        std::fs::read_to_string(&agent)
            .unwrap()
            .replace("https://", "ftp://"),
    )
    .unwrap();
    let broken = check(&["check", "--probe", "--config", path]);
    let stderr = String::from_utf8_lossy(&broken.stderr);
    assert!(!broken.status.success());
    assert!(
        stderr.contains(&format!("{path}:3: probe.report_to:")),
        "{stderr}"
    );
}
