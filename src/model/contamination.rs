//! Contamination: DNA from a third person shows as alleles that neither the
//! recipient nor the donor carries. At SNPs where both are homozygous for the
//! same allele, the other allele's read fraction is
//!
//! ```text
//! y_i = e + c · x_i,   x_i = q_i (both 0/0) or 1 − q_i (both 1/1)
//! ```
//!
//! for a contaminating fraction c from an unrelated person (their allele is
//! drawn from the population, frequency q_i) and a sequencing error e that
//! does not depend on q. Error alone gives no slope in q; contamination does.
//! c and e come from depth-weighted least squares over those SNPs.

use super::likelihood::SnpInput;

#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct ContaminationEstimate {
    /// Estimated third-party DNA fraction (≥ 0).
    pub fraction: f64,
    /// The error rate the same fit attributes to sequencing.
    pub error_rate: f64,
    /// Concordant homozygous SNPs the estimate rests on.
    pub snps: usize,
}

/// Needs both genotypes: None when fewer than `min_snps` concordant SNPs with
/// reads exist, or their population frequencies do not vary.
pub fn estimate_contamination(
    inputs: &[SnpInput],
    min_snps: usize,
) -> Option<ContaminationEstimate> {
    let mut points = Vec::new();
    for s in inputs {
        if s.depth == 0 {
            continue;
        }
        let (x, foreign) = match (s.recipient?, s.donor?) {
            (0, 0) => (s.frequency.mean(), s.alt),
            (2, 2) => (1.0 - s.frequency.mean(), s.depth - s.alt),
            _ => continue,
        };
        let n = f64::from(s.depth);
        points.push((x, f64::from(foreign) / n, n));
    }
    if points.len() < min_snps {
        return None;
    }
    let w: f64 = points.iter().map(|p| p.2).sum();
    let mx = points.iter().map(|p| p.2 * p.0).sum::<f64>() / w;
    let my = points.iter().map(|p| p.2 * p.1).sum::<f64>() / w;
    let sxx: f64 = points.iter().map(|p| p.2 * (p.0 - mx).powi(2)).sum();
    if sxx <= 1e-12 * w {
        return None;
    }
    let sxy: f64 = points.iter().map(|p| p.2 * (p.0 - mx) * (p.1 - my)).sum();
    let c = (sxy / sxx).max(0.0);
    let e = (my - c * mx).max(0.0);
    Some(ContaminationEstimate {
        fraction: c,
        error_rate: e,
        snps: points.len(),
    })
}
