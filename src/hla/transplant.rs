//! One transplant's HLA assessment, for the scan: typings from the optional
//! `recipient_hla` / `donor_hla` columns of transplants.csv (GL Strings) or a
//! typings file → per-locus results (antigen/allele and amino-acid mismatch,
//! eplet loads, DSAs) and summary fields (A/B/DR mismatch, DR and DQ eplet
//! loads, Wiebe category, DSA count, amino-acid total).

use crate::hla::amino_acids::{AaMismatch, AaReference, aa_mismatch};
use crate::hla::antibodies::{BeadResult, Dsa, donor_specific_antibodies};
use crate::hla::eplets::{EpletLoads, EpletTable, WiebeCategory, WiebeThresholds, eplet_loads};
use crate::hla::mismatch::{MatchResult, MatchSettings, compare};
use crate::hla::release::Release;
use crate::hla::typing::Typing;

/// Reference data and settings shared by every transplant of a run.
#[derive(Default)]
pub struct HlaContext {
    pub release: Option<Release>,
    pub eplets: Option<EpletTable>,
    /// Protein alignments, when amino-acid mismatch was asked for.
    pub amino_acids: Option<AaReference>,
    /// Defaults to the built-in set for the eplet table's version.
    pub thresholds: Option<WiebeThresholds>,
    pub settings: MatchSettings,
    /// Single-antigen-bead results of all recipients (matched by recipient or
    /// transplant id).
    pub antibodies: Vec<BeadResult>,
}

impl HlaContext {
    pub fn wiebe_thresholds(&self) -> Option<WiebeThresholds> {
        self.thresholds.clone().or_else(|| {
            self.eplets
                .as_ref()
                .and_then(|t| WiebeThresholds::for_table_version(&t.version))
        })
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct TransplantHla {
    pub transplant_id: String,
    pub matching: MatchResult,
    pub eplets: Option<EpletLoads>,
    /// `None` when amino-acid mismatch was not asked for.
    pub amino_acids: Option<AaMismatch>,
    pub wiebe: Option<WiebeCategory>,
    pub wiebe_thresholds: Option<String>,
    /// `None` when no antibody file was given.
    pub dsas: Option<Vec<Dsa>>,
    pub ipd_release: Option<String>,
    pub notes: Vec<String>,
}

/// Summary fields for transplants.csv / run.json.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HlaSummary {
    pub abdr_mismatch: Option<u32>,
    pub dr_eplet_load: Option<u32>,
    pub dq_eplet_load: Option<u32>,
    pub wiebe_category: Option<String>,
    pub dsa_count: Option<u32>,
    pub aa_mismatch_total: Option<u32>,
}

impl TransplantHla {
    pub fn summary(&self) -> HlaSummary {
        HlaSummary {
            abdr_mismatch: self.matching.abdr,
            dr_eplet_load: self.eplets.as_ref().and_then(|e| e.dr_load).map(|l| l.all),
            dq_eplet_load: self.eplets.as_ref().and_then(|e| e.dq_load).map(|l| l.all),
            wiebe_category: self.wiebe.map(|w| w.name().to_string()),
            dsa_count: self.dsas.as_ref().map(|d| d.len() as u32),
            aa_mismatch_total: self.amino_acids.as_ref().and_then(|a| a.total),
        }
    }
}

/// Parse one side's typing (and, with a release, check every allele is in it).
/// Errors carry the message for an `InputError`; `who` is "recipient" or "donor".
pub fn parse_typing(
    transplant_id: &str,
    who: &str,
    text: &str,
    release: Option<&Release>,
) -> std::result::Result<Typing, String> {
    let mut t = Typing::parse_gl(text)
        .map_err(|e| format!("transplant {transplant_id}, {who} typing: {e}"))?;
    if let Some(r) = release {
        t.check_against(r).map_err(|(locus, value, msg)| {
            format!("transplant {transplant_id}, {who}, locus {locus}, value '{value}': {msg}")
        })?;
    }
    Ok(t)
}

/// Assess one transplant. `field` errors name which typing was bad: the caller
/// wraps the message into an `InputError` with the sheet's line.
pub fn assess_transplant(
    transplant_id: &str,
    recipient_id: Option<&str>,
    recipient_hla: &str,
    donor_hla: &str,
    ctx: &HlaContext,
) -> std::result::Result<TransplantHla, (&'static str, String)> {
    let release = ctx.release.as_ref();
    let parse = |field: &'static str, who: &str, text: &str| {
        parse_typing(transplant_id, who, text, release).map_err(|m| (field, m))
    };
    let recipient = parse("recipient_hla", "recipient", recipient_hla)?;
    let donor = parse("donor_hla", "donor", donor_hla)?;
    Ok(assess_typed(
        transplant_id,
        recipient_id,
        &recipient,
        &donor,
        ctx,
    ))
}

/// Assess one transplant from parsed (and, with a release, validated) typings.
pub fn assess_typed(
    transplant_id: &str,
    recipient_id: Option<&str>,
    recipient: &Typing,
    donor: &Typing,
    ctx: &HlaContext,
) -> TransplantHla {
    let (recipient, donor) = (recipient, donor);
    let matching = compare(recipient, donor, ctx.release.as_ref(), &ctx.settings);
    let mut notes: Vec<String> = recipient
        .notes
        .iter()
        .map(|n| format!("recipient {n}"))
        .chain(donor.notes.iter().map(|n| format!("donor {n}")))
        .collect();
    let eplets = ctx
        .eplets
        .as_ref()
        .map(|t| eplet_loads(recipient, donor, t));
    if eplets.is_some() || !ctx.antibodies.is_empty() {
        for (who, t) in [("recipient", recipient), ("donor", donor)] {
            if !t.ambiguous.is_empty() {
                notes.push(format!(
                    "{who} typing is ambiguous: eplet loads and donor-specific antibodies use its first alternative"
                ));
            }
        }
    }
    let amino_acids = ctx
        .amino_acids
        .as_ref()
        .map(|r| aa_mismatch(recipient, donor, r, ctx.settings.direction));
    let thresholds = ctx.wiebe_thresholds();
    let wiebe = match (&eplets, &thresholds) {
        (Some(e), Some(w)) => match (e.dr_single_max, e.dq_single_max) {
            (Some(dr), Some(dq)) => Some(w.categorise(dr, dq)),
            _ => {
                notes.push("Wiebe category needs DR and DQ typings on both sides".into());
                None
            }
        },
        (Some(_), None) => {
            notes.push(
                "no Wiebe thresholds for this eplet table version: give --wiebe-thresholds".into(),
            );
            None
        }
        _ => None,
    };
    let dsas = (!ctx.antibodies.is_empty()).then(|| {
        let mine: Vec<&BeadResult> = ctx
            .antibodies
            .iter()
            .filter(|b| b.owner == transplant_id || recipient_id.is_some_and(|r| b.owner == r))
            .collect();
        donor_specific_antibodies(&mine, donor, ctx.release.as_ref())
    });
    TransplantHla {
        transplant_id: transplant_id.to_string(),
        matching,
        eplets,
        amino_acids,
        wiebe,
        wiebe_thresholds: thresholds.map(|t| t.name),
        dsas,
        ipd_release: ctx.release.as_ref().map(|r| r.version.clone()),
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hla::eplets::EpletGroup;

    #[test]
    fn a_transplant_yields_locus_rows_and_summary_fields() {
        let table = EpletTable::from_rows(
            "synthetic 2.2",
            [
                ("DRB1*90:01", "10DR", EpletGroup::Dr, true),
                ("DRB1*90:02", "11DR", EpletGroup::Dr, false),
                ("DQB1*90:01", "20DQ", EpletGroup::Dq, false),
                ("DQB1*90:02", "21DQ", EpletGroup::Dq, true),
            ],
        )
        .unwrap();
        let ctx = HlaContext {
            eplets: Some(table),
            ..Default::default()
        };
        let t = assess_transplant(
            "T1",
            None,
            "A*01:01+A*02:01^B*07:02^DRB1*90:01^DQB1*90:01",
            "A*01:01+A*03:01^B*08:01^DRB1*90:02^DQB1*90:02",
            &ctx,
        )
        .unwrap();
        let s = t.summary();
        assert_eq!(s.abdr_mismatch, Some(3));
        assert_eq!(s.dr_eplet_load, Some(1));
        assert_eq!(s.dq_eplet_load, Some(1));
        assert_eq!(s.wiebe_category.as_deref(), Some("low"));
        assert_eq!(s.dsa_count, None);
        assert_eq!(s.aa_mismatch_total, None);
        let a = t
            .matching
            .locus(crate::hla::nomenclature::Locus::A)
            .unwrap();
        assert_eq!(
            (a.counts.count, a.counts.items.clone()),
            (1, vec!["A*03:01".to_string()])
        );
        assert_eq!(t.matching.loci.len() + t.matching.not_compared.len(), 9);
    }

    #[test]
    fn bad_typings_name_the_transplant_the_side_and_the_value() {
        let (field, msg) =
            assess_transplant("T9", None, "A*02:01", "A*0201", &HlaContext::default()).unwrap_err();
        assert_eq!(field, "donor_hla");
        assert!(
            msg.contains("T9") && msg.contains("donor") && msg.contains("A*0201"),
            "{msg}"
        );
    }
}
