//! Criterion benches of the log-likelihood pass: the CPU twin (rayon) and the
//! GPU path on the same synthetic batches. The GPU group is skipped when wgpu
//! finds no adapter; on lavapipe the "gpu" figures are a software adapter's.
//! `graftscan bench` gives the per-phase breakdown and the crossover.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use graftscan::compute::LoglikBackend;
use graftscan::compute::cpu::CpuBackend;
use graftscan::compute::select::open_gpu;
use graftscan::compute::synthetic::{SyntheticSpec, synthetic_models};
use graftscan::model::Relationship;
use graftscan::model::estimate::fraction_grid;
use graftscan::model::likelihood::EstimationMode;

fn loglik(c: &mut Criterion) {
    let gpu = open_gpu(None).ok();
    let mut group = c.benchmark_group("loglik_grids");
    group.sample_size(10);
    for samples in [1usize, 10, 100] {
        let models = synthetic_models(&SyntheticSpec {
            samples,
            snps: 1000,
            mode: EstimationMode::RecipientOnly,
            relationship: Relationship::Unrelated,
            depth: 1000.0,
            seed: 2026,
        });
        let grids: Vec<Vec<f64>> = models
            .iter()
            .map(|m| fraction_grid(m.max_fraction, 160, 1e-5))
            .collect();
        group.bench_with_input(BenchmarkId::new("cpu", samples), &samples, |b, _| {
            b.iter(|| black_box(CpuBackend.loglik_grids(&models, &grids)))
        });
        if let Some(gpu) = &gpu {
            let label = if graftscan::compute::gpu::is_hardware(gpu.ctx.info.device_type) {
                "gpu"
            } else {
                "software_adapter"
            };
            group.bench_with_input(BenchmarkId::new(label, samples), &samples, |b, _| {
                b.iter(|| black_box(gpu.loglik_grids(&models, &grids)))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, loglik);
criterion_main!(benches);
