//! The interface the estimator drives (cfdna-model.md §3): evaluate the
//! log-likelihood of a batch of draws over their grids, and the SNP bootstrap.
//! The estimator owns it; `compute` implements it (CPU twins, wgpu kernels),
//! so the arrows point from compute down to the model and never back.

use super::SampleModel;
use super::two_donor::TwoDonorModel;
use crate::error::Result;

/// What produced the numbers: recorded in run.json and the stderr summary.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct BackendInfo {
    /// "cpu", "gpu" (hardware adapter) or "software_adapter" (e.g. lavapipe:
    /// a CPU emulating a GPU, never reported as a GPU).
    pub kind: String,
    pub description: String,
    pub threads: Option<usize>,
    /// wgpu adapter name, device type, driver and graphics API, when a kernel ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adapter: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver_info: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wgpu_backend: Option<String>,
}

/// Evaluates the log-likelihood of many samples over their fraction grids.
pub trait LoglikBackend: Sync {
    fn info(&self) -> BackendInfo;

    /// `grids[s]` is the grid of sample `s`; returns ℓ_s(f) for each grid point,
    /// relative to the saturated model, with each SNP's weight applied.
    fn loglik_grids(&self, models: &[SampleModel], grids: &[Vec<f64>]) -> Result<Vec<Vec<f64>>>;

    /// SNP-bootstrap replicate estimates: `replicates` per sample, replicate b of
    /// sample s resampling SNPs with `gpu::layout::bootstrap_count(seed, s, b, i)`.
    fn bootstrap_estimates(
        &self,
        models: &[SampleModel],
        grids: &[Vec<f64>],
        replicates: u32,
        seed: u64,
    ) -> Result<Vec<Vec<f64>>>;

    /// Two-donor draws (model::two_donor): `grids[s]` is the (f1, f2) grid of
    /// draw `s`; returns ℓ_s(f1, f2) at each point at the draw's error rate,
    /// relative to the saturated model. An empty grid is not evaluated.
    fn two_donor_loglik_grids(
        &self,
        models: &[TwoDonorModel],
        grids: &[Vec<(f64, f64)>],
    ) -> Result<Vec<Vec<f64>>>;

    /// Draw grids evaluated on a wgpu adapter so far (one count per draw and
    /// grid pass); 0 for the CPU path.
    fn draws_on_adapter(&self) -> usize {
        0
    }

    /// Two-donor draw grids evaluated on a wgpu adapter so far (one count per
    /// draw and grid pass); 0 for the CPU path.
    fn two_donor_draws_on_adapter(&self) -> usize {
        0
    }

    /// Problems met on the way that did not stop the run (e.g. a GPU failure
    /// that fell back to the CPU); recorded in run.json.
    fn warnings(&self) -> Vec<String> {
        Vec::new()
    }
}

/// Draw grid passes per place of evaluation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct DrawCounts {
    /// On a wgpu adapter (a GPU or a software adapter such as lavapipe).
    pub on_adapter: usize,
    /// On the CPU path (the CPU twin).
    pub on_cpu: usize,
}

/// A backend that counts the draw grids passed through it, so that run.json
/// can say how many ran on an adapter and how many on the CPU.
pub struct CountingBackend<'a> {
    inner: &'a dyn LoglikBackend,
    draws: std::sync::atomic::AtomicUsize,
    two_donor_draws: std::sync::atomic::AtomicUsize,
}

impl<'a> CountingBackend<'a> {
    pub fn new(inner: &'a dyn LoglikBackend) -> Self {
        CountingBackend {
            inner,
            draws: std::sync::atomic::AtomicUsize::new(0),
            two_donor_draws: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// Single-donor draw grid passes (every read model and error table).
    pub fn counts(&self) -> DrawCounts {
        split_counts(&self.draws, self.inner.draws_on_adapter())
    }

    /// Two-donor draw grid passes.
    pub fn two_donor_counts(&self) -> DrawCounts {
        split_counts(
            &self.two_donor_draws,
            self.inner.two_donor_draws_on_adapter(),
        )
    }
}

fn split_counts(total: &std::sync::atomic::AtomicUsize, on_adapter: usize) -> DrawCounts {
    let total = total.load(std::sync::atomic::Ordering::Relaxed);
    let on_adapter = on_adapter.min(total);
    DrawCounts {
        on_adapter,
        on_cpu: total - on_adapter,
    }
}

fn asked(grids: &[Vec<impl Sized>]) -> usize {
    grids.iter().filter(|g| !g.is_empty()).count()
}

impl LoglikBackend for CountingBackend<'_> {
    fn info(&self) -> BackendInfo {
        self.inner.info()
    }

    fn loglik_grids(&self, models: &[SampleModel], grids: &[Vec<f64>]) -> Result<Vec<Vec<f64>>> {
        self.draws
            .fetch_add(asked(grids), std::sync::atomic::Ordering::Relaxed);
        self.inner.loglik_grids(models, grids)
    }

    fn two_donor_loglik_grids(
        &self,
        models: &[TwoDonorModel],
        grids: &[Vec<(f64, f64)>],
    ) -> Result<Vec<Vec<f64>>> {
        self.two_donor_draws
            .fetch_add(asked(grids), std::sync::atomic::Ordering::Relaxed);
        self.inner.two_donor_loglik_grids(models, grids)
    }

    fn bootstrap_estimates(
        &self,
        models: &[SampleModel],
        grids: &[Vec<f64>],
        replicates: u32,
        seed: u64,
    ) -> Result<Vec<Vec<f64>>> {
        self.inner
            .bootstrap_estimates(models, grids, replicates, seed)
    }

    fn draws_on_adapter(&self) -> usize {
        self.inner.draws_on_adapter()
    }

    fn two_donor_draws_on_adapter(&self) -> usize {
        self.inner.two_donor_draws_on_adapter()
    }

    fn warnings(&self) -> Vec<String> {
        self.inner.warnings()
    }
}

/// Percentile by linear interpolation between order statistics (R type 7).
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let h = (sorted.len() - 1) as f64 * p;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// 95% percentile interval of bootstrap replicate estimates (Efron &
/// Tibshirani 1993, §13.3).
pub fn percentile_interval(estimates: &[f64]) -> (f64, f64) {
    let mut sorted: Vec<f64> = estimates
        .iter()
        .copied()
        .filter(|x| x.is_finite())
        .collect();
    sorted.sort_by(f64::total_cmp);
    (percentile(&sorted, 0.025), percentile(&sorted, 0.975))
}
