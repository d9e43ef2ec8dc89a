//! Fuzz target: swivel::fuzzing::parse_query (its documentation lists the invariants checked).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| swivel::fuzzing::parse_query(data));
