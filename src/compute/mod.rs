//! Compute backends for the heavy numerical work. Each GPU kernel in `shaders/`
//! has a CPU twin in `cpu/` with the same name; the twin is the fallback on
//! machines without a GPU and the oracle in differential tests.

pub mod cpu;
pub mod gpu;
pub mod select;
pub mod synthetic;

use crate::error::Result;
use crate::model::SampleModel;

// The estimator owns the interface it drives (model::backend); the backends
// here implement it.
pub use crate::model::backend::{BackendInfo, LoglikBackend};

/// Runs the models a binomial-only kernel can evaluate through `kernel` and the
/// others (beta-binomial reads, per-site error tables) through the CPU twin
/// `twin`: each side sees an empty grid for the samples it does not own, and the
/// results are merged in sample order. One call when every model is binomial.
pub fn split_binomial(
    models: &[SampleModel],
    grids: &[Vec<f64>],
    kernel: impl FnOnce(&[Vec<f64>]) -> Result<Vec<Vec<f64>>>,
    twin: impl FnOnce(&[Vec<f64>]) -> Result<Vec<Vec<f64>>>,
) -> Result<Vec<Vec<f64>>> {
    let on_kernel: Vec<bool> = models.iter().map(SampleModel::binomial_only).collect();
    if on_kernel.iter().all(|&k| k) {
        return kernel(grids);
    }
    let pick = |mine: bool| -> Vec<Vec<f64>> {
        grids
            .iter()
            .zip(&on_kernel)
            .map(|(g, &k)| if k == mine { g.clone() } else { Vec::new() })
            .collect()
    };
    let kernel_out = if on_kernel.iter().any(|&k| k) {
        kernel(&pick(true))?
    } else {
        vec![Vec::new(); models.len()]
    };
    let twin_out = twin(&pick(false))?;
    Ok(kernel_out
        .into_iter()
        .zip(twin_out)
        .zip(&on_kernel)
        .map(|((k, t), &on)| if on { k } else { t })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::EstimationMode;
    use crate::model::dispersion::MoleculeDispersion;

    #[test]
    fn split_binomial_sends_each_sample_to_one_side_and_merges_in_order() {
        let binomial = SampleModel::new(EstimationMode::TwoGenome);
        let mut beta = SampleModel::new(EstimationMode::RecipientOnly);
        beta.molecular = Some(MoleculeDispersion {
            signal_rho: 0.01,
            error_rho: 0.0,
        });
        let models = vec![binomial.clone(), beta, binomial];
        let grids = vec![vec![0.0, 0.1], vec![0.0, 0.2, 0.3], vec![0.5]];
        // Each side marks what it saw; a sample it does not own arrives empty.
        let out = split_binomial(
            &models,
            &grids,
            |g| {
                assert!(g[1].is_empty() && !g[0].is_empty() && !g[2].is_empty());
                Ok(g.iter()
                    .map(|v| v.iter().map(|x| x + 1.0).collect())
                    .collect())
            },
            |g| {
                assert!(g[0].is_empty() && g[2].is_empty() && g[1].len() == 3);
                Ok(g.iter()
                    .map(|v| v.iter().map(|x| x + 2.0).collect())
                    .collect())
            },
        )
        .expect("both sides succeed");
        assert_eq!(out, vec![vec![1.0, 1.1], vec![2.0, 2.2, 2.3], vec![1.5]]);
        // All binomial: one call, straight through.
        let only = vec![models[0].clone()];
        let out = split_binomial(
            &only,
            &grids[..1],
            |g| Ok(g.to_vec()),
            |_| panic!("the twin is not needed"),
        )
        .expect("kernel succeeds");
        assert_eq!(out, vec![vec![0.0, 0.1]]);
    }
}
