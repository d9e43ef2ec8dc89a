//! An eventfd: a counter another thread can bump to wake a UDP worker blocked in its
//! io_uring (which polls it), so that the worker sees the server's stop flag.

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

/// One eventfd; [`EventFd::signal`] makes it readable, and a poll on it completes.
#[derive(Debug)]
pub struct EventFd(File);

impl EventFd {
    pub fn new() -> io::Result<Self> {
        // SAFETY: eventfd takes no pointers; it returns a new descriptor or -1.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just returned by eventfd, is open, and nothing else owns it.
        let owned = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(EventFd(File::from(owned)))
    }

    /// A second descriptor for the same eventfd.
    pub fn try_clone(&self) -> io::Result<Self> {
        self.0.try_clone().map(EventFd)
    }

    /// Adds one to the counter: the eventfd becomes readable.
    pub fn signal(&self) -> io::Result<()> {
        (&self.0).write_all(&1u64.to_ne_bytes())
    }
}

impl AsFd for EventFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

impl AsRawFd for EventFd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn a_signal_makes_the_counter_readable_through_a_clone() {
        let event = EventFd::new().unwrap();
        event.try_clone().unwrap().signal().unwrap();
        let mut value = [0u8; 8];
        (&event.0).read_exact(&mut value).unwrap();
        assert_eq!(u64::from_ne_bytes(value), 1);
    }
}
