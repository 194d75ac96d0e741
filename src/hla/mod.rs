//! HLA matching (shared/docs/hla-matching.md): nomenclature and GL Strings,
//! typings, a user-supplied IPD-IMGT/HLA release (serology, groups, protein
//! alignments), antigen/allele mismatch, amino-acid mismatch, eplet loads with
//! the Wiebe DR/DQ categories, donor-specific antibodies, per-transplant
//! assessments and donor-pool screening.
//!
//! graftscan commits no IPD-IMGT/HLA data (CC BY-ND). Cite with any use:
//! Barker DJ et al., Nucleic Acids Res 2023;51:D948-D955; Robinson J et al.,
//! HLA 2024;103:e15549.

pub mod alignment;
pub mod amino_acids;
pub mod antibodies;
pub mod eplets;
pub mod gl_string;
pub mod mismatch;
pub mod nomenclature;
pub mod release;
pub mod screen;
pub mod transplant;
pub mod typing;
