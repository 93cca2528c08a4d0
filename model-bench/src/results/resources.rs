//! What the machine had and what the watched processes and GPUs used, as the result files record
//! it. The samplers that measure these live in `resources/`; this is only their serde shape.

use serde::{Deserialize, Serialize};

/// One GPU over one bench.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GpuUsage {
    /// The GPU's NVML index.
    pub index: u32,
    /// How many readings were taken (about one every 100 ms).
    pub samples: usize,
    /// Mean GPU utilization in percent (0–100); `None` when NVML gave no utilization reading.
    pub utilization_mean_pct: Option<f64>,
    /// Highest GPU utilization in percent (0–100); `None` when NVML gave no utilization reading.
    pub utilization_max_pct: Option<u32>,
    /// Peak memory used on the whole device (all processes), in bytes; `None` when not readable.
    pub memory_used_max_bytes: Option<u64>,
    /// Mean SM clock in MHz; `None` when not readable.
    pub sm_clock_mean_mhz: Option<f64>,
    /// Lowest SM clock in MHz; `None` when not readable.
    pub sm_clock_min_mhz: Option<u32>,
    /// Highest GPU temperature in °C; `None` when not readable.
    pub temperature_max_c: Option<u32>,
    /// Mean power draw in watts; `None` when not readable.
    pub power_mean_w: Option<f64>,
    /// Highest power draw in watts; `None` when not readable.
    pub power_max_w: Option<f64>,
    /// Readings taken while the clock was throttled.
    pub throttled_samples: usize,
    /// Every throttle reason seen.
    pub throttle_reasons: Vec<String>,
}

/// One process over one load point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessUsage {
    /// Which process: `client` (the load generator, this process) or `server`.
    pub role: String,
    /// The process id.
    pub pid: u32,
    /// How many readings found the process (about one every 100 ms).
    pub samples: usize,
    /// CPU use in % of one core (200 % is two cores busy).
    pub cpu_mean_pct: Option<f64>,
    /// Highest CPU use in % of one core; `None` when only the first reading (which has no CPU
    /// figure) found the process.
    pub cpu_max_pct: Option<f64>,
    /// Resident memory at the first reading, in bytes.
    pub rss_first_bytes: u64,
    /// Highest resident memory, in bytes.
    pub rss_max_bytes: u64,
    /// Resident memory at the last reading that found the process, in bytes.
    pub rss_last_bytes: u64,
    /// Least-squares slope of the resident memory over the point, bytes per second.
    pub rss_slope_bytes_per_s: Option<f64>,
    /// Most threads seen (Linux `/proc/<pid>/status`); `None` where that is not readable.
    pub threads_max: Option<u64>,
    /// The process ended while it was watched.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub exited: bool,
}

/// A process's memory over a soak: where it started, its peak, each window's mean, what a
/// request in flight costs, and whether it keeps growing once the load has settled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SoakMemory {
    /// Which process: `client` (the load generator, this process) or `server`.
    pub role: String,
    /// The process id.
    pub pid: u32,
    /// The first reading, taken before the first request.
    pub baseline_bytes: u64,
    /// Highest resident memory over the soak, in bytes.
    pub peak_bytes: u64,
    /// Resident memory at the last reading, in bytes.
    pub last_bytes: u64,
    /// The mean of each window's readings under load (the baseline reading left out).
    pub window_mean_bytes: Vec<u64>,
    /// Requests in flight on average over the soak (Little's law: throughput × mean service
    /// time).
    pub mean_in_flight: Option<f64>,
    /// `(first window's mean − baseline) / mean_in_flight`: memory per request in flight (a
    /// leak inflates it).
    pub per_in_flight_bytes: Option<f64>,
    /// Least-squares slope of the readings after the first window (where the load settles),
    /// bytes per second; `None` with fewer than three such readings.
    pub growth_bytes_per_s: Option<f64>,
    /// Growth above this many bytes per second counts as a leak.
    pub leak_threshold_bytes_per_s: f64,
    /// `growth_bytes_per_s` above the threshold; `None` when there is no growth figure.
    pub leak: Option<bool>,
}

/// One GPU.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GpuInfo {
    /// The GPU's NVML index.
    pub index: u32,
    /// The product name (e.g. `NVIDIA H100 80GB HBM3`); `unknown` when NVML did not give it.
    pub name: String,
    /// Total device memory in bytes; `None` when not readable.
    pub memory_bytes: Option<u64>,
    /// The GPU's UUID (`GPU-…`); `None` when not readable.
    pub uuid: Option<String>,
}

/// What NVML reports about the machine's GPUs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GpuEnvironment {
    /// Every GPU NVML listed, in index order.
    pub gpus: Vec<GpuInfo>,
    /// The NVIDIA driver's version (e.g. `570.86.15`); `None` when not readable.
    pub driver_version: Option<String>,
    /// The CUDA version the driver supports, e.g. `12.8`.
    pub cuda_driver_version: Option<String>,
}
