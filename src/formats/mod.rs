//! Input formats. Each reader yields typed values and errors that name the file,
//! line and field (style.md, noodles). Nothing stringly-typed leaves this module.

pub mod alignment;
pub mod allele_table;
pub mod cohort;
pub mod input;
pub mod limits;
pub mod panel;
pub mod sheet;
pub mod site;
pub mod tsv;
pub mod vcf;

pub use allele_table::{AlleleTable, read_allele_table};
pub use site::SiteKey;
