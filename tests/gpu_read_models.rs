//! Differential tests of every read model on the WGSL kernel (lavapipe in CI)
//! against the CPU twin: beta-binomial reads (finite molecules, with the
//! outlier share), per-site error tables, and both together. Grid values agree
//! to f32 precision of a deviance; the reported fractions and interval ends,
//! refined on the host in f64, within 1e-4.

mod common;

use common::{close, gpu_or_skip};
use graftscan::compute::LoglikBackend;
use graftscan::compute::cpu::CpuBackend;
use graftscan::compute::synthetic::{SyntheticSpec, synthetic_models};
use graftscan::model::dispersion::{HetSite, MoleculeDispersion};
use graftscan::model::estimate::{
    EstimatorSettings, Overdispersion, estimate_batch, fraction_grid,
};
use graftscan::model::likelihood::{DispersionGroup, EstimationMode};
use graftscan::model::{Relationship, SampleModel};

/// Small draws (CI runs this on a software adapter): every mode, some with
/// per-site error rates on a third of their SNPs.
fn draws(molecular: bool, site_errors: bool) -> Vec<SampleModel> {
    let mut out = Vec::new();
    for (i, mode) in [
        EstimationMode::TwoGenome,
        EstimationMode::RecipientOnly,
        EstimationMode::GenotypeFree,
    ]
    .into_iter()
    .enumerate()
    {
        let mut models = synthetic_models(&SyntheticSpec {
            samples: 4,
            snps: 300,
            mode,
            relationship: Relationship::FullSibling,
            depth: 800.0,
            seed: 40 + i as u64,
        });
        for (s, m) in models.iter_mut().enumerate() {
            // Recipient-heterozygous SNPs: what the estimator measures ρ_s and
            // the heterozygous balance from.
            m.het_sites = m
                .snps
                .iter()
                .filter(|x| x.group == DispersionGroup::RecipientHeterozygous)
                .map(|x| HetSite {
                    alt: x.alt,
                    depth: x.depth,
                    donor_ref_hom: 0.25,
                    donor_alt_hom: 0.25,
                })
                .collect();
            m.het_balance = 0.46 + 0.01 * s as f64;
            if molecular {
                m.molecular = Some(MoleculeDispersion {
                    signal_rho: [0.002, 0.02, 0.05, 1e-5][s % 4],
                    error_rho: [0.0, 1e-4, 3e-3, 0.0][s % 4],
                    // The site-bias share of ρ_s too (dispersion::term_rho).
                    molecule_share: [1.0, 0.3, 0.0, 0.5][s % 4],
                });
            }
            if site_errors {
                for (j, snp) in m.snps.iter_mut().enumerate() {
                    if j % 3 == 0 {
                        snp.site_error = Some([4e-4 + 1e-5 * (j % 7) as f64, 2e-3]);
                    }
                }
            }
        }
        out.extend(models);
    }
    out
}

fn grids(models: &[SampleModel]) -> Vec<Vec<f64>> {
    models
        .iter()
        .map(|m| fraction_grid(m.max_fraction, 60, 1e-5))
        .collect()
}

#[test]
fn every_read_model_gives_the_cpu_twins_grid_on_the_adapter() {
    let Some(gpu) = gpu_or_skip("every_read_model_gives_the_cpu_twins_grid_on_the_adapter") else {
        return;
    };
    for (molecular, site_errors) in [(true, false), (false, true), (true, true)] {
        let models = draws(molecular, site_errors);
        let g = grids(&models);
        let cpu = CpuBackend.loglik_grids(&models, &g).unwrap();
        let got = gpu.loglik_grids(&models, &g).unwrap();
        for (s, (a, b)) in cpu.iter().zip(&got).enumerate() {
            // Within one grid the values differ by up to ~1e4; f32 sums of
            // per-SNP deviances hold them to ~1e-5 relative.
            let scale = a.iter().fold(1.0f64, |m, v| m.max(v.abs()));
            for (j, (x, y)) in a.iter().zip(b).enumerate() {
                assert!(
                    close(*x, *y, 2e-5, 2e-5 * scale),
                    "beta {molecular} site errors {site_errors} draw {s} point {j}: cpu {x} gpu {y}"
                );
            }
        }
    }
    assert!(gpu.draws_on_adapter() >= 3 * 12);
}

#[test]
fn beta_binomial_and_error_table_fits_report_the_same_fractions_on_both_backends() {
    let Some(gpu) = gpu_or_skip(
        "beta_binomial_and_error_table_fits_report_the_same_fractions_on_both_backends",
    ) else {
        return;
    };
    let settings = EstimatorSettings {
        overdispersion: Overdispersion::BetaBinomial,
        grid_points: 80,
        ..EstimatorSettings::default()
    };
    let mut a = draws(false, true);
    let mut b = a.clone();
    let cpu = estimate_batch(&mut a, &CpuBackend, &settings).unwrap();
    let before = gpu.draws_on_adapter();
    let got = estimate_batch(&mut b, &gpu, &settings).unwrap();
    assert!(
        gpu.draws_on_adapter() - before >= 3 * a.len(),
        "grid passes ran on the adapter"
    );
    for (s, (x, y)) in cpu.iter().zip(&got).enumerate() {
        assert!(x.molecular.is_some() && y.molecular.is_some());
        for (what, p, q) in [
            ("fraction", x.donor_fraction, y.donor_fraction),
            ("ci_low", x.ci_low, y.ci_low),
            ("ci_high", x.ci_high, y.ci_high),
        ] {
            assert!((p - q).abs() <= 1e-4, "draw {s} {what}: cpu {p} gpu {q}");
        }
    }
}
