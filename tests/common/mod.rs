//! GPU test policy: without an adapter a test is skipped on a developer machine
//! (with the reason printed) but FAILS in CI (env CI=true), where lavapipe is
//! installed and a missing adapter means a broken setup. An adapter that exists
//! but cannot run the kernels is always a failure, never a skip.

#![allow(dead_code)]

use std::path::PathBuf;

use graftscan::compute::LoglikBackend;
use graftscan::compute::gpu::GpuBackend;
use graftscan::compute::select::{enumerate_adapters, open_gpu};

/// The GPU backend on any adapter (lavapipe counts), or `None` to skip.
pub fn gpu_or_skip(test: &str) -> Option<GpuBackend> {
    if enumerate_adapters().is_empty() {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{test}: CI=true but wgpu finds no adapter (install mesa-vulkan-drivers)");
        }
        eprintln!("skipping {test}: wgpu finds no adapter on this machine");
        return None;
    }
    match open_gpu(None) {
        Ok(b) => {
            eprintln!("{test}: running on {}", b.info().description);
            Some(b)
        }
        Err(e) => panic!("{test}: an adapter exists but the GPU backend failed: {e}"),
    }
}

/// |a − b| ≤ rel · max(|a|, |b|) + abs.
pub fn close(a: f64, b: f64, rel: f64, abs: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs()) + abs
}

/// The shared real-data folder beside the checkout. Outside CI a missing folder
/// skips the test with a printed reason; with CI=true it is a failure.
pub fn shared_data(sub: &str) -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data")
        .join(sub);
    if p.is_dir() {
        return Some(p);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true but {} is missing", p.display());
    }
    eprintln!(
        "skipping: {} not found (tests read ../shared beside the checkout)",
        p.display()
    );
    None
}

/// A small simulated batch (60 SNPs, one sample per transplant) whose
/// transplants carry the given (recipient_hla, donor_hla) typings, one
/// transplant per pair, without bead results.
pub fn batch_with_hla(pairs: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_graftscan"))
        .args(["simulate", "--snps", "60", "--transplants"])
        .arg(pairs.len().to_string())
        .args(["--samples-per-transplant", "1", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(status.status.success());
    let t = dir.path().join("transplants.csv");
    let mut lines: Vec<String> = std::fs::read_to_string(&t)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    // Replace the simulated antigen typings with the given ones.
    for (line, (recipient, donor)) in lines.iter_mut().skip(1).zip(pairs) {
        let mut fields: Vec<String> = line.split(',').map(String::from).collect();
        let n = fields.len();
        fields[n - 2] = recipient.to_string();
        fields[n - 1] = donor.to_string();
        *line = fields.join(",");
    }
    std::fs::write(&t, lines.join("\n") + "\n").unwrap();
    std::fs::remove_file(dir.path().join("antibodies.csv")).unwrap();
    dir
}
