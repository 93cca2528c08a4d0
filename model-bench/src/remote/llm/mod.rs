//! OpenAI-compatible token streams (LLM serving): the server-sent-event decoder, one stream
//! event read as an OpenAI chunk, and one request's figures (TTFT, gaps between chunks, ITL per
//! request, output tokens and where their count came from). Plain data and pure functions; the
//! transport that reads a stream and the load loops that record it build on them.

pub mod chunk;
pub mod script;
pub mod sse;
pub mod stream;

pub use chunk::{parse as parse_event, Chunk, StreamEvent, Usage};
pub use script::{ScheduledChunk, Stall, TokenScript};
pub use sse::{SseDecoder, SseError, SseEvent};
pub use stream::{StreamRecord, StreamTracker, TokenSource};
