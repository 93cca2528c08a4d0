//! Server-sent events (`text/event-stream`, as the WHATWG HTML standard defines its parsing),
//! decoded incrementally from a response body's bytes in whatever pieces the network delivers.
//! The caller timestamps each piece as it arrives; an event is complete, and is handed out, in
//! the piece that carries the blank line ending it.

/// One dispatched event: its `event:` name (none means `message`) and its `data:` lines joined
/// by `\n`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field, when the server named the event (OpenAI-compatible servers send
    /// `event: error` for an error after the 200 status, some send none at all).
    pub event: Option<String>,
    /// The `data:` lines, joined with `\n`.
    pub data: String,
}

/// What a piece of the body held besides events.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SseCounts {
    /// Comment lines (`: keep-alive`), which servers send to keep an idle stream open.
    pub comments: u64,
}

/// Why the bytes are not an event stream.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SseError {
    /// A line is not UTF-8.
    #[error("an event-stream line is not UTF-8 (byte {offset} of the stream)")]
    NotUtf8 {
        /// Offset of the line's first byte in the stream.
        offset: u64,
    },
    /// A line grew past the limit without ending: not an event stream, or a runaway server.
    #[error("an event-stream line is longer than {limit} bytes")]
    LineTooLong {
        /// The limit, in bytes.
        limit: usize,
    },
}

/// Longest line accepted; an OpenAI chunk is a few hundred bytes, a usage chunk under a kilobyte.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// The incremental decoder: feed it the body piece by piece.
#[derive(Debug, Default)]
pub struct SseDecoder {
    line: Vec<u8>,
    line_offset: u64,
    consumed: u64,
    /// The previous piece ended in `\r`: a `\n` starting the next one belongs to that line end.
    after_cr: bool,
    /// The stream's first line has been seen (a leading byte-order mark is dropped from it).
    started: bool,
    event: Option<String>,
    data: String,
    has_data: bool,
}

impl SseDecoder {
    /// A decoder at the start of a stream.
    pub fn new() -> Self {
        SseDecoder::default()
    }

    /// Decodes `bytes`, the next piece of the body, appending every event it completes to
    /// `events`; returns what else it held.
    pub fn feed(
        &mut self,
        bytes: &[u8],
        events: &mut Vec<SseEvent>,
    ) -> Result<SseCounts, SseError> {
        let mut counts = SseCounts::default();
        let mut start = 0;
        for (index, &byte) in bytes.iter().enumerate() {
            match byte {
                b'\n' if self.after_cr => {
                    self.after_cr = false;
                    start = index + 1;
                    self.line_offset = self.consumed + start as u64;
                }
                b'\n' | b'\r' => {
                    self.line.extend_from_slice(&bytes[start..index]);
                    self.end_line(events, &mut counts)?;
                    self.after_cr = byte == b'\r';
                    start = index + 1;
                    self.line_offset = self.consumed + start as u64;
                }
                _ => self.after_cr = false,
            }
        }
        self.line.extend_from_slice(&bytes[start..]);
        self.consumed += bytes.len() as u64;
        if self.line.len() > MAX_LINE_BYTES {
            return Err(SseError::LineTooLong {
                limit: MAX_LINE_BYTES,
            });
        }
        Ok(counts)
    }

    /// Whether the stream ended in the middle of an event (bytes after the last blank line): the
    /// standard discards such an event, and a caller may count it as a truncated stream.
    pub fn has_partial_event(&self) -> bool {
        !self.line.is_empty() || self.has_data || self.event.is_some()
    }

    fn end_line(
        &mut self,
        events: &mut Vec<SseEvent>,
        counts: &mut SseCounts,
    ) -> Result<(), SseError> {
        let line = std::mem::take(&mut self.line);
        let mut text = std::str::from_utf8(&line).map_err(|_| SseError::NotUtf8 {
            offset: self.line_offset,
        })?;
        if !self.started {
            self.started = true;
            text = text.strip_prefix('\u{feff}').unwrap_or(text);
        }
        if text.is_empty() {
            self.dispatch(events);
        } else if text.starts_with(':') {
            counts.comments += 1;
        } else {
            let (field, value) = match text.split_once(':') {
                Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
                None => (text, ""),
            };
            match field {
                "data" => {
                    if self.has_data {
                        self.data.push('\n');
                    }
                    self.data.push_str(value);
                    self.has_data = true;
                }
                "event" => self.event = Some(value.to_owned()),
                // `id` and `retry` steer a browser's reconnection; unknown fields are ignored,
                // as the standard says.
                _ => {}
            }
        }
        // Keep the buffer's allocation for the next line.
        self.line = line;
        self.line.clear();
        Ok(())
    }

    fn dispatch(&mut self, events: &mut Vec<SseEvent>) {
        let event = self.event.take();
        if self.has_data {
            events.push(SseEvent {
                event,
                data: std::mem::take(&mut self.data),
            });
            self.has_data = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_in_pieces(stream: &[u8], cuts: &[usize]) -> (Vec<SseEvent>, u64, bool) {
        let mut decoder = SseDecoder::new();
        let mut events = Vec::new();
        let mut comments = 0;
        let mut from = 0;
        for &to in cuts.iter().chain(std::iter::once(&stream.len())) {
            comments += decoder
                .feed(&stream[from..to], &mut events)
                .unwrap()
                .comments;
            from = to;
        }
        (events, comments, decoder.has_partial_event())
    }

    const STREAM: &[u8] = b"\xef\xbb\xbf: keep-alive\r\n\r\ndata: {\"a\":1}\r\n\r\nevent: error\ndata: line one\ndata:line two\n\nid: 7\nretry: 10\ndata\n\ndata: [DONE]\r\r";

    fn expected() -> Vec<SseEvent> {
        vec![
            SseEvent {
                event: None,
                data: "{\"a\":1}".into(),
            },
            SseEvent {
                event: Some("error".into()),
                data: "line one\nline two".into(),
            },
            SseEvent {
                event: None,
                data: String::new(),
            },
            SseEvent {
                event: None,
                data: "[DONE]".into(),
            },
        ]
    }

    #[test]
    fn every_line_ending_comments_and_multi_line_data_are_decoded() {
        let (events, comments, partial) = decode_in_pieces(STREAM, &[]);
        assert_eq!(events, expected());
        assert_eq!(comments, 1);
        assert!(!partial);
    }

    #[test]
    fn the_events_do_not_depend_on_where_the_network_cut_the_body() {
        for one in 0..=STREAM.len() {
            let (events, comments, _) = decode_in_pieces(STREAM, &[one]);
            assert_eq!(events, expected(), "cut at {one}");
            assert_eq!(comments, 1, "cut at {one}");
            for two in one..=STREAM.len() {
                let (events, _, _) = decode_in_pieces(STREAM, &[one, two]);
                assert_eq!(events, expected(), "cuts at {one}, {two}");
            }
        }
        // Byte by byte.
        let cuts: Vec<usize> = (1..STREAM.len()).collect();
        assert_eq!(decode_in_pieces(STREAM, &cuts).0, expected());
    }

    #[test]
    fn an_event_without_its_blank_line_is_not_dispatched_and_is_reported_partial() {
        let (events, _, partial) = decode_in_pieces(b"data: {\"a\":1}\n\ndata: {\"b\"", &[]);
        assert_eq!(events.len(), 1);
        assert!(partial);
        let (events, _, partial) = decode_in_pieces(b"data: x\n", &[]);
        assert!(events.is_empty());
        assert!(partial);
    }

    #[test]
    fn bytes_that_are_not_utf8_or_a_line_without_end_are_errors() {
        let mut decoder = SseDecoder::new();
        let error = decoder
            .feed(b"data: ok\n\ndata: \xff\n", &mut Vec::new())
            .unwrap_err();
        assert_eq!(error, SseError::NotUtf8 { offset: 10 });

        let mut decoder = SseDecoder::new();
        let long = vec![b'x'; MAX_LINE_BYTES + 1];
        assert_eq!(
            decoder.feed(&long, &mut Vec::new()).unwrap_err(),
            SseError::LineTooLong {
                limit: MAX_LINE_BYTES
            }
        );
    }
}
