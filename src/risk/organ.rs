//! Organs and their dd-cfDNA fraction thresholds for elevated rejection risk.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Organ {
    Kidney,
    Heart,
    Lung,
    Liver,
    Pancreas,
    Other,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct OrganThreshold {
    /// Fraction (not percent) at or above which the result is elevated.
    pub fraction: f64,
    pub source: &'static str,
}

impl Organ {
    pub const ALL: [Organ; 6] = [
        Organ::Kidney,
        Organ::Heart,
        Organ::Lung,
        Organ::Liver,
        Organ::Pancreas,
        Organ::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Organ::Kidney => "kidney",
            Organ::Heart => "heart",
            Organ::Lung => "lung",
            Organ::Liver => "liver",
            Organ::Pancreas => "pancreas",
            Organ::Other => "other",
        }
    }

    /// The fraction threshold for a sample `days` after transplant, if one is
    /// established for this organ at that time.
    pub fn fraction_threshold(self, days: i64) -> Option<OrganThreshold> {
        match self {
            Organ::Kidney => Some(OrganThreshold {
                fraction: 0.010,
                source: "kidney ≥ 1.0% (AlloSure DART, Bloom et al. JASN 2017)",
            }),
            Organ::Heart => Some(OrganThreshold {
                fraction: 0.0020,
                source: "heart ≥ 0.20% (Khush et al. AJT 2019; Kim et al. 2022)",
            }),
            Organ::Lung => Some(OrganThreshold {
                fraction: 0.0085,
                source: "lung ≥ 0.85% (Khush et al. AJT 2021)",
            }),
            // No single cut-off; > 10% after day 10 is abnormal (Schütz et al.
            // PLoS Med 2017). Earlier values are not interpretable.
            Organ::Liver if days > 10 => Some(OrganThreshold {
                fraction: 0.10,
                source: "liver > 10% after day 10 (Schütz et al. PLoS Med 2017)",
            }),
            Organ::Liver | Organ::Pancreas | Organ::Other => None,
        }
    }
}

impl fmt::Display for Organ {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Organ {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let norm = s.trim().to_ascii_lowercase();
        Organ::ALL
            .iter()
            .copied()
            .find(|o| o.as_str() == norm)
            .ok_or_else(|| {
                format!(
                    "unknown organ '{s}' (expected kidney, heart, lung, liver, pancreas or other)"
                )
            })
    }
}

/// Genome equivalents per ng of human DNA: 3.3 pg per haploid genome → ~303 GE/ng.
pub const GENOME_EQUIVALENTS_PER_NG: f64 = 1000.0 / 3.3;
