//! Two donors (retransplant, or a dual-organ graft from two donors;
//! cfdna-model.md §2.4): fractions f1, f2 on the simplex f1 + f2 < 1, with
//!
//! ```text
//! p(r, d1, d2; f1, f2) = (1 − f1 − f2)·r/2 + f1·d1/2 + f2·d2/2
//! ```
//!
//! and the same per-SNP marginalisation over whichever donor genotype is
//! unknown (each donor's prior given the recipient and its own relationship).
//! As for one donor (likelihood.rs), a term's genotype triple is one of 27
//! *classes* (r·9 + d1·3 + d2), so ln π and ln(1 − π) depend only on
//! (f1, f2, e, class) and are tabulated once per grid point in f64.
//!
//! Estimated as cfdna-model.md §3 asks: the 2-D grid of every draw of a batch
//! is evaluated by the backend in one call (`LoglikBackend::
//! two_donor_loglik_grids`: the `cfdna_two_donor` kernel or its CPU twin); the
//! host refines the best cell in f64 (coordinate-wise golden search), fits the
//! error rate, and computes a profile-likelihood 95% interval for each
//! fraction (the other maximised out).

use rayon::prelude::*;

use super::backend::LoglikBackend;
use super::estimate::{CHI2_90, CHI2_95, golden_max_tol};
use super::genotype_prior::donor_given_recipient;
use super::likelihood::{observed_alt_probability, saturated_loglik};
use super::relationship::Kappa;
use crate::error::Result;

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

/// Genotype classes of a two-donor term: (r, d1, d2) dosages, 3³.
pub const TWO_DONOR_CLASSES: usize = 27;

/// Index of the (recipient, donor 1, donor 2) dosage triple.
pub fn two_donor_class(r: u8, d1: u8, d2: u8) -> u8 {
    r * 9 + d1 * 3 + d2
}

/// One genotype hypothesis of a SNP: its class and ln prior weight.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TwoDonorTerm {
    pub class: u8,
    pub log_weight: f64,
}

/// A SNP as the likelihood reads it: counts, saturated log-likelihood and
/// genotype terms (at most 9: three per unknown donor).
#[derive(Debug, Clone, PartialEq)]
pub struct TwoDonorSite {
    pub alt: u32,
    pub depth: u32,
    pub saturated: f64,
    pub terms: Vec<TwoDonorTerm>,
}

/// ln π and ln(1 − π) of every class at one (f1, f2, e), in f64.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TwoDonorTable {
    pub ln_alt: [f64; TWO_DONOR_CLASSES],
    pub ln_ref: [f64; TWO_DONOR_CLASSES],
}

impl TwoDonorTable {
    pub fn new(f1: f64, f2: f64, e: f64) -> Self {
        let mut table = TwoDonorTable {
            ln_alt: [0.0; TWO_DONOR_CLASSES],
            ln_ref: [0.0; TWO_DONOR_CLASSES],
        };
        for c in 0..TWO_DONOR_CLASSES {
            let (r, d1, d2) = (c / 9, (c / 3) % 3, c % 3);
            let p = (1.0 - f1 - f2) * r as f64 / 2.0 + f1 * d1 as f64 / 2.0 + f2 * d2 as f64 / 2.0;
            let pi = observed_alt_probability(p, e);
            table.ln_alt[c] = pi.ln();
            table.ln_ref[c] = (-pi).ln_1p();
        }
        table
    }
}

#[derive(Debug, Clone)]
pub struct TwoDonorModel {
    sites: Vec<TwoDonorSite>,
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

/// Error rate every fit starts from.
const INITIAL_ERROR_RATE: f64 = 1e-3;

impl TwoDonorModel {
    pub fn new(snps: &[TwoDonorSnp], kappa1: Kappa, kappa2: Kappa) -> Self {
        let sites = snps
            .iter()
            .filter(|s| s.depth > 0)
            .map(|s| {
                let mut terms = Vec::new();
                for (d1, w1) in donor_terms(s.donor1, s.recipient, s.alt_frequency, kappa1) {
                    for (d2, w2) in donor_terms(s.donor2, s.recipient, s.alt_frequency, kappa2) {
                        terms.push(TwoDonorTerm {
                            class: two_donor_class(s.recipient, d1, d2),
                            log_weight: w1 + w2,
                        });
                    }
                }
                TwoDonorSite {
                    alt: s.alt,
                    depth: s.depth,
                    saturated: saturated_loglik(s.alt, s.depth),
                    terms,
                }
            })
            .collect();
        TwoDonorModel {
            sites,
            error_rate: INITIAL_ERROR_RATE,
        }
    }

    /// The SNPs with reads, as the backends evaluate them.
    pub fn sites(&self) -> &[TwoDonorSite] {
        &self.sites
    }

    /// Log-likelihood relative to the saturated model at the model's error rate.
    pub fn loglik(&self, f1: f64, f2: f64) -> f64 {
        self.loglik_with(&TwoDonorTable::new(f1, f2, self.error_rate))
    }

    /// Σ_i [logsumexp_t(lw_t + k ln π_t + (n − k) ln(1 − π_t)) − saturated_i]
    /// with the class logs from `table` (the arithmetic the CPU twin runs).
    pub fn loglik_with(&self, table: &TwoDonorTable) -> f64 {
        let mut total = 0.0;
        for site in &self.sites {
            let k = f64::from(site.alt);
            let nk = f64::from(site.depth - site.alt);
            let mut best = f64::NEG_INFINITY;
            let mut values = [0.0f64; 9];
            for (slot, t) in values.iter_mut().zip(&site.terms) {
                let c = usize::from(t.class);
                *slot = t.log_weight + k * table.ln_alt[c] + nk * table.ln_ref[c];
                best = best.max(*slot);
            }
            let used = site.terms.len().min(values.len());
            let sum: f64 = values[..used].iter().map(|v| (v - best).exp()).sum();
            total += best + sum.ln() - site.saturated;
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

/// Rounds of (fractions, error rate) coordinate ascent before the final fit.
const ERROR_ROUNDS: usize = 2;

fn axis() -> Vec<f64> {
    let mut v = vec![0.0];
    let (lo, hi) = (1e-4f64.ln(), 0.9f64.ln());
    for i in 0..36 {
        v.push((lo + (hi - lo) * f64::from(i) / 35.0).exp());
    }
    v
}

/// The 2-D grid over the simplex every fit starts from: (f1, f2) pairs of
/// the log-spaced axis with f1 + f2 < 0.95, f1 outer, f2 inner.
pub fn two_donor_grid() -> Vec<(f64, f64)> {
    let axis = axis();
    axis.iter()
        .flat_map(|&f1| axis.iter().map(move |&f2| (f1, f2)))
        .filter(|&(f1, f2)| f1 + f2 < MAX_TOTAL)
        .collect()
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

/// Maximum-likelihood (f1, f2, e) of one draw, with a profile interval for
/// each fraction (`estimate_two_donor_batch` of a batch of one).
pub fn estimate_two_donors(
    model: &mut TwoDonorModel,
    backend: &dyn LoglikBackend,
) -> Result<TwoDonorEstimate> {
    let mut out = estimate_two_donor_batch(std::slice::from_mut(model), backend)?;
    out.pop()
        .ok_or_else(|| crate::error::Error::Gpu("the backend returned no two-donor grid".into()))
}

/// Maximum-likelihood (f1, f2, e) of every draw, with a profile interval for
/// each fraction. The error rate is fitted here, by coordinate ascent with the
/// fractions: a single-donor fit would have read the second donor's alleles
/// as errors. Each round's 2-D grids (one per draw, at its current error rate)
/// come from the backend in one call; the refinement of the best cell, the
/// error rate and the intervals are computed on the host in f64.
pub fn estimate_two_donor_batch(
    models: &mut [TwoDonorModel],
    backend: &dyn LoglikBackend,
) -> Result<Vec<TwoDonorEstimate>> {
    let grid = two_donor_grid();
    let grids = vec![grid.clone(); models.len()];
    for m in models.iter_mut() {
        m.error_rate = INITIAL_ERROR_RATE;
    }
    let mut fits = Vec::new();
    for round in 0..=ERROR_ROUNDS {
        let values = backend.two_donor_loglik_grids(models, &grids)?;
        if values.len() != models.len() || values.iter().any(|v| v.len() != grid.len()) {
            return Err(crate::error::Error::Gpu(
                "the backend returned two-donor grids of the wrong shape".into(),
            ));
        }
        fits = models
            .par_iter()
            .zip(&values)
            .map(|(m, v)| refine_fractions(m, &grid, v))
            .collect();
        if round < ERROR_ROUNDS {
            models
                .par_iter_mut()
                .zip(&fits)
                .for_each(|(m, &(f1, f2, _))| {
                    let (ln_e, _) = golden_max_tol(1e-6f64.ln(), 0.05f64.ln(), 1e-4, |ln_e| {
                        m.loglik_with(&TwoDonorTable::new(f1, f2, ln_e.exp()))
                    });
                    m.error_rate = ln_e.exp();
                });
        }
    }
    Ok(models
        .par_iter()
        .zip(fits)
        .map(|(model, (f1, f2, ll))| {
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
        })
        .collect())
}

/// (f1, f2, ℓ) at the model's error rate from the backend's grid values:
/// the best cell, then coordinate-wise refinement in f64.
fn refine_fractions(model: &TwoDonorModel, grid: &[(f64, f64)], values: &[f64]) -> (f64, f64, f64) {
    let mut best = 0;
    for (i, v) in values.iter().enumerate() {
        if *v > values[best] {
            best = i;
        }
    }
    let (mut f1, mut f2) = f64_best_near(model, grid.get(best).copied().unwrap_or((0.0, 0.0)));
    let mut ll = f64::NEG_INFINITY;
    for _ in 0..6 {
        let (a, _) = best_along(|x| model.loglik(x, f2), MAX_TOTAL - f2);
        f1 = a;
        let (b, v) = best_along(|x| model.loglik(f1, x), MAX_TOTAL - f1);
        f2 = b;
        ll = v;
    }
    (f1, f2, ll)
}

/// The best grid cell in f64 among `cell` and its neighbours on the axis (in
/// grid order, the first of equals). A grid evaluated in f32 (GPU) may pick
/// a neighbour of the f64 best on a flat top; both backends then start the
/// refinement from the same cell. The CPU twin's values are the f64 ones, so
/// its best cell is kept.
fn f64_best_near(model: &TwoDonorModel, cell: (f64, f64)) -> (f64, f64) {
    let axis = axis();
    let at = |f: f64| axis.iter().position(|&a| a == f).unwrap_or(0);
    let around = |i: usize| i.saturating_sub(1)..=(i + 1).min(axis.len() - 1);
    let mut best = (cell, f64::NEG_INFINITY);
    for i in around(at(cell.0)) {
        for j in around(at(cell.1)) {
            let (f1, f2) = (axis[i], axis[j]);
            if f1 + f2 >= MAX_TOTAL {
                continue;
            }
            let v = model.loglik(f1, f2);
            if v > best.1 {
                best = ((f1, f2), v);
            }
        }
    }
    best.0
}
