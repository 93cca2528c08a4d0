//! OpenAI-compatible token streams (LLM serving): the prompts (`prompts.rs`) and how their
//! tokens are counted (`tokens.rs`), what a request asks for (`request.rs`), the
//! server-sent-event decoder (`sse.rs`), one stream event read as an OpenAI chunk (`chunk.rs`),
//! one request's figures (`stream.rs`: TTFT, gaps between chunks, ITL per request, output tokens
//! and where their count came from) and the reference LLM server's schedule (`script.rs`). Plain
//! data and pure functions; the transport (`client/openai.rs`) and the load loops build on them.

pub mod prompts;
pub mod request;
pub mod script;
pub mod sse;
pub mod tokens;

#[cfg(feature = "remote")]
pub mod chunk;
#[cfg(feature = "remote")]
pub mod stream;

#[cfg(feature = "remote")]
pub use chunk::{parse as parse_event, Chunk, StreamEvent, Usage};
pub use prompts::{Prompt, PromptError, PromptSet, PromptSource, SyntheticPrompts, TokenLength};
pub use request::LlmRequest;
pub use script::{PrefixCache, ScheduledChunk, Stall, TokenScript};
pub use sse::{SseDecoder, SseError, SseEvent};
#[cfg(feature = "remote")]
pub use stream::{StreamRecord, StreamTracker, TokenSource};
pub use tokens::{TokenCounter, TokenizerError};
