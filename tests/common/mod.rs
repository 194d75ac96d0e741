//! GPU test policy: without an adapter a test is skipped on a developer machine
//! (with the reason printed) but FAILS in CI (env CI=true), where lavapipe is
//! installed and a missing adapter means a broken setup.

#![allow(dead_code)]

use graftscan::compute::gpu::GpuBackend;
use graftscan::compute::select::open_gpu;

/// The GPU backend on any adapter (lavapipe counts), or `None` to skip.
pub fn gpu_or_skip(test: &str) -> Option<GpuBackend> {
    match open_gpu(None) {
        Ok(b) => Some(b),
        Err(e) => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("{test}: CI=true but no usable wgpu adapter: {e}");
            }
            eprintln!("skipping {test}: no usable wgpu adapter ({e})");
            None
        }
    }
}

/// |a − b| ≤ rel · max(|a|, |b|) + abs.
pub fn close(a: f64, b: f64, rel: f64, abs: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs()) + abs
}
