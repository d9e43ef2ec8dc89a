//! The two ways a UDP worker moves datagrams: batched system calls (`recvmmsg` and
//! `sendmmsg`) or io_uring (multishot `recvmsg` with provided buffers, `sendmsg` entries
//! submitted with the next wait). Both offer the same batch interface, [`DatagramIo`], so
//! one worker loop serves either; `[server] io` picks one (see [`resolve`]).

use crate::sys::{self, DatagramBatch, SendReport, UringOptions, UringSocket};
use socket2::Socket;
use std::io;
use std::net::IpAddr;
use std::os::fd::AsFd;

/// `[server] io`: which backend to use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IoChoice {
    /// The faster backend on the measurements in docs/BENCHMARKS.md ([`PREFERRED`]: today
    /// `recvmmsg`), falling back to `recvmmsg` when io_uring is preferred but not allowed.
    #[default]
    Auto,
    Uring,
    Mmsg,
}

/// The backend the UDP workers run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IoBackend {
    Uring,
    Mmsg,
}

impl IoBackend {
    pub fn name(self) -> &'static str {
        match self {
            IoBackend::Uring => "uring",
            IoBackend::Mmsg => "mmsg",
        }
    }
}

/// What `io = "auto"` runs: the backend the side-by-side runs recorded in
/// docs/BENCHMARKS.md favour. There `recvmmsg`/`sendmmsg` needed less server CPU per query
/// (7.06 against 7.51 µs), answered more at full load and had lower latency than io_uring,
/// and io_uring could stall after a burst, so `auto` runs mmsg; io_uring is `io = "uring"`.
pub const PREFERRED: IoBackend = IoBackend::Mmsg;

/// Provided receive buffers per io_uring worker (each holds one datagram of up to
/// [`super::QUERY_BUF`] bytes).
pub const URING_BUFFERS: usize = 256;

/// Decides the backend before any worker starts. `auto` falls back to `recvmmsg`, with one
/// log line, when io_uring cannot be set up; `uring` then is an error.
pub fn resolve(choice: IoChoice) -> io::Result<IoBackend> {
    let wanted = match choice {
        IoChoice::Mmsg => return Ok(IoBackend::Mmsg),
        IoChoice::Uring => IoBackend::Uring,
        IoChoice::Auto => PREFERRED,
    };
    if wanted == IoBackend::Mmsg {
        return Ok(IoBackend::Mmsg);
    }
    match sys::probe_io_uring() {
        Ok(()) => Ok(IoBackend::Uring),
        Err(error) if choice == IoChoice::Auto => {
            tracing::warn!(
                %error,
                "io_uring is not available (kernel.io_uring_disabled, a seccomp profile or an old \
                 kernel); UDP workers use recvmmsg/sendmmsg"
            );
            Ok(IoBackend::Mmsg)
        }
        Err(error) => Err(io::Error::new(
            error.kind(),
            format!(
                "[server] io = \"uring\", but io_uring cannot be set up: {error} (check \
                 kernel.io_uring_disabled and the container's seccomp profile, or use io = \"auto\")"
            ),
        )),
    }
}

/// A batch of datagrams: receive some, answer each in place, send the replies.
pub(super) trait DatagramIo {
    /// Blocks until at least one datagram arrives; returns how many were taken.
    fn receive(&mut self) -> io::Result<usize>;
    /// The query in `slot` and its reply buffer; `None` when the datagram was cut.
    fn query_and_reply_buffer(&mut self, slot: usize) -> Option<(&[u8], &mut [u8])>;
    fn peer(&self, slot: usize) -> Option<IpAddr>;
    fn set_reply_len(&mut self, slot: usize, len: usize);
    fn send(&mut self) -> SendReport;
}

/// The `recvmmsg`/`sendmmsg` backend: one socket and its preallocated batch.
pub(super) struct MmsgSocket {
    pub socket: Socket,
    pub batch: DatagramBatch,
}

impl DatagramIo for MmsgSocket {
    #[inline]
    fn receive(&mut self) -> io::Result<usize> {
        self.batch.receive(self.socket.as_fd())
    }
    #[inline]
    fn query_and_reply_buffer(&mut self, slot: usize) -> Option<(&[u8], &mut [u8])> {
        self.batch.query_and_reply_buffer(slot)
    }
    #[inline]
    fn peer(&self, slot: usize) -> Option<IpAddr> {
        self.batch.peer(slot)
    }
    #[inline]
    fn set_reply_len(&mut self, slot: usize, len: usize) {
        self.batch.set_reply_len(slot, len);
    }
    #[inline]
    fn send(&mut self) -> SendReport {
        self.batch.send(self.socket.as_fd())
    }
}

impl DatagramIo for UringSocket {
    #[inline]
    fn receive(&mut self) -> io::Result<usize> {
        UringSocket::receive(self)
    }
    #[inline]
    fn query_and_reply_buffer(&mut self, slot: usize) -> Option<(&[u8], &mut [u8])> {
        UringSocket::query_and_reply_buffer(self, slot)
    }
    #[inline]
    fn peer(&self, slot: usize) -> Option<IpAddr> {
        UringSocket::peer(self, slot)
    }
    #[inline]
    fn set_reply_len(&mut self, slot: usize, len: usize) {
        UringSocket::set_reply_len(self, slot, len);
    }
    #[inline]
    fn send(&mut self) -> SendReport {
        UringSocket::send(self)
    }
}

/// Options for the io_uring backend of one worker.
pub(super) fn uring_options(batch: usize, wildcard: bool) -> UringOptions {
    UringOptions {
        batch,
        query_capacity: super::QUERY_BUF,
        reply_capacity: crate::engine::UDP_REPLY_BUF,
        with_packet_info: wildcard,
        buffers: URING_BUFFERS.max(4 * batch),
    }
}
