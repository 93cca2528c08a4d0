//! V2 endpoints (KServe / Triton's Open Inference Protocol): the constructors, over REST JSON,
//! REST with the binary tensor extension or gRPC, and the options only a V2 request has — model
//! version, input tensors, outputs asked for and expected, where Triton's statistics are read,
//! and the V2 reference server.

use super::request::{V2Protocol, V2Request};
use super::shared::{Endpoint, Reference, DEFAULT_TIMEOUT};
use crate::remote::oip::{ExpectedOutput, InferRequest, Tensor};
use crate::remote::reference::ReferenceConfig;

impl Endpoint<V2Request> {
    fn new_v2(protocol: V2Protocol, model: impl Into<String>) -> Self {
        Endpoint::with_common(
            V2Request {
                protocol,
                model: model.into(),
                model_version: None,
                inputs: Vec::new(),
                requested_outputs: Vec::new(),
                expected_outputs: Vec::new(),
                stats_url: None,
            },
            DEFAULT_TIMEOUT,
        )
    }

    fn change(mut self, change: impl FnOnce(&mut V2Request)) -> Self {
        change(&mut self.request);
        self
    }

    /// Open Inference Protocol REST with JSON tensors.
    pub fn rest(model: impl Into<String>) -> Self {
        Endpoint::new_v2(V2Protocol::RestJson, model)
    }

    /// Open Inference Protocol REST with the binary tensor data extension.
    pub fn rest_binary(model: impl Into<String>) -> Self {
        Endpoint::new_v2(V2Protocol::RestBinary, model)
    }

    /// Open Inference Protocol gRPC.
    pub fn grpc(model: impl Into<String>) -> Self {
        Endpoint::new_v2(V2Protocol::Grpc, model)
    }

    /// The same endpoint over another V2 protocol (for REST-vs-gRPC pairs).
    pub fn with_protocol(self, protocol: V2Protocol) -> Self {
        self.change(|request| request.protocol = protocol)
    }

    /// Starts this V2 reference server in-process (ephemeral 127.0.0.1 ports) when no URL is
    /// given ([`url_from_env`](Self::url_from_env) still wins when its variable is set).
    pub fn reference(mut self, config: ReferenceConfig) -> Self {
        self.common.reference = Some(Reference::V2(config));
        self
    }

    /// Addresses this version of the model (default: the server's choice).
    pub fn model_version(self, version: impl Into<String>) -> Self {
        let version = version.into();
        self.change(|request| request.model_version = Some(version))
    }

    /// Adds an input tensor sent with every request; a V2 endpoint needs at least one.
    pub fn input(self, tensor: Tensor) -> Self {
        self.change(|request| request.inputs.push(tensor))
    }

    /// Asks for this output by name; without any, the server returns every output.
    pub fn request_output(self, name: impl Into<String>) -> Self {
        let name = name.into();
        self.change(|request| request.requested_outputs.push(name))
    }

    /// Every response must carry this output; a missing one counts as a decode error.
    pub fn expect_output(self, name: impl Into<String>) -> Self {
        let expected = ExpectedOutput {
            name: name.into(),
            shape: None,
        };
        self.change(|request| request.expected_outputs.push(expected))
    }

    /// Every response must carry this output with exactly this shape.
    pub fn expect_output_shape(self, name: impl Into<String>, shape: impl Into<Vec<i64>>) -> Self {
        let expected = ExpectedOutput {
            name: name.into(),
            shape: Some(shape.into()),
        };
        self.change(|request| request.expected_outputs.push(expected))
    }

    /// The request as the protocol codecs encode it (`remote::oip`): what every request of
    /// this endpoint sends, e.g. to give a peer tool the same body.
    pub fn infer_request(&self) -> InferRequest<'_> {
        self.request.infer_request()
    }

    /// Read the server's statistics (Triton's extension) from this REST base URL, e.g. a gRPC
    /// endpoint's server at `http://host:8000`.
    pub fn stats_url(self, url: impl Into<String>) -> Self {
        let url = url.into();
        self.change(|request| request.stats_url = Some(url))
    }
}
