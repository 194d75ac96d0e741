//! Host side of `shaders/cfdna_loglik.wgsl`: pack a batch into chunks, run the
//! kernel, add the pieces' partial sums in f64. CPU twin:
//! `compute/cpu/cfdna_loglik.rs`.

use std::ops::Range;
use std::sync::Mutex;
use std::time::Instant;

use super::chunking::{
    ChunkLimits, PieceSpec, build_chunk, class_tables, plan_chunks, plan_pieces,
};
use super::context::{
    ChunkData, GpuContext, Kernel, PhaseTimings, adapter_label, device_type_name, is_hardware,
};
use crate::compute::{BackendInfo, LoglikBackend};
use crate::error::{Error, Result};
use crate::model::SampleModel;
use crate::model::two_donor::TwoDonorModel;

pub struct GpuBackend {
    /// The run's device and pipelines (shared with the HLA backend in a scan).
    pub ctx: std::sync::Arc<GpuContext>,
    /// Test/bench knob: cap the SNP and term bytes of one chunk (forces many
    /// chunks on small batches). `None` = the device limits.
    pub max_chunk_bytes: Option<u64>,
    /// Test/bench knob: cap the samples (pieces) per chunk.
    pub max_samples_per_chunk: Option<usize>,
    timings: Mutex<PhaseTimings>,
    /// Draw grids evaluated on the adapter (one per draw and grid pass).
    draws_evaluated: std::sync::atomic::AtomicUsize,
    /// Two-donor draw grids evaluated on the adapter (one per draw and pass).
    pub(super) two_donor_draws_evaluated: std::sync::atomic::AtomicUsize,
}

impl GpuBackend {
    /// A device of its own on `adapter`.
    pub fn new(adapter: &wgpu::Adapter) -> Result<Self> {
        Ok(Self::from_context(std::sync::Arc::new(GpuContext::new(
            adapter,
        )?)))
    }

    /// On a context that may also serve the HLA kernel.
    pub fn from_context(ctx: std::sync::Arc<GpuContext>) -> Self {
        GpuBackend {
            ctx,
            max_chunk_bytes: None,
            max_samples_per_chunk: None,
            timings: Mutex::new(PhaseTimings::default()),
            draws_evaluated: std::sync::atomic::AtomicUsize::new(0),
            two_donor_draws_evaluated: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// Phase timings summed since the last `take_timings`.
    pub fn take_timings(&self) -> PhaseTimings {
        self.timings
            .lock()
            .map(|mut t| std::mem::take(&mut *t))
            .unwrap_or_default()
    }

    pub(super) fn limits(&self) -> ChunkLimits {
        ChunkLimits {
            max_binding_bytes: self.ctx.max_binding_bytes(),
            max_workgroups_per_dimension: self.ctx.max_workgroups_per_dimension(),
            max_data_bytes: self.max_chunk_bytes,
            max_pieces: self.max_samples_per_chunk,
        }
    }

    /// Row values per sample (`replicates · grid` each, replicate-major), summed
    /// over the sample's pieces in f64.
    pub(crate) fn evaluate(
        &self,
        kernel: Kernel,
        models: &[SampleModel],
        grids: &[Vec<f64>],
        replicates: u32,
        seed: u64,
        sample_base: u32,
    ) -> Result<Vec<Vec<f64>>> {
        if models.len() != grids.len() {
            return Err(Error::Gpu("one grid per sample is required".into()));
        }
        let mut out: Vec<Vec<f64>> = grids
            .iter()
            .map(|g| vec![0.0; replicates as usize * g.len()])
            .collect();
        if models.is_empty() || replicates == 0 {
            return Ok(out);
        }
        let limits = self.limits();
        let mut timings = PhaseTimings::default();
        let t = Instant::now();
        let pieces = plan_pieces(models, grids, replicates, &limits)?;
        let chunks = plan_chunks(&pieces, grids, replicates, &limits);
        let tables = class_tables(models, grids);
        timings.pack += t.elapsed();
        self.run_chunks(kernel, &pieces, chunks, &mut out, timings, |chunk| {
            build_chunk(
                models,
                grids,
                &tables,
                chunk,
                replicates,
                seed,
                sample_base,
                &limits,
            )
        })?;
        Ok(out)
    }

    /// Run `kernel` over each chunk of `pieces` (packed by `build`) and add
    /// each piece's rows to its sample's values in `out`, in f64 (a sample
    /// split into pieces gets the sum of its partial sums). `timings` (the
    /// planning so far) and the chunks' phases go to the running total.
    pub(super) fn run_chunks(
        &self,
        kernel: Kernel,
        pieces: &[PieceSpec],
        chunks: Vec<Range<usize>>,
        out: &mut [Vec<f64>],
        mut timings: PhaseTimings,
        build: impl Fn(&[PieceSpec]) -> ChunkData,
    ) -> Result<()> {
        for range in chunks {
            let t = Instant::now();
            let chunk_pieces = &pieces[range];
            let data = build(chunk_pieces);
            timings.pack += t.elapsed();
            let (values, chunk_timings) = self.ctx.run_chunk(kernel, &data)?;
            timings.add(&chunk_timings);
            let t = Instant::now();
            for (spec, piece) in chunk_pieces.iter().zip(&data.pieces) {
                let first = piece.first_out_row as usize;
                let dest = &mut out[spec.sample];
                let src = values.get(first..first + dest.len()).ok_or_else(|| {
                    Error::Gpu("the kernel returned fewer rows than dispatched".into())
                })?;
                for (d, v) in dest.iter_mut().zip(src) {
                    *d += f64::from(*v);
                }
            }
            timings.pack += t.elapsed();
        }
        if let Ok(mut total) = self.timings.lock() {
            total.add(&timings);
        }
        Ok(())
    }
}

impl LoglikBackend for GpuBackend {
    fn info(&self) -> BackendInfo {
        let i = &self.ctx.info;
        BackendInfo {
            kind: if is_hardware(i.device_type) {
                "gpu".into()
            } else {
                "software_adapter".into()
            },
            description: adapter_label(i),
            threads: None,
            adapter: Some(i.name.clone()),
            device_type: Some(device_type_name(i.device_type).into()),
            driver: Some(i.driver.clone()),
            driver_info: Some(i.driver_info.clone()),
            wgpu_backend: Some(format!("{:?}", i.backend)),
        }
    }

    fn loglik_grids(&self, models: &[SampleModel], grids: &[Vec<f64>]) -> Result<Vec<Vec<f64>>> {
        // Every read model runs on the kernel: binomial and beta-binomial
        // reads, shared and per-site error rates (shaders/cfdna_common.wgsl).
        let out = self.evaluate(Kernel::Loglik, models, grids, 1, 0, 0)?;
        self.draws_evaluated.fetch_add(
            grids.iter().filter(|g| !g.is_empty()).count(),
            std::sync::atomic::Ordering::Relaxed,
        );
        Ok(out)
    }

    fn two_donor_loglik_grids(
        &self,
        models: &[TwoDonorModel],
        grids: &[Vec<(f64, f64)>],
    ) -> Result<Vec<Vec<f64>>> {
        super::cfdna_two_donor::two_donor_loglik_grids(self, models, grids)
    }

    fn draws_on_adapter(&self) -> usize {
        self.draws_evaluated
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    fn two_donor_draws_on_adapter(&self) -> usize {
        self.two_donor_draws_evaluated
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    fn bootstrap_estimates(
        &self,
        models: &[SampleModel],
        grids: &[Vec<f64>],
        replicates: u32,
        seed: u64,
    ) -> Result<Vec<Vec<f64>>> {
        super::cfdna_bootstrap::bootstrap_estimates(self, models, grids, replicates, seed)
    }
}
