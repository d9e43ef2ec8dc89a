//! Fuzz target: swivel::fuzzing::xfr_client (its documentation lists the invariants checked).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| swivel::fuzzing::xfr_client(data));
