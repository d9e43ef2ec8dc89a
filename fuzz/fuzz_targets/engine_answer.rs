//! Fuzz target: swivel::fuzzing::engine_answer (its documentation lists the invariants checked).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| swivel::fuzzing::engine_answer(data));
