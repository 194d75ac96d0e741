//! Trend plots as inline SVG through plotters' SVG backend.

use plotters::prelude::*;

/// One draw on a trend plot.
pub struct TrendPoint {
    pub day: f64,
    /// Value, low and high in plot units (percent or copies/mL).
    pub value: f64,
    pub low: f64,
    pub high: f64,
    pub detected: bool,
    /// Drawn muted: QC fail or early window.
    pub muted: bool,
}

pub struct TrendPlot<'a> {
    pub title: &'a str,
    pub y_label: &'a str,
    pub points: &'a [TrendPoint],
    /// Horizontal threshold line, in plot units.
    pub threshold: Option<f64>,
}

const ACCENT: RGBColor = RGBColor(31, 94, 168);
const MUTED: RGBColor = RGBColor(150, 150, 150);
const WARN: RGBColor = RGBColor(190, 40, 40);

/// Render a trend as an SVG string; `None` when there is nothing to draw.
pub fn trend_svg(plot: &TrendPlot) -> Option<String> {
    if plot.points.is_empty() {
        return None;
    }
    let max_day = plot.points.iter().map(|p| p.day).fold(1.0f64, f64::max);
    let mut y_max = plot
        .points
        .iter()
        .map(|p| p.high.max(p.value))
        .fold(0.0f64, f64::max);
    if let Some(t) = plot.threshold {
        y_max = y_max.max(t);
    }
    let y_max = if y_max > 0.0 { y_max * 1.15 } else { 1.0 };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (680, 280)).into_drawing_area();
        root.fill(&WHITE).ok()?;
        let mut chart = ChartBuilder::on(&root)
            .caption(plot.title, ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(0.0..max_day * 1.05 + 1.0, 0.0..y_max)
            .ok()?;
        chart
            .configure_mesh()
            .x_desc("days since transplant")
            .y_desc(plot.y_label)
            .disable_x_mesh()
            .bold_line_style(RGBColor(225, 225, 225))
            .light_line_style(TRANSPARENT)
            .x_label_formatter(&|x| format!("{x:.0}"))
            .draw()
            .ok()?;
        if let Some(t) = plot.threshold {
            chart
                .draw_series(LineSeries::new(
                    vec![(0.0, t), (max_day * 1.05 + 1.0, t)],
                    WARN.stroke_width(1),
                ))
                .ok()?;
        }
        let line: Vec<(f64, f64)> = plot
            .points
            .iter()
            .filter(|p| !p.muted)
            .map(|p| (p.day, p.value))
            .collect();
        chart
            .draw_series(LineSeries::new(line, ACCENT.mix(0.5).stroke_width(1)))
            .ok()?;
        chart
            .draw_series(plot.points.iter().map(|p| {
                let color = if p.muted { MUTED } else { ACCENT };
                ErrorBar::new_vertical(p.day, p.low, p.value, p.high, color.stroke_width(1), 8)
            }))
            .ok()?;
        chart
            .draw_series(plot.points.iter().map(|p| {
                let color = if p.muted { MUTED } else { ACCENT };
                if p.detected {
                    Circle::new((p.day, p.value), 4, color.filled())
                } else {
                    // Not detected: an open marker at the upper bound.
                    Circle::new((p.day, p.high), 4, color.stroke_width(2))
                }
            }))
            .ok()?;
        root.present().ok()?;
    }
    Some(svg)
}
