//! OpenAI-compatible endpoints: the constructors (chat or text completions, streamed) and the
//! options only their request has ([`LlmRequest`]: prompts, tokenizer, output length, sampling,
//! goodput objectives), and the reference LLM server.

use std::path::PathBuf;
use std::time::Duration;

use super::request::{OpenAiApi, OpenAiRequest};
use super::shared::{Endpoint, Reference};
use crate::remote::llm::{
    LlmRequest, PromptSource, Sessions, SyntheticPrompts, TokenScript, Trace,
};

/// Default whole-request timeout of an OpenAI-compatible endpoint (two minutes).
pub const OPENAI_TIMEOUT: Duration = Duration::from_secs(120);

impl Endpoint<OpenAiRequest> {
    /// The default request and a whole-request timeout of [`OPENAI_TIMEOUT`] (a long
    /// generation under load outlasts the 10 s of V2).
    fn openai(api: OpenAiApi, model: impl Into<String>) -> Self {
        let request = OpenAiRequest {
            api,
            model: model.into(),
            llm: LlmRequest::default(),
        };
        Endpoint::with_common(request, OPENAI_TIMEOUT)
    }

    fn with_llm(mut self, change: impl FnOnce(&mut LlmRequest)) -> Self {
        change(&mut self.request.llm);
        self
    }

    /// An OpenAI-compatible chat endpoint (`POST {url}/v1/chat/completions`, streamed): the
    /// prompt as one user message, 64 output tokens unless [`max_tokens`](Self::max_tokens)
    /// says otherwise, a whole-request timeout of [`OPENAI_TIMEOUT`].
    pub fn openai_chat(model: impl Into<String>) -> Self {
        Endpoint::openai(OpenAiApi::Chat, model)
    }

    /// An OpenAI-compatible text completions endpoint (`POST {url}/v1/completions`, streamed).
    pub fn openai_completions(model: impl Into<String>) -> Self {
        Endpoint::openai(OpenAiApi::Completions, model)
    }

    /// Serves this endpoint from an in-process reference LLM server
    /// ([`LlmServer`](crate::server::LlmServer), feature `remote`) streaming on `script`, when
    /// no URL is given ([`url_from_env`](Self::url_from_env) still wins when its variable is
    /// set).
    pub fn reference(mut self, script: TokenScript) -> Self {
        self.common.reference = Some(Reference::Llm(script));
        self
    }

    /// One prompt for every request.
    pub fn prompt(self, prompt: impl Into<String>) -> Self {
        let prompt = prompt.into();
        self.with_llm(|llm| llm.use_prompts(PromptSource::Fixed(prompt)))
    }

    /// Synthetic prompts, made and counted before the run: seeded lengths, every prompt
    /// different, an optional shared prefix (see [`SyntheticPrompts`]).
    pub fn synthetic_prompts(self, prompts: SyntheticPrompts) -> Self {
        self.with_llm(|llm| llm.use_prompts(PromptSource::Synthetic(prompts)))
    }

    /// Prompts from a dataset file, read before the run: ShareGPT JSON or JSON lines (see
    /// [`PromptSource::File`]). A file that does not parse fails the bench with its path and
    /// line.
    pub fn prompts_file(self, path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        self.with_llm(|llm| llm.use_prompts(PromptSource::File(path)))
    }

    /// Replays a recorded trace: each request at its recorded time (from the replay's start,
    /// [`Trace::speedup`] times faster), with its recorded input and output lengths; a bench
    /// that replays one is marked `trace` (`#[model_bench(remote, trace)]`) and has one load
    /// point, `…/trace`, an open loop at the trace's own pace. See [`Trace`] for the formats.
    pub fn trace(self, trace: Trace) -> Self {
        self.with_llm(|llm| llm.use_prompts(PromptSource::Trace(trace)))
    }

    /// Multi-turn conversations instead of single prompts: each user (a closed loop's worker,
    /// an open loop's arrival) holds one conversation after another, each turn's request
    /// carrying the conversation so far, a think time between a reply and the next turn. The
    /// point's figures are also given by turn (`stream.turns`: TTFT, input tokens, the prefix
    /// cache's share per turn index). See [`Sessions`] for the sources. Replaces the prompts.
    pub fn sessions(self, sessions: Sessions) -> Self {
        self.with_llm(|llm| llm.sessions = Some(Box::new(sessions)))
    }

    /// Counts tokens with the Hugging Face `tokenizer.json` at `path` (read from disk; feature
    /// `tokenizer`): synthetic prompts are made to its lengths, and a stream without a usage
    /// chunk has its text counted with it. Without one, prompt lengths are approximated as one
    /// token per word and output as one token per text event; results name which was used.
    pub fn tokenizer(self, path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        self.with_llm(|llm| llm.tokenizer = Some(path))
    }

    /// Each request's prompt starts with a word of its own (`cb<n>`, one token more), so no two
    /// requests share a first prompt block and the server's prefix cache can reuse nothing: the
    /// cold-prefill case, against [`SyntheticPrompts::shared_prefix`] for the warm one.
    pub fn cache_bust(self) -> Self {
        self.with_llm(|llm| llm.cache_bust = true)
    }

    /// A goodput objective: time to first token at most `limit`, from the intended send.
    pub fn slo_ttft(self, limit: Duration) -> Self {
        self.with_llm(|llm| llm.slo.ttft_ns = Some(limit.as_nanos() as u64))
    }

    /// A goodput objective: time to the first *answer* token at most `limit`, from the intended
    /// send (a reasoning model's thinking left out; a stream that answers nothing fails it).
    pub fn slo_ttfo(self, limit: Duration) -> Self {
        self.with_llm(|llm| llm.slo.ttfo_ns = Some(limit.as_nanos() as u64))
    }

    /// A goodput objective: ITL per request (TPOT) at most `limit`.
    pub fn slo_itl(self, limit: Duration) -> Self {
        self.with_llm(|llm| llm.slo.itl_ns = Some(limit.as_nanos() as u64))
    }

    /// A goodput objective: the whole request at most `limit`, from the intended send.
    pub fn slo_e2e(self, limit: Duration) -> Self {
        self.with_llm(|llm| llm.slo.e2e_ns = Some(limit.as_nanos() as u64))
    }

    /// `max_tokens`: the most output tokens of a request.
    pub fn max_tokens(self, tokens: u32) -> Self {
        self.with_llm(|llm| llm.max_tokens = Some(tokens))
    }

    /// Exactly `tokens` output tokens: `max_tokens`, `min_tokens` and `ignore_eos: true` (for
    /// servers that take them, e.g. vLLM and SGLang).
    pub fn fixed_output_tokens(self, tokens: u32) -> Self {
        self.with_llm(|llm| {
            llm.max_tokens = Some(tokens);
            llm.fixed_output = true;
        })
    }

    /// `temperature`.
    pub fn temperature(self, temperature: f64) -> Self {
        self.with_llm(|llm| llm.temperature = Some(temperature))
    }

    /// A further top-level field of the request, passed through as given.
    pub fn extra_field(self, key: impl Into<String>, value: serde_json::Value) -> Self {
        let key = key.into();
        self.with_llm(|llm| {
            llm.extra.insert(key, value);
        })
    }

    /// A streamed request without a token this long after its send fails as
    /// `timeout_first_token` (the whole request stays bounded by [`timeout`](Self::timeout)).
    pub fn first_token_timeout(self, timeout: Duration) -> Self {
        self.with_llm(|llm| llm.first_token_timeout = Some(timeout))
    }
}
