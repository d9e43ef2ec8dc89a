//! Proves that a UDP worker allocates nothing per query in the steady state, on both I/O
//! backends: the real server, started in this process, answers loopback traffic while a
//! counting global allocator watches every thread but the client's.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use swivel::name::Name;
use swivel::rrl::RrlConfig;
use swivel::server::{self, IoBackend, IoChoice, Settings, UdpOptions};
use swivel::table::Table;

struct Counting;
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// The client thread's own allocations (if any) are not the server's.
    static EXEMPT: Cell<bool> = const { Cell::new(false) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !EXEMPT.with(Cell::get) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !EXEMPT.with(Cell::get) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

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

fn query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    let mut q = id.to_be_bytes().to_vec();
    q.extend_from_slice(&[1, 0, 0, 1, 0, 0, 0, 0, 0, 1]);
    for label in name.split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, (qtype >> 8) as u8, qtype as u8, 0, 1]);
    // OPT with a 1232-byte payload size.
    q.extend_from_slice(&[0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]);
    q
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
            let (len, from) = socket.recv_from(&mut buf).expect("every query is answered");
            assert!(len > 12 && buf[2] & 0x80 != 0 && from == server);
        }
    }
}

#[test]
fn udp_workers_allocate_nothing_per_query_on_either_backend() {
    let origin = Name::from_text("example.test.").unwrap();
    let zone = swivel::zone::parse_zone(&origin, Path::new("z"), ZONE.as_bytes()).unwrap();
    let table = Table::compile(&[zone], &[]).shared();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
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

        EXEMPT.with(|exempt| exempt.set(true));
        exchange(&socket, target, &queries, 50);
        std::thread::sleep(Duration::from_millis(50));
        let before = ALLOCATIONS.load(Ordering::Relaxed);
        exchange(&socket, target, &queries, 400);
        let allocations = ALLOCATIONS.load(Ordering::Relaxed) - before;
        EXEMPT.with(|exempt| exempt.set(false));
        assert_eq!(
            allocations,
            0,
            "{backend:?}: {allocations} allocations while answering {} queries",
            400 * queries.len()
        );
    }
}
