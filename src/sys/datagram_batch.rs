//! One `recvmmsg` takes a batch of datagrams, one `sendmmsg` sends their replies; packet-info
//! control messages make replies leave from the address each query was sent to.

use std::io;
use std::mem::{size_of, zeroed};
use std::os::fd::{AsRawFd, BorrowedFd};
use std::ptr;

use super::packet_info::{
    destination_from_control, peer_ip, write_source, ControlSpace, Destination, CONTROL_BYTES,
};

/// What one [`DatagramBatch::send`] did.
#[derive(Debug, Default)]
pub struct SendReport {
    pub sent: usize,
    /// Replies the kernel refused; the last refusal is in `last_error`.
    pub failed: usize,
    pub last_error: Option<io::Error>,
}

/// Preallocated buffers for receiving up to `slots` datagrams with one `recvmmsg` and
/// sending their replies with `sendmmsg`. Nothing is allocated after [`DatagramBatch::new`].
pub struct DatagramBatch {
    slots: usize,
    query_capacity: usize,
    reply_capacity: usize,
    with_packet_info: bool,
    queries: Box<[u8]>,
    replies: Box<[u8]>,
    peers: Box<[libc::sockaddr_storage]>,
    peer_lens: Box<[libc::socklen_t]>,
    /// Bytes received per slot; `None` when the datagram did not fit its buffer.
    query_lens: Box<[Option<usize>]>,
    reply_lens: Box<[usize]>,
    destinations: Box<[Destination]>,
    controls: Box<[ControlSpace]>,
    iovecs: Box<[libc::iovec]>,
    headers: Box<[libc::mmsghdr]>,
    received: usize,
}

impl DatagramBatch {
    /// Buffers for `slots` datagrams of up to `query_capacity` bytes and replies of up to
    /// `reply_capacity` bytes. With `with_packet_info`, receive and send carry packet-info
    /// control messages (the socket must have them enabled, see [`enable_packet_info`]).
    pub fn new(
        slots: usize,
        query_capacity: usize,
        reply_capacity: usize,
        with_packet_info: bool,
    ) -> Self {
        // SAFETY: sockaddr_storage, iovec and mmsghdr are plain C structs for which all-zero
        // bytes are a valid value (null pointers, zero lengths).
        let (storage, iovec, header) = unsafe {
            (
                zeroed::<libc::sockaddr_storage>(),
                zeroed::<libc::iovec>(),
                zeroed::<libc::mmsghdr>(),
            )
        };
        DatagramBatch {
            slots,
            query_capacity,
            reply_capacity,
            with_packet_info,
            queries: vec![0; slots * query_capacity].into_boxed_slice(),
            replies: vec![0; slots * reply_capacity].into_boxed_slice(),
            peers: vec![storage; slots].into_boxed_slice(),
            peer_lens: vec![0; slots].into_boxed_slice(),
            query_lens: vec![None; slots].into_boxed_slice(),
            reply_lens: vec![0; slots].into_boxed_slice(),
            destinations: vec![Destination::Unknown; slots].into_boxed_slice(),
            controls: vec![ControlSpace([0; CONTROL_BYTES]); slots].into_boxed_slice(),
            iovecs: vec![iovec; slots].into_boxed_slice(),
            headers: vec![header; slots].into_boxed_slice(),
            received: 0,
        }
    }

    /// Blocks until at least one datagram arrives, then takes every datagram already
    /// queued, up to the batch size (`MSG_WAITFORONE`). Returns how many arrived.
    pub fn receive(&mut self, socket: BorrowedFd<'_>) -> io::Result<usize> {
        self.received = 0;
        for slot in 0..self.slots {
            self.iovecs[slot] = libc::iovec {
                iov_base: self.queries[slot * self.query_capacity..]
                    .as_mut_ptr()
                    .cast(),
                iov_len: self.query_capacity,
            };
            let header = &mut self.headers[slot];
            header.msg_len = 0;
            header.msg_hdr.msg_name = ptr::from_mut(&mut self.peers[slot]).cast();
            header.msg_hdr.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            header.msg_hdr.msg_iov = &mut self.iovecs[slot];
            header.msg_hdr.msg_iovlen = 1;
            header.msg_hdr.msg_flags = 0;
            if self.with_packet_info {
                header.msg_hdr.msg_control = self.controls[slot].0.as_mut_ptr().cast();
                header.msg_hdr.msg_controllen = CONTROL_BYTES as _;
            } else {
                header.msg_hdr.msg_control = ptr::null_mut();
                header.msg_hdr.msg_controllen = 0;
            }
        }
        // SAFETY: every header points at buffers owned by `self` that stay alive and
        // unaliased for the call: its own slot of `peers`, `iovecs` (which points into
        // `queries` with the slot's length) and `controls`, with lengths matching them.
        let count = unsafe {
            libc::recvmmsg(
                socket.as_raw_fd(),
                self.headers.as_mut_ptr(),
                self.slots as _,
                libc::MSG_WAITFORONE as _,
                ptr::null_mut(),
            )
        };
        if count < 0 {
            return Err(io::Error::last_os_error());
        }
        let count = count as usize;
        for slot in 0..count {
            let header = &self.headers[slot];
            let truncated = header.msg_hdr.msg_flags & libc::MSG_TRUNC != 0;
            self.query_lens[slot] = (!truncated).then_some(header.msg_len as usize);
            self.peer_lens[slot] = header.msg_hdr.msg_namelen;
            self.reply_lens[slot] = 0;
            self.destinations[slot] = if self.with_packet_info {
                // The kernel set msg_controllen to the bytes it wrote into the slot's space
                // (a size_t with glibc, a socklen_t with musl).
                #[allow(clippy::unnecessary_cast)]
                let written = (header.msg_hdr.msg_controllen as usize).min(CONTROL_BYTES);
                destination_from_control(&self.controls[slot].0[..written])
            } else {
                Destination::Unknown
            };
        }
        self.received = count;
        Ok(count)
    }

    /// How many datagrams the last [`DatagramBatch::receive`] took.
    pub fn received(&self) -> usize {
        self.received
    }

    /// The query in `slot` and the reply buffer for it; `None` when the datagram was too
    /// large for its buffer and got cut.
    pub fn query_and_reply_buffer(&mut self, slot: usize) -> Option<(&[u8], &mut [u8])> {
        assert!(slot < self.received, "slot {slot} holds no datagram");
        let len = self.query_lens[slot]?;
        let query = &self.queries[slot * self.query_capacity..][..len];
        let reply = &mut self.replies[slot * self.reply_capacity..][..self.reply_capacity];
        Some((query, reply))
    }

    /// The IP address the datagram in `slot` came from.
    pub fn peer(&self, slot: usize) -> Option<std::net::IpAddr> {
        assert!(slot < self.received, "slot {slot} holds no datagram");
        peer_ip(&self.peers[slot], self.peer_lens[slot])
    }

    /// Marks `slot` to be answered with the first `len` bytes of its reply buffer.
    pub fn set_reply_len(&mut self, slot: usize, len: usize) {
        assert!(slot < self.received && len <= self.reply_capacity);
        self.reply_lens[slot] = len;
    }

    /// Sends every reply marked with [`DatagramBatch::set_reply_len`], to the peer that sent
    /// the query and from the address it was sent to. Retries after EINTR/EAGAIN; a reply
    /// the kernel refuses otherwise is skipped and counted, the rest still go out.
    pub fn send(&mut self, socket: BorrowedFd<'_>) -> SendReport {
        let mut pending = 0;
        for slot in 0..self.received {
            if self.reply_lens[slot] == 0 {
                continue;
            }
            self.iovecs[pending] = libc::iovec {
                iov_base: self.replies[slot * self.reply_capacity..]
                    .as_mut_ptr()
                    .cast(),
                iov_len: self.reply_lens[slot],
            };
            let header = &mut self.headers[pending];
            header.msg_len = 0;
            header.msg_hdr.msg_name = ptr::from_mut(&mut self.peers[slot]).cast();
            header.msg_hdr.msg_namelen = self.peer_lens[slot];
            header.msg_hdr.msg_iov = &mut self.iovecs[pending];
            header.msg_hdr.msg_iovlen = 1;
            header.msg_hdr.msg_flags = 0;
            write_source(
                &mut header.msg_hdr,
                &mut self.controls[slot],
                self.destinations[slot],
            );
            pending += 1;
        }
        let mut report = SendReport::default();
        let mut next = 0;
        let mut busy_retries = 0;
        while next < pending {
            let remaining = pending - next;
            // SAFETY: headers[next..pending] were filled above and point at buffers owned by
            // `self` (peers, iovecs into replies, controls) that outlive the call.
            let count = unsafe {
                libc::sendmmsg(
                    socket.as_raw_fd(),
                    self.headers[next..].as_mut_ptr(),
                    remaining as _,
                    0,
                )
            };
            if count >= 0 {
                next += count as usize;
                report.sent += count as usize;
                continue;
            }
            let error = io::Error::last_os_error();
            match error.raw_os_error() {
                Some(libc::EINTR) => continue,
                Some(libc::EAGAIN) if busy_retries < MAX_BUSY_RETRIES => busy_retries += 1,
                _ => {
                    // The first pending reply cannot go out; skip it and send the rest.
                    next += 1;
                    report.failed += 1;
                    report.last_error = Some(error);
                }
            }
        }
        report
    }
}

/// How often one send retries after EAGAIN before giving up on a reply.
const MAX_BUSY_RETRIES: u32 = 8;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::enable_packet_info;
    use std::net::UdpSocket;
    use std::os::fd::AsFd;
    use std::time::Duration;

    #[test]
    fn batch_receives_queued_datagrams_and_replies_to_each_sender() {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        let server_addr = server.local_addr().unwrap();
        let clients: Vec<UdpSocket> = (0..3)
            .map(|_| UdpSocket::bind("127.0.0.1:0").unwrap())
            .collect();
        for (i, client) in clients.iter().enumerate() {
            client
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            client.send_to(&[i as u8; 5], server_addr).unwrap();
        }
        let mut batch = DatagramBatch::new(8, 16, 16, false);
        let mut seen = 0;
        while seen < clients.len() {
            let count = batch.receive(server.as_fd()).unwrap();
            for slot in 0..count {
                let (query, reply) = batch.query_and_reply_buffer(slot).unwrap();
                assert_eq!(query.len(), 5);
                reply[..2].copy_from_slice(&[b'r', query[0]]);
                batch.set_reply_len(slot, 2);
            }
            let report = batch.send(server.as_fd());
            assert_eq!((report.sent, report.failed), (count, 0));
            seen += count;
        }
        for (i, client) in clients.iter().enumerate() {
            let mut buf = [0; 16];
            let (len, from) = client.recv_from(&mut buf).unwrap();
            assert_eq!((&buf[..len], from), (&[b'r', i as u8][..], server_addr));
        }
    }

    #[test]
    fn oversized_datagram_is_reported_as_cut() {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
        client
            .send_to(&[7; 40], server.local_addr().unwrap())
            .unwrap();
        let mut batch = DatagramBatch::new(4, 16, 16, false);
        assert_eq!(batch.receive(server.as_fd()).unwrap(), 1);
        assert!(batch.query_and_reply_buffer(0).is_none());
    }

    #[test]
    fn slots_without_reply_send_nothing() {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
        client
            .send_to(&[1; 4], server.local_addr().unwrap())
            .unwrap();
        let mut batch = DatagramBatch::new(4, 16, 16, false);
        assert_eq!(batch.receive(server.as_fd()).unwrap(), 1);
        let report = batch.send(server.as_fd());
        assert_eq!((report.sent, report.failed), (0, 0));
    }

    /// Sends one datagram to `target` and answers it through a batch on a wildcard socket;
    /// returns the address the answer came from.
    fn answer_through_wildcard(
        wildcard: &str,
        client_addr: &str,
        target_ip: &str,
    ) -> std::net::SocketAddr {
        let server = UdpSocket::bind(wildcard).unwrap();
        let ipv6 = server.local_addr().unwrap().is_ipv6();
        enable_packet_info(server.as_fd(), ipv6).unwrap();
        let target = std::net::SocketAddr::new(
            target_ip.parse().unwrap(),
            server.local_addr().unwrap().port(),
        );
        let client = UdpSocket::bind(client_addr).unwrap();
        client
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        client.send_to(b"ping", target).unwrap();
        let mut batch = DatagramBatch::new(4, 16, 16, true);
        assert_eq!(batch.receive(server.as_fd()).unwrap(), 1);
        batch.query_and_reply_buffer(0).unwrap().1[..4].copy_from_slice(b"pong");
        batch.set_reply_len(0, 4);
        let report = batch.send(server.as_fd());
        assert_eq!(
            (report.sent, report.failed),
            (1, 0),
            "{:?}",
            report.last_error
        );
        let mut buf = [0; 16];
        let (len, from) = client.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..len], b"pong");
        from
    }

    #[test]
    fn wildcard_ipv4_reply_leaves_from_the_queried_address() {
        let from = answer_through_wildcard("0.0.0.0:0", "127.0.0.1:0", "127.0.0.2");
        assert_eq!(from.ip().to_string(), "127.0.0.2");
    }

    #[test]
    fn wildcard_ipv6_reply_carries_packet_info() {
        let from = answer_through_wildcard("[::]:0", "[::1]:0", "::1");
        assert_eq!(from.ip().to_string(), "::1");
    }
}
