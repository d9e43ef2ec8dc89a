//! Proves that a UDP worker allocates nothing per query in the steady state, on both I/O
//! backends: the real server, started in this process, answers loopback traffic while a
//! counting global allocator watches every thread but the client's. And that a server
//! started in this process stops: its threads end and are joined, again and again.
//!
//! The two tests take turns (see [`SERIAL`]): each watches the whole process.

mod support;

use std::net::{SocketAddr, UdpSocket};
use std::sync::Mutex;
use std::time::Duration;
use support::alloc;
use support::dns::{build_query_with, RD};
use swivel::rrl::RrlConfig;
use swivel::server::{self, IoBackend, IoChoice, Settings, UdpOptions};

#[global_allocator]
static GLOBAL: alloc::Counting = alloc::Counting;

/// Held by each test for its whole run: one counts every thread's allocations, the other
/// every thread of the process.
static SERIAL: Mutex<()> = Mutex::new(());

const ZONE: &str = "\
$ORIGIN example.test.
$TTL 300
@      SOA  ns1 hostmaster 1 7200 3600 1209600 300
@      NS   ns1
@      MX   10 mail
ns1    A    192.0.2.53
mail   A    192.0.2.25
www    A    192.0.2.1
www    AAAA 2001:db8::1
*.wild A    192.0.2.3
";

/// A query with RD and an OPT offering a 1232-byte payload.
fn query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    build_query_with(id, name, qtype, RD, true)
}

/// Sends every query in `queries` `rounds` times, `window` in flight at a time, and waits
/// for each reply. Allocates nothing itself: the queries and the buffer exist already.
fn exchange(socket: &UdpSocket, server: SocketAddr, queries: &[Vec<u8>], rounds: usize) {
    let mut buf = [0u8; 1500];
    for _ in 0..rounds {
        for query in queries {
            socket.send_to(query, server).unwrap();
        }
        for _ in queries {
            let (len, from) =
                crate::support::dns::recv_from(socket, &mut buf).expect("every query is answered");
            assert!(len > 12 && buf[2] & 0x80 != 0 && from == server);
        }
    }
}

#[test]
fn udp_workers_allocate_nothing_per_query_on_either_backend() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let table = support::inproc::table(ZONE);
    let runtime = support::inproc::runtime();
    // A window of every kind of answer: hits, AAAA, MX with additionals, a wildcard,
    // NXDOMAIN, a refused zone.
    let names = [
        ("www.example.test", 1),
        ("www.example.test", 28),
        ("example.test", 15),
        ("x.wild.example.test", 1),
        ("nothing.example.test", 1),
        ("example.org", 1),
    ];
    let queries: Vec<Vec<u8>> = (0..48)
        .map(|i| {
            let (name, qtype) = names[i % names.len()];
            query(i as u16, name, qtype)
        })
        .collect();
    for (choice, backend) in [
        (IoChoice::Uring, IoBackend::Uring),
        (IoChoice::Mmsg, IoBackend::Mmsg),
    ] {
        let settings = Settings {
            // A wildcard bind: packet-info control messages on every datagram.
            listen: vec!["0.0.0.0:0".parse().unwrap()],
            workers: 1,
            tcp_idle_timeout: Duration::from_secs(10),
            tcp_max_connections: 16,
            tcp_max_per_client: 16,
            // Rate limiting on (at a rate this test stays under): its lookups run too.
            rrl: Some(RrlConfig {
                responses_per_second: 1_000_000,
                ..RrlConfig::default()
            }),
            udp: UdpOptions {
                io: choice,
                ..UdpOptions::default()
            },
        };
        let server = server::start(&settings, table.clone(), runtime.handle()).unwrap();
        assert_eq!(server.udp_io, backend);
        let target = SocketAddr::from(([127, 0, 0, 1], server.local_addrs[0].port()));
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();

        alloc::exempt_this_thread(true);
        alloc::count_every_thread(true);
        exchange(&socket, target, &queries, 50);
        std::thread::sleep(Duration::from_millis(50));
        let before = alloc::allocations();
        exchange(&socket, target, &queries, 400);
        let allocations = alloc::allocations() - before;
        alloc::count_every_thread(false);
        alloc::exempt_this_thread(false);
        assert_eq!(
            allocations,
            0,
            "{backend:?}: {allocations} allocations while answering {} queries",
            400 * queries.len()
        );
    }
}

/// The threads of this process (every entry of /proc/self/task).
fn threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .expect("read /proc/self/task")
        .count()
}

#[test]
fn a_stopped_server_leaves_no_thread_behind_on_either_backend() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let table = support::inproc::table(ZONE);
    let runtime = support::inproc::runtime();
    // The runtime's own threads start lazily; one round first, so they are counted before.
    let warm = |settings: &Settings| {
        server::start(settings, table.clone(), runtime.handle())
            .unwrap()
            .shutdown()
    };
    let settings = |io| Settings {
        listen: vec!["127.0.0.1:0".parse().unwrap(), "[::1]:0".parse().unwrap()],
        workers: 3,
        tcp_idle_timeout: Duration::from_secs(10),
        tcp_max_connections: 16,
        tcp_max_per_client: 16,
        rrl: None,
        udp: UdpOptions {
            io,
            ..UdpOptions::default()
        },
    };
    warm(&settings(IoChoice::Mmsg));
    // io_uring's kernel workers, if any, end shortly after their ring: a bounded wait.
    let settled = |want: usize| {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while threads() > want && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        threads()
    };
    let before = settled(threads());
    for round in 0..10 {
        for io in [IoChoice::Mmsg, IoChoice::Uring] {
            let started = server::start(&settings(io), table.clone(), runtime.handle()).unwrap();
            let running = threads();
            assert!(
                running >= before + 6,
                "round {round}, {io:?}: 3 workers on each of 2 addresses run ({running} threads, {before} before)"
            );
            // It answers, over UDP and TCP, before it stops.
            let addr = started.local_addrs[0];
            let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
            socket
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            socket
                .send_to(&query(7, "www.example.test", 1), addr)
                .unwrap();
            let mut buf = [0u8; 512];
            let (len, _) = crate::support::dns::recv_from(&socket, &mut buf).expect("a UDP reply");
            assert!(len > 12 && buf[..2] == [0, 7]);
            let tcp = std::net::TcpStream::connect(addr).expect("the TCP listener accepts");
            if round % 2 == 0 {
                started.shutdown();
            } else {
                drop(started);
            }
            let after = settled(before);
            assert_eq!(
                after, before,
                "round {round}, {io:?}: every server thread ends when it stops"
            );
            // The UDP port is free again: nothing holds the workers' sockets (a ring's
            // files are let go by the kernel shortly after it closes: a bounded wait).
            let freed =
                support::wait_until(Duration::from_secs(10), || UdpSocket::bind(addr).is_ok());
            assert!(
                freed,
                "round {round}, {io:?}: the stopped server's UDP port is free again"
            );
            drop(tcp);
        }
    }
}
