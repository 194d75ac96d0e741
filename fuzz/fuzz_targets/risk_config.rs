#![no_main]
//! cargo fuzz target `risk_config` (see fuzz/harness.rs).

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::risk_config(data));
