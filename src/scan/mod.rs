//! A batch scan: read the sheets, load every genotype and count file once, join
//! sites, build one likelihood model per sample, estimate through a compute
//! backend, and assemble per-sample and per-transplant results.

pub mod checks;
pub mod hla;
pub mod load;
pub mod results;
pub mod stream;

pub use load::{Batch, load_batch};
pub use results::{SampleResult, ScanOutcome, TransplantSummary, run_scan};

/// Decision-support statement carried by every report.
pub const DISCLAIMER: &str = "graftscan is decision support, not a medical device and not a diagnosis: \
results must be interpreted by qualified clinicians together with biopsy, \
clinical and laboratory findings.";
