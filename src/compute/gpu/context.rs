//! One wgpu device, its queue, both compute pipelines and reusable buffers
//! (after wgpu's `repeated_compute` example): set-up is paid once per run and a
//! chunk of work is one method call. Every wgpu failure becomes `Error::Gpu`.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::layout::{ClassBeta, ClassLogProb, Params, Piece, Snp, Term};
use crate::error::{Error, Result};

const COMMON_WGSL: &str = include_str!("../../../shaders/cfdna_common.wgsl");
const LOGLIK_WGSL: &str = include_str!("../../../shaders/cfdna_loglik.wgsl");
const BOOTSTRAP_WGSL: &str = include_str!("../../../shaders/cfdna_bootstrap.wgsl");
const TWO_DONOR_WGSL: &str = include_str!("../../../shaders/cfdna_two_donor.wgsl");
const HLA_MISMATCH_WGSL: &str = include_str!("../../../shaders/hla_mismatch.wgsl");

/// WGSL source of a kernel: the shared prelude (structs, bindings, `snp_loglik`,
/// the reduction) followed by the kernel's own file. WGSL has no includes.
pub fn kernel_source(kernel: Kernel) -> String {
    let own = match kernel {
        Kernel::Loglik => LOGLIK_WGSL,
        Kernel::Bootstrap => BOOTSTRAP_WGSL,
        Kernel::TwoDonor => TWO_DONOR_WGSL,
    };
    format!("{COMMON_WGSL}\n{own}")
}

/// Which kernel a chunk runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    Loglik,
    Bootstrap,
    /// Two-donor draws: 27 classes per table row, no beta table.
    TwoDonor,
}

/// Everything one dispatch reads, already in the shared layout.
#[derive(Debug, Default, Clone)]
pub struct ChunkData {
    pub params: Params,
    pub pieces: Vec<Piece>,
    pub row_piece: Vec<u32>,
    pub snps: Vec<Snp>,
    pub terms: Vec<Term>,
    pub class_logp: Vec<ClassLogProb>,
    pub class_beta: Vec<ClassBeta>,
}

/// Wall time of each phase of the GPU path, summed over chunks.
#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
pub struct PhaseTimings {
    /// Packing the batch into the shared layout on the host.
    pub pack: Duration,
    pub upload: Duration,
    /// Kernel time: GPU timestamps when the adapter has TIMESTAMP_QUERY,
    /// otherwise the host wall time of submit + wait.
    pub kernel: Duration,
    pub kernel_from_timestamps: bool,
    pub readback: Duration,
    pub chunks: usize,
}

impl PhaseTimings {
    pub fn add(&mut self, other: &PhaseTimings) {
        self.pack += other.pack;
        self.upload += other.upload;
        self.kernel += other.kernel;
        self.kernel_from_timestamps |= other.kernel_from_timestamps;
        self.readback += other.readback;
        self.chunks += other.chunks;
    }
}

pub fn device_type_name(t: wgpu::DeviceType) -> &'static str {
    match t {
        wgpu::DeviceType::DiscreteGpu => "discrete_gpu",
        wgpu::DeviceType::IntegratedGpu => "integrated_gpu",
        wgpu::DeviceType::VirtualGpu => "virtual_gpu",
        wgpu::DeviceType::Cpu => "cpu_software",
        wgpu::DeviceType::Other => "other",
    }
}

/// A real GPU (not a software rasteriser such as lavapipe).
pub fn is_hardware(t: wgpu::DeviceType) -> bool {
    matches!(
        t,
        wgpu::DeviceType::DiscreteGpu
            | wgpu::DeviceType::IntegratedGpu
            | wgpu::DeviceType::VirtualGpu
    )
}

/// How to name an adapter to a person: a software adapter is never a "GPU".
pub fn adapter_label(info: &wgpu::AdapterInfo) -> String {
    let what = if is_hardware(info.device_type) {
        "GPU"
    } else if info.device_type == wgpu::DeviceType::Cpu {
        "software adapter (lavapipe/llvmpipe)"
    } else {
        "adapter of unknown type"
    };
    format!(
        "{what} '{}' ({}, {:?}, driver {} {})",
        info.name,
        device_type_name(info.device_type),
        info.backend,
        info.driver,
        info.driver_info
    )
}

pub(crate) fn gpu_err(context: &str, e: impl std::fmt::Display) -> Error {
    Error::Gpu(format!("{context}: {e}"))
}

/// A reusable buffer that grows on demand.
#[derive(Default)]
pub(crate) struct Slot {
    pub(crate) buffer: Option<wgpu::Buffer>,
    capacity: u64,
}

impl Slot {
    pub(crate) fn ensure(
        &mut self,
        device: &wgpu::Device,
        size: u64,
        usage: wgpu::BufferUsages,
        label: &str,
    ) -> &wgpu::Buffer {
        // Storage bindings must be non-empty and 4-byte aligned.
        let size = size.max(16).next_multiple_of(16);
        let buffer = match self.buffer.take() {
            Some(b) if self.capacity >= size => b,
            _ => {
                self.capacity = size;
                device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some(label),
                    size,
                    usage,
                    mapped_at_creation: false,
                })
            }
        };
        self.buffer.insert(buffer)
    }
}

#[derive(Default)]
struct Buffers {
    params: Slot,
    pieces: Slot,
    row_piece: Slot,
    snps: Slot,
    terms: Slot,
    class_logp: Slot,
    class_beta: Slot,
    output: Slot,
    staging: Slot,
}

struct Timestamps {
    set: wgpu::QuerySet,
    resolve: wgpu::Buffer,
    readback: wgpu::Buffer,
    period_ns: f32,
}

/// The one device of a run and every pipeline on it: the dd-cfDNA kernels
/// (`cfdna_loglik`, `cfdna_bootstrap`, `cfdna_two_donor`) and the HLA bitset kernel
/// (`hla_mismatch`). The backends hold it behind an `Arc`.
pub struct GpuContext {
    pub info: wgpu::AdapterInfo,
    pub limits: wgpu::Limits,
    pub(crate) device: wgpu::Device,
    pub(crate) queue: wgpu::Queue,
    loglik: wgpu::ComputePipeline,
    bootstrap: wgpu::ComputePipeline,
    two_donor: wgpu::ComputePipeline,
    pub(crate) hla_mismatch: wgpu::ComputePipeline,
    timestamps: Option<Timestamps>,
    health: DeviceHealth,
    buffers: Mutex<Buffers>,
}

/// Device-lost and uncaptured-error reports of one device, as `Error::Gpu`.
pub(crate) struct DeviceHealth {
    lost: Arc<Mutex<Option<String>>>,
    uncaptured: Arc<Mutex<Option<String>>>,
}

impl DeviceHealth {
    pub(crate) fn check(&self) -> Result<()> {
        if let Some(why) = self.lost.lock().ok().and_then(|s| s.clone()) {
            return Err(Error::Gpu(why));
        }
        if let Some(why) = self.uncaptured.lock().ok().and_then(|mut s| s.take()) {
            return Err(Error::Gpu(format!("uncaptured wgpu error: {why}")));
        }
        Ok(())
    }
}

/// A device opened on an adapter with every limit it offers (so chunks can be
/// as large as the hardware allows), with its health reports wired up.
pub(crate) struct OpenDevice {
    pub info: wgpu::AdapterInfo,
    pub limits: wgpu::Limits,
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub health: DeviceHealth,
}

pub(crate) fn open_device(
    adapter: &wgpu::Adapter,
    label: &str,
    features: wgpu::Features,
) -> Result<OpenDevice> {
    let info = adapter.get_info();
    let limits = adapter.limits();
    let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
        label: Some(label),
        required_features: features,
        required_limits: limits.clone(),
        ..Default::default()
    }))
    .map_err(|e| gpu_err(&format!("cannot open a device on '{}'", info.name), e))?;

    let lost = Arc::new(Mutex::new(None));
    let lost_in_callback = Arc::clone(&lost);
    device.set_device_lost_callback(move |reason, message| {
        if let Ok(mut slot) = lost_in_callback.lock() {
            *slot = Some(format!("device lost ({reason:?}): {message}"));
        }
    });
    // Without a handler wgpu panics on errors outside an error scope.
    let uncaptured = Arc::new(Mutex::new(None));
    let uncaptured_in_handler = Arc::clone(&uncaptured);
    device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
        if let Ok(mut slot) = uncaptured_in_handler.lock() {
            slot.get_or_insert_with(|| e.to_string());
        }
    }));
    Ok(OpenDevice {
        info,
        limits,
        device,
        queue,
        health: DeviceHealth { lost, uncaptured },
    })
}

impl GpuContext {
    /// Open a device on `adapter` with every limit it offers (so chunks can be as
    /// large as the hardware allows) and build every pipeline.
    pub fn new(adapter: &wgpu::Adapter) -> Result<Self> {
        let want_timestamps = adapter.features().contains(wgpu::Features::TIMESTAMP_QUERY);
        let features = if want_timestamps {
            wgpu::Features::TIMESTAMP_QUERY
        } else {
            wgpu::Features::empty()
        };
        let OpenDevice {
            info,
            limits,
            device,
            queue,
            health,
        } = open_device(adapter, "graftscan", features)?;

        let oom = device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let validation = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let loglik = build_pipeline(&device, "cfdna_loglik", &kernel_source(Kernel::Loglik));
        let bootstrap = build_pipeline(
            &device,
            "cfdna_bootstrap",
            &kernel_source(Kernel::Bootstrap),
        );
        let two_donor =
            build_pipeline(&device, "cfdna_two_donor", &kernel_source(Kernel::TwoDonor));
        let hla_mismatch = build_pipeline(&device, "hla_mismatch", HLA_MISMATCH_WGSL);
        if let Some(e) = pollster::block_on(validation.pop()) {
            return Err(gpu_err("shader or pipeline validation failed", e));
        }
        if let Some(e) = pollster::block_on(oom.pop()) {
            return Err(gpu_err("out of memory while building pipelines", e));
        }

        let timestamps = want_timestamps.then(|| Timestamps {
            set: device.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("kernel timestamps"),
                ty: wgpu::QueryType::Timestamp,
                count: 2,
            }),
            resolve: device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("timestamp resolve"),
                size: 16,
                usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            }),
            readback: device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("timestamp readback"),
                size: 16,
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            }),
            period_ns: queue.get_timestamp_period(),
        });

        let ctx = GpuContext {
            info,
            limits,
            device,
            queue,
            loglik,
            bootstrap,
            two_donor,
            hla_mismatch,
            timestamps,
            health,
            buffers: Mutex::new(Buffers::default()),
        };
        ctx.check_health()?;
        Ok(ctx)
    }

    /// Destroy the device as a driver crash would lose it: tests use this to
    /// check that device loss becomes `Error::Gpu` and that auto falls back.
    #[doc(hidden)]
    pub fn destroy_device_for_test(&self) {
        self.device.destroy();
    }

    pub fn has_timestamps(&self) -> bool {
        self.timestamps.is_some()
    }

    /// Largest bytes one storage binding (and so one buffer) may hold.
    pub fn max_binding_bytes(&self) -> u64 {
        self.limits
            .max_storage_buffer_binding_size
            .min(self.limits.max_buffer_size)
    }

    pub fn max_workgroups_per_dimension(&self) -> u32 {
        self.limits.max_compute_workgroups_per_dimension
    }

    pub(crate) fn check_health(&self) -> Result<()> {
        self.health.check()
    }

    fn wait(&self) -> Result<()> {
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| gpu_err("waiting for the device", e))?;
        self.check_health()
    }

    /// Upload one chunk, run `kernel` over its rows, read the rows back.
    pub fn run_chunk(&self, kernel: Kernel, data: &ChunkData) -> Result<(Vec<f32>, PhaseTimings)> {
        self.check_health()?;
        let rows = data.params.row_count as u64;
        let mut timings = PhaseTimings {
            chunks: 1,
            ..PhaseTimings::default()
        };
        if rows == 0 {
            return Ok((Vec::new(), timings));
        }
        let mut buffers = self
            .buffers
            .lock()
            .map_err(|_| Error::Gpu("buffer pool poisoned by an earlier failure".into()))?;
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let validation = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let result = self.run_chunk_scoped(kernel, data, &mut buffers, &mut timings);
        let validation_error = pollster::block_on(validation.pop());
        let oom_error = pollster::block_on(oom.pop());
        if let Some(e) = oom_error {
            // Drop the pool: the next chunk starts from fresh allocations.
            *buffers = Buffers::default();
            return Err(gpu_err("out of GPU memory", e));
        }
        if let Some(e) = validation_error {
            return Err(gpu_err("validation error while running the kernel", e));
        }
        let out = result?;
        self.check_health()?;
        Ok((out, timings))
    }

    fn run_chunk_scoped(
        &self,
        kernel: Kernel,
        data: &ChunkData,
        b: &mut Buffers,
        timings: &mut PhaseTimings,
    ) -> Result<Vec<f32>> {
        use wgpu::BufferUsages as U;
        let storage = U::STORAGE | U::COPY_DST;
        let out_bytes = data.params.row_count as u64 * 4;

        let t = Instant::now();
        let d = &self.device;
        let q = &self.queue;
        q.write_buffer(
            b.params.ensure(d, 16, U::UNIFORM | U::COPY_DST, "params"),
            0,
            bytemuck::bytes_of(&data.params),
        );
        let uploads: [(&mut Slot, &[u8], &str); 6] = [
            (&mut b.pieces, bytemuck::cast_slice(&data.pieces), "pieces"),
            (
                &mut b.row_piece,
                bytemuck::cast_slice(&data.row_piece),
                "row_piece",
            ),
            (&mut b.snps, bytemuck::cast_slice(&data.snps), "snps"),
            (&mut b.terms, bytemuck::cast_slice(&data.terms), "terms"),
            (
                &mut b.class_logp,
                bytemuck::cast_slice(&data.class_logp),
                "class_logp",
            ),
            (
                &mut b.class_beta,
                bytemuck::cast_slice(&data.class_beta),
                "class_beta",
            ),
        ];
        for (slot, bytes, label) in uploads {
            let buffer = slot.ensure(d, bytes.len() as u64, storage, label);
            if !bytes.is_empty() {
                q.write_buffer(buffer, 0, bytes);
            }
        }
        b.output
            .ensure(d, out_bytes, U::STORAGE | U::COPY_SRC, "loglik");
        b.staging
            .ensure(d, out_bytes, U::MAP_READ | U::COPY_DST, "staging");
        // An empty submission flushes the staged writes so upload time is its own phase.
        q.submit(std::iter::empty());
        self.wait()?;
        timings.upload += t.elapsed();

        let (Some(params), Some(pieces), Some(row_piece), Some(snps), Some(terms), Some(logp)) = (
            &b.params.buffer,
            &b.pieces.buffer,
            &b.row_piece.buffer,
            &b.snps.buffer,
            &b.terms.buffer,
            &b.class_logp.buffer,
        ) else {
            return Err(Error::Gpu("input buffers missing after upload".into()));
        };
        let (Some(output), Some(staging), Some(beta)) =
            (&b.output.buffer, &b.staging.buffer, &b.class_beta.buffer)
        else {
            return Err(Error::Gpu("output buffers missing after upload".into()));
        };
        let pipeline = match kernel {
            Kernel::Loglik => &self.loglik,
            Kernel::Bootstrap => &self.bootstrap,
            Kernel::TwoDonor => &self.two_donor,
        };
        let layout = pipeline.get_bind_group_layout(0);
        let entries = [
            entry(0, params),
            entry(1, pieces),
            entry(2, row_piece),
            entry(3, snps),
            entry(4, terms),
            entry(5, logp),
            entry(6, output),
            entry(7, beta),
        ];
        // The layout is derived from the bindings a kernel uses: the
        // two-donor kernel reads no beta table (binding 7).
        let used = match kernel {
            Kernel::Loglik | Kernel::Bootstrap => &entries[..],
            Kernel::TwoDonor => &entries[..7],
        };
        let bind_group = d.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("chunk"),
            layout: &layout,
            entries: used,
        });

        // Rows beyond one dimension's limit wrap onto y.
        let t = Instant::now();
        let width = data.params.dispatch_width.max(1);
        let height = data.params.row_count.div_ceil(width);
        let mut encoder = d.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("kernel"),
        });
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("kernel"),
                timestamp_writes: self.timestamps.as_ref().map(|ts| {
                    wgpu::ComputePassTimestampWrites {
                        query_set: &ts.set,
                        beginning_of_pass_write_index: Some(0),
                        end_of_pass_write_index: Some(1),
                    }
                }),
            });
            pass.set_pipeline(pipeline);
            pass.set_bind_group(0, &bind_group, &[]);
            pass.dispatch_workgroups(width, height, 1);
        }
        if let Some(ts) = &self.timestamps {
            encoder.resolve_query_set(&ts.set, 0..2, &ts.resolve, 0);
            encoder.copy_buffer_to_buffer(&ts.resolve, 0, &ts.readback, 0, 16);
        }
        q.submit(Some(encoder.finish()));
        self.wait()?;
        let wall = t.elapsed();
        timings.kernel += match &self.timestamps {
            Some(ts) => match read_mapped(d, &ts.readback, 16, |bytes| {
                bytemuck::pod_collect_to_vec::<u8, u64>(bytes)
            }) {
                Ok(stamps) if stamps.len() == 2 && stamps[1] > stamps[0] => {
                    timings.kernel_from_timestamps = true;
                    Duration::from_nanos(
                        ((stamps[1] - stamps[0]) as f64 * ts.period_ns as f64) as u64,
                    )
                }
                _ => wall,
            },
            None => wall,
        };

        let t = Instant::now();
        let mut encoder = d.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("readback"),
        });
        encoder.copy_buffer_to_buffer(output, 0, staging, 0, out_bytes);
        q.submit(Some(encoder.finish()));
        let out = read_mapped(d, staging, out_bytes, |bytes| {
            bytemuck::pod_collect_to_vec::<u8, f32>(bytes)
        })?;
        self.check_health()?;
        timings.readback += t.elapsed();
        Ok(out)
    }
}

pub(crate) fn entry(binding: u32, buffer: &wgpu::Buffer) -> wgpu::BindGroupEntry<'_> {
    wgpu::BindGroupEntry {
        binding,
        resource: buffer.as_entire_binding(),
    }
}

pub(crate) fn build_pipeline(
    device: &wgpu::Device,
    label: &str,
    source: &str,
) -> wgpu::ComputePipeline {
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(label),
        source: wgpu::ShaderSource::Wgsl(source.into()),
    });
    device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(label),
        layout: None,
        module: &module,
        entry_point: Some("main"),
        compilation_options: wgpu::PipelineCompilationOptions::default(),
        cache: None,
    })
}

/// Map `buffer[..size]` for reading, wait, and convert its bytes.
fn read_mapped<T>(
    device: &wgpu::Device,
    buffer: &wgpu::Buffer,
    size: u64,
    convert: impl FnOnce(&[u8]) -> T,
) -> Result<T> {
    let slice = buffer.slice(0..size);
    let (tx, rx) = mpsc::channel();
    slice.map_async(wgpu::MapMode::Read, move |r| {
        let _ = tx.send(r);
    });
    device
        .poll(wgpu::PollType::wait_indefinitely())
        .map_err(|e| gpu_err("waiting for the read-back", e))?;
    match rx.try_recv() {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(gpu_err("mapping the result buffer failed", e)),
        Err(_) => return Err(Error::Gpu("result buffer was never mapped".into())),
    }
    let value = {
        let view = slice
            .get_mapped_range()
            .map_err(|e| gpu_err("reading the mapped result", e))?;
        convert(&view)
    };
    buffer.unmap();
    Ok(value)
}
