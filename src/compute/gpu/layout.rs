//! Data layout shared by the host and the WGSL kernels. Every struct here has a
//! twin of the same name in `shaders/cfdna_loglik.wgsl` and
//! `shaders/cfdna_bootstrap.wgsl`; `tests` checks sizes and offsets against
//! naga's layouter so that a change on one side cannot go unnoticed.

use bytemuck::{Pod, Zeroable};

/// Threads per workgroup in both kernels (WebGPU's guaranteed minimum of
/// `max_compute_invocations_per_workgroup` is 256).
pub const WORKGROUP_SIZE: u32 = 256;

/// Uniform parameters of one dispatch.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, Pod, Zeroable, PartialEq)]
pub struct Params {
    /// Output rows in this chunk; workgroups past it do nothing.
    pub row_count: u32,
    /// Workgroups along x: row = workgroup_id.y · dispatch_width + workgroup_id.x.
    pub dispatch_width: u32,
    /// Bootstrap seed, low and high 32 bits (unused by the log-likelihood kernel).
    pub seed_lo: u32,
    pub seed_hi: u32,
}

/// A run of consecutive SNPs of one sample. A sample too big for one chunk is
/// split into several pieces whose partial sums the host adds in f64.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable, PartialEq)]
pub struct Piece {
    pub first_snp: u32,
    pub snp_count: u32,
    /// First row of this piece's ln π table (one row = 9 classes).
    pub first_table_row: u32,
    pub grid_count: u32,
    /// First output row; the piece owns `replicate_count · grid_count` rows.
    pub first_out_row: u32,
    pub replicate_count: u32,
    /// Index of the sample in the whole batch (bootstrap RNG key).
    pub sample_index: u32,
    /// Index of `first_snp` within its sample (bootstrap RNG key).
    pub snp_offset: u32,
}

/// One SNP's counts, mixture terms and saturated-model logs.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable, PartialEq)]
pub struct Snp {
    pub alt: u32,
    pub depth: u32,
    pub first_term: u32,
    pub term_count: u32,
    pub weight: f32,
    /// ln(k/n), or 0 when k = 0 (then it is multiplied by 0).
    pub sat_ln_alt: f32,
    /// ln((n−k)/n), or 0 when k = n.
    pub sat_ln_ref: f32,
    pub _pad: u32,
}

/// One genotype hypothesis: class r·3 + d and ln prior weight.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable, PartialEq)]
pub struct Term {
    pub class: u32,
    pub log_weight: f32,
}

/// (ln π, ln(1 − π)) of one class at one grid point; WGSL `vec2<f32>`.
pub type ClassLogProb = [f32; 2];

/// Poisson(1) CDF thresholds scaled to 2^32: a uniform u32 `u` maps to the
/// resampling count `#{k : u ≥ POISSON1_THRESHOLDS[k]}`. Integer-only so that the
/// CPU twin and the kernel draw bit-identical weights (Poisson bootstrap:
/// Hanley & MacGibbon 2006, Comput. Methods Programs Biomed. 83:57). Checked
/// against f64 `e^-1 Σ 1/j!` in `tests`; the WGSL copy in
/// `shaders/cfdna_bootstrap.wgsl` is checked too.
pub const POISSON1_THRESHOLDS: [u32; 9] = [
    1580030168, 3160060337, 3950075421, 4213413783, 4279248373, 4292415291, 4294609777,
    4294923276, 4294962463,
];

/// Wellons' `lowbias32` integer hash (hash-prospector); WGSL twin in the kernel.
pub fn lowbias32(mut x: u32) -> u32 {
    x ^= x >> 16;
    x = x.wrapping_mul(0x7feb_352d);
    x ^= x >> 15;
    x = x.wrapping_mul(0x846c_a68b);
    x ^= x >> 16;
    x
}

/// Counter-based draw for (seed, sample, replicate, SNP): no state, so every
/// thread and the CPU twin reach the same number independently.
pub fn bootstrap_uniform(seed_lo: u32, seed_hi: u32, sample: u32, replicate: u32, snp: u32) -> u32 {
    let mut h = lowbias32(seed_lo ^ 0x9e37_79b9);
    h = lowbias32(h ^ seed_hi);
    h = lowbias32(h ^ sample);
    h = lowbias32(h ^ replicate);
    lowbias32(h ^ snp)
}

/// Poisson(1) resampling count of one SNP in one replicate.
pub fn bootstrap_count(seed: u64, sample: u32, replicate: u32, snp: u32) -> u32 {
    let u = bootstrap_uniform(seed as u32, (seed >> 32) as u32, sample, replicate, snp);
    POISSON1_THRESHOLDS.iter().filter(|&&t| u >= t).count() as u32
}
