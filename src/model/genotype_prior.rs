//! Genotype priors: Hardy–Weinberg for an unrelated person, and the donor
//! genotype given the recipient's under identity by descent (cfdna-model.md §2):
//!
//! ```text
//! P(d | r) = κ0 · HWE(d; q) + κ1 · T1(d | r; q) + κ2 · [d = r]
//! ```
//!
//! `q` is the population ALT allele frequency; genotypes are ALT dosages 0, 1, 2.

use super::relationship::Kappa;

/// Hardy–Weinberg genotype probability of ALT dosage `g` at ALT frequency `q`.
pub fn hardy_weinberg(g: u8, q: f64) -> f64 {
    match g {
        0 => (1.0 - q) * (1.0 - q),
        1 => 2.0 * q * (1.0 - q),
        2 => q * q,
        _ => 0.0,
    }
}

/// Donor genotype probability when exactly one allele is shared by descent:
/// the shared allele is one of the recipient's two (each with probability ½),
/// the other is drawn from the population.
pub fn one_allele_shared(d: u8, r: u8, q: f64) -> f64 {
    // Probability that the allele inherited from the recipient is ALT.
    let shared_alt = f64::from(r) / 2.0;
    let shared_ref = 1.0 - shared_alt;
    match d {
        0 => shared_ref * (1.0 - q),
        1 => shared_ref * q + shared_alt * (1.0 - q),
        2 => shared_alt * q,
        _ => 0.0,
    }
}

/// P(donor dosage `d` | recipient dosage `r`, ALT frequency `q`, relationship κ).
pub fn donor_given_recipient(d: u8, r: u8, q: f64, kappa: Kappa) -> f64 {
    let identical = if d == r { 1.0 } else { 0.0 };
    kappa.k0 * hardy_weinberg(d, q) + kappa.k1 * one_allele_shared(d, r, q) + kappa.k2 * identical
}
