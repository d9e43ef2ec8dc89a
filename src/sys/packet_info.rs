//! Peer addresses and packet-info control messages shared by both UDP backends: which
//! address a datagram was sent to (IP_PKTINFO / IPV6_PKTINFO on receive), and the control
//! message that makes its reply leave from that address.

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

/// Finds the packet-info message in control-message bytes laid out as the kernel writes
/// them (`cmsghdr`, payload, padding to 8 bytes, next `cmsghdr`), in any alignment.
pub(super) fn destination_from_control(control: &[u8]) -> Destination {
    const HEADER: usize = size_of::<libc::cmsghdr>();
    const LEN_BYTES: usize = size_of::<usize>();
    const LEVEL_AT: usize = offset_of!(libc::cmsghdr, cmsg_level);
    const TYPE_AT: usize = offset_of!(libc::cmsghdr, cmsg_type);
    let int_at = |at: usize| i32::from_ne_bytes(control[at..at + 4].try_into().unwrap());
    let mut at = 0;
    while at + HEADER <= control.len() {
        let len = usize::from_ne_bytes(control[at..at + LEN_BYTES].try_into().unwrap());
        if len < HEADER {
            break;
        }
        let data = &control[at + HEADER..(at + len).min(control.len())];
        match (int_at(at + LEVEL_AT), int_at(at + TYPE_AT)) {
            (libc::IPPROTO_IP, libc::IP_PKTINFO) if data.len() >= 12 => {
                // struct in_pktinfo { int ipi_ifindex; in_addr ipi_spec_dst; in_addr ipi_addr; }
                let spec_dst = u32::from_ne_bytes(data[4..8].try_into().unwrap());
                return Destination::V4(libc::in_addr { s_addr: spec_dst });
            }
            (libc::IPPROTO_IPV6, libc::IPV6_PKTINFO) if data.len() >= 20 => {
                // struct in6_pktinfo { in6_addr ipi6_addr; unsigned ipi6_ifindex; }
                let address = libc::in6_addr {
                    s6_addr: data[..16].try_into().unwrap(),
                };
                let interface = u32::from_ne_bytes(data[16..20].try_into().unwrap());
                return Destination::V6(address, interface);
            }
            _ => at += len.next_multiple_of(size_of::<usize>()),
        }
    }
    Destination::Unknown
}

/// Finds the packet-info control message of a received datagram.
pub(super) fn read_destination(header: &libc::msghdr) -> Destination {
    // SAFETY: `header` was just filled by recvmmsg: msg_control/msg_controllen describe the
    // control messages the kernel wrote into our buffer, which the CMSG_* functions walk
    // within those bounds. Payloads are read unaligned, as they may not be aligned.
    unsafe {
        let mut message = libc::CMSG_FIRSTHDR(header);
        while !message.is_null() {
            let data = libc::CMSG_DATA(message);
            match ((*message).cmsg_level, (*message).cmsg_type) {
                (libc::IPPROTO_IP, libc::IP_PKTINFO) => {
                    let info = ptr::read_unaligned(data.cast::<libc::in_pktinfo>());
                    return Destination::V4(info.ipi_spec_dst);
                }
                (libc::IPPROTO_IPV6, libc::IPV6_PKTINFO) => {
                    let info = ptr::read_unaligned(data.cast::<libc::in6_pktinfo>());
                    return Destination::V6(info.ipi6_addr, info.ipi6_ifindex);
                }
                _ => message = libc::CMSG_NXTHDR(header, message),
            }
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

    /// Control bytes as the kernel lays them out, at an odd offset.
    fn control_message(level: i32, kind: i32, payload: &[u8]) -> Vec<u8> {
        let mut bytes = vec![0xee; 3];
        let len = size_of::<libc::cmsghdr>() + payload.len();
        let mut header = vec![0; size_of::<libc::cmsghdr>()];
        header[..size_of::<usize>()].copy_from_slice(&len.to_ne_bytes());
        let level_at = offset_of!(libc::cmsghdr, cmsg_level);
        let type_at = offset_of!(libc::cmsghdr, cmsg_type);
        header[level_at..level_at + 4].copy_from_slice(&level.to_ne_bytes());
        header[type_at..type_at + 4].copy_from_slice(&kind.to_ne_bytes());
        bytes.extend_from_slice(&header);
        bytes.extend_from_slice(payload);
        bytes.resize(3 + len.next_multiple_of(8), 0);
        bytes
    }

    #[test]
    fn packet_info_is_found_behind_other_messages_in_unaligned_bytes() {
        let mut payload = vec![0; 12];
        payload[4..8].copy_from_slice(&[127, 0, 0, 2]);
        let mut bytes = control_message(libc::SOL_SOCKET, libc::SO_TIMESTAMP, &[1; 16]);
        bytes
            .extend_from_slice(&control_message(libc::IPPROTO_IP, libc::IP_PKTINFO, &payload)[3..]);
        let Destination::V4(address) = destination_from_control(&bytes[3..]) else {
            panic!("no IPv4 packet info found");
        };
        assert_eq!(address.s_addr.to_ne_bytes(), [127, 0, 0, 2]);

        let mut payload = vec![0; 20];
        payload[15] = 1;
        payload[16..20].copy_from_slice(&7u32.to_ne_bytes());
        let bytes = control_message(libc::IPPROTO_IPV6, libc::IPV6_PKTINFO, &payload);
        let Destination::V6(address, interface) = destination_from_control(&bytes[3..]) else {
            panic!("no IPv6 packet info found");
        };
        assert_eq!((address.s6_addr[15], interface), (1, 7));
    }

    #[test]
    fn cut_or_empty_control_bytes_give_no_destination() {
        let bytes = control_message(libc::IPPROTO_IP, libc::IP_PKTINFO, &[0; 12]);
        assert!(matches!(
            destination_from_control(&bytes[3..10]),
            Destination::Unknown
        ));
        assert!(matches!(
            destination_from_control(&[]),
            Destination::Unknown
        ));
        assert!(matches!(
            destination_from_control(&[0; 16]),
            Destination::Unknown
        ));
    }
}
