//! `graftscan pileup`: a BAM or CRAM counted at the panel's sites, written as
//! the count TSV that `scan` reads (for inspection; `scan` counts BAM/CRAM
//! given in samples.csv itself, with the same settings).

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;

use crate::error::Result;
use crate::formats::alignment::{
    DEFAULT_MIN_BASEQ, DEFAULT_MIN_MAPQ, PileupSettings, UmiTag, pileup,
};
use crate::formats::panel::{PanelOptions, read_panel};
use crate::formats::site::SiteKey;
use crate::report::output::{refuse_input_as_output, write_atomic};

/// How aligned reads are counted (shared by `pileup` and `scan`).
#[derive(Debug, Clone, Args)]
pub struct ReadArgs {
    /// Reference FASTA (with its .fai) that CRAM files were compressed against.
    #[arg(long, value_name = "FASTA")]
    pub reference: Option<PathBuf>,
    /// Minimum mapping quality of a counted read (as bcftools mpileup -q).
    #[arg(long, default_value_t = DEFAULT_MIN_MAPQ)]
    pub min_mapq: u8,
    /// Minimum base quality of a counted base (as bcftools mpileup -Q).
    #[arg(long, default_value_t = DEFAULT_MIN_BASEQ)]
    pub min_baseq: u8,
    /// Count reads flagged as duplicates (0x400); for UMI data, where
    /// duplicates are collapsed by --umi-tag instead.
    #[arg(long)]
    pub keep_duplicates: bool,
    /// Count each molecule once: fragments sharing this tag's value at a site
    /// count once, by majority base (a tie counts nothing).
    #[arg(long, value_enum, value_name = "TAG")]
    pub umi_tag: Option<UmiTag>,
}

impl ReadArgs {
    pub fn settings(&self) -> PileupSettings {
        PileupSettings {
            min_mapq: self.min_mapq,
            min_baseq: self.min_baseq,
            keep_duplicates: self.keep_duplicates,
            umi_tag: self.umi_tag,
            reads_not_fragments: false,
            reference: self.reference.clone(),
        }
    }
}

#[derive(Debug, Args)]
pub struct PileupArgs {
    /// Coordinate-sorted, indexed BAM or CRAM.
    #[arg(long, alias = "cram", value_name = "FILE")]
    pub bam: PathBuf,
    /// Sites to count (TSV: chrom pos ref alt af).
    #[arg(long)]
    pub panel: PathBuf,
    /// Count TSV to write (atomically).
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub reads: ReadArgs,
    /// Count every read, not every fragment: overlapping mates count twice,
    /// as in samtools/bcftools mpileup with overlap detection off (-x). For
    /// comparison with those tools only.
    #[arg(long)]
    pub count_reads: bool,
    /// Add overlapping_mates, discordant_mates_dropped and umi_ties_dropped columns.
    #[arg(long)]
    pub detail: bool,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// No summary on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn run(a: PileupArgs) -> Result<()> {
    let mut inputs = vec![a.bam.clone(), a.panel.clone()];
    inputs.extend(a.reads.reference.iter().cloned());
    refuse_input_as_output("--out", &a.out, &inputs)?;
    super::set_threads(a.threads)?;
    let mut settings = a.reads.settings();
    settings.reads_not_fragments = a.count_reads;
    let mut sites: Vec<SiteKey> = read_panel(&a.panel, &PanelOptions::default())?
        .sites
        .into_keys()
        .collect();
    sites.sort();
    let t0 = Instant::now();
    let p = pileup(&a.bam, &sites, &settings)?;
    let seconds = t0.elapsed().as_secs_f64();
    write_atomic(&a.out, p.to_tsv(a.detail).as_bytes())?;
    if a.quiet {
        return Ok(());
    }
    let r = &p.reads;
    let covered = p.sites.iter().filter(|s| s.counts.depth > 0).count();
    eprintln!(
        "graftscan pileup: {} sites ({covered} with reads) from {} records in {seconds:.2} s ({:.0} records/s); sample {} → {}",
        p.sites.len(),
        r.records,
        r.records as f64 / seconds.max(1e-9),
        p.sample
            .as_deref()
            .map(|s| format!("'{s}' (read groups)"))
            .unwrap_or_else(|| "unnamed (no SM in the read groups)".into()),
        a.out.display()
    );
    eprintln!(
        "not counted: {} duplicate, {} secondary, {} supplementary, {} QC-fail, {} unmapped, {} below MAPQ {}",
        r.duplicate,
        r.secondary,
        r.supplementary,
        r.qc_fail,
        r.unmapped,
        r.low_mapq,
        settings.min_mapq
    );
    if settings.umi_tag.is_some() && r.without_umi > 0 {
        eprintln!(
            "note: {} counted reads had no UMI tag; each counted as its own molecule",
            r.without_umi
        );
    }
    for (panel_name, file_name) in &p.renamed_contigs {
        eprintln!("note: panel contig {panel_name} is {file_name} in the file");
    }
    for (name, n) in &p.absent_contigs {
        eprintln!(
            "warning: {n} panel sites on contig {name}, which the file's header lacks: written with depth 0"
        );
    }
    Ok(())
}
