//! HLA matching for the transplants of a scan: typings from transplants.csv
//! (`recipient_hla`, `donor_hla`) or a `--typings` file (`recipient_id`,
//! `donor_id`), the IPD-IMGT/HLA release the user supplies, an optional eplet
//! table, protein alignments and single-antigen-bead results. Produces plain
//! per-transplant results; `report` shapes them into hla.csv and the HTML
//! report, `risk` reads the immunological findings from them.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use crate::compute::select::{BackendChoice, select_hla_backend};
use crate::error::{Error, InputError, Result};
use crate::formats::sheet::TransplantRow;
use crate::hla::amino_acids::load_for;
use crate::hla::antibodies::read_antibodies;
use crate::hla::eplets::{EpletTable, WiebeThresholds};
use crate::hla::mismatch::MatchSettings;
use crate::hla::release::Release;
use crate::hla::screen::{ScreenReference, pair_loads};
use crate::hla::transplant::{HlaContext, TransplantHla, assess_typed, parse_typing};
use crate::hla::typing::{Typing, read_typing_csv};

#[derive(Debug, Clone)]
pub struct ScanHlaOptions {
    pub hla_db: Option<PathBuf>,
    pub typings: Option<PathBuf>,
    pub eplets: Option<PathBuf>,
    pub wiebe_thresholds: Option<String>,
    pub antibodies: Option<PathBuf>,
    pub mfi_cutoff: f64,
    pub settings: MatchSettings,
    /// Amino-acid mismatch from the release's alignments, optionally
    /// restricted to a position set.
    pub aa_mismatch: bool,
    pub aa_positions: Option<PathBuf>,
    /// Backend for the batched pair kernel (shaders/hla_mismatch.wgsl).
    pub backend: BackendChoice,
    pub adapter: Option<String>,
}

/// One ambiguous typing resolved for one locus of one transplant.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AmbiguityResolution {
    pub transplant_id: String,
    pub locus: String,
    pub resolution: String,
}

pub struct ScanHla {
    pub rows: Vec<TransplantHla>,
    pub settings: MatchSettings,
    pub ipd_release: Option<String>,
    pub ipd_citation: Option<String>,
    pub eplet_table_version: Option<String>,
    /// Alignment files read for amino-acid mismatch, those missing, and the
    /// position set.
    pub aa_alignments: Vec<PathBuf>,
    pub aa_missing_alignments: Vec<PathBuf>,
    pub aa_position_set: Option<PathBuf>,
    /// Input files to list with their digests in run.json.
    pub files: Vec<PathBuf>,
    /// Which backend ran the batched pair kernel, and any note on its choice.
    pub kernel_backend: String,
    /// Loci where the batched kernel's count differs from the itemised
    /// comparison (one counting rule: a difference would be a bug).
    pub kernel_disagreements: Vec<String>,
    /// Bead results and typings no transplant uses (for run.json and the report).
    pub warnings: Vec<String>,
}

impl ScanHla {
    /// Every ambiguity resolution, in transplant and locus order.
    pub fn ambiguity_resolutions(&self) -> Vec<AmbiguityResolution> {
        self.rows
            .iter()
            .flat_map(|t| {
                t.matching.loci.iter().filter_map(|m| {
                    m.resolution.as_ref().map(|r| AmbiguityResolution {
                        transplant_id: t.transplant_id.clone(),
                        locus: m.locus.name().to_string(),
                        resolution: r.clone(),
                    })
                })
            })
            .collect()
    }
}

/// None when no transplant carries HLA information.
pub fn assess_scan_hla(
    transplants: &[TransplantRow],
    opts: &ScanHlaOptions,
) -> Result<Option<ScanHla>> {
    let any_inline = transplants
        .iter()
        .any(|t| t.recipient_hla.is_some() || t.donor_hla.is_some());
    if !any_inline && opts.typings.is_none() {
        if opts.eplets.is_some() || opts.antibodies.is_some() || opts.aa_mismatch {
            return Err(Error::Usage(
                "--eplets/--antibodies/--aa-mismatch need HLA typings: recipient_hla/donor_hla columns or --typings".into(),
            ));
        }
        return Ok(None);
    }
    let mut files = Vec::new();
    let release = match Release::locate(opts.hla_db.as_deref()) {
        Some(dir) => Some(Release::load(&dir)?),
        None => None,
    };
    let eplets = match &opts.eplets {
        Some(p) => {
            files.push(p.clone());
            Some(EpletTable::read(p)?)
        }
        None => None,
    };
    let thresholds = opts
        .wiebe_thresholds
        .as_deref()
        .map(WiebeThresholds::from_spec)
        .transpose()?;
    let antibodies = match &opts.antibodies {
        Some(p) => {
            files.push(p.clone());
            read_antibodies(p, opts.mfi_cutoff)?
        }
        None => Vec::new(),
    };
    let mut typing_lines: Vec<(String, u64)> = Vec::new();
    let people: HashMap<String, Typing> = match &opts.typings {
        Some(p) => {
            files.push(p.clone());
            read_typing_csv(p, release.as_ref())?
                .into_iter()
                .map(|t| {
                    typing_lines.push((t.person_id.clone(), t.line));
                    (t.person_id, t.typing)
                })
                .collect()
        }
        None => HashMap::new(),
    };
    let mut pairs: Vec<(&TransplantRow, Typing, Typing)> = Vec::new();
    for t in transplants {
        let inline = (t.recipient_hla.as_deref(), t.donor_hla.as_deref());
        let (recipient, donor) = match inline {
            (Some(r), Some(d)) => {
                let parse = |field: &str, who: &str, text: &str| -> Result<Typing> {
                    parse_typing(&t.transplant_id, who, text, release.as_ref()).map_err(|m| {
                        Error::from(InputError::new(&t.sheet, m).at_line(t.line).in_field(field))
                    })
                };
                (
                    parse("recipient_hla", "recipient", r)?,
                    parse("donor_hla", "donor", d)?,
                )
            }
            (Some(_), None) | (None, Some(_)) => {
                let missing = if inline.0.is_none() {
                    "recipient_hla"
                } else {
                    "donor_hla"
                };
                return Err(InputError::new(
                    &t.sheet,
                    "both recipient_hla and donor_hla are needed",
                )
                .at_line(t.line)
                .in_field(missing)
                .into());
            }
            (None, None) => {
                let (Some(rid), Some(did)) = (&t.recipient_id, &t.donor_id) else {
                    continue;
                };
                if people.is_empty() {
                    continue;
                }
                let find = |id: &str, field: &str| {
                    people.get(id).cloned().ok_or_else(|| {
                        Error::from(
                            InputError::new(
                                &t.sheet,
                                format!("person '{id}' is not in the --typings file"),
                            )
                            .at_line(t.line)
                            .in_field(field),
                        )
                    })
                };
                (find(rid, "recipient_id")?, find(did, "donor_id")?)
            }
        };
        pairs.push((t, recipient, donor));
    }
    // Ids a bead row may carry to reach an assessed transplant (its id or its
    // recipient's; see hla::transplant::assess_typed), and the people of the
    // typings file that a transplant names.
    let bead_owners: HashSet<&str> = pairs
        .iter()
        .flat_map(|(t, _, _)| [Some(t.transplant_id.as_str()), t.recipient_id.as_deref()])
        .flatten()
        .collect();
    let used_people: HashSet<&str> = transplants
        .iter()
        .filter(|t| t.recipient_hla.is_none() && t.donor_hla.is_none())
        .flat_map(|t| [t.recipient_id.as_deref(), t.donor_id.as_deref()])
        .flatten()
        .collect();
    let amino_acids = if opts.aa_mismatch {
        files.extend(opts.aa_positions.iter().cloned());
        Some(load_for(
            release.as_ref(),
            pairs.iter().flat_map(|(_, r, d)| [r, d]),
            opts.aa_positions.as_deref(),
        )?)
    } else {
        None
    };
    let (aa_alignments, aa_missing_alignments) = amino_acids
        .as_ref()
        .map(|a| (a.files(), a.missing.clone()))
        .unwrap_or_default();
    files.extend(aa_alignments.iter().cloned());
    let ctx = HlaContext {
        release,
        eplets,
        amino_acids,
        thresholds,
        settings: opts.settings,
        antibodies,
    };
    let warnings = unmatched_rows(opts, &ctx, &bead_owners, &typing_lines, &used_people);
    let rows: Vec<TransplantHla> = pairs
        .iter()
        .map(|(t, r, d)| assess_typed(&t.transplant_id, t.recipient_id.as_deref(), r, d, &ctx))
        .collect();

    // The same pairs through the batched bitset kernel (paired shape of
    // shaders/hla_mismatch.wgsl) on the chosen backend, as a run-time check
    // that the itemised and bitset evaluations of the one counting rule agree.
    let (kernel, note) = select_hla_backend(opts.backend, opts.adapter.as_deref())?;
    let pair_refs: Vec<(&Typing, &Typing)> = pairs.iter().map(|(_, r, d)| (r, d)).collect();
    let thresholds = ctx.wiebe_thresholds();
    let loads = pair_loads(
        &pair_refs,
        ScreenReference {
            release: ctx.release.as_ref(),
            eplets: ctx.eplets.as_ref(),
            thresholds: thresholds.as_ref(),
            amino_acids: ctx.amino_acids.as_ref(),
        },
        &ctx.settings,
        kernel.as_ref(),
    )?;
    let mut kernel_disagreements = Vec::new();
    for (row, load) in rows.iter().zip(&loads) {
        for m in &row.matching.loci {
            if load.mismatches[m.locus.index()] != Some(m.counts.count) {
                kernel_disagreements.push(format!(
                    "{} {}: kernel {:?}, itemised {}",
                    row.transplant_id,
                    m.locus,
                    load.mismatches[m.locus.index()],
                    m.counts.count
                ));
            }
        }
        if load.abdr != row.matching.abdr {
            kernel_disagreements.push(format!(
                "{} A/B/DR: kernel {:?}, itemised {:?}",
                row.transplant_id, load.abdr, row.matching.abdr
            ));
        }
        if let Some(aa) = &row.amino_acids {
            for l in &aa.loci {
                if load.aa[l.locus.index()] != Some(l.counts.count) {
                    kernel_disagreements.push(format!(
                        "{} amino acids {}: kernel {:?}, itemised {}",
                        row.transplant_id,
                        l.locus,
                        load.aa[l.locus.index()],
                        l.counts.count
                    ));
                }
            }
        }
    }
    let kernel_backend = match note {
        Some(n) => format!("{} ({n})", kernel.describe()),
        None => kernel.describe(),
    };
    Ok(Some(ScanHla {
        rows,
        settings: ctx.settings,
        ipd_release: ctx.release.as_ref().map(|r| r.version.clone()),
        ipd_citation: ctx.release.as_ref().map(Release::citation),
        eplet_table_version: ctx.eplets.as_ref().map(|e| e.version.clone()),
        aa_alignments,
        aa_missing_alignments,
        aa_position_set: ctx
            .amino_acids
            .as_ref()
            .and_then(|a| a.positions.as_ref().map(|p| p.source.clone())),
        files,
        kernel_backend,
        kernel_disagreements,
        warnings,
    }))
}

/// Rows of the bead and typing files that no assessed transplant uses: a bead
/// whose id matches nothing would drop a donor-specific antibody without a
/// word, and an unused typing usually means a mistyped id in transplants.csv.
fn unmatched_rows(
    opts: &ScanHlaOptions,
    ctx: &HlaContext,
    owners: &HashSet<&str>,
    typing_lines: &[(String, u64)],
    used_people: &HashSet<&str>,
) -> Vec<String> {
    let listed = |items: &[(String, u64)]| {
        let shown: Vec<String> = items
            .iter()
            .take(MAX_LISTED)
            .map(|(id, line)| format!("'{id}' (line {line})"))
            .collect();
        let more = items.len().saturating_sub(MAX_LISTED);
        if more > 0 {
            format!("{} and {more} more", shown.join(", "))
        } else {
            shown.join(", ")
        }
    };
    let mut warnings = Vec::new();
    if let Some(path) = &opts.antibodies {
        let mut unmatched: Vec<(String, u64)> = Vec::new();
        for b in &ctx.antibodies {
            if !owners.contains(b.owner.as_str()) && !unmatched.iter().any(|(o, _)| *o == b.owner) {
                unmatched.push((b.owner.clone(), b.line));
            }
        }
        if !unmatched.is_empty() {
            warnings.push(format!(
                "{}: bead results for {} id(s) match no HLA-typed transplant of this batch and were not assessed for donor-specific antibodies: {}",
                path.display(),
                unmatched.len(),
                listed(&unmatched)
            ));
        }
    }
    if let Some(path) = &opts.typings {
        let unused: Vec<(String, u64)> = typing_lines
            .iter()
            .filter(|(id, _)| !used_people.contains(id.as_str()))
            .cloned()
            .collect();
        if !unused.is_empty() {
            warnings.push(format!(
                "{}: {} typed person(s) are the recipient or donor of no transplant (a mistyped recipient_id/donor_id?): {}",
                path.display(),
                unused.len(),
                listed(&unused)
            ));
        }
    }
    warnings
}

/// Ids listed in one warning before "and N more".
const MAX_LISTED: usize = 10;
