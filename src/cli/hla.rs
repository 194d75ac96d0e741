//! `graftscan hla ...`: HLA matching commands. `hla screen` scores every donor
//! of a pool against every recipient (antigen/allele mismatch per locus,
//! amino-acid mismatch from the release's alignments, eplet loads with a
//! user-supplied table) and writes per-pair loads and the top-k donors per
//! recipient. [`MatchArgs`] are the matching options `scan` shares.

use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, Subcommand, ValueEnum};

use crate::compute::select::{BackendChoice, select_hla_backend};
use crate::error::{Error, Result};
use crate::hla::amino_acids::{AaReference, load_for, missing_alignments_warning};
use crate::hla::antibodies::{DEFAULT_MFI_CUTOFF, MAX_MFI, read_antibodies};
use crate::hla::eplets::{EpletTable, WiebeThresholds};
use crate::hla::mismatch::{
    Ambiguity, AntigenEquivalence, AssociatedAntigens, Direction, LevelRequest, MatchSettings,
    PublicEpitopes, drb_consistency,
};
use crate::hla::release::{HLA_DB_ENV, Release};
use crate::hla::screen::{RankBy, ScreenReference, ScreenSettings, screen};
use crate::hla::typing::{PersonTyping, read_typing_csv};
use crate::report::OutputSet;
use crate::report::output::{InputPaths, ResultsFolder};
use crate::report::run_record::input_digests;

#[derive(Debug, Args)]
pub struct HlaArgs {
    #[command(subcommand)]
    pub command: HlaCommand,
}

#[derive(Debug, Subcommand)]
pub enum HlaCommand {
    /// Score every donor of a pool against every recipient (N×M).
    Screen(ScreenArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DirectionArg {
    /// Host versus graft: donor items the recipient lacks (solid organ).
    Hvg,
    /// Graft versus host: recipient items the donor lacks.
    Gvh,
    /// The larger of the two, per locus (HvG on a tie).
    Bidirectional,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RankByArg {
    Mismatches,
    Eplets,
    /// Total amino-acid mismatches (needs --aa-mismatch).
    AminoAcids,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EquivalenceArg {
    /// Antigens match by name only (A23 ≠ A9).
    Split,
    /// Splits equal their broad (A23 = A24 = A9).
    Broad,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AssociatedArg {
    /// An associated antigen is its own antigen (A2403 ≠ A24, DR1403 ≠ DR14).
    Distinct,
    /// An associated antigen is read as its parent (A2403 = A24).
    Parent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AmbiguityArg {
    /// The genotypes giving the most mismatches in the direction counted
    /// (the safe reading for HvG risk).
    Worst,
    /// The genotypes giving the fewest mismatches.
    Best,
    /// The first alternative as written.
    First,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PublicEpitopeArg {
    /// Read Bw4/Bw6 and note them; never counted.
    Ignore,
    /// Count donor Bw4/Bw6 the recipient lacks, as their own column.
    Compare,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LevelArg {
    /// Antigen (split) where the release gives one, allele (2-field) otherwise.
    Auto,
    /// The same as auto.
    Antigen,
    /// 2-field allele; serologic typings still compare by antigen.
    Allele,
    /// P group (needs wmda/hla_nom_p.txt in the release).
    PGroup,
    /// G group (needs wmda/hla_nom_g.txt in the release).
    GGroup,
}

/// How HLA typings are compared: shared by `scan` and `hla screen`.
#[derive(Debug, Clone, Args)]
pub struct MatchArgs {
    /// Direction of the antigen/allele and amino-acid counts (eplet loads are
    /// always HvG).
    #[arg(long, value_enum, default_value_t = DirectionArg::Hvg)]
    pub direction: DirectionArg,
    /// 1: distinct items (solid-organ counting); 2: a homozygous mismatch counts
    /// twice (an expressed allele beside a null counts as homozygous unless the
    /// other person also carries a null).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=2))]
    pub homozygous_count: u8,
    /// Matching level (allele typings reduce to antigens with --hla-db).
    #[arg(long, value_enum, default_value_t = LevelArg::Auto)]
    pub level: LevelArg,
    /// Split/broad equivalence of antigens.
    #[arg(long, value_enum, default_value_t = EquivalenceArg::Split)]
    pub antigen_equivalence: EquivalenceArg,
    /// Associated antigens (A2403 of A24, DR1403 of DR14).
    #[arg(long, value_enum, default_value_t = AssociatedArg::Distinct)]
    pub associated: AssociatedArg,
    /// Resolution of ambiguous typings (GL '/' and '|'), per locus; default
    /// worst case, the safe reading for HvG risk. Every resolution is reported.
    #[arg(long, value_enum, default_value_t = AmbiguityArg::Worst)]
    pub ambiguity: AmbiguityArg,
    /// Bw4/Bw6 public epitopes in antigen typings.
    #[arg(long = "bw4-bw6", value_enum, default_value_t = PublicEpitopeArg::Ignore)]
    pub bw4_bw6: PublicEpitopeArg,
    /// Amino-acid mismatches from the release's protein alignments
    /// (alignments/<LOCUS>_prot.txt; needs --hla-db).
    #[arg(long)]
    pub aa_mismatch: bool,
    /// Restrict amino-acid mismatches to these positions (CSV locus,position;
    /// e.g. solvent-accessible residues); loci it omits are not compared.
    #[arg(long, value_name = "FILE", requires = "aa_mismatch")]
    pub aa_positions: Option<PathBuf>,
}

impl MatchArgs {
    pub fn settings(&self) -> MatchSettings {
        MatchSettings {
            direction: match self.direction {
                DirectionArg::Hvg => Direction::HostVsGraft,
                DirectionArg::Gvh => Direction::GraftVsHost,
                DirectionArg::Bidirectional => Direction::Bidirectional,
            },
            homozygous_count: self.homozygous_count,
            equivalence: match self.antigen_equivalence {
                EquivalenceArg::Split => AntigenEquivalence::Split,
                EquivalenceArg::Broad => AntigenEquivalence::Broad,
            },
            associated: match self.associated {
                AssociatedArg::Distinct => AssociatedAntigens::Distinct,
                AssociatedArg::Parent => AssociatedAntigens::Parent,
            },
            level: match self.level {
                LevelArg::Auto => LevelRequest::Auto,
                LevelArg::Antigen => LevelRequest::Antigen,
                LevelArg::Allele => LevelRequest::Allele,
                LevelArg::PGroup => LevelRequest::PGroup,
                LevelArg::GGroup => LevelRequest::GGroup,
            },
            ambiguity: match self.ambiguity {
                AmbiguityArg::Worst => Ambiguity::Worst,
                AmbiguityArg::Best => Ambiguity::Best,
                AmbiguityArg::First => Ambiguity::First,
            },
            public_epitopes: match self.bw4_bw6 {
                PublicEpitopeArg::Ignore => PublicEpitopes::Ignore,
                PublicEpitopeArg::Compare => PublicEpitopes::Compare,
            },
        }
    }

    /// The protein alignments for `people`, when asked for.
    pub fn amino_acid_reference<'t>(
        &self,
        release: Option<&Release>,
        people: impl IntoIterator<Item = &'t crate::hla::typing::Typing>,
    ) -> Result<Option<AaReference>> {
        if !self.aa_mismatch {
            return Ok(None);
        }
        load_for(release, people, self.aa_positions.as_deref()).map(Some)
    }
}

#[derive(Debug, Args)]
pub struct ScreenArgs {
    /// Recipient typings: person_id + gl_string, or A_1,A_2,...,DPB1_2.
    #[arg(long)]
    pub recipients: PathBuf,
    /// Donor typings, same format.
    #[arg(long)]
    pub donors: PathBuf,
    /// IPD-IMGT/HLA release directory (antigen-level comparison of allele
    /// typings, allele validation, amino acids).
    #[arg(long, env = HLA_DB_ENV)]
    pub hla_db: Option<PathBuf>,
    /// Eplet table (CSV allele,eplet,group,antibody_verified with '# version:').
    #[arg(long)]
    pub eplets: Option<PathBuf>,
    /// Wiebe thresholds: 2.2, 3.1, or a CSV file (default: from the table version).
    #[arg(long)]
    pub wiebe_thresholds: Option<String>,
    /// Single-antigen-bead results (recipient_id or transplant_id, serum_date,
    /// specificity, mfi[, cutoff]): DSAs are listed for the top-k donors.
    #[arg(long)]
    pub antibodies: Option<PathBuf>,
    /// MFI cut-off for beads without their own (positive = MFI above it).
    #[arg(long, default_value_t = DEFAULT_MFI_CUTOFF)]
    pub mfi_cutoff: f64,
    /// Donors listed per recipient in top_donors.csv.
    #[arg(long, default_value_t = 10)]
    pub top_k: usize,
    #[arg(long, value_enum, default_value_t = RankByArg::Mismatches)]
    pub rank_by: RankByArg,
    #[command(flatten)]
    pub matching: MatchArgs,
    #[arg(long, value_enum, env = "GRAFTSCAN_BACKEND", default_value_t = BackendChoice::Auto)]
    pub backend: BackendChoice,
    /// Use the adapter whose name contains this text (case-insensitive).
    #[arg(long)]
    pub adapter: Option<String>,
    /// Output folder (written as one unit: it appears only when complete).
    #[arg(long, default_value = "graftscan-hla-screen")]
    pub out: PathBuf,
    /// Replace an existing results folder of `hla screen`.
    #[arg(long)]
    pub force: bool,
    /// Skip pairs.csv (one row per donor × recipient); top_donors.csv is kept.
    #[arg(long)]
    pub no_pairs: bool,
    /// Worker threads for the CPU path (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// No summary on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn run(a: HlaArgs) -> Result<()> {
    match a.command {
        HlaCommand::Screen(s) => run_screen(s),
    }
}

/// typing_notes.csv: every assumption made while reading (homozygosity,
/// ambiguity, name resolution) and every DRB1 ↔ DRB3/4/5 inconsistency.
fn typing_notes(
    people: [(&str, &[PersonTyping]); 2],
    settings: &MatchSettings,
    amino_acids: Option<&AaReference>,
) -> (String, usize, usize) {
    let mut notes = String::from("role,person_id,line,note\n");
    let mut n_notes = 0usize;
    let mut n_inconsistent = 0usize;
    for (role, people) in people {
        for p in people {
            let drb = drb_consistency(&p.typing);
            n_inconsistent += usize::from(!drb.is_empty());
            let mut extra: Vec<String> = drb
                .into_iter()
                .map(|m| format!("inconsistent DRB1/DRB3/4/5: {m}"))
                .collect();
            if !p.typing.ambiguous.is_empty() {
                extra.push(format!(
                    "ambiguous loci resolved per donor–recipient pair by --ambiguity {} (first alternative for eplet loads and donor-specific antibodies)",
                    settings.ambiguity.name()
                ));
            }
            if let Some(e) = &p.typing.public_epitopes {
                let names: Vec<&str> = e.iter().map(|x| x.name()).collect();
                extra.push(format!(
                    "{}: {}",
                    names.join(" "),
                    match settings.public_epitopes {
                        PublicEpitopes::Ignore =>
                            "public epitopes read, not compared (--bw4-bw6 ignore)",
                        PublicEpitopes::Compare => "public epitopes compared (--bw4-bw6 compare)",
                    }
                ));
            }
            if let Some(reference) = amino_acids {
                let mut aa_notes = Vec::new();
                for l in crate::hla::nomenclature::Locus::ALL {
                    if p.typing.is_typed(l) {
                        reference.locus_states(&p.typing, l, &mut aa_notes);
                    }
                }
                extra.extend(aa_notes.into_iter().map(|n| format!("amino acids: {n}")));
            }
            for note in p.typing.notes.iter().cloned().chain(extra) {
                n_notes += 1;
                notes.push_str(&format!(
                    "{role},\"{}\",{},\"{}\"\n",
                    p.person_id.replace('"', "\"\""),
                    p.line,
                    note.replace('"', "\"\"")
                ));
            }
        }
    }
    (notes, n_notes, n_inconsistent)
}

/// Everything `hla screen` writes.
const SCREEN_OUTPUTS: &[&str] = &[
    "typing_notes.csv",
    "pairs.csv",
    "top_donors.csv",
    "screen.json",
];

/// `--mfi-cutoff`: an MFI in (0, MAX_MFI] (a bead is positive above it).
pub fn check_mfi_cutoff(cutoff: f64) -> Result<()> {
    if !(cutoff > 0.0 && cutoff <= MAX_MFI) {
        return Err(Error::Usage(format!(
            "--mfi-cutoff must be an MFI in (0, {MAX_MFI}]"
        )));
    }
    Ok(())
}

fn run_screen(a: ScreenArgs) -> Result<()> {
    let started = Instant::now();
    // Before any work: the results folder can be written and touches no input.
    let mut inputs = InputPaths::default();
    inputs.files([
        Some(&a.recipients),
        Some(&a.donors),
        a.eplets.as_ref(),
        a.antibodies.as_ref(),
    ]);
    inputs.hla_references(a.wiebe_thresholds.as_deref(), a.hla_db.as_deref());
    let folder = ResultsFolder::prepare(&a.out, "--out", a.force, SCREEN_OUTPUTS, &inputs)?;
    super::set_threads(a.threads)?;
    let matching = a.matching.settings();
    if a.rank_by == RankByArg::AminoAcids && !a.matching.aa_mismatch {
        return Err(Error::Usage(
            "--rank-by amino-acids needs --aa-mismatch".into(),
        ));
    }
    let settings = ScreenSettings {
        matching,
        top_k: a.top_k,
        rank_by: match a.rank_by {
            RankByArg::Mismatches => RankBy::Mismatches,
            RankByArg::Eplets => RankBy::Eplets,
            RankByArg::AminoAcids => RankBy::AminoAcids,
        },
        write_pairs: !a.no_pairs,
    };
    let release = match Release::locate(a.hla_db.as_deref()) {
        Some(dir) => Some(Release::load(&dir)?),
        None => None,
    };
    let table = a.eplets.as_deref().map(EpletTable::read).transpose()?;
    let thresholds = match (&a.wiebe_thresholds, &table) {
        (Some(spec), _) => Some(WiebeThresholds::from_spec(spec)?),
        (None, Some(t)) => WiebeThresholds::for_table_version(&t.version),
        (None, None) => None,
    };
    check_mfi_cutoff(a.mfi_cutoff)?;
    let antibodies = a
        .antibodies
        .as_deref()
        .map(|p| read_antibodies(p, a.mfi_cutoff))
        .transpose()?;
    let t_read = Instant::now();
    let recipients = read_typing_csv(&a.recipients, release.as_ref())?;
    let donors = read_typing_csv(&a.donors, release.as_ref())?;
    let amino_acids = a.matching.amino_acid_reference(
        release.as_ref(),
        recipients.iter().chain(&donors).map(|p| &p.typing),
    )?;
    let read_s = t_read.elapsed().as_secs_f64();
    let (backend, backend_note) = select_hla_backend(a.backend, a.adapter.as_deref())?;
    let t_screen = Instant::now();
    let out = screen(
        &recipients,
        &donors,
        ScreenReference {
            release: release.as_ref(),
            eplets: table.as_ref(),
            thresholds: thresholds.as_ref(),
            amino_acids: amino_acids.as_ref(),
        },
        &settings,
        antibodies.as_deref(),
        backend.as_ref(),
    )?;
    let screen_s = t_screen.elapsed().as_secs_f64();
    let (notes, n_notes, n_inconsistent) = typing_notes(
        [("recipient", &recipients), ("donor", &donors)],
        &matching,
        amino_acids.as_ref(),
    );
    let mut inputs = vec![a.recipients.clone(), a.donors.clone()];
    inputs.extend(a.eplets.clone());
    inputs.extend(a.antibodies.clone());
    inputs.extend(a.matching.aa_positions.clone());
    if let Some(aa) = &amino_acids {
        inputs.extend(aa.files());
    }
    let record = serde_json::json!({
        "command": "hla screen",
        "version": env!("CARGO_PKG_VERSION"),
        "recipients": recipients.len(),
        "donors": donors.len(),
        "pairs": out.pairs,
        "matching": matching,
        "direction": matching.direction.name(),
        "eplet_direction": "HvG",
        "homozygous_count": matching.homozygous_count,
        "antigen_equivalence": matching.equivalence,
        "levels": out.levels.iter().map(|(l, v)| serde_json::json!({"locus": l.name(), "level": v.name()})).collect::<Vec<_>>(),
        "level_note": out.level_note,
        "blank_cell": "not compared (typed on one side only, DRB3/4/5 of unknown content, no alignment or position for an amino-acid locus); never 0",
        "amino_acids": amino_acids.as_ref().map(|aa| serde_json::json!({
            "alignments": aa.files(),
            "missing_alignments": aa.missing,
            "position_set": aa.positions.as_ref().map(|p| p.source.clone()),
            "unknown_residues": "never counted: an unknown or undetermined residue adds nothing on the donor side and carries everything on the recipient side; a gap is no residue",
            "count": "distinct (position, residue) pairs per locus; total = sum over loci",
        })),
        "ipd_imgt_hla_release": release.as_ref().map(|r| r.version.clone()),
        "ipd_imgt_hla_citation": release.as_ref().map(|r| r.citation()),
        "eplet_table_version": table.as_ref().map(|t| t.version.clone()),
        "typing_notes": n_notes,
        "persons_with_inconsistent_drb": n_inconsistent,
        "mfi_cutoff_default": antibodies.as_ref().map(|_| a.mfi_cutoff),
        "wiebe_thresholds": thresholds,
        "backend": backend.describe(),
        "backend_note": backend_note,
        "kernel": {"segments_per_pair": out.segments, "donor_words": out.donor_words, "recipient_words": out.recipient_words},
        "seconds": {"read": read_s, "screen": screen_s, "backend": out.backend_seconds, "decode_and_rank": out.decode_seconds, "total": started.elapsed().as_secs_f64()},
        "inputs": input_digests(&inputs)?,
    });
    let mut set = OutputSet::default();
    set.add("typing_notes.csv", notes.into_bytes());
    if let Some(pairs) = out.pairs_csv {
        set.add("pairs.csv", pairs);
    }
    set.add("top_donors.csv", out.top_csv);
    let json = serde_json::to_vec_pretty(&record)
        .map_err(|e| Error::Usage(format!("rendering screen.json: {e}")))?;
    set.add("screen.json", json);
    let written = folder.commit(set)?;
    for n in folder.notes() {
        eprintln!("graftscan: {n}");
    }
    if !a.quiet {
        if let Some(n) = &backend_note {
            eprintln!("note: {n}");
        }
        eprintln!(
            "screened {} donors × {} recipients = {} pairs on {} in {:.2} s (backend {:.2} s, decode and rank {:.2} s)",
            donors.len(),
            recipients.len(),
            out.pairs,
            backend.describe(),
            screen_s,
            out.backend_seconds,
            out.decode_seconds
        );
        if let Some(r) = &release {
            eprintln!("reference: {}", r.citation());
        }
        if let Some(w) = amino_acids
            .as_ref()
            .and_then(|aa| missing_alignments_warning(&aa.missing))
        {
            eprintln!("warning: {w}");
        }
        if n_inconsistent > 0 {
            eprintln!(
                "warning: {n_inconsistent} typings have DRB3/4/5 genes their DRB1 families do not predict (see typing_notes.csv)"
            );
        }
        if n_notes > 0 {
            eprintln!("{n_notes} assumptions or flags recorded in typing_notes.csv");
        }
        eprintln!("wrote {} files to {}", written.len(), a.out.display());
    }
    Ok(())
}
