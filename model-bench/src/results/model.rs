//! The results data model (`results.json`), versioned by [`SCHEMA_VERSION`]; documented in
//! `docs/results-schema.md`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::env::Environment;
use super::figures::{Breakdown, ColdSummary, Recommendation, SweepSummary, Validity, Verdict};
use super::resources::{GpuUsage, ProcessUsage, SoakMemory};

/// Bumped on any change a reader of an older file would misread.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub schema_version: u32,
    pub model_bench_version: String,
    /// Seconds since the Unix epoch when the run finished.
    pub created_unix_s: u64,
    /// The same instant as an RFC 3339 UTC timestamp (`2026-12-01T03:39:44Z`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub created_at: String,
    /// `true` when the run was cut short (Ctrl-C); what was measured before is kept.
    pub interrupted: bool,
    pub run: RunInfo,
    pub environment: Environment,
    pub benches: Vec<BenchResult>,
    pub pipelines: Vec<Breakdown>,
    /// Advice read off the results, each with the numbers behind it.
    #[serde(default)]
    pub recommendations: Vec<Recommendation>,
}

/// How the run was configured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    pub quick: bool,
    /// The criterion filter given on the command line, if any.
    pub filter: Option<String>,
    /// The criterion baseline this run saved to or compared against.
    pub baseline: Option<BaselineUse>,
    pub config_file: Option<String>,
    /// The settings the run used (environment and `model-bench.toml` applied; they hold no
    /// secrets: endpoints and their headers live in bench code, not here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<RunSettings>,
}

/// The effective run settings, as written into every result file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSettings {
    pub cold_runs: u32,
    pub cold_timeout_s: f64,
    pub sample_size: Option<usize>,
    pub warm_up_time_s: Option<f64>,
    pub measurement_time_s: Option<f64>,
    pub gate_enabled: bool,
    /// The gate refuses to judge a comparison across runtimes, models or servers.
    #[serde(default)]
    pub gate_same_setup: bool,
    pub significance_level: f64,
    pub noise_threshold: f64,
    /// Per-bench noise thresholds, by bench key.
    pub noise_by_bench: BTreeMap<String, f64>,
    /// Each threshold as `bench: text`.
    pub thresholds: Vec<String>,
    /// The latency SLO load levels are judged against (`[recommend] slo_p99`), in ns.
    pub slo_p99_ns: Option<f64>,
    pub cold_overhead_ns: f64,
    pub noise_ratio: f64,
    /// Resident-memory growth over one bench that is flagged, in bytes.
    #[serde(default)]
    pub memory_growth_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "action", content = "name")]
pub enum BaselineUse {
    Save(String),
    Compare(String),
    CompareLenient(String),
}

impl BaselineUse {
    /// The baseline's name, whatever is done with it.
    pub fn name(&self) -> &str {
        match self {
            BaselineUse::Save(name)
            | BaselineUse::Compare(name)
            | BaselineUse::CompareLenient(name) => name,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BenchStatus {
    /// Every batch size ran.
    Ok,
    /// A sweep stopped at a failing batch size (its ceiling); smaller sizes were measured.
    Ceiling,
    /// The bench failed before anything was measured; counts as a failed bench.
    Failed,
    /// The bench cannot run here (e.g. `device = cuda` without a CUDA driver); `error` says why.
    /// Not a failure.
    Skipped,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchResult {
    /// `pipeline/name` or `name`.
    pub id: String,
    pub name: String,
    pub pipeline: Option<String>,
    pub stage: String,
    pub device: String,
    pub source: String,
    pub status: BenchStatus,
    /// Why the bench failed, or why its sweep stopped.
    pub error: Option<String>,
    pub points: Vec<PointResult>,
    pub sweep: Option<SweepSummary>,
    pub cold: Option<ColdResult>,
    /// For a remote endpoint bench: what it drove.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote: Option<RemoteInfo>,
    /// The bench process's resident memory around the bench's warm runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<MemoryUse>,
    /// For a `device = cuda` bench: each GPU as NVML sampled it while the bench ran.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gpu_usage: Vec<GpuUsage>,
    /// Why a `device = cuda` bench has no `gpu_usage` (e.g. NVML unavailable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_usage_note: Option<String>,
    /// A remote bench that ran a scenario (ramp, spike, stress) instead of steady levels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scenario: Option<ScenarioResult>,
    /// What ran, as the runtime helpers and the bench's own code recorded it while the bench ran
    /// (`backend`, `backend.version`, `execution_provider`, `model.path`, `model.sha256`, …;
    /// `model_bench::facts`).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub facts: std::collections::BTreeMap<String, String>,
    /// How the setup of the baseline this bench was compared with differs from this run's (one
    /// entry per difference, from the setup file saved beside the baseline); empty when they
    /// match or nothing was compared.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub setup_changes: Vec<super::SetupChange>,
    /// Baseline files that exist but could not be read (`point: file: why`): those points have
    /// no verdict, and the gate fails the run rather than pass what it could not judge.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub baseline_errors: Vec<String>,
}

/// Resident memory (RSS) of the bench process before and after one bench (setup, warm-up and
/// measurement; a remote bench on the in-process reference server counts from after the server
/// started and loaded its model).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MemoryUse {
    pub rss_before_bytes: u64,
    pub rss_after_bytes: u64,
}

impl MemoryUse {
    /// After minus before (negative when memory went back to the OS).
    pub fn growth_bytes(&self) -> i64 {
        self.rss_after_bytes as i64 - self.rss_before_bytes as i64
    }
}

/// The endpoint a remote bench drove. The URL carries no credentials or query string.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemoteInfo {
    pub protocol: String,
    pub url: String,
    pub model: String,
    /// `reference` when model-bench started its in-process reference server.
    pub server: String,
    /// The comparison (`compare = "…"`) this bench is reported in, side by side with the others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compare: Option<String>,
}

/// One criterion benchmark: a bench at one batch size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PointResult {
    /// The criterion benchmark id, e.g. `mobilenet/forward/4`.
    pub id: String,
    pub batch: usize,
    /// Unit of every time in `estimates` (`ns` for wall-clock stages).
    pub unit: String,
    pub estimates: Estimates,
    pub sample: SampleInfo,
    /// Items (batch elements) per second at the median; absent for `load` stages.
    pub items_per_sec: Option<f64>,
    /// criterion's comparison against the baseline given with `--baseline`, when there was one.
    pub change: Option<Change>,
    /// For a remote bench: the load run behind this point (criterion's samples are the mean
    /// latencies of its equal time slices).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load: Option<LoadPoint>,
    /// For a point timed on a device clock (`device_events`: events on the work's stream), the
    /// host wall time per iteration of the same samples; `estimates` are device time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_timing: Option<DeviceTiming>,
    /// For a GPU stage: the GPU's memory before, at its peak during, and after this point.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_memory: Option<GpuMemoryUse>,
}

/// GPU memory around one point (NVML): read when the point starts, every
/// [`MEMORY_INTERVAL`](crate::resources::nvml::MEMORY_INTERVAL) while it runs, and when it ends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GpuMemoryUse {
    /// The NVML index of the GPU read.
    pub gpu: u32,
    /// `process` (this process's memory on the GPU) or `device` (all memory in use on it, when
    /// NVML does not list this process: then other processes' memory is included).
    pub scope: String,
    pub before_bytes: u64,
    /// The largest reading; a peak shorter than the reading interval can be missed.
    pub peak_bytes: u64,
    /// After the bench function returned (memory a runtime caches is still counted).
    pub after_bytes: u64,
}

/// The host side of a device-timed point (nvbench reports both clocks).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceTiming {
    /// `device_events`.
    pub clock: String,
    /// `warm` (calls back to back) or `cold_cache` (the cache flushed before every call, each call
    /// timed alone).
    pub regime: String,
    /// Warm regime: median and mean host wall time per iteration over the measured samples
    /// (launch, queueing and the wait for the device), ns.
    pub host_median_ns: Option<f64>,
    pub host_mean_ns: Option<f64>,
    /// Warm regime: measured samples in which the host queued the calls no faster than the device
    /// ran them (the device idled between launches: its time is the launch rate, not the work).
    #[serde(default)]
    pub launch_bound_samples: usize,
}

/// One point of a remote bench's load sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadPoint {
    /// `closed` (a fixed number of requests in flight) or `open` (arrivals at a target rate).
    pub mode: String,
    pub concurrency: Option<usize>,
    pub target_rate: Option<f64>,
    /// `constant` or `poisson`, for open loops.
    pub arrival: Option<String>,
    pub stats: LoadStats,
    /// Whether the point's measurement windows agreed (and met the minimums): VALID or
    /// UNSTABLE, with the reasons.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validity: Option<Validity>,
    /// CPU, memory and threads of the client process and, when the bench names it, the
    /// server's, during the run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub processes: Vec<ProcessUsage>,
    /// Where the server spent its time (Triton's statistics extension), when it offers it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<ServerBreakdown>,
    /// Why there is no server breakdown (no statistics extension, an answer that did not parse).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_note: Option<String>,
    /// The server's Prometheus metrics, scraped during the measurement window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<ServerMetrics>,
    /// Why there are no metrics (the URL did not answer, or not in Prometheus's text format).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics_note: Option<String>,
    /// This machine's GPUs during the run (NVML), when the server runs here (the reference
    /// server, or a URL on loopback).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gpu: Vec<GpuUsage>,
    /// Why a server on this machine has no `gpu` figures (no NVML, no GPU).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_note: Option<String>,
    /// A mixed workload: each member's own figures (`stats` is the whole mix).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mix: Vec<MixMemberStats>,
}

/// One member of a mixed workload over a load point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MixMemberStats {
    pub name: String,
    /// Its weight as given (its share of requests is `weight` over the sum of the weights).
    pub weight: f64,
    pub stats: LoadStats,
}

/// A server's Prometheus metrics over a load point: each gauge and counter series, read
/// about every `interval_s` (each wait 0.75–1.25 of it, so the readings do not beat with the
/// server's own periodic work) from the start of the measurement window to the end of the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerMetrics {
    /// The metrics URL scraped.
    pub source: String,
    pub interval_s: f64,
    /// Scrapes that answered with metrics, and those that did not.
    pub scrapes: usize,
    pub failed_scrapes: usize,
    /// The first failed scrape's error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_error: Option<String>,
    /// Seconds from the first to the last successful scrape.
    pub window_s: f64,
    pub series: Vec<MetricSeries>,
    /// Series left out beyond the cap on series kept per point.
    pub dropped_series: usize,
}

/// One series (a metric name and its labels) over the scrapes that had it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricSeries {
    pub name: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// `gauge` or `counter`.
    pub kind: String,
    /// Readings of the series; a counter first seen after the first scrape was born during
    /// the window and counts a reading of 0 before its first.
    pub samples: usize,
    pub first: f64,
    pub last: f64,
    pub min: f64,
    pub max: f64,
    pub mean: f64,
    /// Counters: `(last - first) / window_s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_sec: Option<f64>,
}

/// Server-side time per request over a load point (warm-up included), from the difference of
/// the server's cumulative statistics before and after it, beside the client's own view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerBreakdown {
    /// The statistics URL read.
    pub source: String,
    /// Successful and failed requests the server counted between the readings.
    pub requests: u64,
    pub failed: u64,
    /// Mean ns per request: queued before the model's turn, taking the inputs in, inferring,
    /// producing the outputs.
    pub queue_ns: Option<f64>,
    pub compute_input_ns: Option<f64>,
    pub compute_infer_ns: Option<f64>,
    pub compute_output_ns: Option<f64>,
    /// Mean ns per successful request inside the server, end to end.
    pub server_total_ns: f64,
    /// The client's mean from send to response, ns.
    pub client_service_mean_ns: Option<f64>,
    /// The client's mean minus the server's: network, protocol framing and the client's own
    /// encoding and decoding.
    pub outside_server_ns: Option<f64>,
}

/// What a load run measured, over requests started inside its measurement window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadStats {
    /// `intended_send` (open loop: latency from each request's scheduled send time) or
    /// `corrected_closed_loop` (closed loop: service times corrected for coordinated omission).
    pub latency_basis: String,
    pub requests: u64,
    pub ok: u64,
    pub errors: u64,
    /// `ok / requests`.
    pub success_rate: f64,
    /// From the window's start to the last measured response.
    pub elapsed_s: f64,
    /// Successful responses per second.
    pub throughput_rps: f64,
    /// Requests sent per second of window.
    pub sent_rps: f64,
    /// Nanoseconds, successful requests only.
    pub latency: Option<Percentiles>,
    /// Nanoseconds from the actual send to the response, successful requests only.
    pub service: Option<Percentiles>,
    pub errors_by_class: BTreeMap<String, u64>,
    /// The first message seen for each error class.
    pub first_errors: BTreeMap<String, String>,
    /// Open loop: % of requests sent more than 1 ms after their intended time.
    pub late_pct: Option<f64>,
    /// Open loop: how late sends were (ns).
    pub lateness: Option<Percentiles>,
    /// Open loop: arrivals never sent (the generator fell too far behind, or the run ended).
    pub dropped: u64,
    /// The percentile spectrum of `latency` (HdrHistogram's percentile distribution: finer steps
    /// towards the tail), ascending.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spectrum: Vec<SpectrumPoint>,
    /// `latency` in logarithmic buckets, ascending, empty buckets left out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub histogram: Vec<HistogramBucket>,
    /// The run step by step (1 s unless configured): what was sent, what succeeded and how long
    /// it took, and the responses that arrived in each step.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub time_series: Vec<SeriesPoint>,
    /// Why and when the run stopped before its end (its error limit was reached); the figures
    /// cover what was measured until then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
}

/// What a scenario did: its phases with their figures, the run behind a ramp or spike (with its
/// time series), a spike's recovery and where a stress run broke.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioResult {
    /// `ramp`, `spike`, `stress` or `soak`.
    pub kind: String,
    pub phases: Vec<ScenarioPhase>,
    /// Ramp and spike: the one continuous run (its `stats.time_series` step by step).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load: Option<LoadPoint>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery: Option<Recovery>,
    /// Stress: the highest rate that held (`None`: the first level already broke).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub highest_held: Option<f64>,
    /// Stress: the p99 limit a level must stay under, ns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slo_p99_ns: Option<f64>,
    /// Soak: each watched process's memory over the windows, and the leak verdict.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub memory: Vec<SoakMemory>,
}

/// One phase of a scenario: a ramp's step, a spike's before / spike / after, a stress level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioPhase {
    pub name: String,
    /// Seconds from the start of the scenario's measured run (a stress level counts from the
    /// first level's start, levels back to back).
    pub start_s: f64,
    pub end_s: f64,
    /// Target requests per second (0 in a closed loop).
    pub rate: f64,
    /// Requests in flight, in a closed loop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<usize>,
    pub sent: u64,
    pub ok: u64,
    pub errors: u64,
    /// Successful responses per second that arrived during the phase.
    pub throughput_rps: f64,
    /// Latency of the phase's successful requests, ns (ramp and spike: two significant figures).
    pub p50_ns: Option<f64>,
    pub p99_ns: Option<f64>,
    /// Stress: why this level broke the limits; absent when it held.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broke: Option<String>,
}

/// What a spike did to latency and how long the server took to recover.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recovery {
    /// The median of the steps' p99 before the spike (the first step left out as settling), ns.
    pub before_p99_ns: f64,
    /// The highest step p99 from the spike's start on, ns.
    pub peak_p99_ns: f64,
    /// From the spike's end to the start of the first step after which every step's p99 is back
    /// within `within_pct` of `before_p99_ns`; `None`: not within the run.
    pub recovery_s: Option<f64>,
    pub within_pct: f64,
    /// The resolution of `recovery_s`: the time series' step.
    pub step_s: f64,
}

/// One step of a load run's time series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesPoint {
    /// When the step starts, seconds from the start of the measurement window.
    pub start_s: f64,
    /// Requests intended to be sent during the step, and how they ended.
    pub sent: u64,
    pub ok: u64,
    pub errors: u64,
    /// Successful responses that arrived during the step, per second.
    pub throughput_rps: f64,
    /// Latency of the step's successful requests (from the intended send in an open loop; the
    /// plain service time in a closed loop), ns; two significant figures.
    pub p50_ns: Option<f64>,
    pub p99_ns: Option<f64>,
    pub max_ns: Option<f64>,
}

/// One step of a percentile spectrum: `percentile` % of the successful requests took at most
/// `value_ns`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SpectrumPoint {
    pub percentile: f64,
    pub value_ns: f64,
}

/// Requests whose latency fell in `(low_ns, high_ns]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HistogramBucket {
    pub low_ns: f64,
    pub high_ns: f64,
    pub count: u64,
}

/// Percentiles of an HDR histogram (3 significant figures), in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    pub count: u64,
    pub min: f64,
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

/// criterion's bootstrap estimates of the time of one iteration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Estimates {
    pub mean: Estimate,
    pub median: Estimate,
    pub std_dev: Estimate,
    pub median_abs_dev: Estimate,
    pub slope: Option<Estimate>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    pub point: f64,
    pub lower: f64,
    pub upper: f64,
    pub confidence_level: f64,
    pub standard_error: f64,
}

/// What criterion sampled: sample count, iterations, and per-iteration percentiles of the samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleInfo {
    pub samples: usize,
    pub iterations: u64,
    pub min: f64,
    pub p95: f64,
    pub max: f64,
    /// Interquartile range of the per-iteration times (p75 − p25).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iqr: Option<f64>,
    /// First and third quartiles of the per-iteration times (the box of a box plot).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p25: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p75: Option<f64>,
}

/// criterion's relative change against a baseline (0.05 = +5 %).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub mean: Estimate,
    pub median: Estimate,
    /// Two-tailed p-value of criterion's t-test of this run's samples against the baseline's;
    /// absent when the baseline's samples could not be read before the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p_value: Option<f64>,
    /// criterion's rule applied with model-bench's gate settings (significance level, noise
    /// threshold for this bench); absent without a p-value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColdResult {
    /// The summary, when at least one fresh process produced a measurement.
    pub summary: Option<ColdSummary>,
    /// Fresh processes that failed, each with its message.
    pub failures: Vec<String>,
}

impl Report {
    pub fn failed_benches(&self) -> impl Iterator<Item = &BenchResult> {
        self.benches
            .iter()
            .filter(|b| b.status == BenchStatus::Failed)
    }
}

impl BenchResult {
    pub fn point(&self, batch: usize) -> Option<&PointResult> {
        self.points.iter().find(|p| p.batch == batch)
    }
}
