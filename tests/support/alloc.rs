//! A global allocator that counts allocations (and reallocations), for the tests that prove
//! a path allocates nothing. A binary installs it with
//! `#[global_allocator] static GLOBAL: support::alloc::Counting = support::alloc::Counting;`.
//!
//! What is counted: every thread that called [`count_this_thread`], and, while
//! [`count_every_thread`] is on, every thread but those that called [`exempt_this_thread`].

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

pub struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);
static EVERY_THREAD: AtomicBool = AtomicBool::new(false);

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Default,
    Counted,
    Exempt,
}

thread_local! {
    static MODE: Cell<Mode> = const { Cell::new(Mode::Default) };
}

fn counted() -> bool {
    match MODE.with(Cell::get) {
        Mode::Counted => true,
        Mode::Exempt => false,
        Mode::Default => EVERY_THREAD.load(Ordering::Relaxed),
    }
}

// SAFETY: every call is passed on unchanged to the system allocator; counting only touches
// an atomic and a const-initialised thread-local, neither of which allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if counted() {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: the caller's contract for `alloc` is passed on as it is.
        unsafe { System.alloc(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if counted() {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: as above, for `realloc`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above, for `dealloc`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

/// Allocations counted so far.
pub fn allocations() -> usize {
    ALLOCATIONS.load(Ordering::Relaxed)
}

/// Counts the calling thread's allocations (`true`) or stops (`false`).
pub fn count_this_thread(on: bool) {
    MODE.with(|mode| mode.set(if on { Mode::Counted } else { Mode::Default }));
}

/// Leaves the calling thread's allocations out even while every thread is counted.
pub fn exempt_this_thread(on: bool) {
    MODE.with(|mode| mode.set(if on { Mode::Exempt } else { Mode::Default }));
}

/// Counts the allocations of every thread not exempt (`true`), or stops (`false`).
pub fn count_every_thread(on: bool) {
    EVERY_THREAD.store(on, Ordering::Relaxed);
}
