//! `graftscan devices`: the wgpu adapters this machine offers, with the limits
//! that decide chunk sizes, so a user can pick one with `--adapter NAME`.

use clap::Args;

use crate::compute::select::{AdapterReport, adapter_reports};
use crate::error::Result;

#[derive(Debug, Args)]
pub struct DevicesArgs {
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

fn mib(bytes: u64) -> String {
    format!("{:.0} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn describe(a: &AdapterReport) -> String {
    let kind = if a.hardware {
        "GPU"
    } else if a.device_type == "cpu_software" {
        "software adapter (lavapipe/llvmpipe), not a GPU"
    } else {
        "adapter of unknown type"
    };
    format!(
        "{name}\n  type: {dt} — {kind}\n  backend: {be}; driver: {dr} {di}\n  \
         max storage binding: {sb}; max buffer: {mb}; workgroups/dim: {wg}; \
         invocations/workgroup: {inv}; workgroup memory: {wm} B\n  timestamp queries: {ts}; SHADER_F64: {f64}",
        name = a.name,
        dt = a.device_type,
        be = a.backend,
        dr = a.driver,
        di = a.driver_info,
        sb = mib(a.max_storage_buffer_binding_size),
        mb = mib(a.max_buffer_size),
        wg = a.max_compute_workgroups_per_dimension,
        inv = a.max_compute_invocations_per_workgroup,
        wm = a.max_compute_workgroup_storage_size,
        ts = if a.timestamp_query { "yes" } else { "no" },
        f64 = if a.shader_f64 { "yes" } else { "no" },
    )
}

pub fn run(a: DevicesArgs) -> Result<()> {
    let adapters = adapter_reports();
    if a.json {
        super::print_json(&adapters)?;
        return Ok(());
    }
    if adapters.is_empty() {
        println!(
            "no wgpu adapters found (install a Vulkan driver, e.g. mesa-vulkan-drivers for lavapipe); \
             scans will use the CPU path"
        );
        return Ok(());
    }
    for (i, adapter) in adapters.iter().enumerate() {
        println!("[{i}] {}", describe(adapter));
    }
    Ok(())
}
