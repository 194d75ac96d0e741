//! Per-SNP likelihood of the read counts given the donor fraction
//! (cfdna-model.md §1–2).
//!
//! Every mode is written as one mixture per SNP over genotype terms:
//!
//! ```text
//! L_i(f) = Σ_t w_t · Bin(k_i; n_i, π(r_t, d_t; f, e))
//! ```
//!
//! or, with finite-molecule overdispersion, a beta-binomial per term
//! (`dispersion.rs`) mixed with a small uniform outlier share.
//!
//! Two-genome: one term (r, d) with weight 1. Recipient-only: three terms over
//! the donor dosage with the relatedness prior. Genotype-free: up to nine terms
//! over (r, d) with HWE × relatedness prior. A term's genotype pair is one of 9
//! *classes* (r·3 + d), so ln π and ln(1 − π) depend only on (f, e, class): they
//! are computed once per grid point (on the host, in f64) and looked up per SNP.
//! This is the layout the GPU kernel shares (shaders/cfdna_loglik.wgsl).

use super::dispersion::{BetaTerm, HetSite, MoleculeDispersion, term_rho};
use super::frequency::{AltFrequency, Spectrum, donor_prior, recipient_prior};
use super::relationship::Kappa;
use super::snp_layout::SnpLayout;

pub const GENOTYPE_CLASSES: usize = 9;

/// Index of the (recipient, donor) dosage pair.
pub fn genotype_class(r: u8, d: u8) -> u8 {
    r * 3 + d
}

pub fn class_genotypes(class: u8) -> (u8, u8) {
    (class / 3, class % 3)
}

/// Expected ALT allele fraction in the cfDNA pool: p = (1 − f)·r/2 + f·d/2.
pub fn expected_alt_fraction(r: u8, d: u8, f: f64) -> f64 {
    expected_alt_fraction_balanced(r, d, f, 0.5)
}

/// ALT share of a genotype's reads when a heterozygote reads `balance` rather
/// than ½ (cfdna-model.md §7: mapping and capture favour the reference allele).
pub fn genotype_share(g: u8, balance: f64) -> f64 {
    match g {
        0 => 0.0,
        1 => balance,
        _ => 1.0,
    }
}

/// p = (1 − f)·h(r) + f·h(d) with h(0) = 0, h(1) = b, h(2) = 1: the expected
/// ALT fraction when heterozygotes read `balance` (b) for both people (it is
/// a property of the assay at the site, not of the person).
pub fn expected_alt_fraction_balanced(r: u8, d: u8, f: f64, balance: f64) -> f64 {
    (1.0 - f) * genotype_share(r, balance) + f * genotype_share(d, balance)
}

/// Probability that a read shows ALT with symmetric error e: π = e + (1 − 2e)·p.
pub fn observed_alt_probability(p: f64, e: f64) -> f64 {
    e + (1.0 - 2.0 * e) * p
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EstimationMode {
    TwoGenome,
    RecipientOnly,
    GenotypeFree,
}

impl EstimationMode {
    pub fn as_str(self) -> &'static str {
        match self {
            EstimationMode::TwoGenome => "two_genome",
            EstimationMode::RecipientOnly => "recipient_only",
            EstimationMode::GenotypeFree => "genotype_free",
        }
    }

    /// Largest donor fraction searched. Genotype-free is symmetric in f ↔ 1 − f,
    /// so it is restricted to f < 0.5 (§2.3). Recipient-only is nearly so: near
    /// f = 1 the marginalised donor genotype explains the reads as well as the
    /// recipient's does near f = 0, so on real data (SRP434573) the likelihood
    /// has a spurious mode near 1. It is restricted to the recipient-major
    /// region too; estimates near 50% are flagged by the QC's upper limit of
    /// quantitation.
    pub fn max_fraction(self) -> f64 {
        match self {
            EstimationMode::GenotypeFree | EstimationMode::RecipientOnly => 0.5,
            EstimationMode::TwoGenome => 0.999,
        }
    }
}

/// One genotype hypothesis of a SNP: its class and ln prior weight.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GenotypeTerm {
    pub class: u8,
    pub log_weight: f64,
}

/// Which dispersion group a SNP belongs to. Recipient-heterozygous SNPs carry
/// allelic-bias noise that homozygous ones do not, so each group gets its own
/// overdispersion scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DispersionGroup {
    RecipientHomozygous = 0,
    RecipientHeterozygous = 1,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SnpObservation {
    pub alt: u32,
    pub depth: u32,
    pub first_term: u32,
    pub term_count: u32,
    /// Multiplier on the SNP's log-likelihood: 1/φ (quasi-likelihood) and
    /// bootstrap resampling weights.
    pub weight: f64,
    pub group: DispersionGroup,
    /// Per-site (REF→ALT, ALT→REF) error rates from a learned table; `None`
    /// uses the sample's symmetric rate.
    pub site_error: Option<[f64; 2]>,
    /// Saturated log-likelihood k·ln(k/n) + (n−k)·ln(1−k/n): subtracted so each
    /// SNP's term is a (negative half) deviance and sums stay small.
    pub saturated: f64,
    /// ln C(n, k): turns a term's value into a normalised ln P(k), which the
    /// beta-binomial's outlier share needs.
    pub ln_choose: f64,
}

/// ln π and ln(1 − π) for the nine genotype classes at one (f, e), and with a
/// beta-binomial read model each class's beta parameters.
#[derive(Debug, Clone, Copy)]
pub struct ClassLogProbs {
    pub ln_alt: [f64; GENOTYPE_CLASSES],
    pub ln_ref: [f64; GENOTYPE_CLASSES],
    /// The donor fraction the table is for (SNPs with per-site errors need it).
    pub fraction: f64,
    /// The heterozygous balance the table is for.
    pub balance: f64,
    /// Finite-molecule dispersion; `None` = binomial reads.
    pub dispersion: Option<MoleculeDispersion>,
    pub beta: Option<[BetaTerm; GENOTYPE_CLASSES]>,
}

impl ClassLogProbs {
    /// Binomial reads with balanced heterozygotes.
    pub fn new(f: f64, e: f64) -> Self {
        Self::with_dispersion(f, e, 0.5, None)
    }

    pub fn with_dispersion(
        f: f64,
        e: f64,
        balance: f64,
        dispersion: Option<MoleculeDispersion>,
    ) -> Self {
        let mut ln_alt = [0.0; GENOTYPE_CLASSES];
        let mut ln_ref = [0.0; GENOTYPE_CLASSES];
        let mut beta = [BetaTerm::new(0.5, 0.5); GENOTYPE_CLASSES];
        for class in 0..GENOTYPE_CLASSES as u8 {
            let (r, d) = class_genotypes(class);
            let p = expected_alt_fraction_balanced(r, d, f, balance);
            let pi = observed_alt_probability(p, e);
            ln_alt[class as usize] = pi.ln();
            ln_ref[class as usize] = (-pi).ln_1p();
            if let Some(disp) = dispersion {
                beta[class as usize] = BetaTerm::new(pi, term_rho(p, pi, disp));
            }
        }
        ClassLogProbs {
            ln_alt,
            ln_ref,
            fraction: f,
            balance,
            dispersion,
            beta: dispersion.map(|_| beta),
        }
    }
}

pub fn saturated_loglik(alt: u32, depth: u32) -> f64 {
    let k = f64::from(alt);
    let n = f64::from(depth);
    let mut s = 0.0;
    if alt > 0 {
        s += k * (k / n).ln();
    }
    if alt < depth {
        s += (n - k) * ((n - k) / n).ln();
    }
    s
}

/// One SNP of one plasma sample as read from the files: what a model is built
/// from, kept so that models can be rebuilt under another relationship.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SnpInput {
    pub alt: u32,
    pub depth: u32,
    pub recipient: Option<u8>,
    pub donor: Option<u8>,
    /// Population ALT frequency and how well it is known (used where a
    /// genotype is marginalised).
    pub frequency: AltFrequency,
    /// Per-site (REF→ALT, ALT→REF) error rates from `--error-table`.
    pub site_error: Option<[f64; 2]>,
}

/// The observations of one plasma sample, ready for likelihood evaluation.
#[derive(Debug, Clone)]
pub struct SampleModel {
    pub mode: EstimationMode,
    pub snps: Vec<SnpObservation>,
    pub terms: Vec<GenotypeTerm>,
    pub error_rate: f64,
    pub max_fraction: f64,
    /// Reads at recipient-heterozygous SNPs: they measure the molecule
    /// dispersion ρ_s (`dispersion.rs`), whether or not they enter the likelihood.
    pub het_sites: Vec<HetSite>,
    /// The beta-binomial read model in use; `None` = binomial. Set by the
    /// estimator (its ρ_e is fitted with the error rate).
    pub molecular: Option<MoleculeDispersion>,
    /// ALT share of a heterozygote's reads (½ without reference bias); fitted
    /// by the estimator.
    pub het_balance: f64,
    /// The SNPs in structure-of-arrays form for the vectorised evaluation
    /// (`snp_layout.rs`), built on first use.
    layout: std::sync::OnceLock<std::sync::Arc<SnpLayout>>,
}

impl SampleModel {
    pub fn new(mode: EstimationMode) -> Self {
        SampleModel {
            mode,
            snps: Vec::new(),
            terms: Vec::new(),
            error_rate: 1e-3,
            max_fraction: mode.max_fraction(),
            het_sites: Vec::new(),
            molecular: None,
            het_balance: 0.5,
            layout: std::sync::OnceLock::new(),
        }
    }

    /// Build the model of `mode` under relationship coefficients `kappa`. A SNP
    /// lacking the donor genotype is marginalised over it, one lacking the
    /// recipient's too over both; sites of unknown frequency draw q from
    /// `spectrum` (model::frequency). Recipient-heterozygous inputs
    /// (genotype-free: those whose allele fraction looks heterozygous) also go
    /// to `het_sites`; a caller that leaves such SNPs out of the likelihood adds
    /// them itself.
    pub fn from_inputs(
        mode: EstimationMode,
        inputs: &[SnpInput],
        kappa: Kappa,
        spectrum: Spectrum,
    ) -> SampleModel {
        let mut m = SampleModel::new(mode);
        m.het_sites = inputs
            .iter()
            .filter(|s| match s.recipient {
                Some(r) => r == 1,
                None => s.depth > 0 && looks_heterozygous(s.alt, s.depth),
            })
            .map(|s| het_site(s.alt, s.depth, s.donor, s.frequency, spectrum, kappa))
            .collect();
        for s in inputs {
            match (s.recipient, s.donor) {
                (Some(r), Some(d)) => m.push_two_genome(s.alt, s.depth, r, d),
                (Some(r), None) => {
                    m.push_recipient_only(s.alt, s.depth, r, s.frequency, spectrum, kappa)
                }
                (None, _) => m.push_genotype_free(s.alt, s.depth, s.frequency, spectrum, kappa),
            }
            if let Some(last) = m.snps.last_mut() {
                last.site_error = s.site_error;
            }
        }
        m
    }

    fn push(&mut self, alt: u32, depth: u32, group: DispersionGroup, terms: &[GenotypeTerm]) {
        let first_term = self.terms.len() as u32;
        self.terms.extend_from_slice(terms);
        self.snps.push(SnpObservation {
            alt,
            depth,
            first_term,
            term_count: terms.len() as u32,
            weight: 1.0,
            site_error: None,
            group,
            saturated: saturated_loglik(alt, depth),
            ln_choose: ln_choose(alt, depth),
        });
    }

    fn group_of(r: u8) -> DispersionGroup {
        if r == 1 {
            DispersionGroup::RecipientHeterozygous
        } else {
            DispersionGroup::RecipientHomozygous
        }
    }

    /// Both genotypes known (§2.1).
    pub fn push_two_genome(&mut self, alt: u32, depth: u32, r: u8, d: u8) {
        let term = GenotypeTerm {
            class: genotype_class(r, d),
            log_weight: 0.0,
        };
        self.push(alt, depth, Self::group_of(r), &[term]);
    }

    /// Recipient genotype known, donor marginalised per SNP (§2.2).
    pub fn push_recipient_only(
        &mut self,
        alt: u32,
        depth: u32,
        r: u8,
        freq: AltFrequency,
        spectrum: Spectrum,
        kappa: Kappa,
    ) {
        let mut terms = Vec::with_capacity(3);
        for d in 0..=2u8 {
            let prior = donor_prior(d, r, freq, spectrum, kappa);
            if prior > 0.0 {
                terms.push(GenotypeTerm {
                    class: genotype_class(r, d),
                    log_weight: prior.ln(),
                });
            }
        }
        self.push(alt, depth, Self::group_of(r), &terms);
    }

    /// Neither genotype known: recipient from HWE, donor given recipient (§2.3).
    pub fn push_genotype_free(
        &mut self,
        alt: u32,
        depth: u32,
        freq: AltFrequency,
        spectrum: Spectrum,
        kappa: Kappa,
    ) {
        let mut terms = Vec::with_capacity(9);
        for r in 0..=2u8 {
            for d in 0..=2u8 {
                let prior =
                    recipient_prior(r, freq, spectrum) * donor_prior(d, r, freq, spectrum, kappa);
                if prior > 0.0 {
                    terms.push(GenotypeTerm {
                        class: genotype_class(r, d),
                        log_weight: prior.ln(),
                    });
                }
            }
        }
        let group = if depth > 0 && looks_heterozygous(alt, depth) {
            DispersionGroup::RecipientHeterozygous
        } else {
            DispersionGroup::RecipientHomozygous
        };
        self.push(alt, depth, group, &terms);
    }

    /// Whether the sample's error rate enters the likelihood: false when
    /// every SNP carries its own per-site rates.
    pub fn error_rate_is_free(&self) -> bool {
        self.snps.iter().any(|s| s.site_error.is_none())
    }

    pub fn snp_terms(&self, snp: &SnpObservation) -> &[GenotypeTerm] {
        let a = snp.first_term as usize;
        &self.terms[a..a + snp.term_count as usize]
    }

    /// Weighted log-likelihood relative to the saturated model at fraction f.
    pub fn loglik(&self, f: f64) -> f64 {
        self.loglik_with(&self.table(f, self.error_rate))
    }

    /// The class table at (f, e) under this model's read model.
    pub fn table(&self, f: f64, e: f64) -> ClassLogProbs {
        ClassLogProbs::with_dispersion(f, e, self.het_balance, self.molecular)
    }

    /// The SNP weights gathered for `loglik_many_with_weights`, or `None` while
    /// the model is still growing (no layout fits it yet).
    pub fn slot_weights(&self) -> Option<super::snp_layout::SlotWeights> {
        let layout = self
            .layout
            .get_or_init(|| std::sync::Arc::new(SnpLayout::new(self)));
        layout.fits(self).then(|| layout.slot_weights(self))
    }

    /// `loglik_with` at each of `tables`, several per sweep over the SNPs
    /// (`SnpLayout::loglik_many`), with the weights gathered once by
    /// `slot_weights` (`None` evaluates table by table).
    pub fn loglik_many_with_weights(
        &self,
        tables: &[ClassLogProbs],
        weights: Option<&super::snp_layout::SlotWeights>,
    ) -> Vec<f64> {
        match (weights, self.layout.get()) {
            (Some(w), Some(layout)) if layout.fits(self) => layout.loglik_many(self, tables, w),
            _ => tables.iter().map(|t| self.loglik_with(t)).collect(),
        }
    }

    /// Σ_i w_i · snp_loglik(i): vectorised over the SNP layout (the same
    /// arithmetic as `loglik_per_snp`, `LANES` SNPs at a time).
    pub fn loglik_with(&self, table: &ClassLogProbs) -> f64 {
        let layout = self
            .layout
            .get_or_init(|| std::sync::Arc::new(SnpLayout::new(self)));
        if layout.fits(self) {
            layout.loglik(self, table)
        } else {
            // SNPs were added after the layout was built (a model under
            // construction): lay them out afresh.
            SnpLayout::new(self).loglik(self, table)
        }
    }

    /// The reference form of `loglik_with`: one SNP at a time.
    pub fn loglik_per_snp(&self, table: &ClassLogProbs) -> f64 {
        self.snps
            .iter()
            .map(|snp| snp.weight * snp_loglik(snp, self.snp_terms(snp), table))
            .sum()
    }
}

/// A recipient-heterozygous SNP's reads for the ρ_s fit, with the donor's
/// genotype known (`donor`) or else drawn from the relatedness prior at the
/// site's ALT frequency.
pub fn het_site(
    alt: u32,
    depth: u32,
    donor: Option<u8>,
    freq: AltFrequency,
    spectrum: Spectrum,
    kappa: Kappa,
) -> HetSite {
    let (donor_ref_hom, donor_alt_hom) = match donor {
        Some(d) => (f64::from(u8::from(d == 0)), f64::from(u8::from(d == 2))),
        None => (
            donor_prior(0, 1, freq, spectrum, kappa),
            donor_prior(2, 1, freq, spectrum, kappa),
        ),
    };
    HetSite {
        alt,
        depth,
        donor_ref_hom,
        donor_alt_hom,
    }
}

/// Allele fraction in the heterozygous range (genotype-free SNPs).
pub fn looks_heterozygous(alt: u32, depth: u32) -> bool {
    (0.2..=0.8).contains(&(f64::from(alt) / f64::from(depth)))
}

/// ln(w_t) + ln P(k | n, term) for each genotype term, and the largest: the
/// binomial k·ln π_t + (n − k)·ln(1 − π_t), or the beta-binomial when the table
/// carries a dispersion.
fn term_log_values(
    snp: &SnpObservation,
    terms: &[GenotypeTerm],
    table: &ClassLogProbs,
) -> ([f64; GENOTYPE_CLASSES], f64) {
    let k = f64::from(snp.alt);
    let nk = f64::from(snp.depth - snp.alt);
    let mut best = f64::NEG_INFINITY;
    let mut values = [0.0f64; GENOTYPE_CLASSES];
    for (slot, term) in values.iter_mut().zip(terms) {
        let ln_p = match (&table.beta, table.dispersion, snp.site_error) {
            (Some(beta), _, None) => beta[term.class as usize].ln_pmf(snp.alt, snp.depth),
            (_, Some(disp), Some(_)) => {
                let (r, d) = class_genotypes(term.class);
                let p = expected_alt_fraction_balanced(r, d, table.fraction, table.balance);
                let pi = class_log_probs(snp, term.class, table).0.exp();
                BetaTerm::new(pi, term_rho(p, pi, disp)).ln_pmf(snp.alt, snp.depth)
            }
            _ => {
                let (ln_alt, ln_ref) = class_log_probs(snp, term.class, table);
                k * ln_alt + nk * ln_ref
            }
        };
        *slot = term.log_weight + ln_p;
        best = best.max(*slot);
    }
    (values, best)
}

/// ln π and ln(1 − π) of a genotype class for one SNP: from the shared table,
/// or with the SNP's own per-direction error rates,
/// π = e_ra + (1 − e_ra − e_ar)·p.
pub fn class_log_probs(snp: &SnpObservation, class: u8, table: &ClassLogProbs) -> (f64, f64) {
    match snp.site_error {
        None => (table.ln_alt[class as usize], table.ln_ref[class as usize]),
        Some([e_ra, e_ar]) => {
            let (r, d) = class_genotypes(class);
            let p = expected_alt_fraction_balanced(r, d, table.fraction, table.balance);
            let pi = e_ra + (1.0 - e_ra - e_ar) * p;
            (pi.ln(), (-pi).ln_1p())
        }
    }
}

/// One SNP's log-likelihood minus its saturated value (log-sum-exp over terms).
pub fn snp_loglik(snp: &SnpObservation, terms: &[GenotypeTerm], table: &ClassLogProbs) -> f64 {
    let (values, best) = term_log_values(snp, terms, table);
    let sum: f64 = values[..terms.len()].iter().map(|v| (v - best).exp()).sum();
    let model = best + sum.ln() - snp.saturated;
    if table.dispersion.is_none() {
        return model;
    }
    // Beta-binomial reads: a small share of SNPs may follow none of the genotype
    // terms (a mis-called genotype, a copy-number change, a capture dropout). A
    // uniform share over the SNP's possible counts keeps such a site from being
    // read as donor DNA (on SRP434573 blanks without recipient genotypes read
    // 0.5–0.8% without it). Mixed on the ln P(k) scale, then shifted back.
    let shift = snp.saturated + snp.ln_choose;
    let ln_p = model + shift;
    let outlier = (OUTLIER_SHARE / (f64::from(snp.depth) + 1.0)).ln();
    log_add((1.0 - OUTLIER_SHARE).ln() + ln_p, outlier) - shift
}

/// Share of SNPs the beta-binomial model lets be outliers (see `snp_loglik`).
pub const OUTLIER_SHARE: f64 = 0.01;

fn log_add(a: f64, b: f64) -> f64 {
    let (hi, lo) = if a > b { (a, b) } else { (b, a) };
    hi + (lo - hi).exp().ln_1p()
}

fn ln_choose(k: u32, n: u32) -> f64 {
    use super::dispersion::ln_gamma;
    let (k, n) = (f64::from(k), f64::from(n));
    ln_gamma(n + 1.0) - ln_gamma(k + 1.0) - ln_gamma(n - k + 1.0)
}

/// Posterior-weighted ALT probability of a SNP at (f, e): used for Pearson
/// residuals where the genotype is marginalised.
pub fn posterior_alt_probability(
    snp: &SnpObservation,
    terms: &[GenotypeTerm],
    table: &ClassLogProbs,
) -> f64 {
    let (values, best) = term_log_values(snp, terms, table);
    let mut norm = 0.0;
    let mut mean = 0.0;
    for (v, term) in values.iter().zip(terms) {
        let w = (v - best).exp();
        norm += w;
        mean += w * class_log_probs(snp, term.class, table).0.exp();
    }
    mean / norm
}
