//! Risk rules at their boundaries, and the HTML report's escaping.

use std::collections::HashMap;

use chrono::{Days, NaiveDate};
use graftscan::model::estimate::{FractionEstimate, IntervalKind};
use graftscan::model::qc::{QcVerdict, SnpAccounting};
use graftscan::model::{EstimationMode, Relationship};
use graftscan::report::html::{Provenance, ReportInput, render};
use graftscan::risk::rules::{ChangeCall, SampleStatus};
use graftscan::risk::{ImmunologicalFindings, Organ, RiskConfig, RiskLevel, assess};
use graftscan::scan::{SampleResult, ScanOutcome, TransplantSummary};

fn day0() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()
}

/// A draw `days` after transplant with fraction `f` (None = not detected).
fn draw(
    tid: &str,
    sid: &str,
    days: u64,
    f: Option<f64>,
    qc: QcVerdict,
    cp_per_ml: Option<f64>,
) -> SampleResult {
    let detected = f.is_some();
    let value = f.unwrap_or(0.0);
    SampleResult {
        sample_id: sid.into(),
        transplant_id: tid.into(),
        collected: day0() + Days::new(days),
        days_post_transplant: days as i64,
        mode: Some(EstimationMode::TwoGenome),
        estimate: Some(FractionEstimate {
            donor_fraction: value,
            ci_low: value * 0.9,
            ci_high: if detected { value * 1.1 } else { 0.001 },
            interval: if detected {
                IntervalKind::TwoSided
            } else {
                IntervalKind::OneSidedUpper
            },
            ci_high_at_search_limit: false,
            search_limit: 0.5,
            loglik_max: 0.0,
            lr_statistic: 0.0,
            p_value: if detected { 1e-9 } else { 0.5 },
            detected,
            error_rate: 1e-3,
            dispersion: [1.0, 1.0],
            dispersion_scale: [1.0, 1.0],
            bootstrap_interval: None,
            molecular: None,
        }),
        snps: SnpAccounting::default(),
        qc,
        qc_reasons: if qc == QcVerdict::Fail {
            vec!["mean depth 6 < 10".into()]
        } else {
            vec![]
        },
        flags: vec![],
        dd_cfdna_cp_per_ml: cp_per_ml,
        allele_frequencies: None,
        frequencies: None,
        contamination: None,
        second_donor: None,
        limit_of_blank: None,
        limit_of_detection: None,
    }
}

fn outcome(organ: Organ, samples: Vec<SampleResult>) -> ScanOutcome {
    let latest = samples.iter().max_by_key(|s| s.collected).cloned();
    let t = TransplantSummary {
        transplant_id: samples[0].transplant_id.clone(),
        organ,
        relationship: Relationship::Unrelated,
        transplant_date: day0(),
        samples: samples.len(),
        latest_sample_id: latest.as_ref().map(|s| s.sample_id.clone()),
        latest_collected: latest.as_ref().map(|s| s.collected),
        latest_days: latest.as_ref().map(|s| s.days_post_transplant),
        latest: latest.as_ref().and_then(|s| s.estimate.clone()),
        latest_qc: latest.as_ref().map(|s| s.qc),
        modelled_relationship: Relationship::Unrelated,
        relationship_check: None,
    };
    ScanOutcome {
        samples,
        transplants: vec![t],
    }
}

fn level(o: &ScanOutcome) -> (RiskLevel, Vec<String>) {
    let r = assess(o, &RiskConfig::default(), &HashMap::new());
    (r.transplants[0].level, r.transplants[0].reasons.clone())
}

#[test]
fn kidney_fraction_exactly_at_the_threshold_is_elevated() {
    let o = outcome(
        Organ::Kidney,
        vec![draw("T", "a", 60, Some(0.010), QcVerdict::Pass, None)],
    );
    let r = assess(&o, &RiskConfig::default(), &HashMap::new());
    assert_eq!(r.samples[0].status, SampleStatus::Elevated);
    assert_eq!(r.transplants[0].level, RiskLevel::Moderate);
    assert!(r.transplants[0].reasons[0].contains("≥ kidney threshold 1%"));
    let below = outcome(
        Organ::Kidney,
        vec![draw("T", "a", 60, Some(0.00999), QcVerdict::Pass, None)],
    );
    let (l, reasons) = level(&below);
    assert_eq!(l, RiskLevel::Low);
    assert!(reasons[0].contains("< kidney threshold"), "{reasons:?}");
}

#[test]
fn twice_the_threshold_scores_high_on_its_own() {
    let o = outcome(
        Organ::Heart,
        vec![draw("T", "a", 60, Some(0.0040), QcVerdict::Pass, None)],
    );
    assert_eq!(level(&o).0, RiskLevel::High);
    let o = outcome(
        Organ::Heart,
        vec![draw("T", "a", 60, Some(0.00399), QcVerdict::Pass, None)],
    );
    assert_eq!(level(&o).0, RiskLevel::Moderate);
}

#[test]
fn rcv_limits_match_the_published_figures() {
    let rcv = RiskConfig::default().rcv;
    assert!(
        (rcv.symmetric() - 0.612).abs() < 0.005,
        "{}",
        rcv.symmetric()
    );
    let (up, down) = rcv.log_normal();
    assert!(
        (up - 0.83).abs() < 0.01 && (down + 0.45).abs() < 0.01,
        "{up} {down}"
    );
}

#[test]
fn a_rise_just_beyond_the_rcv_counts_and_one_just_inside_does_not() {
    let (up, _) = RiskConfig::default().rcv.limits();
    let base = 0.004;
    for (factor, expect) in [
        (1.0 + up + 0.002, ChangeCall::SignificantRise),
        (1.0 + up - 0.002, ChangeCall::WithinRcv),
    ] {
        let o = outcome(
            Organ::Kidney,
            vec![
                draw("T", "a", 30, Some(base), QcVerdict::Pass, None),
                draw("T", "b", 60, Some(base * factor), QcVerdict::Pass, None),
            ],
        );
        let r = assess(&o, &RiskConfig::default(), &HashMap::new());
        assert_eq!(r.samples[1].change, Some(expect), "factor {factor}");
        let expected_level = if expect == ChangeCall::SignificantRise {
            RiskLevel::Moderate
        } else {
            RiskLevel::Low
        };
        assert_eq!(r.transplants[0].level, expected_level);
    }
}

#[test]
fn early_window_draws_are_not_interpretable_and_day_14_is() {
    let o = outcome(
        Organ::Kidney,
        vec![draw("T", "a", 13, Some(0.05), QcVerdict::Pass, None)],
    );
    let (l, reasons) = level(&o);
    assert_eq!(l, RiskLevel::NotAssessable);
    assert!(reasons[0].contains("day 13") && reasons[0].contains("not interpretable"));
    let o = outcome(
        Organ::Kidney,
        vec![draw("T", "a", 14, Some(0.05), QcVerdict::Pass, None)],
    );
    assert_eq!(level(&o).0, RiskLevel::High);
}

#[test]
fn not_detected_draws_inside_a_trend_break_the_percentage_change() {
    let o = outcome(
        Organ::Kidney,
        vec![
            draw("T", "a", 30, Some(0.004), QcVerdict::Pass, None),
            draw("T", "b", 60, None, QcVerdict::Pass, None),
            draw("T", "c", 90, Some(0.012), QcVerdict::Pass, None),
        ],
    );
    let r = assess(&o, &RiskConfig::default(), &HashMap::new());
    assert_eq!(r.samples[1].status, SampleStatus::NotDetected);
    assert_eq!(
        r.samples[1].change, None,
        "no change is computed for a not-detected draw"
    );
    assert_eq!(r.samples[2].previous_sample_id.as_deref(), Some("b"));
    assert_eq!(r.samples[2].change, Some(ChangeCall::FromNotDetected));
    assert_eq!(r.samples[2].change_pct, None);
    let reasons = &r.transplants[0].reasons;
    assert!(
        reasons.iter().any(|x| x.contains("newly detected")),
        "{reasons:?}"
    );
    // Elevated by fraction alone: moderate, not high (no RCV points for a new detection).
    assert_eq!(r.transplants[0].level, RiskLevel::Moderate);
}

#[test]
fn quantity_adds_a_finding_and_its_absence_is_said() {
    let with = outcome(
        Organ::Kidney,
        vec![draw("T", "a", 60, Some(0.011), QcVerdict::Pass, Some(78.0))],
    );
    let (l, reasons) = level(&with);
    assert_eq!(l, RiskLevel::High);
    assert!(
        reasons.iter().any(|r| r.contains("78 copies/mL ≥ 78")),
        "{reasons:?}"
    );
    let without = outcome(
        Organ::Kidney,
        vec![draw("T", "a", 60, Some(0.011), QcVerdict::Pass, None)],
    );
    let (l, reasons) = level(&without);
    assert_eq!(l, RiskLevel::Moderate);
    assert!(
        reasons.iter().any(|r| r.contains("quantity not available")),
        "{reasons:?}"
    );
}

#[test]
fn failed_latest_draw_makes_the_transplant_not_assessable() {
    let o = outcome(
        Organ::Kidney,
        vec![
            draw("T", "a", 30, Some(0.03), QcVerdict::Pass, None),
            draw("T", "b", 60, Some(0.0), QcVerdict::Fail, None),
        ],
    );
    let (l, reasons) = level(&o);
    assert_eq!(l, RiskLevel::NotAssessable);
    assert!(reasons[0].contains("failed QC"));
}

#[test]
fn organs_without_a_threshold_are_not_assessable_unless_other_findings_exist() {
    let o = outcome(
        Organ::Pancreas,
        vec![draw("T", "a", 60, Some(0.03), QcVerdict::Pass, None)],
    );
    assert_eq!(level(&o).0, RiskLevel::NotAssessable);
    // Liver: no threshold until after day 10, then > 10%.
    let o = outcome(
        Organ::Liver,
        vec![draw("T", "a", 20, Some(0.12), QcVerdict::Pass, None)],
    );
    assert_eq!(level(&o).0, RiskLevel::Moderate);
}

#[test]
fn immunological_findings_add_points_with_their_reasons() {
    let o = outcome(
        Organ::Kidney,
        vec![draw("T", "a", 60, Some(0.011), QcVerdict::Pass, None)],
    );
    let mut im = HashMap::new();
    im.insert(
        "T".to_string(),
        ImmunologicalFindings {
            summary: "A/B/DR mismatch 4/6".into(),
            wiebe_category: Some("high".into()),
            wiebe_high: true,
            wiebe_reason: Some("DQ eplet load 17 → Wiebe high".into()),
            donor_specific_antibodies: vec!["DQ7 (DQB1) MFI 4200".into()],
        },
    );
    let r = assess(&o, &RiskConfig::default(), &im);
    assert_eq!(r.transplants[0].level, RiskLevel::High);
    assert_eq!(r.transplants[0].score, 3);
    let text = r.transplants[0].reasons.join("; ");
    assert!(
        text.contains("Wiebe high") && text.contains("DQ7"),
        "{text}"
    );
}

#[test]
fn user_supplied_ids_are_escaped_in_the_html_report() {
    let evil_t = "T<script>alert(\"x\")</script>";
    let evil_s = "S'<b>\"&";
    let o = outcome(
        Organ::Kidney,
        vec![draw(evil_t, evil_s, 60, Some(0.02), QcVerdict::Pass, None)],
    );
    let cfg = RiskConfig::default();
    let risk = assess(&o, &cfg, &HashMap::new());
    let html = render(&ReportInput {
        outcome: &o,
        risk: &risk,
        config: &cfg,
        immunology: &HashMap::new(),
        hla: &HashMap::new(),
        provenance: &Provenance {
            command_line: "graftscan scan <dir>".into(),
            ..Provenance::default()
        },
        input_warnings: &[],
    });
    assert!(!html.contains("<script>"), "raw script tag in the report");
    assert!(!html.contains("<b>"));
    assert!(html.contains("T&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"));
    assert!(html.contains("S&#39;&lt;b&gt;&quot;&amp;"));
    assert!(html.contains("graftscan scan &lt;dir&gt;"));
    // Self-contained: nothing fetched from the network, no scripts.
    for external in [
        "<script",
        "<link",
        "@import",
        "url(",
        "src=\"http",
        "href=\"http",
    ] {
        assert!(
            !html.contains(external),
            "report references something external: {external}"
        );
    }
    assert!(html.contains("decision support, not a medical device"));
}
