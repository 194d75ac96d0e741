//! Finite-molecule overdispersion: the beta-binomial read model
//! (cfdna-model.md §1).
//!
//! Reads are copies of a finite pool of input molecules (10 ng of cfDNA is about
//! 3,000 genome copies; a capture panel keeps far fewer per locus). Sampling
//! those molecules is where the donor signal's variance comes from: with M
//! molecules at a locus, the donor-allele share varies by p(1 − p)/M around its
//! expected value p whatever the read depth, and PCR copies add allele-specific
//! bias on top. Sequencing errors arise *after* the molecules are drawn, read by
//! read, so they vary far less from site to site.
//!
//! Each genotype term is therefore a beta-binomial with its own intra-class
//! correlation ρ (Williams 1975; Weir & Hill 2002 for ρ as an ICC):
//!
//! ```text
//! k ~ BetaBin(n, α, β),  α = π(1 − ρ)/ρ,  β = (1 − π)(1 − ρ)/ρ
//! ρ_t = (ρ_s · [w·v + (1 − w)·4v²] + ρ_e · ε) / (π(1 − π)),  v = p(1 − p)
//! ```
//!
//! with p the expected ALT fraction of the term, π the read-level probability
//! after errors, ε = |π − p| the share errors add, ρ_s the signal dispersion
//! and ρ_e the error dispersion. At a recipient-heterozygous SNP p ≈ ½,
//! 4v² = v and ρ_t ≈ ρ_s, which is how ρ_s is measured: from the spread of
//! the reads at recipient-heterozygous SNPs (`signal_rho_from_heterozygous`),
//! where the donor only moves the allele fraction by ±f/2, which the fit
//! allows for.
//!
//! ρ_s has two sources that agree at p = ½ and part ways at the donor's small
//! shares, so w, the share of ρ_s that is molecule sampling, is fitted per
//! sample with the error rate (`estimate::fit_error`, `MOLECULE_SHARE_STEPS`):
//! - molecule sampling (w): a share's variance p(1 − p)/M, so a donor allele
//!   at 0.5% is as dispersed, relative to its p(1 − p), as a heterozygous site;
//! - per-site allelic bias from capture, mapping and PCR (1 − w): the allele's
//!   share is scaled by a site factor, so its standard deviation is
//!   proportional to p(1 − p) (variance ∝ v²), and a 0.5% donor allele varies
//!   by a fraction of itself. SRP434573 pure runs: heterozygous allele
//!   fractions of two people at the same SNP correlate 0.0–0.7 over the 21
//!   pairs (median 0.25; sd of the shared part ≈ 0.04), and homozygous
//!   error rates 0.2–0.8: much of the spread belongs to the site, not to
//!   the run.
//!
//! Wet-lab DNA mixtures carry molecule sampling at the minor genome: the fit
//! picks w = 0.5–1 in 22 of the 24 SRP434573 two-person draws
//! (recipient-only over all panel sites, batch frequencies; the four pure
//! blanks there fit 0–0.1), as it does on the simulator's
//! finite-molecule reads. Mixtures of two pure runs' reads
//! (tests/real_read_mixtures.rs) carry the donor run's site biases but no
//! molecule sampling of the mixture: it picks w ≤ 0.1 in 97% of
//! recipient-only and 86% of genotype-free draws. With w fixed at 1 there,
//! the donor terms were so broad that the error rate absorbed the donor
//! reads (recipient-only at 1%: bias −53%, coverage 31%). The price of a
//! small w: a run's diffuse third-party DNA is told from the error rate too,
//! and without the donor's genotype part of it reads as the donor's.
//!
//! Why it matters: with the donor genotype marginalised, a binomial read model
//! takes every site whose reads stray from the error rate for a donor allele. On
//! SRP434573 (ρ_s ≈ 0.02, about 50 unique molecules per locus behind 1,800
//! reads) that read 1% mixtures as 2–3% and blanks as 0.4–3.4%. A model whose
//! donor terms are as dispersed as molecule sampling makes them, and whose error
//! term is not, tells the two apart: recipient-only MARE 52.9% → 16.1%, blanks
//! 0.03–0.07% (tests/real_data_srp434573.rs).

use super::lane_math::{LANES, Lanes, exp as lane_exp, lanes, ln as lane_ln, ln_gamma_lanes};

/// A sample's molecule (signal) and error dispersions.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct MoleculeDispersion {
    /// ρ_s: intra-class correlation of allele shares from molecule sampling
    /// (≈ 1 / unique molecules per locus).
    pub signal_rho: f64,
    /// ρ_e: site-to-site dispersion of error reads, fitted with the error rate.
    pub error_rho: f64,
    /// w: the share of ρ_s that is molecule sampling (variance ∝ p(1 − p)),
    /// the rest being per-site allelic bias (variance ∝ (p(1 − p))²); see the
    /// module docs. 1 until fitted.
    pub molecule_share: f64,
}

/// Smallest ρ used (below it the beta-binomial is a binomial to 1e-6).
pub const MIN_RHO: f64 = 1e-7;
/// Largest ρ used: a term this dispersed carries almost no information.
pub const MAX_RHO: f64 = 0.5;

/// Error dispersions tried when fitting ρ_e; each must stay below
/// `ERROR_RHO_CAP` × ρ_s, because error reads are drawn after the molecules and
/// cannot vary more than the molecules do. Without that bound a free ρ_e lets one
/// broad error term absorb the donor signal (seen on SRP434573: f̂ = 0 at 10%).
pub const ERROR_RHO_STEPS: [f64; 6] = [0.0, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2];
pub const ERROR_RHO_CAP: f64 = 0.25;

/// Molecule shares w tried when fitting (module docs), from pure molecule
/// sampling (the model before w) to pure per-site bias.
pub const MOLECULE_SHARE_STEPS: [f64; 6] = [1.0, 0.5, 0.3, 0.2, 0.1, 0.0];

/// A recipient-heterozygous SNP needs this depth to enter the ρ_s estimate.
pub const MIN_HET_DEPTH: u32 = 30;
/// Fewer usable heterozygous SNPs than this: no ρ_s (binomial read model).
pub const MIN_HET_SNPS: usize = 20;

/// Reads at one recipient-heterozygous SNP, kept for the ρ_s estimate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HetSite {
    pub alt: u32,
    pub depth: u32,
    /// Probabilities that the donor is homozygous REF (its DNA lowers the ALT
    /// fraction by f/2) and homozygous ALT (raises it by f/2): 0 or 1 with a
    /// known donor genotype, else from the relatedness prior.
    pub donor_ref_hom: f64,
    pub donor_alt_hom: f64,
}

/// Share of recipient-heterozygous SNPs allowed to be outliers (mis-called
/// genotypes, copy-number changes, capture dropouts) in the ρ_s fit: each SNP's
/// likelihood is mixed with this much of a uniform distribution over its counts,
/// so a handful of wild sites cannot inflate ρ_s.
pub const HET_OUTLIER_SHARE: f64 = 0.02;

/// Log-likelihood of the recipient-heterozygous SNPs at donor fraction `f`,
/// error rate `e`, heterozygous balance `balance` and ICC `rho`: each SNP a
/// mixture over the donor's genotype (the recipient's share (1 − f)·b plus the
/// donor's 0, f·b or f) of beta-binomials, plus a small uniform outlier share
/// (`HET_OUTLIER_SHARE`).
fn het_sites_loglik(used: &HetLanes, f: f64, e: f64, balance: f64, rho: f64) -> f64 {
    let means =
        [(1.0 - f) * balance, balance, (1.0 - f) * balance + f].map(|p| e + (1.0 - 2.0 * e) * p);
    let terms = means.map(|pi| BetaTerm::new(pi, rho));
    super::snp_layout::simd_arch().dispatch(HetKernel {
        sites: used,
        terms: &terms,
    })
}

/// Recipient-heterozygous SNPs in structure-of-arrays form, padded to whole
/// lanes, with ln C(n, k) computed once per fit rather than per evaluation.
struct HetLanes {
    k: Vec<f64>,
    nk: Vec<f64>,
    n: Vec<f64>,
    ln_choose: Vec<f64>,
    /// Donor genotype weights (REF hom, het, ALT hom); 0 for padding.
    weights: [Vec<f64>; 3],
    /// 1 for a real site, 0 for padding.
    mask: Vec<f64>,
}

impl HetLanes {
    fn new(used: &[&HetSite]) -> HetLanes {
        // Sites with the same donor terms side by side, so that a lane group
        // whose term weight is 0 throughout skips that term (a typed donor
        // leaves one term per site).
        let mut used = used.to_vec();
        used.sort_by_key(|s| {
            (
                s.donor_ref_hom > 0.0,
                s.donor_ref_hom + s.donor_alt_hom < 1.0,
                s.donor_alt_hom > 0.0,
            )
        });
        let len = used.len().div_ceil(LANES) * LANES;
        let mut h = HetLanes {
            k: vec![0.0; len],
            nk: vec![1.0; len],
            n: vec![1.0; len],
            ln_choose: vec![0.0; len],
            weights: [vec![0.0; len], vec![0.0; len], vec![0.0; len]],
            mask: vec![0.0; len],
        };
        for (i, s) in used.iter().enumerate() {
            let (k, n) = (f64::from(s.alt), f64::from(s.depth));
            h.k[i] = k;
            h.nk[i] = n - k;
            h.n[i] = n;
            h.ln_choose[i] = ln_gamma(n + 1.0) - ln_gamma(k + 1.0) - ln_gamma(n - k + 1.0);
            h.weights[0][i] = s.donor_ref_hom;
            h.weights[1][i] = (1.0 - s.donor_ref_hom - s.donor_alt_hom).max(0.0);
            h.weights[2][i] = s.donor_alt_hom;
            h.mask[i] = 1.0;
        }
        h
    }
}

/// `het_sites_loglik`'s per-site arithmetic, eight sites at a time, compiled
/// for the vector unit pulp picks (plain loops only; see `snp_layout`).
struct HetKernel<'a> {
    sites: &'a HetLanes,
    terms: &'a [BetaTerm; 3],
}

impl pulp::WithSimd for HetKernel<'_> {
    type Output = f64;

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) -> f64 {
        let h = self.sites;
        let mut acc = [0.0f64; LANES];
        let mut at = 0;
        while at < h.k.len() {
            // Whole lanes loaded once: indexing a slice lane by lane keeps a
            // bounds check per lane, and the loop stays scalar.
            let k = lanes(&h.k, at);
            let nk = lanes(&h.nk, at);
            let n = lanes(&h.n, at);
            let ln_choose = lanes(&h.ln_choose, at);
            let mut model = [0.0f64; LANES];
            for t in 0..3 {
                let w = lanes(&h.weights[t], at);
                if w.iter().all(|&x| x <= 0.0) {
                    continue;
                }
                let ln_pmf = self.terms[t].ln_pmf_lanes(&k, &nk, &n);
                for l in 0..LANES {
                    model[l] += w[l] * lane_exp(ln_choose[l] + ln_pmf[l]);
                }
            }
            let mask = lanes(&h.mask, at);
            for l in 0..LANES {
                let v = (1.0 - HET_OUTLIER_SHARE) * model[l] + HET_OUTLIER_SHARE / (n[l] + 1.0);
                acc[l] += mask[l] * lane_ln(v);
            }
            at += LANES;
        }
        let mut total = 0.0;
        for a in acc {
            total += a;
        }
        total
    }
}

fn usable(sites: &[HetSite]) -> Option<HetLanes> {
    let used: Vec<&HetSite> = sites.iter().filter(|s| s.depth >= MIN_HET_DEPTH).collect();
    (used.len() >= MIN_HET_SNPS).then(|| HetLanes::new(&used))
}

/// ρ_s from recipient-heterozygous SNPs at donor fraction `f`, error rate `e`
/// and heterozygous balance `balance`: the maximum-likelihood ICC of their
/// reads (`het_sites_loglik`). Brent's method on ln ρ. `None` with too few
/// SNPs.
pub fn signal_rho_from_heterozygous(
    sites: &[HetSite],
    f: f64,
    e: f64,
    balance: f64,
) -> Option<f64> {
    let used = usable(sites)?;
    let loglik = |ln_rho: f64| het_sites_loglik(&used, f, e, balance, ln_rho.exp());
    let (lo, hi) = (MIN_SIGNAL_RHO.ln(), MAX_RHO.ln());
    let (ln_rho, ll) = super::refine::brent_max(lo, hi, 0.0, 1e-3, loglik);
    // The search brackets; the bounds themselves are candidates too.
    let best = [(lo, loglik(lo)), (hi, loglik(hi))]
        .into_iter()
        .fold((ln_rho, ll), |b, c| if c.1 > b.1 { c } else { b });
    Some(best.0.exp())
}

/// Balance searched for a heterozygote's ALT share: reference bias moves it
/// by a few per cent (cfdna-model.md §7); beyond this range the genotypes or
/// the assay are wrong, not biased.
pub const BALANCE_RANGE: (f64, f64) = (0.3, 0.7);

/// The heterozygous balance b from recipient-heterozygous SNPs at (f, e, ρ):
/// maximum likelihood of `het_sites_loglik` over b. At r = 1 the donor moves
/// the ALT share by at most ±f·½, which the mixture allows for, so b is
/// measured whatever f is. `None` with too few SNPs.
pub fn het_balance_from_heterozygous(sites: &[HetSite], f: f64, e: f64, rho: f64) -> Option<f64> {
    let used = usable(sites)?;
    let ll = |b: f64| het_sites_loglik(&used, f, e, b, rho);
    // The mixture over the donor's genotype is multimodal in b once f is large
    // (with f = 19% a b of 0.6 puts the heterozygous donor's mean where the
    // homozygous-ALT donors' reads are): scan a grid, then refine its best
    // cell. The modes lie ~0.1 apart in b; a 0.02 grid separates them.
    let steps = 20;
    let width = (BALANCE_RANGE.1 - BALANCE_RANGE.0) / steps as f64;
    let best = (0..=steps)
        .map(|i| BALANCE_RANGE.0 + width * i as f64)
        .map(|b| (b, ll(b)))
        .fold(
            (0.5, f64::NEG_INFINITY),
            |x, y| if y.1 > x.1 { y } else { x },
        );
    let (b, l) = super::refine::brent_max(
        (best.0 - width).max(BALANCE_RANGE.0),
        (best.0 + width).min(BALANCE_RANGE.1),
        0.0,
        1e-5,
        ll,
    );
    Some(if l >= best.1 { b } else { best.0 })
}

/// Smallest ρ_s searched (a million molecules per locus: a binomial).
pub const MIN_SIGNAL_RHO: f64 = 1e-6;

/// ln Γ(x) for x > 0: Stirling's series with five correction terms once x ≥ 10
/// (truncation error below 1e-13 there), the recurrence Γ(x) = Γ(x + m)/(x(x+1)…)
/// below. About three times faster than the Lanczos form in statrs, and the
/// beta-binomial evaluates three per SNP and genotype term.
pub fn ln_gamma(x: f64) -> f64 {
    const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;
    let mut x = x;
    let mut shift = 1.0;
    let mut shifted = false;
    while x < 10.0 {
        shift *= x;
        x += 1.0;
        shifted = true;
    }
    let inv = 1.0 / x;
    let inv2 = inv * inv;
    let series = inv
        * (1.0 / 12.0
            - inv2
                * (1.0 / 360.0
                    - inv2 * (1.0 / 1260.0 - inv2 * (1.0 / 1680.0 - inv2 * (1.0 / 1188.0)))));
    let stirling = (x - 0.5) * x.ln() - x + HALF_LN_2PI + series;
    if shifted {
        stirling - shift.ln()
    } else {
        stirling
    }
}

/// The ICC of one genotype term (module docs).
pub fn term_rho(p: f64, pi: f64, d: MoleculeDispersion) -> f64 {
    let var = pi * (1.0 - pi);
    if var <= 0.0 {
        return MIN_RHO;
    }
    let v = p * (1.0 - p);
    let w = d.molecule_share;
    let excess = d.signal_rho * (w * v + (1.0 - w) * 4.0 * v * v) + d.error_rho * (pi - p).abs();
    (excess / var).clamp(MIN_RHO, MAX_RHO)
}

/// The parts of ln BetaBin(k; n, α, β) that depend only on the term:
/// (α, β, ln B(α, β)).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BetaTerm {
    pub alpha: f64,
    pub beta: f64,
    /// α + β, added once here rather than per SNP.
    pub alpha_beta: f64,
    pub ln_beta_ab: f64,
}

impl BetaTerm {
    /// ln P(k | n) − ln C(n, k) of `LANES` SNPs at once:
    /// ln Γ(k + α) + ln Γ(n − k + β) − ln Γ(n + α + β) − ln B(α, β). Inlined
    /// into the vectorised kernels (`snp_layout`, the heterozygous sites).
    #[inline(always)]
    pub fn ln_pmf_lanes(&self, k: &Lanes, nk: &Lanes, n: &Lanes) -> Lanes {
        let mut x1 = [0.0; LANES];
        let mut x2 = [0.0; LANES];
        let mut x3 = [0.0; LANES];
        for l in 0..LANES {
            x1[l] = k[l] + self.alpha;
            x2[l] = nk[l] + self.beta;
            x3[l] = n[l] + self.alpha_beta;
        }
        let (g1, g2, g3) = (
            ln_gamma_lanes(&x1),
            ln_gamma_lanes(&x2),
            ln_gamma_lanes(&x3),
        );
        let mut out = [0.0; LANES];
        for l in 0..LANES {
            out[l] = g1[l] + g2[l] - g3[l] - self.ln_beta_ab;
        }
        out
    }

    pub fn new(pi: f64, rho: f64) -> Self {
        let scale = (1.0 - rho) / rho;
        let alpha = (pi * scale).max(1e-300);
        let beta = ((1.0 - pi) * scale).max(1e-300);
        BetaTerm {
            alpha,
            beta,
            alpha_beta: alpha + beta,
            ln_beta_ab: ln_gamma(alpha) + ln_gamma(beta) - ln_gamma(alpha + beta),
        }
    }

    /// ln BetaBin(k; n, α, β) without ln C(n, k) (the same for every term of a
    /// SNP, so it cancels from every comparison).
    pub fn ln_pmf(&self, k: u32, n: u32) -> f64 {
        let (k, nk) = (f64::from(k), f64::from(n - k));
        ln_gamma(k + self.alpha) + ln_gamma(nk + self.beta)
            - ln_gamma(k + nk + self.alpha_beta)
            - self.ln_beta_ab
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ln_choose(n: u32, k: u32) -> f64 {
        ln_gamma(f64::from(n) + 1.0)
            - ln_gamma(f64::from(k) + 1.0)
            - ln_gamma(f64::from(n - k) + 1.0)
    }

    #[test]
    fn beta_binomial_sums_to_one_and_tends_to_the_binomial() {
        let (n, pi) = (40u32, 0.07);
        for rho in [0.3, 0.02, 1e-7] {
            let t = BetaTerm::new(pi, rho);
            let total: f64 = (0..=n)
                .map(|k| (ln_choose(n, k) + t.ln_pmf(k, n)).exp())
                .sum();
            // ln Γ of α + β ≈ 1e7 keeps ~1e-8 of absolute precision.
            assert!((total - 1.0).abs() < 1e-7, "rho {rho}: {total}");
        }
        let t = BetaTerm::new(pi, 1e-9);
        for k in [0u32, 3, 10] {
            let bin = f64::from(k) * pi.ln() + f64::from(n - k) * (1.0 - pi).ln();
            assert!((t.ln_pmf(k, n) - bin).abs() < 1e-5);
        }
    }

    #[test]
    fn ln_gamma_matches_statrs() {
        for &x in &[
            1e-6, 0.003, 0.5, 1.0, 2.5, 9.99, 10.0, 37.2, 1e3, 2.5e5, 1e7,
        ] {
            let ours = ln_gamma(x);
            let reference = statrs::function::gamma::ln_gamma(x);
            assert!(
                (ours - reference).abs() <= 1e-12 * reference.abs().max(1.0),
                "x {x}: {ours} vs {reference}"
            );
        }
    }

    #[test]
    fn beta_binomial_variance_follows_rho() {
        let (n, pi, rho) = (500u32, 0.2, 0.01);
        let t = BetaTerm::new(pi, rho);
        let (mut m1, mut m2) = (0.0, 0.0);
        for k in 0..=n {
            let p = (ln_choose(n, k) + t.ln_pmf(k, n)).exp();
            m1 += p * f64::from(k);
            m2 += p * f64::from(k) * f64::from(k);
        }
        let var = m2 - m1 * m1;
        let nf = f64::from(n);
        let expected = nf * pi * (1.0 - pi) * (1.0 + (nf - 1.0) * rho);
        assert!((m1 - nf * pi).abs() < 1e-6);
        assert!((var / expected - 1.0).abs() < 1e-6);
    }

    #[test]
    fn heterozygous_spread_gives_rho() {
        // Allele fractions spread exactly as 1,000 reads of 100 molecules would
        // (ρ = 0.01): a normal grid of quantiles.
        let n = 1000u32;
        let rho = 0.01;
        let sd = (0.25 * (1.0 / f64::from(n) + rho)).sqrt();
        let sites: Vec<HetSite> = (1..400)
            .map(|i| {
                let u = f64::from(i) / 400.0;
                let z = statrs::function::erf::erf_inv(2.0 * u - 1.0) * std::f64::consts::SQRT_2;
                HetSite {
                    alt: ((0.5 + sd * z) * f64::from(n)).round() as u32,
                    depth: n,
                    donor_ref_hom: 0.0,
                    donor_alt_hom: 0.0,
                }
            })
            .collect();
        let est = signal_rho_from_heterozygous(&sites, 0.0, 0.0, 0.5).unwrap_or(f64::NAN);
        assert!((est / rho - 1.0).abs() < 0.1, "{est}");
        assert_eq!(
            signal_rho_from_heterozygous(&sites[..5], 0.0, 0.0, 0.5),
            None
        );
        // Eight wild sites (a mis-called genotype reads 5% or 95% ALT) barely move it.
        let mut wild = sites.clone();
        for i in 0..8u32 {
            wild.push(HetSite {
                alt: if i % 2 == 0 { n / 20 } else { n - n / 20 },
                ..sites[0]
            });
        }
        let robust = signal_rho_from_heterozygous(&wild, 0.0, 0.0, 0.5).unwrap_or(f64::NAN);
        assert!((robust / est - 1.0).abs() < 0.1, "{robust} vs {est}");
        // Donor alleles at 20%: a quarter of the sites 10% lower, a quarter
        // 10% higher. The spread they add is not taken for molecule noise.
        let mixed: Vec<HetSite> = sites
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let shift = match i % 4 {
                    0 => -0.1,
                    1 => 0.1,
                    _ => 0.0,
                };
                HetSite {
                    alt: (f64::from(s.alt) + shift * f64::from(n)).round() as u32,
                    donor_ref_hom: 0.25,
                    donor_alt_hom: 0.25,
                    ..*s
                }
            })
            .collect();
        let with_donor = signal_rho_from_heterozygous(&mixed, 0.2, 0.0, 0.5).unwrap_or(f64::NAN);
        assert!((with_donor / rho - 1.0).abs() < 0.25, "{with_donor}");
        let ignoring = signal_rho_from_heterozygous(&mixed, 0.0, 0.0, 0.5).unwrap_or(f64::NAN);
        assert!(ignoring > 2.0 * rho, "{ignoring}");
    }

    #[test]
    fn term_rho_is_signal_rho_at_a_heterozygous_site_and_small_for_errors() {
        let d = MoleculeDispersion {
            signal_rho: 0.02,
            error_rho: 0.0,
            molecule_share: 1.0,
        };
        assert!((term_rho(0.5, 0.5, d) - 0.02).abs() < 1e-12);
        assert_eq!(term_rho(0.0, 0.003, d), MIN_RHO);
        let d = MoleculeDispersion {
            error_rho: 1e-3,
            ..d
        };
        assert!((term_rho(0.0, 0.003, d) - 1e-3 * 0.003 / (0.003 * 0.997)).abs() < 1e-12);
    }

    #[test]
    fn molecule_share_leaves_heterozygous_sites_and_sharpens_small_shares() {
        let molecules = MoleculeDispersion {
            signal_rho: 0.02,
            error_rho: 0.0,
            molecule_share: 1.0,
        };
        let site_bias = MoleculeDispersion {
            molecule_share: 0.0,
            ..molecules
        };
        // The same ρ at p = ½, where ρ_s is measured.
        assert!((term_rho(0.5, 0.5, site_bias) - 0.02).abs() < 1e-12);
        // A donor allele at 0.5%: variance ρ_s·4v² against ρ_s·v.
        let (p, pi) = (0.005, 0.007);
        let v = p * (1.0 - p);
        let ratio = term_rho(p, pi, site_bias) / term_rho(p, pi, molecules);
        assert!((ratio - 4.0 * v).abs() < 1e-12, "{ratio}");
        let half = MoleculeDispersion {
            molecule_share: 0.5,
            ..molecules
        };
        let mid = term_rho(p, pi, half);
        let want = 0.5 * (term_rho(p, pi, site_bias) + term_rho(p, pi, molecules));
        assert!((mid - want).abs() < 1e-15);
    }
}
