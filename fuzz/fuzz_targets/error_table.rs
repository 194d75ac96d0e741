#![no_main]
//! cargo fuzz target `error_table` (see fuzz/harness.rs).

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::error_table(data));
