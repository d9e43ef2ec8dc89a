//! Fuzz target: swivel::fuzzing::zone_file (its documentation lists the invariants checked).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| swivel::fuzzing::zone_file(data));
