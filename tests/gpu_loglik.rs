//! Differential tests: the WGSL log-likelihood kernel (on lavapipe in CI)
//! against its CPU twin.

mod common;

use common::{close, gpu_or_skip};
use graftscan::compute::LoglikBackend;
use graftscan::compute::cpu::CpuBackend;
use graftscan::compute::synthetic::{SyntheticSpec, synthetic_models};
use graftscan::model::estimate::{EstimatorSettings, estimate_batch, fraction_grid};
use graftscan::model::likelihood::EstimationMode;
use graftscan::model::{Relationship, SampleModel};

fn grids_for(models: &[SampleModel]) -> Vec<Vec<f64>> {
    models
        .iter()
        .map(|m| fraction_grid(m.max_fraction, 160, 1e-5))
        .collect()
}

fn spec(mode: EstimationMode, relationship: Relationship, depth: f64) -> SyntheticSpec {
    SyntheticSpec {
        samples: 7,
        snps: 600,
        mode,
        relationship,
        depth,
        seed: 11,
    }
}

fn cases() -> Vec<SyntheticSpec> {
    vec![
        spec(EstimationMode::TwoGenome, Relationship::Unrelated, 500.0),
        spec(
            EstimationMode::RecipientOnly,
            Relationship::Unrelated,
            2000.0,
        ),
        spec(
            EstimationMode::RecipientOnly,
            Relationship::FullSibling,
            300.0,
        ),
        spec(
            EstimationMode::RecipientOnly,
            Relationship::ParentChild,
            1000.0,
        ),
        spec(EstimationMode::GenotypeFree, Relationship::Unrelated, 800.0),
        spec(
            EstimationMode::GenotypeFree,
            Relationship::FirstCousin,
            150.0,
        ),
        // Depth 0.7: a third of the SNPs have no reads at all.
        spec(
            EstimationMode::RecipientOnly,
            Relationship::HalfSibling,
            0.7,
        ),
    ]
}

#[test]
fn gpu_loglik_grids_match_cpu_twin_across_modes_and_relationships() {
    let Some(gpu) = gpu_or_skip("gpu_loglik_grids_match_cpu_twin") else {
        return;
    };
    for spec in cases() {
        let models = synthetic_models(&spec);
        assert!(models.iter().any(|m| m.snps.iter().any(|s| s.depth == 0)) || spec.depth > 100.0);
        let grids = grids_for(&models);
        let cpu = CpuBackend.loglik_grids(&models, &grids).unwrap();
        let got = gpu.loglik_grids(&models, &grids).unwrap();
        for (s, (a, b)) in cpu.iter().zip(&got).enumerate() {
            for (j, (x, y)) in a.iter().zip(b).enumerate() {
                assert!(
                    close(*x, *y, 1e-5, 1e-6),
                    "{spec:?} sample {s} grid {j}: cpu {x} gpu {y}"
                );
            }
        }
    }
}

#[test]
fn gpu_and_cpu_report_the_same_fractions() {
    let Some(gpu) = gpu_or_skip("gpu_and_cpu_report_the_same_fractions") else {
        return;
    };
    let settings = EstimatorSettings::default();
    for spec in cases() {
        let mut a = synthetic_models(&spec);
        let mut b = a.clone();
        let cpu = estimate_batch(&mut a, &CpuBackend, &settings).unwrap();
        let got = estimate_batch(&mut b, &gpu, &settings).unwrap();
        for (s, (x, y)) in cpu.iter().zip(&got).enumerate() {
            assert!(
                (x.donor_fraction - y.donor_fraction).abs() <= 1e-4,
                "{spec:?} sample {s}: cpu {} gpu {}",
                x.donor_fraction,
                y.donor_fraction
            );
            assert!((x.ci_high - y.ci_high).abs() <= 1e-4);
        }
    }
}

#[test]
fn samples_without_snps_give_zero_loglik() {
    let Some(gpu) = gpu_or_skip("samples_without_snps_give_zero_loglik") else {
        return;
    };
    let mut models = synthetic_models(&spec(
        EstimationMode::TwoGenome,
        Relationship::Unrelated,
        100.0,
    ));
    models.insert(1, SampleModel::new(EstimationMode::RecipientOnly));
    models.push(SampleModel::new(EstimationMode::GenotypeFree));
    let grids = grids_for(&models);
    let got = gpu.loglik_grids(&models, &grids).unwrap();
    let cpu = CpuBackend.loglik_grids(&models, &grids).unwrap();
    assert!(got[1].iter().all(|&v| v == 0.0));
    assert!(got.last().unwrap().iter().all(|&v| v == 0.0));
    for (a, b) in cpu.iter().zip(&got) {
        for (x, y) in a.iter().zip(b) {
            assert!(close(*x, *y, 1e-5, 1e-3));
        }
    }
}

#[test]
fn two_gpu_runs_are_bit_identical() {
    let Some(gpu) = gpu_or_skip("two_gpu_runs_are_bit_identical") else {
        return;
    };
    let models = synthetic_models(&spec(
        EstimationMode::GenotypeFree,
        Relationship::FullSibling,
        400.0,
    ));
    let grids = grids_for(&models);
    let a = gpu.loglik_grids(&models, &grids).unwrap();
    let b = gpu.loglik_grids(&models, &grids).unwrap();
    for (x, y) in a.iter().zip(&b) {
        for (p, q) in x.iter().zip(y) {
            assert_eq!(p.to_bits(), q.to_bits());
        }
    }
}

#[test]
fn many_small_chunks_equal_one_chunk() {
    let Some(mut gpu) = gpu_or_skip("many_small_chunks_equal_one_chunk") else {
        return;
    };
    let models = synthetic_models(&SyntheticSpec {
        samples: 23,
        ..spec(
            EstimationMode::RecipientOnly,
            Relationship::Unrelated,
            300.0,
        )
    });
    let grids = grids_for(&models);
    let one = gpu.loglik_grids(&models, &grids).unwrap();
    assert_eq!(gpu.take_timings().chunks, 1);

    // Whole samples per chunk: the same rows, so bit-identical.
    gpu.max_samples_per_chunk = Some(2);
    let per_two = gpu.loglik_grids(&models, &grids).unwrap();
    assert_eq!(gpu.take_timings().chunks, 12);
    assert_eq!(one, per_two);

    // Samples split into SNP pieces: partial sums added in f64, equal within f32 rounding.
    gpu.max_samples_per_chunk = None;
    gpu.max_chunk_bytes = Some(4096);
    let pieces = gpu.loglik_grids(&models, &grids).unwrap();
    assert!(gpu.take_timings().chunks > 23);
    for (a, b) in one.iter().zip(&pieces) {
        for (x, y) in a.iter().zip(b) {
            assert!(close(*x, *y, 1e-5, 1e-3), "{x} vs {y}");
        }
    }
}
