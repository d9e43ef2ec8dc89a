//! io_uring datagram I/O for one UDP worker: one multishot `recvmsg` fed by a ring of
//! provided buffers receives every datagram without a request per datagram, and the
//! replies go out as `sendmsg` entries that are submitted together with the next wait, so
//! a busy worker makes one `io_uring_enter` per batch. The methods mirror
//! [`super::DatagramBatch`], so the worker loop is the same for both.

use super::datagram_batch::SendReport;
use super::packet_info::{
    destination_from_control, peer_ip, store_peer, write_source, ControlSpace, Destination,
};
use super::wake::EventFd;
mod provided_buffers;

use io_uring::{cqueue, opcode, types, IoUring};
use provided_buffers::ProvidedBuffers;
use std::collections::VecDeque;
use std::io;
use std::mem::{size_of, zeroed, ManuallyDrop};
use std::net::IpAddr;
use std::os::fd::{AsRawFd, OwnedFd};
use std::ptr;

/// `user_data` of the multishot receive; sends carry their slot number.
const RECEIVE: u64 = u64::MAX;
/// `user_data` of the poll on the wake eventfd.
const WAKE: u64 = u64::MAX - 1;
/// The provided-buffer group of the receive.
const BUFFER_GROUP: u16 = 0;
/// `struct io_uring_recvmsg_out`, at the start of every filled provided buffer.
const RECVMSG_OUT_BYTES: usize = 16;
/// Room for the peer address in a provided buffer: a sockaddr_in6 (or a sockaddr_in).
const NAME_BYTES: usize = size_of::<libc::sockaddr_in6>();

/// Sizes of one worker's io_uring I/O.
#[derive(Clone, Copy, Debug)]
pub struct UringOptions {
    /// Datagrams taken per [`UringSocket::receive`] at most.
    pub batch: usize,
    pub query_capacity: usize,
    pub reply_capacity: usize,
    /// Receive and send packet-info control messages (the socket must have them enabled).
    pub with_packet_info: bool,
    /// Provided receive buffers (rounded up to a power of two, at most 32768).
    pub buffers: usize,
}

/// Checks that this process may use io_uring at all: `io_uring_setup` fails with EPERM
/// when `kernel.io_uring_disabled` or a seccomp profile forbids it, ENOSYS when the kernel
/// lacks it.
///
/// The ring is made and closed in a thread of its own: closing a ring makes the kernel
/// queue work on every thread that used it, with a notification that ends a blocking
/// system call with a timeout in EINTR, and the caller's thread should not get that.
pub fn probe_io_uring() -> io::Result<()> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| IoUring::new(2).map(drop))
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("io_uring probe thread panicked")))
    })
}

/// One datagram taken by the last [`UringSocket::receive`].
#[derive(Clone, Copy, Default)]
struct Received {
    buffer: u16,
    /// Where the payload starts in its buffer, and its length; `None` when it was cut.
    payload: Option<(usize, usize)>,
    slot: usize,
}

/// One UDP socket served through its own io_uring. Nothing is allocated after
/// [`UringSocket::new`].
pub struct UringSocket {
    ring: IoUring,
    socket: OwnedFd,
    /// Dropped by hand, after the ring has let go of it.
    provided: ManuallyDrop<ProvidedBuffers>,
    /// Tells the multishot receive how much room to leave for the address and control
    /// message in each buffer; read by the kernel for as long as the receive runs.
    receive_template: Box<libc::msghdr>,
    receive_armed: bool,
    /// Buffers the kernel filled with a datagram, in arrival order, not yet taken into a
    /// batch. Never holds more than the buffer count, its capacity.
    pending: VecDeque<u16>,
    receive_error: Option<io::Error>,
    with_packet_info: bool,
    batch: usize,
    datagrams: Box<[Received]>,
    received: usize,
    /// Send slots not in flight; a received datagram takes one for its reply.
    free_slots: Vec<usize>,
    reply_capacity: usize,
    replies: Box<[u8]>,
    reply_lens: Box<[usize]>,
    peers: Box<[libc::sockaddr_storage]>,
    peer_lens: Box<[libc::socklen_t]>,
    destinations: Box<[Destination]>,
    controls: Box<[ControlSpace]>,
    iovecs: Box<[libc::iovec]>,
    headers: Box<[libc::msghdr]>,
    /// Send failures completed since the last [`UringSocket::send`].
    failures: SendReport,
    /// Replies queued by the last [`UringSocket::send`], not yet submitted.
    sends_queued: usize,
    /// Polled by the ring from the start: a signal on it (see [`UringSocket::waker`]) ends a
    /// wait in [`UringSocket::receive`], which then returns 0 datagrams from then on.
    wake: EventFd,
    woken: bool,
}

impl UringSocket {
    /// Sets up a ring for `socket` in the calling thread, which must be the only one to use
    /// it (the ring is created single-issuer with deferred task work where the kernel has
    /// them), and starts the multishot receive. Fails when the kernel refuses io_uring or
    /// lacks multishot `recvmsg` with provided buffers (Linux 6.0).
    pub fn new(socket: OwnedFd, options: UringOptions) -> io::Result<Self> {
        let batch = options.batch.max(1);
        // Replies of one batch may still be in flight while the next batch is answered.
        let slots = 2 * batch;
        let entries = (slots + 2).next_power_of_two() as u32;
        let control_bytes = if options.with_packet_info {
            super::packet_info::CONTROL_BYTES
        } else {
            0
        };
        let buffer_size = RECVMSG_OUT_BYTES + NAME_BYTES + control_bytes + options.query_capacity;
        let provided = ProvidedBuffers::new(options.buffers, buffer_size)?;
        let provided_count = provided.count();
        let ring = build_ring(entries, 2 * entries + u32::from(provided_count))?;
        // SAFETY: the ring memory stays alive and in place until it is unregistered, which
        // the kernel does when the ring is closed; `UringSocket::drop` frees it after that.
        unsafe {
            ring.submitter().register_buf_ring_with_flags(
                provided.entries.as_ptr() as u64,
                provided.count(),
                BUFFER_GROUP,
                0,
            )?;
        }
        // SAFETY: msghdr, sockaddr_storage and iovec are plain C structs for which all-zero
        // bytes are a valid value (null pointers, zero lengths).
        let (mut template, storage, iovec) = unsafe {
            (
                zeroed::<libc::msghdr>(),
                zeroed::<libc::sockaddr_storage>(),
                zeroed::<libc::iovec>(),
            )
        };
        template.msg_namelen = NAME_BYTES as libc::socklen_t;
        template.msg_controllen = control_bytes as _;
        let mut uring = UringSocket {
            ring,
            socket,
            provided: ManuallyDrop::new(provided),
            receive_template: Box::new(template),
            receive_armed: false,
            pending: VecDeque::with_capacity(usize::from(provided_count)),
            receive_error: None,
            with_packet_info: options.with_packet_info,
            batch,
            datagrams: vec![Received::default(); batch].into_boxed_slice(),
            received: 0,
            free_slots: (0..slots).rev().collect(),
            reply_capacity: options.reply_capacity,
            replies: vec![0; slots * options.reply_capacity].into_boxed_slice(),
            reply_lens: vec![0; slots].into_boxed_slice(),
            peers: vec![storage; slots].into_boxed_slice(),
            peer_lens: vec![0; slots].into_boxed_slice(),
            destinations: vec![Destination::Unknown; slots].into_boxed_slice(),
            controls: vec![ControlSpace([0; super::packet_info::CONTROL_BYTES]); slots]
                .into_boxed_slice(),
            iovecs: vec![iovec; slots].into_boxed_slice(),
            // SAFETY: as above, for msghdr.
            headers: vec![unsafe { zeroed::<libc::msghdr>() }; slots].into_boxed_slice(),
            failures: SendReport::default(),
            sends_queued: 0,
            wake: EventFd::new()?,
            woken: false,
        };
        uring.arm_wake();
        uring.arm_receive();
        uring.ring.submit()?;
        // A kernel without multishot recvmsg or provided-buffer rings fails the request at
        // once; a working one leaves it pending (or has already delivered a datagram).
        uring.reap();
        if let Some(error) = uring.receive_error.take() {
            return Err(io::Error::new(
                error.kind(),
                format!("multishot recvmsg with provided buffers (Linux 6.0): {error}"),
            ));
        }
        Ok(uring)
    }

    /// Queues a one-shot poll of the wake eventfd; it is submitted with the receive.
    fn arm_wake(&mut self) {
        let entry = opcode::PollAdd::new(types::Fd(self.wake.as_raw_fd()), libc::POLLIN as _)
            .build()
            .user_data(WAKE);
        // SAFETY: a poll reads no memory of ours; the eventfd is owned by `self` and outlives
        // the ring's use of it (the ring is torn down first, in `drop`).
        let pushed = unsafe { self.ring.submission().push(&entry) };
        // Pushed first into an empty queue, so it cannot be full.
        debug_assert!(pushed.is_ok());
    }

    /// A second descriptor of the wake eventfd: signalling it, from any thread, makes a
    /// blocked [`UringSocket::receive`] return (with 0 datagrams), and every later one too.
    pub fn waker(&self) -> io::Result<EventFd> {
        self.wake.try_clone()
    }

    /// Queues the multishot receive; it is submitted with the next wait.
    fn arm_receive(&mut self) {
        let entry = opcode::RecvMsgMulti::new(
            types::Fd(self.socket.as_raw_fd()),
            ptr::from_ref(&*self.receive_template),
            BUFFER_GROUP,
        )
        .build()
        .user_data(RECEIVE);
        // SAFETY: the template lives in a Box owned by `self`, read by the kernel while the
        // receive runs; the ring is torn down before it is freed.
        let pushed = unsafe { self.ring.submission().push(&entry) };
        // The queue holds every slot's send plus this entry, so it is never full here.
        self.receive_armed = pushed.is_ok();
    }

    /// Submits the replies queued by the last [`UringSocket::send`], then waits until at
    /// least one datagram has arrived and takes up to a batch of them. Returns how many: 0
    /// only once the [`UringSocket::waker`] has been signalled.
    pub fn receive(&mut self) -> io::Result<usize> {
        self.received = 0;
        loop {
            if !self.receive_armed {
                self.arm_receive();
            }
            // Datagrams already reaped are taken without waiting; the queued replies go out
            // with the same system call either way.
            // Otherwise wait for one completion more than the replies about to be submitted:
            // a send to loopback completes at once, and waking for its completion alone
            // would cost a second system call before the next datagram.
            let ready = self.woken || (!self.pending.is_empty() && !self.free_slots.is_empty());
            let want = if ready { 0 } else { self.sends_queued + 1 };
            self.sends_queued = 0;
            match self.ring.submit_and_wait(want) {
                Ok(_) => {}
                // EBUSY: completions are waiting to be reaped; they are, below.
                Err(error) if matches!(error.raw_os_error(), Some(libc::EINTR | libc::EBUSY)) => {}
                Err(error) => return Err(error),
            }
            self.reap();
            self.take_batch();
            if self.received > 0 || self.woken {
                return Ok(self.received);
            }
            if let Some(error) = self.receive_error.take() {
                return Err(error);
            }
        }
    }

    /// Reaps every completion: a finished send frees its slot, a datagram joins `pending`.
    fn reap(&mut self) {
        for completion in self.ring.completion() {
            let result = completion.result();
            if completion.user_data() == WAKE {
                self.woken = true;
                continue;
            }
            if completion.user_data() != RECEIVE {
                self.free_slots.push(completion.user_data() as usize);
                if result < 0 {
                    self.failures.failed += 1;
                    self.failures.last_error = Some(io::Error::from_raw_os_error(-result));
                }
                continue;
            }
            let flags = completion.flags();
            if !cqueue::more(flags) {
                self.receive_armed = false;
            }
            match cqueue::buffer_select(flags) {
                Some(buffer) => self.pending.push_back(buffer),
                // ENOBUFS: every buffer was taken; the receive restarts once they are back.
                None if result < 0 && result != -libc::ENOBUFS => {
                    self.receive_error = Some(io::Error::from_raw_os_error(-result));
                }
                None => {}
            }
        }
    }

    /// Takes pending datagrams into the batch while it and the free send slots last.
    fn take_batch(&mut self) {
        while self.received < self.batch && !self.free_slots.is_empty() {
            let Some(buffer) = self.pending.pop_front() else {
                break;
            };
            let slot = self.free_slots.pop().expect("checked above");
            let bytes = self.provided.get(buffer);
            let payload = match types::RecvMsgOut::parse(bytes, &self.receive_template) {
                Ok(message) => {
                    self.peer_lens[slot] = store_peer(message.name_data(), &mut self.peers[slot]);
                    self.destinations[slot] = if self.with_packet_info {
                        destination_from_control(message.control_data())
                    } else {
                        Destination::Unknown
                    };
                    let data = message.payload_data();
                    let start = data.as_ptr() as usize - bytes.as_ptr() as usize;
                    (!message.is_payload_truncated()).then_some((start, data.len()))
                }
                Err(()) => {
                    self.peer_lens[slot] = 0;
                    None
                }
            };
            self.reply_lens[slot] = 0;
            self.datagrams[self.received] = Received {
                buffer,
                payload,
                slot,
            };
            self.received += 1;
        }
    }

    /// How many datagrams the last [`UringSocket::receive`] took.
    pub fn received(&self) -> usize {
        self.received
    }

    /// The query in datagram `index` of the batch and the reply buffer for it; `None` when
    /// the datagram was too large for its buffer and got cut.
    pub fn query_and_reply_buffer(&mut self, index: usize) -> Option<(&[u8], &mut [u8])> {
        assert!(index < self.received, "datagram {index} was not received");
        let datagram = self.datagrams[index];
        let (start, len) = datagram.payload?;
        let query = &self.provided.get(datagram.buffer)[start..][..len];
        let reply = &mut self.replies[datagram.slot * self.reply_capacity..][..self.reply_capacity];
        Some((query, reply))
    }

    /// The IP address datagram `index` of the batch came from.
    pub fn peer(&self, index: usize) -> Option<IpAddr> {
        assert!(index < self.received, "datagram {index} was not received");
        let slot = self.datagrams[index].slot;
        peer_ip(&self.peers[slot], self.peer_lens[slot])
    }

    /// Marks datagram `index` to be answered with the first `len` bytes of its reply buffer.
    pub fn set_reply_len(&mut self, index: usize, len: usize) {
        assert!(index < self.received && len <= self.reply_capacity);
        self.reply_lens[self.datagrams[index].slot] = len;
    }

    /// Queues every reply marked with [`UringSocket::set_reply_len`], to the peer that sent
    /// the query and from the address it was sent to, and returns the batch's receive
    /// buffers to the kernel. The replies are submitted by the next receive; the report
    /// counts them as sent and carries the sends that failed since the last report.
    pub fn send(&mut self) -> SendReport {
        let mut report = std::mem::take(&mut self.failures);
        let fd = types::Fd(self.socket.as_raw_fd());
        let mut submission = self.ring.submission();
        for datagram in &self.datagrams[..self.received] {
            self.provided.give_back(datagram.buffer);
            let slot = datagram.slot;
            let len = self.reply_lens[slot];
            if len == 0 {
                self.free_slots.push(slot);
                continue;
            }
            self.iovecs[slot] = libc::iovec {
                iov_base: self.replies[slot * self.reply_capacity..]
                    .as_mut_ptr()
                    .cast(),
                iov_len: len,
            };
            let header = &mut self.headers[slot];
            header.msg_name = ptr::from_mut(&mut self.peers[slot]).cast();
            header.msg_namelen = self.peer_lens[slot];
            header.msg_iov = &mut self.iovecs[slot];
            header.msg_iovlen = 1;
            header.msg_flags = 0;
            write_source(header, &mut self.controls[slot], self.destinations[slot]);
            let entry = opcode::SendMsg::new(fd, ptr::from_ref(header))
                .build()
                .user_data(slot as u64);
            // SAFETY: the header and everything it points at (peer, iovec into the reply
            // buffer, control message) belong to this slot, which stays out of the free
            // list, untouched, until the send's completion is reaped.
            match unsafe { submission.push(&entry) } {
                Ok(()) => report.sent += 1,
                Err(_) => {
                    self.free_slots.push(slot);
                    report.failed += 1;
                    report.last_error = Some(io::Error::other("submission queue full"));
                }
            }
        }
        drop(submission);
        self.sends_queued = report.sent;
        self.provided.publish();
        self.received = 0;
        report
    }
}

/// Builds a ring with `entries` submission entries, with the cheapest task-work mode the
/// kernel offers: single issuer with deferred task work (Linux 6.1), else cooperative task
/// work (5.19), else the default.
fn build_ring(entries: u32, completion_entries: u32) -> io::Result<IoUring> {
    let mut builder = IoUring::builder();
    builder
        .setup_cqsize(completion_entries)
        .setup_single_issuer()
        .setup_defer_taskrun();
    match builder.build(entries) {
        Err(error) if error.raw_os_error() == Some(libc::EINVAL) => {}
        other => return other,
    }
    let mut builder = IoUring::builder();
    builder
        .setup_cqsize(completion_entries)
        .setup_coop_taskrun();
    match builder.build(entries) {
        Err(error) if error.raw_os_error() == Some(libc::EINVAL) => {}
        other => return other,
    }
    IoUring::builder()
        .setup_cqsize(completion_entries)
        .build(entries)
}

impl Drop for UringSocket {
    fn drop(&mut self) {
        // Cancel the receive and any send still in flight, so that the kernel writes into
        // none of our buffers any more; only then may the provided buffers be freed.
        let timeout = types::Timespec::new().sec(1);
        let cancelled = self
            .ring
            .submitter()
            .register_sync_cancel(Some(timeout), types::CancelBuilder::any());
        let quiet = match cancelled {
            Ok(()) => true,
            Err(error) => error.raw_os_error() == Some(libc::ENOENT),
        };
        if quiet {
            // SAFETY: nothing in flight uses the buffers any more, and they are not used
            // again: this is the drop of their owner.
            unsafe { ManuallyDrop::drop(&mut self.provided) };
        }
        // Otherwise the buffers are leaked rather than freed under the kernel's feet.
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;
    use std::time::{Duration, Instant};

    #[test]
    fn a_signalled_waker_ends_a_blocked_receive() {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let options = UringOptions {
            batch: 4,
            query_capacity: 64,
            reply_capacity: 64,
            with_packet_info: false,
            buffers: 16,
        };
        let (waker_tx, waker_rx) = std::sync::mpsc::channel();
        let worker = std::thread::spawn(move || {
            let mut uring = UringSocket::new(socket.into(), options).unwrap();
            waker_tx.send(uring.waker().unwrap()).unwrap();
            let started = Instant::now();
            let received = uring.receive().unwrap();
            (received, started.elapsed(), uring.receive().unwrap())
        });
        let waker = waker_rx.recv().unwrap();
        std::thread::sleep(Duration::from_millis(100));
        waker.signal().unwrap();
        let (received, waited, again) = worker.join().unwrap();
        assert_eq!((received, again), (0, 0));
        assert!(
            waited >= Duration::from_millis(50),
            "returned after {waited:?}"
        );
    }
}
