//! The scan's HLA results as hla.csv, the report's per-transplant HLA tables
//! and the `hla` section of run.json.
//!
//! hla.csv has one row per transplant and locus, every locus listed: a locus
//! that was not compared has `compared` = no, blank counts and the reason in
//! `notes` (a blank count always means "not compared", never 0). In
//! bidirectional mode `mismatches` is the larger one-way count and
//! `mismatched_items` its items; `items_direction` says which (HvG on a tie),
//! and both one-way counts and item lists have their own columns.

use std::collections::HashMap;

use crate::error::Result;
use crate::hla::mismatch::MatchSettings;
use crate::hla::nomenclature::Locus;
use crate::hla::transplant::TransplantHla;
use crate::report::html::HlaDetail;
use crate::report::tables::csv_bytes;
use crate::scan::hla::ScanHla;

const COLUMNS: [&str; 25] = [
    "transplant_id",
    "locus",
    "compared",
    "direction",
    "level",
    "mismatches",
    "mismatched_items",
    "items_direction",
    "hvg_mismatches",
    "hvg_items",
    "gvh_mismatches",
    "gvh_items",
    "ambiguity_resolution",
    "aa_mismatches",
    "aa_mismatched",
    "eplet_load",
    "eplet_load_antibody_verified",
    "dsa",
    "abdr_mismatch",
    "aa_mismatch_total",
    "wiebe_category",
    "ipd_imgt_hla_release",
    "eplet_table_version",
    "ambiguity_policy",
    "notes",
];

fn opt(v: Option<u32>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

/// The rows of one transplant, in [`COLUMNS`] order.
fn transplant_rows(t: &TransplantHla, settings: &MatchSettings) -> Vec<Vec<String>> {
    let m = &t.matching;
    let mut rows = Vec::new();
    let aa = t.amino_acids.as_ref();
    for locus in Locus::ALL {
        let compared = m.locus(locus);
        let load = t.eplets.as_ref().and_then(|e| e.locus(locus));
        let dsa = t
            .dsas
            .as_ref()
            .map(|d| {
                d.iter()
                    .filter(|x| {
                        x.locus == locus
                            || (locus == Locus::Dqb1
                                && x.locus == Locus::Dqa1
                                && x.specificity.contains('~'))
                    })
                    .map(|x| format!("{} (MFI {}, {})", x.specificity, x.mfi, x.serum_date))
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .unwrap_or_default();
        let mut notes: Vec<String> = Vec::new();
        if let Some((_, why)) = m.not_compared.iter().find(|(l, _)| *l == locus) {
            notes.push(format!("not compared: {why}"));
        }
        if let Some(c) = compared {
            notes.extend(c.notes.iter().cloned());
        }
        let tag = format!(" {}: ", locus.name());
        notes.extend(
            t.notes
                .iter()
                .filter(|n| n.contains(&tag) || n.starts_with(&tag[1..]))
                .cloned(),
        );
        if locus == Locus::Drb345 {
            notes.extend(
                m.drb_inconsistencies
                    .iter()
                    .map(|s| format!("inconsistent DRB1/DRB3/4/5: {s}")),
            );
        }
        let aa_locus = aa.and_then(|a| a.locus(locus));
        if let Some((_, why)) = aa.and_then(|a| a.not_compared.iter().find(|(l, _)| *l == locus)) {
            if compared.is_some() {
                notes.push(format!("amino acids not compared: {why}"));
            }
        }
        notes.extend(m.notes.iter().cloned());
        rows.push(vec![
            t.transplant_id.clone(),
            locus.name().to_string(),
            if compared.is_some() { "yes" } else { "no" }.to_string(),
            settings.direction.name().to_string(),
            compared.map(|c| c.level.name()).unwrap_or("").to_string(),
            opt(compared.map(|c| c.counts.count)),
            compared
                .map(|c| c.counts.items.join(" "))
                .unwrap_or_default(),
            compared
                .map(|c| c.counts.items_direction.name())
                .unwrap_or("")
                .to_string(),
            opt(compared.map(|c| c.counts.hvg)),
            compared
                .map(|c| c.counts.hvg_items.join(" "))
                .unwrap_or_default(),
            opt(compared.map(|c| c.counts.gvh)),
            compared
                .map(|c| c.counts.gvh_items.join(" "))
                .unwrap_or_default(),
            compared
                .and_then(|c| c.resolution.clone())
                .unwrap_or_default(),
            opt(aa_locus.map(|a| a.counts.count)),
            aa_locus
                .map(|a| a.counts.items.join(" "))
                .unwrap_or_default(),
            opt(load.map(|l| l.all)),
            opt(load.map(|l| l.verified)),
            dsa,
            opt(m.abdr),
            opt(aa.and_then(|a| a.total)),
            t.wiebe.map(|w| w.name()).unwrap_or("").to_string(),
            t.ipd_release.clone().unwrap_or_default(),
            t.eplets
                .as_ref()
                .map(|e| e.table_version.clone())
                .unwrap_or_default(),
            settings.ambiguity.name().to_string(),
            notes.join("; "),
        ]);
    }
    if let Some(p) = &m.public_epitopes {
        let mut row = vec![String::new(); COLUMNS.len()];
        row[0] = t.transplant_id.clone();
        row[1] = "Bw4/Bw6".into();
        row[2] = "yes".into();
        row[3] = settings.direction.name().into();
        row[4] = "public_epitope".into();
        row[5] = p.count.to_string();
        row[6] = p.items.join(" ");
        row[7] = p.items_direction.name().into();
        row[8] = p.hvg.to_string();
        row[9] = p.hvg_items.join(" ");
        row[10] = p.gvh.to_string();
        row[11] = p.gvh_items.join(" ");
        row[23] = settings.ambiguity.name().into();
        rows.push(row);
    }
    rows
}

/// `hla.csv`: one row per transplant and locus (every locus).
pub fn hla_csv(hla: &ScanHla) -> Result<Vec<u8>> {
    let mut rows = vec![COLUMNS.iter().map(|s| s.to_string()).collect()];
    for t in &hla.rows {
        rows.extend(transplant_rows(t, &hla.settings));
    }
    csv_bytes(rows)
}

/// Per-transplant tables for the HTML report: the hla.csv columns a reader
/// needs, the ambiguity resolutions and amino-acid positions included.
pub fn hla_details(hla: &ScanHla) -> HashMap<String, HlaDetail> {
    let keep = [
        ("locus", 1),
        ("compared", 2),
        ("level", 4),
        ("mismatches", 5),
        ("mismatched", 6),
        ("which direction", 7),
        ("HvG", 8),
        ("GvH", 10),
        ("ambiguity resolution", 12),
        ("amino-acid mismatches", 13),
        ("mismatched residues", 14),
        ("eplet load", 15),
        ("notes", 24),
    ];
    hla.rows
        .iter()
        .map(|t| {
            let header = keep.iter().map(|(h, _)| h.to_string()).collect();
            let rows = transplant_rows(t, &hla.settings)
                .into_iter()
                .map(|r| keep.iter().map(|(_, i)| r[*i].clone()).collect())
                .collect();
            (t.transplant_id.clone(), HlaDetail { header, rows })
        })
        .collect()
}

/// The `hla` section of run.json.
pub fn hla_record(h: &ScanHla) -> serde_json::Value {
    serde_json::json!({
        "ipd_imgt_hla_release": h.ipd_release,
        "ipd_imgt_hla_citation": h.ipd_citation,
        "eplet_table_version": h.eplet_table_version,
        "transplants_assessed": h.rows.len(),
        "matching": h.settings,
        "level_requested": format!("{:?}", h.settings.level).to_lowercase(),
        "ambiguity_resolutions": h.ambiguity_resolutions(),
        "blank_cell": "not compared (the reason is in hla.csv's notes); never 0",
        "amino_acids": (!h.aa_alignments.is_empty()).then(|| serde_json::json!({
            "alignments": h.aa_alignments,
            "missing_alignments": h.aa_missing_alignments,
            "position_set": h.aa_position_set,
            "unknown_residues": "never counted: an unknown or undetermined residue adds nothing on the donor side and carries everything on the recipient side; a gap is no residue",
            "count": "distinct (position, residue) pairs per locus; total = sum over loci",
        })),
        "pair_kernel_backend": h.kernel_backend,
        "pair_kernel_disagreements": h.kernel_disagreements,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hla::transplant::{HlaContext, assess_transplant};

    #[test]
    fn every_locus_gets_a_row_and_blank_means_not_compared() {
        let ctx = HlaContext::default();
        let t = assess_transplant(
            "T1",
            None,
            "A*01:01+A*02:01^B*07:02",
            "A*01:01+A*03:01^B*08:01^C*07:01",
            &ctx,
        )
        .unwrap();
        let rows = transplant_rows(&t, &ctx.settings);
        assert_eq!(rows.len(), 9);
        let a = &rows[0];
        assert_eq!(
            (&a[1][..], &a[2][..], &a[5][..], &a[6][..]),
            ("A", "yes", "1", "A*03:01")
        );
        let c = &rows[2];
        assert_eq!((&c[1][..], &c[2][..], &c[5][..]), ("C", "no", ""));
        assert!(
            c[24].contains("not compared: typed for the donor only"),
            "{}",
            c[24]
        );
        assert_eq!(rows[0].len(), COLUMNS.len());
    }
}
