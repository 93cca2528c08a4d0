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
use crate::remote::endpoint::{EndpointError, ExpectedOutput, Protocol};
use crate::remote::error::{snippet, ErrorClass, RequestError};
use crate::remote::oip::{grpc, proto, v2};

/// A boxed future, so transports can sit behind one trait object.
pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why a client could not be built (before any request).
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{0}")]
    Endpoint(#[from] EndpointError),
    #[error("cannot encode the request for model `{model}`: {message}")]
    Encode { model: String, message: String },
    #[error("cannot set up the {protocol} client for {url}: {message}")]
    Setup {
        protocol: Protocol,
        url: String,
        message: String,
    },
}

/// A tensor's description from model metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorInfo {
    pub name: String,
    pub datatype: String,
    pub shape: Vec<i64>,
}

/// A model's metadata (`GET /v2/models/{m}` or gRPC `ModelMetadata`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelMetadata {
    pub name: String,
    /// The versions the server offers (may be empty).
    pub versions: Vec<String>,
    pub platform: String,
    pub inputs: Vec<TensorInfo>,
    pub outputs: Vec<TensorInfo>,
}

/// The server's own metadata (`GET /v2` or gRPC `ServerMetadata`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerMetadata {
    pub name: String,
    pub version: String,
    pub extensions: Vec<String>,
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
            let shown = http::StatusCode::from_u16(status)
                .map(|s| s.to_string())
                .unwrap_or_else(|_| status.to_string());
            return Err(RequestError::new(
                ErrorClass::HttpStatus(status),
                format!("HTTP {shown} from {infer_url}: {}", snippet(body, 200)),
            ));
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
