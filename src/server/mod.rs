//! Serving: per-core UDP workers with batched receive and send, and TCP listeners.
//!
//! Every listen address gets UDP (see [`udp`]) and TCP (see [`tcp`]) on the same port.
//! Everything is bound, and every UDP worker has set up its I/O, before anything serves, so
//! a failed bind or a refused io_uring leaves nothing running. A listen address with port 0
//! gets a port chosen by the kernel, the same for UDP and TCP, and logged.
//!
//! [`Server::shutdown`] (or dropping the [`Server`]) stops the UDP workers and joins their
//! threads, and stops the TCP accept loops with every connection they opened.

mod backend;
pub mod notify;
pub mod stats;
mod tcp;
pub mod tcp_slots;
mod transfer;
mod udp;

/// The UDP worker settings, as the configuration defines them.
pub use crate::config::{IoChoice, UdpOptions};
pub use backend::{IoBackend, PREFERRED, URING_BUFFERS};
/// The TCP framing, for the fuzz targets.
pub(crate) use tcp::{frame_reply, read_message};
pub use transfer::SharedOffered;
pub use udp::QUERY_BUF;

use crate::table::SharedTable;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

/// What the server needs from the configuration.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Every address serves UDP and TCP.
    pub listen: Vec<SocketAddr>,
    /// UDP workers per listen address; 0 means one per CPU core.
    pub workers: usize,
    /// A TCP connection with no complete query for this long is closed.
    pub tcp_idle_timeout: Duration,
    /// Open TCP connections at most, over all listeners.
    pub tcp_max_connections: usize,
    /// Open TCP connections at most from one client address.
    pub tcp_max_per_client: usize,
    /// Response rate limiting of UDP replies, when on (see [`crate::rrl`]).
    pub rrl: Option<crate::config::RrlConfig>,
    /// I/O backend, batch size, socket buffers, pinning and steering of the UDP workers.
    pub udp: UdpOptions,
}

impl Settings {
    /// The settings of `[server]`.
    pub fn from_config(server: &crate::config::ServerConfig) -> Settings {
        Settings {
            listen: server.listen.clone(),
            workers: server.workers,
            tcp_idle_timeout: server.tcp_idle_timeout,
            tcp_max_connections: server.tcp_max_connections,
            tcp_max_per_client: server.tcp_max_per_client,
            rrl: server.rrl.clone(),
            udp: server.udp.clone(),
        }
    }
}

/// Running listeners; [`Server::shutdown`] or dropping it stops them.
pub struct Server {
    /// The bound addresses (with the real port when 0 was asked for), one per listen entry.
    pub local_addrs: Vec<SocketAddr>,
    /// The I/O backend the UDP workers were started with.
    pub udp_io: IoBackend,
    udp_workers: Vec<udp::RunningWorkers>,
    /// The TCP accept loops; aborting one drops its listener and its connections.
    tcp_loops: Vec<tokio::task::JoinHandle<()>>,
}

impl Server {
    /// Stops serving: every UDP worker sees the stop flag at its next wake-up (each is
    /// woken at once) and its thread is joined before this returns; the TCP accept loops
    /// and their connections are cancelled on the runtime.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        for accept_loop in self.tcp_loops.drain(..) {
            accept_loop.abort();
        }
        for workers in &mut self.udp_workers {
            workers.stop();
        }
        self.udp_workers.clear();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// How often a listen address with port 0 is retried when the port the kernel picked for
/// UDP is taken for TCP.
const EPHEMERAL_PORT_ATTEMPTS: usize = 16;

/// Binds every listen address and starts the UDP worker threads and TCP accept loops (on
/// `runtime`). Errors if any address cannot be bound.
pub fn start(
    settings: &Settings,
    table: SharedTable,
    runtime: &tokio::runtime::Handle,
) -> std::io::Result<Server> {
    start_with_notify(settings, table, runtime, None)
}

/// [`start`], with the UDP workers answering NOTIFY and handing primaries' notices to
/// `notify` (see [`notify`]); without it NOTIFY is answered NOTIMP like any other opcode.
pub fn start_with_notify(
    settings: &Settings,
    table: SharedTable,
    runtime: &tokio::runtime::Handle,
    notify: Option<notify::NotifyInbox>,
) -> std::io::Result<Server> {
    start_full(settings, table, runtime, notify, None)
}

/// [`start_with_notify`], with the TCP side answering AXFR, IXFR and signed SOA queries
/// for the zones in `transfers` (see [`transfer`]); without it transfers are refused.
pub fn start_full(
    settings: &Settings,
    table: SharedTable,
    runtime: &tokio::runtime::Handle,
    notify: Option<notify::NotifyInbox>,
    transfers: Option<SharedOffered>,
) -> std::io::Result<Server> {
    let workers = match settings.workers {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    let cpus = if settings.udp.pin_workers {
        crate::sys::allowed_cpus().unwrap_or_else(|error| {
            tracing::warn!(%error, "cannot read the allowed CPUs; UDP workers will not be pinned");
            Vec::new()
        })
    } else {
        Vec::new()
    };
    if settings.udp.cpu_steering && !steering_fits(&cpus, workers) {
        tracing::warn!(
            workers,
            ?cpus,
            "cpu_steering hands a datagram received on CPU i to worker i, so it needs pinned \
             workers on CPUs 0 to workers-1; datagrams may land on a worker of another CPU"
        );
    }
    let io = backend::resolve(settings.udp.io)?;
    let mut bound = Vec::with_capacity(settings.listen.len());
    for &addr in &settings.listen {
        let pair = bind_udp_and_tcp(addr, workers, &settings.udp).map_err(|error| {
            io::Error::new(error.kind(), format!("cannot listen on {addr}: {error}"))
        })?;
        bound.push(pair);
    }
    let slots = tcp_slots::Slots::new(settings.tcp_max_connections, settings.tcp_max_per_client);
    let _runtime_context = runtime.enter();
    // Every group's workers set up their I/O first; none serves until all could.
    let mut ready = Vec::with_capacity(bound.len());
    for (udp_group, tcp_listener) in bound {
        let local_addr = udp_group.local_addr;
        let listener = tokio::net::TcpListener::from_std(tcp_listener)?;
        let workers_ready = udp::spawn_workers(
            udp_group,
            &table,
            &cpus,
            settings.rrl.as_ref(),
            notify.as_ref(),
            io,
            &settings.udp,
        )
        .map_err(|error| {
            io::Error::new(
                error.kind(),
                format!("cannot serve UDP on {local_addr}: {error}"),
            )
        })?;
        ready.push((local_addr, listener, workers_ready));
    }
    let mut server = Server {
        local_addrs: Vec::with_capacity(ready.len()),
        udp_io: io,
        udp_workers: Vec::with_capacity(ready.len()),
        tcp_loops: Vec::with_capacity(ready.len()),
    };
    for (local_addr, listener, workers_ready) in ready {
        server.udp_workers.push(workers_ready.serve());
        server.tcp_loops.push(runtime.spawn(tcp::accept_loop(
            listener,
            table.clone(),
            slots.clone(),
            settings.tcp_idle_timeout,
            notify.clone(),
            transfers.clone(),
        )));
        // The real address (with the port the kernel chose for port 0), for people and for
        // tests that start a server on port 0 and read where it listens.
        tracing::info!(
            address = %local_addr,
            udp_workers = workers,
            tcp = true,
            io = io.name(),
            "listening"
        );
        server.local_addrs.push(local_addr);
    }
    Ok(server)
}

/// Whether worker `i` runs on CPU `i` for every worker, as CPU steering needs.
fn steering_fits(cpus: &[usize], workers: usize) -> bool {
    workers <= cpus.len()
        && cpus
            .iter()
            .take(workers)
            .enumerate()
            .all(|(i, &cpu)| i == cpu)
}

/// Binds the UDP sockets and the TCP listener of one address on one port. With port 0 the
/// UDP bind picks the port; if TCP cannot have it, both are retried on a fresh port.
fn bind_udp_and_tcp(
    addr: SocketAddr,
    workers: usize,
    options: &UdpOptions,
) -> io::Result<(udp::UdpGroup, std::net::TcpListener)> {
    let mut attempts = 0;
    loop {
        attempts += 1;
        let udp_group = udp::bind_group(addr, workers, options)
            .map_err(|error| io::Error::new(error.kind(), format!("UDP: {error}")))?;
        match tcp::bind_listener(udp_group.local_addr) {
            Ok(listener) => return Ok((udp_group, listener)),
            Err(error)
                if addr.port() == 0
                    && error.kind() == io::ErrorKind::AddrInUse
                    && attempts < EPHEMERAL_PORT_ATTEMPTS =>
            {
                continue;
            }
            Err(error) => return Err(io::Error::new(error.kind(), format!("TCP: {error}"))),
        }
    }
}
