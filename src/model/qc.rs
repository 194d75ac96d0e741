//! Sample quality verdicts (cfdna-model.md §4): PASS, REVIEW or FAIL, always with
//! the reasons that produced them. Thresholds are parameters recorded in run.json.

use super::estimate::FractionEstimate;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum QcVerdict {
    Pass,
    Review,
    Fail,
}

impl QcVerdict {
    pub fn as_str(self) -> &'static str {
        match self {
            QcVerdict::Pass => "PASS",
            QcVerdict::Review => "REVIEW",
            QcVerdict::Fail => "FAIL",
        }
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct QcThresholds {
    pub min_informative_snps_fail: usize,
    pub min_informative_snps_review: usize,
    pub min_mean_depth_fail: f64,
    pub min_mean_depth_review: f64,
    pub max_error_rate_review: f64,
    /// Pearson χ²/df above this in either SNP group means the binomial model fits
    /// poorly: intervals were widened, and a person should look.
    pub max_dispersion_review: f64,
    pub max_low_depth_fraction_review: f64,
    /// Above this donor fraction the estimate is outside the range the assay is
    /// validated for (donor-dominant plasma or a sample swap).
    pub upper_limit_of_quantitation: f64,
    /// Third-party DNA fraction above which a sample needs review.
    pub max_contamination_review: f64,
}

impl Default for QcThresholds {
    fn default() -> Self {
        QcThresholds {
            min_informative_snps_fail: 10,
            min_informative_snps_review: 50,
            min_mean_depth_fail: 10.0,
            min_mean_depth_review: 50.0,
            max_error_rate_review: 0.01,
            max_dispersion_review: 5.0,
            max_low_depth_fraction_review: 0.25,
            upper_limit_of_quantitation: 0.5,
            max_contamination_review: 0.005,
        }
    }
}

/// Per-sample SNP accounting, reported beside the estimate.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct SnpAccounting {
    /// Sites in the counts with a biallelic SNP and depth > 0 entering the model.
    pub snps_used: usize,
    /// SNPs that can show donor DNA: r ≠ d (two-genome), recipient homozygous
    /// (recipient-only), or all used SNPs (genotype-free).
    pub informative_snps: usize,
    pub recipient_homozygous_snps: usize,
    pub recipient_heterozygous_snps: usize,
    pub zero_depth_snps: usize,
    /// Count sites that had no genotype to join with: counted, never silently dropped.
    pub sites_without_genotype: usize,
    /// Sites whose donor genotype was missing in two-genome mode (marginalised).
    pub donor_genotype_missing: usize,
    pub non_snp_sites: usize,
    pub mean_depth: f64,
    pub low_depth_fraction: f64,
}

pub fn assess(
    snps: &SnpAccounting,
    estimate: &FractionEstimate,
    t: &QcThresholds,
) -> (QcVerdict, Vec<String>) {
    let mut fail = Vec::new();
    let mut review = Vec::new();
    if snps.snps_used == 0 {
        fail.push("no SNP with reads joined to the genotypes".to_string());
    }
    if snps.informative_snps < t.min_informative_snps_fail {
        fail.push(format!(
            "{} informative SNPs < {}",
            snps.informative_snps, t.min_informative_snps_fail
        ));
    } else if snps.informative_snps < t.min_informative_snps_review {
        review.push(format!(
            "{} informative SNPs < {}",
            snps.informative_snps, t.min_informative_snps_review
        ));
    }
    if snps.snps_used > 0 {
        if snps.mean_depth < t.min_mean_depth_fail {
            fail.push(format!(
                "mean depth {:.0} < {}",
                snps.mean_depth, t.min_mean_depth_fail
            ));
        } else if snps.mean_depth < t.min_mean_depth_review {
            review.push(format!(
                "mean depth {:.0} < {}",
                snps.mean_depth, t.min_mean_depth_review
            ));
        }
    }
    if estimate.error_rate > t.max_error_rate_review {
        review.push(format!(
            "error rate {:.4} > {}",
            estimate.error_rate, t.max_error_rate_review
        ));
    }
    let worst_phi = estimate
        .dispersion
        .iter()
        .copied()
        .filter(|p| p.is_finite())
        .fold(f64::NAN, f64::max);
    if worst_phi > t.max_dispersion_review {
        let model = if estimate.molecular.is_some() {
            "beta-binomial"
        } else {
            "binomial"
        };
        review.push(format!(
            "poor {model} fit: dispersion {:.1} > {} (interval widened)",
            worst_phi, t.max_dispersion_review
        ));
    }
    if snps.low_depth_fraction > t.max_low_depth_fraction_review {
        review.push(format!(
            "{:.0}% of SNPs below 0.2× mean depth",
            100.0 * snps.low_depth_fraction
        ));
    }
    if estimate.donor_fraction > t.upper_limit_of_quantitation {
        review.push(format!(
            "donor fraction {:.1}% above the upper limit of quantitation {:.0}%",
            100.0 * estimate.donor_fraction,
            100.0 * t.upper_limit_of_quantitation
        ));
    }
    if estimate.ci_high_at_search_limit {
        review.push("interval reaches the search limit".to_string());
    }
    if !fail.is_empty() {
        fail.extend(review);
        (QcVerdict::Fail, fail)
    } else if !review.is_empty() {
        (QcVerdict::Review, review)
    } else {
        (QcVerdict::Pass, Vec::new())
    }
}
