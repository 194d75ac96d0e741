//! CPU twins of the GPU kernels, multi-threaded with rayon.

pub mod cfdna_bootstrap;
pub mod cfdna_loglik;
pub mod cfdna_two_donor;
pub mod hla_mismatch;
pub mod roofline;

pub use cfdna_loglik::CpuBackend;

use rayon::prelude::*;

/// `eval(draw, point)` at every point of every draw's grid, in parallel over
/// (draw, point) so that a batch of one draw still uses every core.
pub(crate) fn per_grid_point<T: Sync>(
    grids: &[Vec<T>],
    eval: impl Fn(usize, &T) -> f64 + Sync,
) -> Vec<Vec<f64>> {
    let jobs: Vec<(usize, usize)> = grids
        .iter()
        .enumerate()
        .flat_map(|(s, g)| (0..g.len()).map(move |j| (s, j)))
        .collect();
    let flat: Vec<f64> = jobs
        .par_iter()
        .map(|&(s, j)| eval(s, &grids[s][j]))
        .collect();
    let mut out = Vec::with_capacity(grids.len());
    let mut at = 0;
    for g in grids {
        out.push(flat[at..at + g.len()].to_vec());
        at += g.len();
    }
    out
}

/// `eval(draw, points)` over runs of at most `chunk` consecutive points of
/// every draw's grid, in parallel over (draw, run): for evaluations that
/// share a sweep over a draw's data between grid points.
pub(crate) fn per_grid_chunk<T: Sync>(
    grids: &[Vec<T>],
    chunk: usize,
    eval: impl Fn(usize, &[T]) -> Vec<f64> + Sync,
) -> Vec<Vec<f64>> {
    let chunk = chunk.max(1);
    let jobs: Vec<(usize, usize)> = grids
        .iter()
        .enumerate()
        .flat_map(|(s, g)| (0..g.len()).step_by(chunk).map(move |j| (s, j)))
        .collect();
    let parts: Vec<Vec<f64>> = jobs
        .par_iter()
        .map(|&(s, j)| {
            let points = &grids[s][j..(j + chunk).min(grids[s].len())];
            eval(s, points)
        })
        .collect();
    let mut out: Vec<Vec<f64>> = grids.iter().map(|g| Vec::with_capacity(g.len())).collect();
    for (&(s, _), part) in jobs.iter().zip(parts) {
        out[s].extend(part);
    }
    out
}
