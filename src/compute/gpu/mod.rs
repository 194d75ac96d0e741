//! wgpu backend: host sides of the WGSL kernels in `shaders/`, the device
//! context, the shared data layout and chunking.

pub mod cfdna_bootstrap;
pub mod cfdna_loglik;
pub mod cfdna_two_donor;
pub mod chunking;
pub mod context;
pub mod hla_mismatch;
pub mod layout;

pub use cfdna_loglik::GpuBackend;
pub use context::{GpuContext, PhaseTimings, adapter_label, device_type_name, is_hardware};
