//! One streamed request, from its events to its figures. The transport hands every event to a
//! [`StreamTracker`] with the time its first byte arrived (nanoseconds after the request was
//! sent); [`StreamTracker::finish`] turns them into a [`StreamRecord`] or the request's error.
//!
//! Definitions (the README's LLM section states them for users):
//! - **TTFT**: to the first event that carries generated text (content or reasoning); a
//!   role-only or empty first chunk is not a token.
//! - **TTFO** (time to first output token, aiperf's name): to the first event that carries
//!   answer text (`content`), a reasoning model's thinking left out; equal to TTFT for a model
//!   that does not reason.
//! - **Chunk gaps** (vLLM's per-chunk ITL): the time between consecutive events that carry
//!   text. A chunk carrying k tokens gives one gap, not k: the stream says nothing about when
//!   its other tokens were made, so none is invented.
//! - **ITL per request** (aiperf's and genai-perf's ITL, vLLM's TPOT): (E2E − TTFT) / (output
//!   tokens − 1), over the tokens after the first.
//! - **Output tokens**: the server's `usage.completion_tokens` when it sends a usage chunk, else
//!   the generated text counted with the tokenizer when one is given, else the count of events
//!   that carried text; [`TokenSource`] says which. **Reasoning tokens** (their share), likewise:
//!   `usage.completion_tokens_details.reasoning_tokens`, else the thinking counted, else the
//!   events that carried thinking; none for a stream without any.

use std::sync::Arc;

use super::chunk::{StreamEvent, Usage};
use super::tokens::TokenCounter;
use crate::remote::error::{ErrorClass, RequestError};

/// Where a request's output token count came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TokenSource {
    /// The server's `usage.completion_tokens`.
    Usage,
    /// The generated text counted with the tokenizer given.
    Tokenizer,
    /// The number of events that carried text (one token each, an approximation when a server
    /// packs several tokens into one chunk).
    ContentEvents,
}

impl TokenSource {
    /// `usage` or `content_events`, as results name it.
    pub fn key(self) -> &'static str {
        match self {
            TokenSource::Usage => "usage",
            TokenSource::Tokenizer => "tokenizer",
            TokenSource::ContentEvents => "content_events",
        }
    }
}

/// The figures of one complete stream. Times are nanoseconds after the request was sent.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamRecord {
    /// Time to the first event carrying text; `None` when the server generated nothing.
    pub ttft_ns: Option<u64>,
    /// Time to the first event carrying answer text (a reasoning model's thinking left out);
    /// `None` when the server generated no answer.
    pub ttfo_ns: Option<u64>,
    /// Time to the end of the stream.
    pub e2e_ns: u64,
    /// Gaps between consecutive events that carried text (one fewer than those events).
    pub chunk_gaps_ns: Vec<u64>,
    /// Events that carried text.
    pub content_events: u64,
    /// Of those, the events that carried a reasoning model's thinking.
    pub reasoning_events: u64,
    /// Output tokens, from [`token_source`](Self::token_source) (the thinking included).
    pub output_tokens: u64,
    /// Where `output_tokens` came from.
    pub token_source: TokenSource,
    /// The thinking's share of `output_tokens`, and where that count came from; `None` for a
    /// stream without thinking (the server reported none and no event carried any).
    pub reasoning_tokens: Option<(u64, TokenSource)>,
    /// The server's `usage.prompt_tokens`, when it sent one.
    pub prompt_tokens: Option<u64>,
    /// Of those, what the server's prefix cache held (`prompt_tokens_details.cached_tokens`),
    /// when it said.
    pub cached_prompt_tokens: Option<u64>,
    /// The prompt's tokens as the client counted them before the run (its tokenizer or the
    /// word approximation), when the transport knows the prompt.
    pub counted_prompt_tokens: Option<u64>,
    /// The finish reason the server gave (`stop`, `length`, …), if any.
    pub finish_reason: Option<String>,
    /// Comment lines (keep-alives) in the stream.
    pub comments: u64,
    /// The answer's text (thinking left out), when the tracker was asked to keep it (a
    /// conversation carries it into its next turn).
    pub answer: Option<String>,
    /// A conversation's turn this stream answered, from 0; `None` outside sessions.
    pub turn: Option<u32>,
}

impl StreamRecord {
    /// (E2E − TTFT) / (output tokens − 1): aiperf's and genai-perf's inter-token latency and
    /// vLLM's TPOT, in nanoseconds. `None` with fewer than two tokens.
    pub fn itl_per_request_ns(&self) -> Option<f64> {
        let ttft = self.ttft_ns?;
        (self.output_tokens >= 2)
            .then(|| self.e2e_ns.saturating_sub(ttft) as f64 / (self.output_tokens - 1) as f64)
    }
}

/// Collects one request's events as they arrive.
#[derive(Debug, Default)]
pub struct StreamTracker {
    first_text_ns: Option<u64>,
    first_answer_ns: Option<u64>,
    last_text_ns: Option<u64>,
    chunk_gaps_ns: Vec<u64>,
    content_events: u64,
    reasoning_events: u64,
    usage: Option<Usage>,
    finish_reason: Option<String>,
    done: bool,
    error: Option<String>,
    comments: u64,
    /// With a tokenizer: the generated text, counted at the end when no usage came.
    text: Option<Counted>,
    /// The answer's text, when kept.
    answer: Option<String>,
}

/// A stream's generated text, kept to be counted with a tokenizer at its end.
#[derive(Debug)]
struct Counted {
    counter: Arc<TokenCounter>,
    /// Everything generated (answer and thinking).
    all: String,
    /// The thinking alone.
    reasoning: String,
}

impl StreamTracker {
    /// A tracker for a request just sent.
    pub fn new() -> Self {
        StreamTracker::default()
    }

    /// A tracker that keeps the generated text and counts it with `counter` when the server
    /// sends no usage.
    pub fn counting_with(counter: Arc<TokenCounter>) -> Self {
        StreamTracker {
            text: Some(Counted {
                counter,
                all: String::new(),
                reasoning: String::new(),
            }),
            ..StreamTracker::default()
        }
    }

    /// Also keeps the answer's text (its thinking left out), for [`StreamRecord::answer`].
    pub fn keeping_answer(mut self) -> Self {
        self.answer = Some(String::new());
        self
    }

    /// Whether a text-carrying event has arrived (the first-token timeout no longer applies).
    pub fn has_first_token(&self) -> bool {
        self.first_text_ns.is_some()
    }

    /// Counts keep-alive comment lines.
    pub fn comments(&mut self, count: u64) {
        self.comments += count;
    }

    /// One event whose first byte arrived `at_ns` after the send.
    pub fn event(&mut self, at_ns: u64, event: StreamEvent) {
        match event {
            StreamEvent::Chunk(chunk) => {
                if chunk.has_text() {
                    if let Some(last) = self.last_text_ns {
                        self.chunk_gaps_ns.push(at_ns.saturating_sub(last));
                    }
                    self.first_text_ns.get_or_insert(at_ns);
                    self.last_text_ns = Some(at_ns);
                    self.content_events += 1;
                    if !chunk.content.is_empty() {
                        self.first_answer_ns.get_or_insert(at_ns);
                    }
                    if !chunk.reasoning.is_empty() {
                        self.reasoning_events += 1;
                    }
                    if let Some(answer) = &mut self.answer {
                        answer.push_str(&chunk.content);
                    }
                    if let Some(text) = &mut self.text {
                        text.all.push_str(&chunk.reasoning);
                        text.all.push_str(&chunk.content);
                        text.reasoning.push_str(&chunk.reasoning);
                    }
                }
                if chunk.finish_reason.is_some() {
                    self.finish_reason = chunk.finish_reason;
                }
                if chunk.usage.is_some() {
                    self.usage = chunk.usage;
                }
            }
            StreamEvent::Done => self.done = true,
            StreamEvent::Error(message) => {
                self.error.get_or_insert(message);
            }
        }
    }

    /// The stream ended `end_ns` after the send; `partial` when bytes of an unfinished event
    /// were left. A stream is complete when it sent `[DONE]` or a finish reason and no error:
    /// anything else is the request's error, and its tokens do not count as output.
    pub fn finish(self, end_ns: u64, partial: bool) -> Result<StreamRecord, RequestError> {
        if let Some(message) = self.error {
            return Err(RequestError::new(
                ErrorClass::StreamError,
                format!(
                    "the server sent an error after {} text event(s): {message}",
                    self.content_events
                ),
            ));
        }
        if !self.done && self.finish_reason.is_none() {
            let tail = if partial {
                ", in the middle of an event"
            } else {
                ""
            };
            return Err(RequestError::new(
                ErrorClass::StreamTruncated,
                format!(
                    "the stream ended without a finish reason or [DONE] after {} text event(s){tail}",
                    self.content_events
                ),
            ));
        }
        // Counted only without usage, after the stream's end was stamped: TTFT, the gaps and
        // the stream's E2E leave it out (the request's latency, stamped when the transport
        // returns, includes its microseconds).
        let count = |usage: Option<u64>, text: fn(&Counted) -> &str, events: u64| match usage {
            Some(tokens) => (tokens, TokenSource::Usage),
            None => match self
                .text
                .as_ref()
                .and_then(|t| t.counter.count(text(t)).ok())
            {
                Some(tokens) => (u64::from(tokens), TokenSource::Tokenizer),
                None => (events, TokenSource::ContentEvents),
            },
        };
        let usage = self.usage.unwrap_or_default();
        let output = count(usage.completion_tokens, |t| &t.all, self.content_events);
        let thought = usage.reasoning_tokens.is_some() || self.reasoning_events > 0;
        let reasoning = thought.then(|| {
            count(
                usage.reasoning_tokens,
                |t| &t.reasoning,
                self.reasoning_events,
            )
        });
        Ok(StreamRecord {
            ttft_ns: self.first_text_ns,
            ttfo_ns: self.first_answer_ns,
            e2e_ns: end_ns,
            chunk_gaps_ns: self.chunk_gaps_ns,
            content_events: self.content_events,
            reasoning_events: self.reasoning_events,
            output_tokens: output.0,
            token_source: output.1,
            reasoning_tokens: reasoning,
            prompt_tokens: usage.prompt_tokens,
            cached_prompt_tokens: usage.cached_tokens,
            counted_prompt_tokens: None,
            finish_reason: self.finish_reason,
            comments: self.comments,
            answer: self.answer,
            turn: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::chunk::{parse, Chunk};
    use super::super::sse::{SseDecoder, SseEvent};
    use super::*;

    fn text(text: &str) -> StreamEvent {
        StreamEvent::Chunk(Chunk {
            content: text.into(),
            ..Chunk::default()
        })
    }

    fn thinking(text: &str) -> StreamEvent {
        StreamEvent::Chunk(Chunk {
            reasoning: text.into(),
            ..Chunk::default()
        })
    }

    fn finish_reason(reason: &str) -> StreamEvent {
        StreamEvent::Chunk(Chunk {
            finish_reason: Some(reason.into()),
            ..Chunk::default()
        })
    }

    #[test]
    fn ttft_skips_the_role_only_chunk_and_gaps_run_between_text_events() {
        let mut tracker = StreamTracker::new();
        tracker.event(1_000, StreamEvent::Chunk(Chunk::default())); // role only
        tracker.event(5_000, text("a"));
        tracker.event(7_000, text("b"));
        tracker.event(7_500, StreamEvent::Chunk(Chunk::default())); // empty delta
        tracker.event(10_000, text("c"));
        tracker.event(10_100, finish_reason("stop"));
        tracker.event(10_200, StreamEvent::Done);
        let record = tracker.finish(10_300, false).unwrap();
        assert_eq!(record.ttft_ns, Some(5_000));
        assert_eq!(record.chunk_gaps_ns, [2_000, 3_000]);
        assert_eq!(record.content_events, 3);
        assert_eq!(
            (record.output_tokens, record.token_source),
            (3, TokenSource::ContentEvents)
        );
        assert_eq!(record.e2e_ns, 10_300);
        // (10 300 − 5 000) / (3 − 1)
        assert_eq!(record.itl_per_request_ns(), Some(2_650.0));
        assert_eq!(record.finish_reason.as_deref(), Some("stop"));
    }

    #[test]
    fn usage_counts_win_over_events_so_multi_token_chunks_keep_one_gap_each() {
        let mut tracker = StreamTracker::new();
        tracker.event(4_000, text("four tokens"));
        tracker.event(6_000, text("four more"));
        tracker.event(
            6_100,
            StreamEvent::Chunk(Chunk {
                finish_reason: Some("length".into()),
                usage: Some(Usage {
                    prompt_tokens: Some(32),
                    completion_tokens: Some(8),
                    reasoning_tokens: None,
                    cached_tokens: None,
                }),
                ..Chunk::default()
            }),
        );
        let record = tracker.finish(6_200, false).unwrap();
        assert_eq!(
            (record.output_tokens, record.token_source),
            (8, TokenSource::Usage)
        );
        assert_eq!(record.prompt_tokens, Some(32));
        assert_eq!(record.chunk_gaps_ns, [2_000]);
        assert_eq!(record.itl_per_request_ns(), Some(2_200.0 / 7.0));
    }

    #[test]
    fn thinking_starts_ttft_and_the_first_answer_ttfo() {
        let mut tracker = StreamTracker::new();
        tracker.event(1_000, StreamEvent::Chunk(Chunk::default())); // role only
        tracker.event(2_000, thinking("so"));
        tracker.event(3_000, thinking("then"));
        tracker.event(4_000, text("Yes"));
        tracker.event(5_000, text("."));
        tracker.event(5_100, finish_reason("stop"));
        let record = tracker.finish(5_200, false).unwrap();
        assert_eq!((record.ttft_ns, record.ttfo_ns), (Some(2_000), Some(4_000)));
        assert_eq!(record.chunk_gaps_ns, [1_000, 1_000, 1_000]);
        assert_eq!((record.output_tokens, record.reasoning_events), (4, 2));
        assert_eq!(
            record.reasoning_tokens,
            Some((2, TokenSource::ContentEvents))
        );

        // The server's count wins, and a stream without thinking has no reasoning tokens.
        let mut tracker = StreamTracker::new();
        tracker.event(2_000, thinking("a b c"));
        tracker.event(3_000, text("d"));
        let usage = Usage {
            prompt_tokens: Some(1),
            completion_tokens: Some(4),
            reasoning_tokens: Some(3),
            cached_tokens: None,
        };
        tracker.event(
            3_100,
            StreamEvent::Chunk(Chunk {
                finish_reason: Some("stop".into()),
                usage: Some(usage),
                ..Chunk::default()
            }),
        );
        let record = tracker.finish(3_200, false).unwrap();
        assert_eq!(record.reasoning_tokens, Some((3, TokenSource::Usage)));
        let mut plain = StreamTracker::new();
        plain.event(2_000, text("a"));
        plain.event(2_100, finish_reason("stop"));
        let record = plain.finish(2_200, false).unwrap();
        assert_eq!((record.ttft_ns, record.ttfo_ns), (Some(2_000), Some(2_000)));
        assert_eq!(record.reasoning_tokens, None);
    }

    #[test]
    fn an_error_after_the_status_and_a_truncated_stream_are_errors_of_their_own_class() {
        let mut tracker = StreamTracker::new();
        tracker.event(1_000, text("a"));
        tracker.event(2_000, StreamEvent::Error("engine died".into()));
        let error = tracker.finish(3_000, false).unwrap_err();
        assert_eq!(error.class, ErrorClass::StreamError);
        assert!(error.message.contains("engine died"), "{error}");

        let mut tracker = StreamTracker::new();
        tracker.event(1_000, text("a"));
        let error = tracker.finish(3_000, true).unwrap_err();
        assert_eq!(error.class, ErrorClass::StreamTruncated);
        assert!(error.message.contains("middle of an event"), "{error}");
    }

    #[test]
    fn a_whole_stream_as_bytes_gives_the_figures_of_its_script() {
        // A role-only chunk, a keep-alive, three text chunks 1 ms apart, usage, [DONE].
        let pieces: [(u64, &str); 6] = [
            (800_000, "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}\n\n"),
            (900_000, ": keep-alive\n\n"),
            (2_000_000, "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n"),
            (3_000_000, "data: {\"choices\":[{\"delta\":{\"content\":\"b\"}}]}\n\ndata: {\"choices\":[{\"delta\":{\"content\":\"c\"}}]}\n\n"),
            (4_000_000, "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: {\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":3}}\n\n"),
            (4_100_000, "data: [DONE]\n\n"),
        ];
        let mut decoder = SseDecoder::new();
        let mut tracker = StreamTracker::new();
        let mut events: Vec<SseEvent> = Vec::new();
        for (at, bytes) in pieces {
            let counts = decoder.feed(bytes.as_bytes(), &mut events).unwrap();
            tracker.comments(counts.comments);
            for event in events.drain(..) {
                tracker.event(at, parse(&event).unwrap());
            }
        }
        let record = tracker
            .finish(4_100_000, decoder.has_partial_event())
            .unwrap();
        assert_eq!(record.ttft_ns, Some(2_000_000));
        // b and c arrived in one read: their gap is zero, as a client reading them sees it.
        assert_eq!(record.chunk_gaps_ns, [1_000_000, 0]);
        assert_eq!(record.output_tokens, 3);
        assert_eq!(record.token_source, TokenSource::Usage);
        assert_eq!(record.comments, 1);
    }
}
