//! GPU host code for `shaders/hla_mismatch.wgsl` (CPU twin:
//! `compute/cpu/hla_mismatch.rs`). The device and pipeline come from the
//! run's one `GpuContext` (shared with the dd-cfDNA kernels in a scan);
//! buffers are reused across chunks. Batches are chunked to the device's limits (storage-binding size,
//! workgroups per dimension), so a pool never fails for being large.
//!
//! A software adapter (lavapipe/llvmpipe, `DeviceType::Cpu`) is never called a
//! GPU in anything printed.

use std::sync::Mutex;
use std::sync::mpsc;

use crate::compute::cpu::hla_mismatch::{HlaBatch, HlaChunk, HlaMismatchBackend, HlaParams};
use crate::error::{Error, Result};

const WORKGROUP: u32 = 64;

use std::sync::Arc;

use super::context::{GpuContext, Slot, entry, gpu_err};
pub use super::context::{adapter_label, is_hardware};

/// Every adapter wgpu can see (`WGPU_BACKEND` honoured).
pub fn adapters() -> Vec<wgpu::Adapter> {
    crate::compute::select::enumerate_adapters()
}

/// Pick an adapter: hardware first; `hardware_only` drops software adapters;
/// `name` keeps adapters whose name contains it (case-insensitive).
pub fn select_adapter(hardware_only: bool, name: Option<&str>) -> Option<wgpu::Adapter> {
    let mut found: Vec<wgpu::Adapter> = adapters()
        .into_iter()
        .filter(|a| {
            let info = a.get_info();
            (!hardware_only || is_hardware(info.device_type))
                && name.is_none_or(|n| info.name.to_lowercase().contains(&n.to_lowercase()))
        })
        .collect();
    found.sort_by_key(|a| {
        let info = a.get_info();
        // Vulkan before GL for the same device.
        (
            crate::compute::select::preference(info.device_type),
            info.backend != wgpu::Backend::Vulkan,
        )
    });
    found.into_iter().next()
}

/// Names of every adapter, for error messages.
pub fn adapter_names() -> Vec<String> {
    adapters()
        .iter()
        .map(|a| adapter_label(&a.get_info()))
        .collect()
}

#[derive(Default)]
struct Buffers {
    params: Slot,
    recipients: Slot,
    donors: Slot,
    segments: Slot,
    counts: Slot,
    staging: Slot,
}

pub struct GpuHlaMismatch {
    pub info: wgpu::AdapterInfo,
    pub limits: wgpu::Limits,
    /// The run's device and pipelines, shared with the dd-cfDNA backend.
    ctx: Arc<GpuContext>,
    buffers: Mutex<Buffers>,
    /// Cap on bytes per storage binding below the device's (tests force chunking).
    pub max_binding_bytes: Option<u64>,
}

impl GpuHlaMismatch {
    /// A device of its own on `adapter` (`hla screen`, tests).
    pub fn new(adapter: &wgpu::Adapter) -> Result<GpuHlaMismatch> {
        Ok(Self::from_context(Arc::new(GpuContext::new(adapter)?)))
    }

    /// On a context that may already serve the dd-cfDNA kernels.
    pub fn from_context(ctx: Arc<GpuContext>) -> GpuHlaMismatch {
        GpuHlaMismatch {
            info: ctx.info.clone(),
            limits: ctx.limits.clone(),
            ctx,
            buffers: Mutex::new(Buffers::default()),
            max_binding_bytes: None,
        }
    }

    fn check_health(&self) -> Result<()> {
        self.ctx.check_health()
    }

    fn binding_bytes(&self) -> u64 {
        let device = self
            .limits
            .max_storage_buffer_binding_size
            .min(self.limits.max_buffer_size);
        self.max_binding_bytes.map_or(device, |cap| cap.min(device))
    }

    /// Chunk sizes (recipients, donors) so that every binding fits.
    fn plan(&self, batch: &HlaBatch<'_>) -> Result<(usize, usize)> {
        let max_words = (self.binding_bytes() / 4) as usize;
        let n_seg = batch.segments.len().max(1);
        let rw = batch.recipient_words;
        let dw = batch.donor_words;
        let max_groups = self.limits.max_compute_workgroups_per_dimension.max(1) as usize;
        if rw > max_words || dw > max_words || n_seg > max_words {
            return Err(Error::Gpu(format!(
                "one bitset row ({} words) exceeds the device's storage binding ({} bytes)",
                rw.max(dw),
                self.binding_bytes()
            )));
        }
        let donors_cap = (max_words / dw).min(max_groups * WORKGROUP as usize);
        if batch.paired {
            let n = donors_cap.min(max_words / rw).min(max_words / n_seg).max(1);
            return Ok((n, n));
        }
        let n_d = batch.n_donors().max(1);
        let donors = donors_cap.min(n_d).min(max_words / n_seg).max(1);
        let recipients = (max_words / rw)
            .min(max_groups)
            .min(max_words / (donors * n_seg))
            .max(1);
        Ok((recipients, donors))
    }

    fn dispatch(
        &self,
        params: &HlaParams,
        recipients: &[u32],
        donors: &[u32],
        segments: &[u8],
        out_words: usize,
    ) -> Result<Vec<u32>> {
        self.check_health()?;
        let mut guard = self
            .buffers
            .lock()
            .map_err(|_| Error::Gpu("buffer pool poisoned by an earlier failure".into()))?;
        let b = &mut *guard;
        use wgpu::BufferUsages as U;
        let d = &self.ctx.device;
        let q = &self.ctx.queue;
        let oom = d.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let validation = d.push_error_scope(wgpu::ErrorFilter::Validation);
        let out_bytes = (out_words as u64 * 4).max(4);
        q.write_buffer(
            b.params.ensure(d, 32, U::UNIFORM | U::COPY_DST, "params"),
            0,
            bytemuck::bytes_of(params),
        );
        for (slot, bytes, label) in [
            (
                &mut b.recipients,
                bytemuck::cast_slice::<u32, u8>(recipients),
                "recipients",
            ),
            (
                &mut b.donors,
                bytemuck::cast_slice::<u32, u8>(donors),
                "donors",
            ),
            (&mut b.segments, segments, "segments"),
        ] {
            let buffer = slot.ensure(d, bytes.len() as u64, U::STORAGE | U::COPY_DST, label);
            if !bytes.is_empty() {
                q.write_buffer(buffer, 0, bytes);
            }
        }
        b.counts
            .ensure(d, out_bytes, U::STORAGE | U::COPY_SRC, "counts");
        b.staging
            .ensure(d, out_bytes, U::MAP_READ | U::COPY_DST, "staging");
        let (Some(pb), Some(rb), Some(db), Some(sb), Some(cb), Some(staging)) = (
            &b.params.buffer,
            &b.recipients.buffer,
            &b.donors.buffer,
            &b.segments.buffer,
            &b.counts.buffer,
            &b.staging.buffer,
        ) else {
            return Err(Error::Gpu("buffers missing after upload".into()));
        };
        let layout = self.ctx.hla_mismatch.get_bind_group_layout(0);
        let bind_group = d.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("hla_mismatch"),
            layout: &layout,
            entries: &[
                entry(0, pb),
                entry(1, rb),
                entry(2, db),
                entry(3, sb),
                entry(4, cb),
            ],
        });
        let mut encoder = d.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("hla_mismatch"),
        });
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("hla_mismatch"),
                timestamp_writes: None,
            });
            pass.set_pipeline(&self.ctx.hla_mismatch);
            pass.set_bind_group(0, &bind_group, &[]);
            let y = if params.paired == 1 {
                1
            } else {
                params.n_recipients
            };
            pass.dispatch_workgroups(params.n_donors.div_ceil(WORKGROUP), y, 1);
        }
        encoder.copy_buffer_to_buffer(cb, 0, staging, 0, out_bytes);
        q.submit(Some(encoder.finish()));
        let slice = staging.slice(0..out_bytes);
        let (tx, rx) = mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        d.poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| gpu_err("waiting for the device", e))?;
        let mapped = rx.try_recv();
        let validation_error = pollster::block_on(validation.pop());
        let oom_error = pollster::block_on(oom.pop());
        if let Some(e) = oom_error {
            *b = Buffers::default();
            return Err(gpu_err("out of GPU memory", e));
        }
        if let Some(e) = validation_error {
            return Err(gpu_err("validation error in hla_mismatch", e));
        }
        match mapped {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(gpu_err("mapping the counts failed", e)),
            Err(_) => return Err(Error::Gpu("counts buffer was never mapped".into())),
        }
        let out = {
            let view = slice
                .get_mapped_range()
                .map_err(|e| gpu_err("reading the mapped counts", e))?;
            bytemuck::pod_collect_to_vec::<u8, u32>(&view)
        };
        staging.unmap();
        self.check_health()?;
        let mut out = out;
        out.truncate(out_words);
        Ok(out)
    }
}

impl HlaMismatchBackend for GpuHlaMismatch {
    fn describe(&self) -> String {
        adapter_label(&self.info)
    }

    fn run(
        &self,
        batch: &HlaBatch<'_>,
        sink: &mut dyn FnMut(HlaChunk<'_>) -> Result<()>,
    ) -> Result<()> {
        batch.validate()?;
        let n_seg = batch.segments.len();
        let (rw, dw) = (batch.recipient_words, batch.donor_words);
        let n_r = batch.n_recipients();
        let n_d = batch.n_donors();
        if n_r == 0 || n_d == 0 || n_seg == 0 {
            return Ok(());
        }
        let segments = bytemuck::cast_slice::<_, u8>(batch.segments);
        let (r_step, d_step) = self.plan(batch)?;
        if batch.paired {
            let mut start = 0;
            while start < n_r {
                let n = r_step.min(n_r - start);
                let params = HlaParams {
                    n_recipients: n as u32,
                    n_donors: n as u32,
                    recipient_words: rw as u32,
                    donor_words: dw as u32,
                    n_segments: n_seg as u32,
                    paired: 1,
                    ..Default::default()
                };
                let counts = self.dispatch(
                    &params,
                    &batch.recipients[start * rw..(start + n) * rw],
                    &batch.donors[start * dw..(start + n) * dw],
                    segments,
                    n * n_seg,
                )?;
                sink(HlaChunk {
                    recipient_start: start,
                    n_recipients: n,
                    donor_start: start,
                    n_donors: n,
                    counts: &counts,
                })?;
                start += n;
            }
            return Ok(());
        }
        let mut r0 = 0;
        while r0 < n_r {
            let nr = r_step.min(n_r - r0);
            let mut d0 = 0;
            while d0 < n_d {
                let nd = d_step.min(n_d - d0);
                let params = HlaParams {
                    n_recipients: nr as u32,
                    n_donors: nd as u32,
                    recipient_words: rw as u32,
                    donor_words: dw as u32,
                    n_segments: n_seg as u32,
                    paired: 0,
                    ..Default::default()
                };
                let counts = self.dispatch(
                    &params,
                    &batch.recipients[r0 * rw..(r0 + nr) * rw],
                    &batch.donors[d0 * dw..(d0 + nd) * dw],
                    segments,
                    nr * nd * n_seg,
                )?;
                sink(HlaChunk {
                    recipient_start: r0,
                    n_recipients: nr,
                    donor_start: d0,
                    n_donors: nd,
                    counts: &counts,
                })?;
                d0 += nd;
            }
            r0 += nr;
        }
        Ok(())
    }
}
