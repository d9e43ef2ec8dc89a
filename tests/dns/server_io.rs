//! The serving I/O layer over real loopback sockets: UDP workers answering many queries,
//! replies from the queried address on wildcard binds, TCP framing and pipelining, idle
//! timeouts, connection caps and bind errors.

use crate::support::dns::{build_query, HEADER_LEN};
use crate::support::zone::WWW as ZONE;
use std::collections::HashSet;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::time::{Duration, Instant};
use swivel::server::Settings;

const TYPE_A: u16 = 1;
/// How long a test waits for anything the server should do at once.
const PATIENCE: Duration = Duration::from_secs(5);

use crate::support::inproc::Running;

impl Running {
    fn addr(&self, index: usize) -> SocketAddr {
        self.server.local_addrs[index]
    }
}

fn settings(listen: &[&str]) -> Settings {
    Settings {
        listen: listen.iter().map(|a| a.parse().unwrap()).collect(),
        workers: 3,
        tcp_idle_timeout: Duration::from_secs(10),
        tcp_max_connections: 64,
        tcp_max_per_client: 16,
        rrl: None,
        udp: Default::default(),
    }
}

fn start(settings: &Settings) -> io::Result<Running> {
    crate::support::inproc::start(settings, ZONE)
}

/// Checks that `reply` answers `query`: same ID, QR set, question echoed; returns the ID.
fn check_reply(reply: &[u8], query: &[u8]) -> u16 {
    assert!(reply.len() >= query.len(), "reply too short: {reply:?}");
    assert_eq!(reply[..2], query[..2], "reply ID");
    assert_ne!(reply[2] & 0x80, 0, "QR bit");
    assert_eq!(
        reply[HEADER_LEN..query.len()],
        query[HEADER_LEN..],
        "question"
    );
    u16::from_be_bytes([reply[0], reply[1]])
}

fn udp_client(bind: &str) -> UdpSocket {
    let socket = UdpSocket::bind(bind).unwrap();
    socket.set_read_timeout(Some(PATIENCE)).unwrap();
    socket
}

/// Sends `count` queries from each of several sockets, `window` in flight at a time, and
/// checks that every one is answered exactly once.
fn query_many_over_udp(
    server: SocketAddr,
    client_bind: &str,
    clients: usize,
    count: u16,
    window: u16,
) {
    for _ in 0..clients {
        let socket = udp_client(client_bind);
        let mut answered = HashSet::new();
        let mut buf = [0; 2048];
        for first in (0..count).step_by(window as usize) {
            let ids = first..(first + window).min(count);
            for id in ids.clone() {
                socket
                    .send_to(&build_query(id, "www.example.test", TYPE_A), server)
                    .unwrap();
            }
            for _ in ids {
                let (len, from) = crate::support::dns::recv_from(&socket, &mut buf)
                    .expect("a reply for every query");
                assert_eq!(from, server);
                let id = u16::from_be_bytes([buf[0], buf[1]]);
                check_reply(&buf[..len], &build_query(id, "www.example.test", TYPE_A));
                assert!(answered.insert(id), "ID {id} answered twice");
            }
        }
        assert_eq!(answered.len(), usize::from(count));
    }
}

#[test]
fn udp_workers_answer_every_query_on_ipv4_and_ipv6() {
    let running = start(&settings(&["127.0.0.1:0", "[::1]:0"])).unwrap();
    assert!(running.addr(0).port() != 0 && running.addr(1).port() != 0);
    query_many_over_udp(running.addr(0), "127.0.0.1:0", 4, 400, 40);
    query_many_over_udp(running.addr(1), "[::1]:0", 4, 400, 40);
}

#[test]
fn udp_garbage_gets_no_reply_and_does_not_disturb_the_batch() {
    let running = start(&settings(&["127.0.0.1:0"])).unwrap();
    let socket = udp_client("127.0.0.1:0");
    let query = build_query(77, "www.example.test", TYPE_A);
    socket.send_to(&[1, 2, 3], running.addr(0)).unwrap();
    socket.send_to(&query, running.addr(0)).unwrap();
    let mut buf = [0; 2048];
    let (len, _) = crate::support::dns::recv_from(&socket, &mut buf).unwrap();
    assert_eq!(check_reply(&buf[..len], &query), 77);
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    assert!(
        crate::support::dns::recv_from(&socket, &mut buf).is_err(),
        "nothing else arrives"
    );
}

/// Queries `target` from a socket bound to `client_bind`; returns where the reply came from.
fn reply_source(client_bind: &str, target: SocketAddr) -> SocketAddr {
    let socket = udp_client(client_bind);
    let query = build_query(4242, "www.example.test", TYPE_A);
    socket.send_to(&query, target).unwrap();
    let mut buf = [0; 2048];
    let (len, from) = crate::support::dns::recv_from(&socket, &mut buf).unwrap();
    check_reply(&buf[..len], &query);
    from
}

#[test]
fn wildcard_bind_replies_from_the_address_queried() {
    let running = start(&settings(&["0.0.0.0:0", "[::]:0"])).unwrap();
    let v4 = SocketAddr::new("127.0.0.2".parse().unwrap(), running.addr(0).port());
    assert_eq!(reply_source("127.0.0.1:0", v4), v4);
    let v6 = SocketAddr::new("::1".parse().unwrap(), running.addr(1).port());
    assert_eq!(reply_source("[::1]:0", v6), v6);
    // TCP listens on the wildcard address and the same port too.
    let mut stream = connect(v4);
    let query = build_query(5, "www.example.test", TYPE_A);
    send_framed(&mut stream, &query);
    check_reply(&read_framed(&mut stream).unwrap(), &query);
}

fn connect(server: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect_timeout(&server, PATIENCE).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream
}

/// Connects from a chosen local address, e.g. 127.0.0.3, to appear as another client.
fn connect_from(local: &str, server: SocketAddr) -> TcpStream {
    let local: SocketAddr = local.parse().unwrap();
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.bind(&local.into()).unwrap();
    socket.connect_timeout(&server.into(), PATIENCE).unwrap();
    let stream: TcpStream = socket.into();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream
}

fn send_framed(stream: &mut TcpStream, message: &[u8]) {
    let mut framed = (message.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(message);
    stream.write_all(&framed).unwrap();
}

fn read_framed(stream: &mut TcpStream) -> io::Result<Vec<u8>> {
    let mut prefix = [0; 2];
    stream.read_exact(&mut prefix)?;
    let mut message = vec![0; usize::from(u16::from_be_bytes(prefix))];
    stream.read_exact(&mut message)?;
    Ok(message)
}

/// Waits for the server to close `stream` (EOF or reset) and returns how long that took;
/// panics if data arrives instead.
fn wait_for_close(stream: &mut TcpStream) -> Duration {
    let started = Instant::now();
    let mut buf = [0; 512];
    match stream.read(&mut buf) {
        Ok(0) => {}
        Err(error) if error.kind() == io::ErrorKind::ConnectionReset => {}
        Ok(n) => panic!("expected the connection to close, got {n} bytes"),
        Err(error) => panic!("expected the connection to close, got {error}"),
    }
    started.elapsed()
}

/// True when `stream` gets an answer to a query.
fn is_served(stream: &mut TcpStream, id: u16) -> bool {
    let query = build_query(id, "www.example.test", TYPE_A);
    let mut framed = (query.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&query);
    if stream.write_all(&framed).is_err() {
        return false;
    }
    match read_framed(stream) {
        Ok(reply) => check_reply(&reply, &query) == id,
        Err(_) => false,
    }
}

#[test]
fn tcp_answers_sequential_and_pipelined_queries_on_one_connection() {
    let running = start(&settings(&["127.0.0.1:0", "[::1]:0"])).unwrap();
    for server in [running.addr(0), running.addr(1)] {
        let mut stream = connect(server);
        for id in 0..3 {
            assert!(is_served(&mut stream, id));
        }
        let queries: Vec<Vec<u8>> = (100..110)
            .map(|id| build_query(id, "www.example.test", TYPE_A))
            .collect();
        let mut burst = Vec::new();
        for query in &queries {
            burst.extend_from_slice(&(query.len() as u16).to_be_bytes());
            burst.extend_from_slice(query);
        }
        stream.write_all(&burst).unwrap();
        let mut answered = HashSet::new();
        for _ in &queries {
            let reply = read_framed(&mut stream).unwrap();
            let id = u16::from_be_bytes([reply[0], reply[1]]);
            check_reply(&reply, &queries[usize::from(id - 100)]);
            answered.insert(id);
        }
        assert_eq!(answered, (100..110).collect());
    }
}

#[test]
fn tcp_idle_and_half_sent_connections_are_closed_after_the_timeout() {
    let timeout = Duration::from_millis(300);
    let running = start(&Settings {
        tcp_idle_timeout: timeout,
        ..settings(&["127.0.0.1:0"])
    })
    .unwrap();
    let server = running.addr(0);

    let mut idle = connect(server);
    let waited = wait_for_close(&mut idle);
    assert!(
        waited >= timeout - Duration::from_millis(50) && waited < PATIENCE,
        "idle closed after {waited:?}"
    );

    let mut half = connect(server);
    assert!(is_served(&mut half, 1), "answered before going idle");
    half.write_all(&[0, 40, 1, 2, 3]).unwrap();
    let waited = wait_for_close(&mut half);
    assert!(
        waited >= timeout - Duration::from_millis(50) && waited < PATIENCE,
        "half-sent closed after {waited:?}"
    );
}

/// At the per-client cap a new connection from that client is admitted and the client's
/// connection idle the longest is closed for it; other clients are not touched.
#[test]
fn tcp_per_client_cap_gives_the_clients_idlest_slot_to_its_new_connection() {
    let running = start(&Settings {
        tcp_max_per_client: 2,
        ..settings(&["127.0.0.1:0"])
    })
    .unwrap();
    let server = running.addr(0);
    let mut other = connect_from("127.0.0.3:0", server);
    let mut first = connect_from("127.0.0.1:0", server);
    let mut second = connect_from("127.0.0.1:0", server);
    assert!(is_served(&mut other, 7));
    assert!(is_served(&mut first, 1));
    std::thread::sleep(Duration::from_millis(20));
    assert!(is_served(&mut second, 2));

    let mut extra = connect_from("127.0.0.1:0", server);
    assert!(
        is_served(&mut extra, 3),
        "a third connection from 127.0.0.1 is answered"
    );
    let waited = wait_for_close(&mut first);
    assert!(waited < PATIENCE, "the idlest connection was closed for it");
    assert!(is_served(&mut second, 5), "the other one stays open");
    assert!(is_served(&mut other, 4), "127.0.0.3 is not touched");
}

/// At the total cap, which spans every listener, a newcomer from any client is admitted
/// and the connection idle the longest, whoever holds it, is closed for it.
#[test]
fn tcp_total_cap_spans_listeners_and_gives_the_idlest_slot_to_a_newcomer() {
    let running = start(&Settings {
        tcp_max_connections: 2,
        ..settings(&["127.0.0.1:0", "[::1]:0"])
    })
    .unwrap();
    let mut first = connect_from("127.0.0.1:0", running.addr(0));
    let mut second = connect(running.addr(1));
    assert!(is_served(&mut first, 1));
    std::thread::sleep(Duration::from_millis(20));
    assert!(is_served(&mut second, 2));
    std::thread::sleep(Duration::from_millis(20));
    // A newcomer on the first listener takes the slot of `first`, the idlest.
    let mut third = connect_from("127.0.0.3:0", running.addr(0));
    assert!(is_served(&mut third, 3), "a newcomer at the total cap");
    assert!(wait_for_close(&mut first) < PATIENCE);
    // One on the second listener takes the slot of `second`: the cap counts both.
    let mut fourth = connect(running.addr(1));
    assert!(is_served(&mut fourth, 4));
    assert!(
        wait_for_close(&mut second) < PATIENCE,
        "the cap spans all listeners"
    );
    assert!(is_served(&mut third, 5), "the newest connections stay open");
}

#[test]
fn start_fails_naming_the_address_that_cannot_be_bound() {
    let taken_udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = taken_udp.local_addr().unwrap();
    let error = start(&settings(&["127.0.0.1:0", &addr.to_string()]))
        .err()
        .expect("UDP port taken");
    assert!(error.to_string().contains(&addr.to_string()), "{error}");

    let taken_tcp = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken_tcp.local_addr().unwrap();
    let error = start(&settings(&[&addr.to_string()]))
        .err()
        .expect("TCP port taken");
    assert!(error.to_string().contains(&addr.to_string()), "{error}");
}
