//! `graftscan bench --scan`: whole scans per estimation mode on simulated
//! batches — load, estimate and write, per draw — beside the kernel-only
//! figure (one log-likelihood grid pass over the same kind of draws). Each
//! batch is written by the simulator first (not timed) and scanned exactly as
//! `graftscan scan` would; the phase times come from the scan's run.json.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Parser;

use super::bench::{BenchArgs, ScanMode};
use super::{Cli, Command};
use crate::compute::LoglikBackend;
use crate::compute::cpu::CpuBackend;
use crate::compute::synthetic::{SyntheticSpec, synthetic_models};
use crate::error::{Error, Result};
use crate::model::dispersion::MoleculeDispersion;
use crate::model::estimate::fraction_grid;
use crate::model::likelihood::EstimationMode;
use crate::model::{Relationship, SampleModel};
use crate::report::output::{InputPaths, ResultsFolder};
use crate::risk::Organ;
use crate::simulate::ReadSettings;
use crate::simulate::batch::{SimulationConfig, Trajectory, TransplantPlan, simulate_batch};

/// Draws per simulated transplant (the simulator's most).
const DRAWS_PER_TRANSPLANT: usize = 6;

#[derive(Debug, Clone, serde::Serialize)]
struct ScanRow {
    mode: ScanMode,
    draws: usize,
    snps: usize,
    depth: f64,
    backend: String,
    /// Phases from the scan's run.json, milliseconds for the whole batch.
    load_ms: f64,
    estimate_ms: f64,
    write_ms: f64,
    /// Wall time of the whole scan call.
    total_ms: f64,
    per_draw_ms: f64,
    estimate_per_draw_ms: f64,
    /// Kernel only: one grid pass (SNP × grid-point evaluations per second)
    /// over synthetic draws of this mode and read model.
    kernel_evals_per_s: f64,
}

#[derive(Debug, serde::Serialize)]
struct ScanReport {
    cpu_threads: usize,
    simd: String,
    rows: Vec<ScanRow>,
}

impl ScanMode {
    fn estimation_mode(self) -> EstimationMode {
        match self {
            ScanMode::TwoGenome => EstimationMode::TwoGenome,
            ScanMode::RecipientOnly => EstimationMode::RecipientOnly,
            ScanMode::GenotypeFree => EstimationMode::GenotypeFree,
        }
    }

    fn name(self) -> &'static str {
        self.estimation_mode().as_str()
    }
}

fn simulation(mode: ScanMode, draws: usize, snps: usize, seed: u64) -> SimulationConfig {
    let transplants = draws.div_ceil(DRAWS_PER_TRANSPLANT).max(1);
    let plan = TransplantPlan {
        organ: Organ::Kidney,
        relationship: Relationship::Unrelated,
        recipient_typed: mode != ScanMode::GenotypeFree,
        donor_typed: mode == ScanMode::TwoGenome,
        trajectory: Trajectory::Stable,
        last_draw_depth: None,
    };
    SimulationConfig {
        seed,
        snps,
        reads: ReadSettings {
            depth: 1000.0,
            genome_copies: Some(3000.0),
            error_rate: 1e-3,
        },
        samples_per_transplant: DRAWS_PER_TRANSPLANT,
        plans: vec![plan; transplants],
    }
}

/// Scan `batch` into `out` as the CLI would; returns the wall time and the
/// phase times of run.json.
fn scan(batch: &Path, out: &Path, backend: &str) -> Result<(f64, [f64; 3], String)> {
    let argv = [
        "graftscan".into(),
        "scan".into(),
        batch.as_os_str().to_owned(),
        "--out".into(),
        out.as_os_str().to_owned(),
        "--quiet".into(),
        "--backend".into(),
        backend.into(),
    ];
    let cli = Cli::try_parse_from(argv).map_err(|e| Error::Usage(e.to_string()))?;
    let Command::Scan(args) = cli.command else {
        return Err(Error::Usage("bench: internal scan command".into()));
    };
    let t = Instant::now();
    super::scan::run(args)?;
    let wall = t.elapsed().as_secs_f64() * 1e3;
    let run_json = out.join("run.json");
    let text = std::fs::read_to_string(&run_json)
        .map_err(|e| Error::Usage(format!("{}: {e}", run_json.display())))?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| Error::Usage(format!("{}: {e}", run_json.display())))?;
    let ms = |k: &str| v["timings_ms"][k].as_f64().unwrap_or(f64::NAN);
    let description = v["backend"]["description"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    Ok((wall, [ms("load"), ms("estimate"), ms("write")], description))
}

/// SNP × grid-point evaluations per second of one CPU grid pass over
/// synthetic draws of `mode`, with the scan's read model for that mode.
fn kernel_rate(mode: ScanMode, snps: usize, grid_points: usize) -> Result<f64> {
    let mut models: Vec<SampleModel> = synthetic_models(&SyntheticSpec {
        samples: 16,
        snps,
        mode: mode.estimation_mode(),
        relationship: Relationship::Unrelated,
        depth: 1000.0,
        seed: 2026,
    });
    if mode != ScanMode::TwoGenome {
        for m in &mut models {
            m.molecular = Some(MoleculeDispersion {
                signal_rho: 0.01,
                error_rho: 1e-4,
                molecule_share: 1.0,
            });
        }
    }
    let grids: Vec<Vec<f64>> = models
        .iter()
        .map(|m| fraction_grid(m.max_fraction, grid_points, 1e-5))
        .collect();
    CpuBackend.loglik_grids(&models, &grids)?; // warm-up: builds the SNP layouts
    let t = Instant::now();
    CpuBackend.loglik_grids(&models, &grids)?;
    let s = t.elapsed().as_secs_f64();
    Ok((models.len() * snps * grids[0].len()) as f64 / s)
}

pub fn run(a: &BenchArgs) -> Result<()> {
    if a.draws == 0 || a.modes.is_empty() {
        return Err(Error::Usage("--draws and --modes need values".into()));
    }
    let snps = a.snps.first().copied().unwrap_or(1000);
    let work = a.work.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("graftscan-bench-{}", std::process::id()))
    });
    let backend = match a.backend {
        crate::compute::select::BackendChoice::Auto => "auto",
        crate::compute::select::BackendChoice::Gpu => "gpu",
        crate::compute::select::BackendChoice::Cpu => "cpu",
    };
    let result = (|| -> Result<Vec<ScanRow>> {
        let mut rows = Vec::new();
        for (i, &mode) in a.modes.iter().enumerate() {
            let batch: PathBuf = work.join(format!("{}-batch", mode.name()));
            let out: PathBuf = work.join(format!("{}-results", mode.name()));
            let folder = ResultsFolder::prepare(
                &batch,
                "--work",
                true,
                super::simulate::SIMULATED,
                &InputPaths::default(),
            )?;
            folder.commit(simulate_batch(&simulation(
                mode,
                a.draws,
                snps,
                2026 + i as u64,
            ))?)?;
            let (total, [load, estimate, write], description) = scan(&batch, &out, backend)?;
            let draws = a.draws.div_ceil(DRAWS_PER_TRANSPLANT) * DRAWS_PER_TRANSPLANT;
            let row = ScanRow {
                mode,
                draws,
                snps,
                depth: 1000.0,
                backend: description,
                load_ms: load,
                estimate_ms: estimate,
                write_ms: write,
                total_ms: total,
                per_draw_ms: total / draws as f64,
                estimate_per_draw_ms: estimate / draws as f64,
                kernel_evals_per_s: kernel_rate(mode, snps, a.grid_points)?,
            };
            if !a.json {
                if rows.is_empty() {
                    eprintln!("backend: {}", row.backend);
                    println!(
                        "{:<15} {:>6} {:>6} {:>9} {:>11} {:>9} {:>10} {:>12} {:>15} {:>13}",
                        "mode",
                        "draws",
                        "snps",
                        "load_ms",
                        "estimate_ms",
                        "write_ms",
                        "total_ms",
                        "ms_per_draw",
                        "est_ms_per_draw",
                        "kernel_eval/s"
                    );
                }
                println!(
                    "{:<15} {:>6} {:>6} {:>9.1} {:>11.1} {:>9.1} {:>10.1} {:>12.2} {:>15.2} {:>13.3e}",
                    mode.name(),
                    row.draws,
                    row.snps,
                    row.load_ms,
                    row.estimate_ms,
                    row.write_ms,
                    row.total_ms,
                    row.per_draw_ms,
                    row.estimate_per_draw_ms,
                    row.kernel_evals_per_s
                );
            }
            std::fs::remove_dir_all(&batch).ok();
            std::fs::remove_dir_all(&out).ok();
            rows.push(row);
        }
        Ok(rows)
    })();
    if a.work.is_none() {
        std::fs::remove_dir_all(&work).ok();
    }
    let report = ScanReport {
        cpu_threads: rayon::current_num_threads(),
        simd: crate::compute::cpu::roofline::vector_unit(),
        rows: result?,
    };
    if a.json {
        super::print_json(&report)?;
    } else {
        println!(
            "{} threads; vector unit: {}; per draw = whole scan (load, estimate, write) / draws",
            report.cpu_threads, report.simd
        );
    }
    Ok(())
}
