//! Command line: parse (clap) → resolve into a plain configuration → run.
//! Exit codes: 0 success, 2 error (ripgrep's convention).

pub mod bench;
pub mod bench_scan;
pub mod config;
pub mod devices;
pub mod errors;
pub mod hla;
pub mod lod;
pub mod merge;
pub mod panel;
pub mod pileup;
pub mod scan;
pub mod simulate;

use std::ffi::OsString;

use clap::{Parser, Subcommand};

use crate::error::Error;

#[derive(Debug, Parser)]
#[command(
    name = "graftscan",
    version,
    about = "Donor-derived cfDNA fractions and transplant rejection-risk scoring from SNP panel counts.\nDecision support, not a medical device."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
// Parsed once per run: the size of the scan variant costs nothing.
#[allow(clippy::large_enum_variant)]
pub enum Command {
    /// Estimate donor-derived cfDNA for a batch of samples.
    Scan(scan::ScanArgs),
    /// Write a simulated, scan-ready batch with known donor fractions.
    Simulate(simulate::SimulateArgs),
    /// Print or check the risk rules (thresholds with their sources).
    Config(config::ConfigArgs),
    /// Per-site error tables from samples of known genotype.
    Errors(errors::ErrorsArgs),
    /// Limits of blank and detection for a panel by parametric simulation.
    Lod(lod::LodArgs),
    /// List the wgpu adapters (GPUs and software adapters) and their limits.
    Devices(devices::DevicesArgs),
    /// Time the CPU and GPU log-likelihood paths on synthetic batches.
    Bench(bench::BenchArgs),
    /// HLA matching: screen a donor pool against recipients.
    Hla(hla::HlaArgs),
    /// Allele-frequency panels: build one from a genotyped cohort.
    Panel(panel::PanelArgs),
    /// Count a BAM/CRAM's fragments at the panel's sites (the count TSV scan reads).
    Pileup(pileup::PileupArgs),
    /// Combine the results of scans of a batch's shards into one results folder.
    Merge(merge::MergeArgs),
}

/// Run the command line; returns the process exit code.
pub fn run(args: impl IntoIterator<Item = OsString>) -> i32 {
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    let result = match cli.command {
        Command::Scan(a) => scan::run(a),
        Command::Simulate(a) => simulate::run(a),
        Command::Config(a) => config::run(a),
        Command::Lod(a) => lod::run(a),
        Command::Errors(a) => errors::run(a),
        Command::Devices(a) => devices::run(a),
        Command::Bench(a) => bench::run(a),
        Command::Hla(a) => hla::run(a),
        Command::Panel(a) => panel::run(a),
        Command::Pileup(a) => pileup::run(a),
        Command::Merge(a) => merge::run(a),
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            report_error(&e);
            e.exit_code()
        }
    }
}

/// `--json` output: `value` pretty-printed on stdout.
pub fn print_json(value: &impl serde::Serialize) -> Result<(), Error> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Error::Usage(format!("cannot render JSON: {e}")))?;
    println!("{text}");
    Ok(())
}

/// `--threads N`: the size of rayon's global pool (default: all cores).
pub fn set_threads(threads: Option<usize>) -> Result<(), Error> {
    if let Some(n) = threads {
        if n == 0 {
            return Err(Error::Usage("--threads must be at least 1".into()));
        }
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .map_err(|e| Error::Usage(format!("cannot set up {n} threads: {e}")))?;
    }
    Ok(())
}

fn report_error(e: &Error) {
    eprintln!("graftscan: error: {e}");
}
