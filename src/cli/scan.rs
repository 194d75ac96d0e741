use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::compute::select::{BackendChoice, select_backend};
use crate::error::{Error, Result};
use crate::model::estimate::{EstimatorSettings, Overdispersion};
use crate::model::qc::{QcThresholds, QcVerdict};
use std::collections::HashMap;

use crate::report::OutputSet;
use crate::report::html::{Provenance, ReportInput, render};
use crate::report::run_record::input_digests;
use crate::report::tables::{samples_csv, transplants_csv};
use crate::risk::{RiskAssessment, RiskConfig, assess};
use crate::scan::{DISCLAIMER, ScanOutcome, load_batch, run_scan};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OverdispersionArg {
    /// Quasi-likelihood scale per SNP group (honest intervals on noisy data).
    Quasi,
    /// Plain binomial.
    None,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Batch folder holding transplants.csv and samples.csv (and panel.tsv, if any).
    pub dir: Option<PathBuf>,
    #[arg(long)]
    pub transplants: Option<PathBuf>,
    #[arg(long)]
    pub samples: Option<PathBuf>,
    /// Population ALT frequencies (TSV: chrom pos ref alt af).
    #[arg(long)]
    pub panel: Option<PathBuf>,
    /// Output folder.
    #[arg(long, default_value = "graftscan-results")]
    pub out: PathBuf,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// No progress bar and no summary.
    #[arg(long, short)]
    pub quiet: bool,
    /// Grid points over the donor fraction (plus f = 0).
    #[arg(long, default_value_t = 160)]
    pub grid_points: usize,
    /// Presence-test level: donor DNA is "detected" when p < alpha.
    #[arg(long, default_value_t = 0.01)]
    pub detection_alpha: f64,
    #[arg(long, value_enum, default_value_t = OverdispersionArg::Quasi)]
    pub overdispersion: OverdispersionArg,
    /// Risk rules (TOML); `graftscan config --defaults` prints the built-in set.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Also write samples.json and transplants.json (for LIMS import).
    #[arg(long)]
    pub json: bool,
    /// Compute backend: auto (a hardware GPU if present, else CPU), gpu (any
    /// wgpu adapter, software ones included), cpu.
    #[arg(long, value_enum, env = "GRAFTSCAN_BACKEND", default_value_t = BackendChoice::Auto)]
    pub backend: BackendChoice,
    /// Use the wgpu adapter whose name contains NAME (see `graftscan devices`).
    #[arg(long, value_name = "NAME")]
    pub adapter: Option<String>,
    /// SNP-bootstrap replicates per sample for a percentile interval (0 = off).
    #[arg(long, value_name = "B", default_value_t = 0)]
    pub bootstrap: u32,
    /// Seed of the bootstrap resampling.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

struct ScanPlan {
    transplants: PathBuf,
    samples: PathBuf,
    panel: Option<PathBuf>,
    panel_found_in_dir: bool,
    out: PathBuf,
    estimator: EstimatorSettings,
    qc: QcThresholds,
    risk: RiskConfig,
    risk_source: String,
}

fn resolve(a: &ScanArgs) -> Result<ScanPlan> {
    let (transplants, samples, mut panel, mut found) = match (&a.dir, &a.transplants, &a.samples) {
        (Some(dir), None, None) => {
            if !dir.is_dir() {
                return Err(Error::Usage(format!("{} is not a folder", dir.display())));
            }
            let panel = dir.join("panel.tsv");
            let found = panel.is_file();
            (
                dir.join("transplants.csv"),
                dir.join("samples.csv"),
                found.then_some(panel),
                found,
            )
        }
        (None, Some(t), Some(s)) => (t.clone(), s.clone(), None, false),
        _ => {
            return Err(Error::Usage(
                "give a batch folder, or both --transplants FILE and --samples FILE".into(),
            ));
        }
    };
    if let Some(p) = &a.panel {
        panel = Some(p.clone());
        found = false;
    }
    if a.grid_points < 10 {
        return Err(Error::Usage("--grid-points must be at least 10".into()));
    }
    if !(a.detection_alpha > 0.0 && a.detection_alpha < 1.0) {
        return Err(Error::Usage("--detection-alpha must be in (0, 1)".into()));
    }
    Ok(ScanPlan {
        transplants,
        samples,
        panel,
        panel_found_in_dir: found,
        out: a.out.clone(),
        estimator: EstimatorSettings {
            grid_points: a.grid_points,
            detection_alpha: a.detection_alpha,
            overdispersion: match a.overdispersion {
                OverdispersionArg::Quasi => Overdispersion::Quasi,
                OverdispersionArg::None => Overdispersion::None,
            },
            bootstrap_replicates: a.bootstrap,
            bootstrap_seed: a.seed,
            ..EstimatorSettings::default()
        },
        qc: QcThresholds::default(),
        risk: match &a.config {
            Some(p) => RiskConfig::load(p)?,
            None => RiskConfig::default(),
        },
        risk_source: match &a.config {
            Some(p) => p.display().to_string(),
            None => "built-in defaults (graftscan config --defaults)".into(),
        },
    })
}

pub fn run(a: ScanArgs) -> Result<()> {
    let plan = resolve(&a)?;
    if let Some(n) = a.threads {
        if n == 0 {
            return Err(Error::Usage("--threads must be at least 1".into()));
        }
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .map_err(|e| Error::Usage(format!("cannot set up {n} threads: {e}")))?;
    }
    let show = !a.quiet && std::io::stderr().is_terminal();
    let bar = if show {
        let b = ProgressBar::with_draw_target(Some(4), ProgressDrawTarget::stderr());
        b.set_style(
            ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        b.enable_steady_tick(std::time::Duration::from_millis(120));
        b
    } else {
        ProgressBar::hidden()
    };

    // Before reading inputs: a bad --adapter should fail fast.
    let (backend, backend_notes) = select_backend(a.backend, a.adapter.as_deref())?;
    let t0 = Instant::now();
    bar.set_message("reading sheets and genotype/count files");
    let mut batch = load_batch(&plan.transplants, &plan.samples, plan.panel.as_deref())?;
    let t_load = t0.elapsed();

    bar.set_message(format!(
        "estimating {} samples on {}",
        batch.samples.len(),
        backend.info().description
    ));
    let t1 = Instant::now();
    let outcome = run_scan(
        &mut batch,
        backend.as_ref(),
        &plan.estimator,
        &plan.qc,
        &plan.risk,
    )?;
    let immunology = HashMap::new();
    let risk = assess(&outcome, &plan.risk, &immunology);
    let t_estimate = t1.elapsed();

    bar.set_message("writing outputs");
    let t2 = Instant::now();
    let digests = input_digests(&batch.files)?;
    let mut set = OutputSet::default();
    set.add("samples.csv", samples_csv(&outcome.samples, &risk)?);
    set.add(
        "transplants.csv",
        transplants_csv(&outcome.transplants, &risk)?,
    );
    let command_line = std::env::args().collect::<Vec<_>>().join(" ");
    let provenance = Provenance {
        version: env!("CARGO_PKG_VERSION").into(),
        generated: chrono::Local::now().format("%Y-%m-%d %H:%M").to_string(),
        backend: backend.info().description,
        allele_frequencies: batch.frequency_source.description.clone(),
        risk_config: plan.risk_source.clone(),
        ipd_release: None,
        eplet_table: None,
        command_line,
    };
    let hla = HashMap::new();
    set.add(
        "report.html",
        render(&ReportInput {
            outcome: &outcome,
            risk: &risk,
            config: &plan.risk,
            immunology: &immunology,
            hla: &hla,
            provenance: &provenance,
        })
        .into_bytes(),
    );
    if a.json {
        let (samples_json, transplants_json) = json_outputs(&outcome, &risk)?;
        set.add("samples.json", samples_json);
        set.add("transplants.json", transplants_json);
    }
    let mut warnings = batch.warnings.clone();
    warnings.extend(backend.warnings());
    if plan.panel_found_in_dir {
        warnings.push("using panel.tsv found in the batch folder for allele frequencies".into());
    }
    let run_json = serde_json::json!({
        "tool": "graftscan",
        "version": env!("CARGO_PKG_VERSION"),
        "command_line": std::env::args().collect::<Vec<_>>(),
        "disclaimer": DISCLAIMER,
        "inputs": digests,
        "allele_frequencies": batch.frequency_source,
        "parameters": {
            "estimator": plan.estimator,
            "qc": plan.qc,
            "threads": rayon::current_num_threads(),
        },
        "backend": backend.info(),
        "risk_rules": {"source": plan.risk_source, "rules": plan.risk},
        "backend_selection": { "requested": a.backend, "adapter": a.adapter, "notes": backend_notes },
        "warnings": warnings,
        "timings_ms": {
            "load": t_load.as_secs_f64() * 1e3,
            "estimate": t_estimate.as_secs_f64() * 1e3,
            "write": t2.elapsed().as_secs_f64() * 1e3,
        },
        "counts": {
            "transplants": outcome.transplants.len(),
            "samples": outcome.samples.len(),
        },
    });
    let json = serde_json::to_vec_pretty(&run_json)
        .map_err(|e| Error::Usage(format!("cannot render run.json: {e}")))?;
    set.add("run.json", json);
    let written = set.commit(&plan.out)?;
    bar.finish_and_clear();
    if !a.quiet {
        print_summary(
            &outcome,
            &risk,
            &backend.info().description,
            &batch.frequency_source.description,
            &warnings,
            &plan.out,
            written.len(),
            t0.elapsed().as_secs_f64(),
        );
    }
    Ok(())
}

/// samples.json and transplants.json: the CSV content with nested structure.
fn json_outputs(outcome: &ScanOutcome, risk: &RiskAssessment) -> Result<(Vec<u8>, Vec<u8>)> {
    let render = |v: serde_json::Value| {
        serde_json::to_vec_pretty(&v).map_err(|e| Error::Usage(format!("cannot render JSON: {e}")))
    };
    let samples: Vec<serde_json::Value> = outcome
        .samples
        .iter()
        .zip(&risk.samples)
        .map(|(s, r)| serde_json::json!({"result": s, "risk": r}))
        .collect();
    let transplants: Vec<serde_json::Value> = outcome
        .transplants
        .iter()
        .zip(&risk.transplants)
        .map(|(t, r)| serde_json::json!({"summary": t, "risk": r}))
        .collect();
    Ok((
        render(serde_json::json!({"disclaimer": DISCLAIMER, "samples": samples}))?,
        render(serde_json::json!({"disclaimer": DISCLAIMER, "transplants": transplants}))?,
    ))
}

#[allow(clippy::too_many_arguments)]
fn print_summary(
    outcome: &ScanOutcome,
    risk: &RiskAssessment,
    backend: &str,
    frequencies: &str,
    warnings: &[String],
    out: &Path,
    files: usize,
    seconds: f64,
) {
    let count = |v: QcVerdict| outcome.samples.iter().filter(|s| s.qc == v).count();
    eprintln!(
        "graftscan {} — {} transplants, {} samples in {:.2} s on {}",
        env!("CARGO_PKG_VERSION"),
        outcome.transplants.len(),
        outcome.samples.len(),
        seconds,
        backend
    );
    eprintln!(
        "QC: {} PASS, {} REVIEW, {} FAIL; allele frequencies: {}",
        count(QcVerdict::Pass),
        count(QcVerdict::Review),
        count(QcVerdict::Fail),
        frequencies
    );
    eprintln!(
        "{:<14} {:<9} {:<14} {:>8} {:>19}  {:<7} {:<15}",
        "transplant", "organ", "relationship", "latest%", "95% interval", "QC", "risk level"
    );
    for (t, r) in outcome.transplants.iter().zip(&risk.transplants) {
        let (f, ci) = match &t.latest {
            Some(e) => (
                format!("{:.3}", 100.0 * e.donor_fraction),
                format!("[{:.3}, {:.3}]", 100.0 * e.ci_low, 100.0 * e.ci_high),
            ),
            None => ("-".into(), "-".into()),
        };
        eprintln!(
            "{:<14} {:<9} {:<14} {:>8} {:>19}  {:<7} {:<15}",
            t.transplant_id,
            t.organ.as_str(),
            t.relationship.as_str(),
            f,
            ci,
            t.latest_qc.map(|q| q.as_str()).unwrap_or("-"),
            r.level.as_str()
        );
    }
    for w in warnings {
        eprintln!("warning: {w}");
    }
    eprintln!("wrote {files} files to {}", out.display());
    eprintln!("{DISCLAIMER}");
}
