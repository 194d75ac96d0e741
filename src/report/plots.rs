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

/// Largest axis value drawn. plotters' key-point search loops without end on
/// an infinite or astronomically wide range (a total of 1e307 ng/mL made
/// copies/mL infinite and hung the report); inputs are range-checked where they
/// are read, and the plot refuses what still falls outside.
const MAX_AXIS: f64 = 1e12;

/// Render a trend as an SVG string; `None` when there is nothing to draw (or
/// nothing drawable: non-finite or out-of-range values).
pub fn trend_svg(plot: &TrendPlot) -> Option<String> {
    if plot.points.is_empty() {
        return None;
    }
    let drawable = |x: f64| x.is_finite() && (0.0..=MAX_AXIS).contains(&x.abs());
    if !plot
        .points
        .iter()
        .all(|p| drawable(p.day) && drawable(p.value) && drawable(p.low) && drawable(p.high))
        || plot.threshold.is_some_and(|t| !drawable(t))
    {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn point(value: f64) -> TrendPoint {
        TrendPoint {
            day: 30.0,
            value,
            low: 0.0,
            high: value,
            detected: true,
            muted: false,
        }
    }

    #[test]
    fn infinite_or_huge_values_are_not_drawn_instead_of_hanging() {
        for bad in [f64::INFINITY, f64::NAN, 1e300] {
            let points = [point(1.0), point(bad)];
            let plot = TrendPlot {
                title: "t",
                y_label: "y",
                points: &points,
                threshold: None,
            };
            assert!(trend_svg(&plot).is_none(), "{bad}");
        }
        let points = [point(1.0)];
        let plot = TrendPlot {
            title: "t",
            y_label: "y",
            points: &points,
            threshold: Some(f64::INFINITY),
        };
        assert!(trend_svg(&plot).is_none());
        let plot = TrendPlot {
            title: "t",
            y_label: "y",
            points: &points,
            threshold: Some(0.5),
        };
        assert!(trend_svg(&plot).unwrap().contains("<svg"));
    }
}
