//! The one seam every protocol client sits behind: [`Transport`] (one inference request, health,
//! model metadata, Triton's statistics) and [`Target`], what each transport knows about its
//! endpoint and how it checks a response. One file per transport implements it (`http1.rs`,
//! `rest_pool.rs`, `grpc_h2.rs`, `grpc_tonic.rs`); [`Client`](super::Client) holds one and never
//! asks which.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use super::http1_conn::Http1Conn;
use crate::remote::endpoint::EndpointError;
use crate::remote::error::{snippet, ErrorClass, RequestError};
use crate::remote::llm::{Dialogue, StreamRecord};
use crate::remote::oip::ExpectedOutput;
use crate::remote::oip::{grpc, proto, v2};
use crate::results::Protocol;

/// A boxed future, so transports can sit behind one trait object.
pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why a client could not be built (before any request).
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The endpoint or base URL is invalid, a header secret is unset, or the TLS CA file cannot
    /// be read.
    #[error("{0}")]
    Endpoint(#[from] EndpointError),
    /// The inputs cannot be encoded as a V2 REST request body (JSON or binary extension).
    #[error("cannot encode the request for model `{model}`: {message}")]
    Encode {
        /// The endpoint's model name.
        model: String,
        /// What the encoder reported.
        message: String,
    },
    /// An LLM endpoint's prompts could not be made: a dataset file that does not parse, a
    /// tokenizer that does not load.
    #[error("{0}")]
    Prompts(#[from] crate::remote::llm::PromptError),
    /// The HTTP or gRPC client could not be built (invalid URL or content type, unusable TLS CA,
    /// client construction failed).
    #[error("cannot set up the {protocol} client for {url}: {message}")]
    Setup {
        /// The endpoint's protocol.
        protocol: Protocol,
        /// The base URL, without user info or query string.
        url: String,
        /// What went wrong.
        message: String,
    },
}

/// A tensor's description from model metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorInfo {
    /// The tensor's name.
    pub name: String,
    /// The V2 datatype name, e.g. `FP32` (empty when the server gives none).
    pub datatype: String,
    /// The dimensions; `-1` marks a variable-size dimension.
    pub shape: Vec<i64>,
}

/// A model's metadata (`GET /v2/models/{m}` or gRPC `ModelMetadata`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelMetadata {
    /// The model's name as the server reports it.
    pub name: String,
    /// The versions the server offers (may be empty).
    pub versions: Vec<String>,
    /// The serving platform or backend, e.g. `onnxruntime_onnx` (empty when not given).
    pub platform: String,
    /// The model's input tensors.
    pub inputs: Vec<TensorInfo>,
    /// The model's output tensors.
    pub outputs: Vec<TensorInfo>,
    /// The longest sequence the model takes, in tokens, where the server lists it (vLLM's
    /// `max_model_len`, llama.cpp's `meta.n_ctx_train`).
    pub context_length: Option<u64>,
}

/// The server's own metadata (`GET /v2` or gRPC `ServerMetadata`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerMetadata {
    /// The server's name, e.g. `triton`.
    pub name: String,
    /// The server's version (empty when not given).
    pub version: String,
    /// The protocol extensions the server supports, e.g. `binary_tensor_data`.
    pub extensions: Vec<String>,
}

/// The error of a response from `url` whose status is not 2xx: `http_<status>`, with the start
/// of its body.
pub(crate) fn status_error(status: u16, body: &[u8], url: &str) -> RequestError {
    let shown = http::StatusCode::from_u16(status)
        .map(|s| s.to_string())
        .unwrap_or_else(|_| status.to_string());
    RequestError::new(
        ErrorClass::HttpStatus(status),
        format!("HTTP {shown} from {url}: {}", snippet(body, 200)),
    )
}

/// What one endpoint's requests go to and what their responses must hold.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub protocol: Protocol,
    /// `http(s)://host:port`, no trailing slash.
    pub base_url: String,
    pub model: String,
    pub version: Option<String>,
    pub expected: Arc<[ExpectedOutput]>,
    pub timeout: Duration,
}

impl Target {
    /// `{base}/v2/models/{model}[/versions/{version}]`.
    pub fn model_path(&self) -> String {
        let (base, model) = (&self.base_url, &self.model);
        match &self.version {
            Some(version) => format!("{base}/v2/models/{model}/versions/{version}"),
            None => format!("{base}/v2/models/{model}"),
        }
    }

    /// Why the client for this target could not be set up (the URL shown without secrets).
    pub fn setup_error(&self, message: String) -> ClientError {
        ClientError::Setup {
            protocol: self.protocol,
            url: crate::remote::endpoint::redact_url(&self.base_url),
            message,
        }
    }

    /// Checks a REST response: a 2xx status, then (for V2 endpoints) the V2 body.
    pub fn check_rest(
        &self,
        status: u16,
        header_len: Option<&[u8]>,
        body: &[u8],
        infer_url: &str,
    ) -> Result<(), RequestError> {
        if !(200..300).contains(&status) {
            return Err(status_error(status, body, infer_url));
        }
        if self.protocol == Protocol::HttpPost {
            return Ok(());
        }
        let header_len = header_len
            .map(|v| {
                std::str::from_utf8(v)
                    .ok()
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .ok_or_else(|| {
                        RequestError::new(
                            ErrorClass::Decode,
                            "Inference-Header-Content-Length is not a number",
                        )
                    })
            })
            .transpose()?;
        v2::check_response(body, header_len, &self.expected)
            .map_err(|message| RequestError::new(ErrorClass::Decode, message))
    }

    /// Checks a gRPC `ModelInfer` response's outputs.
    pub fn check_grpc(&self, response: &proto::ModelInferResponse) -> Result<(), RequestError> {
        grpc::check_grpc_response(response, &self.expected)
            .map_err(|message| RequestError::new(ErrorClass::Decode, message))
    }
}

/// A request of a schedule (an open loop's arrival), and its body when the transport made it
/// ready ahead of its send time.
pub struct Scheduled {
    pub(crate) index: u64,
    /// The encoded body and its prompt's counted tokens, or why it could not be made.
    pub(crate) body: Option<Result<(bytes::Bytes, u32), String>>,
}

/// One way of carrying an endpoint's requests: every method is one exchange with the server,
/// bounded by the endpoint's timeout.
pub(crate) trait Transport: Send + Sync {
    /// One inference request on a shared connection, its response checked.
    fn infer(&self) -> BoxFuture<'_, Result<(), RequestError>>;

    /// One inference request on a load worker's own connection, where this transport keeps one
    /// (bare HTTP/1.1); the others send it as [`infer`](Transport::infer) does.
    fn infer_on<'a>(&'a self, own: &'a mut Http1Conn) -> BoxFuture<'a, Result<(), RequestError>> {
        let _ = own;
        self.infer()
    }

    /// One request whose answer is a token stream, with the stream's figures, on the load
    /// worker's `own` connection where the transport keeps one; `None` for transports whose
    /// answers are not streams (every V2 one). `request` is its place in a schedule (a trace
    /// replay's row), `None` for the next in turn.
    fn infer_stream<'a>(
        &'a self,
        request: Option<Scheduled>,
        own: &'a mut Http1Conn,
    ) -> Option<BoxFuture<'a, Result<StreamRecord, RequestError>>> {
        let _ = (request, own);
        None
    }

    /// Whether requests are turns of conversations ([`converse`](Self::converse)).
    fn holds_conversations(&self) -> bool {
        false
    }

    /// Multi-turn endpoints: sends the next turn of `dialogue` — a new conversation when none
    /// is going on (number `start` of the load's schedule, else the next in turn) — and leaves
    /// the dialogue going on, its pause before the next turn due, or ended (its last turn
    /// answered, or this one failed), on the user's `own` connection where the transport keeps
    /// one. `None` for transports without conversations.
    fn converse<'a>(
        &'a self,
        dialogue: &'a mut Option<Dialogue>,
        start: Option<u64>,
        own: &'a mut Http1Conn,
    ) -> Option<BoxFuture<'a, Result<StreamRecord, RequestError>>> {
        let _ = (dialogue, start, own);
        None
    }

    /// Builds the next turn of `dialogue` ahead of its send (in the user's pause, so encoding
    /// a long history is not in the turn's latency); nothing for transports without
    /// conversations.
    fn prepare_turn(&self, dialogue: &mut Dialogue) {
        let _ = dialogue;
    }

    /// Request `index` of the schedule, made ready before it is due (a trace row's body, so
    /// making it is not part of its latency); the bare number for transports with nothing to
    /// make.
    fn prepare(&self, index: u64) -> Scheduled {
        Scheduled { index, body: None }
    }

    /// A trace replay's schedule: when each arrival is due from the run's start, and the last
    /// request; `None` for transports that do not replay one.
    fn schedule(&self) -> Option<crate::remote::llm::ReplaySchedule> {
        None
    }

    /// Server live, server ready and model ready; the first that fails is the error.
    fn health(&self) -> BoxFuture<'_, Result<(), RequestError>>;

    /// The model's metadata.
    fn metadata(&self) -> BoxFuture<'_, Result<ModelMetadata, RequestError>>;

    /// The server's metadata: name, version, protocol extensions.
    fn server_metadata(&self) -> BoxFuture<'_, Result<ServerMetadata, RequestError>>;

    /// Triton's statistics for the model over gRPC (`ModelStatistics`); `None` where the
    /// transport is REST, which reads them with a GET instead.
    fn model_statistics(
        &self,
    ) -> Option<BoxFuture<'_, Result<proto::ModelStatisticsResponse, RequestError>>> {
        None
    }
}
