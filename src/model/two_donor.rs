//! Two donors (retransplant, or a dual-organ graft from two donors;
//! cfdna-model.md §2.4): fractions f1, f2 on the simplex f1 + f2 < 1, with
//!
//! ```text
//! p(r, d1, d2; f1, f2) = (1 − f1 − f2)·r/2 + f1·d1/2 + f2·d2/2
//! ```
//!
//! and the same per-SNP marginalisation over whichever donor genotype is
//! unknown (each donor's prior given the recipient and its own relationship).
//! Estimated on the CPU: a 2-D grid, coordinate-wise golden refinement, and a
//! profile-likelihood 95% interval for each fraction (the other maximised out).

use super::estimate::{CHI2_90, CHI2_95, golden_max_tol};
use super::genotype_prior::donor_given_recipient;
use super::likelihood::{observed_alt_probability, saturated_loglik};
use super::relationship::Kappa;

/// One SNP of a two-donor sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TwoDonorSnp {
    pub alt: u32,
    pub depth: u32,
    pub recipient: u8,
    pub donor1: Option<u8>,
    pub donor2: Option<u8>,
    pub alt_frequency: f64,
}

#[derive(Debug, Clone)]
struct Term {
    /// (d1, d2)
    donors: (u8, u8),
    log_weight: f64,
}

#[derive(Debug, Clone)]
pub struct TwoDonorModel {
    snps: Vec<(u32, u32, u8, f64, Vec<Term>)>,
    pub error_rate: f64,
}

fn donor_terms(d: Option<u8>, r: u8, q: f64, kappa: Kappa) -> Vec<(u8, f64)> {
    match d {
        Some(g) => vec![(g, 0.0)],
        None => (0..=2u8)
            .filter_map(|g| {
                let p = donor_given_recipient(g, r, q, kappa);
                (p > 0.0).then(|| (g, p.ln()))
            })
            .collect(),
    }
}

impl TwoDonorModel {
    pub fn new(snps: &[TwoDonorSnp], kappa1: Kappa, kappa2: Kappa) -> Self {
        let snps = snps
            .iter()
            .filter(|s| s.depth > 0)
            .map(|s| {
                let mut terms = Vec::new();
                for (d1, w1) in donor_terms(s.donor1, s.recipient, s.alt_frequency, kappa1) {
                    for (d2, w2) in donor_terms(s.donor2, s.recipient, s.alt_frequency, kappa2) {
                        terms.push(Term {
                            donors: (d1, d2),
                            log_weight: w1 + w2,
                        });
                    }
                }
                (
                    s.alt,
                    s.depth,
                    s.recipient,
                    saturated_loglik(s.alt, s.depth),
                    terms,
                )
            })
            .collect();
        TwoDonorModel {
            snps,
            error_rate: 1e-3,
        }
    }

    /// Log-likelihood relative to the saturated model.
    pub fn loglik(&self, f1: f64, f2: f64) -> f64 {
        let e = self.error_rate;
        let mut total = 0.0;
        for (alt, depth, r, sat, terms) in &self.snps {
            let k = f64::from(*alt);
            let nk = f64::from(depth - alt);
            let mut best = f64::NEG_INFINITY;
            let mut values = [0.0f64; 9];
            for (slot, t) in values.iter_mut().zip(terms) {
                let p = (1.0 - f1 - f2) * f64::from(*r) / 2.0
                    + f1 * f64::from(t.donors.0) / 2.0
                    + f2 * f64::from(t.donors.1) / 2.0;
                let pi = observed_alt_probability(p, e);
                *slot = t.log_weight + k * pi.ln() + nk * (-pi).ln_1p();
                best = best.max(*slot);
            }
            let sum: f64 = values[..terms.len()].iter().map(|v| (v - best).exp()).sum();
            total += best + sum.ln() - sat;
        }
        total
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct TwoDonorEstimate {
    pub fraction1: f64,
    pub fraction2: f64,
    pub interval1: (f64, f64),
    pub interval2: (f64, f64),
    pub loglik_max: f64,
    pub error_rate: f64,
}

/// Largest total donor fraction searched.
const MAX_TOTAL: f64 = 0.95;

fn axis() -> Vec<f64> {
    let mut v = vec![0.0];
    let (lo, hi) = (1e-4f64.ln(), 0.9f64.ln());
    for i in 0..36 {
        v.push((lo + (hi - lo) * f64::from(i) / 35.0).exp());
    }
    v
}

/// Maximise over one fraction with the other fixed, on [0, limit].
fn best_along(ll: impl Fn(f64) -> f64, limit: f64) -> (f64, f64) {
    let grid = axis();
    let mut best = (0.0, ll(0.0));
    let mut best_j = 0;
    for (j, &f) in grid.iter().enumerate() {
        if f > limit {
            break;
        }
        let v = ll(f);
        if v > best.1 {
            best = (f, v);
            best_j = j;
        }
    }
    let a = grid[best_j.saturating_sub(1)];
    let b = grid.get(best_j + 1).copied().unwrap_or(limit).min(limit);
    let (f, v) = golden_max_tol(a, b, 1e-9, &ll);
    if v > best.1 { (f, v) } else { best }
}

/// Profile interval for one fraction: the set where 2(ℓ̂ − max_other ℓ) ≤ crit.
fn profile_interval(profile: &dyn Fn(f64) -> f64, f_hat: f64, ll_hat: f64) -> (f64, f64) {
    let crit = if f_hat <= 0.0 { CHI2_90 } else { CHI2_95 };
    let outside = |f: f64| 2.0 * (ll_hat - profile(f)) > crit;
    let bisect = |mut inside: f64, mut out: f64| {
        for _ in 0..40 {
            let mid = 0.5 * (inside + out);
            if outside(mid) {
                out = mid;
            } else {
                inside = mid;
            }
        }
        0.5 * (inside + out)
    };
    // Upper: step out geometrically until outside.
    let mut hi = (f_hat * 1.5).max(1e-4);
    while hi < MAX_TOTAL && !outside(hi) {
        hi = (hi * 1.5).min(MAX_TOTAL);
        if hi >= MAX_TOTAL {
            break;
        }
    }
    let upper = if outside(hi) {
        bisect(f_hat, hi)
    } else {
        MAX_TOTAL
    };
    let lower = if f_hat <= 0.0 || !outside(0.0) {
        0.0
    } else {
        bisect(f_hat, 0.0)
    };
    (lower, upper)
}

/// Maximum-likelihood (f1, f2, e), with a profile interval for each fraction.
/// The error rate is fitted here, by coordinate ascent with the fractions: a
/// single-donor fit would have read the second donor's alleles as errors.
pub fn estimate_two_donors(model: &mut TwoDonorModel) -> TwoDonorEstimate {
    model.error_rate = 1e-3;
    for _ in 0..2 {
        let (f1, f2, _) = fit_fractions(model);
        let (ln_e, _) = golden_max_tol(1e-6f64.ln(), 0.05f64.ln(), 1e-4, |ln_e| {
            let m = TwoDonorModel {
                snps: model.snps.clone(),
                error_rate: ln_e.exp(),
            };
            m.loglik(f1, f2)
        });
        model.error_rate = ln_e.exp();
    }
    let model = &*model;
    let (f1, f2, ll) = fit_fractions(model);
    let profile1 = |x: f64| best_along(|y| model.loglik(x, y), (MAX_TOTAL - x).max(0.0)).1;
    let profile2 = |y: f64| best_along(|x| model.loglik(x, y), (MAX_TOTAL - y).max(0.0)).1;
    TwoDonorEstimate {
        fraction1: f1,
        fraction2: f2,
        interval1: profile_interval(&profile1, f1, ll),
        interval2: profile_interval(&profile2, f2, ll),
        loglik_max: ll,
        error_rate: model.error_rate,
    }
}

/// (f1, f2, ℓ) at the model's error rate: 2-D grid, then coordinate refinement.
fn fit_fractions(model: &TwoDonorModel) -> (f64, f64, f64) {
    // 2-D grid over the simplex.
    let grid = axis();
    let mut best = (0.0, 0.0, model.loglik(0.0, 0.0));
    for &f1 in &grid {
        for &f2 in &grid {
            if f1 + f2 >= MAX_TOTAL {
                continue;
            }
            let v = model.loglik(f1, f2);
            if v > best.2 {
                best = (f1, f2, v);
            }
        }
    }
    // Coordinate-wise refinement.
    let (mut f1, mut f2, mut ll) = best;
    for _ in 0..6 {
        let (a, _) = best_along(|x| model.loglik(x, f2), MAX_TOTAL - f2);
        f1 = a;
        let (b, v) = best_along(|x| model.loglik(f1, x), MAX_TOTAL - f1);
        f2 = b;
        ll = v;
    }
    (f1, f2, ll)
}
