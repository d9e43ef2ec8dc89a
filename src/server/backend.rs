//! The two ways a UDP worker moves datagrams: batched system calls (`recvmmsg` and
//! `sendmmsg`) or io_uring (multishot `recvmsg` with provided buffers, `sendmsg` entries
//! submitted with the next wait). Both offer the same batch interface, [`DatagramIo`], so
//! one worker loop serves either; `[server] io` picks one (see [`resolve`]).

use crate::config::IoChoice;
use crate::sys::{self, DatagramBatch, SendReport, UringOptions, UringSocket};
use socket2::Socket;
use std::io;
use std::net::IpAddr;
use std::os::fd::AsFd;

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

/// What `io = "auto"` ([`IoChoice::Auto`]) runs: the backend the side-by-side runs recorded in
/// docs/BENCHMARKS.md ("I/O backends") favour. After io_uring's burst stall and its second
/// system call per batch were fixed, the two were within 2–5% of each other on every
/// figure; `recvmmsg`/`sendmmsg` needed slightly less server CPU per query (5.84 against
/// 5.94 µs at 100,000 q/s, 4.79 against 5.03 at full load, medians of 7 alternating rounds),
/// so `auto` runs mmsg; io_uring is `io = "uring"`.
pub const PREFERRED: IoBackend = IoBackend::Mmsg;

/// Provided receive buffers per io_uring worker (each holds one datagram of up to
/// [`super::QUERY_BUF`] bytes).
pub const URING_BUFFERS: usize = 256;

/// Decides the backend before any worker starts. `auto` falls back to `recvmmsg`, with one
/// log line, when io_uring cannot be set up; `uring` then is an error.
pub fn resolve(choice: IoChoice) -> io::Result<IoBackend> {
    resolve_preferring(choice, PREFERRED)
}

/// [`resolve`] with `auto` meaning `preferred`.
fn resolve_preferring(choice: IoChoice, preferred: IoBackend) -> io::Result<IoBackend> {
    let wanted = match choice {
        IoChoice::Mmsg => return Ok(IoBackend::Mmsg),
        IoChoice::Uring => IoBackend::Uring,
        IoChoice::Auto => preferred,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `check` in a thread of its own, where io_uring_setup fails with EPERM (as under
    /// a container's default seccomp profile) when `refused`.
    fn in_thread(refused: bool, check: impl FnOnce() + Send + 'static) {
        std::thread::spawn(move || {
            if refused {
                sys::deny_io_uring_setup_in_this_thread().unwrap();
            }
            check();
        })
        .join()
        .unwrap();
    }

    #[test]
    fn auto_preferring_io_uring_falls_back_to_mmsg_only_when_io_uring_is_refused() {
        in_thread(false, || {
            let backend = resolve_preferring(IoChoice::Auto, IoBackend::Uring).unwrap();
            assert_eq!(backend, IoBackend::Uring);
        });
        in_thread(true, || {
            let backend = resolve_preferring(IoChoice::Auto, IoBackend::Uring).unwrap();
            assert_eq!(backend, IoBackend::Mmsg);
            let error = resolve_preferring(IoChoice::Uring, IoBackend::Uring).unwrap_err();
            assert!(error.to_string().contains("io = \"uring\""), "{error}");
            assert_eq!(
                resolve_preferring(IoChoice::Mmsg, IoBackend::Uring).unwrap(),
                IoBackend::Mmsg
            );
        });
    }
}
