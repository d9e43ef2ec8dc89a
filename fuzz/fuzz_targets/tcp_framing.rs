//! Fuzz target: swivel::fuzzing::tcp_framing (its documentation lists the invariants checked).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| swivel::fuzzing::tcp_framing(data));
