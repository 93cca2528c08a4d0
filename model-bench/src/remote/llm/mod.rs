//! OpenAI-compatible token streams (LLM serving): the prompts (`prompts.rs`; one prompt and the
//! words prompts are made of, `prompt.rs`; a recorded trace to replay, `trace.rs`; multi-turn conversations, `sessions.rs`) and how their
//! tokens are counted (`tokens.rs`), what a request asks for (`request.rs`), the
//! server-sent-event decoder (`sse.rs`), one stream event read as an OpenAI chunk (`chunk.rs`),
//! one request's figures (`stream.rs`: TTFT, gaps between chunks, ITL per request, output tokens
//! and where their count came from) and the reference LLM server's schedule (`script.rs`). Plain
//! data and pure functions; the transport (`client/openai.rs`) and the load loops build on them.

mod prompt;
pub mod prompts;
pub mod request;
pub mod script;
pub mod sessions;
pub mod sse;
pub mod tokens;
pub mod trace;

#[cfg(feature = "remote")]
pub mod chunk;
#[cfg(feature = "remote")]
pub mod stream;

#[cfg(feature = "remote")]
pub use chunk::{parse as parse_event, Chunk, StreamEvent, Usage};
pub use prompt::{Prompt, PromptError};
pub use prompts::{PromptSet, PromptSource, SyntheticPrompts, TokenLength};
pub use request::LlmRequest;
pub use script::{PrefixCache, ScheduledChunk, Stall, TokenScript};
pub use sessions::{
    Conversations, Dialogue, Due, Message, Session, SessionSource, Sessions, ThinkTime, Turn,
};
pub use sse::{SseDecoder, SseError, SseEvent};
#[cfg(feature = "remote")]
pub use stream::{StreamRecord, StreamTracker, TokenSource};
pub use tokens::{TokenCounter, TokenizerError};
pub use trace::{ReplaySchedule, Trace, TraceFormat, TraceInput, TraceRow, TraceRows};
