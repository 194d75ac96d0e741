//! Relationship check: how well each donor–recipient relationship explains the
//! data, to catch a mislabelled donor or a sample swap, and to choose one when
//! the relationship was declared unknown.
//!
//! - Both genotypes known: ℓ(κ) = Σ_i ln P(d_i | r_i, q_i, κ) over SNPs
//!   (the IBD mixture of cfdna-model.md §2).
//! - Recipient only: the plasma reads carry the donor's alleles, so ℓ(κ) is the
//!   profile log-likelihood max_f ℓ(f; κ) of the recipient-only model, summed
//!   over a transplant's draws with detectable donor DNA.

use super::dispersion::MoleculeDispersion;
use super::estimate::{fraction_grid, refine_maximum};
use super::genotype_prior::donor_given_recipient;
use super::likelihood::{SampleModel, SnpInput};
use super::{EstimationMode, Relationship};

/// Relationships the check distinguishes (half-sibling stands for every κ =
/// (½, ½, 0) relationship: grandparent, avuncular).
pub const CANDIDATES: [Relationship; 5] = [
    Relationship::Unrelated,
    Relationship::ParentChild,
    Relationship::FullSibling,
    Relationship::HalfSibling,
    Relationship::FirstCousin,
];

/// A declared relationship is contradicted when the best-supported one beats it
/// by more than this many log-likelihood units (a likelihood ratio > e¹⁰ ≈ 22,000).
pub const CONTRADICTION_LOG_LR: f64 = 10.0;

/// An unknown relationship is replaced by the best-supported one only when it
/// beats "unrelated" (the default) by at least this much (a ratio > e² ≈ 7).
pub const ADOPTION_LOG_LR: f64 = 2.0;

/// Plasma draws below this donor fraction are left out of the plasma-based
/// check: each SNP's donor genotype is then barely resolved, and read
/// overdispersion the binomial does not model (finite molecules) dominates the
/// likelihood ratios. In the demo batch they flagged a true parent–child donor
/// at 0.3% as a sibling.
pub const MIN_PLASMA_FRACTION: f64 = 0.01;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceBasis {
    Genotypes,
    PlasmaReads,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct RelationshipCheck {
    pub basis: EvidenceBasis,
    pub declared: Relationship,
    /// ℓ(κ) per candidate.
    pub loglik: Vec<(Relationship, f64)>,
    pub best: Relationship,
    /// ℓ(best) − ℓ(second best).
    pub margin: f64,
    /// ℓ(best) − ℓ(declared's κ); 0 when the declared one is best.
    pub declared_deficit: f64,
    pub contradicts_declared: bool,
    /// SNPs (genotypes) or draws (plasma) the evidence rests on.
    pub evidence_count: usize,
}

/// Canonical candidate with the same κ as `r` (grandparent → half-sibling).
fn candidate_for(r: Relationship) -> Relationship {
    match r {
        Relationship::Grandparent | Relationship::Avuncular => Relationship::HalfSibling,
        Relationship::Unknown => Relationship::Unrelated,
        other => other,
    }
}

fn summarise(
    basis: EvidenceBasis,
    declared: Relationship,
    loglik: Vec<(Relationship, f64)>,
    evidence_count: usize,
) -> RelationshipCheck {
    let mut sorted = loglik.clone();
    sorted.sort_by(|a, b| b.1.total_cmp(&a.1));
    let best = sorted[0].0;
    let margin = sorted[0].1 - sorted.get(1).map(|s| s.1).unwrap_or(f64::NEG_INFINITY);
    let declared_ll = loglik
        .iter()
        .find(|(r, _)| *r == candidate_for(declared))
        .map(|(_, l)| *l);
    let declared_deficit = declared_ll.map(|l| sorted[0].1 - l).unwrap_or(0.0);
    RelationshipCheck {
        basis,
        declared,
        loglik,
        best,
        margin,
        declared_deficit,
        contradicts_declared: declared != Relationship::Unknown
            && declared != Relationship::IdenticalTwin
            && declared_deficit > CONTRADICTION_LOG_LR,
        evidence_count,
    }
}

/// Genotype-based check from the SNPs where both genotypes are known.
pub fn check_genotypes(declared: Relationship, snps: &[SnpInput]) -> Option<RelationshipCheck> {
    let pairs: Vec<(u8, u8, f64)> = snps
        .iter()
        .filter_map(|s| Some((s.recipient?, s.donor?, s.alt_frequency)))
        .collect();
    if pairs.len() < 50 {
        return None;
    }
    let loglik = CANDIDATES
        .iter()
        .map(|&rel| {
            let k = rel.kappa();
            let ll = pairs
                .iter()
                .map(|&(r, d, q)| donor_given_recipient(d, r, q, k).max(1e-300).ln())
                .sum();
            (rel, ll)
        })
        .collect();
    Some(summarise(
        EvidenceBasis::Genotypes,
        declared,
        loglik,
        pairs.len(),
    ))
}

/// max_f ℓ(f; κ) of a recipient-only model at the draw's fitted error rate,
/// read model and SNP weights.
fn profile_max(draw: &PlasmaDraw, rel: Relationship) -> f64 {
    let mut m = SampleModel::from_inputs(EstimationMode::RecipientOnly, draw.inputs, rel.kappa());
    m.error_rate = draw.error_rate;
    m.molecular = draw.molecular;
    for (snp, w) in m.snps.iter_mut().zip(draw.weights) {
        snp.weight = *w;
    }
    let grid = fraction_grid(m.max_fraction, 120, 1e-5);
    let values: Vec<f64> = grid
        .iter()
        .map(|&f| m.loglik_with(&m.table(f, draw.error_rate)))
        .collect();
    refine_maximum(&m, &grid, &values).1
}

/// One draw's contribution to the plasma-based check: its SNPs with the donor
/// genotype unknown, the fitted error rate and the SNP weights of its fit.
pub struct PlasmaDraw<'a> {
    pub inputs: &'a [SnpInput],
    pub error_rate: f64,
    pub weights: &'a [f64],
    /// The draw's beta-binomial dispersions, when it was fitted with them.
    pub molecular: Option<MoleculeDispersion>,
}

/// Plasma-based check over a transplant's draws.
pub fn check_plasma(declared: Relationship, draws: &[PlasmaDraw]) -> Option<RelationshipCheck> {
    if draws.is_empty() {
        return None;
    }
    let loglik = CANDIDATES
        .iter()
        .map(|&rel| {
            let ll = draws.iter().map(|d| profile_max(d, rel)).sum();
            (rel, ll)
        })
        .collect();
    Some(summarise(
        EvidenceBasis::PlasmaReads,
        declared,
        loglik,
        draws.len(),
    ))
}

impl RelationshipCheck {
    /// ℓ(best) − ℓ(relationship's κ).
    pub fn support_over(&self, r: Relationship) -> f64 {
        let best = self
            .loglik
            .iter()
            .find(|(c, _)| *c == self.best)
            .map(|(_, l)| *l)
            .unwrap_or(f64::NAN);
        let other = self
            .loglik
            .iter()
            .find(|(c, _)| *c == candidate_for(r))
            .map(|(_, l)| *l)
            .unwrap_or(f64::NAN);
        best - other
    }

    /// One sentence for reports.
    pub fn describe(&self) -> String {
        let basis = match self.basis {
            EvidenceBasis::Genotypes => format!("{} SNP genotypes", self.evidence_count),
            EvidenceBasis::PlasmaReads => {
                format!("plasma reads of {} draw(s)", self.evidence_count)
            }
        };
        if self.contradicts_declared {
            format!(
                "declared {} contradicted: {basis} favour {} by ln LR {:.0} — mislabelled donor or sample swap?",
                self.declared, self.best, self.declared_deficit
            )
        } else if self.declared == Relationship::Unknown {
            let over = self.support_over(Relationship::Unrelated);
            if self.best != Relationship::Unrelated && over >= ADOPTION_LOG_LR {
                format!(
                    "relationship unknown: {basis} best support {} (ln LR {over:.1} over unrelated), used for the estimate",
                    self.best
                )
            } else {
                format!(
                    "relationship unknown: {basis} do not single one out (best {}, ln LR {:.1} over the next); modelled as unrelated",
                    self.best, self.margin
                )
            }
        } else if candidate_for(self.declared) == self.best {
            format!(
                "declared {} is the best supported by {basis} (ln LR {:.1} over the next)",
                self.declared, self.margin
            )
        } else {
            format!(
                "declared {} not contradicted by {basis}: {} fits better by ln LR {:.1}, below the threshold {CONTRADICTION_LOG_LR}",
                self.declared, self.best, self.declared_deficit
            )
        }
    }
}
