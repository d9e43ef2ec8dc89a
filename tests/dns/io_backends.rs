//! Both UDP I/O backends (io_uring and recvmmsg/sendmmsg) over real loopback sockets: many
//! queries on IPv4 and IPv6, replies from the queried address on wildcard binds, response
//! rate limiting, CPU steering; the `[server] io` key; and `io = "auto"` falling back when
//! the kernel refuses io_uring (a seccomp filter makes `io_uring_setup` fail with EPERM, as
//! container runtimes do, so the fallback runs exactly as it would there).

use crate::support::dns::{build_query, parse_reply, TYPE_A, TYPE_AAAA};
use crate::support::zone::WWW as ZONE;
use std::collections::HashSet;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::path::Path;
use std::time::Duration;
use swivel::rrl::RrlConfig;
use swivel::server::{self, IoBackend, IoChoice, Settings, UdpOptions};

const PATIENCE: Duration = Duration::from_secs(5);
const BACKENDS: [(IoChoice, IoBackend); 2] = [
    (IoChoice::Uring, IoBackend::Uring),
    (IoChoice::Mmsg, IoBackend::Mmsg),
];

use crate::support::inproc::Running;

fn settings(listen: &[&str], io: IoChoice) -> Settings {
    Settings {
        listen: listen.iter().map(|a| a.parse().unwrap()).collect(),
        workers: 2,
        tcp_idle_timeout: Duration::from_secs(10),
        tcp_max_connections: 64,
        tcp_max_per_client: 16,
        rrl: None,
        udp: UdpOptions {
            io,
            ..UdpOptions::default()
        },
    }
}

fn start(settings: &Settings) -> io::Result<Running> {
    crate::support::inproc::start(settings, ZONE)
}

/// A client socket with room for a large burst of replies.
fn client(bind: &str) -> UdpSocket {
    let socket = UdpSocket::bind(bind).unwrap();
    socket.set_read_timeout(Some(PATIENCE)).unwrap();
    let socket = socket2::Socket::from(socket);
    socket.set_recv_buffer_size(4 << 20).unwrap();
    socket.into()
}

/// Sends `count` queries for www (A and AAAA alternately), `window` in flight at a time,
/// and checks that each is answered exactly once, correctly, from `server`.
fn query_many(server: SocketAddr, client_bind: &str, count: u16, window: u16) {
    let socket = client(client_bind);
    let mut answered = HashSet::new();
    let mut buf = [0; 2048];
    for first in (0..count).step_by(usize::from(window)) {
        let ids = first..(first + window).min(count);
        for id in ids.clone() {
            let qtype = if id % 2 == 0 { TYPE_A } else { TYPE_AAAA };
            let query = build_query(id, "www.example.test", qtype);
            socket.send_to(&query, server).unwrap();
        }
        for _ in ids {
            let (len, from) =
                crate::support::dns::recv_from(&socket, &mut buf).expect("every query is answered");
            assert_eq!(from, server, "the reply comes from the address queried");
            let reply = parse_reply(&buf[..len]).expect("a well-formed reply");
            assert_eq!((reply.rcode, reply.answers.len()), (0, 1), "{reply:?}");
            let expected = if reply.id % 2 == 0 { TYPE_A } else { TYPE_AAAA };
            assert_eq!(reply.answers[0].rtype, expected);
            if expected == TYPE_A {
                assert_eq!(reply.a_addresses(), [Ipv4Addr::new(192, 0, 2, 10)]);
            }
            assert!(
                answered.insert(reply.id),
                "query {} answered twice",
                reply.id
            );
        }
    }
    assert_eq!(answered.len(), usize::from(count));
}

#[test]
fn both_backends_answer_many_queries_on_ipv4_and_ipv6() {
    for (choice, backend) in BACKENDS {
        let running = start(&settings(&["127.0.0.1:0", "[::1]:0"], choice)).unwrap();
        assert_eq!(running.server.udp_io, backend);
        query_many(running.server.local_addrs[0], "127.0.0.1:0", 3000, 100);
        query_many(running.server.local_addrs[1], "[::1]:0", 3000, 100);
        // One at a time: a lone query is answered without waiting for company.
        query_many(running.server.local_addrs[0], "127.0.0.1:0", 200, 1);
    }
}

#[test]
fn a_burst_larger_than_the_receive_buffers_and_send_slots_is_answered_completely() {
    // More queries at once than an io_uring worker has provided buffers (256) plus send
    // slots (2 × 16): the worker must keep reaping send completions behind the queued
    // datagrams rather than wait for a slot that only those completions free.
    for (choice, _) in BACKENDS {
        let mut settings = settings(&["127.0.0.1:0"], choice);
        settings.workers = 1;
        settings.udp.batch = 16;
        let running = start(&settings).unwrap();
        query_many(running.server.local_addrs[0], "127.0.0.1:0", 4000, 400);
    }
}

#[test]
fn both_backends_reply_from_the_queried_address_on_wildcard_binds() {
    for (choice, _) in BACKENDS {
        let running = start(&settings(&["0.0.0.0:0", "[::]:0"], choice)).unwrap();
        let v4_port = running.server.local_addrs[0].port();
        let v6_port = running.server.local_addrs[1].port();
        // query_many checks that every reply comes from the address the query went to.
        query_many(
            SocketAddr::from(([127, 0, 0, 2], v4_port)),
            "127.0.0.1:0",
            500,
            50,
        );
        query_many(
            SocketAddr::from(([127, 0, 0, 1], v4_port)),
            "127.0.0.1:0",
            500,
            50,
        );
        query_many(
            format!("[::1]:{v6_port}").parse().unwrap(),
            "[::1]:0",
            500,
            50,
        );
    }
}

/// Full and truncated replies to a burst of `count` queries from `from`.
fn burst(server: SocketAddr, from: &str, count: u16) -> (usize, usize) {
    let socket = UdpSocket::bind(from).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    for id in 0..count {
        socket
            .send_to(&build_query(id, "www.example.test", TYPE_A), server)
            .unwrap();
    }
    let (mut full, mut truncated) = (0, 0);
    let mut buf = [0; 1500];
    while let Ok((len, _)) = crate::support::dns::recv_from(&socket, &mut buf) {
        let reply = parse_reply(&buf[..len]).expect("a well-formed reply");
        if reply.flags & 0x0200 != 0 {
            assert!(reply.answers.is_empty(), "a slipped reply has no records");
            truncated += 1;
        } else {
            full += 1;
        }
    }
    (full, truncated)
}

#[test]
fn rate_limiting_applies_on_both_backends() {
    for (choice, _) in BACKENDS {
        let mut settings = settings(&["127.0.0.1:0"], choice);
        // One worker, so that the flood meets one limiter.
        settings.workers = 1;
        settings.rrl = Some(RrlConfig {
            responses_per_second: 10,
            slip: 2,
            window: Duration::from_secs(5),
            ..RrlConfig::default()
        });
        let running = start(&settings).unwrap();
        let server = running.server.local_addrs[0];
        let (full, truncated) = burst(server, "127.0.0.1:0", 200);
        assert!(
            (10..=14).contains(&full),
            "{choice:?}: about a second's worth of full replies, got {full}"
        );
        assert!(
            (80..=100).contains(&truncated),
            "{choice:?}: every second limited reply slips, got {truncated}"
        );
        let (full, truncated) = burst(server, "127.0.3.1:0", 5);
        assert_eq!(
            (full, truncated),
            (5, 0),
            "{choice:?}: another /24 is served"
        );
    }
}

#[test]
fn cpu_steering_and_busy_polling_still_answer_everything() {
    for (choice, _) in BACKENDS {
        let mut settings = settings(&["127.0.0.1:0"], choice);
        settings.udp.cpu_steering = true;
        settings.udp.busy_poll_us = 20;
        settings.udp.batch = 16;
        let running = start(&settings).unwrap();
        query_many(running.server.local_addrs[0], "127.0.0.1:0", 2000, 64);
    }
}

/// With io_uring refused, `auto` still serves (over recvmmsg) and `uring` refuses to start.
/// (`auto` preferring io_uring and falling back is tested in src/server/backend.rs, since
/// `auto` prefers recvmmsg today.)
#[test]
fn auto_falls_back_to_recvmmsg_when_io_uring_is_refused_and_uring_fails_to_start() {
    std::thread::spawn(|| {
        swivel::sys::deny_io_uring_setup_in_this_thread().unwrap();
        let refused = swivel::sys::probe_io_uring().unwrap_err();
        assert_eq!(refused.raw_os_error(), Some(libc::EPERM), "{refused}");

        let running = start(&settings(&["127.0.0.1:0"], IoChoice::Auto)).unwrap();
        assert_eq!(running.server.udp_io, IoBackend::Mmsg);
        query_many(running.server.local_addrs[0], "127.0.0.1:0", 500, 50);

        let error = start(&settings(&["127.0.0.1:0"], IoChoice::Uring))
            .err()
            .expect("io = \"uring\" cannot start without io_uring");
        let message = error.to_string();
        assert!(
            message.contains("io = \"uring\"") && message.contains("io_uring"),
            "{message}"
        );
    })
    .join()
    .unwrap();
}

#[test]
fn auto_uses_the_preferred_backend_where_io_uring_works() {
    let running = start(&settings(&["127.0.0.1:0"], IoChoice::Auto)).unwrap();
    assert_eq!(running.server.udp_io, server::PREFERRED);
    query_many(running.server.local_addrs[0], "127.0.0.1:0", 200, 50);
}

fn parse_config(server_table: &str) -> Result<swivel::config::Config, String> {
    let text = format!(
        "[server]\n{server_table}\n[[zone]]\norigin = \"example.test.\"\nfile = \"x.zone\"\n"
    );
    swivel::config::parse(&text, Path::new("swivel.toml"), Path::new("/tmp"))
        .map_err(|errors| errors.to_string())
}

#[test]
fn the_io_key_and_the_udp_tuning_keys_are_read_and_checked() {
    let default = parse_config("").unwrap().server.udp;
    assert_eq!(default, UdpOptions::default());
    assert_eq!(default.io, IoChoice::Auto);
    for (text, choice) in [
        ("auto", IoChoice::Auto),
        ("uring", IoChoice::Uring),
        ("mmsg", IoChoice::Mmsg),
    ] {
        let config = parse_config(&format!("io = \"{text}\"")).unwrap();
        assert_eq!(config.server.udp.io, choice);
        assert_eq!(config.server.udp.io, choice);
    }
    let tuned = parse_config(
        "udp_batch = 32\nudp_socket_buffer = 1048576\npin_workers = false\n\
         cpu_steering = true\nbusy_poll = 50",
    )
    .unwrap()
    .server
    .udp;
    assert_eq!(
        tuned,
        UdpOptions {
            io: IoChoice::Auto,
            batch: 32,
            socket_buffer: 1 << 20,
            pin_workers: false,
            cpu_steering: true,
            busy_poll_us: 50,
        }
    );

    let error = parse_config("workers = 1\nio = \"epoll\"").unwrap_err();
    assert!(
        error.contains("swivel.toml:3:") && error.contains("server.io: \"epoll\""),
        "{error}"
    );
    let error = parse_config("udp_batch = 0\nudp_socket_buffer = 10").unwrap_err();
    assert!(
        error.contains("swivel.toml:2: server.udp_batch: must be from 1 to 1024"),
        "{error}"
    );
    assert!(
        error.contains("swivel.toml:3: server.udp_socket_buffer: must be from 4096"),
        "{error}"
    );
    let error = parse_config("busy_poll = 2000000").unwrap_err();
    assert!(error.contains("server.busy_poll: at most"), "{error}");
}
