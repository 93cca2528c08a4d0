//! What a scale-out worker writes beside each point's interval log (`<point>.json`): who it
//! is, what configuration it ran, the histograms' shape, when it ran and what it counted. The
//! runner writes it (atomically, `complete: false` from the point's start), the merge reads it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::results::Slo;

/// The layout version of [`WorkerRecord`].
pub const WORKER_SCHEMA: &str = "model-bench-worker/1";

/// Which worker wrote a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerId {
    /// 0-based index.
    pub index: usize,
    /// Workers in the run.
    pub count: usize,
    /// The pod's name (`POD_NAME`) or the host's: Kubernetes can start two pods for one index.
    pub identity: String,
}

/// The bounds and precision of a worker's histograms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistogramShape {
    /// Lowest discernible value, ns.
    pub lowest_discernible_ns: u64,
    /// Highest trackable value, ns.
    pub highest_trackable_ns: u64,
    /// Significant figures.
    pub significant_figures: u8,
}

/// One worker's record of one load point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerRecord {
    /// [`WORKER_SCHEMA`].
    pub schema: String,
    /// The load point's id (`pipeline/bench/level`).
    pub point: String,
    /// Who wrote it.
    pub worker: WorkerId,
    /// A hash of the point's whole configuration: equal on every worker of one run.
    pub config_hash: String,
    /// The histograms' shape: equal on every worker, or they do not add exactly.
    pub histograms: HistogramShape,
    /// The interval log's file name, beside this record.
    pub interval_log: String,
    /// What the log's times count from (seconds since the Unix epoch): the shared start, else
    /// the worker's own start.
    pub base_time_s: f64,
    /// The shared start, when one was given (seconds since the Unix epoch).
    pub start_at_s: Option<f64>,
    /// How late this worker woke for the shared start, ms.
    pub wake_lag_ms: Option<f64>,
    /// When the point started on this worker (seconds since the Unix epoch).
    pub started_s: f64,
    /// When it ended; `None` while it runs.
    pub ended_s: Option<f64>,
    /// Measured requests (this worker's share).
    pub requests: Option<u64>,
    /// Of those, the successful ones.
    pub ok: Option<u64>,
    /// Of those, the failed ones.
    pub errors: Option<u64>,
    /// Failures by class.
    #[serde(default)]
    pub errors_by_class: BTreeMap<String, u64>,
    /// Open loop: arrivals of this worker's share never sent.
    pub dropped: Option<u64>,
    /// Requests sent per second of window.
    pub sent_rps: Option<f64>,
    /// Successful responses per second.
    pub throughput_rps: Option<f64>,
    /// The measured span, s.
    pub elapsed_s: Option<f64>,
    /// Whether the point finished on this worker: `false` from its start, so a worker killed
    /// mid-point leaves a record that says so.
    pub complete: bool,
    /// The measured window's equal slices (criterion's samples), in order: what each slice's
    /// successful requests add up to. Summed over the workers, each slice's mean is that of every
    /// request of the run, which the merged result replays to criterion (baselines, the gate).
    #[serde(default)]
    pub slices: Vec<SliceSums>,
    /// Token streams: what the worker's streams add up to as numbers (the histograms are in
    /// the interval log); `None` for other endpoints, or before the point ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<StreamCounts>,
}

/// A worker's token streams over its window, as numbers: with the stream histograms of its
/// interval log (`ttft`, `ttft_service`, `chunk_gap`, `itl`), all its stream figures are made
/// of these, and workers' add exactly.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StreamCounts {
    /// Successful streams.
    pub streams: u64,
    /// Their output tokens.
    pub output_tokens: u64,
    /// Their input tokens, of the streams that reported them.
    pub input_tokens: u64,
    /// Streams that reported input tokens.
    pub with_input: u64,
    /// Over streams, each stream's output tokens per second, added.
    pub per_stream_rate_sum: f64,
    /// Streams by where their output token count came from.
    pub token_sources: BTreeMap<String, u64>,
    /// Streams by where their input token count came from.
    pub input_token_sources: BTreeMap<String, u64>,
    /// The objectives streams were judged against.
    pub slo: Slo,
    /// Streams that met every objective.
    pub good: u64,
}

impl StreamCounts {
    /// `other` added to these (the objectives are the run's, equal on every worker).
    pub fn add(&mut self, other: &StreamCounts) {
        self.streams += other.streams;
        self.output_tokens += other.output_tokens;
        self.input_tokens += other.input_tokens;
        self.with_input += other.with_input;
        self.per_stream_rate_sum += other.per_stream_rate_sum;
        self.good += other.good;
        for (source, count) in &other.token_sources {
            *self.token_sources.entry(source.clone()).or_default() += count;
        }
        for (source, count) in &other.input_token_sources {
            *self.input_token_sources.entry(source.clone()).or_default() += count;
        }
        if !self.slo.is_set() {
            self.slo = other.slo;
        }
    }
}

/// One slice of a worker's measured window: its successful requests and their latencies (and
/// times to first token) added up, so workers' slices add exactly.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SliceSums {
    /// Successful requests intended in the slice.
    pub ok: u64,
    /// Their latencies (from the intended send), added, ns.
    pub latency_sum_ns: u64,
    /// Token streams: those that gave a first token.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub ttft_ok: u64,
    /// Token streams: their times to first token, added, ns.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub ttft_sum_ns: u64,
}

fn is_zero(value: &u64) -> bool {
    *value == 0
}

impl SliceSums {
    /// `other` added to this.
    pub fn add(&mut self, other: &SliceSums) {
        self.ok += other.ok;
        self.latency_sum_ns = self.latency_sum_ns.saturating_add(other.latency_sum_ns);
        self.ttft_ok += other.ttft_ok;
        self.ttft_sum_ns = self.ttft_sum_ns.saturating_add(other.ttft_sum_ns);
    }

    /// The mean latency of each slice that had a successful request, ns, in order.
    pub fn latency_means(slices: &[SliceSums]) -> Vec<f64> {
        slices
            .iter()
            .filter(|s| s.ok > 0)
            .map(|s| s.latency_sum_ns as f64 / s.ok as f64)
            .collect()
    }

    /// The mean time to first token of each slice that had one, ns, in order.
    pub fn ttft_means(slices: &[SliceSums]) -> Vec<f64> {
        slices
            .iter()
            .filter(|s| s.ttft_ok > 0)
            .map(|s| s.ttft_sum_ns as f64 / s.ttft_ok as f64)
            .collect()
    }
}
