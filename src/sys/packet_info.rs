//! Peer addresses and packet-info control messages shared by both UDP backends: which
//! address a datagram was sent to (IP_PKTINFO / IPV6_PKTINFO on receive, read by one safe
//! parser of the control bytes for both recvmmsg and io_uring), and the control message
//! that makes its reply leave from that address.

use std::mem::{offset_of, size_of};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::ptr;

/// Room for one control message per slot: a packet-info message of either family fits
/// (`CMSG_SPACE(sizeof(in6_pktinfo))` is 40 bytes on 64-bit Linux).
pub(super) const CONTROL_BYTES: usize = 64;

/// A control-message buffer aligned for `cmsghdr`.
#[derive(Clone, Copy)]
#[repr(C, align(8))]
pub(super) struct ControlSpace(pub [u8; CONTROL_BYTES]);

/// The address a datagram was sent to, taken from its packet-info control message; the
/// reply goes out from this address.
#[derive(Clone, Copy)]
pub(super) enum Destination {
    /// No packet info (not asked for, or not delivered): the kernel picks the source.
    Unknown,
    V4(libc::in_addr),
    V6(libc::in6_addr, u32),
}

/// The IP address in a socket address the kernel wrote (`len` bytes of it).
pub(super) fn peer_ip(storage: &libc::sockaddr_storage, len: libc::socklen_t) -> Option<IpAddr> {
    let len = len as usize;
    match i32::from(storage.ss_family) {
        libc::AF_INET if len >= size_of::<libc::sockaddr_in>() => {
            // SAFETY: the kernel wrote a sockaddr_in (family AF_INET, length checked) at
            // the start of this sockaddr_storage, which is aligned for any sockaddr.
            let v4 = unsafe { &*ptr::from_ref(storage).cast::<libc::sockaddr_in>() };
            Some(Ipv4Addr::from(u32::from_be(v4.sin_addr.s_addr)).into())
        }
        libc::AF_INET6 if len >= size_of::<libc::sockaddr_in6>() => {
            // SAFETY: as above, for a sockaddr_in6 (family AF_INET6, length checked).
            let v6 = unsafe { &*ptr::from_ref(storage).cast::<libc::sockaddr_in6>() };
            Some(Ipv6Addr::from(v6.sin6_addr.s6_addr).into())
        }
        _ => None,
    }
}

/// Copies the socket address bytes `name` (as the kernel wrote them) into `storage`;
/// returns their length, cut to the storage size.
pub(super) fn store_peer(name: &[u8], storage: &mut libc::sockaddr_storage) -> libc::socklen_t {
    let len = name.len().min(size_of::<libc::sockaddr_storage>());
    // SAFETY: copies `len` bytes, at most the size of `storage`, from a live slice into
    // `storage`; sockaddr_storage is plain bytes for which any content is valid.
    unsafe {
        ptr::copy_nonoverlapping(name.as_ptr(), ptr::from_mut(storage).cast::<u8>(), len);
    }
    len as libc::socklen_t
}

/// Length of a control message's header, and where its payload starts
/// (`CMSG_LEN(0)`: `cmsghdr` is already a multiple of the alignment below).
const CMSG_HEADER: usize = size_of::<libc::cmsghdr>();
/// Control messages start at multiples of this (`CMSG_ALIGN`, the size of a long on Linux).
const CMSG_ALIGN: usize = size_of::<usize>();

/// One control message: its level, type and payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ControlMessage<'a> {
    level: i32,
    kind: i32,
    data: &'a [u8],
}

/// The control messages in bytes laid out as the kernel writes them (`cmsghdr`, payload,
/// padding to [`CMSG_ALIGN`], next `cmsghdr`), read in place at any alignment. A header
/// whose length is shorter than a header or runs past the bytes ends the walk.
struct ControlMessages<'a> {
    rest: &'a [u8],
}

impl<'a> ControlMessages<'a> {
    fn new(control: &'a [u8]) -> ControlMessages<'a> {
        ControlMessages { rest: control }
    }
}

impl<'a> Iterator for ControlMessages<'a> {
    type Item = ControlMessage<'a>;

    fn next(&mut self) -> Option<ControlMessage<'a>> {
        let header = self.rest.get(..CMSG_HEADER)?;
        let len = cmsg_len(header);
        if len < CMSG_HEADER || len > self.rest.len() {
            self.rest = &[];
            return None;
        }
        let message = ControlMessage {
            level: ne_i32(header, offset_of!(libc::cmsghdr, cmsg_level)),
            kind: ne_i32(header, offset_of!(libc::cmsghdr, cmsg_type)),
            data: &self.rest[CMSG_HEADER..len],
        };
        self.rest = self
            .rest
            .get(len.next_multiple_of(CMSG_ALIGN)..)
            .unwrap_or(&[]);
        Some(message)
    }
}

/// The `cmsg_len` field of a control message header, whatever its width (`size_t` with
/// glibc, `socklen_t` and padding with musl).
fn cmsg_len(header: &[u8]) -> usize {
    fn width<T>(_: fn(&libc::cmsghdr) -> &T) -> usize {
        size_of::<T>()
    }
    let at = offset_of!(libc::cmsghdr, cmsg_len);
    match width(|h| &h.cmsg_len) {
        8 => u64::from_ne_bytes(header[at..at + 8].try_into().unwrap()) as usize,
        _ => u32::from_ne_bytes(header[at..at + 4].try_into().unwrap()) as usize,
    }
}

fn ne_i32(bytes: &[u8], at: usize) -> i32 {
    i32::from_ne_bytes(bytes[at..at + 4].try_into().unwrap())
}

fn ne_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes(bytes[at..at + 4].try_into().unwrap())
}

/// Finds the packet-info message (IP_PKTINFO or IPV6_PKTINFO) in the control bytes of a
/// received datagram: those recvmmsg wrote into a slot's [`ControlSpace`] (cut to the
/// `msg_controllen` it returned) or those in an io_uring receive buffer. A packet-info
/// message too short for its struct is passed over like any other.
pub(super) fn destination_from_control(control: &[u8]) -> Destination {
    for message in ControlMessages::new(control) {
        match (message.level, message.kind) {
            (libc::IPPROTO_IP, libc::IP_PKTINFO)
                if message.data.len() >= size_of::<libc::in_pktinfo>() =>
            {
                // The local address the datagram was sent to, as the reply's source.
                let at = offset_of!(libc::in_pktinfo, ipi_spec_dst);
                let s_addr = ne_u32(message.data, at);
                return Destination::V4(libc::in_addr { s_addr });
            }
            (libc::IPPROTO_IPV6, libc::IPV6_PKTINFO)
                if message.data.len() >= size_of::<libc::in6_pktinfo>() =>
            {
                let at = offset_of!(libc::in6_pktinfo, ipi6_addr);
                let address = libc::in6_addr {
                    s6_addr: message.data[at..at + 16].try_into().unwrap(),
                };
                let interface = ne_u32(message.data, offset_of!(libc::in6_pktinfo, ipi6_ifindex));
                return Destination::V6(address, interface);
            }
            _ => {}
        }
    }
    Destination::Unknown
}

/// Points `header` at `control`, holding a packet-info message that sets the source
/// address to `destination`, or at no control data when the destination is unknown.
pub(super) fn write_source(
    header: &mut libc::msghdr,
    control: &mut ControlSpace,
    destination: Destination,
) {
    let (level, kind, payload_len) = match destination {
        Destination::Unknown => {
            header.msg_control = ptr::null_mut();
            header.msg_controllen = 0;
            return;
        }
        Destination::V4(_) => (
            libc::IPPROTO_IP,
            libc::IP_PKTINFO,
            size_of::<libc::in_pktinfo>(),
        ),
        Destination::V6(..) => (
            libc::IPPROTO_IPV6,
            libc::IPV6_PKTINFO,
            size_of::<libc::in6_pktinfo>(),
        ),
    };
    control.0.fill(0);
    header.msg_control = control.0.as_mut_ptr().cast();
    // SAFETY: CMSG_SPACE/CMSG_LEN are pure arithmetic. CMSG_FIRSTHDR returns the start of
    // `control`, which is aligned for cmsghdr and, at CONTROL_BYTES, larger than the
    // CMSG_SPACE of either pktinfo struct, so the header and payload writes stay inside it.
    unsafe {
        header.msg_controllen = libc::CMSG_SPACE(payload_len as u32) as _;
        let message = libc::CMSG_FIRSTHDR(header);
        (*message).cmsg_level = level;
        (*message).cmsg_type = kind;
        (*message).cmsg_len = libc::CMSG_LEN(payload_len as u32) as _;
        let data = libc::CMSG_DATA(message);
        match destination {
            Destination::V4(address) => {
                let info = libc::in_pktinfo {
                    ipi_ifindex: 0,
                    ipi_spec_dst: address,
                    ipi_addr: libc::in_addr { s_addr: 0 },
                };
                ptr::write_unaligned(data.cast::<libc::in_pktinfo>(), info);
            }
            Destination::V6(address, interface) => {
                let info = libc::in6_pktinfo {
                    ipi6_addr: address,
                    ipi6_ifindex: interface,
                };
                ptr::write_unaligned(data.cast::<libc::in6_pktinfo>(), info);
            }
            Destination::Unknown => unreachable!("handled above"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Control messages as Linux writes them on 64-bit little-endian machines: `cmsg_len` in
    // 8 bytes, level and type in 4 each, the payload, then padding to 8 bytes.

    /// IP_PKTINFO (level 0, type 8): interface 2, local address 127.0.0.2, destination
    /// 127.0.0.1.
    const IPV4: [u8; 32] = [
        28, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, //
        2, 0, 0, 0, 127, 0, 0, 2, 127, 0, 0, 1, 0, 0, 0, 0,
    ];
    /// IPV6_PKTINFO (level 41, type 50): address ::1, interface 7.
    const IPV6: [u8; 40] = [
        36, 0, 0, 0, 0, 0, 0, 0, 41, 0, 0, 0, 50, 0, 0, 0, //
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, //
        7, 0, 0, 0, 0, 0, 0, 0,
    ];
    /// SO_TIMESTAMP (level 1, type 29): a 16-byte struct timeval.
    const TIMESTAMP: [u8; 32] = [
        32, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 29, 0, 0, 0, //
        1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2,
    ];

    fn v4(control: &[u8]) -> Option<[u8; 4]> {
        match destination_from_control(control) {
            Destination::V4(address) => Some(address.s_addr.to_ne_bytes()),
            _ => None,
        }
    }

    fn v6(control: &[u8]) -> Option<([u8; 16], u32)> {
        match destination_from_control(control) {
            Destination::V6(address, interface) => Some((address.s6_addr, interface)),
            _ => None,
        }
    }

    fn unknown(control: &[u8]) -> bool {
        matches!(destination_from_control(control), Destination::Unknown)
    }

    fn joined(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    #[test]
    #[cfg(all(
        target_os = "linux",
        target_pointer_width = "64",
        target_endian = "little"
    ))]
    fn the_literal_layout_is_the_kernels() {
        assert_eq!((libc::IPPROTO_IP, libc::IP_PKTINFO), (0, 8));
        assert_eq!((libc::IPPROTO_IPV6, libc::IPV6_PKTINFO), (41, 50));
        assert_eq!((libc::SOL_SOCKET, libc::SO_TIMESTAMP), (1, 29));
        assert_eq!(CMSG_HEADER, 16);
        // SAFETY: CMSG_LEN and CMSG_SPACE are arithmetic on their argument alone.
        let (len, space) = unsafe { (libc::CMSG_LEN(12), libc::CMSG_SPACE(20)) };
        assert_eq!((len, space), (28, 40));
    }

    #[test]
    #[cfg(all(
        target_os = "linux",
        target_pointer_width = "64",
        target_endian = "little"
    ))]
    fn reads_ipv4_and_ipv6_packet_info() {
        assert_eq!(v4(&IPV4), Some([127, 0, 0, 2]));
        let mut loopback = [0; 16];
        loopback[15] = 1;
        assert_eq!(v6(&IPV6), Some((loopback, 7)));
        assert_eq!(
            v4(&IPV4[..28]),
            Some([127, 0, 0, 2]),
            "no padding after the last"
        );
    }

    #[test]
    #[cfg(all(
        target_os = "linux",
        target_pointer_width = "64",
        target_endian = "little"
    ))]
    fn finds_packet_info_behind_other_messages_at_any_alignment() {
        let bytes = joined(&[&[0xee; 3], &TIMESTAMP, &IPV4]);
        assert_eq!(v4(&bytes[3..]), Some([127, 0, 0, 2]));
        let bytes = joined(&[&TIMESTAMP, &IPV6]);
        assert_eq!(v6(&bytes).map(|(_, interface)| interface), Some(7));
        let messages: Vec<_> = ControlMessages::new(&bytes)
            .map(|m| (m.level, m.kind, m.data.len()))
            .collect();
        assert_eq!(messages, [(1, 29, 16), (41, 50, 20)]);
    }

    #[test]
    #[cfg(all(
        target_os = "linux",
        target_pointer_width = "64",
        target_endian = "little"
    ))]
    fn unknown_levels_and_types_give_no_destination() {
        assert!(unknown(&TIMESTAMP));
        let mut wrong_level = IPV4;
        wrong_level[8] = 41; // type 8 at level IPPROTO_IPV6
        assert!(unknown(&wrong_level));
        let mut wrong_type = IPV6;
        wrong_type[12] = 49; // level IPPROTO_IPV6, type 49
        assert!(unknown(&wrong_type));
    }

    #[test]
    #[cfg(all(
        target_os = "linux",
        target_pointer_width = "64",
        target_endian = "little"
    ))]
    fn truncated_control_bytes_give_no_destination() {
        assert!(unknown(&[]));
        assert!(unknown(&IPV4[..10]), "cut in the header");
        assert!(unknown(&IPV4[..20]), "cut in the payload");
        assert!(unknown(&IPV6[..35]), "cut in the payload");
        assert!(unknown(&[0; 16]), "length 0");
        let mut short = IPV4;
        short[0] = 24; // a length that leaves 8 bytes of in_pktinfo's 12
        assert!(unknown(&short));
        let mut long = IPV4;
        long[0] = 33; // runs past the bytes
        assert!(unknown(&long));
        let bytes = joined(&[&TIMESTAMP, &IPV4[..27]]);
        assert!(unknown(&bytes), "the packet info is cut");
    }
}
