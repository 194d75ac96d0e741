//! Organs and their dd-cfDNA fraction thresholds for elevated rejection risk.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Organ {
    Kidney,
    Heart,
    Lung,
    Liver,
    Pancreas,
    Other,
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
