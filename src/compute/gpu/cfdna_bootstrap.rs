//! Host side of `shaders/cfdna_bootstrap.wgsl`: replicate grids on the device,
//! each reduced to an estimate by the host code the CPU twin uses
//! (`cpu::cfdna_bootstrap::replicate_estimate`).

use super::cfdna_loglik::GpuBackend;
use super::context::Kernel;
use crate::compute::cpu::cfdna_bootstrap::replicate_estimate;
use crate::error::Result;
use crate::model::SampleModel;

/// Samples per device call: bounds host memory for replicate grids
/// (samples × replicates × grid values) on large batches.
const SAMPLES_PER_CALL: usize = 256;

pub fn bootstrap_estimates(
    backend: &GpuBackend,
    models: &[SampleModel],
    grids: &[Vec<f64>],
    replicates: u32,
    seed: u64,
) -> Result<Vec<Vec<f64>>> {
    let mut out = Vec::with_capacity(models.len());
    for (slice, (m, g)) in models
        .chunks(SAMPLES_PER_CALL)
        .zip(grids.chunks(SAMPLES_PER_CALL))
        .enumerate()
    {
        let base = (slice * SAMPLES_PER_CALL) as u32;
        let values = backend.evaluate(Kernel::Bootstrap, m, g, replicates, seed, base)?;
        for (grid, v) in g.iter().zip(values) {
            out.push(
                v.chunks(grid.len().max(1))
                    .take(replicates as usize)
                    .map(|rep| replicate_estimate(grid, rep))
                    .collect(),
            );
        }
    }
    Ok(out)
}
