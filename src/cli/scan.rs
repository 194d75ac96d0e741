use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::compute::select::{BackendChoice, select_backend};
use crate::error::{Error, Result};
use crate::model::backend::CountingBackend;
use crate::model::estimate::{EstimatorSettings, Overdispersion};
use crate::model::qc::{QcThresholds, QcVerdict};

use crate::cli::hla::{MatchArgs, check_mfi_cutoff};
use crate::cli::pileup::ReadArgs;
use crate::formats::limits::DetectionLimitTable;
use crate::formats::panel::PanelOptions;
use crate::formats::sheet::read_transplants;
use crate::hla::amino_acids::missing_alignments_warning;
use crate::hla::antibodies::DEFAULT_MFI_CUTOFF;
use crate::hla::release::HLA_DB_ENV;
use crate::model::error_table::ErrorTable;
use crate::report::OutputSet;
use crate::report::hla::{hla_csv, hla_details, hla_record};
use crate::report::html::{Provenance, ReportInput, render};
use crate::report::output::{InputPaths, ResultsFolder};
use crate::report::run_record::input_digests;
use crate::report::tables::{samples_csv, transplants_csv};
use crate::risk::immunology::findings;
use crate::risk::{RiskAssessment, RiskConfig, assess};
use crate::scan::hla::{ScanHlaOptions, assess_scan_hla};
use crate::scan::load::{DEFAULT_MIN_PANEL_COVERAGE, FrequencyOptions};
use crate::scan::stream::{DEFAULT_CHUNK_DRAWS, StreamSettings, scan_in_chunks};
use crate::scan::{DISCLAIMER, ScanOutcome};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OverdispersionArg {
    /// Beta-binomial (finite molecules) where the donor genotype is
    /// marginalised, quasi-likelihood scale for two-genome fits.
    Auto,
    /// Beta-binomial in every mode.
    BetaBinomial,
    /// Binomial with a quasi-likelihood scale per SNP group in every mode.
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
    /// Population ALT frequencies: a TSV (chrom pos ref alt af [ac an],
    /// per-population af_<POP>/ac_<POP>/an_<POP>) or a sites VCF with INFO/AF
    /// or INFO/AC+AN.
    #[arg(long)]
    pub panel: Option<PathBuf>,
    /// Panel population to use: TSV columns af_<POP>/ac_<POP>/an_<POP>, VCF
    /// INFO AF_<POP> or <POP>_AF.
    #[arg(long, value_name = "POP")]
    pub population: Option<String>,
    /// INFO field of a sites-VCF panel holding the ALT frequency (e.g.
    /// AF_nfe); its AC/AN twins are used when present.
    #[arg(long, value_name = "FIELD")]
    pub af_field: Option<String>,
    /// Refuse a panel covering less than this share of the counted SNPs.
    #[arg(long, default_value_t = DEFAULT_MIN_PANEL_COVERAGE)]
    pub min_panel_coverage: f64,
    /// Output folder (written as one unit: it appears only when complete).
    #[arg(long, default_value = "graftscan-results")]
    pub out: PathBuf,
    /// Replace an existing results folder whole (never mixed: the old results
    /// stay until the new ones are complete).
    #[arg(long)]
    pub force: bool,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// No progress bar and no summary.
    #[arg(long, short)]
    pub quiet: bool,
    /// Grid points over the donor fraction (plus f = 0).
    #[arg(long, default_value_t = crate::model::estimate::DEFAULT_GRID_POINTS)]
    pub grid_points: usize,
    /// Presence-test level: donor DNA is "detected" when p < alpha.
    #[arg(long, default_value_t = 0.01)]
    pub detection_alpha: f64,
    /// Read model for overdispersed counts (see cfdna-model.md §1).
    #[arg(long, value_enum, default_value_t = OverdispersionArg::Auto)]
    pub overdispersion: OverdispersionArg,
    /// Risk rules (TOML); `graftscan config --defaults` prints the built-in set.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Also write samples.json and transplants.json (for LIMS import).
    #[arg(long)]
    pub json: bool,
    /// HLA typings, one row per person (person_id + gl_string, or A_1,A_2,...,DPB1_2),
    /// referenced by the recipient_id / donor_id columns of transplants.csv.
    #[arg(long)]
    pub typings: Option<PathBuf>,
    /// IPD-IMGT/HLA release directory (antigen-level matching, allele validation).
    #[arg(long, env = HLA_DB_ENV)]
    pub hla_db: Option<PathBuf>,
    /// Eplet table (CSV allele,eplet,group,antibody_verified with '# version:').
    #[arg(long)]
    pub eplets: Option<PathBuf>,
    /// Wiebe thresholds: 2.2, 3.1 or a CSV file (default: from the eplet table version).
    #[arg(long, alias = "eplet-thresholds")]
    pub wiebe_thresholds: Option<String>,
    /// Single-antigen-bead results (recipient_id or transplant_id, serum_date,
    /// specificity, mfi[, cutoff]).
    #[arg(long)]
    pub antibodies: Option<PathBuf>,
    /// MFI cut-off for beads without their own.
    #[arg(long, default_value_t = DEFAULT_MFI_CUTOFF)]
    pub mfi_cutoff: f64,
    /// Per-site, per-direction error rates (`graftscan errors learn`); such
    /// samples run on the kernel as well as on the CPU path.
    #[arg(long)]
    pub error_table: Option<PathBuf>,
    /// Limits of blank/detection per relationship and mode (`graftscan lod --out`):
    /// results at or below the LoB are reported "not detected".
    #[arg(long)]
    pub limits: Option<PathBuf>,
    /// HLA matching options (shared with `hla screen`).
    #[command(flatten)]
    pub matching: MatchArgs,
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
    /// How counts given as BAM/CRAM in samples.csv are read.
    #[command(flatten)]
    pub reads: ReadArgs,
    /// Draws loaded and estimated at a time (whole transplants per chunk):
    /// memory follows the chunk, not the batch.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_CHUNK_DRAWS)]
    pub chunk_draws: usize,
}

struct ScanPlan {
    transplants: PathBuf,
    samples: PathBuf,
    frequencies: FrequencyOptions,
    /// Optional files picked up from the batch folder (said in run.json).
    found_in_dir: Vec<String>,
    out: PathBuf,
    estimator: EstimatorSettings,
    qc: QcThresholds,
    hla: ScanHlaOptions,
    limits: Option<PathBuf>,
}

/// Everything `scan` writes (an existing folder holding anything else is
/// never replaced).
const SCAN_OUTPUTS: &[&str] = &[
    "samples.csv",
    "transplants.csv",
    "hla.csv",
    "report.html",
    "run.json",
    "samples.json",
    "transplants.json",
];

/// Bounds on the numeric options: beyond them a run does not finish in any
/// useful time or memory.
const MAX_GRID_POINTS: usize = 100_000;
const MAX_BOOTSTRAP: u32 = 100_000;

/// Every file and folder the scan reads that is known before the sheets are
/// read (the files they refer to are added after).
fn plan_inputs(a: &ScanArgs, plan: &ScanPlan) -> InputPaths {
    let mut inputs = InputPaths::default();
    if let Some(dir) = &a.dir {
        inputs.folder(dir);
    }
    for sheet in [&plan.transplants, &plan.samples] {
        inputs.file(sheet);
        // The sheets' folder holds the batch: results never go into it.
        let folder = sheet.parent().filter(|p| !p.as_os_str().is_empty());
        inputs.folder(folder.unwrap_or(Path::new(".")));
    }
    inputs.files([
        plan.frequencies.panel.as_ref(),
        a.config.as_ref(),
        a.error_table.as_ref(),
        plan.limits.as_ref(),
        plan.hla.typings.as_ref(),
        plan.hla.antibodies.as_ref(),
        plan.hla.eplets.as_ref(),
    ]);
    inputs.hla_references(a.wiebe_thresholds.as_deref(), a.hla_db.as_deref());
    inputs
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
    let mut found_in_dir = Vec::new();
    if found {
        found_in_dir.push("panel.tsv (allele frequencies)".to_string());
    }
    // A batch folder may also carry the HLA typings and bead results.
    let beside =
        |flag: &Option<PathBuf>, name: &str, what: &str, found_in_dir: &mut Vec<String>| {
            flag.clone().or_else(|| {
                let p = a.dir.as_ref()?.join(name);
                p.is_file().then(|| {
                    found_in_dir.push(format!("{name} ({what})"));
                    p
                })
            })
        };
    let antibodies = beside(
        &a.antibodies,
        "antibodies.csv",
        "single-antigen-bead results",
        &mut found_in_dir,
    );
    let typings = beside(&a.typings, "typings.csv", "HLA typings", &mut found_in_dir);
    let limits = beside(
        &a.limits,
        "limits.csv",
        "limits of blank and detection",
        &mut found_in_dir,
    );
    if !(10..=MAX_GRID_POINTS).contains(&a.grid_points) {
        return Err(Error::Usage(format!(
            "--grid-points must be in 10..={MAX_GRID_POINTS}"
        )));
    }
    if !(a.detection_alpha > 0.0 && a.detection_alpha < 1.0) {
        return Err(Error::Usage("--detection-alpha must be in (0, 1)".into()));
    }
    if a.bootstrap > MAX_BOOTSTRAP {
        return Err(Error::Usage(format!(
            "--bootstrap must be at most {MAX_BOOTSTRAP} replicates"
        )));
    }
    check_mfi_cutoff(a.mfi_cutoff)?;
    if !(0.0..=1.0).contains(&a.min_panel_coverage) {
        return Err(Error::Usage(
            "--min-panel-coverage must be in [0, 1]".into(),
        ));
    }
    if (a.population.is_some() || a.af_field.is_some()) && panel.is_none() {
        return Err(Error::Usage(
            "--population and --af-field choose a column of a panel: give --panel".into(),
        ));
    }
    Ok(ScanPlan {
        transplants,
        samples,
        frequencies: FrequencyOptions {
            panel,
            panel_options: PanelOptions {
                population: a.population.clone(),
                af_field: a.af_field.clone(),
            },
            min_panel_coverage: a.min_panel_coverage,
        },
        found_in_dir,
        out: a.out.clone(),
        estimator: EstimatorSettings {
            grid_points: a.grid_points,
            detection_alpha: a.detection_alpha,
            overdispersion: match a.overdispersion {
                OverdispersionArg::Auto => Overdispersion::Auto,
                OverdispersionArg::BetaBinomial => Overdispersion::BetaBinomial,
                OverdispersionArg::Quasi => Overdispersion::Quasi,
                OverdispersionArg::None => Overdispersion::None,
            },
            bootstrap_replicates: a.bootstrap,
            bootstrap_seed: a.seed,
            ..EstimatorSettings::default()
        },
        qc: QcThresholds::default(),
        limits,
        hla: ScanHlaOptions {
            hla_db: a.hla_db.clone(),
            typings,
            eplets: a.eplets.clone(),
            wiebe_thresholds: a.wiebe_thresholds.clone(),
            antibodies,
            mfi_cutoff: a.mfi_cutoff,
            settings: a.matching.settings(),
            aa_mismatch: a.matching.aa_mismatch,
            aa_positions: a.matching.aa_positions.clone(),
            backend: a.backend,
            adapter: a.adapter.clone(),
        },
    })
}

pub fn run(a: ScanArgs) -> Result<()> {
    let plan = resolve(&a)?;
    // Before any work: the results can be committed and touch no input.
    let folder = ResultsFolder::prepare(
        &plan.out,
        "--out",
        a.force,
        SCAN_OUTPUTS,
        &plan_inputs(&a, &plan),
    )?;
    let risk_config = match &a.config {
        Some(p) => RiskConfig::load(p)?,
        None => RiskConfig::default(),
    };
    let risk_source = match &a.config {
        Some(p) => p.display().to_string(),
        None => "built-in defaults (graftscan config --defaults)".into(),
    };
    super::set_threads(a.threads)?;
    // On a terminal: draws done of the total, rate and time left; nothing in
    // pipes or with --quiet.
    let show = !a.quiet && std::io::stderr().is_terminal();
    let bar = if show {
        let b = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        b.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} draws, {per_sec}, {eta} left  {wide_msg}",
            )
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
    bar.set_message("reading sheets");
    let error_table = a.error_table.as_deref().map(ErrorTable::read).transpose()?;
    let read_settings = a.reads.settings();
    let limits = plan
        .limits
        .as_deref()
        .map(DetectionLimitTable::read)
        .transpose()?;
    // HLA inputs are checked before the long part.
    let transplants = read_transplants(&plan.transplants)?;
    let hla = assess_scan_hla(&transplants, &plan.hla)?;
    let counted = CountingBackend::new(backend.as_ref());
    bar.set_message(format!("on {}", backend.info().description));
    let streamed = scan_in_chunks(
        &plan.transplants,
        &plan.samples,
        transplants,
        &counted,
        &StreamSettings {
            frequencies: &plan.frequencies,
            error_table: error_table.as_ref(),
            reads: &read_settings,
            estimator: &plan.estimator,
            qc: &plan.qc,
            risk: &risk_config,
            limits: limits.as_ref(),
            chunk_draws: a.chunk_draws,
        },
        &|done, total| {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        },
    )?;
    let draw_counts = counted.counts();
    let two_donor_counts = counted.two_donor_counts();
    let outcome = streamed.outcome;
    let immunology = hla.as_ref().map(findings).unwrap_or_default();
    let risk = assess(&outcome, &risk_config, &immunology);
    let t_load = streamed.load;
    let t_estimate = streamed.estimate;
    let frequency_source = streamed
        .frequency_source
        .ok_or_else(|| Error::Usage("the samples sheet lists no draws to scan".into()))?;

    // The files the sheets refer to are inputs too.
    folder.refuse_inputs(&InputPaths {
        folders: Vec::new(),
        files: streamed.files.clone(),
    })?;
    bar.set_message("writing outputs");
    let t2 = Instant::now();
    let mut inputs = streamed.files.clone();
    inputs.extend(plan.limits.iter().cloned());
    inputs.extend(a.error_table.iter().cloned());
    if let Some(h) = &hla {
        inputs.extend(h.files.iter().cloned());
    }
    let digests = input_digests(&inputs)?;
    let mut set = OutputSet::default();
    set.add("samples.csv", samples_csv(&outcome.samples, &risk)?);
    set.add(
        "transplants.csv",
        transplants_csv(&outcome.transplants, &risk, hla.as_ref())?,
    );
    if let Some(h) = &hla {
        set.add("hla.csv", hla_csv(h)?);
    }
    let command_line = std::env::args().collect::<Vec<_>>().join(" ");
    let provenance = Provenance {
        version: env!("CARGO_PKG_VERSION").into(),
        generated: chrono::Local::now().format("%Y-%m-%d %H:%M").to_string(),
        backend: backend.info().description,
        allele_frequencies: frequency_source.description.clone(),
        risk_config: risk_source.clone(),
        ipd_release: hla.as_ref().and_then(|h| h.ipd_release.clone()),
        eplet_table: hla.as_ref().and_then(|h| h.eplet_table_version.clone()),
        command_line,
    };
    // Rows that match nothing or repeat another reach run.json and the report.
    let mut input_warnings = streamed.shared_reads.iter().cloned().collect::<Vec<_>>();
    if let Some(h) = &hla {
        input_warnings.extend(h.warnings.iter().cloned());
    }
    let hla_details = hla.as_ref().map(hla_details).unwrap_or_default();
    set.add(
        "report.html",
        render(&ReportInput {
            outcome: &outcome,
            risk: &risk,
            config: &risk_config,
            immunology: &immunology,
            hla: &hla_details,
            provenance: &provenance,
            input_warnings: &input_warnings,
        })
        .into_bytes(),
    );
    if a.json {
        let (samples_json, transplants_json) = json_outputs(&outcome, &risk)?;
        set.add("samples.json", samples_json);
        set.add("transplants.json", transplants_json);
    }
    let mut warnings = streamed.warnings.clone();
    warnings.extend(input_warnings.iter().cloned());
    warnings.extend(backend.warnings());
    // Files picked up from the batch folder are what the user laid there:
    // said, but not a warning (nothing to act on).
    let notes: Vec<String> = plan
        .found_in_dir
        .iter()
        .map(|f| format!("using {f} found in the batch folder"))
        .collect();
    warnings.extend(
        hla.as_ref()
            .and_then(|h| missing_alignments_warning(&h.aa_missing_alignments)),
    );
    let run_json = serde_json::json!({
        "tool": "graftscan",
        "version": env!("CARGO_PKG_VERSION"),
        "command_line": std::env::args().collect::<Vec<_>>(),
        "disclaimer": DISCLAIMER,
        "inputs": digests,
        "allele_frequencies": frequency_source,
        "parameters": {
            "estimator": plan.estimator,
            "qc": plan.qc,
            "read_counting": read_settings,
            "threads": rayon::current_num_threads(),
        },
        "backend": backend.info(),
        "risk_rules": {"source": risk_source, "rules": risk_config},
        "hla": hla.as_ref().map(hla_record),
        "backend_selection": { "requested": a.backend, "adapter": a.adapter, "notes": backend_notes },
        "warnings": warnings,
        "input_warnings": input_warnings,
        "notes": notes,
        "output_recovery": folder.notes(),
        "timings_ms": {
            "load": t_load.as_secs_f64() * 1e3,
            "estimate": t_estimate.as_secs_f64() * 1e3,
            "write": t2.elapsed().as_secs_f64() * 1e3,
        },
        "counts": {
            "transplants": outcome.transplants.len(),
            "samples": outcome.samples.len(),
            "chunks": streamed.chunks,
            "chunk_draws": a.chunk_draws,
            "genotype_and_count_files_parsed": streamed.files_parsed,
            "genotype_files_read_for_batch_frequencies": streamed.genotype_files_pooled,
        },
        // One count per draw and likelihood grid pass: every read model and
        // error table runs on the loglik kernel, two-donor draws' (f1, f2)
        // grids on the two-donor kernel (a fit makes three passes; its
        // refinement and intervals run on the host in f64).
        "draw_grid_passes": draw_counts,
        "two_donor_grid_passes": two_donor_counts,
        "two_donor_fits": outcome.samples.iter().filter(|s| s.second_donor.is_some()).count(),
    });
    let json = serde_json::to_vec_pretty(&run_json)
        .map_err(|e| Error::Usage(format!("cannot render run.json: {e}")))?;
    set.add("run.json", json);
    let written = folder.commit(set)?;
    bar.finish_and_clear();
    for n in folder.notes() {
        eprintln!("graftscan: {n}");
    }
    if !a.quiet {
        print_summary(
            &outcome,
            &risk,
            &backend.info().description,
            &frequency_source.description,
            &warnings,
            &notes,
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
    notes: &[String],
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
    for n in notes {
        eprintln!("note: {n}");
    }
    for w in warnings {
        eprintln!("warning: {w}");
    }
    eprintln!("wrote {files} files to {}", out.display());
    eprintln!("{DISCLAIMER}");
}
