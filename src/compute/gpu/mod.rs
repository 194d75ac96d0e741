pub mod hla_mismatch;
