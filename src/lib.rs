//! graftscan: donor-derived cell-free DNA fractions and transplant
//! rejection-risk scoring from SNP panel read counts.
//!
//! Layout: `formats` (inputs), `model` (the statistics of
//! shared/docs/cfdna-model.md), `compute` (backends: CPU twins beside the GPU
//! kernels in `shaders/`), `scan` (a batch from sheets to results), `risk`
//! (clinical thresholds), `report` (outputs), `simulate`, `cli`.
//!
//! Decision support, not a medical device.

pub mod cli;
pub mod compute;
pub mod error;
pub mod formats;
pub mod hla;
pub mod model;
pub mod report;
pub mod risk;
pub mod scan;
pub mod simulate;

pub use error::{Error, Result};
