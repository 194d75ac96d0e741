//! The dd-cfDNA statistical model (shared/docs/cfdna-model.md): expected allele
//! fractions, donor genotype priors under relatedness, the per-SNP likelihood in
//! each estimation mode, and the estimator (grid, refinement, profile interval,
//! presence test, error and dispersion estimates, QC).

pub mod allele_shift;
pub mod backend;
pub mod contamination;
pub mod detection_limits;
pub mod dispersion;
pub mod error_table;
pub mod estimate;
pub mod frequency;
pub mod genotype_prior;
pub mod kinship;
pub mod lane_math;
pub mod likelihood;
pub mod qc;
pub mod refine;
pub mod relatedness;
pub mod relationship;
pub mod snp_layout;
pub mod two_donor;

pub use likelihood::{EstimationMode, SampleModel, SnpObservation};
pub use relationship::Relationship;
