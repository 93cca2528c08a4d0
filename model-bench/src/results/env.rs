//! Environment metadata: where and with what the numbers were measured (read by
//! `resources::environment`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Environment {
    pub os: Option<String>,
    pub kernel: Option<String>,
    pub arch: String,
    pub hostname: Option<String>,
    pub cpu_model: Option<String>,
    pub physical_cores: Option<usize>,
    pub logical_cores: usize,
    pub memory_bytes: Option<u64>,
    pub rustc: String,
    pub model_bench_version: String,
    pub git: Option<GitInfo>,
    /// Versions of the crates that shape the numbers (criterion, the runtimes, the HTTP/gRPC
    /// stack), from the `Cargo.lock` of the workspace being benched; several versions are joined.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub crates: BTreeMap<String, String>,
    /// NVIDIA GPUs, driver and CUDA version, when NVML answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu: Option<super::resources::GpuEnvironment>,
    /// Why there is no `gpu` (e.g. no NVIDIA driver).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GitInfo {
    pub commit: String,
    /// Uncommitted changes to tracked files were present.
    pub dirty: bool,
}
