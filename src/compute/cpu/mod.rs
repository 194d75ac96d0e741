//! CPU twins of the GPU kernels, multi-threaded with rayon.

pub mod cfdna_bootstrap;
pub mod cfdna_loglik;
pub mod cfdna_two_donor;
pub mod hla_mismatch;
pub mod roofline;

pub use cfdna_loglik::CpuBackend;
