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
        // User info becomes basic auth in the pooled client; it keeps that case.
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
        head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(body);
        Some(Http1Request {
            what: format!("POST {}", crate::remote::endpoint::redact_url(url.as_str())),
            authority,
            bytes: bytes.into(),
        })
    }
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
}

/// One worker's connection; connects on first use and again after any failure.
#[derive(Default)]
pub(crate) struct Http1Conn {
    stream: Option<TcpStream>,
    buf: Vec<u8>,
    filled: usize,
    /// The body of a chunked response, de-chunked.
    dechunked: Vec<u8>,
}

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
        // The previous response is consumed; it stayed in the buffer only to be borrowed.
        self.filled = 0;
        if self.stream.is_none() {
            let stream = TcpStream::connect(&request.authority).await.map_err(|e| {
                RequestError::new(ErrorClass::Connect, format!("{}: {e}", request.what))
            })?;
            let _ = stream.set_nodelay(true);
            self.stream = Some(stream);
        }
        let Some(stream) = self.stream.as_mut() else {
            unreachable!("connected above");
        };
        if stream.write_all(&request.bytes).await.is_err() {
            // A write fails only when the peer is gone; with nothing sent, sending again on a
            // fresh connection is safe.
            return Err(Failure::Stale);
        }
        loop {
            let head = loop {
                if let Some(head) = parse_head(&self.buf[..self.filled], &request.what)? {
                    break head;
                }
                if self.filled >= MAX_HEAD {
                    return Err(decode(request, "the response head exceeds 64 KiB").into());
                }
                let nothing_yet = self.filled == 0;
                match self.read_more(request).await {
                    Ok(0) if nothing_yet => return Err(Failure::Stale),
                    Ok(0) => return Err(closed_early(request).into()),
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
            let (start, end) = match head.framing {
                Framing::Length(length) => {
                    if length > MAX_BODY {
                        return Err(decode(request, "the response body exceeds 1 GiB").into());
                    }
                    while self.filled < head.len + length {
                        if self.read_some(request).await? == 0 {
                            return Err(closed_early(request).into());
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
                                    return Err(
                                        decode(request, "the response body exceeds 1 GiB").into()
                                    );
                                }
                                if self.read_some(request).await? == 0 {
                                    return Err(closed_early(request).into());
                                }
                            }
                            Err(message) => return Err(decode(request, message).into()),
                        }
                    }
                }
                Framing::UntilClose => {
                    while self.read_some(request).await? > 0 {
                        if self.filled - head.len > MAX_BODY {
                            return Err(decode(request, "the response body exceeds 1 GiB").into());
                        }
                    }
                    self.stream = None;
                    (head.len, self.filled)
                }
            };
            if head.close {
                self.stream = None;
            }
            return Ok((head, start, end));
        }
    }

    /// Reads what the socket has into the buffer; 0 at end of stream. A failure comes with its
    /// kind, so a reset before any response byte can be told apart.
    async fn read_more(
        &mut self,
        request: &Http1Request,
    ) -> Result<usize, (std::io::ErrorKind, RequestError)> {
        if self.buf.len() - self.filled < READ_CHUNK {
            let grown = (self.buf.len() * 2).max(self.filled + READ_CHUNK);
            self.buf.resize(grown, 0);
        }
        let Some(stream) = self.stream.as_mut() else {
            return Ok(0);
        };
        let n = stream
            .read(&mut self.buf[self.filled..])
            .await
            .map_err(|e| {
                let error = RequestError::new(ErrorClass::Io, format!("{}: {e}", request.what));
                (e.kind(), error)
            })?;
        self.filled += n;
        Ok(n)
    }

    async fn read_some(&mut self, request: &Http1Request) -> Result<usize, RequestError> {
        self.read_more(request).await.map_err(|(_, error)| error)
    }
}

fn is_reset(kind: std::io::ErrorKind) -> bool {
    use std::io::ErrorKind;
    matches!(
        kind,
        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe
    )
}

fn decode(request: &Http1Request, message: impl std::fmt::Display) -> RequestError {
    RequestError::new(ErrorClass::Decode, format!("{}: {message}", request.what))
}

fn closed_early(request: &Http1Request) -> RequestError {
    RequestError::new(
        ErrorClass::Io,
        format!(
            "{}: the connection closed before the response was complete",
            request.what
        ),
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
            let start = header.value.as_ptr() as usize - data.as_ptr() as usize;
            inference_header = Some((start, start + header.value.len()));
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
