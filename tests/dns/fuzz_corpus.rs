//! Every committed fuzz input through the code its target runs, on stable: the seed and
//! fuzzed corpora in fuzz/corpus/<target>/ and the crash inputs kept in
//! fuzz/regressions/<target>/. A target body panics when an invariant breaks, so a
//! regression input fails here until its bug is fixed.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use swivel::fuzzing::{Target, TARGETS};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// The files in `folder` (none when it does not exist), sorted for stable reports.
fn inputs(folder: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.expect("read a corpus entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

/// Runs every input of `target` from `kind` (corpus or regressions); returns how many ran
/// and the ones that panicked, with the panic message.
fn run_all(target: &Target, kind: &str) -> (usize, Vec<String>) {
    let files = inputs(&fuzz_dir().join(kind).join(target.name));
    let mut failures = Vec::new();
    for file in &files {
        let data = std::fs::read(file).expect("read a fuzz input");
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| (target.run)(&data))) {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            failures.push(format!("{}: {message}", file.display()));
        }
    }
    (files.len(), failures)
}

fn check_target(name: &str) {
    let target = TARGETS
        .iter()
        .find(|t| t.name == name)
        .expect("a target of that name");
    let (corpus, mut failures) = run_all(target, "corpus");
    assert!(corpus >= 10, "{name}: only {corpus} corpus inputs");
    let (_, regressions) = run_all(target, "regressions");
    failures.extend(regressions);
    assert!(
        failures.is_empty(),
        "{name}: {} inputs break an invariant:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn parse_query_corpus() {
    check_target("parse_query");
}

#[test]
fn engine_answer_corpus() {
    check_target("engine_answer");
}

#[test]
fn zone_file_corpus() {
    check_target("zone_file");
}

#[test]
fn config_file_corpus() {
    check_target("config_file");
}

#[test]
fn tcp_framing_corpus() {
    check_target("tcp_framing");
}

#[test]
fn xfr_client_corpus() {
    check_target("xfr_client");
}

#[test]
fn every_target_has_a_test_here_and_a_fuzz_binary() {
    let tested = [
        "parse_query",
        "engine_answer",
        "zone_file",
        "config_file",
        "tcp_framing",
        "xfr_client",
    ];
    let names: Vec<&str> = TARGETS.iter().map(|t| t.name).collect();
    assert_eq!(names, tested);
    for name in names {
        let binary = fuzz_dir().join("fuzz_targets").join(format!("{name}.rs"));
        assert!(binary.is_file(), "{} is missing", binary.display());
    }
}
