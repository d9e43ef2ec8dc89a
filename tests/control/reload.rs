//! `POST /v1/reload`: a new record is answered at once; a broken zone is refused with every
//! error's file and line, and the old answers stay; health survives a good reload.

use super::harness::{endpoint, ips, zone_text, Server};

#[test]
fn reload_over_the_api_adds_a_record_and_keeps_health() {
    let server = Server::start();
    let before = server.status();
    let since = endpoint(&before, "www.example.test.", "127.0.0.2")["since"].clone();
    let grown = format!("{}new  A  192.0.2.99\n", zone_text());
    std::fs::write(server.dir.join("example.test.zone"), grown).unwrap();

    let reply = server.post("/v1/reload", "");
    assert_eq!(reply.status, 200, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["zones"][0]["origin"], "example.test.");
    assert_eq!(body["records"], 3 + 30 + 1, "{body}");
    assert_eq!(body["restart_needed"], serde_json::json!([]));
    assert_eq!(server.answers("new.example.test."), ips(&["192.0.2.99"]));
    assert_eq!(
        server.answers("www.example.test."),
        ips(&["127.0.0.2", "127.0.0.3"])
    );

    let after = server.status();
    let kept = endpoint(&after, "www.example.test.", "127.0.0.2");
    assert_eq!(kept["since"], since, "health kept across the reload");
    assert_eq!(after["reloads"]["ok"], 1);
    assert!(server.log().contains("reload done"), "{}", server.log());
}

#[test]
fn reload_of_a_broken_zone_is_refused_naming_file_and_line() {
    let server = Server::start();
    let zone_file = server.dir.join("example.test.zone");
    // Line 6 follows the five lines of the base zone, before the TXT records.
    let broken = format!(
        "{}bad  A  192.0.2.256\n{}",
        super::harness::ZONE,
        super::harness::big_txt()
    );
    std::fs::write(&zone_file, broken).unwrap();

    let reply = server.post("/v1/reload", "");
    assert_eq!(reply.status, 422, "{}", reply.body);
    let body = reply.json();
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("reload refused: 1 error;"),
        "{body}"
    );
    let errors: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    let file = zone_file.to_string_lossy();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].starts_with(&format!("{file}:6: ")), "{errors:?}");
    assert!(errors[0].contains("192.0.2.256"), "{errors:?}");

    // The old data is still served, and nothing new.
    assert_eq!(
        server.answers("www.example.test."),
        ips(&["127.0.0.2", "127.0.0.3"])
    );
    let nx = super::common::query_udp(server.dns, "bad.example.test.", super::common::TYPE_A)
        .expect("a reply");
    assert_eq!(nx.rcode, super::common::RCODE_NXDOMAIN);
    assert_eq!(server.status()["reloads"]["error"], 1);
    assert!(server.log().contains("reload refused"), "{}", server.log());
}
