//! Roofline of the CPU grid pass: how close the log-likelihood grid pass comes
//! to what this machine can do with the same arithmetic.
//!
//! Three figures, measured on all threads in the same run (a shared machine's
//! load moves all three together):
//! - the FMA peak: independent f64 fused multiply-adds on the widest vector
//!   unit pulp finds (GFLOP/s, 2 per FMA) — the classic compute roof;
//! - the arithmetic roof: the grid pass's own per-SNP arithmetic
//!   (`SnpLayout::loglik`, ln Γ, log-sum-exp, outlier mixture) on a draw small
//!   enough to stay in L1 cache, evaluated over and over — what the kernel's
//!   instruction mix reaches with no memory traffic, scheduling or table set-up;
//! - the grid pass itself (`CpuBackend::loglik_grids`) over realistic draws.
//!
//! The grid pass's share of the arithmetic roof is the efficiency figure.

use std::time::Instant;

use rayon::prelude::*;

use crate::compute::LoglikBackend;
use crate::compute::cpu::CpuBackend;
use crate::compute::synthetic::{SyntheticSpec, synthetic_models};
use crate::error::Result;
use crate::model::dispersion::MoleculeDispersion;
use crate::model::estimate::fraction_grid;
use crate::model::lane_math::LANES;
use crate::model::likelihood::EstimationMode;
use crate::model::snp_layout::simd_arch;
use crate::model::{Relationship, SampleModel};

#[derive(Debug, Clone, serde::Serialize)]
pub struct RooflineRow {
    pub mode: EstimationMode,
    pub read_model: &'static str,
    /// SNP-term evaluations per second: arithmetic roof (L1-resident draw).
    pub roof_term_evals_per_s: f64,
    /// SNP-term evaluations per second of the grid pass over realistic draws.
    pub grid_term_evals_per_s: f64,
    /// grid / roof.
    pub share_of_roof: f64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct RooflineReport {
    pub threads: usize,
    pub vector_unit: String,
    pub fma_peak_gflops: f64,
    pub rows: Vec<RooflineRow>,
}

/// Name of the instruction set pulp dispatches to.
pub fn vector_unit() -> String {
    let arch = format!("{:?}", simd_arch());
    let name = arch.split('(').next().unwrap_or("?");
    match name {
        "V4" => "AVX-512 (x86-64-v4)".into(),
        "V3" => "AVX2+FMA (x86-64-v3)".into(),
        other => other.to_string(),
    }
}

struct FmaChains {
    iterations: u64,
    seed: f64,
}

impl pulp::WithSimd for FmaChains {
    type Output = f64;

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) -> f64 {
        // 8 independent chains of LANES lanes: enough FMAs in flight to hide
        // the latency on any current core.
        let mut acc = [[self.seed; LANES]; 8];
        let a = 0.999_999_9;
        let b = 1e-9;
        for _ in 0..self.iterations {
            for chain in acc.iter_mut() {
                for x in chain.iter_mut() {
                    *x = x.mul_add(a, b);
                }
            }
        }
        let mut total = 0.0;
        for chain in &acc {
            for x in chain {
                total += x;
            }
        }
        total
    }
}

/// f64 GFLOP/s of fused multiply-adds on every thread.
pub fn fma_peak_gflops() -> f64 {
    let threads = rayon::current_num_threads();
    let iterations = 20_000_000u64;
    let t = Instant::now();
    let sink: f64 = (0..threads)
        .into_par_iter()
        .map(|i| {
            simd_arch().dispatch(FmaChains {
                iterations,
                seed: 1.0 + i as f64,
            })
        })
        .sum();
    let s = t.elapsed().as_secs_f64();
    std::hint::black_box(sink);
    let fmas = threads as f64 * iterations as f64 * 8.0 * LANES as f64;
    2.0 * fmas / s / 1e9
}

fn models(
    mode: EstimationMode,
    samples: usize,
    snps: usize,
    beta: bool,
    seed: u64,
) -> Vec<SampleModel> {
    let mut models = synthetic_models(&SyntheticSpec {
        samples,
        snps,
        mode,
        relationship: Relationship::Unrelated,
        depth: 1000.0,
        seed,
    });
    if beta {
        for m in &mut models {
            m.molecular = Some(MoleculeDispersion {
                signal_rho: 0.01,
                error_rho: 1e-4,
            });
        }
    }
    models
}

fn term_count(models: &[SampleModel]) -> f64 {
    models.iter().map(|m| m.terms.len() as f64).sum()
}

/// The arithmetic roof and the grid pass for one mode and read model.
pub fn measure(mode: EstimationMode, beta: bool, grid_points: usize) -> Result<RooflineRow> {
    let threads = rayon::current_num_threads();
    // Roof: a 64-SNP draw per thread (a few KiB: L1), the grid evaluated
    // repeatedly with the table built once per grid point, outside the timing.
    let small = models(mode, threads, 64, beta, 7);
    let grid = fraction_grid(mode.max_fraction(), grid_points, 1e-5);
    let tables: Vec<_> = small
        .iter()
        .map(|m| {
            grid.iter()
                .map(|&f| m.table(f, m.error_rate))
                .collect::<Vec<_>>()
        })
        .collect();
    let repeats = 60usize;
    for (m, t) in small.iter().zip(&tables) {
        std::hint::black_box(m.loglik_with(&t[0])); // builds the layout
    }
    let t = Instant::now();
    let sink: f64 = small
        .par_iter()
        .zip(tables.par_iter())
        .map(|(m, tables)| {
            let mut total = 0.0;
            for _ in 0..repeats {
                for table in tables {
                    total += m.loglik_with(table);
                }
            }
            total
        })
        .sum();
    let roof_s = t.elapsed().as_secs_f64();
    std::hint::black_box(sink);
    let roof = term_count(&small) * grid.len() as f64 * repeats as f64 / roof_s;

    // The grid pass over 1,000-SNP draws, as the estimator runs it.
    let big = models(mode, 4 * threads, 1000, beta, 8);
    let grids: Vec<Vec<f64>> = big
        .iter()
        .map(|m| fraction_grid(m.max_fraction, grid_points, 1e-5))
        .collect();
    CpuBackend.loglik_grids(&big, &grids)?;
    let t = Instant::now();
    CpuBackend.loglik_grids(&big, &grids)?;
    let grid_s = t.elapsed().as_secs_f64();
    let pass = term_count(&big) * grids[0].len() as f64 / grid_s;
    Ok(RooflineRow {
        mode,
        read_model: if beta { "beta_binomial" } else { "binomial" },
        roof_term_evals_per_s: roof,
        grid_term_evals_per_s: pass,
        share_of_roof: pass / roof,
    })
}

pub fn roofline(grid_points: usize) -> Result<RooflineReport> {
    let fma = fma_peak_gflops();
    let mut rows = Vec::new();
    for (mode, beta) in [
        (EstimationMode::TwoGenome, false),
        (EstimationMode::RecipientOnly, true),
        (EstimationMode::GenotypeFree, true),
    ] {
        rows.push(measure(mode, beta, grid_points)?);
    }
    Ok(RooflineReport {
        threads: rayon::current_num_threads(),
        vector_unit: vector_unit(),
        fma_peak_gflops: fma,
        rows,
    })
}
