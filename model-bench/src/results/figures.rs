//! The derived figures a result carries, as the result files record them: a sweep's summary, a cold
//! summary, a pipeline breakdown, a point's validity, a comparison's verdict and the advice. The
//! code that computes them lives in `stats/` and `runner/recommend.rs`; this is only their serde
//! shape.

use serde::{Deserialize, Serialize};

/// One batch size of a sweep, from its median time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepPoint {
    /// The batch size (items per call).
    pub batch: usize,
    /// Median time of one call (the whole batch).
    pub latency_ns: f64,
    /// `latency_ns` over the batch size: the median time per item, ns.
    pub latency_per_item_ns: f64,
    /// Items per second at the median (`batch` × 10⁹ / `latency_ns`).
    pub items_per_sec: f64,
}

/// Where latency starts growing faster than throughput, going from `from_batch` to `batch`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Knee {
    /// The batch size at which latency grew by a larger fraction than throughput.
    pub batch: usize,
    /// The measured batch size before it in the sweep.
    pub from_batch: usize,
    /// Relative latency growth from `from_batch` to `batch` (0.5 = +50 %).
    pub latency_growth: f64,
    /// Relative throughput growth over the same step (may be negative).
    pub throughput_growth: f64,
}

/// The first batch size whose run failed; larger sizes were not tried.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ceiling {
    /// The batch size that failed.
    pub batch: usize,
    /// The failure's message.
    pub message: String,
    /// The failure was the device running out of memory (the batch does not fit).
    #[serde(default)]
    pub out_of_memory: bool,
}

/// What a batch-size sweep shows: each batch size's figures, the best one, the knee and the
/// ceiling.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepSummary {
    /// One per measured batch size, in sweep order, from each one's median.
    pub points: Vec<SweepPoint>,
    /// The batch size with the most items per second.
    pub best_batch: Option<usize>,
    /// The first step where latency grew by a larger fraction than throughput; `None` when there is
    /// none.
    pub knee: Option<Knee>,
    /// The first batch size that failed; `None` when every batch size ran.
    pub ceiling: Option<Ceiling>,
}

/// One stage of a pipeline breakdown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageShare {
    /// The stage bench's name (not its id).
    pub bench: String,
    /// The stage it times (`preprocess`, `forward`, `postprocess` or a custom name).
    pub stage: String,
    /// Its median time at the breakdown's batch size, ns.
    pub median_ns: f64,
    /// Share of the sum of stage medians, in percent.
    pub share_pct: f64,
}

/// Where a pipeline's per-request time goes: its stages' medians (every stage but `load` and
/// `end_to_end`) at one batch size, against its end-to-end bench's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Breakdown {
    /// The pipeline's name.
    pub pipeline: String,
    /// The batch size every stage was compared at.
    pub batch: usize,
    /// Each per-request stage bench measured at `batch`, in source order.
    pub stages: Vec<StageShare>,
    /// The sum of the stage medians, ns.
    pub sum_ns: f64,
    /// The pipeline's measured end-to-end median, when it has an end-to-end bench.
    pub end_to_end_ns: Option<f64>,
    /// End-to-end minus the sum of stages: glue, copies, cache effects (may be negative).
    pub unaccounted_ns: Option<f64>,
    /// The name of the stage bench with the largest median; `None` without stages.
    pub bottleneck: Option<String>,
}

/// What the fresh processes of a `cold` bench measured, against the warm median.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColdSummary {
    /// The batch size the cold runs used: the first one the bench measured.
    pub batch: usize,
    /// Fresh processes that produced a measurement (those that failed are in
    /// `ColdResult::failures`).
    pub runs: usize,
    /// Each fresh process's time from entering the bench function to the end of its first call.
    pub samples_ns: Vec<f64>,
    /// The mean of `samples_ns`, ns.
    pub mean_ns: f64,
    /// The 95th percentile of `samples_ns` (linear interpolation), ns.
    pub p95_ns: f64,
    /// The smallest of `samples_ns`, ns.
    pub min_ns: f64,
    /// The largest of `samples_ns`, ns.
    pub max_ns: f64,
    /// The sample standard deviation (n − 1) of `samples_ns`, ns; 0 for a single run.
    pub std_dev_ns: f64,
    /// Mean of the first call alone (without the setup before it).
    pub first_call_mean_ns: f64,
    /// Criterion's warm median of the same bench at the same batch size.
    pub warm_median_ns: Option<f64>,
    /// Cold mean minus warm median.
    pub overhead_ns: Option<f64>,
    /// Overhead relative to the warm median, in percent.
    pub overhead_pct: Option<f64>,
}

/// A point's label and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Validity {
    /// `VALID` or `UNSTABLE`.
    pub label: String,
    /// Empty when valid.
    pub reasons: Vec<String>,
    /// How many times the point was run (the last run is the one reported).
    pub trials: u32,
}

impl Validity {
    /// Whether the point is `VALID`: no reason against it.
    pub fn is_valid(&self) -> bool {
        self.reasons.is_empty()
    }
}

/// What a comparison says about one benchmark (timings: higher is slower).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Significant, and the whole confidence interval of the change is above +noise.
    Regressed,
    /// Significant, and the whole confidence interval is below −noise.
    Improved,
    /// Significant, but the interval reaches into ±noise: shown, never failed.
    WithinNoise,
    /// Not significant at the level asked.
    NoChange,
}

impl Verdict {
    /// The verdict in words, for reports: `regressed`, `improved`, `within noise`, `no change`
    /// (serde writes `within_noise`, `no_change`).
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Regressed => "regressed",
            Verdict::Improved => "improved",
            Verdict::WithinNoise => "within noise",
            Verdict::NoChange => "no change",
        }
    }
}

/// What a [`Recommendation`] is about; JSON in snake case (`launch_bound`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdviceKind {
    /// The batch size to serve with: the one with the most items per second.
    Batch,
    /// The load level to run at (the most throughput with p99 under the SLO, or without errors), or
    /// that no level kept the SLO.
    Load,
    /// A cold start costs more than `cold_overhead` over the warm median: preload or keep an
    /// instance warm.
    Cold,
    /// A noisy point: its IQR / median is above the `noise` ratio.
    Noise,
    /// Resident memory grew by more than `memory_growth_bytes` over a bench, or a server's grew
    /// steadily under load.
    Memory,
    /// A device-timed point in more than half of whose samples the device waited for the host.
    LaunchBound,
    /// What held an LLM server back, from its own metrics: a full KV cache, preemptions, a
    /// queue with memory to spare, or time outside the server.
    Saturation,
}

/// One piece of advice read off the results, with the figures behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    /// A bench id, or a point id for advice about one point.
    pub bench: String,
    /// What the advice is about.
    pub kind: AdviceKind,
    /// The advice, in words (`serve with batch 4`).
    pub advice: String,
    /// The measured figures the advice rests on.
    pub evidence: String,
}
