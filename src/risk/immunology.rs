//! Immunological findings for the risk rules, read from the scan's HLA
//! results (A/B/DR mismatch, eplet loads and the Wiebe category, donor-specific
//! antibodies), keyed by transplant id.

use std::collections::HashMap;

use crate::hla::eplets::WiebeCategory;
use crate::risk::rules::ImmunologicalFindings;
use crate::scan::hla::ScanHla;

/// Findings for the risk rules, keyed by transplant id.
pub fn findings(hla: &ScanHla) -> HashMap<String, ImmunologicalFindings> {
    hla.rows
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
            if let Some(aa) = s.aa_mismatch_total {
                summary.push_str(&format!("; {aa} amino-acid mismatches"));
            }
            let wiebe_reason = t.wiebe.map(|w| {
                let e = t.eplets.as_ref();
                format!(
                    "Wiebe {} (largest single-molecule eplet mismatch DR {}, DQ {}; thresholds {})",
                    w.name(),
                    e.and_then(|e| e.dr_single_max)
                        .map(|x| x.to_string())
                        .unwrap_or_default(),
                    e.and_then(|e| e.dq_single_max)
                        .map(|x| x.to_string())
                        .unwrap_or_default(),
                    t.wiebe_thresholds.clone().unwrap_or_default()
                )
            });
            let dsas = t
                .dsas
                .as_ref()
                .map(|d| {
                    d.iter()
                        .map(|x| {
                            format!(
                                "{} ({}) MFI {:.0} on {}",
                                x.specificity, x.locus, x.mfi, x.serum_date
                            )
                        })
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
