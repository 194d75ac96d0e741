//! samples.csv and transplants.csv.

use crate::error::{Error, Result};
use std::collections::HashMap;

use crate::hla::transplant::HlaSummary;
use crate::model::estimate::IntervalKind;
use crate::risk::rules::{ChangeCall, SampleStatus};
use crate::risk::{RiskAssessment, SampleRisk};
use crate::scan::hla::ScanHla;
use crate::scan::{SampleResult, TransplantSummary};

fn pct(x: f64) -> String {
    format!("{:.4}", 100.0 * x)
}

pub(crate) fn csv_bytes(rows: Vec<Vec<String>>) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.write_record(&r)
            .map_err(|e| Error::Usage(format!("cannot render CSV: {e}")))?;
    }
    w.into_inner()
        .map_err(|e| Error::Usage(format!("cannot render CSV: {e}")))
}

pub const SAMPLE_COLUMNS: &[&str] = &[
    "sample_id",
    "transplant_id",
    "collected",
    "days_post_transplant",
    "mode",
    "donor_fraction_pct",
    "ci_low_pct",
    "ci_high_pct",
    "interval",
    "detected",
    "p_value",
    "informative_snps",
    "snps_used",
    "recipient_hom_snps",
    "recipient_het_snps",
    "zero_depth_snps",
    "sites_without_genotype",
    "allele_shift_excluded_snps",
    "non_snp_sites",
    "mean_depth",
    "low_depth_fraction",
    "error_rate",
    "dispersion_hom",
    "dispersion_het",
    "read_model",
    "molecule_rho",
    "error_rho",
    "molecule_share",
    "qc",
    "qc_reasons",
    "flags",
    "dd_cfdna_cp_per_ml",
    "allele_frequencies",
    "frequency_people",
    "status",
    "threshold_pct",
    "quantity_elevated",
    "previous_sample_id",
    "change_pct",
    "change_vs_rcv",
    "limit_of_blank_pct",
    "limit_of_detection_pct",
    "donor2_fraction_pct",
    "donor2_ci_low_pct",
    "donor2_ci_high_pct",
    "contamination_pct",
];

pub fn change_label(c: ChangeCall) -> &'static str {
    match c {
        ChangeCall::SignificantRise => "rise beyond RCV",
        ChangeCall::SignificantFall => "fall beyond RCV",
        ChangeCall::WithinRcv => "within RCV",
        ChangeCall::FromNotDetected => "from not detected",
    }
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_string()
}

fn num(x: f64, digits: usize) -> String {
    if x.is_finite() {
        format!("{x:.digits$}")
    } else {
        String::new()
    }
}

/// Bootstrap columns appear only when some sample has a bootstrap interval.
pub const BOOTSTRAP_COLUMNS: &[&str] = &["boot_ci_low_pct", "boot_ci_high_pct"];

pub fn samples_csv(samples: &[SampleResult], risk: &RiskAssessment) -> Result<Vec<u8>> {
    let by_id: HashMap<&str, &SampleRisk> = risk
        .samples
        .iter()
        .map(|r| (r.sample_id.as_str(), r))
        .collect();
    let bootstrap = samples.iter().any(|s| {
        s.estimate
            .as_ref()
            .is_some_and(|e| e.bootstrap_interval.is_some())
    });
    let mut header: Vec<String> = SAMPLE_COLUMNS.iter().map(|s| s.to_string()).collect();
    if bootstrap {
        header.extend(BOOTSTRAP_COLUMNS.iter().map(|s| s.to_string()));
    }
    let mut rows = vec![header];
    for s in samples {
        let r = by_id.get(s.sample_id.as_str());
        let e = s.estimate.as_ref();
        let n = &s.snps;
        rows.push(vec![
            s.sample_id.clone(),
            s.transplant_id.clone(),
            s.collected.to_string(),
            s.days_post_transplant.to_string(),
            s.mode
                .map(|m| m.as_str().to_string())
                .unwrap_or_else(|| "not_identifiable".into()),
            e.map(|e| pct(e.donor_fraction)).unwrap_or_default(),
            e.map(|e| pct(e.ci_low)).unwrap_or_default(),
            e.map(|e| pct(e.ci_high)).unwrap_or_default(),
            e.map(|e| match e.interval {
                IntervalKind::TwoSided => "two_sided_95".to_string(),
                IntervalKind::OneSidedUpper => "one_sided_upper_95".to_string(),
            })
            .unwrap_or_default(),
            e.map(|e| if e.detected { "yes" } else { "no" }.to_string())
                .unwrap_or_default(),
            e.map(|e| format!("{:.3e}", e.p_value)).unwrap_or_default(),
            n.informative_snps.to_string(),
            n.snps_used.to_string(),
            n.recipient_homozygous_snps.to_string(),
            n.recipient_heterozygous_snps.to_string(),
            n.zero_depth_snps.to_string(),
            n.sites_without_genotype.to_string(),
            n.allele_shift_excluded.to_string(),
            n.non_snp_sites.to_string(),
            num(n.mean_depth, 1),
            num(n.low_depth_fraction, 3),
            e.map(|e| format!("{:.3e}", e.error_rate))
                .unwrap_or_default(),
            e.map(|e| num(e.dispersion[0], 2)).unwrap_or_default(),
            e.map(|e| num(e.dispersion[1], 2)).unwrap_or_default(),
            e.map(|e| {
                if e.molecular.is_some() {
                    "beta-binomial"
                } else {
                    "binomial"
                }
            })
            .unwrap_or_default()
            .to_string(),
            e.and_then(|e| e.molecular)
                .map(|d| format!("{:.3e}", d.signal_rho))
                .unwrap_or_default(),
            e.and_then(|e| e.molecular)
                .map(|d| format!("{:.3e}", d.error_rho))
                .unwrap_or_default(),
            e.and_then(|e| e.molecular)
                .map(|d| num(d.molecule_share, 2))
                .unwrap_or_default(),
            s.qc.as_str().to_string(),
            s.qc_reasons.join("; "),
            s.flags.join("; "),
            s.dd_cfdna_cp_per_ml.map(|x| num(x, 1)).unwrap_or_default(),
            s.allele_frequencies.clone().unwrap_or_default(),
            s.allele_frequencies
                .as_ref()
                .and(s.frequencies.as_ref())
                .and_then(|f| f.median_people)
                .map(|p| format!("{p:.0}"))
                .unwrap_or_default(),
            r.map(|r| r.status.as_str().to_string()).unwrap_or_default(),
            r.and_then(|r| r.threshold_pct)
                .map(|t| format!("{t}"))
                .unwrap_or_default(),
            r.and_then(|r| r.quantity_elevated)
                .map(yes_no)
                .unwrap_or_default(),
            r.and_then(|r| r.previous_sample_id.clone())
                .unwrap_or_default(),
            r.and_then(|r| r.change_pct)
                .map(|c| format!("{c:.1}"))
                .unwrap_or_default(),
            r.and_then(|r| r.change)
                .map(|c| change_label(c).to_string())
                .unwrap_or_default(),
            s.limit_of_blank.map(pct).unwrap_or_default(),
            s.limit_of_detection.map(pct).unwrap_or_default(),
            s.second_donor
                .map(|d| pct(d.donor_fraction))
                .unwrap_or_default(),
            s.second_donor.map(|d| pct(d.ci_low)).unwrap_or_default(),
            s.second_donor.map(|d| pct(d.ci_high)).unwrap_or_default(),
            s.contamination.map(|c| pct(c.fraction)).unwrap_or_default(),
        ]);
        if bootstrap {
            let b = e.and_then(|e| e.bootstrap_interval);
            if let Some(row) = rows.last_mut() {
                row.push(b.map(|b| pct(b.0)).unwrap_or_default());
                row.push(b.map(|b| pct(b.1)).unwrap_or_default());
            }
        }
    }
    csv_bytes(rows)
}

pub fn transplants_csv(
    transplants: &[TransplantSummary],
    risk: &RiskAssessment,
    hla: Option<&ScanHla>,
) -> Result<Vec<u8>> {
    let header = [
        "transplant_id",
        "organ",
        "relationship",
        "transplant_date",
        "samples",
        "latest_sample_id",
        "latest_collected",
        "latest_days_post_transplant",
        "latest_donor_fraction_pct",
        "latest_ci_low_pct",
        "latest_ci_high_pct",
        "latest_detected",
        "latest_qc",
        "latest_status",
        "threshold_pct",
        "threshold_source",
        "latest_above_threshold",
        "latest_change_pct",
        "risk_level",
        "risk_score",
        "risk_reasons",
        "relationship_modelled",
        "relationship_best_supported",
        "relationship_check",
        "abdr_mismatch",
        "dr_eplet_load",
        "dq_eplet_load",
        "wiebe_category",
        "dsa_count",
    ];
    let hla_summary: HashMap<&str, HlaSummary> = hla
        .map(|h| {
            h.rows
                .iter()
                .map(|r| (r.transplant_id.as_str(), r.summary()))
                .collect()
        })
        .unwrap_or_default();
    let opt = |x: Option<u32>| x.map(|v| v.to_string()).unwrap_or_default();
    let sample_risk: HashMap<&str, &SampleRisk> = risk
        .samples
        .iter()
        .map(|r| (r.sample_id.as_str(), r))
        .collect();
    let mut rows = vec![header.iter().map(|s| s.to_string()).collect()];
    for (t, tr) in transplants.iter().zip(&risk.transplants) {
        let e = t.latest.as_ref();
        let r = t
            .latest_sample_id
            .as_deref()
            .and_then(|id| sample_risk.get(id));
        let above = match r.map(|r| r.status) {
            Some(SampleStatus::Elevated) => "yes",
            Some(SampleStatus::BelowThreshold | SampleStatus::NotDetected)
                if r.and_then(|r| r.threshold_pct).is_some() =>
            {
                "no"
            }
            _ => "not assessable",
        };
        rows.push(vec![
            t.transplant_id.clone(),
            t.organ.to_string(),
            t.relationship.to_string(),
            t.transplant_date.to_string(),
            t.samples.to_string(),
            t.latest_sample_id.clone().unwrap_or_default(),
            t.latest_collected
                .map(|d| d.to_string())
                .unwrap_or_default(),
            t.latest_days.map(|d| d.to_string()).unwrap_or_default(),
            e.map(|e| pct(e.donor_fraction)).unwrap_or_default(),
            e.map(|e| pct(e.ci_low)).unwrap_or_default(),
            e.map(|e| pct(e.ci_high)).unwrap_or_default(),
            e.map(|e| yes_no(e.detected)).unwrap_or_default(),
            t.latest_qc
                .map(|q| q.as_str().to_string())
                .unwrap_or_default(),
            r.map(|r| r.status.as_str().to_string()).unwrap_or_default(),
            r.and_then(|r| r.threshold_pct)
                .map(|t| format!("{t}"))
                .unwrap_or_default(),
            r.and_then(|r| r.threshold_source.clone())
                .unwrap_or_default(),
            above.to_string(),
            r.and_then(|r| r.change_pct)
                .map(|c| format!("{c:.1}"))
                .unwrap_or_default(),
            tr.level.as_str().to_string(),
            tr.score.to_string(),
            tr.reasons.join("; "),
            t.modelled_relationship.to_string(),
            t.relationship_check
                .as_ref()
                .and_then(|c| c.best.map(|b| b.to_string()))
                .unwrap_or_default(),
            t.relationship_check
                .as_ref()
                .map(|c| c.describe())
                .unwrap_or_else(|| {
                    "not checked: no donor genotypes and no draw with ≥ 1% donor DNA to read the donor's alleles from".into()
                }),
        ]);
        if let Some(row) = rows.last_mut() {
            let h = hla_summary.get(t.transplant_id.as_str());
            row.push(opt(h.and_then(|h| h.abdr_mismatch)));
            row.push(opt(h.and_then(|h| h.dr_eplet_load)));
            row.push(opt(h.and_then(|h| h.dq_eplet_load)));
            row.push(h.and_then(|h| h.wiebe_category.clone()).unwrap_or_default());
            row.push(opt(h.and_then(|h| h.dsa_count)));
        }
    }
    csv_bytes(rows)
}
