#![no_main]
//! cargo fuzz target `hla_names` (see fuzz/harness.rs).

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::hla_names(data));
