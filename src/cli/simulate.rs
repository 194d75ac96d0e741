use std::path::PathBuf;

use clap::Args;

use crate::error::{Error, Result};
use crate::model::Relationship;
use crate::report::output::{InputPaths, ResultsFolder};
use crate::simulate::ReadSettings;
use crate::simulate::batch::{
    SimulationConfig, Trajectory, TransplantPlan, demo_plans, simulate_batch,
};

/// Everything `simulate` writes (an existing batch folder is replaced only
/// with --force, and only when it holds nothing else).
pub(super) const SIMULATED: &[&str] = &[
    "counts",
    "genotypes",
    "transplants.csv",
    "antibodies.csv",
    "samples.csv",
    "panel.tsv",
    "truth.csv",
];

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Output folder (written as one unit: it appears only when complete).
    #[arg(long)]
    pub out: PathBuf,
    /// Replace an existing batch folder written by `graftscan simulate`.
    #[arg(long)]
    pub force: bool,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Number of panel SNPs.
    #[arg(long, default_value_t = 1000)]
    pub snps: usize,
    /// Mean reads per SNP.
    #[arg(long, default_value_t = 1500.0)]
    pub depth: f64,
    /// Input genome copies per locus (10 ng cfDNA ≈ 3,000); 0 = unlimited.
    #[arg(long, default_value_t = 3000.0)]
    pub genome_copies: f64,
    #[arg(long, default_value_t = 0.001)]
    pub error_rate: f64,
    /// Blood draws per transplant (1–6).
    #[arg(long, default_value_t = 4)]
    pub samples_per_transplant: usize,
    /// Number of transplants; the demo mix of organs, relationships and
    /// trajectories is repeated to reach it.
    #[arg(long, default_value_t = 12)]
    pub transplants: usize,
    /// Override every transplant's relationship (e.g. full_sibling).
    #[arg(long)]
    pub relationship: Option<String>,
    /// Genotype no donor (recipient-only mode throughout).
    #[arg(long)]
    pub untyped_donors: bool,
    /// Use the demo's mix exactly (poor last libraries, an untyped recipient);
    /// without it every draw has the full depth and every recipient is typed.
    #[arg(long)]
    pub demo_mix: bool,
    /// Every transplant in one estimation mode (which genotypes are given);
    /// for benchmarks.
    #[arg(long, value_enum)]
    pub mode: Option<super::bench::ScanMode>,
}

/// Bounds that keep a simulation within memory and time (and its numbers finite).
const MAX_DEPTH: f64 = 1e7;
const MAX_GENOME_COPIES: f64 = 1e9;
const MAX_SNPS: usize = 1_000_000;
const MAX_TRANSPLANTS: usize = 100_000;

pub fn run(a: SimulateArgs) -> Result<()> {
    let valid = a.depth > 0.0
        && a.depth <= MAX_DEPTH
        && (0.0..0.5).contains(&a.error_rate)
        && (0.0..=MAX_GENOME_COPIES).contains(&a.genome_copies)
        && (1..=MAX_SNPS).contains(&a.snps)
        && (1..=MAX_TRANSPLANTS).contains(&a.transplants);
    if !valid {
        return Err(Error::Usage(format!(
            "--depth must be in (0, {MAX_DEPTH}], --error-rate in [0, 0.5), --genome-copies in \
             [0, {MAX_GENOME_COPIES}], --snps in 1..={MAX_SNPS} and --transplants in 1..={MAX_TRANSPLANTS}"
        )));
    }
    let folder =
        ResultsFolder::prepare(&a.out, "--out", a.force, SIMULATED, &InputPaths::default())?;
    let relationship: Option<Relationship> = a
        .relationship
        .as_deref()
        .map(str::parse)
        .transpose()
        .map_err(Error::Usage)?;
    let demo = demo_plans();
    let plans: Vec<TransplantPlan> = (0..a.transplants)
        .map(|i| {
            let mut p = demo[i % demo.len()].clone();
            if let Some(r) = relationship {
                p.relationship = r;
            }
            if a.untyped_donors {
                p.donor_typed = false;
            }
            if !a.demo_mix {
                p.last_draw_depth = None;
                p.recipient_typed = true;
            }
            if let Some(mode) = a.mode {
                use super::bench::ScanMode;
                p.recipient_typed = mode != ScanMode::GenotypeFree;
                p.donor_typed = mode == ScanMode::TwoGenome;
            }
            if p.relationship == Relationship::IdenticalTwin {
                p.trajectory = Trajectory::Stable;
            }
            p
        })
        .collect();
    let cfg = SimulationConfig {
        seed: a.seed,
        snps: a.snps,
        reads: ReadSettings {
            depth: a.depth,
            genome_copies: (a.genome_copies > 0.0).then_some(a.genome_copies),
            error_rate: a.error_rate,
        },
        samples_per_transplant: a.samples_per_transplant,
        plans,
    };
    folder.commit(simulate_batch(&cfg)?)?;
    for n in folder.notes() {
        eprintln!("graftscan: {n}");
    }
    eprintln!(
        "graftscan: simulated {} transplants × {} draws, {} SNPs, into {} (truth in truth.csv)",
        a.transplants,
        a.samples_per_transplant.clamp(1, 6),
        a.snps,
        a.out.display()
    );
    Ok(())
}
