//! Data layout shared by the host and the WGSL kernels. Every struct here has a
//! twin of the same name in `shaders/cfdna_common.wgsl` (prepended to both
//! dd-cfDNA kernels); `tests` checks sizes and offsets against
//! naga's layouter so that a change on one side cannot go unnoticed.

use bytemuck::{Pod, Zeroable};

/// Threads per workgroup in every dd-cfDNA kernel (WebGPU's guaranteed minimum of
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
    /// 0: binomial reads; 1: beta-binomial with the 1% outlier share.
    pub read_model: u32,
    /// ρ_s, ρ_e and the molecule share w of ρ_s, for SNPs with per-site
    /// error rates (their terms' ρ; dispersion::term_rho).
    pub signal_rho: f32,
    pub error_rho: f32,
    pub molecule_share: f32,
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
    /// ln(k/n) as an f32 hi + lo pair, or 0 when k = 0 (then it is multiplied by 0).
    pub sat_ln_alt_hi: f32,
    pub sat_ln_alt_lo: f32,
    /// ln((n−k)/n) as hi + lo, or 0 when k = n.
    pub sat_ln_ref_hi: f32,
    pub sat_ln_ref_lo: f32,
    /// ln(0.01/(n+1)) − saturated − ln C(n,k) − ln 0.99 (beta-binomial reads).
    pub outlier_shift: f32,
    /// Per-site (REF→ALT, ALT→REF) error rates, used when `has_site_error` = 1.
    pub site_error_ra: f32,
    pub site_error_ar: f32,
    pub has_site_error: u32,
}

/// One genotype hypothesis: class r·3 + d and ln prior weight.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable, PartialEq)]
pub struct Term {
    pub genotype_class: u32,
    pub log_weight: f32,
}

/// (ln π hi, ln π lo, ln(1 − π) hi, ln(1 − π) lo) of one class at one grid
/// point; WGSL `vec4<f32>`.
pub type ClassLogProb = [f32; 4];

/// (α, β, α + β, p) of one class at one grid point: the beta-binomial's
/// parameters and the expected ALT fraction; WGSL `vec4<f32>`.
pub type ClassBeta = [f32; 4];

/// An f64 as an unevaluated f32 sum hi + lo (≈ 48 significant bits).
pub fn split_f64(x: f64) -> (f32, f32) {
    let hi = x as f32;
    (hi, (x - f64::from(hi)) as f32)
}

/// Poisson(1) CDF thresholds scaled to 2^32: a uniform u32 `u` maps to the
/// resampling count `#{k : u ≥ POISSON1_THRESHOLDS[k]}`. Integer-only so that the
/// CPU twin and the kernel draw bit-identical weights (Poisson bootstrap:
/// Hanley & MacGibbon 2006, Comput. Methods Programs Biomed. 83:57). Checked
/// against f64 `e^-1 Σ 1/j!` in `tests`; the WGSL copy in
/// `shaders/cfdna_bootstrap.wgsl` is checked too.
pub const POISSON1_THRESHOLDS: [u32; 9] = [
    1580030168, 3160060337, 3950075421, 4213413783, 4279248373, 4292415291, 4294609777, 4294923276,
    4294962463,
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

/// Key of one (seed, sample, replicate); the kernel hashes it once per workgroup.
pub fn replicate_key(seed: u64, sample: u32, replicate: u32) -> u32 {
    let mut h = lowbias32(seed as u32 ^ 0x9e37_79b9);
    h = lowbias32(h ^ (seed >> 32) as u32);
    h = lowbias32(h ^ sample);
    lowbias32(h ^ replicate)
}

/// Poisson(1) resampling count of one SNP under a replicate key: a
/// counter-based draw with no state, so every thread and the CPU twin reach
/// the same number independently.
pub fn bootstrap_count_with_key(key: u32, snp: u32) -> u32 {
    let u = lowbias32(key ^ snp);
    POISSON1_THRESHOLDS.iter().filter(|&&t| u >= t).count() as u32
}

/// Poisson(1) resampling count of SNP `snp` of sample `sample` in `replicate`.
pub fn bootstrap_count(seed: u64, sample: u32, replicate: u32, snp: u32) -> u32 {
    bootstrap_count_with_key(replicate_key(seed, sample, replicate), snp)
}

#[cfg(test)]
mod tests {
    use std::mem::{offset_of, size_of};
    use std::path::Path;

    use super::*;
    use crate::compute::gpu::context::{Kernel, kernel_source};

    fn shader_paths() -> Vec<std::path::PathBuf> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
        let mut paths: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "wgsl"))
            .collect();
        paths.sort();
        paths
    }

    /// What the device compiles from a shader file: a dd-cfDNA kernel gets the
    /// shared prelude prepended (`context::kernel_source`); other files stand alone.
    fn source(path: &Path) -> String {
        let own = std::fs::read_to_string(path).unwrap();
        match path.file_name().and_then(|n| n.to_str()) {
            Some("cfdna_loglik.wgsl") => kernel_source(Kernel::Loglik),
            Some("cfdna_bootstrap.wgsl") => kernel_source(Kernel::Bootstrap),
            Some("cfdna_two_donor.wgsl") => kernel_source(Kernel::TwoDonor),
            _ => own,
        }
    }

    fn parse(path: &Path) -> naga::Module {
        let src = source(path);
        naga::front::wgsl::parse_str(&src)
            .unwrap_or_else(|e| panic!("{}: {}", path.display(), e.emit_to_string(&src)))
    }

    #[test]
    fn every_wgsl_file_in_shaders_parses_and_validates() {
        let paths = shader_paths();
        assert!(
            paths.len() >= 2,
            "expected the loglik and bootstrap kernels"
        );
        for path in paths {
            let module = parse(&path);
            naga::valid::Validator::new(
                naga::valid::ValidationFlags::all(),
                naga::valid::Capabilities::default(),
            )
            .validate(&module)
            .unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
        }
    }

    /// (size, member offsets) of a named WGSL struct, from naga's layouter.
    fn wgsl_layout(module: &naga::Module, name: &str) -> (u32, Vec<(String, u32)>) {
        let mut layouter = naga::proc::Layouter::default();
        layouter.update(module.to_ctx()).unwrap();
        for (handle, ty) in module.types.iter() {
            if ty.name.as_deref() == Some(name)
                && let naga::TypeInner::Struct { members, .. } = &ty.inner
            {
                let offsets = members
                    .iter()
                    .map(|m| (m.name.clone().unwrap_or_default(), m.offset))
                    .collect();
                return (layouter[handle].size, offsets);
            }
        }
        panic!("struct {name} not found");
    }

    /// (struct name, Rust size, (field, Rust offset)…).
    type ExpectedLayout = (&'static str, usize, Vec<(&'static str, usize)>);

    #[test]
    fn wgsl_structs_match_the_repr_c_layout() {
        let expected: [ExpectedLayout; 4] = [
            (
                "Params",
                size_of::<Params>(),
                vec![
                    ("row_count", offset_of!(Params, row_count)),
                    ("dispatch_width", offset_of!(Params, dispatch_width)),
                    ("seed_lo", offset_of!(Params, seed_lo)),
                    ("seed_hi", offset_of!(Params, seed_hi)),
                ],
            ),
            (
                "Piece",
                size_of::<Piece>(),
                vec![
                    ("first_snp", offset_of!(Piece, first_snp)),
                    ("snp_count", offset_of!(Piece, snp_count)),
                    ("first_table_row", offset_of!(Piece, first_table_row)),
                    ("grid_count", offset_of!(Piece, grid_count)),
                    ("first_out_row", offset_of!(Piece, first_out_row)),
                    ("replicate_count", offset_of!(Piece, replicate_count)),
                    ("sample_index", offset_of!(Piece, sample_index)),
                    ("snp_offset", offset_of!(Piece, snp_offset)),
                    ("read_model", offset_of!(Piece, read_model)),
                    ("signal_rho", offset_of!(Piece, signal_rho)),
                    ("error_rho", offset_of!(Piece, error_rho)),
                    ("molecule_share", offset_of!(Piece, molecule_share)),
                ],
            ),
            (
                "Snp",
                size_of::<Snp>(),
                vec![
                    ("alt", offset_of!(Snp, alt)),
                    ("depth", offset_of!(Snp, depth)),
                    ("first_term", offset_of!(Snp, first_term)),
                    ("term_count", offset_of!(Snp, term_count)),
                    ("weight", offset_of!(Snp, weight)),
                    ("sat_ln_alt_hi", offset_of!(Snp, sat_ln_alt_hi)),
                    ("sat_ln_alt_lo", offset_of!(Snp, sat_ln_alt_lo)),
                    ("sat_ln_ref_hi", offset_of!(Snp, sat_ln_ref_hi)),
                    ("sat_ln_ref_lo", offset_of!(Snp, sat_ln_ref_lo)),
                    ("outlier_shift", offset_of!(Snp, outlier_shift)),
                    ("site_error_ra", offset_of!(Snp, site_error_ra)),
                    ("site_error_ar", offset_of!(Snp, site_error_ar)),
                    ("has_site_error", offset_of!(Snp, has_site_error)),
                ],
            ),
            (
                "Term",
                size_of::<Term>(),
                vec![
                    ("genotype_class", offset_of!(Term, genotype_class)),
                    ("log_weight", offset_of!(Term, log_weight)),
                ],
            ),
        ];
        for path in cfdna_shader_paths() {
            let module = parse(&path);
            for (name, size, fields) in &expected {
                let (wgsl_size, offsets) = wgsl_layout(&module, name);
                assert_eq!(wgsl_size as usize, *size, "{} {name} size", path.display());
                let want: Vec<(String, u32)> = fields
                    .iter()
                    .map(|(f, o)| (f.to_string(), *o as u32))
                    .collect();
                assert_eq!(offsets, want, "{} {name} offsets", path.display());
            }
        }
        assert_eq!(size_of::<ClassLogProb>(), 16, "vec4<f32>");
    }

    /// The dd-cfDNA kernels share these structs and this workgroup size; other
    /// kernels (HLA) check their own beside their host code.
    fn cfdna_shader_paths() -> Vec<std::path::PathBuf> {
        shader_paths()
            .into_iter()
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("cfdna_") && n != "cfdna_common.wgsl")
            })
            .collect()
    }

    #[test]
    fn kernels_use_the_workgroup_size_the_host_assumes() {
        for path in cfdna_shader_paths() {
            let src = source(&path);
            assert!(
                src.contains(&format!("const WORKGROUP_SIZE: u32 = {WORKGROUP_SIZE}u;"))
                    && src.contains(&format!("@workgroup_size({WORKGROUP_SIZE})")),
                "{}",
                path.display()
            );
        }
    }

    #[test]
    fn poisson_thresholds_are_the_scaled_poisson1_cdf_in_rust_and_wgsl() {
        let mut cdf = 0.0f64;
        let mut factorial = 1.0f64;
        for (k, &t) in POISSON1_THRESHOLDS.iter().enumerate() {
            if k > 0 {
                factorial *= k as f64;
            }
            cdf += (-1.0f64).exp() / factorial;
            assert_eq!(t, (cdf * 4_294_967_296.0).floor() as u32, "k = {k}");
        }
        let wgsl = include_str!("../../../shaders/cfdna_bootstrap.wgsl");
        for t in POISSON1_THRESHOLDS {
            assert!(
                wgsl.contains(&format!("{t}u")),
                "{t} missing from the kernel"
            );
        }
    }

    #[test]
    fn bootstrap_counts_average_one_and_depend_on_every_key() {
        let n = 200_000u32;
        let total: u64 = (0..n)
            .map(|i| u64::from(bootstrap_count(42, 3, 7, i)))
            .sum();
        let mean = total as f64 / f64::from(n);
        assert!((mean - 1.0).abs() < 0.01, "mean {mean}");
        let base: Vec<u32> = (0..64).map(|i| bootstrap_count(42, 3, 7, i)).collect();
        for other in [
            (43u64, 3u32, 7u32),
            (42 | (1 << 40), 3, 7),
            (42, 4, 7),
            (42, 3, 8),
        ] {
            let v: Vec<u32> = (0..64)
                .map(|i| bootstrap_count(other.0, other.1, other.2, i))
                .collect();
            assert_ne!(base, v, "{other:?}");
        }
    }
}
