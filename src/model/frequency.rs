//! Population allele frequencies as data, not constants (cfdna-model.md §7).
//!
//! A frequency known from AC ALT alleles out of AN carries a Beta posterior on
//! q, `Beta(AC + ½, AN − AC + ½)` (Jeffreys prior). Integrating Hardy–Weinberg
//! over it gives a genotype prior whose spread honestly reflects how well q is
//! known: with AN = 10,000 it is HWE(q); with AN = 20 it is much wider, and a
//! likelihood marginalising the donor genotype over it widens its interval
//! instead of being biased by a noisy q.
//!
//! With no frequency at all a site's q is an unknown drawn from the panel's
//! *spectrum*: a symmetric `Beta(a, a)` across sites, whose spread `a` the
//! recipient's own genotypes tell (the share of heterozygous sites is
//! a/(2a + 1)). The donor's genotype at a site then depends on the recipient's
//! through q: a recipient homozygous REF makes a low q likelier, so the donor
//! carries fewer ALT alleles than q = ½ suggests (for a spectrum uniform on
//! [0.2, 0.8], E[q | r = 0] ≈ 0.39, not 0.5 — the 0.7–0.8× under-read that
//! flat frequencies gave on SRP434573). Such sites use the posterior predictive
//! given the recipient's two alleles (a Pólya urn); `a → ∞` is q = ½ exactly.

use super::genotype_prior::{hardy_weinberg, one_allele_shared};
use super::relationship::Kappa;

/// What is known about one site's population ALT frequency.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub enum AltFrequency {
    /// Taken as exact: a panel AF without a sample size, INFO/AF.
    Exact(f64),
    /// `alt` ALT alleles counted among `total` (a panel's AC/AN, or the batch's
    /// genotypes): Beta(alt + ½, total − alt + ½).
    Counted { alt: f64, total: f64 },
    /// Nothing known: drawn from the sample's frequency spectrum (`Spectrum`).
    Unknown,
}

/// Smallest and largest exact frequency used: an exact 0 would make a donor
/// allele impossible.
pub const EXACT_FREQUENCY_FLOOR: f64 = 0.005;

impl AltFrequency {
    pub fn counted(alt: f64, total: f64) -> AltFrequency {
        AltFrequency::Counted { alt, total }
    }

    /// Point value of q (the posterior mean; ½ when unknown).
    pub fn mean(self) -> f64 {
        match self {
            AltFrequency::Exact(q) => q,
            AltFrequency::Counted { alt, total } => (alt + 0.5) / (total + 1.0),
            AltFrequency::Unknown => 0.5,
        }
    }

    /// Alleles behind the value: `None` when taken as exact or unknown.
    pub fn alleles(self) -> Option<f64> {
        match self {
            AltFrequency::Counted { total, .. } => Some(total),
            _ => None,
        }
    }

    /// The Beta posterior (α, β) of q, or `None` for an exact q. Unknown sites
    /// take the spectrum's Beta(a, a); an infinite `a` means q = ½ exactly.
    fn beta(self, spectrum: Spectrum) -> BetaOrExact {
        match self {
            AltFrequency::Exact(q) => {
                BetaOrExact::Exact(q.clamp(EXACT_FREQUENCY_FLOOR, 1.0 - EXACT_FREQUENCY_FLOOR))
            }
            AltFrequency::Counted { alt, total } => BetaOrExact::Beta {
                alpha: alt + 0.5,
                beta: (total - alt).max(0.0) + 0.5,
            },
            AltFrequency::Unknown => match spectrum.concentration {
                Some(a) => BetaOrExact::Beta { alpha: a, beta: a },
                None => BetaOrExact::Exact(0.5),
            },
        }
    }
}

/// The spread of ALT frequencies across sites whose frequency is unknown: a
/// symmetric Beta(a, a). `None` = every such q is ½ (the flat guess).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Spectrum {
    pub concentration: Option<f64>,
}

impl Spectrum {
    pub const FLAT: Spectrum = Spectrum {
        concentration: None,
    };

    pub fn symmetric(a: f64) -> Spectrum {
        Spectrum {
            concentration: Some(a),
        }
    }

    /// The spectrum whose heterozygous share a/(2a + 1) equals `het_share`:
    /// a = h / (1 − 2h). A share of ½ or more (possible only for a selected
    /// site list) leaves nothing to fit: flat.
    pub fn from_heterozygous_share(het_share: f64) -> Spectrum {
        if het_share.is_nan() || het_share <= 0.0 || het_share >= 0.5 {
            return Spectrum::FLAT;
        }
        let a = het_share / (1.0 - 2.0 * het_share);
        Spectrum::symmetric(a.clamp(MIN_SPECTRUM_CONCENTRATION, MAX_SPECTRUM_CONCENTRATION))
    }

    pub fn describe(self) -> String {
        match self.concentration {
            None => "q = 0.5 at every site".into(),
            Some(a) => format!("q ~ Beta({a:.2}, {a:.2}) across sites"),
        }
    }
}

/// Bounds on a fitted spectrum: below 0.3 it is U-shaped (mostly rare
/// variants, not a dd-cfDNA panel); above 50 it is q = ½ for every purpose.
pub const MIN_SPECTRUM_CONCENTRATION: f64 = 0.3;
pub const MAX_SPECTRUM_CONCENTRATION: f64 = 50.0;

/// Spectra to take the union of intervals over when frequencies are unknown:
/// the fitted one, a more spread one (the heterozygous share lowered by
/// `max(3 SE, 0.05)`: sampling error plus the symmetric shape being a guess),
/// and q = ½. The data cannot tell these apart at low fractions (only f times
/// the donor-allele share is identified there), so the interval spans them.
pub fn spectrum_scenarios(het_share: f64, sites: usize) -> Vec<Spectrum> {
    let fitted = Spectrum::from_heterozygous_share(het_share);
    let se = if sites > 0 {
        (het_share * (1.0 - het_share) / sites as f64).sqrt()
    } else {
        0.5
    };
    let lowered = (het_share.min(0.45) - (3.0 * se).max(0.05)).max(0.05);
    let spread = Spectrum::from_heterozygous_share(lowered);
    let mut out = vec![fitted];
    for s in [spread, Spectrum::FLAT] {
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

/// Fewer people than this behind a sample's frequencies: QC REVIEW (the
/// interval is already widened by the Beta posterior, but a person should know).
pub const FEW_PEOPLE: f64 = 100.0;

/// Where one sample's frequencies came from, site by site, and what the
/// estimate therefore rests on (samples.csv, run.json, QC).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct SampleFrequencies {
    /// SNPs whose genotype was marginalised with a population frequency.
    pub sites: usize,
    /// Panel sites with AC/AN.
    pub panel_counted: usize,
    /// Panel sites with a bare AF (sample size not stated).
    pub panel_af: usize,
    /// INFO/AF of the count VCFs (origin not stated).
    pub counts_info_af: usize,
    /// Counted from the other genotyped people of the batch.
    pub batch: usize,
    /// No frequency at all (a flat panel, or nobody left in the batch).
    pub unknown: usize,
    /// Median number of people behind the counted frequencies (AN / 2).
    pub median_people: Option<f64>,
    /// Spectrum fitted for the unknown sites and the alternatives whose
    /// intervals are joined (fitted, more spread, flat); empty without
    /// unknown sites.
    pub spectra: Vec<Spectrum>,
    /// Share of heterozygous sites the spectrum was fitted to, and over how many.
    pub heterozygous_share: Option<(f64, usize)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FrequencyBasis {
    /// Counted from ≥ `FEW_PEOPLE` people.
    Measured,
    /// A stated AF without its sample size.
    Stated,
    /// Counted from fewer than `FEW_PEOPLE` people.
    FewPeople,
    /// Mostly no frequency at all.
    Unknown,
}

impl SampleFrequencies {
    pub fn basis(&self) -> FrequencyBasis {
        let counted = self.panel_counted + self.batch;
        let stated = self.panel_af + self.counts_info_af;
        if self.unknown * 2 > self.sites {
            FrequencyBasis::Unknown
        } else if stated > counted {
            FrequencyBasis::Stated
        } else if self.median_people.is_some_and(|p| p < FEW_PEOPLE) {
            FrequencyBasis::FewPeople
        } else {
            FrequencyBasis::Measured
        }
    }

    /// One line for samples.csv and the report.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        let people = self
            .median_people
            .map(|p| format!(", median {p:.0} people"))
            .unwrap_or_default();
        if self.panel_counted > 0 {
            parts.push(format!("panel AC/AN{people}: {}", self.panel_counted));
        }
        if self.panel_af > 0 {
            parts.push(format!(
                "panel AF (sample size not stated): {}",
                self.panel_af
            ));
        }
        if self.counts_info_af > 0 {
            parts.push(format!(
                "INFO/AF of the count file (origin not stated): {}",
                self.counts_info_af
            ));
        }
        if self.batch > 0 {
            let p = if self.panel_counted > 0 {
                String::new()
            } else {
                people.clone()
            };
            parts.push(format!(
                "batch genotypes (leave-pair-out{p}): {}",
                self.batch
            ));
        }
        if self.unknown > 0 {
            let spectrum = self
                .spectra
                .first()
                .map(|s| format!(", {}", s.describe()))
                .unwrap_or_default();
            parts.push(format!("unknown{spectrum}: {}", self.unknown));
        }
        parts.join("; ")
    }

    /// Why a person should review an estimate that rests on these frequencies.
    pub fn review_reason(&self) -> Option<String> {
        match self.basis() {
            FrequencyBasis::Unknown => Some(format!(
                "no population frequencies for {} of {} SNPs: the donor-allele share is unknown, so the interval spans plausible frequency spectra ({})",
                self.unknown,
                self.sites,
                self.spectra
                    .iter()
                    .map(|s| s.describe())
                    .collect::<Vec<_>>()
                    .join("; ")
            )),
            FrequencyBasis::FewPeople => Some(format!(
                "allele frequencies from only {:.0} people (< {FEW_PEOPLE:.0}): interval widened by their uncertainty",
                self.median_people.unwrap_or(0.0)
            )),
            FrequencyBasis::Measured | FrequencyBasis::Stated => None,
        }
    }

    /// Whether the frequencies support a likelihood over relationships:
    /// counted from enough people, or a panel's stated AF (a lab's panel; not
    /// the INFO/AF of a count file, whose origin is unknown).
    pub fn measured(&self) -> bool {
        match self.basis() {
            FrequencyBasis::Measured => true,
            FrequencyBasis::Stated => self.panel_af >= self.counts_info_af,
            FrequencyBasis::FewPeople | FrequencyBasis::Unknown => false,
        }
    }
}

enum BetaOrExact {
    Exact(f64),
    Beta { alpha: f64, beta: f64 },
}

/// Genotype (ALT dosage) probabilities of a person drawn from a population with
/// q ~ Beta(α, β): the beta-binomial with two draws (§7):
/// P(0) = β(β+1)/(s(s+1)), P(1) = 2αβ/(s(s+1)), P(2) = α(α+1)/(s(s+1)).
fn beta_genotype(g: u8, alpha: f64, beta: f64) -> f64 {
    let s = alpha + beta;
    let norm = s * (s + 1.0);
    match g {
        0 => beta * (beta + 1.0) / norm,
        1 => 2.0 * alpha * beta / norm,
        2 => alpha * (alpha + 1.0) / norm,
        _ => 0.0,
    }
}

/// Prior probability of the recipient's dosage `r` (genotype-free mode).
pub fn recipient_prior(r: u8, freq: AltFrequency, spectrum: Spectrum) -> f64 {
    match freq.beta(spectrum) {
        BetaOrExact::Exact(q) => hardy_weinberg(r, q),
        BetaOrExact::Beta { alpha, beta } => beta_genotype(r, alpha, beta),
    }
}

/// P(donor dosage `d` | recipient dosage `r`) under relationship κ:
///
/// ```text
/// P(d | r) = κ0 · P_pop(d) + κ1 · T1(d | r; E[q]) + κ2 · [d = r]
/// ```
///
/// With an exact q, P_pop is HWE(q) (§2). With a counted frequency it is the
/// Beta-integrated HWE of §7 (α = AC + ½, β = AN − AC + ½), and T1 uses E[q].
/// With an unknown frequency the Beta is the spectrum's, updated with the
/// recipient's two alleles (see the module docs): for the same population the
/// recipient's genotype is evidence about q.
pub fn donor_prior(d: u8, r: u8, freq: AltFrequency, spectrum: Spectrum, kappa: Kappa) -> f64 {
    let identical = if d == r { 1.0 } else { 0.0 };
    let (population, mean_q) = match freq.beta(spectrum) {
        BetaOrExact::Exact(q) => (hardy_weinberg(d, q), q),
        BetaOrExact::Beta { alpha, beta } => {
            let (alpha, beta) = if matches!(freq, AltFrequency::Unknown) {
                (alpha + f64::from(r), beta + f64::from(2 - r.min(2)))
            } else {
                (alpha, beta)
            };
            (beta_genotype(d, alpha, beta), alpha / (alpha + beta))
        }
    };
    kappa.k0 * population + kappa.k1 * one_allele_shared(d, r, mean_q) + kappa.k2 * identical
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Relationship;

    #[test]
    fn counted_prior_matches_the_beta_integrated_hardy_weinberg_formula() {
        // AC = 3 of AN = 20: α = 3.5, β = 17.5, s = 21.
        let f = AltFrequency::counted(3.0, 20.0);
        let k = Relationship::Unrelated.kappa();
        let p: Vec<f64> = (0..=2)
            .map(|d| donor_prior(d, 0, f, Spectrum::FLAT, k))
            .collect();
        let norm = 21.0 * 22.0;
        assert!((p[0] - 17.5 * 18.5 / norm).abs() < 1e-12);
        assert!((p[1] - 2.0 * 3.5 * 17.5 / norm).abs() < 1e-12);
        assert!((p[2] - 3.5 * 4.5 / norm).abs() < 1e-12);
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn large_samples_recover_hardy_weinberg_and_small_ones_are_wider() {
        let k = Relationship::Unrelated.kappa();
        let big = AltFrequency::counted(3000.0, 10000.0);
        let small = AltFrequency::counted(3.0, 10.0);
        for d in 0..=2 {
            let hwe = hardy_weinberg(d, 0.3);
            assert!((donor_prior(d, 1, big, Spectrum::FLAT, k) - hwe).abs() < 1e-3);
        }
        // Known from 5 people: fewer heterozygotes than HWE at the same mean.
        let p_small = donor_prior(1, 1, small, Spectrum::FLAT, k);
        let hwe_small = hardy_weinberg(1, small.mean());
        assert!(p_small < hwe_small - 0.03, "{p_small} vs {hwe_small}");
    }

    #[test]
    fn every_prior_sums_to_one_for_every_relationship_and_source() {
        let sources = [
            AltFrequency::Exact(0.2),
            AltFrequency::counted(0.0, 0.0),
            AltFrequency::counted(7.0, 40.0),
            AltFrequency::Unknown,
        ];
        let spectra = [
            Spectrum::FLAT,
            Spectrum::symmetric(0.7),
            Spectrum::symmetric(4.0),
        ];
        for rel in Relationship::ALL {
            for &f in &sources {
                for &s in &spectra {
                    let pr: f64 = (0..=2).map(|r| recipient_prior(r, f, s)).sum();
                    assert!((pr - 1.0).abs() < 1e-12);
                    for r in 0..=2 {
                        let pd: f64 = (0..=2).map(|d| donor_prior(d, r, f, s, rel.kappa())).sum();
                        assert!((pd - 1.0).abs() < 1e-12, "{rel} {f:?} {s:?} r={r}");
                    }
                }
            }
        }
    }

    #[test]
    fn unknown_frequency_conditions_the_donor_on_the_recipient() {
        // Spectrum uniform-like (a = 1): given r = 0, E[q] = 1/4, so an
        // unrelated donor carries ALT far less often than q = ½ says.
        let k = Relationship::Unrelated.kappa();
        let s = Spectrum::symmetric(1.0);
        let share: f64 = (0..=2)
            .map(|d| f64::from(d) / 2.0 * donor_prior(d, 0, AltFrequency::Unknown, s, k))
            .sum();
        assert!((share - 0.25).abs() < 1e-12, "{share}");
        let flat: f64 = (0..=2)
            .map(|d| {
                f64::from(d) / 2.0 * donor_prior(d, 0, AltFrequency::Unknown, Spectrum::FLAT, k)
            })
            .sum();
        assert!((flat - 0.5).abs() < 1e-12);
    }

    #[test]
    fn spectrum_fit_inverts_the_heterozygous_share() {
        for a in [0.5, 1.0, 3.0, 10.0] {
            let h = a / (2.0 * a + 1.0);
            let s = Spectrum::from_heterozygous_share(h);
            assert!((s.concentration.unwrap_or(f64::NAN) - a).abs() < 1e-9);
        }
        assert_eq!(Spectrum::from_heterozygous_share(0.55), Spectrum::FLAT);
        let scenarios = spectrum_scenarios(0.44, 1000);
        assert_eq!(scenarios.len(), 3);
        assert!(scenarios[1].concentration < scenarios[0].concentration);
        assert_eq!(scenarios[2], Spectrum::FLAT);
        // A fit that is already flat is not repeated.
        assert_eq!(spectrum_scenarios(0.6, 1000).len(), 2);
    }
}
