//! UDP serving: per listen address a group of worker threads, each pinned to a core with its
//! own SO_REUSEPORT socket, receiving, answering and replying a batch at a time.

use super::stats::QueryCounters;
use crate::engine::{self, Outcome, Transport};
use crate::rrl::{RateLimiter, RrlConfig, Verdict};
use crate::sys::{self, DatagramBatch};
use crate::table::SharedTable;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::io;
use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

/// Datagrams taken per `recvmmsg` and replies sent per `sendmmsg`. Chosen provisionally;
/// the performance work will measure it.
pub const BATCH_SIZE: usize = 64;
/// Largest query datagram accepted; a longer one is cut by the kernel and dropped.
pub const QUERY_BUF: usize = 4096;
/// SO_RCVBUF and SO_SNDBUF asked for on every UDP socket.
pub const SOCKET_BUFFER_BYTES: usize = 4 << 20;

/// The sockets of one listen address, all bound to the same address and port.
pub(super) struct UdpGroup {
    pub local_addr: SocketAddr,
    sockets: Vec<Socket>,
    /// Bound to a wildcard address: replies must name their source address.
    wildcard: bool,
}

/// Binds `count` (at least one) SO_REUSEPORT sockets to `addr`. When the port is 0, the first
/// socket picks it and the others bind to the same one.
pub(super) fn bind_group(addr: SocketAddr, count: usize) -> io::Result<UdpGroup> {
    let wildcard = addr.ip().is_unspecified();
    let first = bind_socket(addr, wildcard)?;
    let local_addr = first
        .local_addr()?
        .as_socket()
        .ok_or_else(|| io::Error::other("bound socket has no IP address"))?;
    report_buffer_sizes(&first, local_addr);
    let mut sockets = vec![first];
    for _ in 1..count.max(1) {
        sockets.push(bind_socket(local_addr, wildcard)?);
    }
    Ok(UdpGroup {
        local_addr,
        sockets,
        wildcard,
    })
}

fn bind_socket(addr: SocketAddr, wildcard: bool) -> io::Result<Socket> {
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    socket.set_reuse_port(true)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    if wildcard {
        sys::enable_packet_info(socket.as_fd(), addr.is_ipv6())?;
    }
    // Best effort: the kernel caps these at net.core.{r,w}mem_max; reported below.
    let _ = socket.set_recv_buffer_size(SOCKET_BUFFER_BYTES);
    let _ = socket.set_send_buffer_size(SOCKET_BUFFER_BYTES);
    socket.bind(&SockAddr::from(addr))?;
    Ok(socket)
}

/// Logs when the kernel granted smaller socket buffers than asked for.
fn report_buffer_sizes(socket: &Socket, local_addr: SocketAddr) {
    let granted = (socket.recv_buffer_size(), socket.send_buffer_size());
    if let (Ok(receive), Ok(send)) = granted {
        // Linux reports twice the usable size it grants; anything below the request means
        // it was capped.
        if receive < SOCKET_BUFFER_BYTES || send < SOCKET_BUFFER_BYTES {
            tracing::warn!(
                %local_addr,
                asked = SOCKET_BUFFER_BYTES,
                receive,
                send,
                "UDP socket buffers capped by the kernel (raise net.core.rmem_max / wmem_max)"
            );
        }
    }
}

/// Starts one worker thread per socket of `group`; worker `i` is pinned to
/// `cpus[i % cpus.len()]` (no pinning when `cpus` is empty).
pub(super) fn spawn_workers(
    group: UdpGroup,
    table: &SharedTable,
    cpus: &[usize],
    rrl: Option<&RrlConfig>,
) -> io::Result<()> {
    for (index, socket) in group.sockets.into_iter().enumerate() {
        let table = table.clone();
        let cpu = (!cpus.is_empty()).then(|| cpus[index % cpus.len()]);
        let wildcard = group.wildcard;
        let local_addr = group.local_addr;
        let counters = QueryCounters::register(Transport::Udp);
        let rrl = rrl.cloned();
        std::thread::Builder::new().name(format!("udp-{index}-{local_addr}")).spawn(move || {
            if let Some(cpu) = cpu {
                if let Err(error) = sys::pin_current_thread(cpu) {
                    tracing::warn!(%local_addr, cpu, %error, "cannot pin UDP worker to its core");
                }
            }
            run_worker(&socket, &table, wildcard, &counters, rrl.as_ref());
        })?;
    }
    Ok(())
}

/// Serves forever: receive a batch, answer it against one table snapshot, send the replies.
/// Every outcome is counted in the worker's own `counters`.
fn run_worker(
    socket: &Socket,
    table: &SharedTable,
    wildcard: bool,
    counters: &QueryCounters,
    rrl: Option<&RrlConfig>,
) {
    let mut batch = DatagramBatch::new(BATCH_SIZE, QUERY_BUF, engine::UDP_REPLY_BUF, wildcard);
    let mut limiter = rrl.map(RateLimiter::new);
    let started = Instant::now();
    // Steps once per query: picks among the variants of pool answers (rotation, weights).
    let mut spin: u32 = 0;
    loop {
        let count = match batch.receive(socket.as_fd()) {
            Ok(count) => count,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => {
                tracing::error!(%error, "UDP receive failed");
                // Do not spin on a persistent error.
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        let snapshot = table.load();
        // One clock read per batch (vDSO, no syscall) serves the rate limiter.
        let now_ms = started.elapsed().as_millis() as u64;
        for slot in 0..count {
            let peer = limiter.as_ref().and_then(|_| batch.peer(slot));
            let Some((query, reply)) = batch.query_and_reply_buffer(slot) else {
                counters.count_oversized();
                continue;
            };
            spin = spin.wrapping_add(1);
            let outcome = engine::answer(query, &snapshot, Transport::Udp, spin, reply);
            let Outcome::Reply { len, answer, .. } = outcome else {
                counters.count(&outcome);
                continue;
            };
            let verdict = match (&mut limiter, peer) {
                (Some(limiter), Some(peer)) => limiter.check(peer, answer, now_ms),
                _ => Verdict::Send,
            };
            let len = match verdict {
                Verdict::Send => len,
                Verdict::Drop => {
                    counters.count_rate_limited();
                    continue;
                }
                Verdict::Slip => {
                    counters.count_slipped();
                    engine::slip(reply, len)
                }
            };
            counters.count(&outcome);
            batch.set_reply_len(slot, len);
        }
        drop(snapshot);
        let report = batch.send(socket.as_fd());
        if let Some(error) = report.last_error {
            tracing::debug!(failed = report.failed, sent = report.sent, %error, "UDP replies not sent");
        }
    }
}
