//! The `[server]` keys of the UDP workers: `io`, `udp_batch`, `udp_socket_buffer`,
//! `pin_workers`, `cpu_steering` and `busy_poll`, checked with file and line.

use super::{Checker, RawServer};
use toml::Spanned;

/// `server.udp_batch` when omitted: datagrams taken per receive and replies sent per send;
/// chosen by measurement (docs/BENCHMARKS.md).
pub const DEFAULT_UDP_BATCH: usize = 64;
/// `server.udp_socket_buffer` when omitted: SO_RCVBUF and SO_SNDBUF of every UDP socket.
pub const DEFAULT_UDP_SOCKET_BUFFER: usize = 4 << 20;
/// The range of `server.udp_batch`.
pub const UDP_BATCH_RANGE: std::ops::RangeInclusive<usize> = 1..=1024;
/// The range of `server.udp_socket_buffer`, in bytes.
pub const UDP_SOCKET_BUFFER_RANGE: std::ops::RangeInclusive<usize> = 4096..=(1 << 30);
/// The most microseconds `server.busy_poll` may ask for.
pub const MAX_BUSY_POLL_US: u32 = 1_000_000;

/// `[server] io`: which backend the UDP workers use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IoChoice {
    /// The faster backend on the measurements in docs/BENCHMARKS.md (today `recvmmsg`),
    /// falling back to `recvmmsg` when io_uring is preferred but not allowed.
    #[default]
    Auto,
    Uring,
    Mmsg,
}

/// The `[server]` settings of the UDP workers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UdpOptions {
    /// `io`: which I/O backend.
    pub io: IoChoice,
    /// `udp_batch`: datagrams per receive at most.
    pub batch: usize,
    /// `udp_socket_buffer`: SO_RCVBUF and SO_SNDBUF, in bytes.
    pub socket_buffer: usize,
    /// `pin_workers`: worker `i` runs only on the `i`-th allowed CPU.
    pub pin_workers: bool,
    /// `cpu_steering`: a classic-BPF program on each SO_REUSEPORT group hands every
    /// datagram to the socket of the CPU that received it (needs worker `i` on CPU `i`).
    pub cpu_steering: bool,
    /// `busy_poll`: SO_BUSY_POLL in microseconds; 0 is off.
    pub busy_poll_us: u32,
}

impl Default for UdpOptions {
    fn default() -> Self {
        UdpOptions {
            io: IoChoice::Auto,
            batch: DEFAULT_UDP_BATCH,
            socket_buffer: DEFAULT_UDP_SOCKET_BUFFER,
            pin_workers: true,
            cpu_steering: false,
            busy_poll_us: 0,
        }
    }
}

impl Checker<'_> {
    /// The UDP worker keys of `[server]`.
    pub(super) fn udp_options(&mut self, raw: &RawServer) -> UdpOptions {
        let defaults = UdpOptions::default();
        let io = raw.io.as_ref().map_or(defaults.io, |io| match io.get_ref().as_str() {
            "auto" => IoChoice::Auto,
            "uring" => IoChoice::Uring,
            "mmsg" => IoChoice::Mmsg,
            other => {
                self.error(
                    io,
                    format!("server.io: {other:?} is not a backend: use \"auto\", \"uring\" or \"mmsg\""),
                );
                defaults.io
            }
        });
        let mut ranged = |key: &str,
                          value: &Option<Spanned<usize>>,
                          range: std::ops::RangeInclusive<usize>,
                          default: usize| {
            let Some(value) = value else { return default };
            if !range.contains(value.get_ref()) {
                self.error(
                    value,
                    format!(
                        "server.{key}: must be from {} to {}",
                        range.start(),
                        range.end()
                    ),
                );
                return default;
            }
            *value.get_ref()
        };
        let batch = ranged("udp_batch", &raw.udp_batch, UDP_BATCH_RANGE, defaults.batch);
        let socket_buffer = ranged(
            "udp_socket_buffer",
            &raw.udp_socket_buffer,
            UDP_SOCKET_BUFFER_RANGE,
            defaults.socket_buffer,
        );
        let busy_poll_us = raw.busy_poll.as_ref().map_or(0, |us| {
            if *us.get_ref() > MAX_BUSY_POLL_US {
                self.error(
                    us,
                    format!("server.busy_poll: at most {MAX_BUSY_POLL_US} microseconds (0 is off)"),
                );
                return 0;
            }
            *us.get_ref()
        });
        UdpOptions {
            io,
            batch,
            socket_buffer,
            pin_workers: raw.pin_workers.unwrap_or(defaults.pin_workers),
            cpu_steering: raw.cpu_steering.unwrap_or(defaults.cpu_steering),
            busy_poll_us,
        }
    }
}
