//! The estimator (cfdna-model.md §3–4): a grid over f evaluated by a compute
//! backend for a whole batch, golden-section refinement of the best cell in f64,
//! the profile-likelihood 95% interval with the boundary rule, a likelihood-ratio
//! presence test, the error rate estimated jointly with f, and overdispersion
//! handled by a beta-binomial read model (`dispersion.rs`; its ρ_s and ρ_e are
//! fitted here with the error rate) and/or a per-group quasi-likelihood scale,
//! so that intervals stay honest when reads vary more than a binomial allows.

use rayon::prelude::*;

use super::dispersion::{
    ERROR_RHO_CAP, ERROR_RHO_STEPS, MOLECULE_SHARE_STEPS, MoleculeDispersion,
    het_balance_from_heterozygous, signal_rho_from_heterozygous,
};

/// ICC used to weigh heterozygous SNPs when measuring b for a binomial read
/// model: real heterozygous SNPs vary more than a binomial allows (allelic
/// imbalance per site), and a binomial weight would let the deepest sites
/// decide b alone.
const DEFAULT_BALANCE_RHO: f64 = 1e-3;
use super::backend::{LoglikBackend, percentile_interval};
use super::likelihood::{
    ClassLogProbs, DispersionGroup, EstimationMode, GenotypeTerm, SampleModel, SnpObservation,
    class_genotypes, class_log_probs, posterior_alt_probability,
};
use super::refine::{brent_max, crossing, newton_max, newton_max_scaled};
use crate::error::Result;

/// χ²₁ 0.95 quantile: two-sided 95% profile interval.
pub const CHI2_95: f64 = 3.841_458_820_694_124;
/// χ²₁ 0.90 quantile: one-sided 95% upper bound when f̂ sits on the boundary 0
/// (Self & Liang 1987 boundary asymptotics).
pub const CHI2_90: f64 = 2.705_543_454_095_404;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Overdispersion {
    /// Plain binomial likelihood.
    None,
    /// Quasi-likelihood: each dispersion group's log-likelihood is divided by its
    /// Pearson χ²/df (McCullagh & Nelder 1989, §9.2), never by less than 1.
    Quasi,
    /// Beta-binomial reads with finite-molecule dispersion (`dispersion.rs`) in
    /// every mode, and the quasi-likelihood scale on top where the beta-binomial
    /// still leaves excess Pearson χ².
    BetaBinomial,
    /// Beta-binomial where the donor genotype is marginalised (recipient-only,
    /// genotype-free): there a binomial mistakes dispersed error reads for donor
    /// alleles and the point estimate itself goes wrong. Two-genome fits keep the
    /// binomial with the quasi-likelihood scale: their point estimate is a
    /// weighted ratio that a binomial gets right, and only its interval needs
    /// widening.
    Auto,
}

impl Overdispersion {
    /// Whether `mode` gets the beta-binomial read model.
    pub fn beta_binomial_for(self, mode: EstimationMode) -> bool {
        match self {
            Overdispersion::BetaBinomial => true,
            Overdispersion::Auto => mode != EstimationMode::TwoGenome,
            Overdispersion::None | Overdispersion::Quasi => false,
        }
    }
}

/// Log-spaced grid points over f (plus 0) in the final grid pass: a step of
/// ×1.32 from 10⁻⁵ to a 50% search limit, far finer than any two modes of the likelihood lie
/// apart (a mode is wider than its standard error, ≥ 5% of f at 1,000 SNPs).
/// The grid only brackets: the point estimate is the profile's maximum and
/// the interval ends its crossings, both refined in f64. 160 points gave the
/// same estimates (within 1.5e-2 relative at f̂ ~ 1e-4 %, 4e-4 elsewhere) at
/// four times the grid work.
pub const DEFAULT_GRID_POINTS: usize = 40;

#[derive(Debug, Clone, serde::Serialize)]
pub struct EstimatorSettings {
    pub grid_points: usize,
    pub min_grid_fraction: f64,
    pub detection_alpha: f64,
    pub overdispersion: Overdispersion,
    pub error_iterations: usize,
    pub error_bounds: (f64, f64),
    pub initial_error_rate: f64,
    /// A dispersion group needs this many SNPs for its own scale; smaller groups
    /// share the pooled scale.
    pub min_snps_per_dispersion_group: usize,
    /// Two-genome samples need this many concordant homozygous SNPs to take the
    /// error rate from them; otherwise e is estimated jointly with f.
    pub min_concordant_snps: usize,
    /// SNP-bootstrap replicates per sample (0 = off) and their RNG seed.
    pub bootstrap_replicates: u32,
    pub bootstrap_seed: u64,
}

impl Default for EstimatorSettings {
    fn default() -> Self {
        EstimatorSettings {
            grid_points: DEFAULT_GRID_POINTS,
            min_grid_fraction: 1e-5,
            detection_alpha: 0.01,
            overdispersion: Overdispersion::Auto,
            error_iterations: 2,
            error_bounds: (1e-6, 0.05),
            initial_error_rate: 1e-3,
            min_snps_per_dispersion_group: 20,
            min_concordant_snps: 20,
            bootstrap_replicates: 0,
            bootstrap_seed: 0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IntervalKind {
    TwoSided,
    /// f̂ = 0: the interval is [0, upper] with a one-sided 95% upper bound.
    OneSidedUpper,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct FractionEstimate {
    pub donor_fraction: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    pub interval: IntervalKind,
    /// The upper bound reached the largest fraction searched.
    pub ci_high_at_search_limit: bool,
    /// The largest fraction searched.
    pub search_limit: f64,
    pub loglik_max: f64,
    pub lr_statistic: f64,
    pub p_value: f64,
    pub detected: bool,
    pub error_rate: f64,
    /// Pearson χ²/df per dispersion group (recipient homozygous, heterozygous);
    /// NaN where the group has no SNPs.
    pub dispersion: [f64; 2],
    /// Scale divided into each group's log-likelihood (1 = binomial).
    pub dispersion_scale: [f64; 2],
    /// SNP-bootstrap 95% percentile interval, when bootstrap replicates were asked for.
    pub bootstrap_interval: Option<(f64, f64)>,
    /// The beta-binomial's molecule and error dispersions, when it was used.
    pub molecular: Option<MoleculeDispersion>,
}

/// Grid of donor fractions: 0, then log-spaced from `min` to `max`.
pub fn fraction_grid(max: f64, points: usize, min: f64) -> Vec<f64> {
    let points = points.max(3);
    let mut grid = Vec::with_capacity(points);
    grid.push(0.0);
    let steps = points - 1;
    let (lo, hi) = (min.ln(), max.ln());
    for i in 0..steps {
        let t = i as f64 / (steps - 1) as f64;
        grid.push((lo + t * (hi - lo)).exp());
    }
    grid
}

const INV_PHI: f64 = 0.618_033_988_749_894_9;

/// Golden-section maximisation of a unimodal function on [a, b].
pub fn golden_max(a: f64, b: f64, func: impl Fn(f64) -> f64) -> (f64, f64) {
    golden_max_tol(a, b, 1e-13, func)
}

/// Golden-section maximisation, stopping when the bracket is narrower than
/// `tol` (absolute) plus 1e-10 relative.
pub fn golden_max_tol(mut a: f64, mut b: f64, tol: f64, func: impl Fn(f64) -> f64) -> (f64, f64) {
    let mut c = b - INV_PHI * (b - a);
    let mut d = a + INV_PHI * (b - a);
    let mut fc = func(c);
    let mut fd = func(d);
    for _ in 0..100 {
        if (b - a).abs() <= tol + 1e-10 * a.abs() {
            break;
        }
        if fc > fd {
            b = d;
            d = c;
            fd = fc;
            c = b - INV_PHI * (b - a);
            fc = func(c);
        } else {
            a = c;
            c = d;
            fc = fd;
            d = a + INV_PHI * (b - a);
            fd = func(d);
        }
    }
    if fc > fd { (c, fc) } else { (d, fd) }
}

fn argmax(values: &[f64]) -> usize {
    let mut best = 0;
    for (i, v) in values.iter().enumerate() {
        if *v > values[best] {
            best = i;
        }
    }
    best
}

/// Refine the best grid cell in f64. The bracket spans two cells either side so
/// that an f32 grid (GPU) choosing a neighbouring cell on a flat top is harmless.
pub fn refine_maximum(model: &SampleModel, grid: &[f64], values: &[f64]) -> (f64, f64) {
    let j = argmax(values);
    let a = grid[j.saturating_sub(2)];
    let b = grid[(j + 2).min(grid.len() - 1)];
    // 1e-5 of f: this maximum only seeds the error-rate fit, the dispersion
    // scales and the profile's scan; the reported f̂ is the profile's own.
    let (mut f_hat, mut ll_hat) = brent_max(a, b, 1e-5, 1e-12, |f| model.loglik(f));
    for &candidate in &[a, b, grid[j]] {
        let ll = model.loglik(candidate);
        if ll > ll_hat {
            f_hat = candidate;
            ll_hat = ll;
        }
    }
    let ll_zero = model.loglik(0.0);
    if ll_zero >= ll_hat {
        return (0.0, ll_zero);
    }
    (f_hat, ll_hat)
}

/// The point in [inside, outside] where 2(ℓ̂ − ℓ(f)) = crit (regula falsi,
/// `refine::crossing`).
fn bisect_crossing(
    ll: &dyn Fn(f64) -> f64,
    ll_hat: f64,
    crit: f64,
    inside: f64,
    outside: f64,
) -> f64 {
    // 2e-5 of the bound (reports print 3–5 significant digits), at least
    // 1e-10 absolute: each step costs a profile over the error rate.
    let tol = (2e-5 * inside.abs().max(outside.abs())).max(1e-10);
    let g = |f: f64| 2.0 * (ll_hat - ll(f)) - crit;
    crossing(inside, g(inside), outside, g(outside), tol, g)
}

/// Profile-likelihood interval {f : 2[ℓ(f̂) − ℓ(f)] ≤ crit} for a (profile)
/// log-likelihood `ll`. Where `grid_bounds` holds, the backend's grid values
/// (at the fitted error rate, so never above the profile, their deviance
/// never below its deviance) skip the grid points that are plainly inside;
/// every decision is checked in f64 with `ll`. An adjusted profile
/// (Cox–Reid: ℓ_p + ln σ_e, ln σ_e ≈ −2 to −4) is not bounded by them: its
/// deviance exceeds the grid's by up to 2|ln σ_e|, so the grid would let the
/// walk pass the crossing and the interval snap to a grid point beyond it
/// (30 of 42 genotype-free upper bounds on SRP434573 real-read mixtures at
/// 1%). There every grid point is checked with `ll`.
pub fn profile_interval(
    ll: &dyn Fn(f64) -> f64,
    grid: &[f64],
    values: &[f64],
    f_hat: f64,
    ll_hat: f64,
    crit: f64,
    grid_bounds: bool,
) -> (f64, f64, bool) {
    let outside = |f: f64| 2.0 * (ll_hat - ll(f)) > crit;
    // Upper crossing: first grid point above f̂ whose deviance exceeds crit.
    let mut high = None;
    let mut prev = f_hat;
    for (i, &f) in grid.iter().enumerate() {
        if f <= f_hat {
            continue;
        }
        // f32 grid values can misplace the crossing slightly: check in f64
        // whenever the grid comes near it.
        let grid_near_outside = !grid_bounds || 2.0 * (ll_hat - values[i]) > crit - 0.5;
        if grid_near_outside && outside(f) {
            high = Some(bisect_crossing(ll, ll_hat, crit, prev, f));
            break;
        }
        prev = f;
    }
    let max_f = grid[grid.len() - 1];
    let (ci_high, at_limit) = match high {
        Some(h) => (h, false),
        None => (max_f, true),
    };
    // Lower crossing.
    let ci_low = if f_hat <= 0.0 || !outside(0.0) {
        0.0
    } else {
        let mut low = 0.0;
        let mut next = f_hat;
        for (i, &f) in grid.iter().enumerate().rev() {
            if f >= f_hat {
                continue;
            }
            let grid_near_outside = !grid_bounds || 2.0 * (ll_hat - values[i]) > crit - 0.5;
            if (grid_near_outside && outside(f)) || f == 0.0 {
                low = bisect_crossing(ll, ll_hat, crit, next, f);
                break;
            }
            next = f;
        }
        low
    };
    (ci_low, ci_high, at_limit)
}

/// Profile log-likelihood over the error rate: max over e of ℓ(f, e), searched
/// within a factor 4 of the fitted rate. Intervals use it so that the error
/// rate's own uncertainty widens them (it matters at f ≤ 1%, where donor
/// reads and error reads are of the same order).
pub fn loglik_profiled_over_error(model: &SampleModel, f: f64) -> f64 {
    ErrorProfile::new(model, false).loglik(f)
}

/// ℓ_p(f) = max_e ℓ(f, e) of one draw, remembering the maximiser ê_f at
/// each f evaluated: ê moves smoothly with f, so the search at a new f starts
/// from the ê of the nearest f seen, or interpolated between the two seen
/// either side (`refine::newton_max_scaled`): three or four likelihood
/// evaluations where a search over the whole bracket needs twelve or more. Interior mutability lets the interval code take it as a
/// plain `Fn(f64) -> f64`.
pub struct ErrorProfile<'a> {
    model: &'a SampleModel,
    bounds: (f64, f64),
    /// (ln f, ln ê_f, ℓ_p(f)) of every f profiled so far.
    seen: std::cell::RefCell<Vec<(f64, f64, f64)>>,
    /// The profile's scale in ln e at the last f (see `newton_max_scaled`).
    scale: std::cell::Cell<Option<f64>>,
    /// Whether the Cox–Reid adjustment applies (`ErrorProfile::new`).
    adjusted: bool,
    /// Whether ℓ depends on the sample's error rate at all: not when every
    /// SNP carries its own rates (a learned table, or the third-party term
    /// of model::contamination), where a search over e would only drift.
    free: bool,
}

/// Newton step in ln e (the profile's curvature in ln e is ~1/SE², with SE
/// of ln ê 0.02–0.1 at 1,000 SNPs × 1,000 reads).
const PROFILE_STEP: f64 = 0.05;
/// 5e-4 in ln e moves ℓ by far less than the 1e-2 that matters for an interval.
const PROFILE_TOL: f64 = 5e-4;

impl<'a> ErrorProfile<'a> {
    /// The profile of `model`, with the Cox–Reid adjustment when its error
    /// rate is estimated from the same reads as f (`joint_error`): recipient-
    /// only and genotype-free draws, and two-genome draws with too few
    /// concordant homozygous SNPs. Where those SNPs give the rate, the
    /// adjustment only adds the numerical noise of σ (SRP434573 two-genome
    /// MARE 10.77% → 10.98% with it).
    pub fn new(model: &'a SampleModel, joint_error: bool) -> Self {
        let e = model.error_rate;
        ErrorProfile {
            model,
            bounds: ((e / 4.0).max(1e-7).ln(), (e * 4.0).min(0.2).ln()),
            seen: std::cell::RefCell::new(Vec::new()),
            scale: std::cell::Cell::new(None),
            adjusted: joint_error,
            free: model.error_rate_is_free(),
        }
    }

    /// Whether ℓ carries the Cox–Reid term (so that ℓ at the fitted error
    /// rate does not bound it from below).
    pub fn is_adjusted(&self) -> bool {
        self.adjusted && self.free
    }

    /// ê_f at an f profiled before.
    pub fn error_rate_at(&self, f: f64) -> Option<f64> {
        if !self.free {
            return Some(self.model.error_rate);
        }
        let key = if f > 0.0 { f.ln() } else { f64::NEG_INFINITY };
        self.seen
            .borrow()
            .iter()
            .find(|p| p.0 == key)
            .map(|p| p.1.exp())
    }

    pub fn loglik(&self, f: f64) -> f64 {
        let model = self.model;
        if !self.free {
            return model.loglik(f);
        }
        // f = 0 sits at ln f = −∞, nearest to the smallest f seen.
        let key = if f > 0.0 { f.ln() } else { f64::NEG_INFINITY };
        let distance = |k: f64| {
            if k == key {
                f64::NEG_INFINITY
            } else if key == f64::NEG_INFINITY {
                k
            } else if k == f64::NEG_INFINITY {
                f64::INFINITY
            } else {
                (k - key).abs()
            }
        };
        let (nearest, below, above) = {
            let seen = self.seen.borrow();
            let nearest = seen
                .iter()
                .min_by(|a, b| distance(a.0).total_cmp(&distance(b.0)))
                .copied();
            // The nearest seen on either side, for interpolation.
            let below = seen
                .iter()
                .filter(|p| p.0 < key)
                .max_by(|a, b| a.0.total_cmp(&b.0))
                .copied();
            let above = seen
                .iter()
                .filter(|p| p.0 > key)
                .min_by(|a, b| a.0.total_cmp(&b.0))
                .copied();
            (nearest, below, above)
        };
        let start = match (nearest, below, above) {
            // Profiled before (ℓ(0) by the point estimate and the presence test).
            (Some((k, _, ll)), _, _) if k == key => return ll,
            // Between two f seen (the interval's and Brent's later steps):
            // ln ê interpolated linearly in ln f.
            (_, Some(b), Some(a)) if b.0.is_finite() => {
                b.1 + (a.1 - b.1) * (key - b.0) / (a.0 - b.0)
            }
            (Some((_, ln_e, _)), _, _) => ln_e,
            (None, _, _) => model.error_rate.ln(),
        };
        let (lo, hi) = self.bounds;
        // A first step of 1.5σ (σ from the last f) settles in one Newton step
        // when the start is within σ of ê_f.
        let step = self.scale.get().map_or(PROFILE_STEP, |sigma| {
            (1.5 * sigma).clamp(PROFILE_TOL, PROFILE_STEP)
        });
        let (ln_e, ll, sigma) = newton_max_scaled(lo, hi, start, step, PROFILE_TOL, |ln_e| {
            model.loglik_with(&model.table(f, ln_e.exp()))
        });
        // σ of ln ê_f: from the last Newton parabola, else from a central
        // second difference at ê_f. Where neither measures a curvature (ê_f at
        // a bound of the search, or ℓ flat in e there), the σ of the f
        // profiled last (the searches walk f in small steps), so that the
        // adjustment adds no constant of its own; a fixed step only when no f
        // has been profiled yet.
        let sigma = sigma.unwrap_or_else(|| {
            let h = PROFILE_STEP / 2.0;
            let at = |u: f64| model.loglik_with(&model.table(f, u.exp()));
            let second = (at(ln_e + h) - 2.0 * ll + at(ln_e - h)) / (h * h);
            if second < 0.0 {
                (-second).sqrt().recip()
            } else {
                self.scale.get().unwrap_or(PROFILE_STEP)
            }
        });
        self.scale.set(Some(sigma));
        // Cox–Reid adjustment for the profiled nuisance parameter:
        // ℓ_p(f) − ½ ln j_ee(f, ê_f), with j_ee = 1/σ² in ln e (Cox & Reid
        // 1987, JRSS B 49:1–39, §4). The plain profile reads the lowest
        // fractions low, because at f ≤ 0.2% the error rate absorbs donor
        // reads (1,000 SNPs, 1,000×, e = 0.2%, 200 replicates: bias at
        // 0.1%/0.2% unrelated −2.3/−1.8% → +0.1/−0.8%, parent–child
        // −7.5/−2.3% → −3.2/−0.2%, full sibling −10.8/−8.7% → −7.8/−7.3%,
        // coverage 92–98%).
        let ll = if self.adjusted { ll + sigma.ln() } else { ll };
        self.seen.borrow_mut().push((key, ln_e, ll));
        ll
    }
}

/// Maximise the likelihood over the error rate at fixed f (Newton steps on
/// ln e from the current rate, Brent's method over `bounds` where they do not
/// settle).
pub fn estimate_error_rate(model: &SampleModel, f: f64, bounds: (f64, f64)) -> f64 {
    if !model.error_rate_is_free() {
        return model.error_rate;
    }
    let table_ll = |ln_e: f64| model.loglik_with(&model.table(f, ln_e.exp()));
    let (lo, hi) = (bounds.0.ln(), bounds.1.ln());
    let (ln_e, _) = newton_max(lo, hi, model.error_rate.ln(), PROFILE_STEP, 1e-5, table_ll);
    ln_e.exp()
}

/// The error rate at fixed f, and with the beta-binomial also its dispersion ρ_e
/// (the best of `ERROR_RHO_STEPS` up to `ERROR_RHO_CAP`·ρ_s) and molecule share
/// w (`MOLECULE_SHARE_STEPS`).
pub fn fit_error(model: &mut SampleModel, f: f64, bounds: (f64, f64)) {
    update_signal_rho(model, f);
    let Some(disp) = model.molecular else {
        model.error_rate = estimate_error_rate(model, f, bounds);
        return;
    };
    // ρ_e and w jointly: one at a time, the error rate at w = 1 had absorbed
    // the donor reads before w could move (genotype-free real-read mixtures
    // at 0.5–1%: bias −45% and −27% against −15% and +7% jointly).
    let candidates: Vec<MoleculeDispersion> = MOLECULE_SHARE_STEPS
        .iter()
        .flat_map(|&molecule_share| {
            ERROR_RHO_STEPS
                .iter()
                .filter(|&&r| r <= ERROR_RHO_CAP * disp.signal_rho)
                .map(move |&error_rho| MoleculeDispersion {
                    error_rho,
                    molecule_share,
                    ..disp
                })
        })
        .collect();
    choose_read_model(model, f, &candidates, Some(bounds));
}

/// w at fixed f and error rate (two-genome draws whose error rate comes from
/// their concordant homozygous SNPs).
fn fit_molecule_share(model: &mut SampleModel, f: f64) {
    let Some(disp) = model.molecular else {
        return;
    };
    let candidates = MOLECULE_SHARE_STEPS.map(|molecule_share| MoleculeDispersion {
        molecule_share,
        ..disp
    });
    choose_read_model(model, f, &candidates, None);
}

/// The dispersion of `candidates` with the highest likelihood at f (the first
/// of equals), with the error rate refitted within `bounds` for each, or kept
/// where `bounds` is `None`; the model keeps the winner and its error rate.
fn choose_read_model(
    model: &mut SampleModel,
    f: f64,
    candidates: &[MoleculeDispersion],
    bounds: Option<(f64, f64)>,
) {
    let kept = model.error_rate;
    let mut best: Option<(MoleculeDispersion, f64, f64)> = None;
    for &d in candidates {
        model.molecular = Some(d);
        let e = bounds.map_or(kept, |b| estimate_error_rate(model, f, b));
        let ll = model.loglik_with(&model.table(f, e));
        if best.is_none_or(|b| ll > b.2) {
            best = Some((d, e, ll));
        }
    }
    if let Some((d, e, _)) = best {
        model.molecular = Some(d);
        model.error_rate = e;
    }
}

/// The heterozygous balance b and ρ_s at donor fraction f (the donor's own
/// alleles spread heterozygous SNPs too). b is measured in every mode: with
/// b ≠ ½ (reference bias) a model that assumes ½ reads recipient-heterozygous
/// SNPs as donor DNA (cfdna-model.md §7).
fn update_signal_rho(model: &mut SampleModel, f: f64) {
    let rho = model
        .molecular
        .map(|d| d.signal_rho)
        .unwrap_or(DEFAULT_BALANCE_RHO);
    if let Some(b) = het_balance_from_heterozygous(&model.het_sites, f, model.error_rate, rho) {
        model.het_balance = b;
    }
    // ρ_s only where the beta-binomial is in use (it was fitted and dropped
    // otherwise).
    if let Some(d) = model.molecular
        && let Some(signal_rho) =
            signal_rho_from_heterozygous(&model.het_sites, f, model.error_rate, model.het_balance)
    {
        model.molecular = Some(MoleculeDispersion { signal_rho, ..d });
    }
}

/// Error rate from SNPs where recipient and donor are homozygous for the same
/// allele (cfdna-model.md §4): every read of the other allele there is an error,
/// whatever f is. `None` when fewer than `min_snps` such SNPs have reads.
pub fn concordant_error_rate(model: &SampleModel, min_snps: usize) -> Option<f64> {
    let (mut wrong, mut total, mut sites) = (0u64, 0u64, 0usize);
    for snp in &model.snps {
        let terms = model.snp_terms(snp);
        if snp.depth == 0 || terms.len() != 1 {
            continue;
        }
        match terms[0].class {
            0 => wrong += u64::from(snp.alt),
            8 => wrong += u64::from(snp.depth - snp.alt),
            _ => continue,
        }
        total += u64::from(snp.depth);
        sites += 1;
    }
    (sites >= min_snps && total > 0).then(|| (wrong as f64 / total as f64).max(1e-6))
}

/// Pearson χ²/df per dispersion group at (f, e) over the SNPs that inform f, with
/// the genotype marginalised to its posterior mean where unknown (beta-binomial:
/// the marginal mixture moments). Returns (φ, SNP count) per group.
pub fn pearson_dispersion(model: &SampleModel, f: f64) -> [(f64, usize); 2] {
    let table = model.table(f, model.error_rate);
    let mut chi2 = [0.0f64; 2];
    let mut count = [0usize; 2];
    for snp in &model.snps {
        let terms = model.snp_terms(snp);
        // SNPs where recipient and donor share the genotype whatever it is carry
        // no information on f; their (error-only) reads vary less than donor
        // molecules do and would dilute the scale the f interval needs.
        let uninformative = terms.iter().all(|t| {
            let (r, d) = class_genotypes(t.class);
            r == d
        });
        if snp.depth == 0 || uninformative {
            continue;
        }
        let n = f64::from(snp.depth);
        let (mean, var) = match model.molecular {
            None => {
                let pi = posterior_alt_probability(snp, model.snp_terms(snp), &table);
                (n * pi, n * pi * (1.0 - pi))
            }
            Some(_) => marginal_moments(snp, model.snp_terms(snp), &table),
        };
        let resid = f64::from(snp.alt) - mean;
        let g = snp.group as usize;
        chi2[g] += resid * resid / var.max(1e-12);
        count[g] += 1;
    }
    let mut out = [(f64::NAN, 0usize); 2];
    for g in 0..2 {
        if count[g] > 1 {
            out[g] = (chi2[g] / (count[g] - 1) as f64, count[g]);
        } else {
            out[g] = (f64::NAN, count[g]);
        }
    }
    out
}

/// Mean and variance of a SNP's ALT reads under the beta-binomial mixture with
/// its prior genotype weights (the marginal model a Pearson χ² tests).
fn marginal_moments(
    snp: &SnpObservation,
    terms: &[GenotypeTerm],
    table: &ClassLogProbs,
) -> (f64, f64) {
    let n = f64::from(snp.depth);
    let (mut m1, mut m2) = (0.0, 0.0);
    for term in terms {
        let w = term.log_weight.exp();
        let (ln_alt, _) = class_log_probs(snp, term.class, table);
        let pi = ln_alt.exp();
        let rho = match table.beta {
            Some(b) => {
                let t = b[term.class as usize];
                1.0 / (t.alpha + t.beta + 1.0)
            }
            None => 0.0,
        };
        let mean = n * pi;
        let var = n * pi * (1.0 - pi) * (1.0 + (n - 1.0) * rho);
        m1 += w * mean;
        m2 += w * (var + mean * mean);
    }
    (m1, (m2 - m1 * m1).max(0.0))
}

fn dispersion_scales(phi: [(f64, usize); 2], min_snps: usize) -> [f64; 2] {
    let total_n: usize = phi.iter().map(|p| p.1).sum();
    let pooled = if total_n > 2 {
        phi.iter()
            .filter(|p| p.1 > 1)
            .map(|p| p.0 * (p.1 - 1) as f64)
            .sum::<f64>()
            / (total_n - 2).max(1) as f64
    } else {
        1.0
    };
    let mut scales = [1.0; 2];
    for g in 0..2 {
        let own = if phi[g].1 >= min_snps {
            phi[g].0
        } else {
            pooled
        };
        scales[g] = if own.is_finite() { own.max(1.0) } else { 1.0 };
    }
    scales
}

/// Pearson χ²/df with SNP counts per group, and the scales applied.
type GroupDispersion = ([(f64, usize); 2], [f64; 2]);

/// Chi-bar-square p-value for H0: f = 0 on the boundary: ½·P(χ²₁ ≥ LR).
pub fn presence_p_value(lr: f64) -> f64 {
    if lr <= 0.0 {
        1.0
    } else {
        0.5 * statrs::function::erf::erfc((lr / 2.0).sqrt())
    }
}

/// Estimate the donor fraction of every sample in a batch. Grid evaluations go
/// through `backend`; refinement, intervals and tests run on the host in f64, so
/// every backend reports through this one code path.
pub fn estimate_batch(
    models: &mut [SampleModel],
    backend: &dyn LoglikBackend,
    settings: &EstimatorSettings,
) -> Result<Vec<FractionEstimate>> {
    let grids = batch_grids(models, settings);
    let coarse = coarse_grids(&grids);
    let bracket = fit_error_rates(models, backend, settings, &coarse)?;
    estimate_with_fitted_errors(models, backend, settings, &coarse, bracket, &grids)
}

/// Every `COARSE_STEP`-th point of each grid (with 0 and the largest): enough
/// for the passes that only locate the maximum before the error rate and the
/// dispersion scales are fitted (their refinement brackets two cells either
/// side). The final pass, which guards against local optima and brackets the
/// interval ends, uses the whole grid.
fn coarse_grids(grids: &[Vec<f64>]) -> Vec<Vec<f64>> {
    grids
        .iter()
        .map(|g| {
            let last = g.len() - 1;
            g.iter()
                .enumerate()
                .filter(|&(i, _)| i % COARSE_STEP == 0 || i == last)
                .map(|(_, &f)| f)
                .collect()
        })
        .collect()
}

/// See `coarse_grids`.
const COARSE_STEP: usize = 2;

fn batch_grids(models: &[SampleModel], settings: &EstimatorSettings) -> Vec<Vec<f64>> {
    models
        .iter()
        .map(|m| {
            fraction_grid(
                m.max_fraction,
                settings.grid_points,
                settings.min_grid_fraction,
            )
        })
        .collect()
}

/// Point estimates only (no dispersion scaling, intervals or tests): what a
/// parametric simulation of many replicates needs (limits of blank and
/// detection).
pub fn estimate_point_fractions(
    models: &mut [SampleModel],
    backend: &dyn LoglikBackend,
    settings: &EstimatorSettings,
) -> Result<Vec<f64>> {
    let grids = batch_grids(models, settings);
    fit_error_rates(models, backend, settings, &coarse_grids(&grids))?;
    let values = backend.loglik_grids(models, &grids)?;
    Ok(models
        .par_iter()
        .zip(grids.par_iter().zip(values.par_iter()))
        .map(|(m, (g, v))| {
            let joint = concordant_error_rate(m, settings.min_concordant_snps).is_none();
            point_estimate(m, g, v, joint).0
        })
        .collect())
}

/// Below this log-likelihood gain over f = 0 the estimate is 0 (and reported
/// with a one-sided bound). A gain of 1e-3 is a likelihood-ratio statistic of
/// 0.002, f̂ within 0.05 standard errors of 0: no evidence of anything, and
/// far above the optimiser's tolerances, so that whether a draw is reported
/// as 0 (one-sided bound, χ²₁ 0.90) or as a tiny f̂ (two-sided, χ²₁ 0.95)
/// depends on the reads, not on the search's last digits or on the backend
/// (a gain of 1e-6 flipped such draws, moving their upper bound by 25%).
const ZERO_GAIN: f64 = 1e-3;

/// The point estimate: the maximum of the profile log-likelihood over the
/// error rate, max_e ℓ(f, e). The grid (at the fitted e) and the coordinate
/// ascent of `fit_error_rates` only find its neighbourhood: where just the
/// product of f and the donor-allele share is identified (recipient-only at
/// f ≤ 0.2%, where donor and error reads are of the same number), f and e
/// trade off along a ridge that a few coordinate steps do not climb. f read
/// 25–80% high when e started low, and 0 when e had absorbed the donor reads
/// (binomial reads, 1,000×, error 0.2%). So the profile itself is scanned on
/// a coarse subset of the grid and refined by Brent's method around its best.
pub fn point_estimate(
    model: &SampleModel,
    grid: &[f64],
    values: &[f64],
    joint_error: bool,
) -> (f64, f64) {
    point_estimate_on(&ErrorProfile::new(model, joint_error), model, grid, values)
}

fn point_estimate_on(
    profile: &ErrorProfile,
    model: &SampleModel,
    grid: &[f64],
    values: &[f64],
) -> (f64, f64) {
    let ll = |f: f64| profile.loglik(f);
    let (f_grid, _) = refine_maximum(model, grid, values);
    // Scan points: every PROFILE_SCAN_STEP-th grid point above 0, and the
    // grid's own maximum. They are profiled outwards from that maximum (where
    // ê is the fitted rate, so each profile starts from its neighbour's ê),
    // and a direction stops at the first point whose profile is both falling
    // and more than SCAN_DEVIANCE below the best so far: a bound on the
    // profile itself, so it holds at any depth and panel size, where a bound
    // on the grid's deviance (at the fitted e) would not.
    let mut coarse: Vec<f64> = grid
        .iter()
        .copied()
        .filter(|&f| f > 0.0)
        .step_by(PROFILE_SCAN_STEP)
        .collect();
    if f_grid > 0.0 {
        coarse.push(f_grid);
    }
    coarse.sort_by(f64::total_cmp);
    let centre = if f_grid > 0.0 {
        coarse.iter().position(|&f| f == f_grid).unwrap_or(0)
    } else {
        0
    };
    let mut values_at: Vec<Option<f64>> = vec![None; coarse.len()];
    let mut top = f64::NEG_INFINITY;
    if let Some(&f) = coarse.get(centre) {
        let v = ll(f);
        values_at[centre] = Some(v);
        top = v;
    }
    for step in [1isize, -1] {
        let mut prev = values_at.get(centre).copied().flatten();
        let mut i = centre as isize + step;
        while i >= 0 && (i as usize) < coarse.len() {
            let v = ll(coarse[i as usize]);
            values_at[i as usize] = Some(v);
            top = top.max(v);
            let falling = prev.is_some_and(|p| v < p);
            if falling && 2.0 * (top - v) > SCAN_DEVIANCE {
                break;
            }
            prev = Some(v);
            i += step;
        }
    }
    let scanned: Vec<(f64, f64)> = coarse
        .iter()
        .zip(&values_at)
        .filter_map(|(&f, v)| v.map(|v| (f, v)))
        .collect();
    let best = (0..scanned.len())
        .max_by(|&a, &b| scanned[a].1.total_cmp(&scanned[b].1))
        .unwrap_or(0);
    let smallest = grid.iter().copied().find(|&f| f > 0.0).unwrap_or(1e-5);
    let lo = if best > 0 {
        scanned[best - 1].0
    } else {
        smallest / 3.0
    };
    let hi = scanned.get(best + 1).map_or(grid[grid.len() - 1], |x| x.0);
    // Brent to 1e-4 in ln f: f̂ to 1e-4 of itself, beyond the digits reported.
    let (ln_f, mut ll_hat) = brent_max(lo.ln(), hi.ln(), 0.0, 1e-4, |x| ll(x.exp()));
    let mut f_hat = ln_f.exp();
    if let Some(&(f, l)) = scanned.get(best)
        && l > ll_hat
    {
        (f_hat, ll_hat) = (f, l);
    }
    let ll_zero = ll(0.0);
    if ll_zero + ZERO_GAIN >= ll_hat {
        return (0.0, ll_zero.max(ll_hat));
    }
    (f_hat, ll_hat)
}

/// Every this many grid points the profile is evaluated to find its maximum
/// (a step of ×1.75 on the default grid).
const PROFILE_SCAN_STEP: usize = 2;
/// See `point_estimate`: the profile's scan stops in a direction once the
/// profile has fallen this far (2Δℓ) below its best.
const SCAN_DEVIANCE: f64 = 200.0;

/// Reset weights and fit each sample's error rate: from concordant homozygous
/// SNPs where there are enough, else jointly with f.
fn fit_error_rates(
    models: &mut [SampleModel],
    backend: &dyn LoglikBackend,
    settings: &EstimatorSettings,
    grids: &[Vec<f64>],
) -> Result<Option<Vec<Vec<f64>>>> {
    for m in models.iter_mut() {
        m.error_rate = settings.initial_error_rate;
        m.het_balance =
            het_balance_from_heterozygous(&m.het_sites, 0.0, m.error_rate, DEFAULT_BALANCE_RHO)
                .unwrap_or(0.5);
        for snp in &mut m.snps {
            snp.weight = 1.0;
        }
        m.molecular = if settings.overdispersion.beta_binomial_for(m.mode) {
            signal_rho_from_heterozygous(&m.het_sites, 0.0, m.error_rate, m.het_balance).map(
                |signal_rho| MoleculeDispersion {
                    signal_rho,
                    error_rho: 0.0,
                    molecule_share: 1.0,
                },
            )
        } else {
            None
        };
    }

    // Two-genome samples with enough concordant homozygous SNPs take e from
    // them directly; the others estimate (f, e) jointly by coordinate ascent:
    // f on the grid, then e at that f.
    let fixed_error: Vec<Option<f64>> = models
        .iter()
        .map(|m| concordant_error_rate(m, settings.min_concordant_snps))
        .collect();
    for (m, e) in models.iter_mut().zip(&fixed_error) {
        if let Some(e) = e {
            m.error_rate = *e;
        }
    }
    let mut last = None;
    for _ in 0..settings.error_iterations {
        let values = backend.loglik_grids(models, grids)?;
        models
            .par_iter_mut()
            .zip(grids.par_iter().zip(values.par_iter()))
            .zip(fixed_error.par_iter())
            .for_each(|((m, (g, v)), fixed)| {
                let (f, _) = refine_maximum(m, g, v);
                if fixed.is_some() {
                    update_signal_rho(m, f);
                    fit_molecule_share(m, f);
                } else {
                    fit_error(m, f, settings.error_bounds);
                }
            });
        last = Some(values);
    }
    // The last pass's values (at the error rate before its final update):
    // enough to bracket the maximum once more.
    Ok(last)
}

/// Dispersion scales, final grid, refinement, intervals and tests.
fn estimate_with_fitted_errors(
    models: &mut [SampleModel],
    backend: &dyn LoglikBackend,
    settings: &EstimatorSettings,
    coarse: &[Vec<f64>],
    bracket: Option<Vec<Vec<f64>>>,
    grids: &[Vec<f64>],
) -> Result<Vec<FractionEstimate>> {
    // Dispersion at the current fit; quasi-likelihood weights per group. The
    // error fit's last grid values bracket the maximum (refinement is at the
    // current rate).
    let values = match bracket {
        Some(v) => v,
        None => backend.loglik_grids(models, coarse)?,
    };
    let dispersion: Vec<GroupDispersion> = models
        .par_iter_mut()
        .zip(coarse.par_iter().zip(values.par_iter()))
        .map(|(m, (g, v))| {
            let (f, _) = refine_maximum(m, g, v);
            let phi = pearson_dispersion(m, f);
            let scales = match settings.overdispersion {
                Overdispersion::None => [1.0, 1.0],
                Overdispersion::Quasi | Overdispersion::BetaBinomial | Overdispersion::Auto => {
                    dispersion_scales(phi, settings.min_snps_per_dispersion_group)
                }
            };
            for snp in &mut m.snps {
                snp.weight = 1.0 / scales[snp.group as usize];
            }
            (phi, scales)
        })
        .collect();

    let values = backend.loglik_grids(models, grids)?;
    let mut estimates: Vec<FractionEstimate> = models
        .par_iter()
        .zip(grids.par_iter().zip(values.par_iter()))
        .zip(dispersion.par_iter())
        .map(|((m, (g, v)), (phi, scales))| {
            let joint = concordant_error_rate(m, settings.min_concordant_snps).is_none();
            finish_estimate(m, g, v, *phi, *scales, settings.detection_alpha, joint)
        })
        .collect();
    if settings.bootstrap_replicates > 0 {
        let replicates = backend.bootstrap_estimates(
            models,
            grids,
            settings.bootstrap_replicates,
            settings.bootstrap_seed,
        )?;
        for (e, r) in estimates.iter_mut().zip(&replicates) {
            e.bootstrap_interval = Some(percentile_interval(r));
        }
    }
    Ok(estimates)
}

fn finish_estimate(
    model: &SampleModel,
    grid: &[f64],
    values: &[f64],
    phi: [(f64, usize); 2],
    scales: [f64; 2],
    alpha: f64,
    joint_error: bool,
) -> FractionEstimate {
    let profile = ErrorProfile::new(model, joint_error);
    let ll = |f: f64| profile.loglik(f);
    let (f_hat, ll_hat) = point_estimate_on(&profile, model, grid, values);
    // The error rate reported is the profile's maximiser at f̂ (the joint
    // maximum), not the rate the coordinate ascent ended at.
    let error_rate = profile.error_rate_at(f_hat).unwrap_or(model.error_rate);
    let (interval, crit) = if f_hat <= 0.0 {
        (IntervalKind::OneSidedUpper, CHI2_90)
    } else {
        (IntervalKind::TwoSided, CHI2_95)
    };
    let (ci_low, ci_high, at_limit) = profile_interval(
        &ll,
        grid,
        values,
        f_hat,
        ll_hat,
        crit,
        !profile.is_adjusted(),
    );
    let lr = (2.0 * (ll_hat - ll(0.0))).max(0.0);
    let p_value = presence_p_value(lr);
    FractionEstimate {
        donor_fraction: f_hat,
        ci_low,
        ci_high,
        interval,
        ci_high_at_search_limit: at_limit,
        search_limit: grid[grid.len() - 1],
        loglik_max: ll_hat,
        lr_statistic: lr,
        p_value,
        detected: p_value < alpha,
        error_rate,
        dispersion: [phi[0].0, phi[1].0],
        dispersion_scale: scales,
        bootstrap_interval: None,
        molecular: model.molecular,
    }
}

/// Widen `main` to cover `other`, an estimate of the same draw under another
/// assumption the data cannot rule out (model::frequency spectra): the interval
/// becomes the union, the presence test the least significant of the two.
pub fn join_interval(main: &mut FractionEstimate, other: &FractionEstimate) {
    main.ci_low = main.ci_low.min(other.ci_low);
    main.ci_high = main.ci_high.max(other.ci_high);
    main.ci_high_at_search_limit |= other.ci_high_at_search_limit;
    if other.p_value > main.p_value {
        main.p_value = other.p_value;
        main.lr_statistic = other.lr_statistic;
        main.detected = other.detected;
    }
    if let (Some(a), Some(b)) = (main.bootstrap_interval, other.bootstrap_interval) {
        main.bootstrap_interval = Some((a.0.min(b.0), a.1.max(b.1)));
    }
}

/// Counts of SNPs per dispersion group, for reporting.
pub fn group_counts(model: &SampleModel) -> [usize; 2] {
    let mut c = [0usize; 2];
    for snp in &model.snps {
        if snp.depth > 0 {
            match snp.group {
                DispersionGroup::RecipientHomozygous => c[0] += 1,
                DispersionGroup::RecipientHeterozygous => c[1] += 1,
            }
        }
    }
    c
}
