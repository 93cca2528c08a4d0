//! The token schedule the reference LLM server streams: deterministic, so a test can derive
//! every figure a client should measure (TTFT, gaps, ITL per request, token counts, errors)
//! from the script alone.

use std::time::Duration;

/// A periodic stall: for `stall` at the start of every `period` of the server's life, no chunk
/// leaves; a chunk due inside a stall leaves at its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stall {
    /// How long each stall lasts.
    pub stall: Duration,
    /// From one stall's start to the next.
    pub period: Duration,
}

/// A prefix (KV) cache, as vLLM and SGLang keep one: a prompt is cut into blocks of
/// `block_tokens` tokens (the server's tokens are the prompt's whitespace-separated words, chat
/// messages in order), a block is known by everything up to its end, and a request's cached
/// tokens are its leading blocks already in the cache; every whole block of a request is then
/// kept, the least recently used dropped past `blocks`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrefixCache {
    /// Tokens per block (a partial last block is never cached).
    pub block_tokens: u32,
    /// Blocks the cache holds.
    pub blocks: usize,
}

impl Default for PrefixCache {
    /// Blocks of 16 tokens, 4,096 of them.
    fn default() -> Self {
        PrefixCache {
            block_tokens: 16,
            blocks: 4096,
        }
    }
}

/// How the reference LLM server answers a streamed completion request.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenScript {
    /// From the request's start (its slot, see [`capacity`](Self::capacity)) to the first
    /// chunk carrying text, before the prefill of its prompt ([`prefill_per_token`](Self::prefill_per_token)).
    pub ttft: Duration,
    /// Prefill time per prompt token the prefix cache does not hold, added to `ttft`: a request's
    /// first token comes `ttft + prefill_per_token × uncached prompt tokens` after its start.
    pub prefill_per_token: Duration,
    /// A prefix cache: the usage chunk reports its hits (`prompt_tokens_details.cached_tokens`),
    /// and cached tokens need no prefill. `None`: no cache, every prompt token prefilled.
    pub prefix_cache: Option<PrefixCache>,
    /// Time per token after the first chunk: a chunk of k tokens follows the one before it by
    /// k × `itl`.
    pub itl: Duration,
    /// Tokens per chunk (the last chunk may carry fewer).
    pub tokens_per_chunk: u32,
    /// Output tokens when the request names no `max_tokens`.
    pub default_output_tokens: u32,
    /// A reasoning model: the first this many output tokens of a chat stream are thinking
    /// (`delta.reasoning_content`), the rest the answer (`delta.content`), and the usage chunk
    /// says how many (`completion_tokens_details.reasoning_tokens`). Text completions carry no
    /// thinking. 0: no thinking.
    pub reasoning_tokens: u32,
    /// A chat stream starts with a role-only chunk (`{"role": "assistant", "content": ""}`),
    /// sent as soon as the request starts, as vLLM does.
    pub role_chunk: bool,
    /// A `: keep-alive` comment line after every this many text chunks.
    pub keep_alive_every: Option<u32>,
    /// Send a usage chunk when the request asks for one (`stream_options.include_usage`);
    /// `false` behaves like a server that never sends usage.
    pub usage: bool,
    /// After this many text chunks, send an error event and end the stream.
    pub error_after_chunks: Option<u32>,
    /// After this many text chunks, end the stream without a finish reason or `[DONE]`.
    pub truncate_after_chunks: Option<u32>,
    /// Periodic stalls of the whole server.
    pub stall: Option<Stall>,
    /// Streams generated at once; later requests wait for a slot (their TTFT includes the
    /// wait). `None`: no limit.
    pub capacity: Option<usize>,
    /// The KV cache's size in tokens: `vllm:kv_cache_usage_perc` on the server's `/metrics` is
    /// the tokens its running requests hold (each its prompt and what it generated so far)
    /// over this; also the `max_model_len` its `/v1/models` lists.
    pub kv_cache_tokens: u32,
}

impl Default for TokenScript {
    /// 20 ms to the first token (no prefill time, no prefix cache), 2 ms per token, one token
    /// per chunk, 32 tokens, no thinking, a role-only chunk, usage when asked, no stalls, no
    /// limit, a KV cache of 16,384 tokens.
    fn default() -> Self {
        TokenScript {
            ttft: Duration::from_millis(20),
            prefill_per_token: Duration::ZERO,
            prefix_cache: None,
            itl: Duration::from_millis(2),
            tokens_per_chunk: 1,
            default_output_tokens: 32,
            reasoning_tokens: 0,
            role_chunk: true,
            keep_alive_every: None,
            usage: true,
            error_after_chunks: None,
            truncate_after_chunks: None,
            stall: None,
            capacity: None,
            kv_cache_tokens: 16_384,
        }
    }
}

/// One text chunk of a stream: when it is due and how many tokens it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScheduledChunk {
    /// Due this long after the request's start (before any stall moves it).
    pub at: Duration,
    /// Tokens in this chunk.
    pub tokens: u32,
}

impl TokenScript {
    /// The text chunks of a stream of `output_tokens` tokens whose prompt has `uncached`
    /// tokens to prefill.
    pub fn chunks(&self, output_tokens: u32, uncached: u64) -> Vec<ScheduledChunk> {
        let per_chunk = self.tokens_per_chunk.max(1);
        let mut chunks = Vec::new();
        let mut sent = 0u32;
        let prefill = self
            .prefill_per_token
            .saturating_mul(u32::try_from(uncached).unwrap_or(u32::MAX));
        let mut at = self.ttft + prefill;
        while sent < output_tokens {
            let tokens = per_chunk.min(output_tokens - sent);
            chunks.push(ScheduledChunk { at, tokens });
            sent += tokens;
            at += self.itl * tokens;
        }
        chunks
    }

    /// When a chunk due `due` after the server started actually leaves: at the end of the stall
    /// it falls in, else on time.
    pub fn leaves_at(&self, due: Duration) -> Duration {
        let Some(stall) = self.stall else {
            return due;
        };
        if stall.period.is_zero() || stall.stall.is_zero() {
            return due;
        }
        let period = stall.period.as_nanos();
        let into = due.as_nanos() % period;
        if into < stall.stall.as_nanos() {
            due + (stall.stall - Duration::from_nanos(into as u64))
        } else {
            due
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    #[test]
    fn chunks_follow_ttft_then_itl_per_token_and_the_last_carries_the_rest() {
        let script = TokenScript {
            ttft: ms(50),
            itl: ms(5),
            tokens_per_chunk: 3,
            ..TokenScript::default()
        };
        assert_eq!(
            script.chunks(7, 0),
            [
                ScheduledChunk {
                    at: ms(50),
                    tokens: 3
                },
                ScheduledChunk {
                    at: ms(65),
                    tokens: 3
                },
                ScheduledChunk {
                    at: ms(80),
                    tokens: 1
                },
            ]
        );
        assert!(script.chunks(0, 0).is_empty());
        // Ten uncached prompt tokens at 1 ms each come before the first token.
        let prefilling = TokenScript {
            prefill_per_token: ms(1),
            ..script
        };
        assert_eq!(prefilling.chunks(1, 10)[0].at, ms(60));
    }

    #[test]
    fn a_chunk_due_inside_a_stall_leaves_at_its_end() {
        let script = TokenScript {
            stall: Some(Stall {
                stall: ms(200),
                period: ms(1000),
            }),
            ..TokenScript::default()
        };
        assert_eq!(script.leaves_at(ms(50)), ms(200));
        assert_eq!(script.leaves_at(ms(200)), ms(200));
        assert_eq!(script.leaves_at(ms(999)), ms(999));
        assert_eq!(script.leaves_at(ms(1100)), ms(1200));
        assert_eq!(TokenScript::default().leaves_at(ms(50)), ms(50));
    }
}
