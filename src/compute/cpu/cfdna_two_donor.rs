//! CPU twin of `shaders/cfdna_two_donor.wgsl`: the two-donor log-likelihood
//! of every draw at every (f1, f2) grid point, with ln π and ln(1 − π)
//! tabulated per (grid point, genotype class) before the SNP loop, exactly as
//! the kernel receives them. Runs in f64.

use crate::model::two_donor::{TwoDonorModel, TwoDonorTable};

/// ℓ(f1, f2) of each draw over its grid, at the draw's error rate.
pub fn two_donor_loglik_grids(
    models: &[TwoDonorModel],
    grids: &[Vec<(f64, f64)>],
) -> Vec<Vec<f64>> {
    super::per_grid_point(grids, |s, &(f1, f2)| {
        let m = &models[s];
        m.loglik_with(&TwoDonorTable::new(f1, f2, m.error_rate))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Relationship;
    use crate::model::two_donor::{TwoDonorSnp, two_donor_grid};

    /// The per-SNP likelihood written out from cfdna-model.md §2.4, without
    /// the class table: Σ_i ln Σ_(d1, d2) P(d1) P(d2) Bin(k; n, π) − saturated.
    fn direct_loglik(snps: &[TwoDonorSnp], f1: f64, f2: f64, e: f64) -> f64 {
        let kappa = Relationship::Unrelated.kappa();
        let prior = |d: Option<u8>, r: u8, q: f64| -> Vec<(u8, f64)> {
            match d {
                Some(g) => vec![(g, 1.0)],
                None => (0..=2u8)
                    .map(|g| {
                        (
                            g,
                            crate::model::genotype_prior::donor_given_recipient(g, r, q, kappa),
                        )
                    })
                    .collect(),
            }
        };
        snps.iter()
            .filter(|s| s.depth > 0)
            .map(|s| {
                let (k, n) = (f64::from(s.alt), f64::from(s.depth));
                let mut l = 0.0;
                for (d1, w1) in prior(s.donor1, s.recipient, s.alt_frequency) {
                    for (d2, w2) in prior(s.donor2, s.recipient, s.alt_frequency) {
                        let p = (1.0 - f1 - f2) * f64::from(s.recipient) / 2.0
                            + f1 * f64::from(d1) / 2.0
                            + f2 * f64::from(d2) / 2.0;
                        let pi = e + (1.0 - 2.0 * e) * p;
                        l += w1 * w2 * pi.powf(k) * (1.0 - pi).powf(n - k);
                    }
                }
                let sat = crate::model::likelihood::saturated_loglik(s.alt, s.depth);
                l.ln() - sat
            })
            .sum()
    }

    fn snps() -> Vec<TwoDonorSnp> {
        // Shallow counts (so the direct product of powers stays in range),
        // both donors typed, donor 2 untyped, and a SNP without reads.
        (0..120u32)
            .map(|i| {
                let r = [0u8, 2, 0, 1][i as usize % 4];
                let d1 = Some(((i / 4) % 3) as u8);
                let d2 = (i % 3 != 0).then_some(((i / 2) % 3) as u8);
                let depth = if i == 7 { 0 } else { 20 + i % 17 };
                TwoDonorSnp {
                    alt: (i * 7) % (depth + 1),
                    depth,
                    recipient: r,
                    donor1: d1,
                    donor2: if r == 1 { d2.or(Some(1)) } else { d2 },
                    alt_frequency: 0.1 + 0.8 * f64::from(i % 11) / 10.0,
                }
            })
            .collect()
    }

    #[test]
    fn twin_equals_the_per_snp_two_donor_likelihood_over_the_whole_grid() {
        let snps = snps();
        let kappa = Relationship::Unrelated.kappa();
        let mut model = TwoDonorModel::new(&snps, kappa, kappa);
        model.error_rate = 0.004;
        let grid = two_donor_grid();
        let out = two_donor_loglik_grids(std::slice::from_ref(&model), std::slice::from_ref(&grid));
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].len(), grid.len());
        for (&(f1, f2), &v) in grid.iter().zip(&out[0]) {
            let want = direct_loglik(&snps, f1, f2, 0.004);
            assert!(
                (v - want).abs() <= 1e-8 * want.abs().max(1.0),
                "({f1}, {f2}): twin {v}, direct {want}"
            );
            assert_eq!(v.to_bits(), model.loglik(f1, f2).to_bits(), "({f1}, {f2})");
        }
    }

    #[test]
    fn empty_grids_give_empty_rows_and_each_draw_keeps_its_own_error_rate() {
        let snps = snps();
        let kappa = Relationship::Unrelated.kappa();
        let mut a = TwoDonorModel::new(&snps, kappa, kappa);
        let mut b = a.clone();
        a.error_rate = 0.001;
        b.error_rate = 0.01;
        let grid = vec![(0.02, 0.05), (0.1, 0.0)];
        let out = two_donor_loglik_grids(
            &[a.clone(), b.clone(), a.clone()],
            &[grid.clone(), grid.clone(), Vec::new()],
        );
        assert_eq!(out[0], vec![a.loglik(0.02, 0.05), a.loglik(0.1, 0.0)]);
        assert_eq!(out[1], vec![b.loglik(0.02, 0.05), b.loglik(0.1, 0.0)]);
        assert_ne!(out[0], out[1]);
        assert!(out[2].is_empty());
    }
}
