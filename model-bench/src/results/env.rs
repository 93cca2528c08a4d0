//! Environment metadata: where and with what the numbers were measured (read by
//! `resources::environment`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Where and with what a run was measured: the machine, the toolchain, the checkout and the
/// crate versions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Environment {
    /// The OS name and version (e.g. `Linux (Ubuntu 24.04)`); `None` when it could not be read.
    pub os: Option<String>,
    /// The kernel version; `None` when it could not be read.
    pub kernel: Option<String>,
    /// The CPU architecture the benches were built for (e.g. `x86_64`, `aarch64`).
    pub arch: String,
    /// The machine's host name; `None` when it could not be read.
    pub hostname: Option<String>,
    /// The first CPU's brand string; `None` when it could not be read or was empty.
    pub cpu_model: Option<String>,
    /// Physical CPU cores; `None` when they could not be counted.
    pub physical_cores: Option<usize>,
    /// CPUs this process may run on (`std::thread::available_parallelism`, which honours
    /// affinity and cgroup quotas); 1 when unknown.
    pub logical_cores: usize,
    /// Total RAM in bytes; `None` when it could not be read.
    pub memory_bytes: Option<u64>,
    /// The compiler that built the library, as `rustc --version` prints it (`unknown` if it did
    /// not answer).
    pub rustc: String,
    /// This library's version.
    pub model_bench_version: String,
    /// The git checkout the run was started in; `None` outside one or without git.
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
    /// The machine's state when the run started and when it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine: Option<MachineStates>,
}

/// The machine's state at the start and at the end of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MachineStates {
    /// The state before the first bench ran.
    pub start: MachineState,
    /// The state when the report was built (the run ended or was interrupted); `None` before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<MachineState>,
}

/// What else the machine was doing, and how it was set up, at one moment; every field is what
/// the OS answered, `None` (or empty) where it could not be read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MachineState {
    /// 1, 5 and 15 minute load averages (`/proc/loadavg`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_average: Option<[f64; 3]>,
    /// The CPU frequency governor(s), e.g. `performance`, or `powersave, performance` when CPUs
    /// differ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_governor: Option<String>,
    /// The lowest and highest current CPU frequency, in MHz.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_mhz: Option<[f64; 2]>,
    /// The tightest CPU quota on this process's cgroup and those above it, in cores; `None`:
    /// none found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup_cpu_cores: Option<f64>,
    /// The tightest memory limit on this process's cgroup and those above it; `None`: none found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup_memory_bytes: Option<u64>,
    /// How long the other processes' CPU use below was sampled over, in milliseconds.
    pub sampled_ms: u64,
    /// The CPU time every other process used during that window, in cores.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other_processes_cores: Option<f64>,
    /// The other processes that used the most CPU during the window (at most five, each at least
    /// 5 % of a core).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub top_processes: Vec<ProcessCpu>,
    /// GPU clocks and persistence mode, where NVML answered.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gpus: Vec<GpuClocks>,
    /// Why the machine counts as busy (other processes used at least half a core, or a quarter
    /// of the cores, whichever is more); `None` when it does not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub busy: Option<String>,
}

impl MachineState {
    /// The top other processes as ` (sh 99 %, yes 50 %)`, for a line about this state; empty
    /// when none was listed.
    pub fn top_processes_named(&self) -> String {
        if self.top_processes.is_empty() {
            return String::new();
        }
        let named: Vec<String> = self
            .top_processes
            .iter()
            .map(|p| format!("{} {:.0} %", p.name, p.cpu_percent))
            .collect();
        format!(" ({})", named.join(", "))
    }
}

/// Another process's CPU use during a sampling window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessCpu {
    /// The process id.
    pub pid: u32,
    /// The process's command name (`/proc/<pid>/stat`'s `comm`).
    pub name: String,
    /// Percent of one core.
    pub cpu_percent: f64,
}

/// One GPU's clocks at a moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GpuClocks {
    /// The GPU's NVML index.
    pub index: u32,
    /// The current SM clock in MHz; `None` when NVML did not answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sm_mhz: Option<u32>,
    /// The current memory clock in MHz; `None` when NVML did not answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_mhz: Option<u32>,
    /// Whether persistence mode is on; `None` when NVML did not answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistence_mode: Option<bool>,
}

/// The git checkout a run was measured from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GitInfo {
    /// The full hash of `HEAD`.
    pub commit: String,
    /// Uncommitted changes to tracked files were present.
    pub dirty: bool,
}
