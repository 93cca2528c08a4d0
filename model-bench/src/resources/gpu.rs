//! The machine's NVIDIA GPUs as NVML describes them, for the environment metadata. NVML is loaded
//! at run time: without a driver there is simply no GPU to report, and the reason is kept.

use crate::results::{GpuEnvironment, GpuInfo};

/// The GPUs, or why none could be listed (no NVIDIA driver, NVML refused).
pub fn describe() -> Result<GpuEnvironment, String> {
    let nvml = nvml_wrapper::Nvml::init().map_err(|e| format!("NVML unavailable: {e}"))?;
    let count = nvml
        .device_count()
        .map_err(|e| format!("NVML cannot count devices: {e}"))?;
    let gpus = (0..count)
        .filter_map(|index| {
            let device = nvml.device_by_index(index).ok()?;
            Some(GpuInfo {
                index,
                name: device.name().unwrap_or_else(|_| "unknown".into()),
                memory_bytes: device.memory_info().ok().map(|m| m.total),
                uuid: device.uuid().ok(),
            })
        })
        .collect();
    Ok(GpuEnvironment {
        gpus,
        driver_version: nvml.sys_driver_version().ok(),
        cuda_driver_version: nvml.sys_cuda_driver_version().ok().map(|v| {
            format!(
                "{}.{}",
                nvml_wrapper::cuda_driver_version_major(v),
                nvml_wrapper::cuda_driver_version_minor(v)
            )
        }),
    })
}

#[cfg(test)]
mod tests {
    /// On a machine without an NVIDIA driver (this one, CI) the answer is a reason, not a panic;
    /// with one, every GPU has a name.
    #[test]
    fn gpus_or_the_reason_there_are_none() {
        match super::describe() {
            Ok(environment) => {
                assert!(!environment.gpus.is_empty(), "NVML answered with no GPU");
                assert!(environment.gpus.iter().all(|g| !g.name.is_empty()));
                assert!(environment.driver_version.is_some());
            }
            Err(reason) => assert!(reason.starts_with("NVML"), "{reason}"),
        }
    }
}
