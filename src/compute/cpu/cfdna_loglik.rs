//! CPU twin of `shaders/cfdna_loglik.wgsl`: the log-likelihood of every sample at
//! every grid point, with ln π and ln(1 − π) tabulated per (grid point, genotype
//! class) before the SNP loop, exactly as the kernel receives them. Runs in f64.

use crate::compute::{BackendInfo, LoglikBackend};
use crate::error::Result;
use crate::model::SampleModel;
use crate::model::snp_layout::TABLES_PER_SWEEP;
use crate::model::two_donor::TwoDonorModel;

#[derive(Debug, Default, Clone)]
pub struct CpuBackend;

/// ℓ(f) of one sample over its grid.
pub fn loglik_grid(model: &SampleModel, grid: &[f64]) -> Vec<f64> {
    grid.iter()
        .map(|&f| model.loglik_with(&model.table(f, model.error_rate)))
        .collect()
}

impl LoglikBackend for CpuBackend {
    fn info(&self) -> BackendInfo {
        BackendInfo {
            kind: "cpu".into(),
            description: format!("CPU (rayon, {} threads)", rayon::current_num_threads()),
            threads: Some(rayon::current_num_threads()),
            ..BackendInfo::default()
        }
    }

    fn loglik_grids(&self, models: &[SampleModel], grids: &[Vec<f64>]) -> Result<Vec<Vec<f64>>> {
        // Weights gathered once per draw for all its grid points, and
        // `TABLES_PER_SWEEP` grid points per sweep over a draw's SNPs.
        let weights: Vec<_> = models.iter().map(|m| m.slot_weights()).collect();
        Ok(super::per_grid_chunk(
            grids,
            TABLES_PER_SWEEP,
            |s, points| {
                let m = &models[s];
                let tables: Vec<_> = points.iter().map(|&f| m.table(f, m.error_rate)).collect();
                m.loglik_many_with_weights(&tables, weights[s].as_ref())
            },
        ))
    }

    fn two_donor_loglik_grids(
        &self,
        models: &[TwoDonorModel],
        grids: &[Vec<(f64, f64)>],
    ) -> Result<Vec<Vec<f64>>> {
        Ok(super::cfdna_two_donor::two_donor_loglik_grids(
            models, grids,
        ))
    }

    fn bootstrap_estimates(
        &self,
        models: &[SampleModel],
        grids: &[Vec<f64>],
        replicates: u32,
        seed: u64,
    ) -> Result<Vec<Vec<f64>>> {
        Ok(super::cfdna_bootstrap::bootstrap_estimates(
            models, grids, replicates, seed,
        ))
    }
}
