//! How one request can fail, by class, so a report can say "37 timeouts, 12 × HTTP 503" instead
//! of "49 errors".

use std::fmt;

/// The class of a failed request; its [`key`](ErrorClass::key) is what reports count by.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorClass {
    /// No connection could be made (refused, reset before a response, DNS, TLS).
    Connect,
    /// No complete response within the request timeout.
    Timeout,
    /// A response with a non-2xx HTTP status.
    HttpStatus(u16),
    /// A gRPC status other than OK; the code's name in snake case (`unavailable`).
    GrpcCode(String),
    /// A response that is not what the protocol says (not V2, truncated, wrong shape).
    Decode,
    /// The connection broke while the response was read, or another transport failure.
    Io,
    /// A token stream carried an error after its 200 status (an `error` event or object).
    StreamError,
    /// A token stream ended without a finish reason or `[DONE]`.
    StreamTruncated,
    /// No token within the first-token timeout (the whole-request timeout is [`Timeout`](Self::Timeout)).
    FirstTokenTimeout,
}

impl ErrorClass {
    /// The class as a short key that reports count by: `connect`, `timeout`, `http_503`,
    /// `grpc_unavailable`, `decode`, `io`, and for token streams `stream_error`,
    /// `stream_truncated` and `timeout_first_token`.
    pub fn key(&self) -> String {
        match self {
            ErrorClass::Connect => "connect".into(),
            ErrorClass::Timeout => "timeout".into(),
            ErrorClass::HttpStatus(code) => format!("http_{code}"),
            ErrorClass::GrpcCode(code) => format!("grpc_{code}"),
            ErrorClass::Decode => "decode".into(),
            ErrorClass::Io => "io".into(),
            ErrorClass::StreamError => "stream_error".into(),
            ErrorClass::StreamTruncated => "stream_truncated".into(),
            ErrorClass::FirstTokenTimeout => "timeout_first_token".into(),
        }
    }
}

/// One failed request: its class and a message saying what and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestError {
    /// What kind of failure it was.
    pub class: ErrorClass,
    /// What failed and where, for people to read.
    pub message: String,
}

impl RequestError {
    /// A failed request of class `class` with the message `message`.
    pub fn new(class: ErrorClass, message: impl Into<String>) -> Self {
        RequestError {
            class,
            message: message.into(),
        }
    }
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.class.key(), self.message)
    }
}

impl std::error::Error for RequestError {}

/// The error and its sources on one line, as `a: b: c`.
pub(crate) fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// At most `max` characters of a response body, for an error message.
pub(crate) fn snippet(body: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}
