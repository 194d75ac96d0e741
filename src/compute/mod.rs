//! Compute backends for the heavy numerical work. Each GPU kernel in `shaders/`
//! has a CPU twin in `cpu/` with the same name; the twin is the fallback on
//! machines without a GPU and the oracle in differential tests.

pub mod cpu;
pub mod gpu;

use crate::error::Result;
use crate::model::SampleModel;

/// What produced the numbers: recorded in run.json and the stderr summary.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BackendInfo {
    /// "cpu" or "gpu".
    pub kind: String,
    pub description: String,
    pub threads: Option<usize>,
}

/// Evaluates the log-likelihood of many samples over their fraction grids.
pub trait LoglikBackend: Sync {
    fn info(&self) -> BackendInfo;

    /// `grids[s]` is the grid of sample `s`; returns ℓ_s(f) for each grid point,
    /// relative to the saturated model, with each SNP's weight applied.
    fn loglik_grids(&self, models: &[SampleModel], grids: &[Vec<f64>]) -> Result<Vec<Vec<f64>>>;
}
