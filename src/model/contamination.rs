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
//!
//! Third-party reads also fall on the SNPs that inform f: where recipient and
//! donor differ they show the donor's allele with probability q. Left out of
//! the model they are read as donor DNA wherever the informative SNPs have
//! higher q than the concordant ones (they do: concordant homozygous sites are
//! enriched for rare alleles). `with_third_party` puts the term into the
//! likelihood as per-site error rates (a read comes from the third person with
//! probability c, and shows ALT with probability q):
//!
//! ```text
//! π_i = (1 − c)·π(p_i, e) + c·π(q_i, e)
//!     = e_ra + (1 − e_ra − e_ar)·p_i,  e_ra = e + c(1 − 2e)·q_i,
//!                                      e_ar = e + c(1 − 2e)·(1 − q_i)
//! ```
//!
//! On the SRP434573 pure runs (../shared) every run carries 0.15–0.7% of
//! other people's reads (index hopping on a patterned flow cell); without
//! the term, two-genome read a pure run as 0.05–0.31% donor DNA against any
//! unrelated person's genotype, and with it as 0–0.25%, the rest being the
//! DNA of the people whose libraries shared the run.

use super::likelihood::SnpInput;

#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct ContaminationEstimate {
    /// Estimated third-party DNA fraction (≥ 0).
    pub fraction: f64,
    /// The error rate the same fit attributes to sequencing.
    pub error_rate: f64,
    /// Concordant homozygous SNPs the estimate rests on.
    pub snps: usize,
    /// Standard error of `fraction`: heteroskedasticity-consistent (White
    /// 1980, Econometrica 48:817–838), as site-specific error rates make the
    /// residuals far wider than binomial.
    pub fraction_se: f64,
    /// Depth-weighted means of x and y: the fitted line passes through them,
    /// so the error rate that goes with another c is `mean_y − c·mean_x`.
    pub mean_x: f64,
    pub mean_y: f64,
}

/// Concordant homozygous SNPs needed to estimate third-party DNA.
pub const MIN_CONTAMINATION_SNPS: usize = 30;

/// The term enters the likelihood only where c exceeds this many standard
/// errors (one-sided 97.5%). A higher bar costs more than it saves: at 3 SEs
/// a 1% third party (1,000 SNPs, 1,500×, SE 0.17–0.4%) was missed in some
/// draws, which then read 0.5% donor DNA ~40% high with a narrow interval;
/// at 1.96, 5 of 240 simulated draws without third-party DNA took the term,
/// their estimates moving by up to 7% within intervals that span c's range.
/// Every SRP434573 draw with third-party DNA is at 4–8 SEs.
pub const THIRD_PARTY_Z: f64 = 1.96;
/// The interval spans c ± this many standard errors (95%).
pub const THIRD_PARTY_INTERVAL_Z: f64 = 1.96;

impl ContaminationEstimate {
    /// Whether c is resolved from zero (`THIRD_PARTY_Z`): only then does the term
    /// enter the likelihood, so that draws without third-party DNA keep the
    /// model they had.
    pub fn resolved(&self) -> bool {
        self.fraction > THIRD_PARTY_Z * self.fraction_se
    }

    /// The error rate on the fitted line at third-party fraction `c`.
    pub fn error_rate_at(&self, c: f64) -> f64 {
        (self.mean_y - c * self.mean_x).max(1e-6)
    }

    /// c at the ends of its 95% interval (floored at 0).
    pub fn bounds(&self) -> [f64; 2] {
        let h = THIRD_PARTY_INTERVAL_Z * self.fraction_se;
        [(self.fraction - h).max(0.0), self.fraction + h]
    }
}

/// The inputs with a third-party fraction `c` in their per-site error rates
/// (module docs). `e` is the symmetric error rate for SNPs without one of
/// their own; a learned table's rates are kept and the third-party share is
/// added to them.
pub fn with_third_party(inputs: &[SnpInput], c: f64, e: f64) -> Vec<SnpInput> {
    inputs
        .iter()
        .map(|s| {
            // ½ where the frequency is unknown (`AltFrequency::mean`).
            let q = s.frequency.mean();
            let [e_ra, e_ar] = s.site_error.unwrap_or([e, e]);
            let share = c * (1.0 - e_ra - e_ar);
            SnpInput {
                site_error: Some([e_ra + share * q, e_ar + share * (1.0 - q)]),
                ..*s
            }
        })
        .collect()
}

/// Needs both genotypes: None when fewer than `min_snps` concordant SNPs with
/// reads exist, or their population frequencies do not vary.
pub fn estimate_contamination(
    inputs: &[SnpInput],
    min_snps: usize,
) -> Option<ContaminationEstimate> {
    let mut points = Vec::new();
    for s in inputs {
        // A site of unknown frequency has no x to regress on.
        if s.depth == 0 || s.frequency == super::frequency::AltFrequency::Unknown {
            continue;
        }
        // SNPs with a genotype missing are skipped, not a reason to give up.
        let (Some(r), Some(d)) = (s.recipient, s.donor) else {
            continue;
        };
        let (x, foreign) = match (r, d) {
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
    let slope = sxy / sxx;
    // White's sandwich for the slope: Σ w²(x − x̄)²r² / Sxx².
    let meat: f64 = points
        .iter()
        .map(|p| {
            let r = p.1 - my - slope * (p.0 - mx);
            (p.2 * (p.0 - mx) * r).powi(2)
        })
        .sum();
    let c = slope.max(0.0);
    let e = (my - c * mx).max(0.0);
    Some(ContaminationEstimate {
        fraction: c,
        error_rate: e,
        snps: points.len(),
        fraction_se: meat.sqrt() / sxx,
        mean_x: mx,
        mean_y: my,
    })
}
