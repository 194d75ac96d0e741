//! `graftscan panel build`: a frequency panel (TSV with AC and AN, overall and
//! per population) from the genotypes of a cohort, for `scan --panel`.

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::error::{InputError, Result};
use crate::formats::cohort::{AlleleCount, count_cohort, read_populations};
use crate::report::output::{refuse_input_as_output, write_atomic};

#[derive(Debug, Args)]
pub struct PanelArgs {
    #[command(subcommand)]
    pub command: PanelCommand,
}

#[derive(Debug, Subcommand)]
pub enum PanelCommand {
    /// Count ALT alleles of a genotyped cohort into a panel TSV.
    Build(BuildArgs),
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Cohort VCF(.gz) with FORMAT/GT for every person.
    #[arg(long)]
    pub vcf: PathBuf,
    /// TSV or CSV with `sample` and `population` columns: adds af_<POP>,
    /// ac_<POP> and an_<POP> columns (choose one with `scan --population`).
    #[arg(long)]
    pub populations: Option<PathBuf>,
    /// Output panel TSV (written atomically).
    #[arg(long)]
    pub out: PathBuf,
}

pub fn run(a: PanelArgs) -> Result<()> {
    match a.command {
        PanelCommand::Build(b) => build(b),
    }
}

fn push_count(line: &mut String, (ac, an): AlleleCount) {
    if an == 0 {
        line.push_str("\t.\t0\t0");
    } else {
        let _ = write!(line, "\t{:.6}\t{ac}\t{an}", ac as f64 / an as f64);
    }
}

fn build(a: BuildArgs) -> Result<()> {
    // Symbolic links and relative spellings of an input are resolved too.
    let mut inputs = vec![a.vcf.clone()];
    inputs.extend(a.populations.iter().cloned());
    refuse_input_as_output("--out", &a.out, &inputs)?;
    let populations = a.populations.as_deref().map(read_populations).transpose()?;
    let counts = count_cohort(&a.vcf, a.populations.as_deref().zip(populations.as_ref()))?;
    if counts.sites.is_empty() {
        return Err(InputError::new(&a.vcf, "no biallelic SNP records").into());
    }
    let mut out = String::from("chrom\tpos\tref\talt\taf\tac\tan");
    for p in &counts.populations {
        let _ = write!(out, "\taf_{p}\tac_{p}\tan_{p}");
    }
    out.push('\n');
    for s in &counts.sites {
        let _ = write!(
            out,
            "{}\t{}\t{}\t{}",
            s.site.chrom, s.site.pos, s.site.ref_base as char, s.site.alt_base as char
        );
        push_count(&mut out, s.overall);
        for &c in &s.by_population {
            push_count(&mut out, c);
        }
        out.push('\n');
    }
    write_atomic(&a.out, out.as_bytes())?;
    let mut summary = format!(
        "graftscan panel build: {} SNPs from {} people",
        counts.sites.len(),
        counts.samples
    );
    if !counts.populations.is_empty() {
        let per: Vec<String> = counts
            .populations
            .iter()
            .zip(&counts.population_sizes)
            .map(|(p, n)| format!("{p} {n}"))
            .collect();
        let _ = write!(summary, " ({})", per.join(", "));
        if counts.unassigned > 0 {
            let _ = write!(
                summary,
                "; {} people without a population counted overall only",
                counts.unassigned
            );
        }
    }
    if counts.skipped > 0 {
        let _ = write!(
            summary,
            "; {} records that are not biallelic SNPs skipped",
            counts.skipped
        );
    }
    eprintln!("{summary}; wrote {}", a.out.display());
    Ok(())
}
