//! The LLM servers' metric names model-bench reads, each with the figure it gives and where the
//! name was read (the server's source file and version; `docs/llm-server-metrics.md` is the
//! same table for readers). A leaf: the rest of `server_state/` looks names up here.

/// A figure of [`crate::results::ServerState`] and what kind of series gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Figure {
    /// Gauge, requests (summed over label sets).
    Running,
    /// Gauge, requests (summed over label sets).
    Waiting,
    /// Gauge, a fraction 0–1 (averaged over label sets).
    KvUsage,
    /// Counter, preemptions.
    Preemptions,
    /// Counter, prompt tokens looked up in the prefix cache.
    PrefixQueries,
    /// Counter, prompt tokens the prefix cache held.
    PrefixHits,
    /// Counter, prompt tokens the prefix cache did not hold (where the server counts those
    /// instead of the tokens looked up: queries are then hits + misses).
    PrefixMisses,
    /// Gauge, the server's own hit rate, a fraction (where it exports no counters).
    PrefixHitRate,
    /// Counter, draft tokens proposed.
    SpecDrafted,
    /// Counter, draft tokens accepted.
    SpecAccepted,
    /// Gauge, the server's own acceptance rate, a fraction (where it exports no counters).
    SpecAcceptRate,
    /// Counter, prompt tokens.
    PromptTokens,
    /// Counter, generated tokens.
    GenerationTokens,
    /// Counter, requests finished.
    Requests,
    /// Histogram (seconds): time to first token.
    Ttft,
    /// Histogram (seconds): waiting before the server took the request in.
    Queue,
    /// Histogram (seconds): prefill.
    Prefill,
    /// Histogram (seconds): decode.
    Decode,
    /// Histogram (seconds): the whole request inside the server.
    E2e,
    /// Histogram (seconds): between output tokens.
    Itl,
}

impl Figure {
    /// The figure's key in `ServerState::sources` and `ServerTime::part`.
    pub fn key(self) -> &'static str {
        match self {
            Figure::Running => "running",
            Figure::Waiting => "waiting",
            Figure::KvUsage => "kv_cache_usage",
            Figure::Preemptions => "preemptions",
            Figure::PrefixQueries => "prefix_cache_queries",
            Figure::PrefixHits => "prefix_cache_hits",
            Figure::PrefixMisses => "prefix_cache_misses",
            Figure::PrefixHitRate => "prefix_cache_hit_rate",
            Figure::SpecDrafted => "spec_decode_drafted",
            Figure::SpecAccepted => "spec_decode_accepted",
            Figure::SpecAcceptRate => "spec_decode_acceptance_rate",
            Figure::PromptTokens => "prompt_tokens",
            Figure::GenerationTokens => "generation_tokens",
            Figure::Requests => "requests",
            Figure::Ttft => "ttft",
            Figure::Queue => "queue",
            Figure::Prefill => "prefill",
            Figure::Decode => "decode",
            Figure::E2e => "e2e",
            Figure::Itl => "itl",
        }
    }

    /// Whether the series is a histogram (its buckets are kept, its `_sum` and `_count` read).
    pub fn is_histogram(self) -> bool {
        matches!(
            self,
            Figure::Ttft
                | Figure::Queue
                | Figure::Prefill
                | Figure::Decode
                | Figure::E2e
                | Figure::Itl
        )
    }
}

/// A server whose metric names are known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    Vllm,
    Sglang,
    Tgi,
    LlamaCpp,
    TensorRtLlm,
    Dynamo,
}

impl Server {
    pub fn name(self) -> &'static str {
        match self {
            Server::Vllm => "vLLM",
            Server::Sglang => "SGLang",
            Server::Tgi => "TGI",
            Server::LlamaCpp => "llama.cpp",
            Server::TensorRtLlm => "TensorRT-LLM",
            Server::Dynamo => "Dynamo",
        }
    }

    /// In the order a reading is matched: an engine's own names before a frontend's (Dynamo's
    /// workers pass vLLM's, SGLang's and TensorRT-LLM's through).
    pub const ALL: [Server; 6] = [
        Server::Vllm,
        Server::Sglang,
        Server::TensorRtLlm,
        Server::Tgi,
        Server::LlamaCpp,
        Server::Dynamo,
    ];
}

/// One name a server exports for a figure, as it appears on the wire (a counter with its
/// `_total`; a histogram by its base name), in the figure's unit (every server's fractions are
/// 0–1, its times seconds).
#[derive(Debug, Clone, Copy)]
pub struct Name {
    pub server: Server,
    pub figure: Figure,
    pub metric: &'static str,
}

const fn name(server: Server, figure: Figure, metric: &'static str) -> Name {
    Name {
        server,
        figure,
        metric,
    }
}

use Figure::*;
use Server::*;

/// Every name read, a server's preferred name for a figure first (a figure takes the first of
/// its names the server exports: vLLM's current names, then those of its older engine).
pub const NAMES: &[Name] = &[
    // vLLM: vllm/v1/metrics/loggers.py @ v0.34.0 (g62d4bc3c7); the V1 engine's older names
    // (`gpu_cache_usage_perc`, `gpu_prefix_cache_*`, `time_per_output_token_seconds`) @ v0.10.2
    // (g26b999c71); the V0 engine's (hit-rate and acceptance gauges) vllm/engine/metrics.py @
    // v0.7.3.
    name(Vllm, Running, "vllm:num_requests_running"),
    name(Vllm, Waiting, "vllm:num_requests_waiting"),
    name(Vllm, KvUsage, "vllm:kv_cache_usage_perc"),
    name(Vllm, KvUsage, "vllm:gpu_cache_usage_perc"),
    name(Vllm, Preemptions, "vllm:num_preemptions_total"),
    name(Vllm, PrefixQueries, "vllm:prefix_cache_queries_total"),
    name(Vllm, PrefixQueries, "vllm:gpu_prefix_cache_queries_total"),
    name(Vllm, PrefixHits, "vllm:prefix_cache_hits_total"),
    name(Vllm, PrefixHits, "vllm:gpu_prefix_cache_hits_total"),
    name(Vllm, PrefixHitRate, "vllm:gpu_prefix_cache_hit_rate"),
    name(Vllm, SpecDrafted, "vllm:spec_decode_num_draft_tokens_total"),
    name(
        Vllm,
        SpecAccepted,
        "vllm:spec_decode_num_accepted_tokens_total",
    ),
    name(
        Vllm,
        SpecAcceptRate,
        "vllm:spec_decode_draft_acceptance_rate",
    ),
    name(Vllm, PromptTokens, "vllm:prompt_tokens_total"),
    name(Vllm, GenerationTokens, "vllm:generation_tokens_total"),
    name(Vllm, Requests, "vllm:request_success_total"),
    name(Vllm, Ttft, "vllm:time_to_first_token_seconds"),
    name(Vllm, Queue, "vllm:request_queue_time_seconds"),
    name(Vllm, Prefill, "vllm:request_prefill_time_seconds"),
    name(Vllm, Decode, "vllm:request_decode_time_seconds"),
    name(Vllm, E2e, "vllm:e2e_request_latency_seconds"),
    name(Vllm, Itl, "vllm:inter_token_latency_seconds"),
    name(Vllm, Itl, "vllm:time_per_output_token_seconds"),
    // SGLang: srt/observability/metrics_collector.py @ v0.5.23 (srt/metrics/collector.py up to
    // v0.5.4); `time_per_output_token_seconds` @ v0.3.6–v0.4.0. Its cached-token counter is
    // labelled by tier and a total, so the hit-rate gauge is read instead.
    name(Sglang, Running, "sglang:num_running_reqs"),
    name(Sglang, Waiting, "sglang:num_queue_reqs"),
    name(Sglang, KvUsage, "sglang:token_usage"),
    name(Sglang, PrefixHitRate, "sglang:cache_hit_rate"),
    name(Sglang, SpecAcceptRate, "sglang:spec_accept_rate"),
    name(Sglang, PromptTokens, "sglang:prompt_tokens_total"),
    name(Sglang, GenerationTokens, "sglang:generation_tokens_total"),
    name(Sglang, Requests, "sglang:num_requests_total"),
    name(Sglang, Ttft, "sglang:time_to_first_token_seconds"),
    name(Sglang, Queue, "sglang:queue_time_seconds"),
    name(Sglang, E2e, "sglang:e2e_request_latency_seconds"),
    name(Sglang, Itl, "sglang:inter_token_latency_seconds"),
    name(Sglang, Itl, "sglang:time_per_output_token_seconds"),
    // TensorRT-LLM's `/prometheus/metrics` (not `/metrics`, which is JSON):
    // tensorrt_llm/metrics/collector.py @ 050f80de (2026).
    name(TensorRtLlm, Running, "trtllm_num_requests_running"),
    name(TensorRtLlm, Waiting, "trtllm_num_requests_waiting"),
    name(TensorRtLlm, KvUsage, "trtllm_kv_cache_utilization"),
    name(TensorRtLlm, PrefixHitRate, "trtllm_kv_cache_hit_rate"),
    name(TensorRtLlm, PromptTokens, "trtllm_prompt_tokens_total"),
    name(
        TensorRtLlm,
        GenerationTokens,
        "trtllm_generation_tokens_total",
    ),
    name(TensorRtLlm, Requests, "trtllm_request_success_total"),
    name(TensorRtLlm, Ttft, "trtllm_time_to_first_token_seconds"),
    name(TensorRtLlm, Queue, "trtllm_request_queue_time_seconds"),
    name(TensorRtLlm, Prefill, "trtllm_request_prefill_time_seconds"),
    name(TensorRtLlm, Decode, "trtllm_request_decode_time_seconds"),
    name(TensorRtLlm, E2e, "trtllm_e2e_request_latency_seconds"),
    name(TensorRtLlm, Itl, "trtllm_time_per_output_token_seconds"),
    // TGI: router/src/server.rs, validation.rs, backends/v3/src/queue.rs @ db931fcf (v3.3.7).
    // Its counters carry no `_total`; its token counts are histograms' sums.
    name(Tgi, Running, "tgi_batch_current_size"),
    name(Tgi, Waiting, "tgi_queue_size"),
    name(Tgi, PromptTokens, "tgi_request_input_length_sum"),
    name(Tgi, GenerationTokens, "tgi_request_generated_tokens_sum"),
    name(Tgi, Requests, "tgi_request_success"),
    name(Tgi, Queue, "tgi_request_queue_duration"),
    name(Tgi, E2e, "tgi_request_duration"),
    name(Tgi, Itl, "tgi_request_mean_time_per_token_duration"),
    // llama.cpp's llama-server with `--metrics`: tools/server/server-task.cpp @ b10605; the KV
    // ratio from examples/server/server.cpp before PR #13660 (May 2025).
    name(LlamaCpp, Running, "llamacpp:requests_processing"),
    name(LlamaCpp, Waiting, "llamacpp:requests_deferred"),
    name(LlamaCpp, KvUsage, "llamacpp:kv_cache_usage_ratio"),
    name(LlamaCpp, PrefixHits, "llamacpp:prompt_tokens_cached_total"),
    name(LlamaCpp, PrefixMisses, "llamacpp:prompt_tokens_total"),
    name(
        LlamaCpp,
        SpecDrafted,
        "llamacpp:spec_decode_num_draft_tokens_total",
    ),
    name(
        LlamaCpp,
        SpecAccepted,
        "llamacpp:spec_decode_num_accepted_tokens_total",
    ),
    name(LlamaCpp, PromptTokens, "llamacpp:prompt_tokens_total"),
    name(
        LlamaCpp,
        GenerationTokens,
        "llamacpp:tokens_predicted_total",
    ),
    // Dynamo's frontend: lib/llm/src/http/service/metrics.rs @ 0014908a. Its queued requests
    // count until the first token (prefill included).
    name(Dynamo, Waiting, "dynamo_frontend_queued_requests"),
    name(
        Dynamo,
        PromptTokens,
        "dynamo_frontend_input_sequence_tokens_sum",
    ),
    name(
        Dynamo,
        GenerationTokens,
        "dynamo_frontend_output_tokens_total",
    ),
    name(
        Dynamo,
        GenerationTokens,
        "dynamo_frontend_output_sequence_tokens_sum",
    ),
    name(Dynamo, Requests, "dynamo_frontend_requests_total"),
    name(Dynamo, Ttft, "dynamo_frontend_time_to_first_token_seconds"),
    name(Dynamo, E2e, "dynamo_frontend_request_duration_seconds"),
    name(Dynamo, Itl, "dynamo_frontend_inter_token_latency_seconds"),
];

/// The names a server exports for `figure`, in the order they are preferred.
pub fn names_of(server: Server, figure: Figure) -> impl Iterator<Item = &'static Name> {
    NAMES
        .iter()
        .filter(move |n| n.server == server && n.figure == figure)
}

/// Whether a histogram's buckets are worth keeping: some server's name for a time.
pub fn is_catalogued_histogram(metric: &str) -> bool {
    NAMES
        .iter()
        .any(|n| n.figure.is_histogram() && n.metric == metric)
}
