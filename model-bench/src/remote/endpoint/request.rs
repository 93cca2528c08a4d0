//! The request of each kind of endpoint, as plain data: a V2 inference request ([`V2Request`]),
//! an OpenAI-compatible streamed one ([`OpenAiRequest`]), a fixed POST ([`PostRequest`]), and
//! [`AnyRequest`], which holds any of them; the [`Request`] trait they share. What the builders
//! in `v2.rs`, `openai.rs` and `post.rs` fill in, and what the client encodes.

use std::fmt;

use super::error::EndpointError;
use crate::remote::llm::LlmRequest;
use crate::remote::oip::{ExpectedOutput, InferRequest, Tensor};
use crate::results::Protocol;

/// A kind of endpoint request: [`V2Request`], [`OpenAiRequest`], [`PostRequest`] or
/// [`AnyRequest`]. Sealed: the runner knows how to send exactly these.
pub trait Request: Clone + fmt::Debug + Into<AnyRequest> + sealed::Sealed {
    /// How requests of this kind are sent.
    fn protocol(&self) -> Protocol;
    /// What the results call it: the model's name (a POST's path).
    fn name(&self) -> &str;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::V2Request {}
    impl Sealed for super::OpenAiRequest {}
    impl Sealed for super::PostRequest {}
    impl Sealed for super::AnyRequest {}
}

/// The request of an endpoint of any kind.
#[derive(Debug, Clone, PartialEq)]
pub enum AnyRequest {
    /// An Open Inference Protocol request.
    V2(V2Request),
    /// An OpenAI-compatible streamed request.
    OpenAi(OpenAiRequest),
    /// A fixed body POSTed to a path.
    Post(PostRequest),
}

impl Request for AnyRequest {
    fn protocol(&self) -> Protocol {
        match self {
            AnyRequest::V2(request) => request.protocol(),
            AnyRequest::OpenAi(request) => request.protocol(),
            AnyRequest::Post(request) => request.protocol(),
        }
    }

    fn name(&self) -> &str {
        match self {
            AnyRequest::V2(request) => request.name(),
            AnyRequest::OpenAi(request) => request.name(),
            AnyRequest::Post(request) => request.name(),
        }
    }
}

/// How a V2 endpoint's requests are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum V2Protocol {
    /// REST with JSON tensors (`POST /v2/models/{m}/infer`).
    RestJson,
    /// REST with the binary tensor data extension.
    RestBinary,
    /// gRPC (`inference.GRPCInferenceService/ModelInfer`).
    Grpc,
}

impl From<V2Protocol> for Protocol {
    fn from(protocol: V2Protocol) -> Protocol {
        match protocol {
            V2Protocol::RestJson => Protocol::RestJson,
            V2Protocol::RestBinary => Protocol::RestBinary,
            V2Protocol::Grpc => Protocol::Grpc,
        }
    }
}

impl fmt::Display for V2Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Protocol::from(*self).fmt(f)
    }
}

/// The request of a V2 endpoint: one inference request, encoded once before the run.
#[derive(Debug, Clone, PartialEq)]
pub struct V2Request {
    pub(crate) protocol: V2Protocol,
    pub(crate) model: String,
    pub(crate) model_version: Option<String>,
    pub(crate) inputs: Vec<Tensor>,
    pub(crate) requested_outputs: Vec<String>,
    pub(crate) expected_outputs: Vec<ExpectedOutput>,
    /// The REST base URL Triton's statistics extension is read from (default: a REST
    /// endpoint's own URL, or a gRPC endpoint's channel).
    pub(crate) stats_url: Option<String>,
}

impl V2Request {
    /// The request as the protocol codecs take it.
    pub(crate) fn infer_request(&self) -> InferRequest<'_> {
        InferRequest {
            model: &self.model,
            version: self.model_version.as_deref(),
            inputs: &self.inputs,
            outputs: &self.requested_outputs,
        }
    }

    /// A V2 request needs at least one input tensor.
    pub(crate) fn validate(&self) -> Result<(), EndpointError> {
        if self.inputs.is_empty() {
            return Err(EndpointError::NoInputs {
                protocol: self.protocol.into(),
                model: self.model.clone(),
            });
        }
        Ok(())
    }
}

impl Request for V2Request {
    fn protocol(&self) -> Protocol {
        self.protocol.into()
    }

    fn name(&self) -> &str {
        &self.model
    }
}

impl From<V2Request> for AnyRequest {
    fn from(request: V2Request) -> Self {
        AnyRequest::V2(request)
    }
}

/// Which OpenAI-compatible API an endpoint streams from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpenAiApi {
    /// `POST {url}/v1/chat/completions`: the prompt as one user message.
    Chat,
    /// `POST {url}/v1/completions`: the prompt as `prompt`.
    Completions,
}

/// The request of an OpenAI-compatible endpoint: the model, the API, and what each streamed
/// request asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenAiRequest {
    pub(crate) api: OpenAiApi,
    pub(crate) model: String,
    pub(crate) llm: LlmRequest,
}

#[cfg(feature = "remote")]
impl OpenAiRequest {
    /// What each request asks for.
    pub(crate) fn llm(&self) -> &LlmRequest {
        &self.llm
    }

    /// Whether requests go to the chat API.
    pub(crate) fn is_chat(&self) -> bool {
        self.api == OpenAiApi::Chat
    }
}

impl Request for OpenAiRequest {
    fn protocol(&self) -> Protocol {
        match self.api {
            OpenAiApi::Chat => Protocol::OpenAiChat,
            OpenAiApi::Completions => Protocol::OpenAiCompletions,
        }
    }

    fn name(&self) -> &str {
        &self.model
    }
}

impl From<OpenAiRequest> for AnyRequest {
    fn from(request: OpenAiRequest) -> Self {
        AnyRequest::OpenAi(request)
    }
}

/// The request of a POST endpoint: the path, and the body sent unchanged with every request.
#[derive(Debug, Clone, PartialEq)]
pub struct PostRequest {
    pub(crate) path: String,
    pub(crate) content_type: String,
    pub(crate) body: Vec<u8>,
}

impl Request for PostRequest {
    fn protocol(&self) -> Protocol {
        Protocol::HttpPost
    }

    fn name(&self) -> &str {
        &self.path
    }
}

impl From<PostRequest> for AnyRequest {
    fn from(request: PostRequest) -> Self {
        AnyRequest::Post(request)
    }
}
