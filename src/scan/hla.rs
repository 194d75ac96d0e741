//! HLA matching for the transplants of a scan: typings from transplants.csv
//! (`recipient_hla`, `donor_hla`) or a `--typings` file (`recipient_id`,
//! `donor_id`), the IPD-IMGT/HLA release the user supplies, an optional eplet
//! table and single-antigen-bead results. Produces hla.csv rows, the summary
//! for transplants.csv and the immunological findings the risk rules use.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use crate::cli::hla::{BackendArg, choose_backend};
use crate::error::{Error, InputError, Result};
use crate::formats::sheet::TransplantRow;
use crate::hla::antibodies::read_antibodies;
use crate::hla::eplets::{EpletTable, WiebeCategory, WiebeThresholds};
use crate::hla::mismatch::MatchSettings;
use crate::hla::release::Release;
use crate::hla::screen::{RankBy, ScreenSettings, pair_loads};
use crate::hla::transplant::{HlaContext, TransplantHla, assess_typed, parse_typing};
use crate::hla::typing::{Typing, read_typing_csv};
use crate::report::html::HlaDetail;
use crate::risk::ImmunologicalFindings;

#[derive(Debug, Clone)]
pub struct ScanHlaOptions {
    pub hla_db: Option<PathBuf>,
    pub typings: Option<PathBuf>,
    pub eplets: Option<PathBuf>,
    pub wiebe_thresholds: Option<String>,
    pub antibodies: Option<PathBuf>,
    pub mfi_cutoff: f64,
    pub settings: MatchSettings,
    /// Backend for the batched pair kernel (shaders/hla_mismatch.wgsl).
    pub backend: BackendArg,
    pub adapter: Option<String>,
}

pub struct ScanHla {
    pub rows: Vec<TransplantHla>,
    pub settings: MatchSettings,
    pub ipd_release: Option<String>,
    pub ipd_citation: Option<String>,
    pub eplet_table_version: Option<String>,
    /// Input files to list with their digests in run.json.
    pub files: Vec<PathBuf>,
    /// Which backend ran the batched pair kernel, and any note on its choice.
    pub kernel_backend: String,
    /// Loci where the batched kernel's count differs from the itemised
    /// comparison (they use the same rules; a difference is worth a look).
    pub kernel_disagreements: Vec<String>,
    /// Bead results and typings no transplant uses (for run.json and the report).
    pub warnings: Vec<String>,
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
        if opts.eplets.is_some() || opts.antibodies.is_some() {
            return Err(Error::Usage(
                "--eplets/--antibodies need HLA typings: recipient_hla/donor_hla columns or --typings".into(),
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
    let ctx = HlaContext {
        release,
        eplets,
        thresholds,
        settings: opts.settings,
        antibodies,
    };
    let mut rows = Vec::new();
    let mut pairs: Vec<(Typing, Typing)> = Vec::new();
    let mut used_people: HashSet<&str> = HashSet::new();
    // Ids a bead row may carry to reach an assessed transplant (its id or its
    // recipient's; see hla::transplant::assess_typed).
    let mut bead_owners: HashSet<&str> = HashSet::new();
    for t in transplants {
        let inline = (t.recipient_hla.as_deref(), t.donor_hla.as_deref());
        let (recipient, donor, rid) = match inline {
            (Some(r), Some(d)) => {
                let parse = |field: &str, who: &str, text: &str| -> Result<Typing> {
                    parse_typing(&t.transplant_id, who, text, ctx.release.as_ref()).map_err(|m| {
                        Error::from(InputError::new(&t.sheet, m).at_line(t.line).in_field(field))
                    })
                };
                (
                    parse("recipient_hla", "recipient", r)?,
                    parse("donor_hla", "donor", d)?,
                    t.recipient_id.as_deref(),
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
                used_people.insert(rid);
                used_people.insert(did);
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
                (
                    find(rid, "recipient_id")?,
                    find(did, "donor_id")?,
                    Some(rid.as_str()),
                )
            }
        };
        bead_owners.insert(t.transplant_id.as_str());
        bead_owners.extend(rid);
        rows.push(assess_typed(
            &t.transplant_id,
            rid,
            &recipient,
            &donor,
            &ctx,
        ));
        pairs.push((recipient, donor));
    }

    let warnings = unmatched_rows(opts, &ctx, &bead_owners, &typing_lines, &used_people);

    // The same pairs through the batched bitset kernel (shape (a) of
    // shaders/hla_mismatch.wgsl) on the chosen backend, as a cross-check of
    // the per-locus counts.
    let (kernel, note) = choose_backend(opts.backend, opts.adapter.as_deref())?;
    let pair_refs: Vec<(&Typing, &Typing)> = pairs.iter().map(|(r, d)| (r, d)).collect();
    let screen_settings = ScreenSettings {
        direction: ctx.settings.direction,
        homozygous_count: ctx.settings.homozygous_count,
        equivalence: ctx.settings.equivalence,
        level: ctx.settings.level,
        top_k: 1,
        rank_by: RankBy::Mismatches,
        write_pairs: false,
    };
    let thresholds = ctx.wiebe_thresholds();
    let loads = pair_loads(
        &pair_refs,
        ctx.release.as_ref(),
        ctx.eplets.as_ref(),
        thresholds.as_ref(),
        &screen_settings,
        kernel.as_ref(),
    )?;
    let mut kernel_disagreements = Vec::new();
    for (row, load) in rows.iter().zip(&loads) {
        for m in &row.matching.loci {
            if let Some(k) = load.mismatches[m.locus.index()]
                && k != m.count
            {
                kernel_disagreements.push(format!(
                    "{} {}: kernel {k}, itemised {} (levels may differ: the kernel uses one level per locus for the whole batch)",
                    row.transplant_id, m.locus, m.count
                ));
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

impl ScanHla {
    /// Findings for the risk rules, keyed by transplant id.
    pub fn findings(&self) -> HashMap<String, ImmunologicalFindings> {
        self.rows
            .iter()
            .map(|t| {
                let s = t.summary();
                let mut summary = match s.abdr_mismatch {
                    Some(m) => format!("A/B/DR antigen mismatch {m}/6"),
                    None => "A/B/DR antigen mismatch not assessable (typing incomplete)".to_string(),
                };
                if let (Some(dr), Some(dq)) = (s.dr_eplet_load, s.dq_eplet_load) {
                    summary.push_str(&format!("; DR eplet load {dr}, DQ eplet load {dq}"));
                }
                let wiebe_reason = t.wiebe.map(|w| {
                    let e = t.eplets.as_ref();
                    format!(
                        "Wiebe {} (largest single-molecule eplet mismatch DR {}, DQ {}; thresholds {})",
                        w.name(),
                        e.and_then(|e| e.dr_single_max).map(|x| x.to_string()).unwrap_or_default(),
                        e.and_then(|e| e.dq_single_max).map(|x| x.to_string()).unwrap_or_default(),
                        t.wiebe_thresholds.clone().unwrap_or_default()
                    )
                });
                let dsas = t
                    .dsas
                    .as_ref()
                    .map(|d| {
                        d.iter()
                            .map(|x| format!("{} ({}) MFI {:.0} on {}", x.specificity, x.locus, x.mfi, x.serum_date))
                            .collect()
                    })
                    .unwrap_or_default();
                (
                    t.transplant_id.clone(),
                    ImmunologicalFindings {
                        summary,
                        wiebe_category: t.wiebe.map(|w| w.name().to_string()),
                        wiebe_high: t.wiebe == Some(WiebeCategory::High),
                        wiebe_reason,
                        donor_specific_antibodies: dsas,
                    },
                )
            })
            .collect()
    }

    /// Per-locus tables for the HTML report.
    pub fn details(&self) -> HashMap<String, HlaDetail> {
        self.rows
            .iter()
            .map(|t| {
                let header = [
                    "locus",
                    "level",
                    "mismatches",
                    "mismatched",
                    "eplet load",
                    "notes",
                ]
                .iter()
                .map(|s| s.to_string())
                .collect();
                let rows = t
                    .matching
                    .loci
                    .iter()
                    .map(|m| {
                        let load = t.eplets.as_ref().and_then(|e| e.locus(m.locus));
                        vec![
                            m.locus.to_string(),
                            m.level.name().to_string(),
                            m.count.to_string(),
                            m.items.join(" "),
                            load.map(|l| l.all.to_string()).unwrap_or_default(),
                            m.notes.join("; "),
                        ]
                    })
                    .collect();
                (t.transplant_id.clone(), HlaDetail { header, rows })
            })
            .collect()
    }
}
