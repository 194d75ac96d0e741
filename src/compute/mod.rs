//! Compute backends for the heavy numerical work. Each GPU kernel in `shaders/`
//! has a CPU twin in `cpu/` with the same name; the twin is the fallback on
//! machines without a GPU and the oracle in differential tests.

pub mod cpu;
pub mod gpu;
pub mod select;
pub mod synthetic;

// The estimator owns the interface it drives (model::backend); the backends
// here implement it.
pub use crate::model::backend::{BackendInfo, LoglikBackend};
