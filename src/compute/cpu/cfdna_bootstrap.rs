//! CPU twin of `shaders/cfdna_bootstrap.wgsl`: SNP bootstrap of the donor
//! fraction. Replicate b of sample s weights SNP i by a Poisson(1) count drawn
//! from an integer hash of (seed, s, b, i) (`layout::bootstrap_count`), so the
//! CPU and the GPU resample exactly the same SNPs. Each replicate's estimate is
//! the grid argmax refined by a parabola through its neighbours
//! (`replicate_estimate`), the same host code for both paths; the interval is
//! the 2.5–97.5% percentile of the replicates (Efron & Tibshirani 1993, §13.3).

use rayon::prelude::*;

use crate::compute::gpu::layout::{bootstrap_count_with_key, replicate_key};
use crate::model::SampleModel;
use crate::model::likelihood::{ClassLogProbs, snp_loglik};

/// ℓ_b(f_j) of one replicate over the grid, in f64.
pub fn replicate_loglik_grid(
    model: &SampleModel,
    tables: &[ClassLogProbs],
    sample_index: u32,
    replicate: u32,
    seed: u64,
) -> Vec<f64> {
    let mut values = vec![0.0f64; tables.len()];
    let key = replicate_key(seed, sample_index, replicate);
    for (i, snp) in model.snps.iter().enumerate() {
        let c = bootstrap_count_with_key(key, i as u32);
        if c == 0 {
            continue;
        }
        let w = snp.weight * f64::from(c);
        let terms = model.snp_terms(snp);
        for (v, table) in values.iter_mut().zip(tables) {
            *v += w * snp_loglik(snp, terms, table);
        }
    }
    values
}

/// A replicate's fraction estimate from its grid values: the argmax, refined by
/// the vertex of the parabola through it and its neighbours in ln f (the grid is
/// log-spaced after its first point, f = 0). Shared by the CPU and GPU paths.
pub fn replicate_estimate(grid: &[f64], values: &[f64]) -> f64 {
    if grid.is_empty() || values.len() != grid.len() {
        return f64::NAN;
    }
    let mut j = 0;
    for (i, v) in values.iter().enumerate() {
        if *v > values[j] {
            j = i;
        }
    }
    if j == 0 {
        return 0.0;
    }
    if j < 2 || j + 1 >= grid.len() {
        return grid[j];
    }
    let (a, b, c) = (values[j - 1], values[j], values[j + 1]);
    let curvature = a - 2.0 * b + c;
    if curvature >= 0.0 || !curvature.is_finite() {
        return grid[j];
    }
    let delta = (0.5 * (a - c) / curvature).clamp(-0.5, 0.5);
    let (lo, hi) = (grid[j].ln(), grid[j + 1].ln());
    (lo + delta * (hi - lo)).exp()
}

pub use crate::model::backend::{percentile, percentile_interval};

/// Replicate estimates of every sample (`replicates` per sample), in parallel
/// over (sample, replicate).
pub fn bootstrap_estimates(
    models: &[SampleModel],
    grids: &[Vec<f64>],
    replicates: u32,
    seed: u64,
) -> Vec<Vec<f64>> {
    if replicates == 0 {
        return vec![Vec::new(); models.len()];
    }
    let tables: Vec<Vec<ClassLogProbs>> = models
        .iter()
        .zip(grids)
        .map(|(m, g)| g.iter().map(|&f| m.table(f, m.error_rate)).collect())
        .collect();
    let jobs: Vec<(usize, u32)> = (0..models.len())
        .flat_map(|s| (0..replicates).map(move |b| (s, b)))
        .collect();
    let flat: Vec<f64> = jobs
        .par_iter()
        .map(|&(s, b)| {
            let values = replicate_loglik_grid(&models[s], &tables[s], s as u32, b, seed);
            replicate_estimate(&grids[s], &values)
        })
        .collect();
    flat.chunks(replicates.max(1) as usize)
        .map(|c| c.to_vec())
        .take(models.len())
        .collect()
}
