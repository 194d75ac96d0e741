//! Donor–recipient relationships and their identity-by-descent coefficients
//! κ = (κ0, κ1, κ2): the probabilities that the pair shares 0, 1 or 2 alleles by
//! descent at a locus (Thompson 1975; cfdna-model.md §2 table).

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Relationship {
    Unrelated,
    ParentChild,
    FullSibling,
    HalfSibling,
    Grandparent,
    Avuncular,
    FirstCousin,
    IdenticalTwin,
    /// Declared unknown: modelled as unrelated and flagged in QC.
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Kappa {
    pub k0: f64,
    pub k1: f64,
    pub k2: f64,
}

impl Relationship {
    pub const ALL: [Relationship; 9] = [
        Relationship::Unrelated,
        Relationship::ParentChild,
        Relationship::FullSibling,
        Relationship::HalfSibling,
        Relationship::Grandparent,
        Relationship::Avuncular,
        Relationship::FirstCousin,
        Relationship::IdenticalTwin,
        Relationship::Unknown,
    ];

    pub fn kappa(self) -> Kappa {
        let (k0, k1, k2) = match self {
            Relationship::Unrelated | Relationship::Unknown => (1.0, 0.0, 0.0),
            Relationship::ParentChild => (0.0, 1.0, 0.0),
            Relationship::FullSibling => (0.25, 0.5, 0.25),
            Relationship::HalfSibling | Relationship::Grandparent | Relationship::Avuncular => {
                (0.5, 0.5, 0.0)
            }
            Relationship::FirstCousin => (0.75, 0.25, 0.0),
            Relationship::IdenticalTwin => (0.0, 0.0, 1.0),
        };
        Kappa { k0, k1, k2 }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Relationship::Unrelated => "unrelated",
            Relationship::ParentChild => "parent_child",
            Relationship::FullSibling => "full_sibling",
            Relationship::HalfSibling => "half_sibling",
            Relationship::Grandparent => "grandparent",
            Relationship::Avuncular => "avuncular",
            Relationship::FirstCousin => "first_cousin",
            Relationship::IdenticalTwin => "identical_twin",
            Relationship::Unknown => "unknown",
        }
    }

    /// Related donors share alleles, which hides donor DNA at shared sites and
    /// raises the limit of detection: clinical reports flag them.
    pub fn is_related(self) -> bool {
        !matches!(self, Relationship::Unrelated | Relationship::Unknown)
    }
}

impl fmt::Display for Relationship {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Relationship {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let norm = s.trim().to_ascii_lowercase().replace(['-', ' '], "_");
        Relationship::ALL
            .iter()
            .copied()
            .find(|r| r.as_str() == norm)
            .ok_or_else(|| {
                let names: Vec<&str> = Relationship::ALL.iter().map(|r| r.as_str()).collect();
                format!(
                    "unknown relationship '{s}' (expected one of: {})",
                    names.join(", ")
                )
            })
    }
}
