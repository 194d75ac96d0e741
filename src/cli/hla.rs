//! `graftscan hla ...`: HLA matching commands. `hla screen` scores every donor
//! of a pool against every recipient (HvG antigen/allele mismatch per locus,
//! eplet loads with a user-supplied table) and writes per-pair loads and the
//! top-k donors per recipient.

use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, Subcommand, ValueEnum};

use crate::compute::cpu::hla_mismatch::{CpuHlaMismatch, HlaMismatchBackend};
use crate::compute::gpu::hla_mismatch::{GpuHlaMismatch, adapter_names, select_adapter};
use crate::error::{Error, Result};
use crate::hla::antibodies::{DEFAULT_MFI_CUTOFF, MAX_MFI, read_antibodies};
use crate::hla::eplets::{EpletTable, WiebeThresholds};
use crate::hla::mismatch::{AntigenEquivalence, Direction, LevelRequest, drb_consistency};
use crate::hla::release::{HLA_DB_ENV, Release};
use crate::hla::screen::{RankBy, ScreenSettings, screen};
use crate::hla::typing::read_typing_csv;
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
pub enum BackendArg {
    /// A hardware GPU if one is present, else the CPU.
    Auto,
    /// Any wgpu adapter, software ones (lavapipe) included; error if none.
    Gpu,
    Cpu,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DirectionArg {
    /// Host versus graft: donor items the recipient lacks (solid organ).
    Hvg,
    /// Graft versus host: recipient items the donor lacks.
    Gvh,
    /// The larger of the two, per locus.
    Bidirectional,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RankByArg {
    Mismatches,
    Eplets,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EquivalenceArg {
    /// Antigens match by name only (A23 ≠ A9).
    Split,
    /// Splits equal their broad (A23 = A24 = A9).
    Broad,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LevelArg {
    /// Antigen where every typed allele has serology, else allele (2-field).
    Auto,
    Antigen,
    Allele,
    /// P group (needs wmda/hla_nom_p.txt in the release).
    PGroup,
    /// G group (needs wmda/hla_nom_g.txt in the release).
    GGroup,
}

#[derive(Debug, Args)]
pub struct ScreenArgs {
    /// Recipient typings: person_id + gl_string, or A_1,A_2,...,DPB1_2.
    #[arg(long)]
    pub recipients: PathBuf,
    /// Donor typings, same format.
    #[arg(long)]
    pub donors: PathBuf,
    /// IPD-IMGT/HLA release directory (needed for antigen-level comparison).
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
    #[arg(long, value_enum, default_value_t = EquivalenceArg::Split)]
    pub antigen_equivalence: EquivalenceArg,
    #[arg(long, value_enum, default_value_t = LevelArg::Auto)]
    pub level: LevelArg,
    /// 1: distinct items (solid-organ counting); 2: a homozygous mismatch counts twice.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=2))]
    pub homozygous_count: u8,
    /// Direction of the antigen/allele counts (eplet loads are always HvG).
    #[arg(long, value_enum, default_value_t = DirectionArg::Hvg)]
    pub direction: DirectionArg,
    #[arg(long, value_enum, default_value_t = BackendArg::Auto)]
    pub backend: BackendArg,
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

/// `--mfi-cutoff`: an MFI in (0, MAX_MFI] (a bead is positive above it).
pub fn check_mfi_cutoff(cutoff: f64) -> Result<()> {
    if !(cutoff > 0.0 && cutoff <= MAX_MFI) {
        return Err(Error::Usage(format!(
            "--mfi-cutoff must be an MFI in (0, {MAX_MFI}]"
        )));
    }
    Ok(())
}

/// The chosen backend and how to describe it.
pub fn choose_backend(
    backend: BackendArg,
    adapter: Option<&str>,
) -> Result<(Box<dyn HlaMismatchBackend>, Option<String>)> {
    let cpu = || -> Box<dyn HlaMismatchBackend> { Box::new(CpuHlaMismatch::default()) };
    match backend {
        BackendArg::Cpu => Ok((cpu(), None)),
        BackendArg::Gpu => {
            let Some(a) = select_adapter(false, adapter) else {
                let seen = adapter_names();
                return Err(Error::Gpu(format!(
                    "no wgpu adapter{} found (adapters seen: {})",
                    adapter
                        .map(|n| format!(" matching '{n}'"))
                        .unwrap_or_default(),
                    if seen.is_empty() {
                        "none".to_string()
                    } else {
                        seen.join("; ")
                    }
                )));
            };
            Ok((Box::new(GpuHlaMismatch::new(&a)?), None))
        }
        BackendArg::Auto => match select_adapter(true, adapter) {
            None => Ok((
                cpu(),
                Some("no hardware GPU found: using the CPU".to_string()),
            )),
            Some(a) => match GpuHlaMismatch::new(&a) {
                Ok(g) => Ok((Box::new(g), None)),
                Err(e) => Ok((cpu(), Some(format!("{e}; using the CPU")))),
            },
        },
    }
}

/// Everything `hla screen` writes.
const SCREEN_OUTPUTS: &[&str] = &[
    "typing_notes.csv",
    "pairs.csv",
    "top_donors.csv",
    "screen.json",
];

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
    if let Some(n) = a.threads {
        if n == 0 {
            return Err(Error::Usage("--threads must be at least 1".into()));
        }
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .map_err(|e| Error::Usage(format!("cannot set up {n} threads: {e}")))?;
    }
    let direction = match a.direction {
        DirectionArg::Hvg => Direction::HostVsGraft,
        DirectionArg::Gvh => Direction::GraftVsHost,
        DirectionArg::Bidirectional => Direction::Bidirectional,
    };
    let settings = ScreenSettings {
        direction,
        homozygous_count: a.homozygous_count,
        equivalence: match a.antigen_equivalence {
            EquivalenceArg::Split => AntigenEquivalence::Split,
            EquivalenceArg::Broad => AntigenEquivalence::Broad,
        },
        level: match a.level {
            LevelArg::Auto => LevelRequest::Auto,
            LevelArg::Antigen => LevelRequest::Antigen,
            LevelArg::Allele => LevelRequest::Allele,
            LevelArg::PGroup => LevelRequest::PGroup,
            LevelArg::GGroup => LevelRequest::GGroup,
        },
        top_k: a.top_k,
        rank_by: match a.rank_by {
            RankByArg::Mismatches => RankBy::Mismatches,
            RankByArg::Eplets => RankBy::Eplets,
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
    let read_s = t_read.elapsed().as_secs_f64();
    let (backend, backend_note) = choose_backend(a.backend, a.adapter.as_deref())?;
    let t_screen = Instant::now();
    let out = screen(
        &recipients,
        &donors,
        release.as_ref(),
        table.as_ref(),
        thresholds.as_ref(),
        &settings,
        antibodies.as_deref(),
        backend.as_ref(),
    )?;
    let screen_s = t_screen.elapsed().as_secs_f64();
    // Every assumption made while reading (homozygosity, ambiguity) and every
    // DRB1 ↔ DRB3/4/5 inconsistency, per person.
    let mut notes = String::from("role,person_id,line,note\n");
    let mut n_notes = 0usize;
    let mut n_inconsistent = 0usize;
    for (role, people) in [("recipient", &recipients), ("donor", &donors)] {
        for p in people.iter() {
            let drb = drb_consistency(&p.typing);
            n_inconsistent += usize::from(!drb.is_empty());
            let drb = drb
                .into_iter()
                .map(|m| format!("inconsistent DRB1/DRB3/4/5: {m}"));
            for note in p.typing.notes.iter().cloned().chain(drb) {
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
    let mut inputs = vec![a.recipients.clone(), a.donors.clone()];
    inputs.extend(a.eplets.clone());
    inputs.extend(a.antibodies.clone());
    let record = serde_json::json!({
        "command": "hla screen",
        "version": env!("CARGO_PKG_VERSION"),
        "recipients": recipients.len(),
        "donors": donors.len(),
        "pairs": out.pairs,
        "direction": direction.name(),
        "eplet_direction": "HvG",
        "homozygous_count": a.homozygous_count,
        "antigen_equivalence": format!("{:?}", settings.equivalence).to_lowercase(),
        "levels": out.levels.iter().map(|(l, v)| serde_json::json!({"locus": l.name(), "level": v.name()})).collect::<Vec<_>>(),
        "ipd_imgt_hla_release": release.as_ref().map(|r| r.version.clone()),
        "ipd_imgt_hla_citation": release.as_ref().map(|r| r.citation()),
        "eplet_table_version": table.as_ref().map(|t| t.version.clone()),
        "typing_notes": n_notes,
        "persons_with_inconsistent_drb": n_inconsistent,
        "mfi_cutoff_default": antibodies.as_ref().map(|_| a.mfi_cutoff),
        "wiebe_thresholds": thresholds,
        "backend": backend.describe(),
        "backend_note": backend_note,
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
