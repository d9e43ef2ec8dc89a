//! Malformed packets against the running server (`swivel serve` as a child process), over
//! UDP on loopback: each broken form gets no reply or a well-formed one that echoes the ID
//! with the fitting rcode; a packet with QR set is never answered; thousands of random and
//! mutated packets from a fixed seed change nothing; afterwards the server answers normally
//! and its resident memory has not grown.

use crate::hostile::packets::{
    a_record, header, hostile_packets, opt, packet, question, www, QUERY_BUF,
};
use crate::hostile::{build_query, Random, ServerProcess, HEADER_LEN, TYPE_A};
use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;
use swivel::engine::Transport;
use swivel::fuzzing::check_received_reply;

const NOERROR: u16 = 0;
const FORMERR: u16 = 1;
const NOTIMP: u16 = 4;
const REFUSED: u16 = 5;
const BADVERS: u16 = 16;
/// Largest UDP payload over IPv4.
const MAX_DATAGRAM: usize = 65507;

/// A UDP client that tells "no reply" from a reply without waiting out a timeout: after
/// each packet it sends a probe query on the same socket, which the server (one worker, in
/// order) answers after it; whatever arrives before the probe's answer is the packet's.
struct Client {
    socket: UdpSocket,
    server: SocketAddr,
}

impl Client {
    fn new(server: SocketAddr) -> Client {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        Client { socket, server }
    }

    /// The reply to `packet`, if any.
    fn exchange(&self, packet: &[u8]) -> Option<Vec<u8>> {
        let probe_id = match packet {
            [0x7e, 0x7e, ..] => 0x7e7f,
            _ => 0x7e7e,
        };
        let probe = build_query(probe_id, "probe.example.test", TYPE_A);
        self.socket.send_to(packet, self.server).unwrap();
        self.socket.send_to(&probe, self.server).unwrap();
        let mut buf = vec![0u8; 65535];
        let mut reply = None;
        loop {
            let len = self.socket.recv(&mut buf).expect("the probe is answered");
            let is_probe = len >= probe.len() && buf[..2] == probe[..2];
            if is_probe && buf[HEADER_LEN..probe.len()] == probe[HEADER_LEN..] {
                return reply;
            }
            assert!(reply.is_none(), "two replies to one packet");
            reply = Some(buf[..len].to_vec());
        }
    }
}

/// The full rcode of a reply (extended through OPT).
fn rcode_of(reply: &[u8]) -> u16 {
    domain::base::Message::from_octets(reply)
        .expect("a reply has a header")
        .opt_rcode()
        .to_int()
}

/// Sends `packet` and checks that it gets a well-formed reply with `expected` rcode.
fn expect_rcode(client: &Client, case: &str, packet: &[u8], expected: u16) {
    let reply = client
        .exchange(packet)
        .unwrap_or_else(|| panic!("{case}: no reply, expected rcode {expected}"));
    check_received_reply(packet, Transport::Udp, &reply);
    assert_eq!(rcode_of(&reply), expected, "{case}: rcode");
}

fn expect_silence(client: &Client, case: &str, packet: &[u8]) {
    if let Some(reply) = client.exchange(packet) {
        panic!("{case}: expected no reply, got {reply:?}");
    }
}

#[test]
fn each_malformed_form_gets_no_reply_or_its_fitting_rcode() {
    let server = ServerProcess::start("workers = 1");
    let client = Client::new(server.addr);
    let query = packet(&[&header(0, 1, 0, 0, 0), &www()]);

    for (case, short) in [
        ("empty", &[][..]),
        ("one byte", &[0x42]),
        ("11 bytes", &query[..11]),
    ] {
        expect_silence(&client, case, short);
    }
    let with_qr = packet(&[&header(0x8000, 1, 0, 0, 0), &www()]);
    expect_silence(&client, "QR set", &with_qr);
    expect_silence(&client, "QR set, header only", &header(0x8000, 0, 0, 0, 0));
    expect_silence(
        &client,
        "QR set, garbage",
        &[&with_qr[..4], &[0xff; 40]].concat(),
    );

    let formerr: Vec<(&str, Vec<u8>)> = vec![
        ("header alone", header(0, 1, 0, 0, 0)),
        ("QDCOUNT 0", header(0, 0, 0, 0, 0)),
        (
            "QDCOUNT 0 with OPT",
            packet(&[&header(0, 0, 0, 0, 1), &opt(0, &[])]),
        ),
        (
            "QDCOUNT 2",
            packet(&[&header(0, 2, 0, 0, 0), &www(), &www()]),
        ),
        (
            "QDCOUNT 65535",
            packet(&[&header(0, 65535, 0, 0, 0), &www()]),
        ),
        ("question cut in the name", query[..20].to_vec()),
        (
            "question cut in the type",
            query[..query.len() - 3].to_vec(),
        ),
        (
            "name not terminated",
            packet(&[&header(0, 1, 0, 0, 0), b"\x03www\x07example"]),
        ),
        (
            "label of 64 bytes",
            packet(&[&header(0, 1, 0, 0, 0), &[64], &[b'a'; 64], &[0, 0, 1, 0, 1]]),
        ),
        ("name of 256 bytes", {
            let mut name = Vec::new();
            for _ in 0..4 {
                name.push(63);
                name.extend_from_slice(&[b'a'; 63]);
            }
            name.extend_from_slice(&[0, 0, 1, 0, 1]);
            packet(&[&header(0, 1, 0, 0, 0), &name])
        }),
        (
            "pointer loop in the question",
            packet(&[&header(0, 1, 0, 0, 0), b"\xc0\x0c\x00\x01\x00\x01"]),
        ),
        (
            "forward pointer in the question",
            packet(&[
                &header(0, 1, 0, 0, 0),
                b"\xc0\x12\x00\x01\x00\x01\x03www\x00",
            ]),
        ),
        (
            "label type 0x40",
            packet(&[&header(0, 1, 0, 0, 0), b"\x41abc\x00\x00\x01\x00\x01"]),
        ),
        (
            "label type 0x80",
            packet(&[&header(0, 1, 0, 0, 0), b"\x81abc\x00\x00\x01\x00\x01"]),
        ),
        (
            "reserved label type in an additional owner",
            packet(&[&header(0, 1, 0, 0, 1), &www(), &a_record(b"\x41a\x00")]),
        ),
        (
            "OPT with a broken option",
            packet(&[
                &header(0, 1, 0, 0, 1),
                &www(),
                &opt(0, &[0, 10, 0, 9, 1, 2]),
            ]),
        ),
        (
            "two OPT records",
            packet(&[&header(0, 1, 0, 0, 2), &www(), &opt(0, &[]), &opt(0, &[])]),
        ),
        (
            "OPT owned by a non-root name",
            packet(&[
                &header(0, 1, 0, 0, 1),
                &www(),
                b"\x01x\x00",
                &opt(0, &[])[1..],
            ]),
        ),
        (
            "OPT in the answer section",
            packet(&[&header(0, 1, 1, 0, 0), &www(), &opt(0, &[])]),
        ),
        (
            "OPT cut short",
            packet(&[&header(0, 1, 0, 0, 1), &www(), &opt(0, &[])[..7]]),
        ),
        (
            "ARCOUNT beyond the records",
            packet(&[&header(0, 1, 0, 0, 3), &www(), &opt(0, &[])]),
        ),
        ("trailing bytes", packet(&[&query, &[0, 0, 0]])),
    ];
    for (case, bytes) in &formerr {
        expect_rcode(&client, case, bytes, FORMERR);
    }

    for opcode in 1..16u16 {
        let bytes = packet(&[&header(opcode << 11, 1, 0, 0, 0), &www()]);
        expect_rcode(&client, &format!("opcode {opcode}"), &bytes, NOTIMP);
        // Header only (QDCOUNT 0), or two questions: still NOTIMP, the opcode comes first.
        let bare = header(opcode << 11, 0, 0, 0, 0);
        expect_rcode(
            &client,
            &format!("opcode {opcode}, no question"),
            &bare,
            NOTIMP,
        );
        let two = packet(&[&header(opcode << 11, 2, 0, 0, 0), &www(), &www()]);
        expect_rcode(
            &client,
            &format!("opcode {opcode}, two questions"),
            &two,
            NOTIMP,
        );
    }
    for (class, name) in [
        (3, "CH"),
        (4, "HS"),
        (254, "NONE"),
        (0, "0"),
        (65535, "65535"),
    ] {
        let bytes = packet(&[
            &header(0, 1, 0, 0, 0),
            &question("www.example.test", 1, class),
        ]);
        expect_rcode(&client, &format!("class {name}"), &bytes, REFUSED);
    }
    let chaos = packet(&[&header(0, 1, 0, 0, 0), &question("version.bind", 16, 3)]);
    expect_rcode(&client, "version.bind CH TXT", &chaos, REFUSED);
    let any_class = packet(&[
        &header(0, 1, 0, 0, 0),
        &question("www.example.test", 1, 255),
    ]);
    expect_rcode(&client, "class ANY (answered as IN)", &any_class, NOERROR);
    let apex = |qtype| packet(&[&header(0, 1, 0, 0, 0), &question("example.test", qtype, 1)]);
    expect_rcode(&client, "qtype 0", &apex(0), NOTIMP);
    expect_rcode(&client, "AXFR over UDP", &apex(252), NOTIMP);
    expect_rcode(&client, "IXFR over UDP", &apex(251), REFUSED);
    let foreign = packet(&[&header(0, 1, 0, 0, 0), &question("www.example.org", 1, 1)]);
    expect_rcode(&client, "name in no zone", &foreign, REFUSED);
    let version1 = packet(&[&header(0, 1, 0, 0, 1), &www(), &opt(1, &[])]);
    expect_rcode(&client, "EDNS version 1", &version1, BADVERS);
    let pointer_back = packet(&[&header(0, 1, 0, 0, 1), &www(), &a_record(b"\xc0\x0c")]);
    expect_rcode(
        &client,
        "additional owner pointing back to the question",
        &pointer_back,
        NOERROR,
    );

    // Oversized: a query padded to the receive buffer is answered, one byte more is not.
    let padded = |total: usize| {
        let base = packet(&[&header(0, 1, 0, 0, 1), &www()]);
        let padding = total - base.len() - 11 - 4;
        let mut option = vec![0, 12];
        option.extend_from_slice(&(padding as u16).to_be_bytes());
        option.resize(4 + padding, 0);
        packet(&[&base, &opt(0, &option)])
    };
    expect_rcode(
        &client,
        "query of QUERY_BUF bytes",
        &padded(QUERY_BUF),
        NOERROR,
    );
    expect_silence(
        &client,
        "query one byte over QUERY_BUF",
        &padded(QUERY_BUF + 1),
    );
    expect_silence(&client, "query of 65507 bytes", &padded(MAX_DATAGRAM));
    expect_silence(&client, "garbage of 65507 bytes", &[0x42; MAX_DATAGRAM]);

    assert!(server.answers_normally(), "log:\n{}", server.log());
}

/// Compression pointers in records after the question must point backwards: a pointer to
/// itself (a loop) or forwards is malformed, as knotd also answers. (The parser used to skip
/// these names unchecked, answering NOERROR; fixed in 123def0.)
#[test]
fn compression_pointer_loops_and_forward_pointers_get_formerr() {
    let server = ServerProcess::start("workers = 1");
    let client = Client::new(server.addr);
    let query_end = HEADER_LEN + www().len();
    let to_itself = [0xc0, query_end as u8];
    let cases: [(&str, Vec<u8>); 2] = [
        (
            "additional owner pointing to itself",
            packet(&[&header(0, 1, 0, 0, 1), &www(), &a_record(&to_itself)]),
        ),
        (
            "additional owner pointing forwards",
            packet(&[&header(0, 1, 0, 0, 1), &www(), &a_record(b"\xc0\xff")]),
        ),
    ];
    for (case, bytes) in &cases {
        expect_rcode(&client, case, bytes, FORMERR);
    }
    assert!(server.answers_normally());
}

/// Whether the engine must answer `packet` (the only packets dropped are those shorter
/// than a header, those with QR set, and datagrams too long for the receive buffer).
fn must_answer(packet: &[u8]) -> bool {
    packet.len() >= HEADER_LEN && packet[2] & 0x80 == 0 && packet.len() <= QUERY_BUF
}

/// Sends `packets` in windows and checks every reply; returns how many were answered.
fn send_and_check(server: SocketAddr, packets: &[Vec<u8>]) -> usize {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut buf = vec![0u8; 65535];
    let mut answered = 0;
    for window in packets.chunks(64) {
        let mut expected: HashMap<u16, &Vec<u8>> = HashMap::new();
        for packet in window {
            socket.send_to(packet, server).unwrap();
            if must_answer(packet) {
                expected.insert(u16::from_be_bytes([packet[0], packet[1]]), packet);
            }
        }
        while !expected.is_empty() {
            let len = socket
                .recv(&mut buf)
                .unwrap_or_else(|e| panic!("{} replies missing: {e}", expected.len()));
            let reply = &buf[..len];
            assert!(len >= 2, "reply shorter than an ID");
            let id = u16::from_be_bytes([reply[0], reply[1]]);
            let query = expected.remove(&id).unwrap_or_else(|| {
                panic!("reply to a packet that must not be answered (or twice): ID {id}")
            });
            check_received_reply(query, Transport::Udp, reply);
            answered += 1;
        }
    }
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    if let Ok(len) = socket.recv(&mut buf) {
        panic!("an extra reply arrived: {:?}", &buf[..len.min(32)]);
    }
    answered
}

#[test]
fn random_and_mutated_packets_change_nothing_and_leak_no_memory() {
    let server = ServerProcess::start("workers = 2");
    let mut random = Random::new(0x5eed_1234_abcd);
    // Warm-up from several client sockets (so both workers get traffic): every buffer is
    // touched before memory is measured.
    for part in 0..6u16 {
        let warm_up = hostile_packets(&mut random, 500, part * 500);
        assert!(send_and_check(server.addr, &warm_up) > 200);
    }
    assert!(server.answers_normally());

    // Two equal rounds: a leak grows memory in both, a one-time allocation (a lazily
    // touched buffer, a transparent huge page) in one at most.
    let mut rss = vec![server.rss_kib()];
    let mut answered = 0;
    for round in 0..2u16 {
        for part in 0..2u16 {
            let first_id = (round * 2 + part).wrapping_mul(10_000);
            let batch = hostile_packets(&mut random, 10_000, first_id);
            answered += send_and_check(server.addr, &batch);
        }
        rss.push(server.rss_kib());
    }
    assert!(answered > 25_000, "only {answered} of 40000 answered");
    assert!(server.answers_normally(), "log:\n{}", server.log());
    eprintln!(
        "swivel resident memory (KiB) after warm-up and each round of 20000 packets: {rss:?}"
    );
    let least_growth = (rss[1].saturating_sub(rss[0])).min(rss[2].saturating_sub(rss[1]));
    // A leak of 32 bytes per packet would be 625 KiB per round.
    assert!(
        least_growth <= 512,
        "resident memory grew in both rounds of 20000 packets: {rss:?} KiB"
    );
}
