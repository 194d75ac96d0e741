//! Per-sample and per-transplant risk findings. Transparent by construction:
//! every point a transplant scores comes with a sentence saying why.

use std::collections::HashMap;

use chrono::NaiveDate;

use crate::model::qc::QcVerdict;
use crate::risk::config::RiskConfig;
use crate::scan::{SampleResult, ScanOutcome, TransplantSummary};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SampleStatus {
    CollectedBeforeTransplant,
    /// Inside the early post-transplant window.
    NotInterpretable,
    QcFail,
    NotDetected,
    Elevated,
    BelowThreshold,
    /// Detected, but the organ has no established threshold at this time.
    NoThreshold,
}

impl SampleStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SampleStatus::CollectedBeforeTransplant => "collected before transplant",
            SampleStatus::NotInterpretable => "not interpretable (early)",
            SampleStatus::QcFail => "QC fail",
            SampleStatus::NotDetected => "not detected",
            SampleStatus::Elevated => "elevated",
            SampleStatus::BelowThreshold => "below threshold",
            SampleStatus::NoThreshold => "no threshold",
        }
    }

    fn interpretable(self) -> bool {
        matches!(
            self,
            SampleStatus::NotDetected
                | SampleStatus::Elevated
                | SampleStatus::BelowThreshold
                | SampleStatus::NoThreshold
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeCall {
    /// Rise beyond the reference change value.
    SignificantRise,
    SignificantFall,
    WithinRcv,
    /// Previous draw not detected: a percentage change is not meaningful.
    FromNotDetected,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct SampleRisk {
    pub sample_id: String,
    pub status: SampleStatus,
    pub threshold_pct: Option<f64>,
    pub threshold_source: Option<String>,
    pub quantity_threshold_cp_per_ml: Option<f64>,
    pub quantity_elevated: Option<bool>,
    pub previous_sample_id: Option<String>,
    pub previous_collected: Option<NaiveDate>,
    /// Relative change against the previous interpretable draw, in percent.
    pub change_pct: Option<f64>,
    pub change: Option<ChangeCall>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskLevel {
    High,
    Moderate,
    Low,
    NotAssessable,
}

impl RiskLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            RiskLevel::High => "high",
            RiskLevel::Moderate => "moderate",
            RiskLevel::Low => "low",
            RiskLevel::NotAssessable => "not assessable",
        }
    }
}

/// Immunological findings from HLA matching, when typings were given.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ImmunologicalFindings {
    /// e.g. "A/B/DR mismatch 3/6; DR eplets 8, DQ eplets 17".
    pub summary: String,
    /// Wiebe DR/DQ single-molecule category and the sentence behind it.
    pub wiebe_category: Option<String>,
    pub wiebe_high: bool,
    pub wiebe_reason: Option<String>,
    /// Donor-specific antibodies, each described with locus and MFI.
    pub donor_specific_antibodies: Vec<String>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct TransplantRisk {
    pub transplant_id: String,
    pub level: RiskLevel,
    pub score: u32,
    /// Every finding that produced the level, in words.
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct RiskAssessment {
    pub samples: Vec<SampleRisk>,
    pub transplants: Vec<TransplantRisk>,
}

fn pct(x: f64) -> String {
    if x >= 0.1 {
        format!("{:.2}%", 100.0 * x)
    } else {
        format!("{:.3}%", 100.0 * x)
    }
}

/// "+12", "−3", never "−0".
fn signed_percent(c: f64) -> String {
    let r = c.round();
    if r == 0.0 {
        "±0".into()
    } else {
        format!("{r:+.0}")
    }
}

fn sample_status(s: &SampleResult, threshold: Option<f64>, cfg: &RiskConfig) -> SampleStatus {
    if s.days_post_transplant < 0 {
        return SampleStatus::CollectedBeforeTransplant;
    }
    if s.qc == QcVerdict::Fail {
        return SampleStatus::QcFail;
    }
    if s.days_post_transplant < cfg.early_window_days {
        return SampleStatus::NotInterpretable;
    }
    match (&s.estimate, threshold) {
        (None, _) => SampleStatus::QcFail,
        (Some(e), _) if !e.detected => SampleStatus::NotDetected,
        (Some(_), None) => SampleStatus::NoThreshold,
        (Some(e), Some(t)) if e.donor_fraction >= t => SampleStatus::Elevated,
        (Some(_), Some(_)) => SampleStatus::BelowThreshold,
    }
}

/// Assess every sample and transplant. `immunology` is keyed by transplant id.
pub fn assess(
    outcome: &ScanOutcome,
    cfg: &RiskConfig,
    immunology: &HashMap<String, ImmunologicalFindings>,
) -> RiskAssessment {
    let organ_of: HashMap<&str, &TransplantSummary> = outcome
        .transplants
        .iter()
        .map(|t| (t.transplant_id.as_str(), t))
        .collect();
    let (rise_limit, fall_limit) = cfg.rcv.limits();

    // Samples in time order within each transplant, for serial change.
    let mut order: Vec<usize> = (0..outcome.samples.len()).collect();
    order.sort_by(|&a, &b| {
        let (x, y) = (&outcome.samples[a], &outcome.samples[b]);
        (&x.transplant_id, x.collected, &x.sample_id).cmp(&(
            &y.transplant_id,
            y.collected,
            &y.sample_id,
        ))
    });
    let mut risks: Vec<Option<SampleRisk>> = vec![None; outcome.samples.len()];
    let mut last_interpretable: HashMap<&str, usize> = HashMap::new();
    for &i in &order {
        let s = &outcome.samples[i];
        let Some(t) = organ_of.get(s.transplant_id.as_str()) else {
            continue;
        };
        let threshold = cfg.fraction_threshold(t.organ, s.days_post_transplant);
        let status = sample_status(s, threshold.map(|t| t.percent / 100.0), cfg);
        let qthr = cfg.quantity_threshold(t.organ);
        let quantity_elevated = match (s.dd_cfdna_cp_per_ml, qthr, status.interpretable()) {
            (Some(q), Some(th), true) => Some(q >= th.copies_per_ml),
            _ => None,
        };
        let mut risk = SampleRisk {
            sample_id: s.sample_id.clone(),
            status,
            threshold_pct: threshold.map(|t| t.percent),
            threshold_source: threshold.map(|t| t.source.clone()),
            quantity_threshold_cp_per_ml: qthr.map(|t| t.copies_per_ml),
            quantity_elevated,
            previous_sample_id: None,
            previous_collected: None,
            change_pct: None,
            change: None,
        };
        if status.interpretable() {
            if let Some(&p) = last_interpretable.get(s.transplant_id.as_str()) {
                let prev = &outcome.samples[p];
                risk.previous_sample_id = Some(prev.sample_id.clone());
                risk.previous_collected = Some(prev.collected);
                let prev_detected = prev.estimate.as_ref().is_some_and(|e| e.detected);
                let now_detected = status != SampleStatus::NotDetected;
                if !now_detected {
                    // "Not detected" is not a number: no percentage change from it or to it.
                } else if !prev_detected {
                    risk.change = Some(ChangeCall::FromNotDetected);
                } else if let (Some(a), Some(b)) = (&prev.estimate, &s.estimate) {
                    let change = b.donor_fraction / a.donor_fraction - 1.0;
                    risk.change_pct = Some(100.0 * change);
                    risk.change = Some(if change > rise_limit {
                        ChangeCall::SignificantRise
                    } else if change < fall_limit {
                        ChangeCall::SignificantFall
                    } else {
                        ChangeCall::WithinRcv
                    });
                }
            }
            last_interpretable.insert(s.transplant_id.as_str(), i);
        }
        risks[i] = Some(risk);
    }
    let samples: Vec<SampleRisk> = risks.into_iter().flatten().collect();
    let by_id: HashMap<&str, &SampleRisk> =
        samples.iter().map(|r| (r.sample_id.as_str(), r)).collect();
    let results_by_id: HashMap<&str, &SampleResult> = outcome
        .samples
        .iter()
        .map(|s| (s.sample_id.as_str(), s))
        .collect();
    let transplants = outcome
        .transplants
        .iter()
        .map(|t| {
            let latest = t
                .latest_sample_id
                .as_deref()
                .and_then(|id| Some((results_by_id.get(id)?, by_id.get(id)?)));
            transplant_level(
                t,
                latest.map(|(s, r)| (*s, *r)),
                immunology.get(&t.transplant_id),
                cfg,
                rise_limit,
            )
        })
        .collect();
    RiskAssessment {
        samples,
        transplants,
    }
}

fn transplant_level(
    t: &TransplantSummary,
    latest: Option<(&SampleResult, &SampleRisk)>,
    immunology: Option<&ImmunologicalFindings>,
    cfg: &RiskConfig,
    rise_limit: f64,
) -> TransplantRisk {
    let rules = &cfg.levels;
    let mut reasons = Vec::new();
    let mut score = 0;
    let not_assessable = |reasons: Vec<String>| TransplantRisk {
        transplant_id: t.transplant_id.clone(),
        level: RiskLevel::NotAssessable,
        score: 0,
        reasons,
    };
    let Some((s, r)) = latest else {
        return not_assessable(vec!["no blood draws".into()]);
    };
    let date = s.collected;
    match r.status {
        SampleStatus::QcFail => {
            return not_assessable(vec![format!(
                "latest draw {date} failed QC: {}",
                s.qc_reasons.join("; ")
            )]);
        }
        SampleStatus::NotInterpretable => {
            return not_assessable(vec![format!(
                "latest draw {date} is day {} post-transplant (< {} days): not interpretable",
                s.days_post_transplant, cfg.early_window_days
            )]);
        }
        SampleStatus::CollectedBeforeTransplant => {
            return not_assessable(vec![format!(
                "latest draw {date} precedes the transplant date"
            )]);
        }
        _ => {}
    }
    let Some(e) = &s.estimate else {
        return not_assessable(vec!["latest draw not estimated".into()]);
    };
    let organ = t.organ;
    match (r.status, r.threshold_pct) {
        (SampleStatus::NotDetected, Some(th)) => reasons.push(format!(
            "latest {date}: donor DNA not detected (95% upper bound {}) — below {organ} threshold {th}%",
            pct(e.ci_high)
        )),
        (SampleStatus::NotDetected, None) => reasons.push(format!(
            "latest {date}: donor DNA not detected (95% upper bound {})",
            pct(e.ci_high)
        )),
        (SampleStatus::Elevated, Some(th)) => {
            let marked = e.donor_fraction >= rules.marked_elevation_multiple * th / 100.0;
            let points = if marked {
                rules.fraction_markedly_above_threshold
            } else {
                rules.fraction_above_threshold
            };
            score += points;
            reasons.push(format!(
                "latest {} ≥ {organ} threshold {th}%{} [+{points}]",
                pct(e.donor_fraction),
                if marked {
                    format!(" (≥ {}× threshold)", rules.marked_elevation_multiple)
                } else {
                    String::new()
                },
            ));
        }
        (SampleStatus::BelowThreshold, Some(th)) => reasons.push(format!(
            "latest {} < {organ} threshold {th}%",
            pct(e.donor_fraction)
        )),
        _ => reasons.push(format!(
            "latest {}; no established dd-cfDNA threshold for {organ} at day {}",
            pct(e.donor_fraction),
            s.days_post_transplant
        )),
    }
    match (
        s.dd_cfdna_cp_per_ml,
        r.quantity_threshold_cp_per_ml,
        r.quantity_elevated,
    ) {
        (Some(q), Some(th), Some(true)) => {
            score += rules.quantity_above_threshold;
            reasons.push(format!(
                "dd-cfDNA {q:.0} copies/mL ≥ {th:.0} [+{}]",
                rules.quantity_above_threshold
            ));
        }
        (Some(q), Some(th), Some(false)) => {
            reasons.push(format!("dd-cfDNA {q:.0} copies/mL < {th:.0}"))
        }
        (None, Some(_), _) => reasons.push("quantity not available (no total cfDNA given)".into()),
        _ => {}
    }
    match (r.change, r.change_pct, r.previous_collected) {
        (Some(ChangeCall::SignificantRise), Some(c), Some(d)) => {
            score += rules.rise_exceeds_rcv;
            reasons.push(format!(
                "rise of {c:.0}% since {d} exceeds RCV +{:.0}% [+{}]",
                100.0 * rise_limit,
                rules.rise_exceeds_rcv
            ));
        }
        (Some(ChangeCall::SignificantFall), Some(c), Some(d)) => {
            reasons.push(format!("fall of {:.0}% since {d} (beyond RCV)", -c))
        }
        (Some(ChangeCall::WithinRcv), Some(c), Some(d)) => reasons.push(format!(
            "change of {}% since {d} within RCV +{:.0}%",
            signed_percent(c),
            100.0 * rise_limit
        )),
        (Some(ChangeCall::FromNotDetected), _, Some(d)) => reasons.push(format!(
            "newly detected since {d} (previous draw not detected)"
        )),
        _ => {}
    }
    if let Some(im) = immunology {
        if !im.summary.is_empty() {
            reasons.push(im.summary.clone());
        }
        if im.wiebe_high {
            score += rules.wiebe_high;
            reasons.push(format!(
                "{} [+{}]",
                im.wiebe_reason
                    .clone()
                    .unwrap_or_else(|| "Wiebe high".into()),
                rules.wiebe_high
            ));
        } else if let Some(w) = &im.wiebe_reason {
            reasons.push(w.clone());
        }
        if !im.donor_specific_antibodies.is_empty() {
            score += rules.donor_specific_antibody;
            reasons.push(format!(
                "donor-specific antibodies: {} [+{}]",
                im.donor_specific_antibodies.join(", "),
                rules.donor_specific_antibody
            ));
        }
    }
    if s.qc == QcVerdict::Review {
        reasons.push(format!(
            "latest draw needs review: {}",
            s.qc_reasons.join("; ")
        ));
    }
    for f in &s.flags {
        if f.starts_with("related donor") || f.starts_with("relationship unknown") {
            reasons.push(f.clone());
        }
    }
    if let Some(check) = &t.relationship_check
        && check.contradicts_declared
    {
        reasons.push(check.describe());
    }
    if r.threshold_pct.is_none() && score == 0 {
        return not_assessable(reasons);
    }
    let level = if score >= rules.high_score {
        RiskLevel::High
    } else if score >= rules.moderate_score {
        RiskLevel::Moderate
    } else {
        RiskLevel::Low
    };
    TransplantRisk {
        transplant_id: t.transplant_id.clone(),
        level,
        score,
        reasons,
    }
}
