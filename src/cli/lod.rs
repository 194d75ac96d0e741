use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use crate::compute::select::{BackendChoice, select_backend};
use crate::error::{Error, Result};
use crate::formats::panel::{PanelOptions, read_panel};
use crate::model::detection_limits::{
    DetectionLimits, LimitSettings, ReadSettingsRecord, default_levels, detection_limits,
};
use crate::model::estimate::EstimatorSettings;
use crate::model::{EstimationMode, Relationship};
use crate::report::output::{refuse_input_as_output, write_atomic};
use crate::simulate::PanelSnp;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LodMode {
    TwoGenome,
    RecipientOnly,
    /// Both, in one table (what `scan --limits` reads).
    Both,
}

#[derive(Debug, Args)]
pub struct LodArgs {
    /// Panel TSV (chrom pos ref alt af), or a batch folder holding panel.tsv.
    #[arg(long)]
    pub panel: PathBuf,
    /// Mean reads per SNP.
    #[arg(long, default_value_t = 1500.0)]
    pub depth: f64,
    /// Input genome copies per locus (10 ng cfDNA ≈ 3,000); 0 = unlimited.
    #[arg(long, default_value_t = 3000.0)]
    pub genome_copies: f64,
    #[arg(long, default_value_t = 0.001)]
    pub error_rate: f64,
    /// Comma-separated relationships.
    #[arg(long, default_value = "unrelated,full_sibling,parent_child")]
    pub relationships: String,
    #[arg(long, value_enum, default_value_t = LodMode::RecipientOnly)]
    pub mode: LodMode,
    /// Replicates per level (CLSI EP17 asks for at least 60 blanks).
    #[arg(long, default_value_t = 120)]
    pub replicates: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Lowest and highest donor fraction tried, in percent.
    #[arg(long, default_value_t = 0.01)]
    pub min_level_pct: f64,
    #[arg(long, default_value_t = 2.0)]
    pub max_level_pct: f64,
    #[arg(long, default_value_t = 16)]
    pub levels: usize,
    /// Write the limits as CSV to this file (atomically).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Compute backend for the replicates' likelihood grids (see `graftscan scan`).
    #[arg(long, value_enum, env = "GRAFTSCAN_BACKEND", default_value_t = BackendChoice::Auto)]
    pub backend: BackendChoice,
    /// Use the wgpu adapter whose name contains NAME.
    #[arg(long, value_name = "NAME")]
    pub adapter: Option<String>,
}

/// Bounds that keep the simulation within time and memory.
const MAX_REPLICATES: usize = 100_000;
const MAX_LEVELS: usize = 1_000;

fn load_panel(path: &Path) -> Result<Vec<PanelSnp>> {
    let file = if path.is_dir() {
        path.join("panel.tsv")
    } else {
        path.to_path_buf()
    };
    let panel = read_panel(&file, &PanelOptions::default())?;
    let mut sites: Vec<_> = panel.sites.into_iter().map(|(s, f)| (s, f.af)).collect();
    sites.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(sites
        .into_iter()
        .map(|(s, q)| PanelSnp {
            chrom: s.chrom.to_string(),
            pos: s.pos,
            ref_base: s.ref_base as char,
            alt_base: s.alt_base as char,
            alt_frequency: q.clamp(0.005, 0.995),
            capture: 1.0,
        })
        .collect())
}

pub fn run(a: LodArgs) -> Result<()> {
    let valid = (20..=MAX_REPLICATES).contains(&a.replicates)
        && (2..=MAX_LEVELS).contains(&a.levels)
        && a.min_level_pct > 0.0
        && a.max_level_pct > a.min_level_pct
        && a.max_level_pct <= 100.0
        && a.depth > 0.0
        && a.depth <= 1e7
        && (0.0..=1e9).contains(&a.genome_copies)
        && (0.0..0.5).contains(&a.error_rate);
    if !valid {
        return Err(Error::Usage(format!(
            "need --replicates in 20..={MAX_REPLICATES}, --levels in 2..={MAX_LEVELS}, \
             0 < --min-level-pct < --max-level-pct ≤ 100, --depth in (0, 1e7], \
             --genome-copies in [0, 1e9] and --error-rate in [0, 0.5)"
        )));
    }
    if let Some(out) = &a.out {
        let panel_file = if a.panel.is_dir() {
            a.panel.join("panel.tsv")
        } else {
            a.panel.clone()
        };
        refuse_input_as_output("--out", out, &[panel_file])?;
    }
    let relationships: Vec<Relationship> = a
        .relationships
        .split(',')
        .map(|r| r.parse::<Relationship>())
        .collect::<std::result::Result<_, _>>()
        .map_err(Error::Usage)?;
    if relationships.contains(&Relationship::IdenticalTwin) {
        return Err(Error::Usage(
            "identical twins have no detectable donor DNA: no limit of detection exists".into(),
        ));
    }
    let panel = load_panel(&a.panel)?;
    let settings = LimitSettings {
        replicates: a.replicates,
        reads: ReadSettingsRecord {
            depth: a.depth,
            genome_copies: (a.genome_copies > 0.0).then_some(a.genome_copies),
            error_rate: a.error_rate,
        },
        mode: EstimationMode::RecipientOnly,
        levels: default_levels(a.min_level_pct / 100.0, a.max_level_pct / 100.0, a.levels),
        seed: a.seed,
    };
    let (backend, notes) = select_backend(a.backend, a.adapter.as_deref())?;
    for n in &notes {
        eprintln!("graftscan: {n}");
    }
    let estimator = EstimatorSettings::default();
    let modes: &[EstimationMode] = match a.mode {
        LodMode::TwoGenome => &[EstimationMode::TwoGenome],
        LodMode::RecipientOnly => &[EstimationMode::RecipientOnly],
        LodMode::Both => &[EstimationMode::TwoGenome, EstimationMode::RecipientOnly],
    };
    let mut results: Vec<DetectionLimits> = Vec::new();
    for &mode in modes {
        let settings = LimitSettings {
            mode,
            ..settings.clone()
        };
        for &r in &relationships {
            results.push(detection_limits(
                &panel,
                r,
                &settings,
                backend.as_ref(),
                &estimator,
            )?);
        }
    }
    for w in backend.warnings() {
        eprintln!("warning: {w}");
    }
    let mut csv =
        String::from("relationship,mode,replicates,limit_of_blank_pct,limit_of_detection_pct\n");
    for r in &results {
        let _ = writeln!(
            csv,
            "{},{},{},{:.5},{}",
            r.relationship,
            r.mode.as_str(),
            r.replicates,
            100.0 * r.limit_of_blank,
            r.limit_of_detection
                .map(|l| format!("{:.5}", 100.0 * l))
                .unwrap_or_else(|| "not reached".into())
        );
    }
    if let Some(out) = &a.out {
        write_atomic(out, csv.as_bytes())?;
    }
    if a.json {
        let json = serde_json::json!({
            "panel": a.panel.display().to_string(),
            "snps": panel.len(),
            "settings": settings,
            "backend": backend.info(),
            "limits": results,
            "definitions": "CLSI EP17-A2: LoB = 95th percentile of blank estimates; LoD = lowest level with estimate > LoB in ≥ 95% of replicates",
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&json).map_err(|e| Error::Usage(e.to_string()))?
        );
        return Ok(());
    }
    println!(
        "Limits of blank and detection (CLSI EP17) — {} SNPs, {}× depth, {} genome copies, {} replicates per level, {}",
        panel.len(),
        a.depth,
        if a.genome_copies > 0.0 {
            a.genome_copies.to_string()
        } else {
            "unlimited".into()
        },
        a.replicates,
        backend.info().description
    );
    println!(
        "{:<14} {:<15} {:>10} {:>10}",
        "relationship", "mode", "LoB %", "LoD %"
    );
    for r in &results {
        println!(
            "{:<14} {:<15} {:>10.4} {:>10}",
            r.relationship.as_str(),
            r.mode.as_str(),
            100.0 * r.limit_of_blank,
            r.limit_of_detection
                .map(|l| format!("{:.4}", 100.0 * l))
                .unwrap_or_else(|| "> max".into())
        );
    }
    Ok(())
}
