//! The SNPs of one draw laid out for vector units (structure of arrays), and
//! the vectorised evaluation of ℓ(table) over them: the arithmetic of
//! `likelihood::snp_loglik`, `LANES` SNPs at a time.
//!
//! SNPs are grouped by their *signature*, the list of genotype classes of
//! their terms (two-genome: one class; recipient-only: (r, 0..2); genotype-
//! free: up to nine). Within a group every SNP looks up the same table rows,
//! so the per-class values (ln π, ln(1 − π), the beta parameters) are
//! broadcast and only the counts, prior weights and saturated terms stream
//! from memory. SNPs with per-site error rates (their own π) take the scalar
//! path. The weights (1/φ, bootstrap counts) are read live from the model,
//! so changing them needs no new layout.

use super::lane_math::{LANES, Lanes, exp, lanes, ln};
use super::likelihood::{ClassLogProbs, OUTLIER_SHARE, SampleModel, snp_loglik};

/// SNPs sharing one list of genotype classes, padded to whole lanes.
#[derive(Debug, Clone)]
struct SignatureGroup {
    classes: Vec<u8>,
    /// Index of each slot's SNP in the model; `u32::MAX` for padding.
    index: Vec<u32>,
    k: Vec<f64>,
    nk: Vec<f64>,
    n: Vec<f64>,
    saturated: Vec<f64>,
    /// saturated + ln C(n, k): the shift to the ln P(k) scale.
    shift: Vec<f64>,
    /// ln(OUTLIER_SHARE / (n + 1)).
    outlier: Vec<f64>,
    /// ln prior weight of term t of slot i at `t · len + i`.
    log_weight: Vec<f64>,
}

impl SignatureGroup {
    fn len(&self) -> usize {
        self.index.len()
    }
}

/// A draw's SNPs in signature groups plus the scalar remainder.
#[derive(Debug, Clone)]
pub struct SnpLayout {
    /// (SNPs, terms) of the model it was built from.
    key: (usize, usize),
    groups: Vec<SignatureGroup>,
    scalar_snps: Vec<u32>,
}

impl SnpLayout {
    pub fn new(model: &SampleModel) -> SnpLayout {
        let mut signatures: Vec<(Vec<u8>, Vec<u32>)> = Vec::new();
        let mut scalar_snps = Vec::new();
        for (i, snp) in model.snps.iter().enumerate() {
            if snp.site_error.is_some() || snp.term_count == 0 {
                scalar_snps.push(i as u32);
                continue;
            }
            let classes: Vec<u8> = model.snp_terms(snp).iter().map(|t| t.class).collect();
            match signatures.iter_mut().find(|(c, _)| *c == classes) {
                Some((_, members)) => members.push(i as u32),
                None => signatures.push((classes, vec![i as u32])),
            }
        }
        let groups = signatures
            .into_iter()
            .map(|(classes, members)| {
                let len = members.len().div_ceil(LANES) * LANES;
                let mut g = SignatureGroup {
                    classes,
                    index: vec![u32::MAX; len],
                    // Padding: a harmless finite SNP (k = 0, n = 1) of weight 0.
                    k: vec![0.0; len],
                    nk: vec![1.0; len],
                    n: vec![1.0; len],
                    saturated: vec![0.0; len],
                    shift: vec![0.0; len],
                    outlier: vec![(OUTLIER_SHARE / 2.0).ln(); len],
                    log_weight: Vec::new(),
                };
                g.log_weight = vec![0.0; g.classes.len() * len];
                for (slot, &i) in members.iter().enumerate() {
                    let snp = &model.snps[i as usize];
                    g.index[slot] = i;
                    g.k[slot] = f64::from(snp.alt);
                    g.nk[slot] = f64::from(snp.depth - snp.alt);
                    g.n[slot] = f64::from(snp.depth);
                    g.saturated[slot] = snp.saturated;
                    g.shift[slot] = snp.saturated + snp.ln_choose;
                    g.outlier[slot] = (OUTLIER_SHARE / (f64::from(snp.depth) + 1.0)).ln();
                    for (t, term) in model.snp_terms(snp).iter().enumerate() {
                        g.log_weight[t * len + slot] = term.log_weight;
                    }
                }
                g
            })
            .collect();
        SnpLayout {
            key: (model.snps.len(), model.terms.len()),
            groups,
            scalar_snps,
        }
    }

    /// Whether this layout was built from a model of this shape.
    pub fn fits(&self, model: &SampleModel) -> bool {
        self.key == (model.snps.len(), model.terms.len())
    }

    /// The SNP weights in each group's slot order (0 for padding): what
    /// `loglik_weighted` reads, gathered once for a pass over many tables.
    pub fn slot_weights(&self, model: &SampleModel) -> SlotWeights {
        SlotWeights(
            self.groups
                .iter()
                .map(|g| {
                    g.index
                        .iter()
                        .map(|&i| model.snps.get(i as usize).map_or(0.0, |s| s.weight))
                        .collect()
                })
                .collect(),
        )
    }

    /// Σ_i w_i · snp_loglik(i) at `table`, vectorised over the groups.
    pub fn loglik(&self, model: &SampleModel, table: &ClassLogProbs) -> f64 {
        self.loglik_weighted(model, table, &self.slot_weights(model))
    }

    /// `loglik` with the weights already gathered by `slot_weights` (from
    /// this model, with its weights as they are now). A grid pass gathers
    /// them once for all its grid points: read through each SNP's record
    /// per evaluation, they cost the binomial pass a cache line per SNP.
    pub fn loglik_weighted(
        &self,
        model: &SampleModel,
        table: &ClassLogProbs,
        weights: &SlotWeights,
    ) -> f64 {
        self.loglik_many(model, std::slice::from_ref(table), weights)[0]
    }

    /// `loglik_weighted` at each of `tables`, `TABLES_PER_SWEEP` of them per
    /// sweep over the SNPs.
    pub fn loglik_many(
        &self,
        model: &SampleModel,
        tables: &[ClassLogProbs],
        weights: &SlotWeights,
    ) -> Vec<f64> {
        let mut out = Vec::with_capacity(tables.len());
        for chunk in tables.chunks(TABLES_PER_SWEEP) {
            let totals = simd_arch().dispatch(GroupsLoglik {
                groups: &self.groups,
                tables: chunk,
                weights: &weights.0,
            });
            for (table, vector) in chunk.iter().zip(totals) {
                let scalar: f64 = self
                    .scalar_snps
                    .iter()
                    .map(|&i| {
                        let snp = &model.snps[i as usize];
                        snp.weight * snp_loglik(snp, model.snp_terms(snp), table)
                    })
                    .sum();
                out.push(vector + scalar);
            }
        }
        out
    }
}

/// A model's SNP weights in its layout's slot order (`SnpLayout::slot_weights`).
#[derive(Debug, Clone)]
pub struct SlotWeights(Vec<Vec<f64>>);

/// The vectorised part of `SnpLayout::loglik`. A `WithSimd` with an
/// always-inlined body so that everything in it (plain loops only: an
/// iterator adaptor or closure is a separate function, compiled without the
/// vector features) is compiled for the instruction set pulp picks.
struct GroupsLoglik<'a> {
    groups: &'a [SignatureGroup],
    /// Up to `TABLES_PER_SWEEP` tables, each summed into its own total.
    tables: &'a [ClassLogProbs],
    /// Each group's SNP weights in slot order (0 for padding).
    weights: &'a [Vec<f64>],
}

impl pulp::WithSimd for GroupsLoglik<'_> {
    type Output = [f64; TABLES_PER_SWEEP];

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) -> [f64; TABLES_PER_SWEEP] {
        let mut totals = [0.0; TABLES_PER_SWEEP];
        for (g, w) in self.groups.iter().zip(self.weights) {
            group_loglik(g, self.tables, w, &mut totals);
        }
        totals
    }
}

/// Tables evaluated in one sweep over a draw's SNPs: the counts, weights and
/// saturated terms are read once for all of them. A binomial term is a few
/// flops per 40 bytes, so one table per sweep left the two-genome pass bound
/// by reading the layout and by the per-evaluation overhead.
pub const TABLES_PER_SWEEP: usize = 8;

/// The instruction set detected once per process (pulp dispatches each
/// vectorised loop to AVX-512, AVX2+FMA or SSE accordingly).
pub fn simd_arch() -> pulp::Arch {
    static ARCH: std::sync::OnceLock<pulp::Arch> = std::sync::OnceLock::new();
    *ARCH.get_or_init(pulp::Arch::new)
}

/// One group's weighted sum; the body of the SNP loop is `snp_loglik`'s
/// arithmetic on `LANES` SNPs at once.
#[inline(always)]
fn group_loglik(
    g: &SignatureGroup,
    tables: &[ClassLogProbs],
    weights: &[f64],
    totals: &mut [f64; TABLES_PER_SWEEP],
) {
    let len = g.len();
    let binomial = tables
        .iter()
        .all(|t| t.beta.is_none() && t.dispersion.is_none());
    if g.classes.len() == 1 && binomial {
        // One binomial term per SNP (two-genome): Σ w·(lw + k·ln π + (n − k)·
        // ln(1 − π) − sat) = ln π·Σw·k + ln(1 − π)·Σw·(n − k) + Σw·(lw − sat),
        // the same sum regrouped by class. One sweep gathers the three sums,
        // and each table then costs two multiply-adds, however many SNPs.
        let mut sums = [[0.0f64; LANES]; 3];
        let mut at = 0;
        while at < len {
            let w = lanes(weights, at);
            let k = lanes(&g.k, at);
            let nk = lanes(&g.nk, at);
            let lw = lanes(&g.log_weight, at);
            let sat = lanes(&g.saturated, at);
            for l in 0..LANES {
                sums[0][l] += w[l] * k[l];
                sums[1][l] += w[l] * nk[l];
                sums[2][l] += w[l] * (lw[l] - sat[l]);
            }
            at += LANES;
        }
        let [wk, wnk, rest] = sums.map(|v| v.iter().sum::<f64>());
        let c = g.classes[0] as usize;
        for (total, table) in totals.iter_mut().zip(tables) {
            *total += table.ln_alt[c] * wk + table.ln_ref[c] * wnk + rest;
        }
        return;
    }
    let mut acc = [[0.0f64; LANES]; TABLES_PER_SWEEP];
    let mut at = 0;
    while at < len {
        let k = lanes(&g.k, at);
        let nk = lanes(&g.nk, at);
        let sat = lanes(&g.saturated, at);
        let w = lanes(weights, at);
        for (a, table) in acc.iter_mut().zip(tables) {
            let model = lane_group_model(g, table, at, &k, &nk, &sat);
            for l in 0..LANES {
                a[l] += w[l] * model[l];
            }
        }
        at += LANES;
    }
    for (total, a) in totals.iter_mut().zip(&acc) {
        for v in a {
            *total += v;
        }
    }
}

/// `snp_loglik` of the `LANES` SNPs from slot `at` under one table.
#[inline(always)]
fn lane_group_model(
    g: &SignatureGroup,
    table: &ClassLogProbs,
    at: usize,
    k: &Lanes,
    nk: &Lanes,
    sat: &Lanes,
) -> Lanes {
    let len = g.len();
    let terms = g.classes.len();
    let ln_keep = (1.0 - OUTLIER_SHARE).ln();
    let mut values = [[0.0f64; LANES]; 9];
    let mut best = [f64::NEG_INFINITY; LANES];
    for (t, v) in values.iter_mut().enumerate().take(terms) {
        let c = g.classes[t] as usize;
        let lw = lanes(&g.log_weight, t * len + at);
        match &table.beta {
            None => {
                let (la, lr) = (table.ln_alt[c], table.ln_ref[c]);
                for l in 0..LANES {
                    v[l] = lw[l] + (k[l] * la + nk[l] * lr);
                }
            }
            Some(beta) => {
                let n = lanes(&g.n, at);
                let ln_pmf = beta[c].ln_pmf_lanes(k, nk, &n);
                for l in 0..LANES {
                    v[l] = lw[l] + ln_pmf[l];
                }
            }
        }
        for l in 0..LANES {
            best[l] = best[l].max(v[l]);
        }
    }
    let mut model = [0.0; LANES];
    let mut sum = [1.0; LANES];
    if terms > 1 {
        sum = [0.0; LANES];
        for v in values.iter().take(terms) {
            for l in 0..LANES {
                sum[l] += exp(v[l] - best[l]);
            }
        }
    }
    if table.dispersion.is_some() {
        // `snp_loglik`'s log_add((1 − s)·P(k), outlier) with the ln of the
        // term sum folded into it: with c = ln(1 − s) + best − saturated +
        // shift and d = c − outlier, ln(sum·e^c + e^outlier) is
        // c + ln(sum + e^−d) for d ≥ 0 and outlier + ln(sum·e^d + 1)
        // below. One exp and one ln per SNP where the separate steps take
        // one exp and two ln (the ln's division is the pass's longest
        // latency); every exp argument is ≤ 0 and sum ≥ 1, so nothing
        // overflows.
        let shift = lanes(&g.shift, at);
        let outlier = lanes(&g.outlier, at);
        for l in 0..LANES {
            let c = ln_keep + best[l] - sat[l] + shift[l];
            let d = c - outlier[l];
            let t = exp(-d.abs());
            let above = d >= 0.0;
            let base = if above { c } else { outlier[l] };
            let arg = if above {
                sum[l] + t
            } else {
                sum[l].mul_add(t, 1.0)
            };
            model[l] = base + ln(arg) - shift[l];
        }
    } else if terms == 1 {
        for l in 0..LANES {
            model[l] = values[0][l] - sat[l];
        }
    } else {
        for l in 0..LANES {
            model[l] = best[l] + ln(sum[l]) - sat[l];
        }
    }
    model
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::dispersion::MoleculeDispersion;
    use crate::model::frequency::{AltFrequency, Spectrum};
    use crate::model::likelihood::EstimationMode;
    use crate::model::relationship::Relationship;

    fn scalar(model: &SampleModel, table: &ClassLogProbs) -> f64 {
        model
            .snps
            .iter()
            .map(|snp| snp.weight * snp_loglik(snp, model.snp_terms(snp), table))
            .sum()
    }

    fn model(mode: EstimationMode) -> SampleModel {
        let mut m = SampleModel::new(mode);
        let kappa = Relationship::FullSibling.kappa();
        for i in 0..203u32 {
            let depth = 40 + (i * 37) % 1900;
            let alt = match i % 5 {
                0 => 0,
                1 => (i * 3) % 7,
                2 => depth / 2,
                3 => depth - (i % 4),
                _ => depth / 30,
            };
            let q = AltFrequency::Exact(0.05 + 0.9 * f64::from(i % 17) / 17.0);
            let r = (i % 3) as u8;
            match mode {
                EstimationMode::TwoGenome => m.push_two_genome(alt, depth, r, ((i / 3) % 3) as u8),
                EstimationMode::RecipientOnly => {
                    m.push_recipient_only(alt, depth, r, q, Spectrum::FLAT, kappa)
                }
                EstimationMode::GenotypeFree => {
                    m.push_genotype_free(alt, depth, q, Spectrum::FLAT, kappa)
                }
            }
            m.snps[i as usize].weight = 0.5 + f64::from(i % 4) / 3.0;
        }
        m.snps[7].site_error = Some([1e-3, 2e-3]);
        m
    }

    #[test]
    fn vectorised_loglik_equals_the_per_snp_sum_in_every_mode_and_read_model() {
        for mode in [
            EstimationMode::TwoGenome,
            EstimationMode::RecipientOnly,
            EstimationMode::GenotypeFree,
        ] {
            let mut m = model(mode);
            let layout = SnpLayout::new(&m);
            assert!(layout.fits(&m));
            for dispersion in [
                None,
                Some(MoleculeDispersion {
                    signal_rho: 0.02,
                    error_rho: 1e-3,
                    molecule_share: 1.0,
                }),
                Some(MoleculeDispersion {
                    signal_rho: 1e-6,
                    error_rho: 0.0,
                    molecule_share: 1.0,
                }),
                Some(MoleculeDispersion {
                    signal_rho: 0.03,
                    error_rho: 3e-4,
                    molecule_share: 0.2,
                }),
            ] {
                m.molecular = dispersion;
                for f in [0.0, 1e-4, 0.013, 0.2, 0.49] {
                    for e in [1e-6, 1e-3, 0.03] {
                        let table = ClassLogProbs::with_dispersion(f, e, 0.47, dispersion);
                        let want = scalar(&m, &table);
                        let got = layout.loglik(&m, &table);
                        // Two evaluation orders of ln Γ(n + α + β) differ by
                        // its rounding, ~ε·x·ln x: 2e-9 per term at ρ = 1e-6
                        // (α + β ≈ 1e6), where the lanes fuse a multiply-add
                        // that the scalar series rounds twice.
                        let floor: f64 = dispersion.map_or(0.0, |d| {
                            m.snps
                                .iter()
                                .map(|s| {
                                    let x = f64::from(s.depth) + 1.0 / d.signal_rho;
                                    s.weight * f64::from(s.term_count) * x * x.ln()
                                })
                                .sum::<f64>()
                                * 4.0
                                * f64::EPSILON
                        });
                        assert!(
                            (got - want).abs() <= 1e-10 * want.abs().max(1.0) + floor,
                            "{mode:?} {dispersion:?} f {f} e {e}: {got} vs {want}"
                        );
                    }
                }
            }
        }
    }
}
