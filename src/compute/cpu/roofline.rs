//! Roofline of the CPU grid pass: how close the log-likelihood grid pass comes
//! to what this machine can do.
//!
//! Measured on all threads in the same run, each the best of three timings
//! (a shared machine's load moves them together):
//! - the FMA peak: independent f64 fused multiply-adds in the widest vector
//!   registers pulp finds (GFLOP/s, 2 per FMA), the compute roof;
//! - the grid pass itself (`CpuBackend::loglik_grids`) over 1,000-SNP draws,
//!   in SNP-term evaluations per second, turned into GFLOP/s with the
//!   floating-point operations each term costs in `snp_layout::group_loglik`
//!   (`flops_per_term`, counted from the source of `lane_math`: a lower
//!   bound, since a chunk of lanes with any ln Γ argument below 10 pays the
//!   recurrence, ~2× the ln Γ cost, on all its lanes).
//!
//! - the read bandwidth over a buffer the size of the pass's working set,
//!   which with the bytes the pass reads per SNP-term (`bytes_per_term`)
//!   gives its memory roof.
//!
//! The share of the lower of the two roofs is the efficiency figure. The
//! pass sweeps a draw's SNPs once for up to `TABLES_PER_SWEEP` grid points,
//! so a SNP's counts and weights come from the cache once per sweep. With
//! one binomial term per SNP (two-genome) the pass reduces to three sums per
//! signature group per sweep and two multiply-adds per class and grid point
//! (`snp_layout::group_loglik`): 7 flops per 40 bytes per SNP and sweep, no
//! per-SNP arithmetic per grid point, so its rate is set by the evaluation's
//! fixed costs (the class table, the dispatch), not by either roof.

use std::time::Instant;

use rayon::prelude::*;

use crate::compute::LoglikBackend;
use crate::compute::cpu::CpuBackend;
use crate::compute::synthetic::{SyntheticSpec, synthetic_models};
use crate::error::Result;
use crate::model::dispersion::MoleculeDispersion;
use crate::model::estimate::fraction_grid;
use crate::model::likelihood::EstimationMode;
use crate::model::snp_layout::{TABLES_PER_SWEEP, simd_arch};
use crate::model::{Relationship, SampleModel};

#[derive(Debug, Clone, serde::Serialize)]
pub struct RooflineRow {
    pub mode: EstimationMode,
    pub read_model: &'static str,
    /// Genotype terms per SNP in the measured draws.
    pub terms_per_snp: f64,
    /// Floating-point operations per SNP-term (lower bound, see module doc).
    pub flops_per_term: f64,
    /// SNP-term evaluations per second of the grid pass over 1,000-SNP draws.
    pub grid_term_evals_per_s: f64,
    /// grid_term_evals_per_s × flops_per_term.
    pub grid_gflops: f64,
    /// grid_gflops / the FMA peak.
    pub share_of_fma_peak: f64,
    /// Bytes the pass reads per SNP-term (lower bound, see `bytes_per_term`).
    pub bytes_per_term: f64,
    /// Read bandwidth measured over a buffer of the pass's working set.
    pub read_bandwidth_gbs: f64,
    /// The roof that applies: min(FMA peak, flops/byte × read bandwidth).
    pub roof_gflops: f64,
    /// "compute" when the FMA peak is the lower roof, "memory" otherwise.
    pub bound: &'static str,
    /// grid_gflops / roof_gflops: the roofline efficiency.
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
    fn with_simd<S: pulp::Simd>(self, simd: S) -> f64 {
        // Explicit vector registers (`S::f64s`: 8 lanes on AVX-512, 4 on
        // AVX2): a plain `mul_add` over arrays was left scalar by the
        // compiler, and measured the scalar FMA rate (a quarter to an eighth
        // of the roof). 12 independent chains: enough FMAs in flight to hide
        // a 4-cycle latency on two FMA ports.
        let a = simd.splat_f64s(0.999_999_9);
        let b = simd.splat_f64s(1e-9);
        let mut acc = [simd.splat_f64s(self.seed); FMA_CHAINS];
        for _ in 0..self.iterations {
            for x in acc.iter_mut() {
                *x = simd.mul_add_e_f64s(*x, a, b);
            }
        }
        let mut total = simd.splat_f64s(0.0);
        for x in acc {
            total = simd.add_f64s(total, x);
        }
        simd.reduce_sum_f64s(total)
    }
}

/// Independent FMA chains per thread in the peak measurement.
const FMA_CHAINS: usize = 12;

/// f64 lanes of the vector unit pulp dispatches to.
fn vector_lanes() -> usize {
    struct Lanes;
    impl pulp::WithSimd for Lanes {
        type Output = usize;
        #[inline(always)]
        fn with_simd<S: pulp::Simd>(self, _simd: S) -> usize {
            S::F64_LANES
        }
    }
    simd_arch().dispatch(Lanes)
}

/// Timed runs of each measurement; the best is reported (a shared VM's
/// neighbours moved single runs of the peak between 166 and 229 GFLOP/s).
const TRIALS: usize = 3;

/// f64 GFLOP/s of fused multiply-adds on every thread: the best of `TRIALS`.
pub fn fma_peak_gflops() -> f64 {
    (0..TRIALS).map(|_| fma_rate()).fold(0.0, f64::max)
}

fn fma_rate() -> f64 {
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
    let fmas = threads as f64 * iterations as f64 * (FMA_CHAINS * vector_lanes()) as f64;
    2.0 * fmas / s / 1e9
}

struct ReadSum<'a> {
    data: &'a [f64],
    passes: usize,
}

impl pulp::WithSimd for ReadSum<'_> {
    type Output = f64;

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, simd: S) -> f64 {
        let (head, _) = S::as_simd_f64s(self.data);
        let mut acc = [simd.splat_f64s(0.0); 8];
        for _ in 0..self.passes {
            for chunk in head.chunks_exact(8) {
                for (a, x) in acc.iter_mut().zip(chunk) {
                    *a = simd.add_f64s(*a, *x);
                }
            }
        }
        let mut total = simd.splat_f64s(0.0);
        for a in acc {
            total = simd.add_f64s(total, a);
        }
        simd.reduce_sum_f64s(total)
    }
}

/// Read bandwidth in GB/s on every thread, each summing its own buffer of
/// `bytes` (the working set of the pass being compared, so that the same
/// level of the cache hierarchy serves both), in vector registers with eight
/// independent sums: the best of `TRIALS`.
pub fn read_bandwidth_gbs(bytes: usize) -> f64 {
    let threads = rayon::current_num_threads();
    let len = (bytes / 8).max(1 << 12).next_multiple_of(64);
    let buffers: Vec<Vec<f64>> = (0..threads)
        .map(|i| (0..len).map(|j| (i + j) as f64 * 1e-9).collect())
        .collect();
    // About 0.5 GB per thread per trial.
    let passes = (5e8 / (len * 8) as f64).ceil() as usize;
    let mut best = 0.0f64;
    for _ in 0..TRIALS {
        let t = Instant::now();
        let sink: f64 = buffers
            .par_iter()
            .map(|b| simd_arch().dispatch(ReadSum { data: b, passes }))
            .sum();
        let s = t.elapsed().as_secs_f64();
        std::hint::black_box(sink);
        best = best.max((threads * passes * len * 8) as f64 / s / 1e9);
    }
    best
}

/// Bytes `snp_layout::group_loglik` reads from the cache per SNP-term: per
/// term its prior weight (8); per SNP k, n − k, the saturated term and the
/// weight (32), and with beta-binomial reads n, the ln P shift and the
/// outlier term (24); once per sweep of `tables` grid points.
pub fn bytes_per_term(terms: f64, beta: bool, tables: f64) -> f64 {
    let per_snp = 32.0 + if beta { 24.0 } else { 0.0 };
    (8.0 + per_snp / terms) / tables
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
                molecule_share: 1.0,
            });
        }
    }
    models
}

fn term_count(models: &[SampleModel]) -> f64 {
    models.iter().map(|m| m.terms.len() as f64).sum()
}

/// Flops of `lane_math::ln`: range reduction (1 mul, 2 add, (m−1)/(m+1): 2 add
/// and 1 div, s² 1), the series by Estrin's scheme (z², z⁴, z⁸: 3; nine FMAs:
/// 18), and the assembly (2s, z·p, two FMAs and one more: 8).
const LN_FLOPS: f64 = 36.0;
/// `lane_math::exp`: k (an FMA and a sub: 3), r (2 FMAs: 4), r², r⁴, r⁸ (3),
/// eleven FMAs of q (22), 1 + (r + r²q) (3), 2^k (2 adds) and the scaling (1).
const EXP_FLOPS: f64 = 38.0;
/// Stirling's series for ln Γ(x ≥ 10): 1/x, 1/x², nine in the correction
/// series, (x − ½)·ln x − x + ½ln 2π + series (5), and its ln.
const LN_GAMMA_FLOPS: f64 = 2.0 + 9.0 + 5.0 + LN_FLOPS;

/// Flops per SNP-term of `snp_layout::group_loglik` for a draw with `terms`
/// genotype terms per SNP: the term's own arithmetic, its share of the
/// log-sum-exp over terms, of the outlier mixture (beta-binomial only) and
/// of the weighted sum.
pub fn flops_per_term(terms: f64, beta: bool, tables: f64) -> f64 {
    if terms <= 1.0 && !beta {
        // The per-class sums: w·k, w·(n − k) and w·(lw − sat) (7 flops) per
        // SNP and sweep; the two multiply-adds per class and grid point are
        // left out (a lower bound).
        return 7.0 / tables;
    }
    let term = if beta {
        // x1..x3 (3 adds), three ln Γ, lw + g1 + g2 − g3 − ln B (4).
        3.0 + 3.0 * LN_GAMMA_FLOPS + 4.0
    } else {
        // lw + (k·ln π + nk·ln(1 − π)): a mul, an FMA and an add.
        4.0
    };
    // exp(v − best) and the sum, per term.
    let sum_per_snp = if terms > 1.0 {
        terms * (EXP_FLOPS + 2.0)
    } else {
        0.0
    };
    let tail_per_snp = if beta {
        // The outlier mixture with the sum's ln folded in: c (3 adds),
        // d (1), e^−|d|, sum + t (1, or an FMA), ln, + base − shift (2).
        7.0 + EXP_FLOPS + LN_FLOPS
    } else if terms > 1.0 {
        // ln of the sum, + best − sat.
        LN_FLOPS + 2.0
    } else {
        1.0
    };
    let weight_per_snp = 2.0;
    term + (sum_per_snp + tail_per_snp + weight_per_snp) / terms
}

/// The grid pass for one mode and read model.
pub fn measure(
    mode: EstimationMode,
    beta: bool,
    grid_points: usize,
    fma_peak_gflops: f64,
) -> Result<RooflineRow> {
    let threads = rayon::current_num_threads();
    let big = models(mode, 4 * threads, 1000, beta, 8);
    let grids: Vec<Vec<f64>> = big
        .iter()
        .map(|m| fraction_grid(m.max_fraction, grid_points, 1e-5))
        .collect();
    CpuBackend.loglik_grids(&big, &grids)?;
    let mut grid_s = f64::INFINITY;
    for _ in 0..TRIALS {
        let t = Instant::now();
        CpuBackend.loglik_grids(&big, &grids)?;
        grid_s = grid_s.min(t.elapsed().as_secs_f64());
    }
    let terms = term_count(&big);
    let snps: f64 = big.iter().map(|m| m.snps.len() as f64).sum();
    let terms_per_snp = terms / snps.max(1.0);
    let pass = terms * grids[0].len() as f64 / grid_s;
    let tables = grids[0].len().min(TABLES_PER_SWEEP) as f64;
    let flops = flops_per_term(terms_per_snp, beta, tables);
    let gflops = pass * flops / 1e9;
    let bytes = bytes_per_term(terms_per_snp, beta, tables);
    // Every thread walks every draw's layout (the pass splits the (draw,
    // grid point) pairs between them), so the working set is all of it.
    let bandwidth = read_bandwidth_gbs((terms * bytes * tables) as usize);
    let memory_roof = flops / bytes * bandwidth;
    let (roof, bound) = if memory_roof < fma_peak_gflops {
        (memory_roof, "memory")
    } else {
        (fma_peak_gflops, "compute")
    };
    Ok(RooflineRow {
        mode,
        read_model: if beta { "beta_binomial" } else { "binomial" },
        terms_per_snp,
        flops_per_term: flops,
        grid_term_evals_per_s: pass,
        grid_gflops: gflops,
        share_of_fma_peak: gflops / fma_peak_gflops,
        bytes_per_term: bytes,
        read_bandwidth_gbs: bandwidth,
        roof_gflops: roof,
        bound,
        share_of_roof: gflops / roof,
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
        rows.push(measure(mode, beta, grid_points, fma)?);
    }
    Ok(RooflineReport {
        threads: rayon::current_num_threads(),
        vector_unit: vector_unit(),
        fma_peak_gflops: fma,
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_beta_binomial_term_costs_far_more_than_a_binomial_one() {
        let binomial = flops_per_term(1.0, false, 1.0);
        assert_eq!(binomial, 7.0);
        assert_eq!(flops_per_term(1.0, false, 8.0), 7.0 / 8.0);
        let beta = flops_per_term(3.0, true, 1.0);
        // Three ln Γ of ~51 flops dominate.
        assert!(beta > 3.0 * LN_GAMMA_FLOPS && beta < 4.0 * LN_GAMMA_FLOPS + 80.0);
    }
}
