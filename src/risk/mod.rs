//! Clinical translation (cfdna-model.md §5): organ thresholds, absolute quantity,
//! serial change against the reference change value, and how the findings
//! combine into a per-transplant level, every step with its reasons in words.

pub mod config;
pub mod immunology;
pub mod organ;
pub mod rules;

pub use config::RiskConfig;
pub use organ::Organ;
pub use rules::{
    ImmunologicalFindings, RiskAssessment, RiskLevel, SampleRisk, TransplantRisk, assess,
};
