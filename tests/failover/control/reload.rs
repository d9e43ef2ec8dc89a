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
    let nx = crate::support::dns::query_udp(
        server.dns,
        "bad.example.test.",
        crate::support::dns::TYPE_A,
    )
    .expect("a reply");
    assert_eq!(nx.rcode, crate::support::dns::RCODE_NXDOMAIN);
    assert_eq!(server.status()["reloads"]["error"], 1);
    assert!(server.log().contains("reload refused"), "{}", server.log());
}

#[test]
fn reloads_over_the_api_lose_no_query() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let server = Server::start();
    let zone = server.dir.join("example.test.zone");
    let done = Arc::new(AtomicBool::new(false));
    let dns = server.dns;
    let asker = {
        let done = done.clone();
        std::thread::spawn(move || {
            let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            socket
                .set_read_timeout(Some(std::time::Duration::from_secs(1)))
                .unwrap();
            let (mut sent, mut lost, mut wrong) = (0u32, 0u32, 0u32);
            let mut buf = [0u8; 512];
            while !done.load(Ordering::Relaxed) || sent < 500 {
                let id = (sent % 65536) as u16;
                let query = crate::support::dns::build_query(id, "www.example.test.", 1);
                socket.send_to(&query, dns).unwrap();
                sent += 1;
                match socket.recv_from(&mut buf) {
                    Ok((len, _)) => match crate::support::dns::parse_reply(&buf[..len]) {
                        Some(reply) if reply.id == id && reply.a_addresses().len() == 2 => {}
                        _ => wrong += 1,
                    },
                    Err(_) => lost += 1,
                }
            }
            (sent, lost, wrong)
        })
    };
    for round in 0..10 {
        let text = format!("{}r{round}  A  192.0.2.{round}\n", zone_text());
        std::fs::write(&zone, text).unwrap();
        let reply = server.post("/v1/reload", "");
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
    done.store(true, Ordering::Relaxed);
    let (sent, lost, wrong) = asker.join().unwrap();
    assert_eq!((lost, wrong), (0, 0), "of {sent} queries during 10 reloads");
    assert_eq!(server.answers("r9.example.test."), ips(&["192.0.2.9"]));
    assert_eq!(server.status()["reloads"]["ok"], 10);
}
