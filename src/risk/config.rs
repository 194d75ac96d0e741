//! Risk rules as data: every threshold with its source, loaded from TOML
//! (`--config FILE`); `graftscan config --defaults` writes the built-in set.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, InputError, Result};
use crate::risk::Organ;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FractionThreshold {
    pub organ: Organ,
    /// dd-cfDNA fraction, in percent, at or above which a draw is elevated.
    pub percent: f64,
    /// Applies to draws taken more than this many days after transplant.
    #[serde(default)]
    pub after_day: i64,
    pub source: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct QuantityThreshold {
    pub organ: Organ,
    pub copies_per_ml: f64,
    pub source: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RcvForm {
    /// RCV = √2 · z · √(CVa² + CVi²), the same for rises and falls.
    Symmetric,
    /// Log-normal: rise exp(+√2·z·σ) − 1, fall exp(−√2·z·σ) − 1, σ² = ln(1 + CV²).
    LogNormal,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RcvConfig {
    pub analytical_cv_pct: f64,
    pub within_person_cv_pct: f64,
    pub z: f64,
    pub form: RcvForm,
    pub source: String,
}

impl RcvConfig {
    fn total_cv(&self) -> f64 {
        let a = self.analytical_cv_pct / 100.0;
        let i = self.within_person_cv_pct / 100.0;
        (a * a + i * i).sqrt()
    }

    /// Symmetric reference change value, as a fraction (0.61 = 61%).
    pub fn symmetric(&self) -> f64 {
        std::f64::consts::SQRT_2 * self.z * self.total_cv()
    }

    /// Log-normal (rise, fall) limits as fractions (+0.83, −0.45).
    pub fn log_normal(&self) -> (f64, f64) {
        let cv = self.total_cv();
        let sigma = (1.0 + cv * cv).ln().sqrt();
        let k = std::f64::consts::SQRT_2 * self.z * sigma;
        (k.exp() - 1.0, (-k).exp() - 1.0)
    }

    /// (rise, fall) limits in the configured form.
    pub fn limits(&self) -> (f64, f64) {
        match self.form {
            RcvForm::Symmetric => (self.symmetric(), -self.symmetric()),
            RcvForm::LogNormal => self.log_normal(),
        }
    }
}

/// Points each finding adds to a transplant's score, and the score at which a
/// transplant is moderate or high.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LevelRules {
    pub fraction_above_threshold: u32,
    /// Replaces the points above when the fraction is at least this multiple of the threshold.
    pub marked_elevation_multiple: f64,
    pub fraction_markedly_above_threshold: u32,
    pub quantity_above_threshold: u32,
    pub rise_exceeds_rcv: u32,
    pub wiebe_high: u32,
    pub donor_specific_antibody: u32,
    pub moderate_score: u32,
    pub high_score: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RiskConfig {
    /// Draws before this day post-transplant are not interpretable: early graft
    /// injury raises dd-cfDNA in every recipient.
    pub early_window_days: i64,
    pub early_window_source: String,
    /// Genome equivalents per ng of cfDNA (3.3 pg per haploid genome).
    pub genome_equivalents_per_ng: f64,
    pub fraction_threshold: Vec<FractionThreshold>,
    pub quantity_threshold: Vec<QuantityThreshold>,
    pub rcv: RcvConfig,
    pub levels: LevelRules,
}

impl Default for RiskConfig {
    fn default() -> Self {
        let ft = |organ, percent, after_day, source: &str| FractionThreshold {
            organ,
            percent,
            after_day,
            source: source.into(),
        };
        RiskConfig {
            early_window_days: 14,
            early_window_source: "dd-cfDNA is physiologically high in the first two weeks after transplant (Bloom et al., J Am Soc Nephrol 2017;28:2221; cfdna-model.md §4)".into(),
            genome_equivalents_per_ng: 1000.0 / 3.3,
            fraction_threshold: vec![
                ft(Organ::Kidney, 1.0, -1, "AlloSure DART: Bloom et al., J Am Soc Nephrol 2017;28:2221"),
                ft(Organ::Heart, 0.20, -1, "Khush et al., Am J Transplant 2019;19:2889 (0.15% in Prospera: Kim et al. 2022)"),
                ft(Organ::Lung, 0.85, -1, "Khush et al., Am J Transplant 2021;21:3061 (≥ 1% in some studies)"),
                ft(Organ::Liver, 10.0, 10, "no single cut-off; > 10% after day 10 is abnormal (Schütz et al., PLoS Med 2017;14:e1002286)"),
            ],
            quantity_threshold: vec![QuantityThreshold {
                organ: Organ::Kidney,
                copies_per_ml: 78.0,
                source: "kidney ≥ 78 copies/mL (Prospera dd-cfDNA quantity; cfdna-model.md §5)".into(),
            }],
            rcv: RcvConfig {
                analytical_cv_pct: 6.8,
                within_person_cv_pct: 21.0,
                z: 1.96,
                form: RcvForm::LogNormal,
                source: "RCV = √2·z·√(CVa² + CVi²) (Fraser, Clin Chem Lab Med 2011;49:1153); kidney dd-cfDNA CVa 6.8%, CVi 21% → 61% (Bromberg et al., J Appl Lab Med 2017;2:309); log-normal form +83% / −45%".into(),
            },
            levels: LevelRules {
                fraction_above_threshold: 1,
                marked_elevation_multiple: 2.0,
                fraction_markedly_above_threshold: 2,
                quantity_above_threshold: 1,
                rise_exceeds_rcv: 1,
                wiebe_high: 1,
                donor_specific_antibody: 1,
                moderate_score: 1,
                high_score: 2,
            },
        }
    }
}

impl RiskConfig {
    pub fn load(path: &Path) -> Result<RiskConfig> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let cfg: RiskConfig = toml::from_str(&text).map_err(|e| {
            let mut err = InputError::new(path, e.message().to_string());
            if let Some(span) = e.span() {
                let line = text[..span.start.min(text.len())].lines().count().max(1) as u64;
                err = err.at_line(line);
            }
            Error::from(err)
        })?;
        cfg.validate(path)?;
        Ok(cfg)
    }

    fn validate(&self, path: &Path) -> Result<()> {
        let bad = |m: String| Err(Error::from(InputError::new(path, m)));
        for t in &self.fraction_threshold {
            if !(t.percent > 0.0 && t.percent < 100.0) {
                return bad(format!(
                    "fraction_threshold for {}: percent must be in (0, 100)",
                    t.organ
                ));
            }
        }
        for t in &self.quantity_threshold {
            if t.copies_per_ml.is_nan() || t.copies_per_ml <= 0.0 {
                return bad(format!(
                    "quantity_threshold for {}: copies_per_ml must be > 0",
                    t.organ
                ));
            }
        }
        if self.rcv.analytical_cv_pct < 0.0
            || self.rcv.within_person_cv_pct < 0.0
            || self.rcv.z <= 0.0
        {
            return bad("rcv: CVs must be ≥ 0 and z > 0".into());
        }
        if self.levels.high_score < self.levels.moderate_score || self.levels.moderate_score == 0 {
            return bad("levels: need 0 < moderate_score ≤ high_score".into());
        }
        Ok(())
    }

    pub fn to_toml(&self) -> Result<String> {
        let body = toml::to_string_pretty(self)
            .map_err(|e| Error::Usage(format!("cannot render the configuration: {e}")))?;
        Ok(format!(
            "# graftscan risk rules (built-in defaults). Edit and pass with --config FILE.\n\
             # Every threshold carries its source; graftscan is decision support, not a diagnosis.\n\n{body}"
        ))
    }

    /// The fraction threshold for a draw `days` after transplant, if any.
    pub fn fraction_threshold(&self, organ: Organ, days: i64) -> Option<&FractionThreshold> {
        self.fraction_threshold
            .iter()
            .filter(|t| t.organ == organ && days > t.after_day)
            .max_by_key(|t| t.after_day)
    }

    pub fn quantity_threshold(&self, organ: Organ) -> Option<&QuantityThreshold> {
        self.quantity_threshold.iter().find(|t| t.organ == organ)
    }
}
