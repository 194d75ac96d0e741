//! Limits of blank and detection per relationship and mode, as written by
//! `graftscan lod --out FILE` (CSV: relationship, mode, replicates,
//! limit_of_blank_pct, limit_of_detection_pct).

use std::path::Path;

use crate::error::{Error, InputError, Result};
use crate::formats::input::FirstSeen;
use crate::formats::sheet::CsvTable;
use crate::model::{EstimationMode, Relationship};

#[derive(Debug, Clone)]
pub struct LimitRow {
    pub relationship: Relationship,
    pub mode: EstimationMode,
    /// Fractions, not percent.
    pub limit_of_blank: f64,
    pub limit_of_detection: Option<f64>,
}

#[derive(Debug, Clone, Default)]
pub struct DetectionLimitTable {
    pub rows: Vec<LimitRow>,
}

impl DetectionLimitTable {
    pub fn read(path: &Path) -> Result<DetectionLimitTable> {
        let table = CsvTable::read(path, None)?;
        let (ci, cm, cb, cd) = (
            table.require("relationship")?,
            table.require("mode")?,
            table.require("limit_of_blank_pct")?,
            table.require("limit_of_detection_pct")?,
        );
        let mut rows = Vec::new();
        // Rows are looked up by κ: two rows of one κ and mode (half_sibling and
        // grandparent, say) would leave the choice to the row order.
        let mut seen = FirstSeen::default();
        for (line, record) in &table.rows {
            let line = *line;
            let err = |field: &str, m: String| {
                Error::from(InputError::new(path, m).at_line(line).in_field(field))
            };
            let relationship: Relationship =
                record[ci].parse().map_err(|m| err("relationship", m))?;
            let mode = match &record[cm] {
                "two_genome" => EstimationMode::TwoGenome,
                "recipient_only" => EstimationMode::RecipientOnly,
                "genotype_free" => EstimationMode::GenotypeFree,
                other => return Err(err("mode", format!("unknown mode '{other}'"))),
            };
            let pct = |field: &str, raw: &str| -> Result<f64> {
                raw.parse::<f64>()
                    .ok()
                    .filter(|x| (0.0..=100.0).contains(x))
                    .map(|x| x / 100.0)
                    .ok_or_else(|| err(field, format!("'{raw}' is not a percentage in [0, 100]")))
            };
            let limit_of_blank = pct("limit_of_blank_pct", &record[cb])?;
            let limit_of_detection = match &record[cd] {
                "not reached" | "" => None,
                raw => Some(pct("limit_of_detection_pct", raw)?),
            };
            // CLSI EP17-A2: LoD = LoB + 1.645 σ of a low-level sample, so LoD ≥ LoB.
            if let Some(lod) = limit_of_detection
                && lod < limit_of_blank
            {
                return Err(err(
                    "limit_of_detection_pct",
                    format!(
                        "limit of detection {} % is below the limit of blank {} % (CLSI EP17: LoD ≥ LoB)",
                        &record[cd], &record[cb]
                    ),
                ));
            }
            let kappa = relationship.kappa();
            let key = ([kappa.k0, kappa.k1, kappa.k2].map(f64::to_bits), mode);
            if let Err(first) = seen.insert(key, line) {
                return Err(err(
                    "relationship",
                    format!(
                        "{relationship}, {} repeats line {first} (same relationship coefficients and mode)",
                        mode.as_str()
                    ),
                ));
            }
            rows.push(LimitRow {
                relationship,
                mode,
                limit_of_blank,
                limit_of_detection,
            });
        }
        Ok(DetectionLimitTable { rows })
    }

    /// The row for a relationship (matched by its IBD coefficients, so a
    /// grandparent uses a half-sibling row) and mode.
    pub fn lookup(&self, relationship: Relationship, mode: EstimationMode) -> Option<&LimitRow> {
        let k = relationship.kappa();
        self.rows
            .iter()
            .find(|r| r.mode == mode && r.relationship.kappa() == k)
    }
}
