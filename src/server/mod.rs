//! Serving: per-core UDP workers with batched receive and send, and TCP listeners.
//!
//! Every listen address gets UDP (see [`udp`]) and TCP (see [`tcp`]) on the same port.
//! Everything is bound before anything starts, so a failed bind leaves nothing running.

pub mod stats;
mod tcp;
mod udp;

/// The TCP framing, for the fuzz targets in [`crate::fuzzing`].
pub(crate) use tcp::{frame_reply, read_message};
pub use udp::{BATCH_SIZE, QUERY_BUF, SOCKET_BUFFER_BYTES};

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
    pub rrl: Option<crate::rrl::RrlConfig>,
}

/// Running listeners; dropping it does not stop them.
pub struct Server {
    /// The bound addresses (with the real port when 0 was asked for), one per listen entry.
    pub local_addrs: Vec<SocketAddr>,
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
    let workers = match settings.workers {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    let cpus = crate::sys::allowed_cpus().unwrap_or_else(|error| {
        tracing::warn!(%error, "cannot read the allowed CPUs; UDP workers will not be pinned");
        Vec::new()
    });
    let mut bound = Vec::with_capacity(settings.listen.len());
    for &addr in &settings.listen {
        let pair = bind_udp_and_tcp(addr, workers).map_err(|error| {
            io::Error::new(error.kind(), format!("cannot listen on {addr}: {error}"))
        })?;
        bound.push(pair);
    }
    let limits =
        tcp::ConnectionLimits::new(settings.tcp_max_connections, settings.tcp_max_per_client);
    let _runtime_context = runtime.enter();
    let mut local_addrs = Vec::with_capacity(bound.len());
    for (udp_group, tcp_listener) in bound {
        let local_addr = udp_group.local_addr;
        let listener = tokio::net::TcpListener::from_std(tcp_listener)?;
        udp::spawn_workers(udp_group, &table, &cpus, settings.rrl.as_ref())?;
        runtime.spawn(tcp::accept_loop(
            listener,
            table.clone(),
            limits.clone(),
            settings.tcp_idle_timeout,
        ));
        tracing::info!(%local_addr, workers, "serving DNS over UDP and TCP");
        local_addrs.push(local_addr);
    }
    Ok(Server { local_addrs })
}

/// Binds the UDP sockets and the TCP listener of one address on one port. With port 0 the
/// UDP bind picks the port; if TCP cannot have it, both are retried on a fresh port.
fn bind_udp_and_tcp(
    addr: SocketAddr,
    workers: usize,
) -> io::Result<(udp::UdpGroup, std::net::TcpListener)> {
    let mut attempts = 0;
    loop {
        attempts += 1;
        let udp_group = udp::bind_group(addr, workers)
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
