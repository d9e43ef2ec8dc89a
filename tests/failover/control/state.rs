//! What persists in `state_dir`: a drain and a manual-failback latch survive a restart and
//! hold from the first answer on; a corrupt state file is set aside and the server starts.

use super::harness::{endpoint, ips, pool_of, Server};
use crate::support::dns::{query_udp, TYPE_A};
use crate::support::wait_until;
use std::time::Duration;

const STATE_FILE: &str = "swivel-state.json";

#[test]
fn a_drain_and_a_latch_survive_a_restart() {
    let mut server = Server::start();
    let www = "www.example.test.";
    assert_eq!(server.set_override(www, "127.0.0.3", "down").status, 200);
    assert_eq!(server.answers(www), ips(&["127.0.0.2"]));
    let saved = std::fs::read_to_string(server.dir.join("state").join(STATE_FILE)).unwrap();
    let saved: serde_json::Value = serde_json::from_str(&saved).unwrap();
    assert_eq!(saved["overrides"][www]["127.0.0.3"], "down", "{saved}");
    assert_eq!(saved["latches"]["api.example.test."], 2, "{saved}");

    server.restart();
    // The very first answer after the restart already leaves the drained endpoint out: the
    // override is restored before the first check and the first table.
    let first = query_udp(server.dns, www, TYPE_A).expect("an answer after the restart");
    assert_eq!(
        first.a_addresses(),
        ips(&["127.0.0.2"]),
        "log:\n{}",
        server.log()
    );
    let status = server.status();
    assert_eq!(endpoint(&status, www, "127.0.0.3")["override"], "down");
    assert_eq!(endpoint(&status, www, "127.0.0.3")["checked_state"], "up");
    assert_eq!(pool_of(&status, "api.example.test.")["latched_tier"], 2);
    let log = server.log();
    assert!(log.contains("override restored"), "{log}");

    // Handing it back is saved too: after another restart it is served again.
    assert_eq!(server.set_override(www, "127.0.0.3", "auto").status, 200);
    server.restart();
    assert_eq!(server.answers(www), ips(&["127.0.0.2", "127.0.0.3"]));
}

#[test]
fn a_corrupt_state_file_is_set_aside_and_the_server_starts() {
    let mut server = Server::start();
    let www = "www.example.test.";
    assert_eq!(server.set_override(www, "127.0.0.3", "down").status, 200);
    let state_dir = server.dir.join("state");
    let garbage = b"{\"overrides\": {\"www.example.test.\": ";
    server.stop();
    std::fs::write(state_dir.join(STATE_FILE), garbage).unwrap();
    server.start_again();

    let log = server.log();
    assert!(log.contains("the state file is corrupt"), "{log}");
    let set_aside: Vec<_> = std::fs::read_dir(&state_dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.to_string_lossy().contains(".corrupt-"))
        .collect();
    assert_eq!(set_aside.len(), 1, "{set_aside:?}");
    assert_eq!(
        std::fs::read(&set_aside[0]).unwrap(),
        garbage,
        "kept as it was"
    );
    assert!(
        log.contains(&*set_aside[0].to_string_lossy()),
        "the log names it:\n{log}"
    );
    // Started without the saved drain; a fresh state file is written.
    assert_eq!(server.answers(www), ips(&["127.0.0.2", "127.0.0.3"]));
    let fresh = wait_until(Duration::from_secs(5), || {
        std::fs::read_to_string(state_dir.join(STATE_FILE))
            .is_ok_and(|text| serde_json::from_str::<serde_json::Value>(&text).is_ok())
    });
    assert!(fresh, "a valid state file is written again");
}
