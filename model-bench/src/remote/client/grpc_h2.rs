//! `ModelInfer` straight over our own HTTP/2 connections (`h2_conn.rs`): the request (header
//! block, gRPC prefix and protobuf) is encoded once, each call is handed to one connection's
//! task, which batches it with the others into one write, and the caller reads the `:status`,
//! `grpc-status` and message it gets back. tonic's channel puts a tower buffer task, a `ready()`
//! and a codec pipeline in front of every call, and the `h2` crate a lock per stream and one
//! write per request; this path is what `h2load` measures against. Plain `http://` only; TLS
//! endpoints keep the tonic channel.

use crate::sync::lock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use http::Uri;
use prost::Message;
use tokio::sync::{mpsc, oneshot};

use super::grpc_tonic::Tonic;
use super::h2_conn::{self, Call, Reply, Response, Wire};
use super::h2_frames::{Field, HeaderBlocks};
use super::transport::{BoxFuture, ModelMetadata, ServerMetadata, Transport};
use crate::remote::error::{ErrorClass, RequestError};
use crate::remote::oip::proto::{self, ModelInferResponse};

/// `ModelInfer` for one endpoint over one or more HTTP/2 connections.
pub(crate) struct GrpcH2 {
    wire: Arc<Wire>,
    /// Each connection's call channel; `None` or closed: the next call starts a connection.
    slots: Vec<Mutex<Option<mpsc::UnboundedSender<Call>>>>,
    next: AtomicUsize,
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
        let grpc_timeout = grpc_timeout(timeout);
        let names: Vec<String> = metadata
            .iter()
            .map(|(name, _)| name.to_ascii_lowercase())
            .collect();
        let valid = |name: &str, value: &str| {
            http::HeaderName::from_bytes(name.as_bytes()).is_ok()
                && http::HeaderValue::from_str(value).is_ok()
        };
        if names
            .iter()
            .zip(metadata)
            .any(|(name, (_, value))| !valid(name, value))
        {
            return None;
        }
        let mut fields = vec![
            Field::plain(":path", crate::remote::oip::grpc::MODEL_INFER),
            Field::plain(":authority", authority.as_str()),
            Field::plain("content-type", "application/grpc"),
            Field::plain("te", "trailers"),
            Field::plain(
                "user-agent",
                concat!("model-bench/", env!("CARGO_PKG_VERSION")),
            ),
            Field::plain("grpc-timeout", &grpc_timeout),
        ];
        // Metadata may carry credentials: never put into the server's HPACK table.
        fields.extend(
            names
                .iter()
                .zip(metadata)
                .map(|(name, (_, value))| Field::secret(name, value)),
        );
        let mut body = BytesMut::with_capacity(5 + message.len());
        body.put_u8(0);
        body.put_u32(u32::try_from(message.len()).ok()?);
        body.put_slice(message);
        Some(GrpcH2 {
            wire: Arc::new(Wire {
                authority: format!("{}:{port}", authority.host()),
                what: crate::remote::endpoint::redact_url(base_url),
                blocks: HeaderBlocks::new(&fields),
                body: body.freeze(),
                timeout,
            }),
            slots: (0..connections.max(1)).map(|_| Mutex::new(None)).collect(),
            next: AtomicUsize::new(0),
        })
    }

    /// One `ModelInfer` call: the decoded response, or the error of its class.
    pub(crate) async fn infer(&self) -> Result<ModelInferResponse, RequestError> {
        let slot = if self.slots.len() == 1 {
            &self.slots[0]
        } else {
            &self.slots[self.next.fetch_add(1, Ordering::Relaxed) % self.slots.len()]
        };
        let deadline = Instant::now() + self.wire.timeout;
        // A connection that is closing (GOAWAY, refused stream, closed before our request went
        // out) hands the call back: it goes once more, on a fresh connection.
        let mut retried = false;
        loop {
            let (reply, answer) = oneshot::channel();
            self.submit(slot, Call { reply, deadline });
            match answer.await {
                Ok(Reply::Answered(response)) => return self.read(response),
                Ok(Reply::Retry(_)) if !retried => retried = true,
                Ok(Reply::Retry(error) | Reply::Failed(error)) => return Err(error),
                Err(_) => {
                    return Err(self.wire.error(
                        ErrorClass::Io,
                        "the connection task ended without an answer",
                    ))
                }
            }
        }
    }

    /// Hands `call` to the slot's connection, starting one when there is none (or it closed).
    fn submit(&self, slot: &Mutex<Option<mpsc::UnboundedSender<Call>>>, call: Call) {
        let mut sender = lock(slot);
        let call = match sender.as_ref() {
            Some(open) => match open.send(call) {
                Ok(()) => return,
                Err(mpsc::error::SendError(call)) => call,
            },
            None => call,
        };
        let (calls, receiver) = mpsc::unbounded_channel();
        // A new channel's receiver is alive: this send cannot fail.
        let _ = calls.send(call);
        *sender = Some(calls);
        tokio::spawn(h2_conn::drive(Arc::clone(&self.wire), receiver));
    }

    /// The call's outcome from what the server sent.
    fn read(&self, response: Response) -> Result<ModelInferResponse, RequestError> {
        if response.status != 200 {
            if response.status == 0 {
                return Err(self.decode("the response has no :status"));
            }
            return Err(RequestError::new(
                ErrorClass::GrpcCode(code_of_http_status(response.status).into()),
                format!("{}: ModelInfer: HTTP {}", self.wire.what, response.status),
            ));
        }
        match response.grpc_status.as_deref() {
            None => Err(self.decode("the response ended without a grpc-status")),
            Some(status) => match self.status_error(status, response.grpc_message.as_deref()) {
                Some(error) => Err(error),
                None => self.decode_message(Bytes::from(response.body)),
            },
        }
    }

    fn status_error(&self, status: &[u8], message: Option<&[u8]>) -> Option<RequestError> {
        let code: i32 = match std::str::from_utf8(status)
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
        let message = message.map(percent_decode).unwrap_or_default();
        // The request carries `grpc-timeout`, so the server may end it first.
        let class = super::grpc_status::code_class(tonic_code, &message);
        Some(RequestError::new(
            class,
            format!(
                "{}: ModelInfer: {}: {message}",
                self.wire.what,
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
        self.wire.error(ErrorClass::Decode, message)
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
        let response = self.direct.infer().await?;
        self.probes.target().check_grpc(&response)
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

    fn server_metadata(&self) -> BoxFuture<'_, Result<ServerMetadata, RequestError>> {
        self.probes.server_metadata()
    }

    fn model_statistics(
        &self,
    ) -> Option<BoxFuture<'_, Result<proto::ModelStatisticsResponse, RequestError>>> {
        self.probes.model_statistics()
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
    fn only_plain_http_gets_the_direct_path_and_the_body_is_prefixed() {
        let call = GrpcH2::new(
            "http://127.0.0.1:8001",
            b"abc",
            &[],
            Duration::from_secs(1),
            1,
        )
        .expect("plain http");
        assert_eq!(&call.wire.body[..], b"\0\0\0\0\x03abc");
        assert_eq!(call.wire.authority, "127.0.0.1:8001");
        let headers = loona_hpack::Decoder::new()
            .decode(&call.wire.blocks.plain)
            .expect("a valid header block");
        let path = headers.iter().find(|(name, _)| name == b":path");
        assert_eq!(
            path.map(|(_, value)| &value[..]),
            Some(&b"/inference.GRPCInferenceService/ModelInfer"[..])
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
