//! What an LLM server said it was doing during a load point — its queue, batch, KV cache,
//! prefix cache, speculative decoding, token rates and its own time histograms, read by name from
//! its Prometheus metrics —, where the point's time to first token and end-to-end time went, how
//! the server's figures agree with the client's, and the energy per output token.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// An LLM server's state over a load point, from its Prometheus metrics diffed and averaged over
/// the measurement window. Every figure names the series it came from in `sources`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerState {
    /// Which server's names the metrics carried: `vLLM`, `SGLang`, `TGI`, `llama.cpp` or
    /// `Dynamo`.
    pub server: String,
    /// Requests the server was generating for (in its running batch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub running: Option<Level>,
    /// Requests waiting for the server to take them in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting: Option<Level>,
    /// KV-cache usage as a fraction (1.0 is full).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kv_cache_usage: Option<Level>,
    /// Requests preempted over the window (their KV cache taken back).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preemptions: Option<f64>,
    /// Prompt tokens the prefix cache held over those queried, over the window (or the server's
    /// own rate gauge, averaged, where it exports only that).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix_cache_hit_rate: Option<f64>,
    /// Speculative decoding: draft tokens accepted over those proposed, over the window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec_decode_acceptance: Option<f64>,
    /// Prompt tokens per second as the server counted them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_tokens_per_s: Option<f64>,
    /// Generated tokens per second as the server counted them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation_tokens_per_s: Option<f64>,
    /// Requests the server finished over the window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<f64>,
    /// The server's own time histograms, diffed over the window (`ttft`, `queue`, `prefill`,
    /// `decode`, `e2e`, `itl`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub times: Vec<ServerTime>,
    /// Each figure's source: the figure's name → the metric read.
    pub sources: BTreeMap<String, String>,
    /// The gauges at each scrape, beside the client's time series.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub timeline: Vec<StateSample>,
    /// Where the point's time to first token went; absent when the point has no TTFT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttft_breakdown: Option<TimeBreakdown>,
    /// Where the point's end-to-end time went.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e2e_breakdown: Option<TimeBreakdown>,
    /// The server's request count and TTFT beside the client's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub agreement: Vec<Agreement>,
    /// What could not be read: a counter that went backwards (the server restarted), a figure the
    /// server does not export.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// A gauge over the window's scrapes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Level {
    /// The mean of the scrapes.
    pub mean: f64,
    /// The highest scrape.
    pub max: f64,
}

/// One of the server's time histograms over the window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerTime {
    /// `ttft`, `queue`, `prefill`, `decode`, `e2e` or `itl`.
    pub part: String,
    /// The histogram read.
    pub metric: String,
    /// Observations over the window.
    pub count: f64,
    /// Their mean, ns (the sum's change over the count's).
    pub mean_ns: f64,
    /// Their 90th percentile, ns, interpolated inside its bucket as Prometheus's
    /// `histogram_quantile` does; absent when the histogram has no buckets or it falls in the
    /// open last one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p90_ns: Option<f64>,
}

/// The server's gauges at one scrape.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StateSample {
    /// Seconds from the start of the measurement window.
    pub t_s: f64,
    /// Requests running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub running: Option<f64>,
    /// Requests waiting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting: Option<f64>,
    /// KV-cache usage, a fraction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kv_cache_usage: Option<f64>,
}

/// A client-side time (TTFT or end to end) cut into the parts that made it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimeBreakdown {
    /// The client's mean, ns, from the intended send (open loop) or the send (closed loop).
    pub client_mean_ns: f64,
    /// The client's 90th percentile, ns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_p90_ns: Option<f64>,
    /// The parts in order; their means add up to `client_mean_ns`.
    pub parts: Vec<TimePart>,
    /// Parts the server does not export (they are then inside a wider part).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_exported: Vec<String>,
}

/// One part of a [`TimeBreakdown`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimePart {
    /// What the part is.
    pub name: String,
    /// Its mean, ns.
    pub mean_ns: f64,
    /// Its own 90th percentile, ns, where a histogram gives one (the parts' p90s do not add up).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p90_ns: Option<f64>,
    /// `measured` (a client stamp or a server histogram, named in `source`) or `remainder`
    /// (what the measured parts leave).
    pub kind: String,
    /// The client figure or the server's metric it came from.
    pub source: String,
}

/// One figure both sides counted, and whether they agree within the stated tolerance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Agreement {
    /// `requests` or `ttft_mean_ns`.
    pub figure: String,
    /// The client's figure.
    pub client: f64,
    /// The server's figure.
    pub server: f64,
    /// The largest difference that still agrees.
    pub tolerance: f64,
    /// Whether they agree.
    pub agrees: bool,
    /// When they do not: what that points to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The GPU energy behind a load point's output tokens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Energy {
    /// Where the power was read: `nvml` (this machine's GPUs) or the metric read through the
    /// metrics URL (`DCGM_FI_DEV_POWER_USAGE`, `nv_gpu_power_usage`); absent when not measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The GPUs' names, where the source gives them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gpus: Vec<String>,
    /// Mean power of those GPUs together over the window, W.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power_mean_w: Option<f64>,
    /// Joules per output token: the mean power over the output tokens per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub joules_per_output_token: Option<f64>,
    /// Output tokens per joule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_tokens_per_joule: Option<f64>,
    /// Why it was not measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Energy {
    /// The same power over another output token rate (a scale-out merge's, all workers'
    /// tokens together).
    pub fn rescale(&mut self, output_tokens_per_s: Option<f64>) {
        let per_token = match (self.power_mean_w, output_tokens_per_s) {
            (Some(watts), Some(rate)) if watts > 0.0 && rate > 0.0 => Some(watts / rate),
            _ => None,
        };
        self.joules_per_output_token = per_token;
        self.output_tokens_per_joule = per_token.map(|j| 1.0 / j);
    }
}
