#![no_main]
//! cargo fuzz target `scan` (see fuzz/harness.rs).

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::scan(data));
