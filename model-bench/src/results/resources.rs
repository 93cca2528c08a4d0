//! What the machine had and what the watched processes and GPUs used, as the result files record
//! it. The samplers that measure these live in `resources/`; this is only their serde shape.

use serde::{Deserialize, Serialize};

/// One GPU over one bench.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GpuUsage {
    pub index: u32,
    pub samples: usize,
    pub utilization_mean_pct: Option<f64>,
    pub utilization_max_pct: Option<u32>,
    pub memory_used_max_bytes: Option<u64>,
    pub sm_clock_mean_mhz: Option<f64>,
    pub sm_clock_min_mhz: Option<u32>,
    pub temperature_max_c: Option<u32>,
    pub power_mean_w: Option<f64>,
    pub power_max_w: Option<f64>,
    /// Readings taken while the clock was throttled.
    pub throttled_samples: usize,
    /// Every throttle reason seen.
    pub throttle_reasons: Vec<String>,
}

/// One process over one load point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessUsage {
    pub role: String,
    pub pid: u32,
    pub samples: usize,
    /// CPU use in % of one core (200 % is two cores busy).
    pub cpu_mean_pct: Option<f64>,
    pub cpu_max_pct: Option<f64>,
    pub rss_first_bytes: u64,
    pub rss_max_bytes: u64,
    pub rss_last_bytes: u64,
    /// Least-squares slope of the resident memory over the point, bytes per second.
    pub rss_slope_bytes_per_s: Option<f64>,
    pub threads_max: Option<u64>,
    /// The process ended while it was watched.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub exited: bool,
}

/// A process's memory over a soak: where it started, its peak, each window's mean, what a
/// request in flight costs, and whether it keeps growing once the load has settled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SoakMemory {
    pub role: String,
    pub pid: u32,
    /// The first reading, taken before the first request.
    pub baseline_bytes: u64,
    pub peak_bytes: u64,
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
    pub leak_threshold_bytes_per_s: f64,
    /// `growth_bytes_per_s` above the threshold; `None` when there is no growth figure.
    pub leak: Option<bool>,
}

/// One GPU.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GpuInfo {
    pub index: u32,
    pub name: String,
    pub memory_bytes: Option<u64>,
    pub uuid: Option<String>,
}

/// What NVML reports about the machine's GPUs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GpuEnvironment {
    pub gpus: Vec<GpuInfo>,
    pub driver_version: Option<String>,
    /// The CUDA version the driver supports, e.g. `12.8`.
    pub cuda_driver_version: Option<String>,
}
