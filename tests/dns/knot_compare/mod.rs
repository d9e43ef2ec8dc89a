//! Differential test: Swivel and Knot DNS serve the same zone and get the same queries;
//! every difference in their replies is reported (see docs/KNOT-COMPARISON.md).
//!
//! Needs `/usr/sbin/knotd` (Debian package `knot`). Without it the tests print a loud
//! SKIPPED line, or fail when the `CI` environment variable is set. Set
//! `KNOT_COMPARE_DUMP=1` to print both replies' summaries for every query.

mod corpus;
mod diff;
pub(crate) mod servers;
mod waivers;

use crate::support::dns::msg;
use corpus::CorpusQuery;
use diff::{Difference, Verdict};
use servers::{ServerProcess, TempDir, Transport};
use std::path::{Path, PathBuf};
use waivers::Waiver;

pub(crate) const ORIGIN: &str = "compare.test.";

pub(crate) fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/compare")
}

/// Whether knotd can be run; the test is skipped, or fails under CI, when it is missing.
pub(crate) fn knotd_available(test: &str) -> bool {
    if Path::new(servers::KNOTD).exists() {
        return true;
    }
    let reason = format!(
        "knotd not installed at {} (apt-get install knot)",
        servers::KNOTD
    );
    crate::support::skip(test, &reason);
    false
}

/// The corpus file plus its generated variants.
fn full_corpus() -> Vec<CorpusQuery> {
    let text = std::fs::read_to_string(data_dir().join("queries.txt")).expect("read queries.txt");
    let mut queries = corpus::parse_corpus(&text, "queries.txt").unwrap_or_else(|e| panic!("{e}"));
    let extra = corpus::generated(&queries, ORIGIN, 40, 30, 40);
    queries.extend(extra);
    queries
}

/// Sends every query to `server`, one after the other.
fn ask_all(server: &ServerProcess, queries: &[CorpusQuery]) -> Vec<Option<Vec<u8>>> {
    queries
        .iter()
        .map(|query| {
            servers::exchange(
                server.addr,
                query.transport,
                &query.spec.to_wire(),
                query.timeout,
            )
        })
        .collect()
}

/// One query whose replies differ.
struct Differing<'a> {
    query: &'a CorpusQuery,
    differences: Vec<Difference>,
}

/// The outcome of running the corpus against two servers.
struct Report<'a> {
    names: (String, String),
    queries: usize,
    tcp: usize,
    identical: usize,
    truncated: usize,
    silent: usize,
    differing: Vec<Differing<'a>>,
}

/// Runs the corpus against both servers (each on its own thread) and compares replies.
fn run_comparison<'a>(
    reference: &ServerProcess,
    candidate: &ServerProcess,
    queries: &'a [CorpusQuery],
) -> Report<'a> {
    let (reference_replies, candidate_replies) = std::thread::scope(|scope| {
        let reference_thread = scope.spawn(|| ask_all(reference, queries));
        let candidate_replies = ask_all(candidate, queries);
        (
            reference_thread.join().expect("reference thread"),
            candidate_replies,
        )
    });
    let mut report = Report {
        names: (reference.name.clone(), candidate.name.clone()),
        queries: queries.len(),
        tcp: queries
            .iter()
            .filter(|query| query.transport == Transport::Tcp)
            .count(),
        identical: 0,
        truncated: 0,
        silent: 0,
        differing: Vec::new(),
    };
    let dump = std::env::var_os("KNOT_COMPARE_DUMP").is_some();
    for (query, (r, c)) in queries
        .iter()
        .zip(reference_replies.iter().zip(&candidate_replies))
    {
        if dump {
            println!(
                "{}\n    {}: {}\n    {}: {}",
                query.label,
                report.names.0,
                summary(r),
                report.names.1,
                summary(c)
            );
        }
        match diff::compare(r.as_deref(), c.as_deref()) {
            Verdict::Identical => report.identical += 1,
            Verdict::IdenticalTruncated => report.truncated += 1,
            Verdict::BothSilent => report.silent += 1,
            Verdict::Different(differences) => {
                report.differing.push(Differing { query, differences })
            }
        }
    }
    report
}

/// One line about a reply, for the dump mode.
fn summary(reply: &Option<Vec<u8>>) -> String {
    let Some(bytes) = reply else {
        return "no reply".to_string();
    };
    match msg::Message::parse(bytes) {
        Err(error) => format!("unparsable: {error}"),
        Ok(message) => format!(
            "{} bytes flags {:04x} rcode {} an {} ns {} ar {} opt {}",
            bytes.len(),
            message.flags & 0xfff0,
            diff::rcode_text(message.rcode()),
            message.answer.len(),
            message.authority.len(),
            message.additional.len(),
            message.opts.len()
        ),
    }
}

impl Report<'_> {
    /// The summary and every difference, with differences explained by `waivers` listed
    /// as deliberate; also returns how many problems there are (unexplained differences
    /// plus waivers that matched nothing).
    fn render(&self, waivers: &[Waiver]) -> (String, usize) {
        let (reference, candidate) = &self.names;
        let mut used = vec![false; waivers.len()];
        let (mut deliberate, mut unexplained) = (String::new(), String::new());
        let (mut deliberate_count, mut unexplained_count) = (0, 0);
        for differing in &self.differing {
            let mut lines = String::new();
            let mut all_covered = true;
            for d in &differing.differences {
                let waiver = waivers
                    .iter()
                    .position(|waiver| waiver.covers(&differing.query.line, d));
                let note = match waiver {
                    Some(index) => {
                        used[index] = true;
                        format!(" [deliberate: {}]", waivers[index].reason)
                    }
                    None => {
                        all_covered = false;
                        String::new()
                    }
                };
                lines.push_str(&format!(
                    "    {}: {reference}={} {candidate}={}{note}\n",
                    d.field, d.reference, d.candidate
                ));
            }
            let (tag, out, count) = if all_covered {
                ("DELIBERATE", &mut deliberate, &mut deliberate_count)
            } else {
                ("DIFF", &mut unexplained, &mut unexplained_count)
            };
            out.push_str(&format!("{tag} {}\n{lines}", differing.query.label));
            *count += 1;
        }
        let mut text = format!(
            "{reference} vs {candidate}: {} queries ({} UDP, {} TCP): {} identical, {} identical with TC \
             (header and question compared), {} unanswered by both, {deliberate_count} deliberate \
             differences, {unexplained_count} differing\n{deliberate}{unexplained}",
            self.queries,
            self.queries - self.tcp,
            self.tcp,
            self.identical,
            self.truncated,
            self.silent,
        );
        let mut problems = unexplained_count;
        for (waiver, _) in waivers.iter().zip(used).filter(|(_, used)| !used) {
            problems += 1;
            text.push_str(&format!(
                "UNUSED WAIVER {}: `{}` {} = {}\n",
                waiver.source, waiver.line, waiver.field, waiver.candidate
            ));
        }
        (text, problems)
    }
}

/// Runs the whole corpus against `knot` and `candidate` (serving compare.test. from
/// tests/data/compare), with the waivers of deliberate.txt, those for the query lines that
/// `extra` (waivers in the same format) names replaced by its own: the report and how many
/// problems it has (0 when they agree but for the deliberate differences).
pub(crate) fn compare_over_corpus(
    knot: &ServerProcess,
    candidate: &ServerProcess,
    extra: &str,
) -> (String, usize) {
    let queries = full_corpus();
    let waiver_text =
        std::fs::read_to_string(data_dir().join("deliberate.txt")).expect("read deliberate.txt");
    let mut waivers =
        waivers::parse_waivers(&waiver_text, "deliberate.txt").unwrap_or_else(|e| panic!("{e}"));
    let extra =
        waivers::parse_waivers(extra, "the test's waivers").unwrap_or_else(|e| panic!("{e}"));
    waivers.retain(|waiver| !extra.iter().any(|e| e.line == waiver.line));
    waivers.extend(extra);
    run_comparison(knot, candidate, &queries).render(&waivers)
}

#[test]
fn swivel_answers_like_knot() {
    if !knotd_available("swivel_answers_like_knot") {
        return;
    }
    let queries = full_corpus();
    assert!(queries.len() >= 300, "corpus too small: {}", queries.len());
    let waiver_text =
        std::fs::read_to_string(data_dir().join("deliberate.txt")).expect("read deliberate.txt");
    let waivers =
        waivers::parse_waivers(&waiver_text, "deliberate.txt").unwrap_or_else(|e| panic!("{e}"));
    let zone = data_dir().join("compare.test.zone");
    let (knot_dir, swivel_dir) = (TempDir::new("knot"), TempDir::new("swivel"));
    let knot =
        servers::start_knot(knot_dir.path(), ORIGIN, &zone).unwrap_or_else(|e| panic!("{e}"));
    let swivel =
        servers::start_swivel(swivel_dir.path(), ORIGIN, &zone).unwrap_or_else(|e| panic!("{e}"));

    let report = run_comparison(&knot, &swivel, &queries);
    let (text, problems) = report.render(&waivers);
    println!("{text}");
    assert_eq!(
        problems, 0,
        "Swivel differs from knotd (or a waiver in deliberate.txt is stale):\n{text}"
    );
}

/// Proves the harness: two knotds on the same zone agree on every query, and a knotd on a
/// zone with one changed address and one changed TTL is caught on exactly the queries that
/// see them.
#[test]
fn harness_finds_no_difference_between_equal_knots_and_finds_a_planted_one() {
    if !knotd_available("harness_finds_no_difference_between_equal_knots_and_finds_a_planted_one") {
        return;
    }
    let queries = full_corpus();
    let zone = data_dir().join("compare.test.zone");
    let dirs = [
        TempDir::new("knot-a"),
        TempDir::new("knot-b"),
        TempDir::new("knot-c"),
    ];
    let planted_zone = dirs[2].path().join("planted.zone");
    let original = std::fs::read_to_string(&zone).expect("read zone");
    let planted = original
        .replace("192.0.2.20", "192.0.2.21")
        .replace("ns2     7200     AAAA", "ns2     7100     AAAA");
    assert_ne!(planted, original, "the planted changes must apply");
    std::fs::write(&planted_zone, planted).expect("write planted zone");

    let start = |dir: &TempDir, zone: &Path, name: &str| {
        let mut server =
            servers::start_knot(dir.path(), ORIGIN, zone).unwrap_or_else(|e| panic!("{e}"));
        server.name = name.to_string();
        server
    };
    let knot_a = start(&dirs[0], &zone, "knot-a");
    let knot_b = start(&dirs[1], &zone, "knot-b");
    let knot_planted = start(&dirs[2], &planted_zone, "knot-planted");

    let same = run_comparison(&knot_a, &knot_b, &queries);
    let (same_text, _) = same.render(&[]);
    println!("{same_text}");
    assert!(
        same.differing.is_empty(),
        "two knotds on one zone differ:\n{same_text}"
    );

    let planted = run_comparison(&knot_a, &knot_planted, &queries);
    let (text, _) = planted.render(&[]);
    println!("{text}");
    let find = |line: &str| {
        let found = planted
            .differing
            .iter()
            .find(|differing| differing.query.label.ends_with(&format!("`{line}`")));
        found.unwrap_or_else(|| panic!("no difference reported for `{line}`:\n{text}"))
    };
    let host = &find("host.compare.test. A").differences;
    assert_eq!(host.len(), 1, "{text}");
    assert_eq!(host[0].field, "answer");
    assert!(
        host[0].reference.contains("192.0.2.20") && host[0].candidate.contains("192.0.2.21"),
        "{text}"
    );
    let ns = &find("compare.test. NS tcp").differences;
    assert!(
        ns.iter()
            .any(|d| d.field == "additional" && d.candidate.contains(" 7100 ")),
        "{text}"
    );
    for differing in &planted.differing {
        for d in &differing.differences {
            let explained = [&d.reference, &d.candidate]
                .iter()
                .any(|value| value.contains("192.0.2.2") || value.contains("ns2.compare.test."));
            assert!(
                explained,
                "unexpected difference on {}: {d:?}\n{text}",
                differing.query.label
            );
        }
    }
}
