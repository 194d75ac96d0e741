//! Limits of blank and detection by parametric simulation (CLSI EP17-A2):
//! LoB = 95th percentile of the estimates from blanks (no donor DNA);
//! LoD = the lowest donor fraction whose estimate exceeds the LoB in at least
//! 95% of replicates. Each replicate draws a new recipient and donor from the
//! panel's frequencies under the relationship, so the limits are those of the
//! assay for a typical pair, not of one pair. Every replicate goes through the
//! same compute backend as a scan (a natural GPU workload).

use rayon::prelude::*;

use super::backend::LoglikBackend;
use super::estimate::{EstimatorSettings, estimate_point_fractions};
use super::likelihood::SampleModel;
use super::{EstimationMode, Relationship};
use crate::error::Result;
use crate::simulate::{PanelSnp, ReadSettings, simulated_model};

#[derive(Debug, Clone, serde::Serialize)]
pub struct LimitSettings {
    pub replicates: usize,
    pub reads: ReadSettingsRecord,
    pub mode: EstimationMode,
    /// Donor fractions tried, ascending.
    pub levels: Vec<f64>,
    pub seed: u64,
}

/// ReadSettings as recorded in outputs.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct ReadSettingsRecord {
    pub depth: f64,
    pub genome_copies: Option<f64>,
    pub error_rate: f64,
}

impl From<ReadSettingsRecord> for ReadSettings {
    fn from(r: ReadSettingsRecord) -> Self {
        ReadSettings {
            depth: r.depth,
            genome_copies: r.genome_copies,
            error_rate: r.error_rate,
        }
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct DetectionLimits {
    pub relationship: Relationship,
    pub mode: EstimationMode,
    pub replicates: usize,
    pub limit_of_blank: f64,
    /// None when no level tried was detected in ≥ 95% of replicates.
    pub limit_of_detection: Option<f64>,
    /// (level, fraction of replicates with estimate > LoB).
    pub detection_rates: Vec<(f64, f64)>,
}

/// Log-spaced ladder of donor fractions from `lo` to `hi`.
pub fn default_levels(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| (lo.ln() + (hi.ln() - lo.ln()) * i as f64 / (n - 1).max(1) as f64).exp())
        .collect()
}

fn estimates_at(
    panel: &[PanelSnp],
    relationship: Relationship,
    f: f64,
    settings: &LimitSettings,
    level_index: u64,
    backend: &dyn LoglikBackend,
    estimator: &EstimatorSettings,
) -> Result<Vec<f64>> {
    let reads: ReadSettings = settings.reads.into();
    let base = settings
        .seed
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add((relationship as u64) << 40)
        .wrapping_add(level_index << 20);
    let mut models: Vec<SampleModel> = (0..settings.replicates)
        .into_par_iter()
        .map(|k| {
            simulated_model(
                panel,
                relationship,
                f,
                settings.mode,
                &reads,
                base + k as u64,
            )
        })
        .collect();
    estimate_point_fractions(&mut models, backend, estimator)
}

/// CLSI EP17 non-parametric 95th percentile: the value at rank 0.5 + 0.95·N
/// (interpolated) of the sorted blank results.
pub fn percentile_95(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        return f64::NAN;
    }
    let rank = 0.5 + 0.95 * n as f64; // 1-based
    let lo = (rank.floor() as usize).clamp(1, n);
    let hi = (rank.ceil() as usize).clamp(1, n);
    let w = rank - rank.floor();
    values[lo - 1] * (1.0 - w) + values[hi - 1] * w
}

pub fn detection_limits(
    panel: &[PanelSnp],
    relationship: Relationship,
    settings: &LimitSettings,
    backend: &dyn LoglikBackend,
    estimator: &EstimatorSettings,
) -> Result<DetectionLimits> {
    let mut blanks = estimates_at(panel, relationship, 0.0, settings, 0, backend, estimator)?;
    let lob = percentile_95(&mut blanks);
    let mut rates = Vec::new();
    let mut lod = None;
    let mut streak = 0;
    for (i, &f) in settings.levels.iter().enumerate() {
        let est = estimates_at(
            panel,
            relationship,
            f,
            settings,
            i as u64 + 1,
            backend,
            estimator,
        )?;
        let rate = est.iter().filter(|&&x| x > lob).count() as f64 / est.len().max(1) as f64;
        rates.push((f, rate));
        if rate >= 0.95 {
            if lod.is_none() {
                lod = Some(f);
            }
            streak += 1;
            // Two consecutive levels at ≥ 95% settle it; higher ones add nothing.
            if streak >= 2 {
                break;
            }
        } else {
            lod = None;
            streak = 0;
        }
    }
    Ok(DetectionLimits {
        relationship,
        mode: settings.mode,
        replicates: settings.replicates,
        limit_of_blank: lob,
        limit_of_detection: lod,
        detection_rates: rates,
    })
}
