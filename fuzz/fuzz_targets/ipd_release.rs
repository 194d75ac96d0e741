#![no_main]
//! cargo fuzz target `ipd_release` (see fuzz/harness.rs).

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::ipd_release(data));
