//! ICMP checks: healthy when an echo reply comes back within the timeout (surge-ping).
//!
//! One ICMP socket per address family serves every check in the process. Its receiving
//! task lives on a small runtime of its own, so it outlives whichever runtime first asked
//! for it. [`check_privilege`] tells at start-up whether ICMP sockets can be opened at all.

use super::{CheckFailure, FailureKind};
use crate::config::pool::{CheckKind, PoolConfig};
use socket2::{Domain, Protocol, Socket, Type};
use std::io;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::OnceLock;
use std::time::Duration;
use surge_ping::{Client, Config, IcmpPacket, PingIdentifier, PingSequence, SurgeError, ICMP};
use tokio::runtime::Runtime;

/// Echo request payload: recognisable in a packet capture.
const PAYLOAD: &[u8] = b"swivel-healthcheck";
/// ICMPv4 echo reply type.
const ECHO_REPLY_V4: u8 = 0;
/// ICMPv6 echo reply type.
const ECHO_REPLY_V6: u8 = 129;

/// Checks that this process may open an ICMP socket, raw (needs CAP_NET_RAW) or the
/// unprivileged datagram kind (needs the process's group in `net.ipv4.ping_group_range`).
/// The error says which privilege is missing, fit to stop start-up with.
pub fn check_privilege() -> Result<(), String> {
    let datagram = match Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::ICMPV4)) {
        Ok(_) => return Ok(()),
        Err(error) => error,
    };
    match Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::ICMPV4)) {
        Ok(_) => Ok(()),
        Err(raw) => Err(privilege_message(&datagram, &raw)),
    }
}

fn privilege_message(datagram: &io::Error, raw: &io::Error) -> String {
    let range = std::fs::read_to_string("/proc/sys/net/ipv4/ping_group_range")
        .map(|text| text.split_whitespace().collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into());
    let group = current_group();
    format!(
        "ICMP checks cannot open an ICMP socket: raw sockets need CAP_NET_RAW ({raw}), and \
         unprivileged ping sockets need group {group} inside net.ipv4.ping_group_range \
         (now \"{range}\"; {datagram}); grant CAP_NET_RAW (setcap cap_net_raw+ep, or \
         AmbientCapabilities=CAP_NET_RAW under systemd) or widen the range with \
         sysctl net.ipv4.ping_group_range"
    )
}

/// Whether `pools` can be checked from here: an error saying what is missing when one of
/// them has ICMP checks and ICMP sockets cannot be opened.
pub fn privilege_for(pools: &[PoolConfig]) -> Result<(), String> {
    if pools.iter().any(|p| p.check.kind == CheckKind::Icmp) {
        check_privilege()
            .map_err(|e| format!("ICMP health checks are configured but cannot run: {e}"))?;
    }
    Ok(())
}

/// The effective group id, read from procfs (no `unsafe` outside `sys`).
fn current_group() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|line| line.starts_with("Gid:"))?;
            // Gid: real effective saved filesystem
            line.split_whitespace().nth(2)?.parse().ok()
        })
        .unwrap_or(u32::MAX)
}

/// Sends one echo request and waits for its reply; the caller bounds the time as well.
pub(super) async fn check(address: IpAddr, timeout: Duration) -> Result<(), CheckFailure> {
    static NEXT_SEQUENCE: AtomicU16 = AtomicU16::new(0);
    let client = client_for(address)?;
    let mut pinger = client.pinger(address, identifier()).await;
    pinger.timeout(timeout);
    // Replies are matched by address and sequence, so concurrent checks of one address
    // need distinct sequence numbers.
    let sequence = PingSequence(NEXT_SEQUENCE.fetch_add(1, Ordering::Relaxed));
    match pinger.ping(sequence, PAYLOAD).await {
        Ok((packet, _round_trip)) => describe_reply(&packet),
        Err(SurgeError::Timeout { .. }) => Err(CheckFailure::new(
            FailureKind::Timeout,
            format!("no echo reply within {}", super::describe_duration(timeout)),
        )),
        Err(SurgeError::IOError(error)) => Err(CheckFailure::new(
            FailureKind::Icmp,
            format!(
                "sending the echo request: {}",
                CheckFailure::from_io(&error).message
            ),
        )),
        Err(other) => Err(CheckFailure::new(FailureKind::Icmp, other.to_string())),
    }
}

/// An echo reply is healthy; an ICMP error about our request (unreachable, time exceeded)
/// is not.
fn describe_reply(packet: &IcmpPacket) -> Result<(), CheckFailure> {
    let (kind, code, echo_reply) = match packet {
        IcmpPacket::V4(packet) => (
            packet.get_icmp_type().0,
            packet.get_icmp_code().0,
            ECHO_REPLY_V4,
        ),
        IcmpPacket::V6(packet) => (
            packet.get_icmpv6_type().0,
            packet.get_icmpv6_code().0,
            ECHO_REPLY_V6,
        ),
    };
    if kind == echo_reply {
        return Ok(());
    }
    let what = match (packet, kind) {
        (IcmpPacket::V4(_), 3) | (IcmpPacket::V6(_), 1) => "destination unreachable",
        (IcmpPacket::V4(_), 11) | (IcmpPacket::V6(_), 3) => "time exceeded",
        _ => "unexpected ICMP message",
    };
    Err(CheckFailure::new(
        FailureKind::Icmp,
        format!("{what} (type {kind}, code {code})"),
    ))
}

/// The identifier raw sockets put in requests (datagram sockets get one from the kernel).
fn identifier() -> PingIdentifier {
    PingIdentifier(std::process::id() as u16)
}

fn client_for(address: IpAddr) -> Result<&'static Client, CheckFailure> {
    static V4: OnceLock<Result<Client, String>> = OnceLock::new();
    static V6: OnceLock<Result<Client, String>> = OnceLock::new();
    let (cell, kind) = match address {
        IpAddr::V4(_) => (&V4, ICMP::V4),
        IpAddr::V6(_) => (&V6, ICMP::V6),
    };
    cell.get_or_init(|| open_client(kind))
        .as_ref()
        .map_err(|message| CheckFailure::new(FailureKind::Icmp, message.clone()))
}

/// Opens the shared socket on the ICMP runtime: surge-ping tries the datagram kind first
/// and falls back to a raw socket.
fn open_client(kind: ICMP) -> Result<Client, String> {
    let _on_icmp_runtime = icmp_runtime().enter();
    Client::new(&Config::builder().kind(kind).build()).map_err(|error| match check_privilege() {
        Err(message) => message,
        Ok(()) => format!("cannot open an ICMP socket: {error}"),
    })
}

/// The runtime that owns the shared ICMP sockets and their receiving tasks; it lives as
/// long as the process.
fn icmp_runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("swivel-icmp")
            .enable_all()
            .build()
            .expect("starting the ICMP receive thread")
    })
}
