//! OpenAI-compatible token streams (LLM serving): what a request asks for (`request.rs`), the
//! server-sent-event decoder (`sse.rs`), one stream event read as an OpenAI chunk (`chunk.rs`),
//! one request's figures (`stream.rs`: TTFT, gaps between chunks, ITL per request, output tokens
//! and where their count came from) and the reference LLM server's schedule (`script.rs`). Plain
//! data and pure functions; the transport (`client/openai.rs`) and the load loops build on them.

pub mod request;
pub mod script;
pub mod sse;

#[cfg(feature = "remote")]
pub mod chunk;
#[cfg(feature = "remote")]
pub mod stream;

#[cfg(feature = "remote")]
pub use chunk::{parse as parse_event, Chunk, StreamEvent, Usage};
pub use request::LlmRequest;
pub use script::{ScheduledChunk, Stall, TokenScript};
pub use sse::{SseDecoder, SseError, SseEvent};
#[cfg(feature = "remote")]
pub use stream::{StreamRecord, StreamTracker, TokenSource};
