//! A load point's token-stream figures (OpenAI-compatible endpoints), as results.json keeps them.
//! The definitions are `remote::llm::stream`'s; only successful, complete streams count.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::percentiles::Percentiles;

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
    /// Input tokens of the streams whose server reported them (`usage.prompt_tokens`).
    pub input_tokens: Option<u64>,
    /// Input tokens per second of the window, from the same streams.
    pub input_tokens_per_s: Option<f64>,
    /// Streams by where their output token count came from: `usage` (the server's) or
    /// `content_events` (one per event that carried text).
    pub token_sources: BTreeMap<String, u64>,
}
