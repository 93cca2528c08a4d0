//! The results data model (`results.json`), versioned by [`SCHEMA_VERSION`]; documented in
//! `docs/results-schema.md`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::env::Environment;
use super::figures::{Breakdown, ColdSummary, Recommendation, SweepSummary, Validity, Verdict};
use super::percentiles::{Percentiles, SpectrumPoint};
use super::resources::{GpuUsage, ProcessUsage, SoakMemory};
use super::server_state::{Energy, ServerState};
use super::stream::{PromptsInfo, StreamStats};

/// Bumped on any change a reader of an older file would misread.
pub const SCHEMA_VERSION: u32 = 1;

/// A whole run's results, as written to `results.json` at the end of a measuring run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The [`SCHEMA_VERSION`] the file was written with.
    pub schema_version: u32,
    /// The version of the model-bench crate that wrote the file.
    pub model_bench_version: String,
    /// Seconds since the Unix epoch when the run finished.
    pub created_unix_s: u64,
    /// The same instant as an RFC 3339 UTC timestamp (`2026-12-01T03:39:44Z`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub created_at: String,
    /// `true` when the run was cut short (Ctrl-C); what was measured before is kept.
    pub interrupted: bool,
    /// How the run was configured.
    pub run: RunInfo,
    /// The machine and software the run was measured on, and the machine's state at its start and
    /// end.
    pub environment: Environment,
    /// One result per bench the name filter selected, in source order.
    pub benches: Vec<BenchResult>,
    /// Per pipeline with per-request stages measured at a common batch size: where its time goes,
    /// stage by stage.
    pub pipelines: Vec<Breakdown>,
    /// Advice read off the results, each with the numbers behind it.
    #[serde(default)]
    pub recommendations: Vec<Recommendation>,
    /// A run merged from several load machines (`model-bench merge`): its workers, point by
    /// point. Absent for a run from one process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scaleout: Option<super::scaleout::ScaleoutInfo>,
}

/// How the run was configured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    /// Quick mode was on (`quick = true` or `MODEL_BENCH_QUICK`): rough numbers fast (a stage bench
    /// gets 10 samples, at most 100 ms of warm-up and 300 ms of measurement; remote load levels and
    /// scenario phases are shortened).
    pub quick: bool,
    /// The criterion filter given on the command line, if any.
    pub filter: Option<String>,
    /// The criterion baseline this run saved to or compared against.
    pub baseline: Option<BaselineUse>,
    /// Path of the settings file read (`model-bench.toml` or `$MODEL_BENCH_CONFIG`); `None` when
    /// there was none.
    pub config_file: Option<String>,
    /// The settings the run used (environment and `model-bench.toml` applied; they hold no
    /// secrets: endpoints and their headers live in bench code, not here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<RunSettings>,
}

/// The effective run settings, as written into every result file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSettings {
    /// Fresh processes started per `cold` bench, unless the bench sets its own `cold_runs`.
    pub cold_runs: u32,
    /// Seconds a cold run's fresh process may take before it is killed and counted as failed.
    pub cold_timeout_s: f64,
    /// Default criterion sample count per bench (`sample_size`, `MODEL_BENCH_SAMPLE_SIZE`); `None`:
    /// criterion's own. A bench's own option, criterion's flags and quick mode take precedence.
    pub sample_size: Option<usize>,
    /// Default criterion warm-up time per bench, in seconds (`warm_up_time`,
    /// `MODEL_BENCH_WARM_UP_TIME`); `None`: criterion's own. A bench's own option, criterion's
    /// flags and quick mode take precedence.
    pub warm_up_time_s: Option<f64>,
    /// Default criterion measurement time per bench, in seconds (`measurement_time`,
    /// `MODEL_BENCH_MEASUREMENT_TIME`); `None`: criterion's own. A bench's own option, criterion's
    /// flags and quick mode take precedence.
    pub measurement_time_s: Option<f64>,
    /// Whether the regression gate judged this run: `[gate] enabled` / `MODEL_BENCH_GATE`, or
    /// `same_setup`, which turns it on.
    pub gate_enabled: bool,
    /// The gate refuses to judge a comparison across runtimes, models or servers.
    #[serde(default)]
    pub gate_same_setup: bool,
    /// The gate's significance level: a change counts only with a p-value below it (criterion's
    /// default 0.05).
    pub significance_level: f64,
    /// The gate's default noise threshold, a fraction of the mean (0.01 = ±1 %): a significant
    /// change whose confidence interval reaches inside it is `within_noise`.
    pub noise_threshold: f64,
    /// Per-bench noise thresholds, by bench key.
    pub noise_by_bench: BTreeMap<String, f64>,
    /// Each threshold as `bench: text`.
    pub thresholds: Vec<String>,
    /// The latency SLO load levels are judged against (`[recommend] slo_p99`), in ns.
    pub slo_p99_ns: Option<f64>,
    /// Cold-start overhead (cold mean − warm median) above which preloading is advised
    /// (`[recommend] cold_overhead`), in ns.
    pub cold_overhead_ns: f64,
    /// IQR / median above which a point is flagged as noisy (`[recommend] noise`), as a fraction
    /// (0.1 = 10 %).
    pub noise_ratio: f64,
    /// Resident-memory growth over one bench that is flagged, in bytes.
    #[serde(default)]
    pub memory_growth_bytes: u64,
}

/// What the run did with a criterion baseline; JSON `{"action": "save" | "compare" |
/// "compare_lenient", "name": …}`. `RunInfo::baseline` is `None` with `--discard-baseline`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "action", content = "name")]
pub enum BaselineUse {
    /// `--save-baseline NAME`, or no baseline flag at all (criterion's default, `base`): this run
    /// is saved as the baseline.
    Save(String),
    /// `--baseline NAME`: compared against that saved baseline; a bench without it fails.
    Compare(String),
    /// `--baseline-lenient NAME`: compared where that baseline exists; benches without it are
    /// measured uncompared.
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

/// How a bench ended; JSON `ok`, `ceiling`, `failed` or `skipped`.
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

/// The results of one `#[model_bench]` function: its points, sweep and cold runs, and what was
/// watched while it ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchResult {
    /// `pipeline/name` or `name`.
    pub id: String,
    /// The function's name, or the attribute's `name = "…"`.
    pub name: String,
    /// The attribute's `pipeline`; `None` when it names none.
    pub pipeline: Option<String>,
    /// `load`, `preprocess`, `forward`, `postprocess`, `end_to_end` or a custom stage name;
    /// `remote` for a remote endpoint bench.
    pub stage: String,
    /// Where the timed work ran: `cpu` or `cuda` (the attribute's `device`).
    pub device: String,
    /// Where the bench function is defined, as `file:line`.
    pub source: String,
    /// How the bench ended; see [`BenchStatus`].
    pub status: BenchStatus,
    /// Why the bench failed, or why its sweep stopped.
    pub error: Option<String>,
    /// One per measured batch size (for a remote bench, one per load level, each with `batch` 1);
    /// empty when nothing was measured or the bench ran a scenario.
    pub points: Vec<PointResult>,
    /// For a swept bench (`batch = [...]`): the best batch, knee and ceiling over its points;
    /// `None` for an unswept bench or when no batch size ran.
    pub sweep: Option<SweepSummary>,
    /// For a `cold` bench in a measuring run: its first calls in fresh processes; `None` otherwise,
    /// and for a failed or skipped bench.
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
    /// Resident memory before the bench, in bytes.
    pub rss_before_bytes: u64,
    /// Resident memory after the bench (before any cold runs), in bytes.
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
    /// The wire protocol (`rest`, `rest-binary`, `grpc`, `http-post`, `openai-chat` or
    /// `openai-completions` in JSON).
    pub protocol: super::protocol::Protocol,
    /// The URL the requests went to.
    pub url: String,
    /// The model the requests named.
    pub model: String,
    /// Whether model-bench started the server in-process.
    pub server: ServerKind,
    /// The comparison (`compare = "…"`) this bench is reported in, side by side with the others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compare: Option<String>,
    /// An LLM bench's prompts: where they came from, their lengths and how tokens were counted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompts: Option<PromptsInfo>,
}

/// `Display` for the enums whose results name is their `as_str`.
macro_rules! display_as_str {
    ($($name:ident),+) => {$(
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    )+};
}

display_as_str!(ServerKind, LoopKind, LatencyBasis);

/// Who ran a remote bench's server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServerKind {
    /// `reference`: model-bench's in-process reference server (V2 or LLM).
    Reference,
    /// `external`: a server at a URL the bench gave.
    External,
}

impl ServerKind {
    /// Its name in results: `reference` or `external`.
    pub fn as_str(self) -> &'static str {
        match self {
            ServerKind::Reference => "reference",
            ServerKind::External => "external",
        }
    }
}

/// How a load point's requests were sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoopKind {
    /// `closed`: a fixed number of requests in flight, each sent when one ends.
    Closed,
    /// `open`: arrivals at a target rate, whether or not answers came back.
    Open,
}

impl LoopKind {
    /// Its name in results: `closed` or `open`.
    pub fn as_str(self) -> &'static str {
        match self {
            LoopKind::Closed => "closed",
            LoopKind::Open => "open",
        }
    }
}

/// One criterion benchmark: a bench at one batch size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PointResult {
    /// The criterion benchmark id, e.g. `mobilenet/forward/4`.
    pub id: String,
    /// The batch size (items per call); 1 for a remote bench's load levels.
    pub batch: usize,
    /// Unit of every time in `estimates` (`ns` for wall-clock stages).
    pub unit: String,
    /// criterion's estimates of the time of one call, in `unit` (device time when `device_timing`
    /// is present).
    pub estimates: Estimates,
    /// The samples behind `estimates`.
    pub sample: SampleInfo,
    /// Items (batch elements) per second at the median; absent for `load` stages.
    pub items_per_sec: Option<f64>,
    /// criterion's comparison against the baseline given with `--baseline`, when there was one.
    pub change: Option<Change>,
    /// Token streams: criterion's comparison of time to first token (the slices' means, from
    /// the intended send; criterion benchmark `<id>/ttft`) against the baseline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttft_change: Option<Change>,
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
    /// Memory in use (per `scope`) at the point's first reading, in bytes.
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
    /// Warm regime: the mean host wall time per iteration over the measured samples, ns; `None` for
    /// `cold_cache`.
    pub host_mean_ns: Option<f64>,
    /// Warm regime: measured samples in which the host queued the calls no faster than the device
    /// ran them (the device idled between launches: its time is the launch rate, not the work).
    #[serde(default)]
    pub launch_bound_samples: usize,
}

/// One point of a remote bench's load sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadPoint {
    /// A closed loop (a fixed number of requests in flight) or an open one (arrivals at a target
    /// rate).
    pub mode: LoopKind,
    /// Closed loop: the requests kept in flight; `None` in an open loop.
    pub concurrency: Option<usize>,
    /// Open loop: the target arrivals per second; `None` in a closed loop.
    pub target_rate: Option<f64>,
    /// `constant` or `poisson`, for open loops.
    pub arrival: Option<String>,
    /// What the run measured over its window (for a mixed workload, the whole mix).
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
    /// An LLM server's state during the load, read by name from `metrics` (vLLM, SGLang, TGI,
    /// llama.cpp, Dynamo), with where the point's TTFT went.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_state: Option<ServerState>,
    /// A token-stream point's GPU energy per output token (or why it was not measured).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub energy: Option<Energy>,
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
    /// The member's name: the model's for the bench's own endpoint, else the name given to
    /// `Endpoint::mix`.
    pub name: String,
    /// Its weight as given (its share of requests is `weight` over the sum of the weights).
    pub weight: f64,
    /// The figures over this member's requests alone (`dropped` is 0: an arrival is given its
    /// member when it is sent).
    pub stats: LoadStats,
}

/// A server's Prometheus metrics over a load point: each gauge and counter series, read
/// about every `interval_s` (each wait 0.75–1.25 of it, so the readings do not beat with the
/// server's own periodic work) from the start of the measurement window to the end of the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerMetrics {
    /// The metrics URL scraped.
    pub source: String,
    /// The nominal time between scrapes, in seconds.
    pub interval_s: f64,
    /// Scrapes that answered with metrics, and those that did not.
    pub scrapes: usize,
    /// Scrapes that did not answer with metrics.
    pub failed_scrapes: usize,
    /// The first failed scrape's error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_error: Option<String>,
    /// Seconds from the first to the last successful scrape.
    pub window_s: f64,
    /// The gauge and counter series, in the order the server lists them; at most 512.
    pub series: Vec<MetricSeries>,
    /// Series left out beyond the cap on series kept per point.
    pub dropped_series: usize,
}

/// One series (a metric name and its labels) over the scrapes that had it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricSeries {
    /// The metric's name.
    pub name: String,
    /// The series' labels; omitted from the JSON when it has none.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// `gauge` or `counter`.
    pub kind: String,
    /// Readings of the series; a counter first seen after the first scrape was born during
    /// the window and counts a reading of 0 before its first.
    pub samples: usize,
    /// The first reading, in the metric's own unit (0 for a counter born during the window).
    pub first: f64,
    /// The last reading.
    pub last: f64,
    /// The smallest reading.
    pub min: f64,
    /// The largest reading.
    pub max: f64,
    /// The mean of the readings.
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
    /// Failed requests the server counted between the readings (0 when it reports none).
    pub failed: u64,
    /// Mean ns per request: queued before the model's turn, taking the inputs in, inferring,
    /// producing the outputs.
    pub queue_ns: Option<f64>,
    /// Mean ns per request taking the inputs in; `None` when the server counted none.
    pub compute_input_ns: Option<f64>,
    /// Mean ns per request running the model; `None` when the server counted none.
    pub compute_infer_ns: Option<f64>,
    /// Mean ns per request producing the outputs; `None` when the server counted none.
    pub compute_output_ns: Option<f64>,
    /// Mean ns per successful request inside the server, end to end.
    pub server_total_ns: f64,
    /// The client's mean from send to response, ns.
    pub client_service_mean_ns: Option<f64>,
    /// The client's mean minus the server's: network, protocol framing and the client's own
    /// encoding and decoding.
    pub outside_server_ns: Option<f64>,
}

/// What a load point's latency figures mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LatencyBasis {
    /// Open loop (`intended_send`): from each request's intended send time, so a stalled
    /// server cannot hide behind a client that stopped sending.
    IntendedSend,
    /// Closed loop (`corrected_closed_loop`): service times, with HdrHistogram's correction for
    /// coordinated omission at the median service time as the expected interval.
    CorrectedClosedLoop,
}

impl LatencyBasis {
    /// The basis's name in results: `intended_send` or `corrected_closed_loop`.
    pub fn as_str(self) -> &'static str {
        match self {
            LatencyBasis::IntendedSend => "intended_send",
            LatencyBasis::CorrectedClosedLoop => "corrected_closed_loop",
        }
    }
}

impl LoadStats {
    /// The first failure of the first error class, as `class: message`.
    pub fn first_error(&self) -> Option<String> {
        self.first_errors
            .iter()
            .next()
            .map(|(class, message)| format!("{class}: {message}"))
    }
}

/// What a load run measured, over requests started inside its measurement window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadStats {
    /// What the latency figures mean: from each request's scheduled send (open loop) or
    /// service times corrected for coordinated omission (closed loop).
    pub latency_basis: LatencyBasis,
    /// Requests started inside the window (after the warm-up).
    pub requests: u64,
    /// Of those, the ones that succeeded.
    pub ok: u64,
    /// Of those, the ones that failed (`requests − ok`).
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
    /// Failed requests per error class: `connect`, `timeout`, `http_<status>`, `grpc_<code>` (e.g.
    /// `grpc_unavailable`), `decode` or `io`; also the load generator's own failures, which
    /// are no request (a load worker or the dispatcher that stopped, an interval log that
    /// could not be written).
    pub errors_by_class: BTreeMap<String, u64>,
    /// The first message seen for each error class.
    pub first_errors: BTreeMap<String, String>,
    /// Open loop: % of requests sent more than 1 ms after their intended time (counted from the
    /// `lateness` histogram: to its precision, sends within a half-microsecond past 1 ms count
    /// as on time).
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
    /// The token streams' figures, for an endpoint that streams tokens (OpenAI-compatible);
    /// absent for the others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<StreamStats>,
}

/// What a scenario did: its phases with their figures, the run behind a ramp or spike (with its
/// time series), a spike's recovery and where a stress run broke.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioResult {
    /// `ramp`, `spike`, `stress` or `soak`.
    pub kind: String,
    /// The scenario's phases, in order.
    pub phases: Vec<ScenarioPhase>,
    /// Ramp and spike: the one continuous run (its `stats.time_series` step by step).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load: Option<LoadPoint>,
    /// Spike: how high p99 went and how long it took to come back; `None` for the other kinds, or
    /// when no step before the spike had a p99.
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
    /// `step N` (ramp), `before` / `spike` / `after` (spike), `level N` (stress) or `window N`
    /// (soak).
    pub name: String,
    /// Seconds from the start of the scenario's measured run (a stress level counts from the
    /// first level's start, levels back to back).
    pub start_s: f64,
    /// Where the phase ends, in seconds on the same clock as `start_s`.
    pub end_s: f64,
    /// Target requests per second (0 in a closed loop).
    pub rate: f64,
    /// Requests in flight, in a closed loop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<usize>,
    /// Requests sent in the phase (ramp, spike and soak: those intended to be sent in its
    /// time-series steps).
    pub sent: u64,
    /// Of those, the ones that succeeded.
    pub ok: u64,
    /// Of those, the ones that failed.
    pub errors: u64,
    /// Successful responses per second that arrived during the phase.
    pub throughput_rps: f64,
    /// Latency of the phase's successful requests, ns (ramp and spike: two significant figures).
    pub p50_ns: Option<f64>,
    /// The 99th percentile of that latency, ns; `None` when no request of the phase succeeded.
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
    /// How near `before_p99_ns` counts as recovered, in percent (10: p99 at most 10 % above it).
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
    /// Of those, the ones that succeeded.
    pub ok: u64,
    /// Of those, the ones that failed.
    pub errors: u64,
    /// Successful responses that arrived during the step, per second.
    pub throughput_rps: f64,
    /// Latency of the step's successful requests (from the intended send in an open loop; the
    /// plain service time in a closed loop), ns; two significant figures.
    pub p50_ns: Option<f64>,
    /// The 99th percentile of that latency, ns; `None` when no request of the step succeeded.
    pub p99_ns: Option<f64>,
    /// The largest of that latency, ns; `None` when no request of the step succeeded.
    pub max_ns: Option<f64>,
}

/// Requests whose latency fell in `(low_ns, high_ns]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HistogramBucket {
    /// The bucket's lower bound (exclusive), ns; 0 for the first bucket.
    pub low_ns: f64,
    /// The bucket's upper bound (inclusive), ns.
    pub high_ns: f64,
    /// Values in the bucket (the counts sum to `latency.count`).
    pub count: u64,
}

/// criterion's bootstrap estimates of the time of one iteration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Estimates {
    /// The mean time of one iteration, in the point's `unit`.
    pub mean: Estimate,
    /// The median time of one iteration, in the point's `unit`.
    pub median: Estimate,
    /// The standard deviation of the iteration times, in the point's `unit`.
    pub std_dev: Estimate,
    /// The median absolute deviation of the iteration times, in the point's `unit`.
    pub median_abs_dev: Estimate,
    /// The slope of criterion's linear regression of sample time on iterations, in the point's
    /// `unit`; `None` when criterion did not sample linearly.
    pub slope: Option<Estimate>,
}

impl Estimates {
    /// A remote point's mean and median latency from its histogram, as exact values (no
    /// interval): what stands in when criterion took no samples, or for a merged run.
    pub fn from_latency(stats: &LoadStats) -> Self {
        let exact = |point: f64| Estimate {
            point,
            lower: point,
            upper: point,
            confidence_level: 0.0,
            standard_error: 0.0,
        };
        let (mean, median) = stats.latency.map(|l| (l.mean, l.p50)).unwrap_or((0.0, 0.0));
        Estimates {
            mean: exact(mean),
            median: exact(median),
            std_dev: exact(0.0),
            median_abs_dev: exact(0.0),
            slope: None,
        }
    }
}

/// One criterion estimate with its bootstrap confidence interval: a time in the point's `unit` in
/// [`Estimates`], a relative change (0.05 = +5 %) in [`Change`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// The point estimate.
    pub point: f64,
    /// The confidence interval's lower bound.
    pub lower: f64,
    /// The confidence interval's upper bound.
    pub upper: f64,
    /// The interval's confidence level, as a fraction (criterion's default 0.95); 0 when a remote
    /// point's estimates come from its histogram (no interval).
    pub confidence_level: f64,
    /// The bootstrap standard error of the estimate, in the same unit as `point`.
    pub standard_error: f64,
}

/// What criterion sampled: sample count, iterations, and per-iteration percentiles of the samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleInfo {
    /// Samples criterion took; 0 for a remote point criterion could not run on (its estimates then
    /// come from the histogram).
    pub samples: usize,
    /// Iterations over all the samples together.
    pub iterations: u64,
    /// The smallest per-iteration time (a sample's time over its iterations), in the point's
    /// `unit`.
    pub min: f64,
    /// The 95th percentile of the per-iteration times, in the point's `unit`.
    pub p95: f64,
    /// The largest per-iteration time, in the point's `unit`.
    pub max: f64,
    /// Interquartile range of the per-iteration times (p75 − p25).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iqr: Option<f64>,
    /// First and third quartiles of the per-iteration times (the box of a box plot).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p25: Option<f64>,
    /// The third quartile of the per-iteration times; absent in older files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p75: Option<f64>,
}

impl SampleInfo {
    /// No criterion samples (a remote point criterion could not run on, or a merged run).
    pub fn none() -> Self {
        SampleInfo {
            samples: 0,
            iterations: 0,
            min: 0.0,
            p95: 0.0,
            max: 0.0,
            iqr: None,
            p25: None,
            p75: None,
        }
    }
}

/// criterion's relative change against a baseline (0.05 = +5 %).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// The relative change of the mean, with criterion's confidence interval (0.05 = +5 %).
    pub mean: Estimate,
    /// The relative change of the median, with criterion's confidence interval (0.05 = +5 %).
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

/// A `cold` bench's first calls in fresh processes, at the first batch size it measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColdResult {
    /// The summary, when at least one fresh process produced a measurement.
    pub summary: Option<ColdSummary>,
    /// Fresh processes that failed, each with its message.
    pub failures: Vec<String>,
}

impl Report {
    /// The benches whose status is [`BenchStatus::Failed`] (a ceiling or a skip is not a failure).
    pub fn failed_benches(&self) -> impl Iterator<Item = &BenchResult> {
        self.benches
            .iter()
            .filter(|b| b.status == BenchStatus::Failed)
    }
}

impl BenchResult {
    /// This bench's point at batch size `batch`, when it was measured (a remote bench's points all
    /// have batch 1: this finds its first).
    pub fn point(&self, batch: usize) -> Option<&PointResult> {
        self.points.iter().find(|p| p.batch == batch)
    }
}
