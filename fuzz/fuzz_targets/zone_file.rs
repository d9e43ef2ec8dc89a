//! Fuzz target: swivel::fuzzing::zone_file (its documentation lists the invariants checked).
//!
//! The zone loader catches panics of the `domain` zone file scanner and reports them as a
//! diagnostic. libFuzzer's panic hook would abort on those before they are caught, so the
//! hook is swapped for a quiet one around each run; a panic that escapes the loader still
//! ends the run as a crash, with its message.
#![no_main]

use std::cell::RefCell;
use std::panic;

thread_local! {
    static LAST_PANIC: RefCell<String> = const { RefCell::new(String::new()) };
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let fuzzer_hook = panic::take_hook();
    panic::set_hook(Box::new(|info| {
        LAST_PANIC.with_borrow_mut(|last| *last = info.to_string());
    }));
    let result = panic::catch_unwind(|| swivel::fuzzing::zone_file(data));
    panic::set_hook(fuzzer_hook);
    if result.is_err() {
        let message = LAST_PANIC.with_borrow(|last| last.clone());
        panic!("escaped the zone loader: {message}");
    }
});
