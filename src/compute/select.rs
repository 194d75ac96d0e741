//! Backend selection: `--backend auto|gpu|cpu` and `--adapter NAME`.
//!
//! - cpu: the CPU twins; wgpu is never touched.
//! - gpu: any adapter, software ones (lavapipe) included; an error if none.
//! - auto: a hardware GPU if one exists, else the CPU. A GPU failure mid-run
//!   falls back to the CPU for the remaining work, with a warning.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};

use super::cpu::CpuBackend;
use super::cpu::hla_mismatch::{CpuHlaMismatch, HlaMismatchBackend};
use super::gpu::hla_mismatch::GpuHlaMismatch;
use super::gpu::{GpuBackend, GpuContext, adapter_label, device_type_name, is_hardware};
use super::{BackendInfo, LoglikBackend};
use crate::error::{Error, Result};
use crate::model::SampleModel;
use crate::model::two_donor::TwoDonorModel;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BackendChoice {
    /// A hardware GPU when there is one, else the CPU.
    Auto,
    /// Any wgpu adapter, software ones included; fail if there is none.
    Gpu,
    /// The CPU path only.
    Cpu,
}

/// Keeps Mesa's Vulkan device-select layer (an implicit layer, loaded into
/// every Vulkan instance) from probing the desktop session. wgpu enables the
/// `VK_KHR_wayland_surface` instance extension whenever the driver offers it;
/// the layer (Mesa `device_select_layer.c`) then calls `wl_display_connect`
/// while enumerating devices to find the compositor's GPU, and libwayland
/// prints `error: XDG_RUNTIME_DIR is invalid or not set in the environment.`
/// on every headless run (measured: gdb breakpoint on `wl_display_connect`
/// under `vkEnumeratePhysicalDevices` in `libVkLayer_MESA_device_select.so`;
/// two lines per instance with lavapipe, Mesa 22.3). The layer only reorders
/// devices for programs that take the first one; graftscan ranks adapters
/// itself (`preference`, `--adapter`), so turning it off through its manifest's
/// `disable_environment` (`NODEVICE_SELECT=1`) changes no choice. A user who
/// steers the layer (`MESA_VK_DEVICE_SELECT`) or set `NODEVICE_SELECT` keeps it.
///
/// # Safety
/// Changes the process environment: call it before any other thread exists
/// (first thing in `main`).
pub unsafe fn quiet_device_select_layer() {
    if std::env::var_os("NODEVICE_SELECT").is_none()
        && std::env::var_os("MESA_VK_DEVICE_SELECT").is_none()
    {
        // SAFETY: the caller guarantees no other thread reads the environment.
        unsafe { std::env::set_var("NODEVICE_SELECT", "1") };
    }
}

/// The wgpu instance, honouring `WGPU_BACKEND` and the debug flags from the
/// environment. Without `WGPU_BACKEND`, only the primary backends (Vulkan,
/// Metal, DX12): a GL adapter adds nothing for compute, and probing EGL makes
/// Mesa print noise on every run.
pub fn instance() -> wgpu::Instance {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
    if std::env::var_os("WGPU_BACKEND").is_none() {
        desc.backends = wgpu::Backends::PRIMARY;
    }
    wgpu::Instance::new(desc)
}

/// Every adapter wgpu can see, on every backend.
pub fn enumerate_adapters() -> Vec<wgpu::Adapter> {
    pollster::block_on(instance().enumerate_adapters(wgpu::Backends::all()))
}

/// Hardware before software, discrete before integrated.
pub(crate) fn preference(t: wgpu::DeviceType) -> u8 {
    match t {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Cpu => 3,
        wgpu::DeviceType::Other => 4,
    }
}

fn list_names(adapters: &[wgpu::Adapter]) -> String {
    if adapters.is_empty() {
        return "none (is a Vulkan, Metal, DX12 or GL driver installed?)".into();
    }
    adapters
        .iter()
        .map(|a| adapter_label(&a.get_info()))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Pick an adapter: by case-insensitive substring of its name when `name` is
/// given (among all adapters), else the preferred one among those `allowed`.
pub fn pick_adapter(
    adapters: Vec<wgpu::Adapter>,
    name: Option<&str>,
    allowed: impl Fn(wgpu::DeviceType) -> bool,
) -> Result<Option<wgpu::Adapter>> {
    if let Some(want) = name {
        let want_lc = want.to_lowercase();
        let names = list_names(&adapters);
        let mut matching: Vec<wgpu::Adapter> = adapters
            .into_iter()
            .filter(|a| a.get_info().name.to_lowercase().contains(&want_lc))
            .collect();
        if matching.is_empty() {
            return Err(Error::Gpu(format!(
                "no adapter name contains '{want}'; available: {names}"
            )));
        }
        matching.sort_by_key(|a| preference(a.get_info().device_type));
        return Ok(matching.into_iter().next());
    }
    let mut usable: Vec<wgpu::Adapter> = adapters
        .into_iter()
        .filter(|a| allowed(a.get_info().device_type))
        .collect();
    usable.sort_by_key(|a| preference(a.get_info().device_type));
    Ok(usable.into_iter().next())
}

/// The run's one device on `adapter`: the dd-cfDNA and HLA backends of a scan
/// share it (and its pipelines) instead of opening a device each. Held weakly,
/// so the device closes with the last backend using it.
pub fn shared_context(adapter: &wgpu::Adapter) -> Result<Arc<GpuContext>> {
    static CONTEXTS: Mutex<Vec<Weak<GpuContext>>> = Mutex::new(Vec::new());
    let info = adapter.get_info();
    let mut open = CONTEXTS
        .lock()
        .map_err(|_| Error::Gpu("GPU context registry poisoned".into()))?;
    open.retain(|w| w.strong_count() > 0);
    if let Some(ctx) = open.iter().filter_map(Weak::upgrade).find(|c| {
        c.info.name == info.name && c.info.backend == info.backend && c.info.device == info.device
    }) {
        return Ok(ctx);
    }
    let ctx = Arc::new(GpuContext::new(adapter)?);
    open.push(Arc::downgrade(&ctx));
    Ok(ctx)
}

/// Open the GPU backend on the adapter `--backend gpu` would choose.
pub fn open_gpu(adapter_name: Option<&str>) -> Result<GpuBackend> {
    let adapters = enumerate_adapters();
    let names = list_names(&adapters);
    match pick_adapter(adapters, adapter_name, |_| true)? {
        Some(a) => GpuBackend::new(&a),
        None => Err(Error::Gpu(format!(
            "no wgpu adapter found; available: {names}"
        ))),
    }
}

/// The backend a run uses, and notes about how it was chosen (for run.json).
pub fn select_backend(
    choice: BackendChoice,
    adapter_name: Option<&str>,
) -> Result<(Box<dyn LoglikBackend>, Vec<String>)> {
    match choice {
        BackendChoice::Cpu => {
            if adapter_name.is_some() {
                return Err(Error::Usage(
                    "--adapter needs --backend gpu or auto, not cpu".into(),
                ));
            }
            Ok((Box::new(CpuBackend), Vec::new()))
        }
        BackendChoice::Gpu => {
            let adapters = enumerate_adapters();
            let names = list_names(&adapters);
            match pick_adapter(adapters, adapter_name, |_| true)? {
                Some(a) => Ok((
                    Box::new(GpuBackend::from_context(shared_context(&a)?)),
                    Vec::new(),
                )),
                None => Err(Error::Gpu(format!(
                    "no wgpu adapter found; available: {names}"
                ))),
            }
        }
        BackendChoice::Auto => {
            let adapters = enumerate_adapters();
            let Some(adapter) = pick_adapter(adapters, adapter_name, is_hardware)? else {
                return Ok((
                    Box::new(CpuBackend),
                    vec!["no hardware GPU adapter found: using the CPU path".into()],
                ));
            };
            let label = adapter_label(&adapter.get_info());
            match shared_context(&adapter) {
                Ok(ctx) => Ok((
                    Box::new(FallbackBackend::new(GpuBackend::from_context(ctx))),
                    Vec::new(),
                )),
                Err(e) => Ok((
                    Box::new(CpuBackend),
                    vec![format!(
                        "{label} could not be used ({e}): using the CPU path"
                    )],
                )),
            }
        }
    }
}

/// The backend of the HLA bitset kernel (`shaders/hla_mismatch.wgsl`) for the
/// same `--backend` / `--adapter` choice, and a note when `auto` settled on
/// the CPU. A GPU failure after this choice is an error (the kernel's counts
/// are exact integers: there is nothing to fall back for mid-batch).
pub fn select_hla_backend(
    choice: BackendChoice,
    adapter_name: Option<&str>,
) -> Result<(Box<dyn HlaMismatchBackend>, Option<String>)> {
    let cpu = || -> Box<dyn HlaMismatchBackend> { Box::new(CpuHlaMismatch::default()) };
    match choice {
        BackendChoice::Cpu => {
            if adapter_name.is_some() {
                return Err(Error::Usage(
                    "--adapter needs --backend gpu or auto, not cpu".into(),
                ));
            }
            Ok((cpu(), None))
        }
        BackendChoice::Gpu => {
            let adapters = enumerate_adapters();
            let names = list_names(&adapters);
            match pick_adapter(adapters, adapter_name, |_| true)? {
                Some(a) => Ok((
                    Box::new(GpuHlaMismatch::from_context(shared_context(&a)?)),
                    None,
                )),
                None => Err(Error::Gpu(format!(
                    "no wgpu adapter found; available: {names}"
                ))),
            }
        }
        BackendChoice::Auto => {
            match pick_adapter(enumerate_adapters(), adapter_name, is_hardware)? {
                None => Ok((
                    cpu(),
                    Some("no hardware GPU found: using the CPU".to_string()),
                )),
                Some(a) => match shared_context(&a) {
                    Ok(ctx) => Ok((Box::new(GpuHlaMismatch::from_context(ctx)), None)),
                    Err(e) => Ok((cpu(), Some(format!("{e}; using the CPU")))),
                },
            }
        }
    }
}

/// `--backend auto` around a GPU backend: the first GPU error switches every
/// later call to the CPU twin and is recorded as a warning.
pub struct FallbackBackend {
    gpu: GpuBackend,
    cpu: CpuBackend,
    failed: AtomicBool,
    warnings: Mutex<Vec<String>>,
}

impl FallbackBackend {
    pub fn new(gpu: GpuBackend) -> Self {
        FallbackBackend {
            gpu,
            cpu: CpuBackend,
            failed: AtomicBool::new(false),
            warnings: Mutex::new(Vec::new()),
        }
    }

    fn run<T>(
        &self,
        on_gpu: impl FnOnce(&GpuBackend) -> Result<T>,
        on_cpu: impl FnOnce(&CpuBackend) -> Result<T>,
    ) -> Result<T> {
        if !self.failed.load(Ordering::SeqCst) {
            match on_gpu(&self.gpu) {
                Ok(v) => return Ok(v),
                Err(e) => {
                    self.failed.store(true, Ordering::SeqCst);
                    if let Ok(mut w) = self.warnings.lock() {
                        w.push(format!(
                            "{} failed ({e}); the remaining work ran on the CPU path",
                            adapter_label(&self.gpu.ctx.info)
                        ));
                    }
                }
            }
        }
        on_cpu(&self.cpu)
    }
}

impl LoglikBackend for FallbackBackend {
    fn info(&self) -> BackendInfo {
        let mut info = self.gpu.info();
        if self.failed.load(Ordering::SeqCst) {
            info.description = format!(
                "{} with CPU fallback after a GPU failure ({})",
                info.description,
                self.cpu.info().description
            );
            info.threads = self.cpu.info().threads;
        }
        info
    }

    fn loglik_grids(&self, models: &[SampleModel], grids: &[Vec<f64>]) -> Result<Vec<Vec<f64>>> {
        self.run(
            |g| g.loglik_grids(models, grids),
            |c| c.loglik_grids(models, grids),
        )
    }

    fn bootstrap_estimates(
        &self,
        models: &[SampleModel],
        grids: &[Vec<f64>],
        replicates: u32,
        seed: u64,
    ) -> Result<Vec<Vec<f64>>> {
        self.run(
            |g| g.bootstrap_estimates(models, grids, replicates, seed),
            |c| c.bootstrap_estimates(models, grids, replicates, seed),
        )
    }

    fn two_donor_loglik_grids(
        &self,
        models: &[TwoDonorModel],
        grids: &[Vec<(f64, f64)>],
    ) -> Result<Vec<Vec<f64>>> {
        self.run(
            |g| g.two_donor_loglik_grids(models, grids),
            |c| c.two_donor_loglik_grids(models, grids),
        )
    }

    fn draws_on_adapter(&self) -> usize {
        self.gpu.draws_on_adapter()
    }

    fn two_donor_draws_on_adapter(&self) -> usize {
        self.gpu.two_donor_draws_on_adapter()
    }

    fn warnings(&self) -> Vec<String> {
        self.warnings.lock().map(|w| w.clone()).unwrap_or_default()
    }
}

/// One adapter as `graftscan devices` reports it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AdapterReport {
    pub name: String,
    pub device_type: String,
    pub hardware: bool,
    pub backend: String,
    pub driver: String,
    pub driver_info: String,
    pub max_storage_buffer_binding_size: u64,
    pub max_buffer_size: u64,
    pub max_compute_workgroups_per_dimension: u32,
    pub max_compute_invocations_per_workgroup: u32,
    pub max_compute_workgroup_storage_size: u32,
    pub timestamp_query: bool,
    /// f64 in WGSL (a native Vulkan feature; lavapipe and data-centre GPUs).
    pub shader_f64: bool,
}

pub fn adapter_reports() -> Vec<AdapterReport> {
    enumerate_adapters()
        .iter()
        .map(|a| {
            let i = a.get_info();
            let l = a.limits();
            AdapterReport {
                name: i.name.clone(),
                device_type: device_type_name(i.device_type).into(),
                hardware: is_hardware(i.device_type),
                backend: format!("{:?}", i.backend),
                driver: i.driver.clone(),
                driver_info: i.driver_info.clone(),
                max_storage_buffer_binding_size: l.max_storage_buffer_binding_size,
                max_buffer_size: l.max_buffer_size,
                max_compute_workgroups_per_dimension: l.max_compute_workgroups_per_dimension,
                max_compute_invocations_per_workgroup: l.max_compute_invocations_per_workgroup,
                max_compute_workgroup_storage_size: l.max_compute_workgroup_storage_size,
                timestamp_query: a.features().contains(wgpu::Features::TIMESTAMP_QUERY),
                shader_f64: a.features().contains(wgpu::Features::SHADER_F64),
            }
        })
        .collect()
}
