//! SNP bootstrap: the WGSL kernel against its CPU twin, and reproducibility.

mod common;

use common::gpu_or_skip;
use graftscan::compute::LoglikBackend;
use graftscan::compute::cpu::CpuBackend;
use graftscan::compute::cpu::cfdna_bootstrap::percentile_interval;
use graftscan::compute::synthetic::{SyntheticSpec, synthetic_fraction, synthetic_models};
use graftscan::model::Relationship;
use graftscan::model::estimate::{EstimatorSettings, estimate_batch, fraction_grid};
use graftscan::model::likelihood::EstimationMode;

fn batch(mode: EstimationMode) -> Vec<graftscan::model::SampleModel> {
    synthetic_models(&SyntheticSpec {
        samples: 6,
        snps: 400,
        mode,
        relationship: Relationship::Unrelated,
        depth: 600.0,
        seed: 5,
    })
}

#[test]
fn cpu_bootstrap_is_reproducible_for_a_seed_and_changes_with_it() {
    let models = batch(EstimationMode::TwoGenome);
    let grids: Vec<Vec<f64>> = models
        .iter()
        .map(|m| fraction_grid(m.max_fraction, 160, 1e-5))
        .collect();
    let a = CpuBackend
        .bootstrap_estimates(&models, &grids, 50, 9)
        .unwrap();
    let b = CpuBackend
        .bootstrap_estimates(&models, &grids, 50, 9)
        .unwrap();
    let c = CpuBackend
        .bootstrap_estimates(&models, &grids, 50, 10)
        .unwrap();
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert!(a.iter().all(|r| r.len() == 50));
}

#[test]
fn bootstrap_interval_covers_the_simulated_fraction() {
    let mut models = batch(EstimationMode::TwoGenome);
    let settings = EstimatorSettings {
        bootstrap_replicates: 200,
        bootstrap_seed: 3,
        ..EstimatorSettings::default()
    };
    let estimates = estimate_batch(&mut models, &CpuBackend, &settings).unwrap();
    let mut covered = 0;
    for (s, e) in estimates.iter().enumerate() {
        let (lo, hi) = e.bootstrap_interval.unwrap();
        assert!(lo <= hi);
        let f = synthetic_fraction(s);
        if lo - 1e-4 <= f && f <= hi + 1e-4 {
            covered += 1;
        }
    }
    assert!(covered >= 5, "covered {covered} of 6");
}

#[test]
fn gpu_bootstrap_equals_cpu_twin_and_is_reproducible() {
    let Some(gpu) = gpu_or_skip("gpu_bootstrap_equals_cpu_twin") else {
        return;
    };
    for mode in [
        EstimationMode::TwoGenome,
        EstimationMode::RecipientOnly,
        EstimationMode::GenotypeFree,
    ] {
        let models = batch(mode);
        let grids: Vec<Vec<f64>> = models
            .iter()
            .map(|m| fraction_grid(m.max_fraction, 160, 1e-5))
            .collect();
        let cpu = CpuBackend
            .bootstrap_estimates(&models, &grids, 64, 77)
            .unwrap();
        let g1 = gpu.bootstrap_estimates(&models, &grids, 64, 77).unwrap();
        let g2 = gpu.bootstrap_estimates(&models, &grids, 64, 77).unwrap();
        assert_eq!(g1, g2, "{mode:?}: two GPU runs differ");
        for (s, (c, g)) in cpu.iter().zip(&g1).enumerate() {
            let (clo, chi) = percentile_interval(c);
            let (glo, ghi) = percentile_interval(g);
            assert!(
                (clo - glo).abs() <= 1e-4 && (chi - ghi).abs() <= 1e-4,
                "{mode:?} sample {s}: cpu [{clo}, {chi}] gpu [{glo}, {ghi}]"
            );
            for (x, y) in c.iter().zip(g) {
                assert!((x - y).abs() <= 1e-4, "{mode:?} sample {s}: {x} vs {y}");
            }
        }
    }
}

#[test]
fn gpu_bootstrap_through_small_chunks_matches_one_chunk() {
    let Some(mut gpu) = gpu_or_skip("gpu_bootstrap_through_small_chunks") else {
        return;
    };
    let models = batch(EstimationMode::RecipientOnly);
    let grids: Vec<Vec<f64>> = models
        .iter()
        .map(|m| fraction_grid(m.max_fraction, 160, 1e-5))
        .collect();
    let one = gpu.bootstrap_estimates(&models, &grids, 16, 1).unwrap();
    gpu.max_samples_per_chunk = Some(1);
    let many = gpu.bootstrap_estimates(&models, &grids, 16, 1).unwrap();
    assert_eq!(one, many);
}
