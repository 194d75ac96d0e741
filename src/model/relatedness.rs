//! Relationship check: does the data fit the declared donor–recipient
//! relationship, to catch a mislabelled donor or a sample swap, and to choose
//! one when the relationship was declared unknown.
//!
//! - Both genotypes known: the evidence for an alarm is KING-robust kinship
//!   (`kinship.rs`), which needs no population frequencies. The likelihood over
//!   relationships, ℓ(κ) = Σ_i ln P(d_i | r_i, q_i, κ) (the IBD mixture of
//!   cfdna-model.md §2), is computed only where the frequencies are measured
//!   (a panel or a batch of ≥ 100 people): with pooled or guessed q it makes
//!   people of one ancestry look related. It is used for the κ prior of a
//!   transplant whose relationship was declared unknown, never for an alarm.
//! - Recipient only: the plasma reads carry the donor's alleles, so ℓ(κ) is the
//!   profile log-likelihood max_f ℓ(f; κ) of the recipient-only model, summed
//!   over a transplant's draws with detectable donor DNA. It rests on the
//!   frequencies and on the read model entirely, so it is reported only with
//!   measured frequencies and adequate fits; otherwise "not assessable from
//!   plasma", never an alarm.

use super::dispersion::MoleculeDispersion;
use super::estimate::{fraction_grid, refine_maximum};
use super::frequency::Spectrum;
use super::genotype_prior::donor_given_recipient;
use super::kinship::{Kinship, KinshipDegree, king_robust};
use super::likelihood::{SampleModel, SnpInput};
use super::{EstimationMode, Relationship};

/// Relationships the likelihood compares (half-sibling stands for every κ =
/// (½, ½, 0) relationship: grandparent, avuncular).
pub const CANDIDATES: [Relationship; 5] = [
    Relationship::Unrelated,
    Relationship::ParentChild,
    Relationship::FullSibling,
    Relationship::HalfSibling,
    Relationship::FirstCousin,
];

/// From plasma, a declared relationship is contradicted when the best-supported
/// one beats it by more than this many log-likelihood units (a likelihood
/// ratio > e¹⁰ ≈ 22,000).
pub const CONTRADICTION_LOG_LR: f64 = 10.0;

/// From genotypes, a declared relationship is contradicted when the kinship
/// degree is two or more steps away (unrelated vs first degree, sibling vs
/// unrelated) and φ differs from the declared relationship's expected kinship by
/// more than this many standard errors. Adjacent degrees (first cousin vs
/// unrelated) are within what 1,000 SNPs resolve and never raise an alarm.
pub const CONTRADICTION_Z: f64 = 4.0;

/// An unknown relationship is replaced by the best-supported one only when it
/// beats "unrelated" (the default) by at least this much (a ratio > e² ≈ 7).
pub const ADOPTION_LOG_LR: f64 = 2.0;

/// Plasma draws below this donor fraction are left out of the plasma-based
/// check: each SNP's donor genotype is then barely resolved, and read
/// overdispersion dominates the likelihood ratios. In the demo batch they
/// flagged a true parent–child donor at 0.3% as a sibling.
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
    /// KING-robust kinship (genotype checks).
    pub kinship: Option<Kinship>,
    /// ℓ(κ) per candidate; empty where the frequencies do not support it.
    pub loglik: Vec<(Relationship, f64)>,
    /// The relationship the evidence names; `None` when not assessable.
    pub best: Option<Relationship>,
    /// ℓ(best) − ℓ(second best) of the likelihood, when computed.
    pub margin: f64,
    /// ℓ(likelihood's best) − ℓ(declared's κ); 0 when the declared one is best
    /// or no likelihood was computed.
    pub declared_deficit: f64,
    /// The evidence contradicts the declared relationship: a possible
    /// mislabelled donor or sample swap.
    pub contradicts_declared: bool,
    /// Why no relationship can be named from this evidence.
    pub not_assessable: Option<String>,
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

/// Expected kinship φ = κ1/4 + κ2/2.
fn expected_kinship(r: Relationship) -> f64 {
    let k = r.kappa();
    k.k1 / 4.0 + k.k2 / 2.0
}

/// KING degree rank of a declared relationship (0 duplicate … 4 unrelated).
fn declared_rank(r: Relationship) -> Option<u8> {
    match r {
        Relationship::IdenticalTwin => Some(0),
        Relationship::ParentChild | Relationship::FullSibling => Some(1),
        Relationship::HalfSibling | Relationship::Grandparent | Relationship::Avuncular => Some(2),
        Relationship::FirstCousin => Some(3),
        Relationship::Unrelated => Some(4),
        Relationship::Unknown => None,
    }
}

/// The relationship a kinship degree names.
pub fn relationship_of(degree: KinshipDegree) -> Relationship {
    match degree {
        KinshipDegree::Duplicate => Relationship::IdenticalTwin,
        KinshipDegree::ParentChild => Relationship::ParentChild,
        KinshipDegree::FullSibling => Relationship::FullSibling,
        KinshipDegree::Second => Relationship::HalfSibling,
        KinshipDegree::Third => Relationship::FirstCousin,
        KinshipDegree::Unrelated => Relationship::Unrelated,
    }
}

/// (best, margin, deficit of the declared one) of a likelihood over candidates.
fn rank_loglik(declared: Relationship, loglik: &[(Relationship, f64)]) -> (Relationship, f64, f64) {
    let mut sorted = loglik.to_vec();
    sorted.sort_by(|a, b| b.1.total_cmp(&a.1));
    let margin = sorted[0].1 - sorted.get(1).map(|s| s.1).unwrap_or(f64::NEG_INFINITY);
    let deficit = loglik
        .iter()
        .find(|(r, _)| *r == candidate_for(declared))
        .map(|(_, l)| sorted[0].1 - l)
        .unwrap_or(0.0);
    (sorted[0].0, margin, deficit)
}

/// Genotype-based check from the SNPs where both genotypes are known (in genome
/// order). `frequencies_measured`: whether the SNPs' frequencies support the
/// likelihood over relationships (see the module docs).
pub fn check_genotypes(
    declared: Relationship,
    snps: &[SnpInput],
    frequencies_measured: bool,
) -> Option<RelationshipCheck> {
    let pairs: Vec<(u8, u8)> = snps
        .iter()
        .filter_map(|s| Some((s.recipient?, s.donor?)))
        .collect();
    let kinship = king_robust(&pairs)?;
    let loglik: Vec<(Relationship, f64)> = if frequencies_measured {
        CANDIDATES
            .iter()
            .map(|&rel| {
                let k = rel.kappa();
                let ll = snps
                    .iter()
                    .filter_map(|s| Some((s.recipient?, s.donor?, s.frequency.mean())))
                    .map(|(r, d, q)| donor_given_recipient(d, r, q, k).max(1e-300).ln())
                    .sum();
                (rel, ll)
            })
            .collect()
    } else {
        Vec::new()
    };
    let (margin, declared_deficit) = if loglik.is_empty() {
        (f64::NAN, 0.0)
    } else {
        let (_, m, d) = rank_loglik(declared, &loglik);
        (m, d)
    };
    // Full siblings and second-degree relatives overlap near KING's cut-off
    // (realised sharing varies with linkage: 1–2% of full siblings fall below
    // 0.177 at 1,000 SNPs). Where measured frequencies give a likelihood, it
    // chooses between the two; it never moves a pair across more than that.
    let observed = match kinship.degree {
        KinshipDegree::FullSibling | KinshipDegree::Second if !loglik.is_empty() => loglik
            .iter()
            .filter(|(r, _)| matches!(r, Relationship::FullSibling | Relationship::HalfSibling))
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(r, _)| *r)
            .unwrap_or(relationship_of(kinship.degree)),
        degree => relationship_of(degree),
    };
    let contradicts_declared = match declared_rank(declared) {
        None => false,
        Some(rank) => {
            let steps = rank.abs_diff(declared_rank(observed).unwrap_or(4));
            let z =
                (kinship.phi - expected_kinship(declared)).abs() / kinship.standard_error.max(1e-6);
            let duplicate = kinship.degree == KinshipDegree::Duplicate
                && declared != Relationship::IdenticalTwin;
            duplicate || (steps >= 2 && z > CONTRADICTION_Z)
        }
    };
    Some(RelationshipCheck {
        basis: EvidenceBasis::Genotypes,
        declared,
        kinship: Some(kinship),
        loglik,
        best: Some(observed),
        margin,
        declared_deficit,
        contradicts_declared,
        not_assessable: None,
        evidence_count: pairs.len(),
    })
}

/// max_f ℓ(f; κ) of a recipient-only model at the draw's fitted error rate,
/// read model and SNP weights.
fn profile_max(draw: &PlasmaDraw, rel: Relationship) -> f64 {
    let mut m = SampleModel::from_inputs(
        EstimationMode::RecipientOnly,
        draw.inputs,
        rel.kappa(),
        draw.spectrum,
    );
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
    /// Frequency spectrum of its sites of unknown frequency.
    pub spectrum: Spectrum,
}

/// What the plasma check may rest on: measured frequencies and read-model fits
/// that describe the reads.
#[derive(Debug, Clone)]
pub struct PlasmaEvidence {
    /// `Some(why)` when the frequencies are not measured (guessed, flat, or
    /// from too few people).
    pub frequencies_unmeasured: Option<String>,
    /// `Some(why)` when a draw's read model fits poorly.
    pub poor_fit: Option<String>,
}

/// Plasma-based check over a transplant's draws.
pub fn check_plasma(
    declared: Relationship,
    draws: &[PlasmaDraw],
    evidence: &PlasmaEvidence,
) -> Option<RelationshipCheck> {
    if draws.is_empty() {
        return None;
    }
    let not_assessable = evidence
        .frequencies_unmeasured
        .clone()
        .or_else(|| evidence.poor_fit.clone());
    if let Some(why) = not_assessable {
        return Some(RelationshipCheck {
            basis: EvidenceBasis::PlasmaReads,
            declared,
            kinship: None,
            loglik: Vec::new(),
            best: None,
            margin: f64::NAN,
            declared_deficit: 0.0,
            contradicts_declared: false,
            not_assessable: Some(why),
            evidence_count: draws.len(),
        });
    }
    let loglik: Vec<(Relationship, f64)> = CANDIDATES
        .iter()
        .map(|&rel| {
            let ll = draws.iter().map(|d| profile_max(d, rel)).sum();
            (rel, ll)
        })
        .collect();
    let (best, margin, declared_deficit) = rank_loglik(declared, &loglik);
    Some(RelationshipCheck {
        basis: EvidenceBasis::PlasmaReads,
        declared,
        kinship: None,
        loglik,
        best: Some(best),
        margin,
        declared_deficit,
        contradicts_declared: !matches!(
            declared,
            Relationship::Unknown | Relationship::IdenticalTwin
        ) && declared_deficit > CONTRADICTION_LOG_LR,
        not_assessable: None,
        evidence_count: draws.len(),
    })
}

impl RelationshipCheck {
    /// ℓ(likelihood's best) − ℓ(relationship's κ); NaN without a likelihood.
    pub fn support_over(&self, r: Relationship) -> f64 {
        if self.loglik.is_empty() {
            return f64::NAN;
        }
        let best = self
            .loglik
            .iter()
            .map(|(_, l)| *l)
            .fold(f64::NEG_INFINITY, f64::max);
        let other = self
            .loglik
            .iter()
            .find(|(c, _)| *c == candidate_for(r))
            .map(|(_, l)| *l)
            .unwrap_or(f64::NAN);
        best - other
    }

    /// The relationship to model a transplant declared "unknown" with, when the
    /// evidence names one: from genotypes the kinship degree (refined by the
    /// likelihood within that degree when frequencies are measured); from
    /// plasma the likelihood's best when it beats unrelated by
    /// `ADOPTION_LOG_LR`.
    pub fn adopted_relationship(&self) -> Option<Relationship> {
        let best = self.best?;
        if best == Relationship::Unrelated || best == Relationship::IdenticalTwin {
            return None;
        }
        match self.basis {
            EvidenceBasis::Genotypes => {
                let by_likelihood = self
                    .loglik
                    .iter()
                    .max_by(|a, b| a.1.total_cmp(&b.1))
                    .map(|(r, _)| *r)
                    .filter(|r| declared_rank(*r) == declared_rank(best));
                Some(by_likelihood.unwrap_or(best))
            }
            EvidenceBasis::PlasmaReads => {
                (self.support_over(Relationship::Unrelated) >= ADOPTION_LOG_LR).then_some(best)
            }
        }
    }

    /// One sentence for reports.
    pub fn describe(&self) -> String {
        if let Some(why) = &self.not_assessable {
            return format!("relationship not assessable from plasma: {why}");
        }
        let best = self.best.unwrap_or(Relationship::Unknown);
        match (self.basis, &self.kinship) {
            (EvidenceBasis::Genotypes, Some(k)) => {
                let evidence = format!(
                    "KING-robust kinship φ = {:.3} ± {:.3}, IBS0 {:.2}% over {} SNPs ({})",
                    k.phi,
                    k.standard_error,
                    100.0 * k.ibs0,
                    k.snps,
                    k.degree.as_str()
                );
                if self.contradicts_declared {
                    if k.degree == KinshipDegree::Duplicate {
                        format!(
                            "declared {} contradicted: {evidence} — donor and recipient genotypes come from one person: sample swap or the same file twice?",
                            self.declared
                        )
                    } else {
                        format!(
                            "declared {} contradicted: {evidence} — mislabelled donor or sample swap?",
                            self.declared
                        )
                    }
                } else if self.declared == Relationship::Unknown {
                    match self.adopted_relationship() {
                        Some(r) => format!("relationship unknown: {evidence}; modelled as {r}"),
                        None => format!("relationship unknown: {evidence}; modelled as unrelated"),
                    }
                } else if declared_rank(self.declared) == self.best.and_then(declared_rank) {
                    format!("declared {} agrees with {evidence}", self.declared)
                } else {
                    format!(
                        "declared {} not contradicted: {evidence}; the difference is within what {} SNPs resolve",
                        self.declared, k.snps
                    )
                }
            }
            _ => {
                let basis = format!("plasma reads of {} draw(s)", self.evidence_count);
                if self.contradicts_declared {
                    format!(
                        "declared {} contradicted: {basis} favour {best} by ln LR {:.0} — mislabelled donor or sample swap?",
                        self.declared, self.declared_deficit
                    )
                } else if self.declared == Relationship::Unknown {
                    match self.adopted_relationship() {
                        Some(r) => format!(
                            "relationship unknown: {basis} best support {r} (ln LR {:.1} over unrelated), used for the estimate",
                            self.support_over(Relationship::Unrelated)
                        ),
                        None => format!(
                            "relationship unknown: {basis} do not single one out (best {best}, ln LR {:.1} over the next); modelled as unrelated",
                            self.margin
                        ),
                    }
                } else if candidate_for(self.declared) == best {
                    format!(
                        "declared {} is the best supported by {basis} (ln LR {:.1} over the next)",
                        self.declared, self.margin
                    )
                } else {
                    format!(
                        "declared {} not contradicted by {basis}: {best} fits better by ln LR {:.1}, below the threshold {CONTRADICTION_LOG_LR}",
                        self.declared, self.declared_deficit
                    )
                }
            }
        }
    }
}
