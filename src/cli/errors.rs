//! `graftscan errors learn`: a per-site, per-direction error table from samples
//! of known genotype (pure runs, blanks), for `scan --error-table`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::error::{Error, InputError, Result};
use crate::formats::read_allele_table;
use crate::model::error_table::{ErrorTable, MIN_DEPTH};
use crate::report::output::{refuse_input_as_output, write_atomic};

#[derive(Debug, Args)]
pub struct ErrorsArgs {
    #[command(subcommand)]
    pub command: ErrorsCommand,
}

#[derive(Debug, Subcommand)]
pub enum ErrorsCommand {
    /// Learn REF→ALT and ALT→REF error rates per site from pure samples.
    Learn(LearnArgs),
}

#[derive(Debug, Args)]
pub struct LearnArgs {
    /// FILE or FILE:SAMPLE (repeatable): a VCF whose column has both FORMAT/GT
    /// and FORMAT/AD for one person's pure DNA; without :SAMPLE every column is used.
    #[arg(long = "input", required = true)]
    pub inputs: Vec<String>,
    /// Output TSV (written atomically).
    #[arg(long)]
    pub out: PathBuf,
}

pub fn run(a: ErrorsArgs) -> Result<()> {
    match a.command {
        ErrorsCommand::Learn(l) => learn(l),
    }
}

/// `FILE` or `FILE:SAMPLE`.
fn input_spec(spec: &str) -> (PathBuf, Option<&str>) {
    match spec.rsplit_once(':') {
        Some((p, s)) if !p.is_empty() && PathBuf::from(p).exists() => (PathBuf::from(p), Some(s)),
        _ => (PathBuf::from(spec), None),
    }
}

fn learn(a: LearnArgs) -> Result<()> {
    let inputs: Vec<PathBuf> = a.inputs.iter().map(|s| input_spec(s).0).collect();
    refuse_input_as_output("--out", &a.out, &inputs)?;
    let mut table = ErrorTable::default();
    let mut columns = 0;
    for spec in &a.inputs {
        let (path, sample) = input_spec(spec);
        let t = read_allele_table(&path)?;
        if t.genotypes.is_none() || t.depths.is_none() {
            return Err(InputError::new(&path, "needs both FORMAT/GT and FORMAT/AD").into());
        }
        let cols: Vec<usize> = match sample {
            Some(s) => vec![
                t.sample_index(s)
                    .map_err(|m| Error::from(InputError::new(&path, m)))?,
            ],
            None => (0..t.samples.len()).collect(),
        };
        for c in cols {
            table.learn_from(&t, c);
            columns += 1;
        }
    }
    let usable = table
        .sites
        .values()
        .map(|c| {
            usize::from(c.ref_to_alt.1 >= MIN_DEPTH) + usize::from(c.alt_to_ref.1 >= MIN_DEPTH)
        })
        .sum::<usize>();
    write_atomic(&a.out, table.to_tsv().as_bytes())?;
    eprintln!(
        "graftscan: error table from {columns} sample column(s): {} sites, {usable} site-directions with ≥ {MIN_DEPTH} reads; pooled rate {:.2e} → {}",
        table.sites.len(),
        table.pooled_rate().unwrap_or(f64::NAN),
        a.out.display()
    );
    Ok(())
}
