//! One inference request as the protocol sees it ([`InferRequest`]: model, version, input tensors,
//! outputs asked for) and what its response must hold ([`ExpectedOutput`]). An `Endpoint` lends
//! its parts as an `InferRequest`, so the codecs never need the endpoint itself.

use super::tensor::Tensor;

/// The parts of an inference request the codecs encode.
#[derive(Debug, Clone, Copy)]
pub struct InferRequest<'a> {
    pub model: &'a str,
    pub version: Option<&'a str>,
    pub inputs: &'a [Tensor],
    /// Outputs asked for by name; empty asks for every output.
    pub outputs: &'a [String],
}

/// An output the response must contain, optionally with an exact shape.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectedOutput {
    pub name: String,
    pub shape: Option<Vec<i64>>,
}
