//! End to end: an MX whose exchange is a pool name carries the pool's current addresses in
//! the additional section, over real UDP from `swivel serve`, and they follow the pool's
//! health as its A answers do.

use crate::support::backend::Backend;
use crate::support::dns::msg::{Message, Record};
use crate::support::dns::{build_query, query_udp, recv_from, TYPE_A};
use crate::support::process::{Config, Served};
use crate::support::wait_until;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::time::Duration;

const TYPE_MX: u16 = 15;

/// The exchange `mx` is the pool; `static` is an ordinary host beside it.
fn zone() -> String {
    format!(
        "{}@      MX  10 mx\n@      MX  20 static\nstatic A   192.0.2.80\n",
        crate::support::zone::APEX
    )
}

fn pool(port: u16) -> String {
    format!(
        "[[pool]]\nname = \"mx.example.test.\"\nttl = 30\nttl_degraded = 5\n\
         [pool.check]\nkind = \"http\"\nport = {port}\npath = \"/health\"\nexpect_body = \"ok\"\n\
         interval = \"200ms\"\ntimeout = \"150ms\"\nfall = 3\nrise = 2\n\
         [[pool.endpoint]]\naddress = \"127.0.0.2\"\n\
         [[pool.endpoint]]\naddress = \"127.0.0.3\"\n"
    )
}

/// The reply to an MX query at the apex, parsed.
fn mx(dns: SocketAddr) -> Message {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    socket
        .send_to(&build_query(0x4d58, "example.test", TYPE_MX), dns)
        .unwrap();
    let mut buf = [0u8; 1500];
    let (len, _) = recv_from(&socket, &mut buf).expect("an MX reply");
    Message::parse(&buf[..len]).expect("the MX reply parses")
}

/// The A addresses the additional section holds for `owner` (wire form), sorted.
fn additional_a(message: &Message, owner: &[u8]) -> Vec<Ipv4Addr> {
    let mut addresses: Vec<Ipv4Addr> = message
        .additional
        .iter()
        .filter(|r: &&Record| r.rtype == TYPE_A && r.owner == owner && r.rdata.len() == 4)
        .map(|r| Ipv4Addr::new(r.rdata[0], r.rdata[1], r.rdata[2], r.rdata[3]))
        .collect();
    addresses.sort();
    addresses
}

#[test]
fn mx_to_a_pool_name_carries_the_pools_healthy_addresses_in_additional() {
    let (port, mut backends) = Backend::start_on(&["127.0.0.2", "127.0.0.3"]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("example.test.zone"), zone()).unwrap();
    let config = Config::new()
        .server("workers = 1")
        .example_zone()
        .tail(&pool(port))
        .write(&dir.path().join("swivel.toml"));
    let server = Served::start(&config, &[], &dir.path().join("swivel.log"));
    let pool_owner = b"\x02mx\x07example\x04test\x00";
    let static_owner = b"\x06static\x07example\x04test\x00";
    let pool_a = || {
        query_udp(server.dns, "mx.example.test", TYPE_A)
            .unwrap()
            .a_addresses()
    };
    let both = [Ipv4Addr::new(127, 0, 0, 2), Ipv4Addr::new(127, 0, 0, 3)];
    let up = wait_until(Duration::from_secs(10), || pool_a() == both);
    assert!(up, "the pool never served both; log:\n{}", server.log());

    let reply = mx(server.dns);
    assert_eq!(reply.answer.len(), 2);
    assert_eq!(
        additional_a(&reply, pool_owner),
        both,
        "log:\n{}",
        server.log()
    );
    assert_eq!(
        additional_a(&reply, static_owner),
        [Ipv4Addr::new(192, 0, 2, 80)]
    );

    // One backend down: once the A answer drops it, the additional section has too.
    backends[1].stop();
    let only = [Ipv4Addr::new(127, 0, 0, 2)];
    let moved = wait_until(Duration::from_secs(10), || pool_a() == only);
    assert!(moved, "127.0.0.3 was never dropped; log:\n{}", server.log());
    let reply = mx(server.dns);
    assert_eq!(additional_a(&reply, pool_owner), only);
    assert_eq!(
        additional_a(&reply, static_owner),
        [Ipv4Addr::new(192, 0, 2, 80)]
    );

    // Every backend down: `when_all_down` (serve-all by default) decides the A answer, and
    // the additional section says the same.
    backends[0].stop();
    let all_down = wait_until(Duration::from_secs(10), || pool_a() == both);
    assert!(
        all_down,
        "the pool never went all-down; log:\n{}",
        server.log()
    );
    let settled = wait_until(Duration::from_secs(10), || {
        additional_a(&mx(server.dns), pool_owner) == pool_a()
    });
    assert!(
        settled,
        "additional differs from the A answer with all down"
    );
    assert_eq!(pool_a(), both, "serve-all serves every endpoint");

    // And back: the additional section follows the recovery too.
    backends[1].restart();
    let back = wait_until(Duration::from_secs(10), || {
        additional_a(&mx(server.dns), pool_owner) == [Ipv4Addr::new(127, 0, 0, 3)]
    });
    assert!(
        back,
        "additional never showed the recovered backend; log:\n{}",
        server.log()
    );
}
