//! `ModelInfer` straight over `h2`: the request frame (gRPC prefix and protobuf) is encoded once,
//! each call opens one HTTP/2 stream on a shared connection, sends the frame, and reads the
//! response frame and `grpc-status`. tonic's channel puts a tower buffer task, a `ready()` and a
//! codec pipeline in front of every call; this path is what `h2load` measures against. Plain
//! `http://` only; TLS endpoints keep the tonic channel.

use crate::sync::lock;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use h2::client::{ResponseFuture, SendRequest};
use h2::SendStream;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Uri};
use prost::Message;
use tokio::net::TcpStream;

use super::grpc_tonic::Tonic;
use super::transport::{BoxFuture, ModelMetadata, Transport};
use crate::remote::error::{ErrorClass, RequestError};
use crate::remote::oip::proto::{self, ModelInferResponse};

/// Stream and connection windows as hyper's client sets them, so large outputs are not
/// throttled by HTTP/2's 64 KiB default.
const STREAM_WINDOW: u32 = 2 * 1024 * 1024;
const CONNECTION_WINDOW: u32 = 5 * 1024 * 1024;
/// Response messages larger than this are refused rather than buffered.
const MAX_MESSAGE: usize = 1 << 30;

/// One connection's request sender, with the generation that opened it so a connection task that
/// ends only clears its own.
#[derive(Default)]
struct Slot {
    sender: Mutex<Option<(u64, SendRequest<Bytes>)>>,
    /// Held while connecting, so concurrent calls on a dead connection reconnect once.
    connecting: tokio::sync::Mutex<()>,
}

/// `ModelInfer` for one endpoint over one or more HTTP/2 connections.
pub(crate) struct GrpcH2 {
    authority: String,
    uri: Uri,
    headers: HeaderMap,
    frame: Bytes,
    /// The base URL for messages (no user info, no query).
    what: String,
    slots: Vec<Arc<Slot>>,
    next: AtomicUsize,
    generation: AtomicU64,
}

impl GrpcH2 {
    /// `None` for anything but `http://host:port` (TLS endpoints stay on tonic).
    pub(crate) fn new(
        base_url: &str,
        message: &[u8],
        metadata: &[(String, String)],
        timeout: Duration,
        connections: usize,
    ) -> Option<GrpcH2> {
        let base: Uri = base_url.parse().ok()?;
        if base.scheme_str() != Some("http") {
            return None;
        }
        let authority = base.authority()?.clone();
        if authority.as_str().contains('@') {
            return None;
        }
        let port = authority.port_u16().unwrap_or(80);
        let uri = Uri::builder()
            .scheme("http")
            .authority(authority.clone())
            .path_and_query(crate::remote::oip::grpc::MODEL_INFER)
            .build()
            .ok()?;
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("application/grpc"));
        headers.insert("te", HeaderValue::from_static("trailers"));
        headers.insert(
            "user-agent",
            HeaderValue::from_static(concat!("model-bench/", env!("CARGO_PKG_VERSION"))),
        );
        if let Ok(value) = HeaderValue::from_str(&grpc_timeout(timeout)) {
            headers.insert("grpc-timeout", value);
        }
        for (name, value) in metadata {
            let name = HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes()).ok()?;
            let mut value = HeaderValue::from_str(value).ok()?;
            value.set_sensitive(true);
            headers.append(name, value);
        }
        let mut frame = BytesMut::with_capacity(5 + message.len());
        frame.put_u8(0);
        frame.put_u32(u32::try_from(message.len()).ok()?);
        frame.put_slice(message);
        Some(GrpcH2 {
            authority: format!("{}:{port}", authority.host()),
            uri,
            headers,
            frame: frame.freeze(),
            what: crate::remote::endpoint::redact_url(base_url),
            slots: (0..connections.max(1)).map(|_| Arc::default()).collect(),
            next: AtomicUsize::new(0),
            generation: AtomicU64::new(0),
        })
    }

    /// One `ModelInfer` call: the decoded response, or the error of its class.
    pub(crate) async fn infer(
        &self,
        timeout: Duration,
    ) -> Result<ModelInferResponse, RequestError> {
        match tokio::time::timeout(timeout, self.call()).await {
            Ok(outcome) => outcome,
            // Dropping the call resets its stream; the connection stays for the next call.
            Err(_) => Err(RequestError::new(
                ErrorClass::Timeout,
                format!("{}: ModelInfer: no response within {timeout:?}", self.what),
            )),
        }
    }

    async fn call(&self) -> Result<ModelInferResponse, RequestError> {
        let slot = if self.slots.len() == 1 {
            &self.slots[0]
        } else {
            &self.slots[self.next.fetch_add(1, Ordering::Relaxed) % self.slots.len()]
        };
        // A connection the server is retiring (GOAWAY) refuses new streams before its task ends:
        // forget it and open the stream once more on a fresh one.
        let (response, mut stream) = match self.open_stream(slot).await {
            Ok(opened) => opened,
            Err((generation, _)) => {
                forget(slot, generation);
                self.open_stream(slot).await.map_err(|(_, error)| error)?
            }
        };
        stream
            .send_data(self.frame.clone(), true)
            .map_err(|e| self.h2_error(&e))?;
        let response = response.await.map_err(|e| self.h2_error(&e))?;
        let (head, mut body) = response.into_parts();
        if head.status != http::StatusCode::OK {
            return Err(RequestError::new(
                ErrorClass::GrpcCode(code_of_http_status(head.status.as_u16()).into()),
                format!("{}: ModelInfer: HTTP {}", self.what, head.status),
            ));
        }
        // A trailers-only response carries the status in its headers.
        if let Some(error) = self.status_error(&head.headers) {
            return Err(error);
        }
        let mut message = BytesMut::new();
        while let Some(data) = body.data().await {
            let data = data.map_err(|e| self.h2_error(&e))?;
            let _ = body.flow_control().release_capacity(data.len());
            if message.len() + data.len() > MAX_MESSAGE + 5 {
                return Err(self.decode("the response message exceeds 1 GiB"));
            }
            message.extend_from_slice(&data);
        }
        let trailers = body.trailers().await.map_err(|e| self.h2_error(&e))?;
        match trailers.as_ref().and_then(|t| self.status_error(t)) {
            Some(error) => return Err(error),
            None if trailers
                .as_ref()
                .is_none_or(|t| !t.contains_key("grpc-status")) =>
            {
                return Err(self.decode("the response ended without a grpc-status"))
            }
            None => {}
        }
        self.decode_message(message.freeze())
    }

    /// A new stream with the request's head on the slot's connection; on failure, the error and
    /// the generation of the connection that refused it.
    async fn open_stream(
        &self,
        slot: &Arc<Slot>,
    ) -> Result<(ResponseFuture, SendStream<Bytes>), (Option<u64>, RequestError)> {
        let (generation, sender) = self.sender(slot).await.map_err(|e| (None, e))?;
        let refused = |e: h2::Error| (Some(generation), self.h2_error(&e));
        let mut sender = sender.ready().await.map_err(refused)?;
        let mut request = Request::new(());
        *request.method_mut() = Method::POST;
        *request.uri_mut() = self.uri.clone();
        *request.headers_mut() = self.headers.clone();
        sender.send_request(request, false).map_err(refused)
    }

    /// The connection's sender and its generation, connecting first when there is none (or it
    /// died).
    async fn sender(&self, slot: &Arc<Slot>) -> Result<(u64, SendRequest<Bytes>), RequestError> {
        if let Some((generation, sender)) = lock(&slot.sender).as_ref() {
            return Ok((*generation, sender.clone()));
        }
        let _connecting = slot.connecting.lock().await;
        if let Some((generation, sender)) = lock(&slot.sender).as_ref() {
            return Ok((*generation, sender.clone()));
        }
        let connect_error = |message: String| {
            RequestError::new(ErrorClass::Connect, format!("{}: {message}", self.what))
        };
        let tcp = TcpStream::connect(&self.authority)
            .await
            .map_err(|e| connect_error(e.to_string()))?;
        let _ = tcp.set_nodelay(true);
        let (sender, connection) = h2::client::Builder::new()
            .initial_window_size(STREAM_WINDOW)
            .initial_connection_window_size(CONNECTION_WINDOW)
            .enable_push(false)
            .handshake::<_, Bytes>(tcp)
            .await
            .map_err(|e| connect_error(format!("HTTP/2 handshake: {e}")))?;
        let generation = self.generation.fetch_add(1, Ordering::Relaxed);
        *lock(&slot.sender) = Some((generation, sender.clone()));
        // Weak: the task must not keep the slot (and with it a sender, which keeps the
        // connection open) alive after the client is dropped.
        let owner = Arc::downgrade(slot);
        tokio::spawn(async move {
            let _ = connection.await;
            if let Some(owner) = owner.upgrade() {
                forget(&owner, Some(generation));
            }
        });
        Ok((generation, sender))
    }

    fn status_error(&self, headers: &HeaderMap) -> Option<RequestError> {
        let status = headers.get("grpc-status")?;
        let code: i32 = match std::str::from_utf8(status.as_bytes())
            .ok()
            .and_then(|s| s.trim().parse().ok())
        {
            Some(code) => code,
            None => return Some(self.decode("grpc-status is not a number")),
        };
        if code == 0 {
            return None;
        }
        let tonic_code = tonic::Code::from_i32(code);
        let message = headers
            .get("grpc-message")
            .map(|m| percent_decode(m.as_bytes()))
            .unwrap_or_default();
        // The request carries `grpc-timeout`, so the server may end it first.
        let class = super::grpc_status::code_class(tonic_code, &message);
        Some(RequestError::new(
            class,
            format!(
                "{}: ModelInfer: {}: {message}",
                self.what,
                tonic_code.description()
            ),
        ))
    }

    fn decode_message(&self, mut body: Bytes) -> Result<ModelInferResponse, RequestError> {
        if body.len() < 5 {
            return Err(self.decode("the response has no complete gRPC message"));
        }
        let compressed = body.get_u8();
        let len = body.get_u32() as usize;
        if compressed != 0 {
            return Err(self.decode("the response message is compressed, which was not asked for"));
        }
        if body.len() != len {
            return Err(self.decode(format!(
                "the response frame says {len} bytes but {} arrived",
                body.len()
            )));
        }
        ModelInferResponse::decode(body)
            .map_err(|e| self.decode(format!("cannot decode ModelInferResponse: {e}")))
    }

    fn decode(&self, message: impl std::fmt::Display) -> RequestError {
        RequestError::new(
            ErrorClass::Decode,
            format!("{}: ModelInfer: {message}", self.what),
        )
    }

    fn h2_error(&self, error: &h2::Error) -> RequestError {
        let class = if error.is_io() {
            ErrorClass::Io
        } else if let Some(reason) = error.reason() {
            ErrorClass::GrpcCode(code_of_reset(reason).into())
        } else {
            ErrorClass::Io
        };
        RequestError::new(class, format!("{}: ModelInfer: {error}", self.what))
    }
}

/// gRPC over plain `http://`: `ModelInfer` on the bare h2 driver, the probes (health, metadata,
/// statistics) on tonic's channel beside it.
pub(crate) struct H2 {
    direct: GrpcH2,
    probes: Tonic,
}

impl H2 {
    pub fn new(direct: GrpcH2, probes: Tonic) -> H2 {
        H2 { direct, probes }
    }

    async fn send(&self) -> Result<(), RequestError> {
        let target = self.probes.target();
        let response = self.direct.infer(target.timeout).await?;
        target.check_grpc(&response)
    }
}

impl Transport for H2 {
    fn infer(&self) -> BoxFuture<'_, Result<(), RequestError>> {
        Box::pin(self.send())
    }

    fn health(&self) -> BoxFuture<'_, Result<(), RequestError>> {
        self.probes.health()
    }

    fn metadata(&self) -> BoxFuture<'_, Result<ModelMetadata, RequestError>> {
        self.probes.metadata()
    }

    fn model_statistics(
        &self,
    ) -> Option<BoxFuture<'_, Result<proto::ModelStatisticsResponse, RequestError>>> {
        self.probes.model_statistics()
    }
}

/// Drops the slot's connection if it is still the one of `generation`, so the next call opens a
/// new one.
fn forget(slot: &Slot, generation: Option<u64>) {
    let mut current = lock(&slot.sender);
    if generation.is_some_and(|g| current.as_ref().is_some_and(|(c, _)| *c == g)) {
        *current = None;
    }
}

/// The `grpc-timeout` header for `timeout`: at most 8 digits and a unit.
fn grpc_timeout(timeout: Duration) -> String {
    let millis = timeout.as_millis();
    if millis < 100_000_000 {
        format!("{millis}m")
    } else {
        format!("{}S", timeout.as_secs().min(99_999_999))
    }
}

/// The gRPC code a non-200 HTTP status stands for (gRPC's "HTTP to gRPC status code mapping").
fn code_of_http_status(status: u16) -> &'static str {
    match status {
        400 => "internal",
        401 => "unauthenticated",
        403 => "permission_denied",
        404 => "unimplemented",
        429 | 502 | 503 | 504 => "unavailable",
        _ => "unknown",
    }
}

/// The gRPC code an HTTP/2 reset or GOAWAY stands for (gRPC's HTTP/2 error code mapping).
fn code_of_reset(reason: h2::Reason) -> &'static str {
    match reason {
        // NO_ERROR: a graceful GOAWAY that the stream could not outlive.
        h2::Reason::REFUSED_STREAM | h2::Reason::NO_ERROR => "unavailable",
        h2::Reason::CANCEL => "cancelled",
        h2::Reason::ENHANCE_YOUR_CALM => "resource_exhausted",
        h2::Reason::INADEQUATE_SECURITY => "permission_denied",
        _ => "internal",
    }
}

/// `grpc-message` is percent-encoded UTF-8.
fn percent_decode(raw: &[u8]) -> String {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (raw[i], raw.get(i + 1).copied(), raw.get(i + 2).copied()) {
            (b'%', Some(h), Some(l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push((hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0)) as u8);
                i += 3;
            }
            (byte, _, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_messages_are_percent_decoded() {
        assert_eq!(
            percent_decode(b"model%20nope%20not%20found%3A 100%"),
            "model nope not found: 100%"
        );
    }

    #[test]
    fn timeouts_fit_the_header_grammar() {
        assert_eq!(grpc_timeout(Duration::from_secs(5)), "5000m");
        assert_eq!(grpc_timeout(Duration::from_secs(1_000_000)), "1000000S");
    }

    #[test]
    fn only_plain_http_gets_the_direct_path_and_the_frame_is_prefixed() {
        let call = GrpcH2::new(
            "http://127.0.0.1:8001",
            b"abc",
            &[],
            Duration::from_secs(1),
            1,
        )
        .expect("plain http");
        assert_eq!(&call.frame[..], b"\0\0\0\0\x03abc");
        assert_eq!(call.authority, "127.0.0.1:8001");
        assert_eq!(
            call.uri.to_string(),
            "http://127.0.0.1:8001/inference.GRPCInferenceService/ModelInfer"
        );
        assert!(GrpcH2::new(
            "https://127.0.0.1:8001",
            b"",
            &[],
            Duration::from_secs(1),
            1
        )
        .is_none());
    }
}
