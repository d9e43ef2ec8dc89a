//! The ring of provided buffers (IORING_REGISTER_PBUF_RING) from which an io_uring worker's
//! multishot receive takes one buffer per datagram.

use io_uring::types;
use std::alloc::{self, Layout};
use std::io;
use std::mem::size_of;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU16, Ordering};

/// Alignment the kernel wants for a provided-buffer ring.
const PAGE: usize = 4096;

/// A ring of provided buffers (IORING_REGISTER_PBUF_RING): the kernel takes one per
/// datagram; each goes back once its datagram is answered.
pub(super) struct ProvidedBuffers {
    pub(super) entries: NonNull<types::BufRingEntry>,
    layout: Layout,
    mask: u16,
    tail: u16,
    size: usize,
    memory: Box<[u8]>,
}

impl ProvidedBuffers {
    pub(super) fn new(count: usize, size: usize) -> io::Result<Self> {
        let count = count.clamp(2, 1 << 15).next_power_of_two();
        let layout = Layout::from_size_align(count * size_of::<types::BufRingEntry>(), PAGE)
            .map_err(io::Error::other)?;
        // SAFETY: the layout has a non-zero size. Zeroed BufRingEntry values are valid.
        let entries = NonNull::new(unsafe { alloc::alloc_zeroed(layout) })
            .ok_or_else(|| io::Error::from(io::ErrorKind::OutOfMemory))?
            .cast::<types::BufRingEntry>();
        let mut buffers = ProvidedBuffers {
            entries,
            layout,
            mask: (count - 1) as u16,
            tail: 0,
            size,
            memory: vec![0; count * size].into_boxed_slice(),
        };
        for buffer in 0..count {
            buffers.give_back(buffer as u16);
        }
        buffers.publish();
        Ok(buffers)
    }

    pub(super) fn count(&self) -> u16 {
        self.mask.wrapping_add(1)
    }

    pub(super) fn get(&self, buffer: u16) -> &[u8] {
        &self.memory[usize::from(buffer) * self.size..][..self.size]
    }

    /// Queues `buffer` for the kernel again; it sees it after [`Self::publish`].
    pub(super) fn give_back(&mut self, buffer: u16) {
        let address = self.memory[usize::from(buffer) * self.size..].as_ptr() as u64;
        let index = usize::from(self.tail & self.mask);
        // SAFETY: `index` is below the ring's entry count, so the entry is inside the
        // allocation. The kernel reads only entries between its head and the published
        // tail, and this one is past the published tail.
        let entry = unsafe { &mut *self.entries.as_ptr().add(index) };
        entry.set_addr(address);
        entry.set_len(self.size as u32);
        entry.set_bid(buffer);
        self.tail = self.tail.wrapping_add(1);
    }

    /// Makes every buffer given back so far visible to the kernel.
    pub(super) fn publish(&self) {
        // SAFETY: the tail field lies inside the first entry of our allocation; the kernel
        // reads it with acquire ordering, so this release store publishes the entries.
        unsafe {
            let tail = types::BufRingEntry::tail(self.entries.as_ptr()).cast_mut();
            AtomicU16::from_ptr(tail).store(self.tail, Ordering::Release);
        }
    }
}

impl Drop for ProvidedBuffers {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout. The owner drops this only after the
        // kernel has let go of the ring (see `UringSocket::drop`).
        unsafe { alloc::dealloc(self.entries.as_ptr().cast(), self.layout) };
    }
}
