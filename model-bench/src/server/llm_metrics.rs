//! The reference LLM server's `/metrics`: the series vLLM's V1 engine exports, under its names,
//! labels and histogram buckets (`vllm/v1/metrics/loggers.py`), with values that follow from the
//! server's script, so every server-side figure a bench reads from it has a known answer.
//!
//! A request *waits* from its arrival until a slot of the script's capacity is free, then
//! *runs*: its prefill lasts until its first text chunk leaves, its decode until its last. Its
//! KV cache holds its prompt and the tokens generated so far while it runs. Counters and gauges
//! are atomics touched as the stream goes; a stream's histogram observations are kept by the
//! stream and added under one lock at its first token and at its end.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// vLLM's buckets for `time_to_first_token_seconds`.
const TTFT_BUCKETS: &[f64] = &[
    0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
    20.0, 40.0, 80.0, 160.0, 640.0, 2560.0,
];
/// vLLM's buckets for `inter_token_latency_seconds`.
const ITL_BUCKETS: &[f64] = &[
    0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0,
    40.0, 80.0,
];
/// vLLM's buckets for the request-level times (e2e, queue, prefill, decode, inference).
const REQUEST_BUCKETS: &[f64] = &[
    0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0,
    480.0, 960.0, 1920.0, 7680.0,
];

/// The histograms, in the order `/metrics` lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Timed {
    Ttft,
    Itl,
    E2e,
    Queue,
    Prefill,
    Decode,
    Inference,
}

impl Timed {
    const ALL: [Timed; 7] = [
        Timed::Ttft,
        Timed::Itl,
        Timed::E2e,
        Timed::Queue,
        Timed::Prefill,
        Timed::Decode,
        Timed::Inference,
    ];

    fn name(self) -> &'static str {
        match self {
            Timed::Ttft => "vllm:time_to_first_token_seconds",
            Timed::Itl => "vllm:inter_token_latency_seconds",
            Timed::E2e => "vllm:e2e_request_latency_seconds",
            Timed::Queue => "vllm:request_queue_time_seconds",
            Timed::Prefill => "vllm:request_prefill_time_seconds",
            Timed::Decode => "vllm:request_decode_time_seconds",
            Timed::Inference => "vllm:request_inference_time_seconds",
        }
    }

    fn buckets(self) -> &'static [f64] {
        match self {
            Timed::Ttft => TTFT_BUCKETS,
            Timed::Itl => ITL_BUCKETS,
            _ => REQUEST_BUCKETS,
        }
    }
}

/// One cumulative histogram as Prometheus keeps it: counts per upper bound, sum, count.
#[derive(Debug, Clone)]
struct Histogram {
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    fn new(timed: Timed) -> Self {
        Histogram {
            counts: vec![0; timed.buckets().len()],
            sum: 0.0,
            count: 0,
        }
    }

    fn observe(&mut self, timed: Timed, seconds: f64) {
        // Stored per bucket; made cumulative when written.
        if let Some(at) = timed.buckets().iter().position(|&bound| seconds <= bound) {
            self.counts[at] += 1;
        }
        self.sum += seconds;
        self.count += 1;
    }

    fn add(&mut self, other: &Histogram) {
        for (mine, theirs) in self.counts.iter_mut().zip(&other.counts) {
            *mine += theirs;
        }
        self.sum += other.sum;
        self.count += other.count;
    }
}

/// The server's counters, gauges and histograms.
pub(crate) struct LlmMetrics {
    model: String,
    /// The KV cache's size in tokens (`vllm:kv_cache_usage_perc` is what is held over it).
    kv_capacity: u64,
    waiting: AtomicU64,
    running: AtomicU64,
    kv_held: AtomicU64,
    prompt_tokens: AtomicU64,
    generation_tokens: AtomicU64,
    prefix_queries: AtomicU64,
    prefix_hits: AtomicU64,
    finished: AtomicU64,
    histograms: Mutex<Vec<Histogram>>,
}

impl LlmMetrics {
    pub fn new(model: &str, kv_capacity: u32) -> Self {
        LlmMetrics {
            model: model.to_owned(),
            kv_capacity: u64::from(kv_capacity.max(1)),
            waiting: AtomicU64::new(0),
            running: AtomicU64::new(0),
            kv_held: AtomicU64::new(0),
            prompt_tokens: AtomicU64::new(0),
            generation_tokens: AtomicU64::new(0),
            prefix_queries: AtomicU64::new(0),
            prefix_hits: AtomicU64::new(0),
            finished: AtomicU64::new(0),
            histograms: Mutex::new(Timed::ALL.iter().map(|&t| Histogram::new(t)).collect()),
        }
    }

    /// A request arrived and waits for a slot; its prompt met the prefix cache (`cached` of
    /// `prompt` tokens held, when the server has one).
    pub fn arrived(&self, prompt: u64, cached: Option<u64>) -> RequestMetrics<'_> {
        self.waiting.fetch_add(1, Ordering::Relaxed);
        if let Some(cached) = cached {
            self.prefix_queries.fetch_add(prompt, Ordering::Relaxed);
            self.prefix_hits.fetch_add(cached, Ordering::Relaxed);
        }
        RequestMetrics {
            metrics: self,
            prompt,
            phase: Phase::Waiting,
            held: 0,
            own: Timed::ALL.iter().map(|&t| Histogram::new(t)).collect(),
        }
    }

    fn record(&self, own: &mut [Histogram]) {
        let mut shared = crate::sync::lock(&self.histograms);
        for (shared, own) in shared.iter_mut().zip(own.iter_mut()) {
            shared.add(own);
            own.counts.fill(0);
            own.sum = 0.0;
            own.count = 0;
        }
    }

    /// The Prometheus text exposition (format 0.0.4).
    pub fn render(&self) -> String {
        // A label value escapes `\`, `"` and newlines (the text format's rule).
        let model = self
            .model
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n");
        let labels = format!("engine=\"0\",model_name=\"{model}\"");
        let mut out = String::with_capacity(8 * 1024);
        let load = |value: &AtomicU64| value.load(Ordering::Relaxed);
        let gauge = |out: &mut String, name: &str, help: &str, value: f64| {
            let _ = write!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name}{{{labels}}} {value}\n"
            );
        };
        gauge(
            &mut out,
            "vllm:num_requests_running",
            "Number of requests in model execution batches.",
            load(&self.running) as f64,
        );
        gauge(
            &mut out,
            "vllm:num_requests_waiting",
            "Number of requests waiting to be processed.",
            load(&self.waiting) as f64,
        );
        gauge(
            &mut out,
            "vllm:kv_cache_usage_perc",
            "KV-cache usage. 1 means 100 percent usage.",
            load(&self.kv_held) as f64 / self.kv_capacity as f64,
        );
        let counter = |out: &mut String, name: &str, help: &str, extra: &str, value: u64| {
            let _ = write!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name}_total{{{labels}{extra}}} {value}\n"
            );
        };
        counter(
            &mut out,
            "vllm:num_preemptions",
            "Cumulative number of preemption from the engine.",
            "",
            0,
        );
        counter(
            &mut out,
            "vllm:prompt_tokens",
            "Number of prefill tokens processed.",
            "",
            load(&self.prompt_tokens),
        );
        counter(
            &mut out,
            "vllm:generation_tokens",
            "Number of generation tokens processed.",
            "",
            load(&self.generation_tokens),
        );
        counter(
            &mut out,
            "vllm:prefix_cache_queries",
            "Prefix cache queries, in terms of number of queried tokens.",
            "",
            load(&self.prefix_queries),
        );
        counter(
            &mut out,
            "vllm:prefix_cache_hits",
            "Prefix cache hits, in terms of number of cached tokens.",
            "",
            load(&self.prefix_hits),
        );
        counter(
            &mut out,
            "vllm:request_success",
            "Count of successfully processed requests.",
            ",finished_reason=\"length\"",
            load(&self.finished),
        );
        let histograms = crate::sync::lock(&self.histograms).clone();
        for (timed, histogram) in Timed::ALL.iter().zip(&histograms) {
            let name = timed.name();
            let _ = writeln!(out, "# TYPE {name} histogram");
            let mut cumulative = 0;
            for (bound, count) in timed.buckets().iter().zip(&histogram.counts) {
                cumulative += count;
                let _ = writeln!(
                    out,
                    "{name}_bucket{{{labels},le=\"{bound:?}\"}} {cumulative}"
                );
            }
            let _ = write!(
                out,
                "{name}_bucket{{{labels},le=\"+Inf\"}} {count}\n{name}_count{{{labels}}} {count}\n{name}_sum{{{labels}}} {sum}\n",
                count = histogram.count,
                sum = histogram.sum,
            );
        }
        out
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Waiting,
    Running,
    Done,
}

/// One request's part of the metrics, from its arrival: waiting, running, done. Dropped early
/// (the client hung up), it leaves the gauges as if it had ended, and counts no success.
pub(crate) struct RequestMetrics<'m> {
    metrics: &'m LlmMetrics,
    prompt: u64,
    phase: Phase,
    /// KV tokens this request holds.
    held: u64,
    own: Vec<Histogram>,
}

impl RequestMetrics<'_> {
    /// It got a slot after `queued`: it runs, and its prompt is in the KV cache.
    pub fn started(&mut self, queued: Duration) {
        let metrics = self.metrics;
        metrics.waiting.fetch_sub(1, Ordering::Relaxed);
        metrics.running.fetch_add(1, Ordering::Relaxed);
        metrics
            .prompt_tokens
            .fetch_add(self.prompt, Ordering::Relaxed);
        self.hold(self.prompt);
        self.phase = Phase::Running;
        self.observe(Timed::Queue, queued);
    }

    /// A text chunk of `tokens` tokens left; `gap` since the one before (`None` for the first).
    pub fn chunk(&mut self, tokens: u64, gap: Option<Duration>) {
        self.metrics
            .generation_tokens
            .fetch_add(tokens, Ordering::Relaxed);
        self.hold(tokens);
        if let Some(gap) = gap {
            self.observe(Timed::Itl, gap);
        }
    }

    /// The first text chunk left, `ttft` after the arrival and `prefill` after the start.
    pub fn first_token(&mut self, ttft: Duration, prefill: Duration) {
        self.observe(Timed::Ttft, ttft);
        self.observe(Timed::Prefill, prefill);
        self.metrics.record(&mut self.own);
    }

    /// The stream finished: `e2e` after the arrival, `decode` after its first token,
    /// `inference` after its start.
    pub fn finished(&mut self, e2e: Duration, decode: Duration, inference: Duration) {
        self.observe(Timed::E2e, e2e);
        self.observe(Timed::Decode, decode);
        self.observe(Timed::Inference, inference);
        self.metrics.finished.fetch_add(1, Ordering::Relaxed);
        self.metrics.record(&mut self.own);
        self.leave();
    }

    fn hold(&mut self, tokens: u64) {
        self.held += tokens;
        self.metrics.kv_held.fetch_add(tokens, Ordering::Relaxed);
    }

    fn observe(&mut self, timed: Timed, duration: Duration) {
        // `ALL` lists the kinds in declaration order: a kind's discriminant is its place.
        self.own[timed as usize].observe(timed, duration.as_secs_f64());
    }

    fn leave(&mut self) {
        let metrics = self.metrics;
        match self.phase {
            Phase::Waiting => {
                metrics.waiting.fetch_sub(1, Ordering::Relaxed);
            }
            Phase::Running => {
                metrics.running.fetch_sub(1, Ordering::Relaxed);
                metrics.kv_held.fetch_sub(self.held, Ordering::Relaxed);
            }
            Phase::Done => {}
        }
        self.phase = Phase::Done;
    }
}

impl Drop for RequestMetrics<'_> {
    fn drop(&mut self) {
        if self.phase != Phase::Done {
            // Times observed before the client left still count (vLLM records an aborted
            // request's queue time too).
            self.metrics.record(&mut self.own);
        }
        self.leave();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_waits_runs_and_leaves_the_gauges_as_it_found_them() {
        let metrics = LlmMetrics::new("m", 100);
        let mut request = metrics.arrived(10, Some(4));
        assert!(metrics
            .render()
            .contains("vllm:num_requests_waiting{engine=\"0\",model_name=\"m\"} 1\n"));
        request.started(Duration::from_millis(5));
        request.chunk(2, None);
        request.first_token(Duration::from_millis(25), Duration::from_millis(20));
        let text = metrics.render();
        assert!(
            text.contains("vllm:num_requests_running{engine=\"0\",model_name=\"m\"} 1\n"),
            "{text}"
        );
        // Its 10-token prompt and 2 tokens so far, of 100.
        assert!(
            text.contains("vllm:kv_cache_usage_perc{engine=\"0\",model_name=\"m\"} 0.12\n"),
            "{text}"
        );
        assert!(
            text.contains("vllm:prefix_cache_hits_total{engine=\"0\",model_name=\"m\"} 4\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "vllm:request_queue_time_seconds_count{engine=\"0\",model_name=\"m\"} 1\n"
            ),
            "{text}"
        );
        drop(request);
        let text = metrics.render();
        assert!(
            text.contains("vllm:num_requests_running{engine=\"0\",model_name=\"m\"} 0\n"),
            "{text}"
        );
        assert!(
            text.contains("vllm:kv_cache_usage_perc{engine=\"0\",model_name=\"m\"} 0\n"),
            "{text}"
        );
        // Cut short: no success counted.
        assert!(text.contains("vllm:request_success_total{engine=\"0\",model_name=\"m\",finished_reason=\"length\"} 0\n"), "{text}");
    }

    #[test]
    fn every_kind_sits_at_its_discriminant() {
        for (place, timed) in Timed::ALL.iter().enumerate() {
            assert_eq!(*timed as usize, place, "{timed:?}");
        }
    }

    #[test]
    fn a_model_name_is_escaped_as_a_label_value() {
        let text = LlmMetrics::new("a\"b\\c", 1).render();
        assert!(text.contains("model_name=\"a\\\"b\\\\c\""), "{text}");
    }
}
