//! Risk rules as data: every threshold with its source, loaded from TOML
//! (`--config FILE`); `graftscan config --defaults` writes the built-in set.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, InputError, Result};
use crate::formats::input::{FirstSeen, check_input_file, check_text_encoding};
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

/// Day counts in the rules (early window, threshold start): ten years.
const MAX_DAYS: i64 = 3650;

/// One step of a path into the TOML document.
#[derive(Debug, Clone, Copy)]
enum TomlKey<'a> {
    Key(&'a str),
    Item(usize),
}

fn dotted(keys: &[TomlKey]) -> String {
    let mut out = String::new();
    for k in keys {
        match k {
            TomlKey::Key(n) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(n);
            }
            TomlKey::Item(i) => out.push_str(&format!("[{}]", i + 1)),
        }
    }
    out
}

/// 1-based line of a byte offset.
fn line_at(text: &str, offset: usize) -> u64 {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count() as u64
        + 1
}

/// Line of the value at `keys`, from the spans of toml's document parser.
fn toml_line(text: &str, keys: &[TomlKey]) -> Option<u64> {
    let root = toml::de::DeTable::parse(text).ok()?;
    let top = toml::de::DeValue::Table(root.into_inner());
    let mut value = &top;
    let mut start = 0;
    for k in keys {
        let next = match k {
            TomlKey::Key(n) => value.get(*n)?,
            TomlKey::Item(i) => value.get(*i)?,
        };
        start = next.span().start;
        value = next.get_ref();
    }
    Some(line_at(text, start))
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
        check_input_file(path)?;
        check_text_encoding(path)?;
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let cfg: RiskConfig = toml::from_str(&text).map_err(|e| {
            let mut err = InputError::new(path, e.message().to_string());
            if let Some(span) = e.span() {
                err = err.at_line(line_at(&text, span.start));
            }
            Error::from(err)
        })?;
        cfg.validate(path, &text)?;
        Ok(cfg)
    }

    /// Every number in its domain, each error with the TOML line and key: a
    /// NaN CV prints "+NaN%", an infinite copies/mL hangs the trend plot, a
    /// negative early window makes a day-5 draw interpretable.
    fn validate(&self, path: &Path, text: &str) -> Result<()> {
        use TomlKey::{Item, Key};
        let bad = |keys: &[TomlKey], m: String| -> Result<()> {
            let mut err = InputError::new(path, m).in_field(dotted(keys));
            if let Some(line) = toml_line(text, keys) {
                err = err.at_line(line);
            }
            Err(Error::from(err))
        };
        let finite_in = |x: f64, lo: f64, hi: f64| x.is_finite() && x >= lo && x <= hi;
        if !(0..=MAX_DAYS).contains(&self.early_window_days) {
            return bad(
                &[Key("early_window_days")],
                format!(
                    "{} is not a number of days in 0..={MAX_DAYS}",
                    self.early_window_days
                ),
            );
        }
        // 1 ng of human DNA holds 303 haploid genomes (3.3 pg each).
        if !(self.genome_equivalents_per_ng > 0.0 && self.genome_equivalents_per_ng <= 1000.0) {
            return bad(
                &[Key("genome_equivalents_per_ng")],
                format!(
                    "{} is not in (0, 1000] (1 ng of human DNA is 303 haploid genomes)",
                    self.genome_equivalents_per_ng
                ),
            );
        }
        let mut fraction_keys = FirstSeen::default();
        for (i, t) in self.fraction_threshold.iter().enumerate() {
            let here = |k| [Key("fraction_threshold"), Item(i), Key(k)];
            if !(t.percent > 0.0 && t.percent < 100.0) {
                return bad(
                    &here("percent"),
                    format!(
                        "fraction_threshold for {}: percent {} must be in (0, 100)",
                        t.organ, t.percent
                    ),
                );
            }
            if !(-1..=MAX_DAYS).contains(&t.after_day) {
                return bad(
                    &here("after_day"),
                    format!(
                        "fraction_threshold for {}: after_day {} must be in -1..={MAX_DAYS}",
                        t.organ, t.after_day
                    ),
                );
            }
            if let Err(first) = fraction_keys.insert((t.organ, t.after_day), i as u64) {
                return bad(
                    &here("organ"),
                    format!(
                        "a second fraction_threshold for {} after day {} (the first is entry {}); one per organ and day",
                        t.organ,
                        t.after_day,
                        first + 1
                    ),
                );
            }
        }
        let mut quantity_keys = FirstSeen::default();
        for (i, t) in self.quantity_threshold.iter().enumerate() {
            let here = |k| [Key("quantity_threshold"), Item(i), Key(k)];
            if !(t.copies_per_ml > 0.0 && t.copies_per_ml.is_finite()) {
                return bad(
                    &here("copies_per_ml"),
                    format!(
                        "quantity_threshold for {}: copies_per_ml {} must be a finite number > 0",
                        t.organ, t.copies_per_ml
                    ),
                );
            }
            if let Err(first) = quantity_keys.insert(t.organ, i as u64) {
                return bad(
                    &here("organ"),
                    format!(
                        "a second quantity_threshold for {} (the first is entry {})",
                        t.organ,
                        first + 1
                    ),
                );
            }
        }
        for (key, v) in [
            ("analytical_cv_pct", self.rcv.analytical_cv_pct),
            ("within_person_cv_pct", self.rcv.within_person_cv_pct),
        ] {
            if !finite_in(v, 0.0, 1000.0) {
                return bad(
                    &[Key("rcv"), Key(key)],
                    format!("rcv: {key} {v} must be in [0, 1000]"),
                );
            }
        }
        if !(self.rcv.z > 0.0 && self.rcv.z <= 10.0) {
            return bad(
                &[Key("rcv"), Key("z")],
                format!("rcv: z {} must be in (0, 10]", self.rcv.z),
            );
        }
        if !finite_in(self.levels.marked_elevation_multiple, 1.0, 1000.0) {
            return bad(
                &[Key("levels"), Key("marked_elevation_multiple")],
                format!(
                    "levels: marked_elevation_multiple {} must be in [1, 1000]",
                    self.levels.marked_elevation_multiple
                ),
            );
        }
        if self.levels.high_score < self.levels.moderate_score || self.levels.moderate_score == 0 {
            return bad(
                &[Key("levels"), Key("moderate_score")],
                "levels: need 0 < moderate_score ≤ high_score".into(),
            );
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
