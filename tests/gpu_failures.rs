//! GPU failures become typed errors, never panics; `--backend auto` falls back
//! to the CPU path with a warning, `--backend gpu` fails with exit code 2.

mod common;

use std::process::Command;

use common::gpu_or_skip;
use graftscan::Error;
use graftscan::compute::LoglikBackend;
use graftscan::compute::cpu::CpuBackend;
use graftscan::compute::select::FallbackBackend;
use graftscan::compute::synthetic::{SyntheticSpec, synthetic_models};
use graftscan::model::Relationship;
use graftscan::model::estimate::fraction_grid;
use graftscan::model::likelihood::EstimationMode;

fn inputs() -> (Vec<graftscan::model::SampleModel>, Vec<Vec<f64>>) {
    let models = synthetic_models(&SyntheticSpec {
        samples: 3,
        snps: 200,
        mode: EstimationMode::RecipientOnly,
        relationship: Relationship::Unrelated,
        depth: 300.0,
        seed: 1,
    });
    let grids = models
        .iter()
        .map(|m| fraction_grid(m.max_fraction, 40, 1e-5))
        .collect();
    (models, grids)
}

#[test]
fn lost_device_is_a_gpu_error_not_a_panic() {
    let Some(gpu) = gpu_or_skip("lost_device_is_a_gpu_error") else {
        return;
    };
    let (models, grids) = inputs();
    gpu.ctx.destroy_device_for_test();
    match gpu.loglik_grids(&models, &grids) {
        Err(Error::Gpu(_)) => {}
        other => panic!("expected Error::Gpu, got {other:?}"),
    }
}

#[test]
fn auto_falls_back_to_cpu_after_a_gpu_failure_and_warns() {
    let Some(gpu) = gpu_or_skip("auto_falls_back_to_cpu") else {
        return;
    };
    let (models, grids) = inputs();
    gpu.ctx.destroy_device_for_test();
    let auto = FallbackBackend::new(gpu);
    let got = auto.loglik_grids(&models, &grids).unwrap();
    assert_eq!(got, CpuBackend.loglik_grids(&models, &grids).unwrap());
    let warnings = auto.warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("CPU"), "{warnings:?}");
    assert!(auto.info().description.contains("CPU fallback"));
    // Later calls go straight to the CPU without new warnings.
    auto.loglik_grids(&models, &grids).unwrap();
    assert_eq!(auto.warnings().len(), 1);
}

#[test]
fn impossible_chunk_limit_is_a_gpu_error() {
    let Some(mut gpu) = gpu_or_skip("impossible_chunk_limit") else {
        return;
    };
    let (models, grids) = inputs();
    gpu.max_chunk_bytes = Some(8);
    assert!(matches!(
        gpu.loglik_grids(&models, &grids),
        Err(Error::Gpu(_))
    ));
}

#[test]
fn gpu_backend_with_unknown_adapter_exits_2_listing_adapters() {
    let dir = tempfile::tempdir().unwrap();
    let batch = dir.path().join("batch");
    assert!(
        Command::new(env!("CARGO_BIN_EXE_graftscan"))
            .args(["simulate", "--out"])
            .arg(&batch)
            .args([
                "--transplants",
                "1",
                "--samples-per-transplant",
                "1",
                "--snps",
                "100"
            ])
            .status()
            .unwrap()
            .success()
    );
    let out = Command::new(env!("CARGO_BIN_EXE_graftscan"))
        .arg("scan")
        .arg(&batch)
        .args([
            "--backend",
            "gpu",
            "--adapter",
            "no-such-adapter-xyz",
            "--out",
        ])
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        stderr.contains("no adapter name contains 'no-such-adapter-xyz'"),
        "{stderr}"
    );
    assert!(stderr.contains("available"), "{stderr}");
}
