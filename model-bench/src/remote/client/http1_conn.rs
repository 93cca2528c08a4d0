//! A bare HTTP/1.1 connection for one load worker (a closed-loop worker's own, or one an open
//! loop lends to a request). The whole request (head and body) is encoded once; each call
//! writes it and parses the response in place with `httparse`. There is no pool checkout, no
//! connection task and no allocation per request, which is how the peers model-bench is
//! measured against (wrk, oha) drive their connections too. Plain `http://` only; https and
//! HTTP/2 go through the pooled client.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::remote::error::{ErrorClass, RequestError};

/// Response heads larger than this are refused (a misbehaving server, not a model output).
const MAX_HEAD: usize = 64 * 1024;
/// Response bodies larger than this are refused rather than buffered.
const MAX_BODY: usize = 1 << 30;
const READ_CHUNK: usize = 16 * 1024;
const MAX_HEADERS: usize = 64;

/// One request, encoded once for every call and every worker.
#[derive(Debug, Clone)]
pub(crate) struct Http1Request {
    /// `host:port` to connect to.
    authority: String,
    /// `POST <url>` for messages, with no user info or query string.
    what: String,
    bytes: bytes::Bytes,
}

impl Http1Request {
    /// `url` must be `http://`; `headers` are sent after `Host`, `Content-Length` last.
    pub(crate) fn post(
        url: &reqwest::Url,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Option<Http1Request> {
        Http1Post::new(url, headers).map(|post| post.with_body(body))
    }
}

/// A POST whose body changes from request to request (an LLM endpoint's prompts): its head up
/// to `Content-Length`, encoded once.
#[derive(Debug, Clone)]
pub(crate) struct Http1Post {
    authority: String,
    what: String,
    /// The request line, `Host` and `headers`, each line ended.
    head: String,
}

impl Http1Post {
    /// `url` must be `http://` without user info (the pooled client keeps that case: user info
    /// becomes basic auth there); `headers` are sent after `Host`.
    pub(crate) fn new(url: &reqwest::Url, headers: &[(String, String)]) -> Option<Http1Post> {
        if url.scheme() != "http" || !url.username().is_empty() || url.password().is_some() {
            return None;
        }
        // An IPv6 host comes bracketed, as both `Host` and the socket address want it.
        let authority = format!("{}:{}", url.host_str()?, url.port_or_known_default()?);
        let mut target = url.path().to_string();
        if let Some(query) = url.query() {
            target.push('?');
            target.push_str(query);
        }
        let mut head = format!("POST {target} HTTP/1.1\r\nHost: {authority}\r\n");
        for (name, value) in headers {
            head.push_str(name);
            head.push_str(": ");
            head.push_str(value);
            head.push_str("\r\n");
        }
        Some(Http1Post {
            what: format!("POST {}", crate::remote::endpoint::redact_url(url.as_str())),
            authority,
            head,
        })
    }

    /// The whole request with `body`, `Content-Length` last in its head.
    pub(crate) fn with_body(&self, body: &[u8]) -> Http1Request {
        let length = format!("Content-Length: {}\r\n\r\n", body.len());
        let mut bytes = Vec::with_capacity(self.head.len() + length.len() + body.len());
        bytes.extend_from_slice(self.head.as_bytes());
        bytes.extend_from_slice(length.as_bytes());
        bytes.extend_from_slice(body);
        Http1Request {
            authority: self.authority.clone(),
            what: self.what.clone(),
            bytes: bytes.into(),
        }
    }

    /// `POST <url>`, without secrets, for messages.
    pub(crate) fn what(&self) -> &str {
        &self.what
    }
}

/// A request as the connection writes it, borrowed.
struct Outgoing<'a> {
    authority: &'a str,
    what: &'a str,
    bytes: &'a [u8],
}

/// A response, borrowed from the connection's buffer until the next call.
#[derive(Debug)]
pub(crate) struct Response<'a> {
    pub status: u16,
    /// The raw `Inference-Header-Content-Length` value, when present.
    pub inference_header_len: Option<&'a [u8]>,
    pub body: &'a [u8],
}

/// How the body of a response ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    Length(usize),
    Chunked,
    UntilClose,
}

/// What a parsed response head says, owned so the buffer can be read into again.
#[derive(Debug, Clone, Copy)]
struct Head {
    len: usize,
    status: u16,
    framing: Framing,
    close: bool,
    /// Byte range of the `Inference-Header-Content-Length` value within the head.
    inference_header: Option<(usize, usize)>,
    /// Byte range of the `Content-Type` value within the head.
    content_type: Option<(usize, usize)>,
}

/// One worker's connection; connects on first use and again after any failure.
#[derive(Default)]
pub(crate) struct Http1Conn {
    stream: Option<TcpStream>,
    buf: Vec<u8>,
    filled: usize,
    /// The body of a chunked response, de-chunked.
    dechunked: Vec<u8>,
    /// A response is being read: set while an exchange or a stream is under way, so one
    /// abandoned half-way (a timeout, an error) leaves a connection that is not reused.
    busy: bool,
    /// The streamed response being read, if any.
    streaming: Option<Streaming>,
}

/// What is left of a streamed response's body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyLeft {
    Length(usize),
    /// In a chunked body: where the decoder stands.
    Chunked(ChunkAt),
    UntilClose,
    Done,
}

/// Where a chunked body's decoder stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChunkAt {
    Size,
    Data(u64),
    /// After a chunk's data: its CRLF.
    DataEnd,
    Trailers,
}

/// A streamed response under way: its body framing, and the bytes of the buffer already
/// handed to the caller (dropped at the next read).
#[derive(Debug, Clone, Copy)]
struct Streaming {
    left: BodyLeft,
    close: bool,
    handed: usize,
}

/// A streamed response's head: its status and content type; its body follows with
/// [`Http1Conn::next_piece`].
#[derive(Debug)]
pub(crate) struct StreamHead {
    pub status: u16,
    pub content_type: String,
}

/// The buffer a streamed response is read into: a token stream's events are small, and
/// thousands of streams may be open at once. It grows only when one line of framing does not
/// fit.
const STREAM_BUF: usize = 4 * 1024;

enum Failure {
    /// Nothing came back on a connection that had served requests before: the server closed
    /// it while idle, so the request may be sent again on a new one.
    Stale,
    Error(RequestError),
}

impl From<RequestError> for Failure {
    fn from(error: RequestError) -> Self {
        Failure::Error(error)
    }
}

impl Http1Conn {
    /// Sends `request` and reads its whole response, within `timeout`.
    pub(crate) async fn round_trip(
        &mut self,
        request: &Http1Request,
        timeout: Duration,
    ) -> Result<Response<'_>, RequestError> {
        let exchange = async {
            let reused = self.stream.is_some();
            match self.exchange(request).await {
                Err(Failure::Stale) if reused => {
                    self.stream = None;
                    self.exchange(request).await
                }
                other => other,
            }
        };
        let outcome = match tokio::time::timeout(timeout, exchange).await {
            Ok(Ok(found)) => Ok(found),
            Ok(Err(Failure::Error(error))) => Err(error),
            Ok(Err(Failure::Stale)) => Err(RequestError::new(
                ErrorClass::Io,
                format!("{}: the connection closed before a response", request.what),
            )),
            Err(_) => Err(RequestError::new(
                ErrorClass::Timeout,
                format!("{}: no complete response within {timeout:?}", request.what),
            )),
        };
        match outcome {
            Ok((head, body_start, body_end)) => {
                let body = match head.framing {
                    Framing::Chunked => &self.dechunked[..],
                    _ => &self.buf[body_start..body_end],
                };
                Ok(Response {
                    status: head.status,
                    inference_header_len: head.inference_header.map(|(a, b)| &self.buf[a..b]),
                    body,
                })
            }
            Err(error) => {
                self.stream = None;
                self.filled = 0;
                Err(error)
            }
        }
    }

    /// Writes the request and reads one final response: the head, and where its body lies in
    /// the buffer (for chunked bodies, in `dechunked`).
    async fn exchange(&mut self, request: &Http1Request) -> Result<(Head, usize, usize), Failure> {
        let outgoing = Outgoing {
            authority: &request.authority,
            what: &request.what,
            bytes: &request.bytes,
        };
        let head = self.request_head(&outgoing, READ_CHUNK, READ_CHUNK).await?;
        let what = outgoing.what;
        let (start, end) = match head.framing {
            Framing::Length(length) => {
                if length > MAX_BODY {
                    return Err(decode(what, "the response body exceeds 1 GiB").into());
                }
                while self.filled < head.len + length {
                    if self.read_some(what).await? == 0 {
                        return Err(closed_early(what).into());
                    }
                }
                (head.len, head.len + length)
            }
            Framing::Chunked => {
                // Complete chunks are decoded once; each read continues from `at`.
                let mut at = 0;
                self.dechunked.clear();
                loop {
                    match dechunk(
                        &self.buf[head.len..self.filled],
                        &mut at,
                        &mut self.dechunked,
                    ) {
                        Ok(Some(_)) => break (head.len, head.len),
                        Ok(None) => {
                            if self.filled - head.len > MAX_BODY {
                                return Err(decode(what, "the response body exceeds 1 GiB").into());
                            }
                            if self.read_some(what).await? == 0 {
                                return Err(closed_early(what).into());
                            }
                        }
                        Err(message) => return Err(decode(what, message).into()),
                    }
                }
            }
            Framing::UntilClose => {
                while self.read_some(what).await? > 0 {
                    if self.filled - head.len > MAX_BODY {
                        return Err(decode(what, "the response body exceeds 1 GiB").into());
                    }
                }
                self.stream = None;
                (head.len, self.filled)
            }
        };
        if head.close {
            self.stream = None;
        }
        self.busy = false;
        Ok((head, start, end))
    }

    /// Writes `outgoing` (connecting first where needed) and reads the final response's head,
    /// left at the start of the buffer; reads grow the buffer to keep `min_free` bytes free,
    /// `min_size` at least.
    async fn request_head(
        &mut self,
        outgoing: &Outgoing<'_>,
        min_free: usize,
        min_size: usize,
    ) -> Result<Head, Failure> {
        if std::mem::replace(&mut self.busy, true) {
            // The last response was abandoned half-way: what is left of it is unread.
            self.stream = None;
        }
        self.streaming = None;
        // The previous response is consumed; it stayed in the buffer only to be borrowed.
        self.filled = 0;
        let what = outgoing.what;
        if self.stream.is_none() {
            let stream = TcpStream::connect(outgoing.authority)
                .await
                .map_err(|e| RequestError::new(ErrorClass::Connect, format!("{what}: {e}")))?;
            let _ = stream.set_nodelay(true);
            self.stream = Some(stream);
        }
        let Some(stream) = self.stream.as_mut() else {
            unreachable!("connected above");
        };
        if stream.write_all(outgoing.bytes).await.is_err() {
            // A write fails only when the peer is gone; with nothing sent, sending again on a
            // fresh connection is safe.
            return Err(Failure::Stale);
        }
        loop {
            let head = loop {
                if let Some(head) = parse_head(&self.buf[..self.filled], what)? {
                    break head;
                }
                if self.filled >= MAX_HEAD {
                    return Err(decode(what, "the response head exceeds 64 KiB").into());
                }
                let nothing_yet = self.filled == 0;
                match self.read_more(what, min_free, min_size).await {
                    Ok(0) if nothing_yet => return Err(Failure::Stale),
                    Ok(0) => return Err(closed_early(what).into()),
                    Ok(_) => {}
                    // A server that resets an idle keep-alive connection instead of closing it.
                    Err((kind, _)) if nothing_yet && is_reset(kind) => return Err(Failure::Stale),
                    Err((_, error)) => return Err(error.into()),
                }
            };
            if (100..200).contains(&head.status) && head.status != 101 {
                // An interim response (100 Continue, 103 Early Hints): the final one follows.
                self.buf.copy_within(head.len..self.filled, 0);
                self.filled -= head.len;
                continue;
            }
            return Ok(head);
        }
    }

    /// Sends `body` with `post`'s head and reads the response's head; its body follows piece
    /// by piece, as it arrives, with [`next_piece`](Self::next_piece). A connection that had
    /// served requests and was closed while idle is replaced once, as in
    /// [`round_trip`](Self::round_trip). Not bounded in time: the caller bounds the stream.
    pub(crate) async fn start_stream(
        &mut self,
        post: &Http1Post,
        body: &[u8],
    ) -> Result<StreamHead, RequestError> {
        let length = format!("Content-Length: {}\r\n\r\n", body.len());
        let mut bytes = Vec::with_capacity(post.head.len() + length.len() + body.len());
        bytes.extend_from_slice(post.head.as_bytes());
        bytes.extend_from_slice(length.as_bytes());
        bytes.extend_from_slice(body);
        let outgoing = Outgoing {
            authority: &post.authority,
            what: &post.what,
            bytes: &bytes,
        };
        let reused = self.stream.is_some();
        let head = match self.request_head(&outgoing, 1, STREAM_BUF).await {
            Err(Failure::Stale) if reused => {
                self.stream = None;
                self.request_head(&outgoing, 1, STREAM_BUF).await
            }
            other => other,
        };
        let head = match head {
            Ok(head) => head,
            Err(failure) => {
                self.stream = None;
                self.filled = 0;
                return Err(match failure {
                    Failure::Error(error) => error,
                    Failure::Stale => RequestError::new(
                        ErrorClass::Io,
                        format!("{}: the connection closed before a response", post.what),
                    ),
                });
            }
        };
        let content_type = head
            .content_type
            .map(|(a, b)| String::from_utf8_lossy(&self.buf[a..b]).into_owned())
            .unwrap_or_default();
        // The head is read: the buffer keeps the body's first bytes, from its start.
        self.buf.copy_within(head.len..self.filled, 0);
        self.filled -= head.len;
        let left = match head.framing {
            Framing::Length(0) => BodyLeft::Done,
            Framing::Length(length) => BodyLeft::Length(length),
            Framing::Chunked => BodyLeft::Chunked(ChunkAt::Size),
            Framing::UntilClose => BodyLeft::UntilClose,
        };
        self.streaming = Some(Streaming {
            left,
            close: head.close,
            handed: 0,
        });
        Ok(StreamHead {
            status: head.status,
            content_type,
        })
    }

    /// The next piece of the streamed response's body as soon as the socket has one (a chunk's
    /// data, or the part of it that came), borrowed until the next call; `None` at the end of
    /// the body, when the connection is ready for the next request. `what` names the request
    /// in errors.
    pub(crate) async fn next_piece(&mut self, what: &str) -> Result<Option<&[u8]>, RequestError> {
        let Some(mut streaming) = self.streaming.take() else {
            return Ok(None);
        };
        // The piece handed out last time is done with.
        self.buf.copy_within(streaming.handed..self.filled, 0);
        self.filled -= streaming.handed;
        let data = loop {
            let (data, used) =
                match decode_in_place(&mut self.buf[..self.filled], &mut streaming.left) {
                    Ok(found) => found,
                    Err(message) => {
                        self.stream = None;
                        return Err(decode(what, message));
                    }
                };
            if data > 0 {
                streaming.handed = used;
                break data;
            }
            if streaming.left == BodyLeft::Done {
                if streaming.close {
                    self.stream = None;
                }
                self.filled = 0;
                self.busy = false;
                return Ok(None);
            }
            self.buf.copy_within(used..self.filled, 0);
            self.filled -= used;
            if self.filled == self.buf.len() && self.filled >= MAX_HEAD {
                self.stream = None;
                return Err(decode(what, "a line of chunked framing exceeds 64 KiB"));
            }
            let read = match self.read_more(what, 1, STREAM_BUF).await {
                Ok(read) => read,
                Err((_, error)) => {
                    self.stream = None;
                    return Err(error);
                }
            };
            if read == 0 {
                self.stream = None;
                if streaming.left != BodyLeft::UntilClose {
                    return Err(closed_early(what));
                }
                streaming.left = BodyLeft::Done;
            }
        };
        self.streaming = Some(streaming);
        Ok(Some(&self.buf[..data]))
    }

    /// Reads what the socket has into the buffer, grown first to keep `min_free` bytes free
    /// (`min_size` at least); 0 at end of stream. A failure comes with its kind, so a reset
    /// before any response byte can be told apart.
    async fn read_more(
        &mut self,
        what: &str,
        min_free: usize,
        min_size: usize,
    ) -> Result<usize, (std::io::ErrorKind, RequestError)> {
        if self.buf.len() - self.filled < min_free {
            let grown = (self.buf.len() * 2)
                .max(self.filled + min_free)
                .max(min_size);
            self.buf.resize(grown, 0);
        }
        let Some(stream) = self.stream.as_mut() else {
            return Ok(0);
        };
        let n = stream
            .read(&mut self.buf[self.filled..])
            .await
            .map_err(|e| {
                let error = RequestError::new(ErrorClass::Io, format!("{what}: {e}"));
                (e.kind(), error)
            })?;
        self.filled += n;
        Ok(n)
    }

    async fn read_some(&mut self, what: &str) -> Result<usize, RequestError> {
        self.read_more(what, READ_CHUNK, READ_CHUNK)
            .await
            .map_err(|(_, error)| error)
    }
}

fn is_reset(kind: std::io::ErrorKind) -> bool {
    use std::io::ErrorKind;
    matches!(
        kind,
        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe
    )
}

fn decode(what: &str, message: impl std::fmt::Display) -> RequestError {
    RequestError::new(ErrorClass::Decode, format!("{what}: {message}"))
}

fn closed_early(what: &str) -> RequestError {
    RequestError::new(
        ErrorClass::Io,
        format!("{what}: the connection closed before the response was complete"),
    )
}

/// The response head at the start of `data`, or `None` when more bytes are needed.
fn parse_head(data: &[u8], what: &str) -> Result<Option<Head>, RequestError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    let len = match response.parse(data) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(error) => {
            return Err(RequestError::new(
                ErrorClass::Decode,
                format!("{what}: not an HTTP/1.1 response: {error}"),
            ))
        }
    };
    let status = response.code.unwrap_or(0);
    let mut close = response.version == Some(0);
    let mut length = None;
    let mut chunked = false;
    let mut inference_header = None;
    let mut content_type = None;
    let range = |value: &[u8]| {
        let start = value.as_ptr() as usize - data.as_ptr() as usize;
        (start, start + value.len())
    };
    for header in response.headers.iter() {
        let name = header.name;
        if name.eq_ignore_ascii_case("content-length") {
            let value = std::str::from_utf8(header.value)
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok())
                .ok_or_else(|| {
                    RequestError::new(
                        ErrorClass::Decode,
                        format!("{what}: Content-Length is not a number"),
                    )
                })?;
            length = Some(value);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = header
                .value
                .rsplit(|&b| b == b',')
                .next()
                .is_some_and(|last| last.trim_ascii().eq_ignore_ascii_case(b"chunked"));
        } else if name.eq_ignore_ascii_case("connection") {
            let value = header.value.trim_ascii();
            if value.eq_ignore_ascii_case(b"close") {
                close = true;
            } else if value.eq_ignore_ascii_case(b"keep-alive") {
                close = false;
            }
        } else if name.eq_ignore_ascii_case(crate::remote::oip::v2::HEADER_LENGTH) {
            inference_header = Some(range(header.value));
        } else if name.eq_ignore_ascii_case("content-type") {
            content_type = Some(range(header.value));
        }
    }
    let framing = if status == 204 || status == 304 || (100..200).contains(&status) {
        Framing::Length(0)
    } else if chunked {
        Framing::Chunked
    } else if let Some(length) = length {
        Framing::Length(length)
    } else {
        Framing::UntilClose
    };
    Ok(Some(Head {
        len,
        status,
        framing,
        close,
        inference_header,
        content_type,
    }))
}

/// Decodes a chunked body from `data` into `out`, continuing from `at` (the end of the chunks
/// decoded by earlier calls, which it advances): `Some(consumed)` when the body is complete
/// (trailers included), `None` when more bytes are needed. Each byte is decoded once, however
/// many reads the body takes.
fn dechunk(data: &[u8], at: &mut usize, out: &mut Vec<u8>) -> Result<Option<usize>, String> {
    loop {
        let (line, size) = match httparse::parse_chunk_size(&data[*at..]) {
            Ok(httparse::Status::Complete(found)) => found,
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(_) => return Err("invalid chunk size in a chunked response".into()),
        };
        let start = *at + line;
        if size == 0 {
            // Trailer lines, then an empty line.
            let mut end = start;
            loop {
                let Some(eol) = data[end..].windows(2).position(|w| w == b"\r\n") else {
                    return Ok(None);
                };
                end += eol + 2;
                if eol == 0 {
                    return Ok(Some(end));
                }
            }
        }
        let size = usize::try_from(size).map_err(|_| "a chunk larger than memory".to_string())?;
        let Some(end) = start.checked_add(size).filter(|_| size <= MAX_BODY) else {
            return Err("a chunk larger than 1 GiB".into());
        };
        if data.len() < end + 2 {
            return Ok(None);
        }
        if &data[end..end + 2] != b"\r\n" {
            return Err("a chunk not followed by CRLF".into());
        }
        out.extend_from_slice(&data[start..end]);
        *at = end + 2;
    }
}

/// Decodes what `buf` holds of a streamed body in place: the body's bytes are moved to the
/// front. Returns how many body bytes are at the front and how many bytes of `buf` were used
/// (framing included); `left` follows the body to its end.
fn decode_in_place(buf: &mut [u8], left: &mut BodyLeft) -> Result<(usize, usize), String> {
    match left {
        BodyLeft::Done => Ok((0, 0)),
        BodyLeft::UntilClose => Ok((buf.len(), buf.len())),
        BodyLeft::Length(rest) => {
            let taken = (*rest).min(buf.len());
            *rest -= taken;
            if *rest == 0 {
                *left = BodyLeft::Done;
            }
            Ok((taken, taken))
        }
        BodyLeft::Chunked(at) => {
            let (mut written, mut read) = (0, 0);
            loop {
                match *at {
                    ChunkAt::Size => match httparse::parse_chunk_size(&buf[read..]) {
                        Ok(httparse::Status::Complete((line, 0))) => {
                            read += line;
                            *at = ChunkAt::Trailers;
                        }
                        Ok(httparse::Status::Complete((line, size))) => {
                            if size > MAX_BODY as u64 {
                                return Err("a chunk larger than 1 GiB".into());
                            }
                            read += line;
                            *at = ChunkAt::Data(size);
                        }
                        Ok(httparse::Status::Partial) => break,
                        Err(_) => return Err("invalid chunk size in a chunked response".into()),
                    },
                    ChunkAt::Data(rest) => {
                        let available = buf.len() - read;
                        if available == 0 {
                            break;
                        }
                        let taken = usize::try_from(rest).unwrap_or(usize::MAX).min(available);
                        buf.copy_within(read..read + taken, written);
                        written += taken;
                        read += taken;
                        let rest = rest - taken as u64;
                        *at = if rest == 0 {
                            ChunkAt::DataEnd
                        } else {
                            ChunkAt::Data(rest)
                        };
                    }
                    ChunkAt::DataEnd => {
                        if buf.len() - read < 2 {
                            break;
                        }
                        if &buf[read..read + 2] != b"\r\n" {
                            return Err("a chunk not followed by CRLF".into());
                        }
                        read += 2;
                        *at = ChunkAt::Size;
                    }
                    ChunkAt::Trailers => {
                        let Some(eol) = buf[read..].windows(2).position(|w| w == b"\r\n") else {
                            break;
                        };
                        read += eol + 2;
                        if eol == 0 {
                            *left = BodyLeft::Done;
                            return Ok((written, read));
                        }
                    }
                }
            }
            Ok((written, read))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_bodies_are_joined_and_trailers_skipped() {
        let data = b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nx-trailer: 1\r\n\r\n";
        let whole = |data: &[u8]| {
            let (mut at, mut out) = (0, Vec::new());
            dechunk(data, &mut at, &mut out).map(|done| (done, out))
        };
        assert_eq!(whole(data), Ok((Some(data.len()), b"hello world".to_vec())));
        assert_eq!(whole(&data[..data.len() - 1]).unwrap().0, None);
        assert_eq!(whole(b"5\r\nhel").unwrap().0, None);
        assert!(whole(b"zz\r\n").is_err());
        assert!(whole(b"2\r\nabXY").is_err());
        // Fed a byte at a time, as a slow server sends it: the same body, each chunk once.
        let (mut at, mut out) = (0, Vec::new());
        for end in 1..data.len() {
            assert_eq!(dechunk(&data[..end], &mut at, &mut out), Ok(None), "{end}");
        }
        assert_eq!(dechunk(data, &mut at, &mut out), Ok(Some(data.len())));
        assert_eq!(out, b"hello world");
    }

    /// Decodes `wire` fed in pieces of `step` bytes as a streamed body is: what is left in the
    /// buffer stays for the next read. Returns the body and whether it ended.
    fn stream_through(wire: &[u8], framing: BodyLeft, step: usize) -> (Vec<u8>, bool) {
        let (mut left, mut buf, mut body) = (framing, Vec::new(), Vec::new());
        for piece in wire.chunks(step) {
            buf.extend_from_slice(piece);
            let (data, used) = decode_in_place(&mut buf, &mut left).unwrap();
            body.extend_from_slice(&buf[..data]);
            buf.drain(..used);
        }
        (body, left == BodyLeft::Done)
    }

    #[test]
    fn a_streamed_body_is_decoded_in_place_whatever_the_reads_cut() {
        let wire = b"7\r\ndata: a\r\n9;x=y\r\n\n\ndata: b\r\n0\r\nx-trailer: 1\r\n\r\n";
        for step in 1..=wire.len() {
            let (body, done) = stream_through(wire, BodyLeft::Chunked(ChunkAt::Size), step);
            assert_eq!(body, b"data: a\n\ndata: b", "{step}");
            assert!(done, "{step}");
        }
        // Cut one byte into the second chunk's data: that byte is handed on already.
        let (body, done) = stream_through(&wire[..20], BodyLeft::Chunked(ChunkAt::Size), 3);
        assert_eq!(body, b"data: a\n");
        assert!(!done);
        let mut left = BodyLeft::Chunked(ChunkAt::Size);
        assert!(decode_in_place(&mut b"2\r\nabXY".to_vec(), &mut left).is_err());
        let mut left = BodyLeft::Chunked(ChunkAt::Size);
        assert!(decode_in_place(&mut b"zz\r\n".to_vec(), &mut left).is_err());
        // A length ends the body at its last byte; what follows is not the body's.
        let (body, done) = stream_through(b"hello world", BodyLeft::Length(5), 2);
        assert_eq!(body, b"hello");
        assert!(done);
        let (body, done) = stream_through(b"until close", BodyLeft::UntilClose, 4);
        assert_eq!(body, b"until close");
        assert!(!done);
    }

    #[test]
    fn heads_give_status_framing_and_the_binary_header() {
        let data =
            b"HTTP/1.1 200 OK\r\nInference-Header-Content-Length: 12\r\nContent-Length: 20\r\n\r\n";
        let head = parse_head(data, "POST x").unwrap().unwrap();
        assert_eq!(head.status, 200);
        assert_eq!(head.len, data.len());
        assert_eq!(head.framing, Framing::Length(20));
        assert!(!head.close);
        let (a, b) = head.inference_header.unwrap();
        assert_eq!(&data[a..b], b"12");

        let chunked =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nConnection: close\r\n\r\n";
        let head = parse_head(chunked, "POST x").unwrap().unwrap();
        assert_eq!(head.framing, Framing::Chunked);
        assert!(head.close);

        let old = b"HTTP/1.0 503 Busy\r\n\r\n";
        let head = parse_head(old, "POST x").unwrap().unwrap();
        assert_eq!(head.framing, Framing::UntilClose);
        assert!(head.close);

        assert!(parse_head(b"HTTP/1.1 200 OK\r\nContent-Le", "POST x")
            .unwrap()
            .is_none());
        let error = parse_head(b"<html>hello</html>\r\n\r\n", "POST x").unwrap_err();
        assert_eq!(error.class, ErrorClass::Decode);
        let error =
            parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: many\r\n\r\n", "POST x").unwrap_err();
        assert!(error.message.contains("Content-Length"), "{error}");
    }

    #[test]
    fn only_plain_http_urls_get_a_bare_connection() {
        let url = reqwest::Url::parse("http://127.0.0.1:8000/v2/models/m/infer?x=1").unwrap();
        let request = Http1Request::post(
            &url,
            &[("Content-Type".into(), "application/json".into())],
            b"{}",
        )
        .unwrap();
        assert_eq!(request.authority, "127.0.0.1:8000");
        assert_eq!(request.what, "POST http://127.0.0.1:8000/v2/models/m/infer");
        assert_eq!(
            &request.bytes[..],
            b"POST /v2/models/m/infer?x=1 HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
        );
        for other in ["https://127.0.0.1/v2", "http://user:pw@127.0.0.1/v2"] {
            let url = reqwest::Url::parse(other).unwrap();
            assert!(Http1Request::post(&url, &[], b"").is_none(), "{other}");
        }
        let v6 = reqwest::Url::parse("http://[::1]:9/v2").unwrap();
        assert_eq!(
            Http1Request::post(&v6, &[], b"").unwrap().authority,
            "[::1]:9"
        );
    }
}
