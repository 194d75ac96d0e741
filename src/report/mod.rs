//! Outputs: samples.csv, transplants.csv, run.json and the stderr summary, all
//! assembled in memory and then written atomically.

pub mod hla;
pub mod html;
pub mod output;
pub mod plots;
pub mod run_record;
pub mod tables;

pub use output::OutputSet;
