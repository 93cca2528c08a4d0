//! The V2 gRPC `ModelInfer` call as a client sends and checks it: the method's path, the request
//! encoded once (inputs in `raw_input_contents`), and a response's outputs checked against their
//! shapes and the outputs expected.

use bytes::Bytes;

use super::proto;
use super::request::{ExpectedOutput, InferRequest};
use super::v2;

pub(crate) const MODEL_INFER: &str = "/inference.GRPCInferenceService/ModelInfer";

/// The `ModelInferRequest` a gRPC client sends for `request` (inputs in `raw_input_contents`).
pub fn encode_grpc_request(request: &InferRequest<'_>) -> proto::ModelInferRequest {
    proto::ModelInferRequest {
        model_name: request.model.to_string(),
        model_version: request.version.unwrap_or_default().to_string(),
        inputs: request
            .inputs
            .iter()
            .map(|t| proto::model_infer_request::InferInputTensor {
                name: t.name().to_string(),
                datatype: t.datatype().as_str().to_string(),
                shape: t.shape().to_vec(),
                ..Default::default()
            })
            .collect(),
        outputs: request
            .outputs
            .iter()
            .map(
                |name| proto::model_infer_request::InferRequestedOutputTensor {
                    name: name.clone(),
                    ..Default::default()
                },
            )
            .collect(),
        raw_input_contents: request
            .inputs
            .iter()
            .map(|t| Bytes::copy_from_slice(t.raw()))
            .collect(),
        ..Default::default()
    }
}

/// Checks a gRPC infer response: every output's data (raw or typed) fits its shape.
pub(crate) fn check_grpc_response(
    response: &proto::ModelInferResponse,
    expected: &[ExpectedOutput],
) -> Result<(), String> {
    let raw = &response.raw_output_contents;
    if !raw.is_empty() && raw.len() != response.outputs.len() {
        return Err(format!(
            "{} raw output contents for {} outputs",
            raw.len(),
            response.outputs.len()
        ));
    }
    for (index, output) in response.outputs.iter().enumerate() {
        let (elements, datatype) =
            v2::output_header(&output.name, &output.shape, &output.datatype)?;
        if let Some(bytes) = raw.get(index) {
            if let Some(size) = datatype.element_size() {
                if bytes.len() as u64 != elements * size as u64 {
                    return Err(format!(
                        "output `{}`: {} raw bytes for shape {:?} of {datatype}",
                        output.name,
                        bytes.len(),
                        output.shape
                    ));
                }
            }
        } else {
            let count = output.contents.as_ref().map(contents_len).unwrap_or(0);
            if count != elements {
                return Err(format!(
                    "output `{}`: {count} values for shape {:?}",
                    output.name, output.shape
                ));
            }
        }
    }
    v2::check_expected(
        expected,
        response
            .outputs
            .iter()
            .map(|o| (o.name.as_str(), o.shape.as_slice())),
    )
}

fn contents_len(contents: &proto::InferTensorContents) -> u64 {
    (contents.bool_contents.len()
        + contents.int_contents.len()
        + contents.int64_contents.len()
        + contents.uint_contents.len()
        + contents.uint64_contents.len()
        + contents.fp32_contents.len()
        + contents.fp64_contents.len()
        + contents.bytes_contents.len()) as u64
}
