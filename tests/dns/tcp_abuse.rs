//! TCP abuse against `swivel serve` (a child process, default connection caps, a short idle
//! timeout): hundreds of idle connections, half-sent messages and garbage length prefixes
//! do not lock out a fresh client, and each is closed after the idle timeout; one address
//! cannot take more than its share, and its oldest idle connections give way to its new
//! ones; thousands of idle connections from many addresses do not keep a newcomer waiting;
//! a full server admits newcomers by closing the connection idle the longest, shortens the
//! idle timeout while more than half its slots are in use, and stays small.

use crate::hostile::{build_query, is_noerror_answer, ServerProcess, TYPE_A};
use socket2::{Domain, Socket, Type};
use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};
use swivel::config::{DEFAULT_TCP_MAX_CONNECTIONS, DEFAULT_TCP_MAX_PER_CLIENT};

/// The idle timeout the abuse tests run with (the default is 10 s).
const IDLE: Duration = Duration::from_secs(1);
/// How much later than the idle timeout a close may come (scheduling on a busy machine).
const SLACK: Duration = Duration::from_millis(1500);

fn start() -> ServerProcess {
    ServerProcess::start("workers = 1\ntcp_idle_timeout = \"1s\"")
}

/// A TCP connection to `server` from the loopback address `local` (any port).
fn connect_from(local: [u8; 4], server: SocketAddr) -> TcpStream {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("TCP socket");
    let local = SocketAddr::new(IpAddr::from(local), 0);
    socket.bind(&local.into()).expect("bind a loopback address");
    socket
        .connect_timeout(&server.into(), Duration::from_secs(5))
        .expect("connect");
    socket.into()
}

/// Whether a fresh connection from `local` gets an answer to a query.
fn served_over_tcp(local: [u8; 4], server: SocketAddr) -> bool {
    let mut stream = connect_from(local, server);
    stream
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let query = build_query(0x7777, "www.example.test", TYPE_A);
    let mut framed = (query.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&query);
    if stream.write_all(&framed).is_err() {
        return false;
    }
    let mut prefix = [0u8; 2];
    if stream.read_exact(&mut prefix).is_err() {
        return false;
    }
    let mut reply = vec![0u8; usize::from(u16::from_be_bytes(prefix))];
    stream.read_exact(&mut reply).is_ok() && is_noerror_answer(&reply, &query)
}

/// Waits until `limit` after `since` for the server to close `stream` (at least a moment,
/// even when that time has passed); returns when it did, `None` if it is still open.
fn closed_within(stream: &mut TcpStream, limit: Duration, since: Instant) -> Option<Duration> {
    let mut buf = [0u8; 64];
    let read = loop {
        let left = limit.saturating_sub(since.elapsed());
        stream
            .set_read_timeout(Some(left.max(Duration::from_millis(5))))
            .unwrap();
        // A read with a timeout returns EINTR on any handled signal (SA_RESTART does not
        // apply to it), and the test binary's other tests start and reap child processes.
        match stream.read(&mut buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => break other,
        }
    };
    match read {
        Ok(0) => Some(since.elapsed()),
        Err(e) if e.kind() == io::ErrorKind::ConnectionReset => Some(since.elapsed()),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ) =>
        {
            None
        }
        Ok(n) => panic!("the server sent {n} bytes to an abuser"),
        Err(e) => panic!("unexpected error on an abusive connection: {e}"),
    }
}

/// Raises this test process's open files limit so that it can hold `connections` sockets
/// (its soft limit may be 1024); fails clearly when the hard limit is too low.
fn allow_open_files(connections: u64) {
    let limit = swivel::sys::raise_open_files_limit(65_536).expect("raise RLIMIT_NOFILE");
    assert!(
        limit.soft >= connections + 256,
        "this test holds {connections} connections, but the open files limit is {limit:?}"
    );
}

/// Loopback address number `i` of a block of client addresses 127.0.<block>.<i>.
fn client(block: u8, i: usize) -> [u8; 4] {
    [127, 0, block, 1 + i as u8]
}

#[test]
fn abusers_do_not_lock_out_a_fresh_client_and_are_closed_after_the_idle_timeout() {
    let server = start();
    let started = Instant::now();
    let mut abusers: Vec<(&str, TcpStream)> = Vec::new();
    // 300 idle connections from 10 addresses, under the per-client cap.
    for i in 0..300 {
        abusers.push(("idle", connect_from(client(10, i % 10), server.addr)));
    }
    // Half a message: a prefix announcing 64 bytes, then 10 of them.
    for i in 0..30 {
        let mut stream = connect_from(client(11, i % 3), server.addr);
        stream
            .write_all(&[0, 64, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
            .unwrap();
        abusers.push(("half message", stream));
    }
    // Garbage prefixes: one byte of a prefix, and lengths 1 and 65535 with nothing after.
    for (kind, bytes) in [
        ("half prefix", &[0u8][..]),
        ("prefix 1", &[0, 1]),
        ("prefix 65535", &[0xff, 0xff]),
    ] {
        for i in 0..10 {
            let mut stream = connect_from(client(12, i), server.addr);
            stream.write_all(bytes).unwrap();
            abusers.push((kind, stream));
        }
    }
    // A zero-length message is no query: that connection is closed at once.
    let mut zero = connect_from(client(13, 0), server.addr);
    zero.write_all(&[0, 0]).unwrap();

    assert!(
        served_over_tcp([127, 0, 0, 1], server.addr),
        "a fresh TCP client is locked out; log:\n{}",
        server.log()
    );
    assert!(server.answers_normally(), "UDP still answers");
    assert!(
        started.elapsed() < IDLE,
        "setting up took {:?}, longer than the idle timeout: the test proves nothing",
        started.elapsed()
    );
    let closed = closed_within(&mut zero, Duration::from_millis(500), Instant::now());
    assert!(
        closed.is_some(),
        "a zero-length message leaves the connection open"
    );

    let deadline = IDLE + SLACK;
    for (kind, stream) in &mut abusers {
        let when = closed_within(stream, deadline, started)
            .unwrap_or_else(|| panic!("{kind} connection still open after {deadline:?}"));
        assert!(
            when >= IDLE - Duration::from_millis(100),
            "{kind} connection closed after {when:?}, before the idle timeout"
        );
    }
    assert!(served_over_tcp([127, 0, 0, 1], server.addr));
}

/// Connections from one address over the per-client cap: each newcomer is admitted, and the
/// connection of that address idle the longest (the oldest here) is closed for it.
#[test]
fn one_address_keeps_its_share_and_its_oldest_idle_connections_give_way() {
    let server = start();
    let mut flood: Vec<TcpStream> = (0..DEFAULT_TCP_MAX_PER_CLIENT + 40)
        .map(|_| connect_from([127, 0, 20, 1], server.addr))
        .collect();
    assert!(served_over_tcp([127, 0, 20, 2], server.addr));
    let now = Instant::now();
    let closed: Vec<usize> = flood
        .iter_mut()
        .enumerate()
        .filter_map(|(i, s)| closed_within(s, Duration::from_millis(400), now).map(|_| i))
        .collect();
    assert_eq!(
        closed,
        (0..40).collect::<Vec<_>>(),
        "the 40 oldest connections give way, the newest {DEFAULT_TCP_MAX_PER_CLIENT} stay"
    );
    // A well-behaved newcomer from the flooding address itself is answered too.
    assert!(served_over_tcp([127, 0, 20, 1], server.addr));
    assert!(
        closed_within(&mut flood[40], Duration::from_millis(400), Instant::now()).is_some(),
        "the newcomer took the slot of the oldest remaining connection"
    );
    assert_eq!(
        server.metric("swivel_tcp_connections_evicted_total{cap=\"per_client\"}"),
        41
    );
    assert_eq!(
        server.metric("swivel_tcp_connections_evicted_total{cap=\"total\"}"),
        0
    );
}

/// 2,000 idle connections from 20 addresses and 300 from the client's own address: a normal
/// TCP query from each of those addresses is answered within a second.
#[test]
fn newcomers_are_answered_within_a_second_beside_thousands_of_idle_connections() {
    allow_open_files(2_300);
    // A long idle timeout, so that nothing but eviction frees a slot during the test.
    let server = ServerProcess::start("workers = 1\ntcp_idle_timeout = \"60s\"");
    let started = Instant::now();
    let mut idle = Vec::with_capacity(2_300);
    for i in 0..2_000 {
        idle.push(connect_from(client(40, i % 20), server.addr));
    }
    let own = [127, 0, 41, 1];
    for _ in 0..300 {
        idle.push(connect_from(own, server.addr));
    }
    let setup = started.elapsed();
    let pressure_timeout = Duration::from_secs(6);
    for address in (0..20).map(|i| client(40, i)).chain([own]) {
        let asked = Instant::now();
        assert!(
            served_over_tcp(address, server.addr),
            "a query from {address:?} is not answered; log:\n{}",
            server.log()
        );
        let took = asked.elapsed();
        assert!(took < Duration::from_secs(1), "{address:?} waited {took:?}");
    }
    assert!(
        started.elapsed() < pressure_timeout,
        "setting up took {setup:?} and asking {:?}: idle connections may have timed out, \
         so the test proves nothing",
        started.elapsed() - setup
    );
    let evicted = server.metric("swivel_tcp_connections_evicted_total{cap=\"per_client\"}");
    // Every address holds its cap of idle connections; each query's connection evicted one.
    assert_eq!(evicted, 2_300 - 21 * DEFAULT_TCP_MAX_PER_CLIENT as u64 + 21);
    // The 21 answered connections were closed by their clients (the server may take a
    // moment to see the last close).
    let expected_open = 21 * DEFAULT_TCP_MAX_PER_CLIENT as u64 - 21;
    let deadline = Instant::now() + Duration::from_secs(1);
    while server.metric("swivel_tcp_connections_open") != expected_open {
        assert!(
            Instant::now() < deadline,
            "{} connections open, expected {expected_open}",
            server.metric("swivel_tcp_connections_open")
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(server.answers_normally(), "UDP still answers");
}

/// Sends one query on `stream` and waits briefly for its answer; false when the server
/// closed the connection instead.
fn asks_once(stream: &mut TcpStream, id: u16) -> bool {
    let query = build_query(id, "www.example.test", TYPE_A);
    let mut framed = (query.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&query);
    stream
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut prefix = [0u8; 2];
    if stream.write_all(&framed).is_err() || stream.read_exact(&mut prefix).is_err() {
        return false;
    }
    let mut reply = vec![0u8; usize::from(u16::from_be_bytes(prefix))];
    stream.read_exact(&mut reply).is_ok() && is_noerror_answer(&reply, &query)
}

/// With the default caps and a 30 s idle timeout, a server whose every connection slot is
/// held by clients that asked once and went quiet admits a newcomer at once by closing the
/// connection idle the longest, keeps answering over UDP, holds the connections in little
/// memory, and, under pressure (more than half the slots in use), closes idle connections
/// after a tenth of the idle timeout until no more than half are in use.
#[test]
fn a_full_server_admits_newcomers_sheds_idle_connections_and_stays_small() {
    allow_open_files(DEFAULT_TCP_MAX_CONNECTIONS as u64 + 64);
    let server = ServerProcess::start("workers = 1\ntcp_idle_timeout = \"30s\"");
    let pressure_timeout = Duration::from_secs(3);
    let rss_before = server.rss_kib();
    let per_address = DEFAULT_TCP_MAX_PER_CLIENT;
    let addresses = DEFAULT_TCP_MAX_CONNECTIONS.div_ceil(per_address) + 1;
    let started = Instant::now();
    let mut held = Vec::new();
    for a in 0..addresses {
        for _ in 0..per_address {
            held.push(connect_from([127, 0, 30, 1 + a as u8], server.addr));
        }
    }
    let over = addresses * per_address - DEFAULT_TCP_MAX_CONNECTIONS;
    // The kernel completes connections before the server accepts them: wait until the
    // server has taken them all (and evicted the oldest), so that none asks first.
    let accepted = Instant::now() + Duration::from_secs(2);
    while server.metric("swivel_tcp_connections_evicted_total{cap=\"total\"}") < over as u64 {
        assert!(
            Instant::now() < accepted,
            "the server did not accept them all"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut served = 0;
    for (i, stream) in held.iter_mut().enumerate() {
        served += usize::from(asks_once(stream, i as u16));
    }
    assert_eq!(
        served, DEFAULT_TCP_MAX_CONNECTIONS,
        "the {over} oldest connections gave way before they asked"
    );
    let rss_full = server.rss_kib();
    let fds = server.open_fds();
    assert!(server.answers_normally(), "UDP answers while TCP is full");
    let newcomer = Instant::now();
    assert!(
        served_over_tcp([127, 0, 31, 1], server.addr),
        "a newcomer to a full server is refused"
    );
    assert!(newcomer.elapsed() < Duration::from_secs(1));
    assert!(
        started.elapsed() < pressure_timeout,
        "filling the server took {:?}: the test proves nothing",
        started.elapsed()
    );
    assert_eq!(
        server.metric("swivel_tcp_connections_evicted_total{cap=\"total\"}"),
        over as u64 + 1
    );
    assert!(
        fds < DEFAULT_TCP_MAX_CONNECTIONS + 64,
        "{fds} open file descriptors"
    );
    let grown_kib = rss_full.saturating_sub(rss_before);
    eprintln!(
        "{DEFAULT_TCP_MAX_CONNECTIONS} answered, held TCP connections: resident memory \
         {rss_before} KiB -> {rss_full} KiB, {fds} descriptors"
    );
    // Buffers grow with use and replies are built in a shared scratch buffer: a connection
    // that asked once costs about 12 KiB (its read buffer, its reply, the task).
    assert!(
        grown_kib < 24 * 1024,
        "{DEFAULT_TCP_MAX_CONNECTIONS} held connections cost {grown_kib} KiB"
    );

    // Under pressure idle connections close after the shorter timeout, until half are open.
    let half = DEFAULT_TCP_MAX_CONNECTIONS as u64 / 2;
    let deadline = started + pressure_timeout + SLACK + Duration::from_secs(3);
    loop {
        let open = server.metric("swivel_tcp_connections_open");
        if open <= half {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{open} connections still open {:?} after filling",
            started.elapsed()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(1));
    let open = server.metric("swivel_tcp_connections_open");
    assert!(
        open >= half / 2,
        "only {open} left open: the shorter timeout applies past the pressure too"
    );
    assert!(server.metric("swivel_tcp_connections_closed_under_pressure_total") >= half / 2);
    drop(held);
}
