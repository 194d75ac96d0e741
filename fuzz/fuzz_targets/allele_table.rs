#![no_main]
//! cargo fuzz target `allele_table` (see fuzz/harness.rs).

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::allele_table(data));
