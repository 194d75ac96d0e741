//! Limits of blank and detection per relationship and mode, as written by
//! `graftscan lod --out FILE` (CSV: relationship, mode, replicates,
//! limit_of_blank_pct, limit_of_detection_pct).

use std::path::Path;

use crate::error::{Error, InputError, Result};
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
                    .filter(|x| x.is_finite() && *x >= 0.0)
                    .map(|x| x / 100.0)
                    .ok_or_else(|| err(field, format!("'{raw}' is not a percentage")))
            };
            let limit_of_blank = pct("limit_of_blank_pct", &record[cb])?;
            let limit_of_detection = match &record[cd] {
                "not reached" | "" => None,
                raw => Some(pct("limit_of_detection_pct", raw)?),
            };
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
