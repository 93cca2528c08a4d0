//! A load point's token-stream figures (OpenAI-compatible endpoints), as results.json keeps them.
//! The definitions are `remote::llm::stream`'s; only successful, complete streams count.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::percentiles::{Percentiles, SpectrumPoint};

/// Time to first token, gaps between chunks, ITL per request, and token counts and rates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamStats {
    /// Successful streams these figures describe.
    pub streams: u64,
    /// Time to the first token from the request's intended send time (open loop) or its send
    /// (closed loop), ns.
    pub ttft: Option<Percentiles>,
    /// Time to the first token from the request's actual send, ns (equal to `ttft` in a closed
    /// loop; smaller in an open loop by the send's lateness).
    pub ttft_service: Option<Percentiles>,
    /// Time to the first *answer* token (aiperf's time to first output token), from the intended
    /// send as `ttft`, ns: a reasoning model's thinking left out, so equal to `ttft` for one that
    /// does not reason. Absent in files written before it was measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttfo: Option<Percentiles>,
    /// Every gap between consecutive events that carried text, ns: vLLM's per-chunk ITL (a
    /// chunk of several tokens is one gap).
    pub chunk_gap: Option<Percentiles>,
    /// Per stream, (end − first token) / (output tokens − 1), ns: aiperf's and genai-perf's ITL,
    /// vLLM's TPOT. Streams with fewer than two tokens have none.
    pub itl_per_request: Option<Percentiles>,
    /// Output tokens of every successful stream together.
    pub output_tokens: u64,
    /// Output tokens per successful stream, on average.
    pub output_tokens_mean: f64,
    /// Output tokens per second of the measurement window, all streams together.
    pub output_tokens_per_s: f64,
    /// Output tokens per second of one stream (its tokens over its whole time), on average:
    /// what one user sees.
    pub output_tokens_per_s_per_stream: f64,
    /// Input tokens: the server's `usage.prompt_tokens` where it reported them, else the
    /// client's count of the prompt (`input_token_sources` says which; the client counts the
    /// prompt text only, a chat server's count includes its template).
    pub input_tokens: Option<u64>,
    /// Input tokens per second of the window, from the same streams.
    pub input_tokens_per_s: Option<f64>,
    /// Streams by where their output token count came from: `usage` (the server's),
    /// `tokenizer` (the text counted with the endpoint's tokenizer) or `content_events` (one per
    /// event that carried text).
    pub token_sources: BTreeMap<String, u64>,
    /// Streams by where their input token count came from: `usage` or `counted` (the client's
    /// count, `remote.prompts.token_counts`).
    #[serde(default)]
    pub input_token_sources: BTreeMap<String, u64>,
    /// The server's prefix cache, from the streams whose server said how much of their prompt it
    /// held (`usage.prompt_tokens_details.cached_tokens`); absent when none said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix_cache: Option<PrefixCacheStats>,
    /// A reasoning model's thinking: its share of `output_tokens` over the streams that had any
    /// (the server's `completion_tokens_details.reasoning_tokens`, else counted as output is);
    /// absent when no stream reasoned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<ReasoningStats>,
    /// `ttft`'s percentile spectrum (HdrHistogram's percentile distribution), ascending.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ttft_spectrum: Vec<SpectrumPoint>,
    /// `chunk_gap`'s percentile spectrum, ascending.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chunk_gap_spectrum: Vec<SpectrumPoint>,
    /// The requests that met every SLO the endpoint set; absent without SLOs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goodput: Option<Goodput>,
    /// Multi-turn sessions: the figures of each turn index (the first turns of every
    /// conversation, then the second ones, …); absent for single prompts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub turns: Vec<TurnStats>,
    /// Multi-turn sessions: the conversations that ended in the window (their last turn
    /// answered, or a turn failed); absent for single prompts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sessions: Option<SessionStats>,
}

/// The conversations of a session bench that started in the window and ended (conversations
/// the window's end cut short are not counted).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionStats {
    /// Conversations that ended.
    pub sessions: u64,
    /// Of those, the ones whose every turn was answered.
    pub completed: u64,
    /// Of those, the ones whose every turn met every objective (with no objective set, every
    /// completed one): session goodput.
    pub good: u64,
    /// `good / sessions`.
    pub good_share: f64,
    /// Good conversations per second of the window.
    pub good_rate_per_s: f64,
    /// Turns sent per conversation, on average (a failed turn ends its conversation).
    pub turns_mean: f64,
    /// From the first turn's intended send to the last turn's end, think times included, ns.
    pub duration: Option<Percentiles>,
}

/// The successful streams of one turn index of a session bench's conversations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TurnStats {
    /// The turn, from 1.
    pub turn: u32,
    /// Its successful streams.
    pub streams: u64,
    /// Their time to first token from the intended send, ns.
    pub ttft: Option<Percentiles>,
    /// Their input tokens (the whole conversation so far, as `input_tokens` is counted) per
    /// stream, on average; absent when no stream's were known.
    pub input_tokens_mean: Option<f64>,
    /// The cached share of their prompt tokens, over the streams whose server said; absent when
    /// none said.
    pub cached_share: Option<f64>,
}

/// What the server's prefix cache held of the prompts, over the streams whose server said.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrefixCacheStats {
    /// Streams whose server reported its cached tokens.
    pub streams: u64,
    /// Of those, the streams with at least one cached token (a hit).
    pub hits: u64,
    /// Their prompt tokens, as the server counted them.
    pub prompt_tokens: u64,
    /// Of those, the tokens the cache held.
    pub cached_tokens: u64,
    /// `cached_tokens / prompt_tokens`.
    pub cached_share: f64,
    /// Time to first token of the streams with a hit, from the intended send, ns.
    pub ttft_hit: Option<Percentiles>,
    /// Time to first token of the streams without one, from the intended send, ns.
    pub ttft_miss: Option<Percentiles>,
}

/// What the thinking of the streams that reasoned came to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReasoningStats {
    /// Streams that reasoned.
    pub streams: u64,
    /// Their reasoning tokens together.
    pub tokens: u64,
    /// Reasoning tokens per stream that reasoned, on average.
    pub tokens_mean: f64,
    /// Those streams by where their reasoning token count came from: `usage`, `tokenizer` or
    /// `content_events` (one per event that carried thinking).
    pub token_sources: BTreeMap<String, u64>,
}

/// Service-level objectives of one LLM request; a request meets them when it succeeded and each
/// one set holds. Times in ns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Slo {
    /// Time to first token, from the intended send (as `ttft`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttft_ns: Option<u64>,
    /// Time to the first answer token, from the intended send (as `ttfo`); a stream that
    /// answered nothing fails it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttfo_ns: Option<u64>,
    /// ITL per request (TPOT); a stream of fewer than two tokens has none and meets it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub itl_ns: Option<u64>,
    /// The whole request, from the intended send (as the point's latency).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e2e_ns: Option<u64>,
}

impl Slo {
    /// Whether any objective is set.
    pub fn is_set(&self) -> bool {
        self.ttft_ns.is_some()
            || self.ttfo_ns.is_some()
            || self.itl_ns.is_some()
            || self.e2e_ns.is_some()
    }
}

/// Goodput: the requests that met every SLO.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Goodput {
    /// The objectives.
    pub slo: Slo,
    /// Requests that met them all.
    pub good: u64,
    /// `good` over every request of the window, failed ones (and an open loop's dropped
    /// arrivals) included.
    pub share: f64,
    /// Good requests per second of the window.
    pub rate_per_s: f64,
}

/// The prompts an LLM bench sent (`remote.prompts` in results.json).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromptsInfo {
    /// `fixed`, `synthetic: …` (lengths, seed, shared prefix) or `file: <path> (<format>)`.
    pub source: String,
    /// Different prompts; requests take them in turn.
    pub prompts: u64,
    /// Dataset entries left out (a ShareGPT conversation without a human turn).
    #[serde(default)]
    pub skipped: u64,
    /// Input tokens per prompt, on average, counted by `token_counts` (the prompt's text only: a
    /// chat server adds its template's tokens, which its `usage` counts).
    pub input_tokens_mean: f64,
    /// The shortest prompt, in tokens.
    pub input_tokens_min: u32,
    /// The longest prompt, in tokens.
    pub input_tokens_max: u32,
    /// The mean of the prompts' own `max_tokens`, where they have one (synthetic output
    /// lengths, a dataset's reply lengths).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens_mean: Option<f64>,
    /// How tokens were counted: `tokenizer: <file>` or the approximation's name.
    pub token_counts: String,
}
