//! UDP serving: per listen address a group of worker threads, each pinned to a core with its
//! own SO_REUSEPORT socket, receiving, answering and replying a batch at a time through
//! either I/O backend (see [`super::backend`]).

use super::backend::{self, DatagramIo, IoBackend, MmsgSocket};
use super::notify::NotifyInbox;
use super::stats::QueryCounters;
use crate::config::{RrlConfig, UdpOptions};
use crate::engine::{self, Outcome, Transport};
use crate::rrl::{RateLimiter, Verdict};
use crate::sys::{self, DatagramBatch, UringSocket};
use crate::table::{Client, SharedTable, Table};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Largest query datagram accepted; a longer one is cut by the kernel and dropped.
pub const QUERY_BUF: usize = 4096;

/// The sockets of one listen address, all bound to the same address and port.
pub(super) struct UdpGroup {
    pub local_addr: SocketAddr,
    sockets: Vec<Socket>,
    /// Bound to a wildcard address: replies must name their source address.
    wildcard: bool,
}

/// Binds `count` (at least one) SO_REUSEPORT sockets to `addr`. When the port is 0, the first
/// socket picks it and the others bind to the same one.
pub(super) fn bind_group(
    addr: SocketAddr,
    count: usize,
    options: &UdpOptions,
) -> io::Result<UdpGroup> {
    let wildcard = addr.ip().is_unspecified();
    let first = bind_socket(addr, wildcard, options)?;
    let local_addr = first
        .local_addr()?
        .as_socket()
        .ok_or_else(|| io::Error::other("bound socket has no IP address"))?;
    report_buffer_sizes(&first, local_addr, options.socket_buffer);
    let mut sockets = vec![first];
    for _ in 1..count.max(1) {
        sockets.push(bind_socket(local_addr, wildcard, options)?);
    }
    if options.cpu_steering && sockets.len() > 1 {
        sys::steer_reuseport_group_by_cpu(sockets[0].as_fd(), sockets.len())
            .map_err(|error| io::Error::new(error.kind(), format!("cpu_steering: {error}")))?;
    }
    Ok(UdpGroup {
        local_addr,
        sockets,
        wildcard,
    })
}

fn bind_socket(addr: SocketAddr, wildcard: bool, options: &UdpOptions) -> io::Result<Socket> {
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    socket.set_reuse_port(true)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    if wildcard {
        sys::enable_packet_info(socket.as_fd(), addr.is_ipv6())?;
    }
    if options.busy_poll_us > 0 {
        sys::set_busy_poll(socket.as_fd(), options.busy_poll_us)
            .map_err(|error| io::Error::new(error.kind(), format!("busy_poll: {error}")))?;
    }
    // Best effort: the kernel caps these at net.core.{r,w}mem_max; reported below.
    let _ = socket.set_recv_buffer_size(options.socket_buffer);
    let _ = socket.set_send_buffer_size(options.socket_buffer);
    socket.bind(&SockAddr::from(addr))?;
    Ok(socket)
}

/// Logs when the kernel granted smaller socket buffers than asked for.
fn report_buffer_sizes(socket: &Socket, local_addr: SocketAddr, asked: usize) {
    let granted = (socket.recv_buffer_size(), socket.send_buffer_size());
    if let (Ok(receive), Ok(send)) = granted {
        // Linux reports twice the usable size it grants; anything below the request means
        // it was capped.
        if receive < asked || send < asked {
            tracing::warn!(
                %local_addr,
                asked,
                receive,
                send,
                "UDP socket buffers capped by the kernel (raise net.core.rmem_max / wmem_max)"
            );
        }
    }
}

/// Worker threads that have set up their I/O and wait for the word to serve. Dropping
/// this without [`ReadyWorkers::serve`] ends them and joins them.
pub(super) struct ReadyWorkers {
    go: Vec<mpsc::Sender<bool>>,
    workers: RunningWorkers,
}

impl ReadyWorkers {
    pub fn serve(mut self) -> RunningWorkers {
        for go in self.go.drain(..) {
            let _ = go.send(true);
        }
        std::mem::take(&mut self.workers)
    }
}

impl Drop for ReadyWorkers {
    fn drop(&mut self) {
        // A worker told nothing ends without serving; `workers` then joins it.
        self.go.clear();
    }
}

/// The serving worker threads of one listen address; dropping this stops and joins them.
#[derive(Default)]
pub(super) struct RunningWorkers {
    /// Read once per received batch: a worker that sees it set returns.
    stop: Arc<AtomicBool>,
    wakers: Vec<Waker>,
    threads: Vec<JoinHandle<()>>,
}

impl RunningWorkers {
    /// Sets the stop flag, wakes every worker blocked in its receive, and waits for every
    /// thread to end.
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for waker in &self.wakers {
            waker.wake();
        }
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
        self.wakers.clear();
    }
}

impl Drop for RunningWorkers {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Ends the wait of one worker blocked in its receive, so that it reads the stop flag. The
/// query path pays nothing for it: no extra system call, one flag read per batch.
enum Waker {
    /// `recvmmsg`: a second descriptor of the worker's socket. Shutting it down for reading
    /// (which Linux allows on an unconnected UDP socket, answering ENOTCONN while still
    /// doing it) ends a blocked receive, and makes every later one return at once.
    Socket(Socket),
    /// io_uring: the eventfd the worker's ring polls.
    EventFd(sys::EventFd),
}

impl Waker {
    fn wake(&self) {
        let result = match self {
            Waker::Socket(socket) => match socket.shutdown(std::net::Shutdown::Read) {
                Err(error) if error.raw_os_error() == Some(libc::ENOTCONN) => Ok(()),
                other => other,
            },
            Waker::EventFd(event) => event.signal(),
        };
        if let Err(error) = result {
            tracing::warn!(%error, "cannot wake a UDP worker to stop it");
        }
    }
}

/// Starts one worker thread per socket of `group`; worker `i` is pinned to
/// `cpus[i % cpus.len()]` (no pinning when `cpus` is empty). Returns once every worker has
/// set up its backend, or the first set-up error (the workers then end).
pub(super) fn spawn_workers(
    group: UdpGroup,
    table: &SharedTable,
    cpus: &[usize],
    rrl: Option<&RrlConfig>,
    notify: Option<&NotifyInbox>,
    io: IoBackend,
    options: &UdpOptions,
) -> io::Result<ReadyWorkers> {
    let (ready_tx, ready_rx) = mpsc::channel::<io::Result<Waker>>();
    let mut ready = ReadyWorkers {
        go: Vec::new(),
        workers: RunningWorkers::default(),
    };
    let stop = ready.workers.stop.clone();
    for (index, socket) in group.sockets.into_iter().enumerate() {
        let table = table.clone();
        let cpu = (!cpus.is_empty()).then(|| cpus[index % cpus.len()]);
        let local_addr = group.local_addr;
        let worker = Worker {
            wildcard: group.wildcard,
            batch: options.batch.max(1),
            counters: QueryCounters::register(Transport::Udp),
            rrl: rrl.cloned(),
            notify: notify.cloned(),
            fallback_allowed: options.io == crate::config::IoChoice::Auto,
            stop: stop.clone(),
        };
        let ready_tx = ready_tx.clone();
        let (go_tx, go_rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name(format!("udp-{index}-{local_addr}"))
            .spawn(move || {
                if let Some(cpu) = cpu {
                    if let Err(error) = sys::pin_current_thread(cpu) {
                        tracing::warn!(%local_addr, cpu, %error, "cannot pin UDP worker to its core");
                    }
                }
                worker.start(socket, io, &table, ready_tx, go_rx);
            })?;
        ready.go.push(go_tx);
        ready.workers.threads.push(thread);
    }
    drop(ready_tx);
    for _ in 0..ready.go.len() {
        match ready_rx.recv() {
            Ok(Ok(waker)) => ready.workers.wakers.push(waker),
            Ok(Err(error)) => return Err(error),
            Err(_) => return Err(io::Error::other("a UDP worker ended while starting")),
        }
    }
    Ok(ready)
}

/// What a worker thread needs besides its socket.
struct Worker {
    wildcard: bool,
    batch: usize,
    counters: std::sync::Arc<QueryCounters>,
    rrl: Option<RrlConfig>,
    /// Where NOTIFY from primaries goes, when there are secondary zones.
    notify: Option<NotifyInbox>,
    /// `io = "auto"`: a worker whose io_uring cannot start uses `recvmmsg` instead.
    fallback_allowed: bool,
    /// Set when the server stops; read after every receive.
    stop: Arc<AtomicBool>,
}

impl Worker {
    /// Sets up the backend in this thread (an io_uring belongs to the thread that made it),
    /// reports the outcome with the worker's [`Waker`], waits for the word and serves.
    fn start(
        self,
        socket: Socket,
        io: IoBackend,
        table: &SharedTable,
        ready: mpsc::Sender<io::Result<Waker>>,
        go: mpsc::Receiver<bool>,
    ) {
        let uring = match io {
            IoBackend::Mmsg => None,
            IoBackend::Uring => Some(self.open_uring(&socket)),
        };
        match uring {
            Some(Ok(mut uring)) => {
                drop(socket);
                let waker = uring.waker().map(Waker::EventFd);
                let wakeable = waker.is_ok();
                if ready.send(waker).is_ok() && wakeable && go.recv() == Ok(true) {
                    self.serve(&mut uring, table);
                }
            }
            Some(Err(error)) if !self.fallback_allowed => {
                let _ = ready.send(Err(error));
            }
            fallback => {
                if let Some(Err(error)) = fallback {
                    tracing::warn!(%error, "io_uring cannot start; this UDP worker uses recvmmsg");
                }
                let batch =
                    DatagramBatch::new(self.batch, QUERY_BUF, engine::UDP_REPLY_BUF, self.wildcard);
                let waker = socket.try_clone().map(Waker::Socket);
                let wakeable = waker.is_ok();
                let mut mmsg = MmsgSocket { socket, batch };
                if ready.send(waker).is_ok() && wakeable && go.recv() == Ok(true) {
                    self.serve(&mut mmsg, table);
                }
            }
        }
    }

    fn open_uring(&self, socket: &Socket) -> io::Result<UringSocket> {
        let options = backend::uring_options(self.batch, self.wildcard);
        UringSocket::new(socket.try_clone()?.into(), options).map_err(|error| {
            io::Error::new(
                error.kind(),
                format!("[server] io = \"uring\": cannot set up io_uring: {error}"),
            )
        })
    }

    /// Serves until the stop flag is set: receive a batch, answer it against one table
    /// snapshot, send the replies. Every outcome is counted in the worker's own counters.
    fn serve<Io: DatagramIo>(&self, io: &mut Io, table: &SharedTable) {
        let mut limiter = self.rrl.as_ref().map(RateLimiter::new);
        let started = Instant::now();
        // Steps once per query: picks among the variants of pool answers (rotation, weights).
        let mut spin: u32 = 0;
        loop {
            let received = io.receive();
            // The server's stop wakes a blocked receive (see `Waker`); one relaxed load per
            // batch is all the query path pays for it.
            if self.stop.load(Ordering::Relaxed) {
                return;
            }
            let count = match received {
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
            let routed = snapshot.is_routed();
            // One clock read per batch (vDSO, no syscall) serves the rate limiter.
            let now_ms = started.elapsed().as_millis() as u64;
            for slot in 0..count {
                if let Some(len) = self
                    .notify
                    .as_ref()
                    .and_then(|inbox| take_notify(inbox, io, slot))
                {
                    io.set_reply_len(slot, len);
                    continue;
                }
                // The sender's address only when rate limiting or routing needs it.
                let peer = (limiter.is_some() || routed)
                    .then(|| io.peer(slot))
                    .flatten();
                let Some((query, reply)) = io.query_and_reply_buffer(slot) else {
                    self.counters.count_oversized();
                    continue;
                };
                spin = spin.wrapping_add(1);
                let datagram = Datagram {
                    query,
                    peer,
                    spin,
                    now_ms,
                };
                let answer =
                    answer_datagram(datagram, reply, &snapshot, &mut limiter, &self.counters);
                if let Some(len) = answer {
                    io.set_reply_len(slot, len);
                }
            }
            drop(snapshot);
            let report = io.send();
            if let Some(error) = report.last_error {
                tracing::debug!(failed = report.failed, sent = report.sent, %error, "UDP replies not sent");
            }
        }
    }
}

/// Answers datagram `slot` when it is a NOTIFY (see [`NotifyInbox::take`]); the sender's
/// address is read only then.
fn take_notify<Io: DatagramIo>(inbox: &NotifyInbox, io: &mut Io, slot: usize) -> Option<usize> {
    let (query, _) = io.query_and_reply_buffer(slot)?;
    if query.get(2).is_none_or(|b| b & 0xf8 != 0x20) {
        return None;
    }
    let peer = io.peer(slot);
    let (query, reply) = io.query_and_reply_buffer(slot)?;
    inbox.take(query, peer, reply)
}

/// One received query and what the batch knows about it.
struct Datagram<'a> {
    query: &'a [u8],
    /// The sender's address, when rate limiting or routing needs it.
    peer: Option<IpAddr>,
    /// The worker's per-query counter (see [`engine::answer`]).
    spin: u32,
    /// The batch's clock reading for the rate limiter.
    now_ms: u64,
}

/// Answers one datagram into `reply` and applies rate limiting; returns the length of the
/// reply to send, or `None` when nothing goes back. Counts the outcome.
#[inline]
fn answer_datagram(
    datagram: Datagram<'_>,
    reply: &mut [u8],
    table: &Table,
    limiter: &mut Option<RateLimiter>,
    counters: &QueryCounters,
) -> Option<usize> {
    let source = datagram.peer.map_or(Client::Unknown, Client::from_ip);
    let outcome = engine::answer(
        datagram.query,
        table,
        Transport::Udp,
        datagram.spin,
        source,
        reply,
    );
    let Outcome::Reply { len, answer, .. } = outcome else {
        counters.count(&outcome);
        return None;
    };
    let verdict = match (limiter, datagram.peer) {
        (Some(limiter), Some(peer)) => limiter.check(peer, answer, datagram.now_ms),
        _ => Verdict::Send,
    };
    let len = match verdict {
        Verdict::Send => len,
        Verdict::Drop => {
            counters.count_rate_limited();
            return None;
        }
        Verdict::Slip => {
            counters.count_slipped();
            engine::slip(reply, len)
        }
    };
    counters.count(&outcome);
    Some(len)
}
