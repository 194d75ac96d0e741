//! `graftscan bench`: the same synthetic batches through the CPU path (rayon,
//! all cores) and the GPU path, checked to agree before any timing is printed.
//! GPU phases are reported separately (setup, pack, upload, kernel, readback,
//! end-to-end) because for small batches latency, not arithmetic, decides
//! which path wins: the output names the crossover batch size.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;

use crate::compute::LoglikBackend;
use crate::compute::cpu::CpuBackend;
use crate::compute::gpu::{GpuBackend, PhaseTimings, is_hardware};
use crate::compute::select::{BackendChoice, open_gpu};
use crate::compute::synthetic::{SyntheticSpec, synthetic_models};
use crate::error::{Error, Result};
use crate::model::estimate::fraction_grid;
use crate::model::likelihood::EstimationMode;
use crate::model::{Relationship, SampleModel};

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Batch sizes (samples), comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,10,100")]
    pub sizes: Vec<usize>,
    /// SNPs per sample, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1000")]
    pub snps: Vec<usize>,
    #[arg(long, default_value_t = crate::model::estimate::DEFAULT_GRID_POINTS)]
    pub grid_points: usize,
    /// Timed repetitions per configuration (the median is reported).
    #[arg(long, default_value_t = 3)]
    pub repeats: usize,
    /// Use the wgpu adapter whose name contains NAME.
    #[arg(long, value_name = "NAME")]
    pub adapter: Option<String>,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
    /// Time whole scans per mode instead (simulate a batch, then load,
    /// estimate and write it), beside the kernel-only grid pass.
    #[arg(long)]
    pub scan: bool,
    /// Roofline of the CPU grid pass: the FMA peak of this machine's vector
    /// unit, and the grid pass in GFLOP/s (flops counted per SNP-term) with
    /// its share of that peak.
    #[arg(long)]
    pub roofline: bool,
    /// --scan: draws per mode (1,000 SNPs at 1,000× each unless --snps says).
    #[arg(long, default_value_t = 200)]
    pub draws: usize,
    /// --scan: estimation modes, comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "two-genome,recipient-only,genotype-free"
    )]
    pub modes: Vec<ScanMode>,
    /// --scan: compute backend of the scans.
    #[arg(long, value_enum, default_value_t = BackendChoice::Cpu)]
    pub backend: BackendChoice,
    /// --scan: folder for the simulated batches and results (removed afterwards).
    #[arg(long)]
    pub work: Option<PathBuf>,
}

/// An estimation mode as `bench --scan` simulates it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ScanMode {
    /// Recipient and donor genotyped.
    TwoGenome,
    /// Recipient genotyped, donor not.
    RecipientOnly,
    /// Neither genotyped.
    GenotypeFree,
}

#[derive(Debug, Clone, serde::Serialize)]
struct Row {
    samples: usize,
    snps: usize,
    grid_points: usize,
    /// SNP × grid-point evaluations per pass.
    evaluations: f64,
    cpu_s: f64,
    gpu_pack_s: f64,
    gpu_upload_s: f64,
    gpu_kernel_s: f64,
    kernel_from_timestamps: bool,
    gpu_readback_s: f64,
    gpu_end_to_end_s: f64,
    chunks: usize,
    cpu_evals_per_s: f64,
    gpu_evals_per_s: f64,
    max_relative_difference: f64,
}

#[derive(Debug, serde::Serialize)]
struct Report {
    cpu: String,
    cpu_threads: usize,
    adapter: String,
    device_type: String,
    wgpu_backend: String,
    adapter_is_hardware_gpu: bool,
    gpu_setup_s: f64,
    rows: Vec<Row>,
    /// Per SNP count: the smallest batch where the GPU path's end-to-end time
    /// beats the CPU path (None: it never did in the sizes measured).
    crossover: Vec<(usize, Option<usize>)>,
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn max_relative_difference(a: &[Vec<f64>], b: &[Vec<f64>]) -> f64 {
    let mut worst = 0.0f64;
    for (x, y) in a.iter().zip(b) {
        for (p, q) in x.iter().zip(y) {
            let d = (p - q).abs() / (p.abs().max(q.abs()).max(1e-300));
            if (p - q).abs() > 1e-6 {
                worst = worst.max(d);
            }
        }
    }
    worst
}

fn time_cpu(
    models: &[SampleModel],
    grids: &[Vec<f64>],
    repeats: usize,
) -> Result<(Duration, Vec<Vec<f64>>)> {
    let t = Instant::now();
    let values = CpuBackend.loglik_grids(models, grids)?;
    let first = t.elapsed();
    let mut times = vec![first];
    // One pass over a few seconds is already a stable figure.
    if first < Duration::from_secs(5) {
        for _ in 1..repeats {
            let t = Instant::now();
            CpuBackend.loglik_grids(models, grids)?;
            times.push(t.elapsed());
        }
    }
    Ok((median(times), values))
}

fn time_gpu(
    gpu: &GpuBackend,
    models: &[SampleModel],
    grids: &[Vec<f64>],
    repeats: usize,
) -> Result<(Duration, PhaseTimings, Vec<Vec<f64>>)> {
    // Warm-up: first use of buffers and pipelines.
    let values = gpu.loglik_grids(models, grids)?;
    gpu.take_timings();
    let mut runs = Vec::new();
    for _ in 0..repeats.max(1) {
        let t = Instant::now();
        gpu.loglik_grids(models, grids)?;
        runs.push((t.elapsed(), gpu.take_timings()));
        if runs[0].0 > Duration::from_secs(5) {
            break;
        }
    }
    runs.sort_by_key(|r| r.0);
    let (e2e, phases) = runs[runs.len() / 2];
    Ok((e2e, phases, values))
}

fn roofline(a: &BenchArgs) -> Result<()> {
    let report = crate::compute::cpu::roofline::roofline(a.grid_points)?;
    if a.json {
        super::print_json(&report)?;
        return Ok(());
    }
    println!(
        "CPU: {} threads, {}; FMA peak {:.1} GFLOP/s (f64)",
        report.threads, report.vector_unit, report.fma_peak_gflops
    );
    println!(
        "{:<15} {:<14} {:>9} {:>13} {:>13} {:>12} {:>10} {:>10} {:>12} {:>8} {:>10}",
        "mode",
        "read_model",
        "terms/SNP",
        "flops/term(≥)",
        "grid_terms/s",
        "grid_GFLOP/s",
        "of_peak(≥)",
        "bytes/term",
        "roof_GFLOP/s",
        "bound",
        "of_roof(≥)"
    );
    for r in &report.rows {
        println!(
            "{:<15} {:<14} {:>9.2} {:>13.1} {:>13.3e} {:>12.2} {:>9.1}% {:>10.1} {:>12.1} {:>8} {:>9.1}%",
            r.mode.as_str(),
            r.read_model,
            r.terms_per_snp,
            r.flops_per_term,
            r.grid_term_evals_per_s,
            r.grid_gflops,
            100.0 * r.share_of_fma_peak,
            r.bytes_per_term,
            r.roof_gflops,
            r.bound,
            100.0 * r.share_of_roof
        );
    }
    Ok(())
}

pub fn run(a: BenchArgs) -> Result<()> {
    if a.scan {
        return super::bench_scan::run(&a);
    }
    if a.roofline {
        return roofline(&a);
    }
    if a.sizes.is_empty() || a.snps.is_empty() || a.sizes.contains(&0) {
        return Err(Error::Usage(
            "--sizes and --snps need positive values".into(),
        ));
    }
    if a.grid_points < 10 {
        return Err(Error::Usage("--grid-points must be at least 10".into()));
    }
    let t = Instant::now();
    let gpu = open_gpu(a.adapter.as_deref())?;
    let setup = t.elapsed();
    let info = gpu.info();
    let hardware = is_hardware(gpu.ctx.info.device_type);
    let gpu_name = if hardware { "GPU" } else { "software adapter" };
    if !a.json {
        eprintln!(
            "CPU path: rayon on {} threads; GPU path: {}",
            rayon::current_num_threads(),
            info.description
        );
        if !hardware {
            eprintln!(
                "note: this adapter is a CPU emulating a GPU (lavapipe/llvmpipe); its figures are not GPU figures"
            );
        }
        eprintln!(
            "GPU path setup (device, pipelines): {:.3} s",
            setup.as_secs_f64()
        );
        println!(
            "{:>7} {:>6} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>7} {:>10} {:>10} {:>9}",
            "samples",
            "snps",
            "cpu_s",
            "pack_s",
            "upload_s",
            "kernel_s",
            "readbk_s",
            "gpu_e2e_s",
            "chunks",
            "cpu_eval/s",
            "gpu_eval/s",
            "max_rel"
        );
    }
    let mut rows = Vec::new();
    for &snps in &a.snps {
        for &samples in &a.sizes {
            let models = synthetic_models(&SyntheticSpec {
                samples,
                snps,
                mode: EstimationMode::RecipientOnly,
                relationship: Relationship::Unrelated,
                depth: 1000.0,
                seed: 2026,
            });
            let grids: Vec<Vec<f64>> = models
                .iter()
                .map(|m| fraction_grid(m.max_fraction, a.grid_points, 1e-5))
                .collect();
            let (cpu_t, cpu_values) = time_cpu(&models, &grids, a.repeats)?;
            let (gpu_t, phases, gpu_values) = time_gpu(&gpu, &models, &grids, a.repeats)?;
            let diff = max_relative_difference(&cpu_values, &gpu_values);
            if diff > 1e-5 {
                return Err(Error::Gpu(format!(
                    "CPU and {gpu_name} disagree on {samples} samples × {snps} SNPs \
                     (max relative difference {diff:.2e}); no timings reported"
                )));
            }
            let evaluations = (samples * snps * grids[0].len()) as f64;
            let row = Row {
                samples,
                snps,
                grid_points: grids[0].len(),
                evaluations,
                cpu_s: cpu_t.as_secs_f64(),
                gpu_pack_s: phases.pack.as_secs_f64(),
                gpu_upload_s: phases.upload.as_secs_f64(),
                gpu_kernel_s: phases.kernel.as_secs_f64(),
                kernel_from_timestamps: phases.kernel_from_timestamps,
                gpu_readback_s: phases.readback.as_secs_f64(),
                gpu_end_to_end_s: gpu_t.as_secs_f64(),
                chunks: phases.chunks,
                cpu_evals_per_s: evaluations / cpu_t.as_secs_f64(),
                gpu_evals_per_s: evaluations / gpu_t.as_secs_f64(),
                max_relative_difference: diff,
            };
            if !a.json {
                println!(
                    "{:>7} {:>6} {:>9.4} {:>9.4} {:>9.4} {:>9.4} {:>9.4} {:>9.4} {:>7} {:>10.3e} {:>10.3e} {:>9.1e}",
                    row.samples,
                    row.snps,
                    row.cpu_s,
                    row.gpu_pack_s,
                    row.gpu_upload_s,
                    row.gpu_kernel_s,
                    row.gpu_readback_s,
                    row.gpu_end_to_end_s,
                    row.chunks,
                    row.cpu_evals_per_s,
                    row.gpu_evals_per_s,
                    row.max_relative_difference
                );
            }
            rows.push(row);
        }
    }
    let crossover: Vec<(usize, Option<usize>)> = a
        .snps
        .iter()
        .map(|&snps| {
            let first = rows
                .iter()
                .filter(|r| r.snps == snps && r.gpu_end_to_end_s < r.cpu_s)
                .map(|r| r.samples)
                .min();
            (snps, first)
        })
        .collect();
    let report = Report {
        cpu: "rayon CPU path".into(),
        cpu_threads: rayon::current_num_threads(),
        adapter: info.adapter.clone().unwrap_or_default(),
        device_type: info.device_type.clone().unwrap_or_default(),
        wgpu_backend: info.wgpu_backend.clone().unwrap_or_default(),
        adapter_is_hardware_gpu: hardware,
        gpu_setup_s: setup.as_secs_f64(),
        rows,
        crossover,
    };
    if a.json {
        super::print_json(&report)?;
    } else {
        println!(
            "kernel time from {}",
            if report.rows.iter().any(|r| r.kernel_from_timestamps) {
                "GPU timestamp queries"
            } else {
                "host wall time around submit + wait (no timestamp queries)"
            }
        );
        for (snps, c) in &report.crossover {
            match c {
                Some(n) => println!(
                    "crossover at {snps} SNPs: the {gpu_name} path is faster end-to-end from {n} samples"
                ),
                None => println!(
                    "crossover at {snps} SNPs: the CPU path was faster at every batch size measured"
                ),
            }
        }
    }
    Ok(())
}
