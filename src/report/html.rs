//! report.html: one self-contained file (inline CSS and SVG, no scripts, no
//! fonts or anything else fetched), opening on a batch overview sorted by risk
//! level, then one section per transplant. Every user-supplied string is
//! HTML-escaped; the decision-support statement is on every printed page.

use std::collections::HashMap;
use std::fmt::Write as _;

use crate::model::estimate::IntervalKind;
use crate::model::qc::QcVerdict;
use crate::report::plots::{TrendPlot, TrendPoint, trend_svg};
use crate::report::tables::change_label;
use crate::risk::rules::SampleStatus;
use crate::risk::{ImmunologicalFindings, RiskAssessment, RiskConfig, RiskLevel, SampleRisk};
use crate::scan::{DISCLAIMER, SampleResult, ScanOutcome};

/// Escape text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A table of HLA results for one transplant (rendered as given, escaped).
#[derive(Debug, Clone, Default)]
pub struct HlaDetail {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

#[derive(Debug, Clone, Default)]
pub struct Provenance {
    pub version: String,
    pub generated: String,
    pub backend: String,
    pub allele_frequencies: String,
    pub risk_config: String,
    pub ipd_release: Option<String>,
    pub eplet_table: Option<String>,
    pub command_line: String,
}

pub struct ReportInput<'a> {
    pub outcome: &'a ScanOutcome,
    pub risk: &'a RiskAssessment,
    pub config: &'a RiskConfig,
    pub immunology: &'a HashMap<String, ImmunologicalFindings>,
    pub hla: &'a HashMap<String, HlaDetail>,
    pub provenance: &'a Provenance,
    /// Input rows that matched nothing or repeat another (bead results of no
    /// transplant, unused typings, draws sharing reads): shown above the results.
    pub input_warnings: &'a [String],
}

const CSS: &str = r#"
body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:#222;margin:0 auto;max-width:1100px;padding:0 16px 40px;font-size:14px;line-height:1.4}
h1{font-size:22px;margin:18px 0 4px}h2{font-size:18px;margin:0 0 6px}h3{font-size:15px;margin:14px 0 6px}
.notice{border:2px solid #b26b00;background:#fff6e5;padding:8px 12px;margin:10px 0;font-weight:600}
table{border-collapse:collapse;width:100%;margin:6px 0 12px}th,td{border-bottom:1px solid #ddd;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#f3f5f8;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.level{display:inline-block;padding:1px 8px;border-radius:10px;font-weight:700;font-size:12px;white-space:nowrap}
.level-high{background:#c62828;color:#fff}.level-moderate{background:#f9a825;color:#222}.level-low{background:#2e7d32;color:#fff}.level-not-assessable{background:#9e9e9e;color:#fff}
.qc-REVIEW{color:#a35c00;font-weight:700}.qc-FAIL{color:#c62828;font-weight:700}.qc-PASS{color:#2e7d32}
.transplant{border-top:3px solid #1f5ea8;margin-top:28px;padding-top:10px}
ul.reasons{margin:4px 0 8px 18px;padding:0}.muted{color:#777}.small{font-size:12px}
footer{margin-top:30px;border-top:1px solid #ccc;padding-top:8px;font-size:12px;color:#555}
svg{max-width:100%;height:auto}
td.why{min-width:320px}td.date{white-space:nowrap}
.print-notice{display:none}
@page{size:A4 landscape;margin:12mm 12mm 18mm}
@media print{body{max-width:none;font-size:10.5px;padding:0}.transplant{page-break-before:always;border-top:none}a{color:inherit;text-decoration:none}
.print-notice{display:block;position:fixed;bottom:0;left:0;right:0;font-size:9px;color:#555;border-top:1px solid #aaa;padding-top:2px;background:#fff}
figure{page-break-inside:avoid}tr{page-break-inside:avoid}}
"#;

fn level_badge(level: RiskLevel) -> String {
    let class = level.as_str().replace(' ', "-");
    format!(
        r#"<span class="level level-{class}">{}</span>"#,
        escape(level.as_str())
    )
}

fn pct(x: f64) -> String {
    format!("{:.3}", 100.0 * x)
}

fn fraction_cell(s: &SampleResult) -> String {
    match &s.estimate {
        None => "—".into(),
        Some(e) if !e.detected => format!("not detected (&lt; {}%)", pct(e.ci_high)),
        Some(e) => {
            let interval = match e.interval {
                IntervalKind::TwoSided => format!("[{}, {}]", pct(e.ci_low), pct(e.ci_high)),
                IntervalKind::OneSidedUpper => format!("[0, {}]", pct(e.ci_high)),
            };
            format!("{}% {interval}", pct(e.donor_fraction))
        }
    }
}

fn qc_cell(s: &SampleResult) -> String {
    let verdict = s.qc.as_str();
    if s.qc_reasons.is_empty() {
        format!(r#"<span class="qc-{verdict}">{verdict}</span>"#)
    } else {
        format!(
            r#"<span class="qc-{verdict}">{verdict}</span><br><span class="small">{}</span>"#,
            escape(&s.qc_reasons.join("; "))
        )
    }
}

/// Heading of the report's input-warnings section (`merge` finds it by it).
pub const INPUT_WARNINGS_HEADING: &str = "<h2>Warnings about the inputs</h2>";

/// The input-warnings section placed above the batch overview; empty when
/// there is nothing to say.
pub fn input_warnings_html(warnings: &[String]) -> String {
    if warnings.is_empty() {
        return String::new();
    }
    let mut html = format!("{INPUT_WARNINGS_HEADING}<ul class=\"reasons\">");
    for w in warnings {
        let _ = write!(html, "<li>{}</li>", escape(w));
    }
    html.push_str("</ul>");
    html
}

pub fn render(input: &ReportInput) -> String {
    let ReportInput {
        outcome,
        risk,
        config,
        immunology,
        hla,
        provenance,
        input_warnings,
    } = input;
    let sample_risk: HashMap<&str, &SampleRisk> = risk
        .samples
        .iter()
        .map(|r| (r.sample_id.as_str(), r))
        .collect();
    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>graftscan report</title><style>{CSS}</style></head><body>\
         <div class=\"print-notice\">{}</div>",
        escape(DISCLAIMER)
    );
    let _ = write!(
        html,
        "<h1>graftscan report — donor-derived cfDNA and rejection risk</h1>\
         <p class=\"muted\">graftscan {} · generated {} · {}</p>\
         <div class=\"notice\">{}</div>",
        escape(&provenance.version),
        escape(&provenance.generated),
        escape(&provenance.backend),
        escape(DISCLAIMER)
    );
    html.push_str(&input_warnings_html(input_warnings));

    // Overview, sorted by level then id.
    let mut order: Vec<usize> = (0..outcome.transplants.len()).collect();
    order.sort_by(|&a, &b| {
        (
            risk.transplants[a].level,
            &outcome.transplants[a].transplant_id,
        )
            .cmp(&(
                risk.transplants[b].level,
                &outcome.transplants[b].transplant_id,
            ))
    });
    let count = |l: RiskLevel| risk.transplants.iter().filter(|t| t.level == l).count();
    let _ = write!(
        html,
        "<h2>Batch overview</h2><p>{} transplants, {} blood draws: {} high, {} moderate, {} low, {} not assessable. \
         QC: {} PASS, {} REVIEW, {} FAIL.</p>",
        outcome.transplants.len(),
        outcome.samples.len(),
        count(RiskLevel::High),
        count(RiskLevel::Moderate),
        count(RiskLevel::Low),
        count(RiskLevel::NotAssessable),
        outcome
            .samples
            .iter()
            .filter(|s| s.qc == QcVerdict::Pass)
            .count(),
        outcome
            .samples
            .iter()
            .filter(|s| s.qc == QcVerdict::Review)
            .count(),
        outcome
            .samples
            .iter()
            .filter(|s| s.qc == QcVerdict::Fail)
            .count(),
    );
    html.push_str(
        "<table><thead><tr><th>level</th><th>transplant</th><th>organ</th><th>relationship</th>\
         <th>draws</th><th>latest draw</th><th>dd-cfDNA % [95% CI]</th><th>QC</th><th>why</th></tr></thead><tbody>",
    );
    let samples_by_id: HashMap<&str, &SampleResult> = outcome
        .samples
        .iter()
        .map(|s| (s.sample_id.as_str(), s))
        .collect();
    // Each transplant's draws, gathered once: filtering every draw for every
    // transplant was quadratic (5·10⁸ comparisons for 50,000 draws).
    let mut by_transplant: HashMap<&str, Vec<&SampleResult>> = HashMap::new();
    for s in &outcome.samples {
        by_transplant
            .entry(s.transplant_id.as_str())
            .or_default()
            .push(s);
    }
    let draws_of = |id: &str| by_transplant.get(id).map_or(&[][..], Vec::as_slice);
    for &i in &order {
        let t = &outcome.transplants[i];
        let r = &risk.transplants[i];
        let latest = t
            .latest_sample_id
            .as_deref()
            .and_then(|id| samples_by_id.get(id));
        let problems = draws_of(&t.transplant_id)
            .iter()
            .filter(|s| s.qc != QcVerdict::Pass)
            .count();
        let qc = match latest {
            Some(s) => {
                let mut c = qc_cell(s);
                if problems > 0 {
                    let _ = write!(
                        c,
                        "<br><span class=\"small\">{problems} draw(s) not PASS</span>"
                    );
                }
                c
            }
            None => "—".into(),
        };
        let _ = write!(
            html,
            "<tr><td>{}</td><td><a href=\"#t-{}\">{}</a></td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"date\">{}</td><td class=\"num\">{}</td><td>{}</td><td class=\"small why\">{}</td></tr>",
            level_badge(r.level),
            i,
            escape(&t.transplant_id),
            t.organ,
            t.relationship,
            t.samples,
            latest
                .map(|s| format!("{}<br>day {}", s.collected, s.days_post_transplant))
                .unwrap_or_else(|| "—".into()),
            latest
                .map(|s| fraction_cell(s))
                .unwrap_or_else(|| "—".into()),
            qc,
            escape(&r.reasons.join("; "))
        );
    }
    html.push_str("</tbody></table>");

    // One section per transplant, in overview order.
    for &i in &order {
        let t = &outcome.transplants[i];
        let r = &risk.transplants[i];
        let _ = write!(
            html,
            "<section class=\"transplant\" id=\"t-{i}\">\
             <h2>{} {} — {} transplant on {}, donor {}</h2><ul class=\"reasons\">",
            level_badge(r.level),
            escape(&t.transplant_id),
            t.organ,
            t.transplant_date,
            t.relationship
        );
        for reason in &r.reasons {
            let _ = write!(html, "<li>{}</li>", escape(reason));
        }
        html.push_str("</ul>");
        if let Some(check) = &t.relationship_check {
            let _ = write!(
                html,
                "<p class=\"small\">Relationship check: {} (modelled as {}).</p>",
                escape(&check.describe()),
                t.modelled_relationship
            );
        }
        let mut mine: Vec<&SampleResult> = draws_of(&t.transplant_id).to_vec();
        mine.sort_by(|a, b| (a.collected, &a.sample_id).cmp(&(b.collected, &b.sample_id)));
        let points: Vec<TrendPoint> = mine
            .iter()
            .filter_map(|s| {
                let e = s.estimate.as_ref()?;
                let status = sample_risk.get(s.sample_id.as_str()).map(|r| r.status);
                Some(TrendPoint {
                    day: s.days_post_transplant.max(0) as f64,
                    value: 100.0 * e.donor_fraction,
                    low: 100.0 * e.ci_low,
                    high: 100.0 * e.ci_high,
                    detected: e.detected,
                    muted: !matches!(
                        status,
                        Some(
                            SampleStatus::Elevated
                                | SampleStatus::BelowThreshold
                                | SampleStatus::NotDetected
                                | SampleStatus::NoThreshold
                        )
                    ),
                })
            })
            .collect();
        let threshold = mine
            .last()
            .and_then(|s| {
                config.fraction_threshold(
                    t.organ,
                    s.days_post_transplant.max(config.early_window_days),
                )
            })
            .map(|th| th.percent);
        if let Some(svg) = trend_svg(&TrendPlot {
            title: "dd-cfDNA fraction",
            y_label: "donor fraction (%)",
            points: &points,
            threshold,
        }) {
            html.push_str("<figure>");
            html.push_str(&svg);
            html.push_str(
                "<figcaption class=\"small muted\">Blue: estimate with its 95% interval; open circle: not detected, \
                 drawn at the 95% upper bound; grey: not interpretable (early window or QC fail); red line: organ threshold.</figcaption></figure>",
            );
        }
        let quantity: Vec<TrendPoint> = mine
            .iter()
            .filter_map(|s| {
                let q = s.dd_cfdna_cp_per_ml?;
                let e = s.estimate.as_ref()?;
                let scale = if e.donor_fraction > 0.0 {
                    q / e.donor_fraction
                } else {
                    0.0
                };
                Some(TrendPoint {
                    day: s.days_post_transplant.max(0) as f64,
                    value: q,
                    low: e.ci_low * scale,
                    high: e.ci_high * scale,
                    detected: e.detected,
                    muted: s.qc == QcVerdict::Fail
                        || s.days_post_transplant < config.early_window_days,
                })
            })
            .collect();
        let qthr = config.quantity_threshold(t.organ).map(|q| q.copies_per_ml);
        if quantity.iter().any(|p| p.value > 0.0)
            && let Some(svg) = trend_svg(&TrendPlot {
                title: "dd-cfDNA quantity",
                y_label: "copies/mL",
                points: &quantity,
                threshold: qthr,
            })
        {
            html.push_str("<figure>");
            html.push_str(&svg);
            html.push_str("</figure>");
        }
        html.push_str(
            "<h3>Blood draws</h3><table><thead><tr><th>sample</th><th>collected</th><th>day</th><th>mode</th>\
             <th>dd-cfDNA % [95% CI]</th><th>status</th><th>change</th><th>copies/mL</th><th>QC</th><th>flags</th></tr></thead><tbody>",
        );
        for s in &mine {
            let r = sample_risk.get(s.sample_id.as_str());
            let change = r
                .and_then(|r| {
                    let c = r.change?;
                    Some(match r.change_pct {
                        Some(p) => format!("{p:+.0}% ({})", change_label(c)),
                        None => change_label(c).to_string(),
                    })
                })
                .unwrap_or_default();
            let _ = write!(
                html,
                "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td><td class=\"small\">{}</td></tr>",
                escape(&s.sample_id),
                s.collected,
                s.days_post_transplant,
                s.mode.map(|m| m.as_str()).unwrap_or("not identifiable"),
                fraction_cell(s),
                r.map(|r| r.status.as_str()).unwrap_or(""),
                escape(&change),
                s.dd_cfdna_cp_per_ml
                    .map(|q| format!("{q:.0}"))
                    .unwrap_or_default(),
                qc_cell(s),
                escape(&s.flags.join("; "))
            );
        }
        html.push_str("</tbody></table>");
        if let Some(im) = immunology.get(&t.transplant_id) {
            html.push_str("<h3>HLA</h3><ul class=\"reasons\">");
            for line in [Some(&im.summary), im.wiebe_reason.as_ref()]
                .into_iter()
                .flatten()
            {
                if !line.is_empty() {
                    let _ = write!(html, "<li>{}</li>", escape(line));
                }
            }
            if im.donor_specific_antibodies.is_empty() {
                html.push_str("<li>no donor-specific antibodies reported</li>");
            } else {
                let _ = write!(
                    html,
                    "<li>donor-specific antibodies: {}</li>",
                    escape(&im.donor_specific_antibodies.join(", "))
                );
            }
            html.push_str("</ul>");
        }
        if let Some(detail) = hla.get(&t.transplant_id) {
            html.push_str("<table class=\"small\"><thead><tr>");
            for h in &detail.header {
                let _ = write!(html, "<th>{}</th>", escape(h));
            }
            html.push_str("</tr></thead><tbody>");
            for row in &detail.rows {
                html.push_str("<tr>");
                for c in row {
                    let _ = write!(html, "<td>{}</td>", escape(c));
                }
                html.push_str("</tr>");
            }
            html.push_str("</tbody></table>");
        }
        html.push_str("</section>");
    }

    // Provenance and the rules in force.
    let (rise, fall) = config.rcv.limits();
    let _ = write!(
        html,
        "<footer><h3>Provenance</h3><ul>\
         <li>graftscan {} · {}</li><li>compute: {}</li><li>allele frequencies: {}</li><li>risk rules: {}</li>",
        escape(&provenance.version),
        escape(&provenance.generated),
        escape(&provenance.backend),
        escape(&provenance.allele_frequencies),
        escape(&provenance.risk_config)
    );
    if let Some(ipd) = &provenance.ipd_release {
        let _ = write!(
            html,
            "<li>IPD-IMGT/HLA release {} (Barker et al., Nucleic Acids Res 2023;51:D948)</li>",
            escape(ipd)
        );
    }
    if let Some(ep) = &provenance.eplet_table {
        let _ = write!(html, "<li>eplet table: {}</li>", escape(ep));
    }
    let _ = write!(
        html,
        "<li>command: <code>{}</code></li></ul><h3>Rules in force</h3><ul>",
        escape(&provenance.command_line)
    );
    for th in &config.fraction_threshold {
        let _ = write!(
            html,
            "<li>{} ≥ {}%{}: {}</li>",
            th.organ,
            th.percent,
            if th.after_day >= 0 {
                format!(" after day {}", th.after_day)
            } else {
                String::new()
            },
            escape(&th.source)
        );
    }
    for q in &config.quantity_threshold {
        let _ = write!(
            html,
            "<li>{} ≥ {} copies/mL: {}</li>",
            q.organ,
            q.copies_per_ml,
            escape(&q.source)
        );
    }
    let _ = write!(
        html,
        "<li>reference change value: rise &gt; {:+.0}%, fall &lt; {:+.0}% ({})</li>\
         <li>draws before day {} are not interpretable ({})</li>\
         <li>level: score ≥ {} high, ≥ {} moderate; points per finding are listed with each reason</li></ul>\
         <p>{}</p></footer></body></html>",
        100.0 * rise,
        100.0 * fall,
        escape(&config.rcv.source),
        config.early_window_days,
        escape(&config.early_window_source),
        config.levels.high_score,
        config.levels.moderate_score,
        escape(DISCLAIMER)
    );
    html.push('\n');
    html
}
