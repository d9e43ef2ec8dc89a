//! Socket options for the UDP workers that socket2 does not offer: steering each datagram
//! of a SO_REUSEPORT group to the socket of the CPU that received it (a classic-BPF program,
//! as Knot DNS does with `socket-affinity`), and busy polling.

use std::io;
use std::mem::size_of;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::ptr;

/// Sets an integer socket option.
fn set_int_option(
    socket: BorrowedFd<'_>,
    level: libc::c_int,
    option: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    // SAFETY: passes a pointer to a live c_int with its exact size, as setsockopt expects.
    let result = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            level,
            option,
            ptr::from_ref(&value).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if result != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Asks the kernel to report each datagram's destination address (IP_PKTINFO or
/// IPV6_RECVPKTINFO), so that replies from a wildcard socket leave from that address.
pub fn enable_packet_info(socket: BorrowedFd<'_>, ipv6: bool) -> io::Result<()> {
    if ipv6 {
        set_int_option(socket, libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO, 1)
    } else {
        set_int_option(socket, libc::IPPROTO_IP, libc::IP_PKTINFO, 1)
    }
}

/// Lets a blocking receive on `socket` poll the device queue for up to `microseconds`
/// before sleeping (SO_BUSY_POLL). Needs CAP_NET_ADMIN above `net.core.busy_read`; only
/// devices with NAPI polling (real NICs, not loopback) are polled.
pub fn set_busy_poll(socket: BorrowedFd<'_>, microseconds: u32) -> io::Result<()> {
    let value = libc::c_int::try_from(microseconds)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "busy poll time too long"))?;
    set_int_option(socket, libc::SOL_SOCKET, libc::SO_BUSY_POLL, value)
}

/// Attaches to the SO_REUSEPORT group of `socket` a classic-BPF program that picks, for
/// every datagram, the socket whose index in the group (the order they were bound in) is
/// the number of the CPU that received it, modulo `group_size`. Worker `i` must therefore
/// run on CPU `i` for the datagram to stay on the CPU where it arrived.
pub fn steer_reuseport_group_by_cpu(socket: BorrowedFd<'_>, group_size: usize) -> io::Result<()> {
    let group_size = u32::try_from(group_size)
        .ok()
        .filter(|&size| size > 0)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "bad group size"))?;
    let instruction = |code: u32, k: u32| libc::sock_filter {
        code: code as u16,
        jt: 0,
        jf: 0,
        k,
    };
    let mut program = [
        // A = the number of the CPU handling the packet.
        instruction(
            libc::BPF_LD | libc::BPF_W | libc::BPF_ABS,
            (libc::SKF_AD_OFF + libc::SKF_AD_CPU) as u32,
        ),
        // A = A % group_size.
        instruction(libc::BPF_ALU | libc::BPF_MOD | libc::BPF_K, group_size),
        // Deliver to socket number A of the group.
        instruction(libc::BPF_RET | libc::BPF_A, 0),
    ];
    let fprog = libc::sock_fprog {
        len: program.len() as u16,
        filter: program.as_mut_ptr(),
    };
    // SAFETY: `fprog` points at `program`, which lives until the call returns; the kernel
    // copies the program. The size passed is that of sock_fprog.
    let result = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_ATTACH_REUSEPORT_CBPF,
            ptr::from_ref(&fprog).cast(),
            size_of::<libc::sock_fprog>() as libc::socklen_t,
        )
    };
    if result != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Makes `io_uring_setup` fail with EPERM for the calling thread and the threads it starts
/// from now on, as the default seccomp profiles of container runtimes do. For tests of the
/// fallback to batched system calls; irreversible for the thread.
pub fn deny_io_uring_setup_in_this_thread() -> io::Result<()> {
    let instruction = |code: u32, jt: u8, jf: u8, k: u32| libc::sock_filter {
        code: code as u16,
        jt,
        jf,
        k,
    };
    let mut program = [
        // A = the system call number (offset 0 of struct seccomp_data).
        instruction(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, 0, 0, 0),
        instruction(
            libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K,
            0,
            1,
            libc::SYS_io_uring_setup as u32,
        ),
        instruction(
            libc::BPF_RET | libc::BPF_K,
            0,
            0,
            libc::SECCOMP_RET_ERRNO | libc::EPERM as u32,
        ),
        instruction(libc::BPF_RET | libc::BPF_K, 0, 0, libc::SECCOMP_RET_ALLOW),
    ];
    let fprog = libc::sock_fprog {
        len: program.len() as u16,
        filter: program.as_mut_ptr(),
    };
    // SAFETY: both prctl calls take integer arguments; PR_SET_SECCOMP reads the program
    // through `fprog`, which points at `program`, alive until the call returns (the kernel
    // copies it). Neither call touches memory of ours afterwards.
    let result = unsafe {
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
            -1
        } else {
            libc::prctl(
                libc::PR_SET_SECCOMP,
                libc::SECCOMP_MODE_FILTER,
                ptr::from_ref(&fprog),
            )
        }
    };
    if result != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
