//! Linux system calls that neither the standard library nor socket2 wrap: batched datagram
//! I/O (`recvmmsg`/`sendmmsg`, or io_uring) with packet-info control messages, socket
//! tuning (CPU steering of a SO_REUSEPORT group, busy polling), CPU pinning, the eventfd
//! that wakes a worker blocked in io_uring, and the open files limit.
//!
//! This module (with its submodules) is the only place with `unsafe`; everything it exports
//! is safe to call.

mod datagram_batch;
mod open_files;
mod packet_info;
mod socket_tuning;
mod uring;
mod wake;

pub use datagram_batch::{DatagramBatch, SendReport};
pub use open_files::{open_files_limit, raise_open_files_limit, OpenFilesLimit};
pub use socket_tuning::{
    deny_io_uring_setup_in_this_thread, enable_packet_info, set_busy_poll,
    steer_reuseport_group_by_cpu,
};
pub use uring::{probe_io_uring, UringOptions, UringSocket};
pub use wake::EventFd;

use std::io;
use std::mem::{size_of, zeroed};

/// The CPUs this process may run on, in ascending order.
pub fn allowed_cpus() -> io::Result<Vec<usize>> {
    // SAFETY: cpu_set_t is a plain bit array; zero is the empty set. sched_getaffinity
    // writes at most `size_of::<cpu_set_t>()` bytes into it; CPU_ISSET only reads it.
    unsafe {
        let mut set: libc::cpu_set_t = zeroed();
        if libc::sched_getaffinity(0, size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok((0..libc::CPU_SETSIZE as usize)
            .filter(|&cpu| libc::CPU_ISSET(cpu, &set))
            .collect())
    }
}

/// Pins the calling thread to one CPU.
pub fn pin_current_thread(cpu: usize) -> io::Result<()> {
    if cpu >= libc::CPU_SETSIZE as usize {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("CPU {cpu} is out of range"),
        ));
    }
    // SAFETY: `cpu` is below CPU_SETSIZE, so CPU_SET stays inside the set; pid 0 means the
    // calling thread, and the size passed is the set's size.
    unsafe {
        let mut set: libc::cpu_set_t = zeroed();
        libc::CPU_SET(cpu, &mut set);
        if libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &set) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinning_to_an_allowed_cpu_works() {
        let cpus = allowed_cpus().unwrap();
        assert!(!cpus.is_empty());
        let last = *cpus.last().unwrap();
        std::thread::spawn(move || {
            pin_current_thread(last).unwrap();
            assert_eq!(allowed_cpus().unwrap(), vec![last]);
        })
        .join()
        .unwrap();
        assert!(pin_current_thread(libc::CPU_SETSIZE as usize).is_err());
    }
}
