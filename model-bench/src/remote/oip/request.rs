//! One inference request as the protocol sees it ([`InferRequest`]: model, version, input tensors,
//! outputs asked for) and what its response must hold ([`ExpectedOutput`]). An `Endpoint` lends
//! its parts as an `InferRequest`, so the codecs never need the endpoint itself.

use super::tensor::Tensor;

/// The parts of an inference request the codecs encode.
#[derive(Debug, Clone, Copy)]
pub struct InferRequest<'a> {
    /// The model's name.
    pub model: &'a str,
    /// The model version to address; `None` lets the server choose.
    pub version: Option<&'a str>,
    /// The input tensors.
    pub inputs: &'a [Tensor],
    /// Outputs asked for by name; empty asks for every output.
    pub outputs: &'a [String],
}

/// An output the response must contain, optionally with an exact shape.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectedOutput {
    /// The output's name.
    pub name: String,
    /// The exact shape it must have; `None` accepts any shape.
    pub shape: Option<Vec<i64>>,
}
