//! The derived figures a result carries, as the result files record them: a sweep's summary, a cold
//! summary, a pipeline breakdown, a point's validity, a comparison's verdict and the advice. The
//! code that computes them lives in `stats/` and `runner/recommend.rs`; this is only their serde
//! shape.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepPoint {
    pub batch: usize,
    /// Median time of one call (the whole batch).
    pub latency_ns: f64,
    pub latency_per_item_ns: f64,
    pub items_per_sec: f64,
}

/// Where latency starts growing faster than throughput, going from `from_batch` to `batch`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Knee {
    pub batch: usize,
    pub from_batch: usize,
    /// Relative latency growth from `from_batch` to `batch` (0.5 = +50 %).
    pub latency_growth: f64,
    /// Relative throughput growth over the same step (may be negative).
    pub throughput_growth: f64,
}

/// The first batch size whose run failed; larger sizes were not tried.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ceiling {
    pub batch: usize,
    pub message: String,
    /// The failure was the device running out of memory (the batch does not fit).
    #[serde(default)]
    pub out_of_memory: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepSummary {
    pub points: Vec<SweepPoint>,
    /// The batch size with the most items per second.
    pub best_batch: Option<usize>,
    pub knee: Option<Knee>,
    pub ceiling: Option<Ceiling>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageShare {
    pub bench: String,
    pub stage: String,
    pub median_ns: f64,
    /// Share of the sum of stage medians, in percent.
    pub share_pct: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Breakdown {
    pub pipeline: String,
    /// The batch size every stage was compared at.
    pub batch: usize,
    pub stages: Vec<StageShare>,
    pub sum_ns: f64,
    /// The pipeline's measured end-to-end median, when it has an end-to-end bench.
    pub end_to_end_ns: Option<f64>,
    /// End-to-end minus the sum of stages: glue, copies, cache effects (may be negative).
    pub unaccounted_ns: Option<f64>,
    pub bottleneck: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColdSummary {
    pub batch: usize,
    pub runs: usize,
    /// Each fresh process's time from entering the bench function to the end of its first call.
    pub samples_ns: Vec<f64>,
    pub mean_ns: f64,
    pub p95_ns: f64,
    pub min_ns: f64,
    pub max_ns: f64,
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
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Regressed => "regressed",
            Verdict::Improved => "improved",
            Verdict::WithinNoise => "within noise",
            Verdict::NoChange => "no change",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdviceKind {
    Batch,
    Load,
    Cold,
    Noise,
    Memory,
    LaunchBound,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    /// A bench id, or a point id for advice about one point.
    pub bench: String,
    pub kind: AdviceKind,
    pub advice: String,
    /// The measured figures the advice rests on.
    pub evidence: String,
}
