//! The Open Inference Protocol's REST bodies: JSON tensors and the binary tensor data extension
//! (`binary_data_size`, `Inference-Header-Content-Length`), both ways. Requests are encoded once
//! before a run; responses are checked cheaply (element counts, not values) on every request.

use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::ser::{SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::request::{ExpectedOutput, InferRequest};
use super::tensor::{split_bytes_elements, Datatype, Tensor};

/// The header that gives the length of the JSON part of a binary-extension body.
pub const HEADER_LENGTH: &str = "inference-header-content-length";

/// Serializes a tensor's raw bytes as the flat JSON `data` array of its datatype.
struct JsonData<'a>(&'a Tensor);

impl Serialize for JsonData<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let tensor = self.0;
        let raw = tensor.raw();
        let mut seq = serializer.serialize_seq(None)?;
        macro_rules! each {
            ($ty:ty, $n:expr) => {
                for chunk in raw.chunks_exact($n) {
                    let bytes: [u8; $n] = chunk.try_into().map_err(serde::ser::Error::custom)?;
                    seq.serialize_element(&<$ty>::from_le_bytes(bytes))?;
                }
            };
        }
        match tensor.datatype() {
            Datatype::Bool => {
                for &byte in raw {
                    seq.serialize_element(&(byte != 0))?;
                }
            }
            Datatype::Uint8 => each!(u8, 1),
            Datatype::Uint16 => each!(u16, 2),
            Datatype::Uint32 => each!(u32, 4),
            Datatype::Uint64 => each!(u64, 8),
            Datatype::Int8 => each!(i8, 1),
            Datatype::Int16 => each!(i16, 2),
            Datatype::Int32 => each!(i32, 4),
            Datatype::Int64 => each!(i64, 8),
            Datatype::Fp32 => each!(f32, 4),
            Datatype::Fp64 => each!(f64, 8),
            Datatype::Fp16 => {
                return Err(serde::ser::Error::custom(format!(
                    "tensor `{}` is FP16, which JSON cannot carry; use the binary protocol",
                    tensor.name()
                )))
            }
            Datatype::Bytes => {
                for element in split_bytes_elements(raw).map_err(serde::ser::Error::custom)? {
                    seq.serialize_element(&String::from_utf8_lossy(element))?;
                }
            }
        }
        seq.end()
    }
}

fn requested_outputs(request: &InferRequest<'_>, binary: bool) -> Option<Value> {
    if request.outputs.is_empty() {
        return None;
    }
    let outputs = request
        .outputs
        .iter()
        .map(|name| {
            if binary {
                json!({"name": name, "parameters": {"binary_data": true}})
            } else {
                json!({"name": name})
            }
        })
        .collect();
    Some(Value::Array(outputs))
}

/// The V2 JSON request body for the request's inputs.
pub fn encode_json_request(request: &InferRequest<'_>) -> Result<Vec<u8>, String> {
    #[derive(Serialize)]
    struct Input<'a> {
        name: &'a str,
        shape: &'a [i64],
        datatype: &'a str,
        data: JsonData<'a>,
    }
    #[derive(Serialize)]
    struct Request<'a> {
        inputs: Vec<Input<'a>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        outputs: Option<Value>,
    }
    let body = Request {
        inputs: request
            .inputs
            .iter()
            .map(|t| Input {
                name: t.name(),
                shape: t.shape(),
                datatype: t.datatype().as_str(),
                data: JsonData(t),
            })
            .collect(),
        outputs: requested_outputs(request, false),
    };
    serde_json::to_vec(&body).map_err(|e| e.to_string())
}

/// The binary-extension request body and the length of its JSON header.
pub fn encode_binary_request(request: &InferRequest<'_>) -> Result<(Vec<u8>, usize), String> {
    let inputs: Vec<Value> = request
        .inputs
        .iter()
        .map(|t| {
            json!({
                "name": t.name(),
                "shape": t.shape(),
                "datatype": t.datatype().as_str(),
                "parameters": {"binary_data_size": t.raw().len()},
            })
        })
        .collect();
    let mut header = Map::new();
    header.insert("inputs".into(), Value::Array(inputs));
    match requested_outputs(request, true) {
        Some(outputs) => {
            header.insert("outputs".into(), outputs);
        }
        None => {
            header.insert("parameters".into(), json!({"binary_data_output": true}));
        }
    }
    let mut body = serde_json::to_vec(&Value::Object(header)).map_err(|e| e.to_string())?;
    let header_len = body.len();
    for tensor in request.inputs {
        body.extend_from_slice(tensor.raw());
    }
    Ok((body, header_len))
}

/// Counts the leaf values of a (possibly nested) JSON array without keeping them.
#[derive(Debug, Default, Clone, Copy)]
struct LeafCount(u64);

impl<'de> Deserialize<'de> for LeafCount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Count;
        impl<'de> Visitor<'de> for Count {
            type Value = LeafCount;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a tensor data array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<LeafCount, A::Error> {
                let mut total = 0;
                while let Some(LeafCount(n)) = seq.next_element::<LeafCount>()? {
                    total += n;
                }
                Ok(LeafCount(total))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<LeafCount, E> {
                Ok(LeafCount(1))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<LeafCount, E> {
                Ok(LeafCount(1))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<LeafCount, E> {
                Ok(LeafCount(1))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<LeafCount, E> {
                Ok(LeafCount(1))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<LeafCount, E> {
                Ok(LeafCount(1))
            }
        }
        deserializer.deserialize_any(Count)
    }
}

#[derive(Deserialize)]
struct ResponseParameters {
    #[serde(default)]
    binary_data_size: Option<u64>,
}

#[derive(Deserialize)]
struct ResponseOutput {
    name: String,
    shape: Vec<i64>,
    datatype: String,
    #[serde(default)]
    parameters: Option<ResponseParameters>,
    #[serde(default)]
    data: Option<LeafCount>,
}

#[derive(Deserialize)]
struct InferResponse {
    outputs: Vec<ResponseOutput>,
}

/// Checks a REST infer response body. `header_len` is the `Inference-Header-Content-Length`
/// value when the server answered in binary form.
pub fn check_response(
    body: &[u8],
    header_len: Option<usize>,
    expected: &[ExpectedOutput],
) -> Result<(), String> {
    let (json_part, binary_part) = match header_len {
        Some(len) if len <= body.len() => body.split_at(len),
        Some(len) => {
            return Err(format!(
                "inference header length {len} exceeds the {}-byte body",
                body.len()
            ))
        }
        None => (body, &[][..]),
    };
    let response: InferResponse = serde_json::from_slice(json_part)
        .map_err(|e| format!("not an Open Inference Protocol response: {e}"))?;
    let mut binary_total = 0u64;
    for output in &response.outputs {
        let (elements, datatype) = output_header(&output.name, &output.shape, &output.datatype)?;
        match (
            output.parameters.as_ref().and_then(|p| p.binary_data_size),
            output.data,
        ) {
            (Some(size), _) => {
                if let Some(element) = datatype.element_size() {
                    if size != elements * element as u64 {
                        return Err(format!(
                            "output `{}`: binary_data_size {size} does not fit shape {:?} of {datatype}",
                            output.name, output.shape
                        ));
                    }
                }
                binary_total += size;
            }
            (None, Some(LeafCount(count))) => {
                if count != elements {
                    return Err(format!(
                        "output `{}`: {count} values for shape {:?}",
                        output.name, output.shape
                    ));
                }
            }
            (None, None) => return Err(format!("output `{}` has no data", output.name)),
        }
    }
    if binary_total != binary_part.len() as u64 {
        return Err(format!(
            "binary outputs declare {binary_total} bytes but {} follow the header",
            binary_part.len()
        ));
    }
    check_expected(
        expected,
        response
            .outputs
            .iter()
            .map(|o| (o.name.as_str(), o.shape.as_slice())),
    )
}

/// An output's element count and datatype, checked the same way for REST and gRPC responses:
/// no negative dimension, a known datatype.
pub(crate) fn output_header(
    name: &str,
    shape: &[i64],
    datatype: &str,
) -> Result<(u64, Datatype), String> {
    if shape.iter().any(|&d| d < 0) {
        return Err(format!("output `{name}` has a negative dimension"));
    }
    let elements = shape.iter().map(|&d| d as u64).product();
    let datatype = Datatype::parse(datatype)
        .ok_or_else(|| format!("output `{name}` has unknown datatype `{datatype}`"))?;
    Ok((elements, datatype))
}

/// Checks that every expected output is present, with its shape when one is given.
pub fn check_expected<'a>(
    expected: &[ExpectedOutput],
    outputs: impl Iterator<Item = (&'a str, &'a [i64])> + Clone,
) -> Result<(), String> {
    for want in expected {
        let Some((_, shape)) = outputs.clone().find(|(name, _)| *name == want.name) else {
            return Err(format!("the response has no output `{}`", want.name));
        };
        if let Some(want_shape) = &want.shape {
            if want_shape.as_slice() != shape {
                return Err(format!(
                    "output `{}` has shape {shape:?}, expected {want_shape:?}",
                    want.name
                ));
            }
        }
    }
    Ok(())
}

/// A decoded inference request, as the reference server sees it.
#[derive(Debug)]
pub struct DecodedRequest {
    /// The request's `id`, echoed in the response.
    pub id: Option<String>,
    /// The input tensors, checked against their shapes.
    pub inputs: Vec<Tensor>,
    /// Output names asked for (empty: all), and whether outputs should be binary.
    pub outputs: Vec<String>,
    /// Whether outputs go back in the binary tensor data extension (asked for per request or
    /// per output).
    pub binary_outputs: bool,
}

/// Decodes a V2 REST request body (JSON, or binary extension when `header_len` is given).
pub fn decode_request(body: &[u8], header_len: Option<usize>) -> Result<DecodedRequest, String> {
    let (json_part, mut binary) = match header_len {
        Some(len) if len <= body.len() => body.split_at(len),
        Some(len) => {
            return Err(format!(
                "Inference-Header-Content-Length {len} exceeds the {}-byte body",
                body.len()
            ))
        }
        None => (body, &[][..]),
    };
    let request: Value =
        serde_json::from_slice(json_part).map_err(|e| format!("malformed JSON request: {e}"))?;
    let inputs_json = request
        .get("inputs")
        .and_then(Value::as_array)
        .ok_or("the request has no `inputs` array")?;
    let mut inputs = Vec::with_capacity(inputs_json.len());
    for input in inputs_json {
        let name = input
            .get("name")
            .and_then(Value::as_str)
            .ok_or("an input has no `name`")?;
        let datatype_text = input
            .get("datatype")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("input `{name}` has no `datatype`"))?;
        let datatype = Datatype::parse(datatype_text)
            .ok_or_else(|| format!("input `{name}` has unknown datatype `{datatype_text}`"))?;
        let shape: Vec<i64> = input
            .get("shape")
            .and_then(Value::as_array)
            .ok_or_else(|| format!("input `{name}` has no `shape`"))?
            .iter()
            .map(|d| {
                d.as_i64()
                    .ok_or_else(|| format!("input `{name}` has a non-integer dimension"))
            })
            .collect::<Result<_, _>>()?;
        let binary_size = input
            .get("parameters")
            .and_then(|p| p.get("binary_data_size"))
            .and_then(Value::as_u64);
        let raw = match (binary_size, input.get("data")) {
            (Some(size), _) => {
                let size = usize::try_from(size).map_err(|e| e.to_string())?;
                if size > binary.len() {
                    return Err(format!(
                        "input `{name}` declares {size} binary bytes but {} remain",
                        binary.len()
                    ));
                }
                let (mine, rest) = binary.split_at(size);
                binary = rest;
                mine.to_vec()
            }
            (None, Some(data)) => json_to_raw(name, datatype, data)?,
            (None, None) => return Err(format!("input `{name}` has no `data`")),
        };
        inputs.push(Tensor::from_raw(name, datatype, shape, raw).map_err(|e| e.to_string())?);
    }
    let mut binary_outputs = request
        .pointer("/parameters/binary_data_output")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let mut outputs = Vec::new();
    if let Some(requested) = request.get("outputs").and_then(Value::as_array) {
        for output in requested {
            if let Some(name) = output.get("name").and_then(Value::as_str) {
                outputs.push(name.to_string());
            }
            if output
                .pointer("/parameters/binary_data")
                .and_then(Value::as_bool)
                == Some(true)
            {
                binary_outputs = true;
            }
        }
    }
    Ok(DecodedRequest {
        id: request
            .get("id")
            .and_then(Value::as_str)
            .map(str::to_string),
        inputs,
        outputs,
        binary_outputs,
    })
}

fn json_to_raw(name: &str, datatype: Datatype, data: &Value) -> Result<Vec<u8>, String> {
    let mut leaves = Vec::new();
    flatten(data, &mut leaves);
    let bad = |value: &Value| format!("input `{name}`: `{value}` is not a {datatype} value");
    let mut raw = Vec::with_capacity(leaves.len() * datatype.element_size().unwrap_or(8));
    for value in leaves {
        match datatype {
            Datatype::Bool => raw.push(value.as_bool().ok_or_else(|| bad(value))? as u8),
            Datatype::Uint8 | Datatype::Uint16 | Datatype::Uint32 | Datatype::Uint64 => {
                let v = value.as_u64().ok_or_else(|| bad(value))?;
                let size = datatype.element_size().unwrap_or(8);
                raw.extend_from_slice(&v.to_le_bytes()[..size]);
            }
            Datatype::Int8 | Datatype::Int16 | Datatype::Int32 | Datatype::Int64 => {
                let v = value.as_i64().ok_or_else(|| bad(value))?;
                let size = datatype.element_size().unwrap_or(8);
                raw.extend_from_slice(&v.to_le_bytes()[..size]);
            }
            Datatype::Fp32 => raw.extend_from_slice(
                &(value.as_f64().ok_or_else(|| bad(value))? as f32).to_le_bytes(),
            ),
            Datatype::Fp64 => {
                raw.extend_from_slice(&value.as_f64().ok_or_else(|| bad(value))?.to_le_bytes())
            }
            Datatype::Fp16 => return Err(format!("input `{name}`: FP16 cannot travel as JSON")),
            Datatype::Bytes => {
                let text = value.as_str().ok_or_else(|| bad(value))?;
                raw.extend_from_slice(&(text.len() as u32).to_le_bytes());
                raw.extend_from_slice(text.as_bytes());
            }
        }
    }
    Ok(raw)
}

fn flatten<'a>(value: &'a Value, out: &mut Vec<&'a Value>) {
    match value {
        Value::Array(items) => items.iter().for_each(|item| flatten(item, out)),
        leaf => out.push(leaf),
    }
}

/// Encodes a V2 REST response; returns the body and, for binary outputs, the JSON header length.
pub fn encode_response(
    model: &str,
    id: Option<&str>,
    outputs: &[Tensor],
    binary: bool,
) -> Result<(Vec<u8>, Option<usize>), String> {
    let mut outputs_json = Vec::with_capacity(outputs.len());
    for tensor in outputs {
        let mut output = Map::new();
        output.insert("name".into(), json!(tensor.name()));
        output.insert("shape".into(), json!(tensor.shape()));
        output.insert("datatype".into(), json!(tensor.datatype().as_str()));
        if binary {
            output.insert(
                "parameters".into(),
                json!({"binary_data_size": tensor.raw().len()}),
            );
        } else {
            output.insert(
                "data".into(),
                serde_json::to_value(JsonData(tensor)).map_err(|e| e.to_string())?,
            );
        }
        outputs_json.push(Value::Object(output));
    }
    let mut response = Map::new();
    response.insert("model_name".into(), json!(model));
    if let Some(id) = id {
        response.insert("id".into(), json!(id));
    }
    response.insert("outputs".into(), Value::Array(outputs_json));
    let mut body = serde_json::to_vec(&Value::Object(response)).map_err(|e| e.to_string())?;
    if !binary {
        return Ok((body, None));
    }
    let header_len = body.len();
    for tensor in outputs {
        body.extend_from_slice(tensor.raw());
    }
    Ok((body, Some(header_len)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote::oip::InferRequest;

    fn inputs() -> Vec<Tensor> {
        vec![
            Tensor::fp32("INPUT0", [2, 2], &[1.0, 2.5, -3.0, 0.1]).unwrap(),
            Tensor::int64("INPUT1", [1], &[9_007_199_254_740_993]).unwrap(),
        ]
    }

    fn request(inputs: &[Tensor]) -> InferRequest<'_> {
        InferRequest {
            model: "m",
            version: None,
            inputs,
            outputs: &[],
        }
    }

    #[test]
    fn json_requests_round_trip() {
        let body = encode_json_request(&request(&inputs())).unwrap();
        let text = String::from_utf8(body.clone()).unwrap();
        assert!(text.contains(r#""data":[1.0,2.5,-3.0,0.1]"#), "{text}");
        let decoded = decode_request(&body, None).unwrap();
        assert_eq!(decoded.inputs, inputs());
        assert!(!decoded.binary_outputs);
    }

    #[test]
    fn binary_requests_round_trip() {
        let (body, header_len) = encode_binary_request(&request(&inputs())).unwrap();
        assert_eq!(body.len(), header_len + 16 + 8);
        let decoded = decode_request(&body, Some(header_len)).unwrap();
        assert_eq!(decoded.inputs, inputs());
        assert!(decoded.binary_outputs);
        assert!(decode_request(&body, Some(body.len() + 1)).is_err());
        assert!(decode_request(&body[..body.len() - 1], Some(header_len)).is_err());
    }

    #[test]
    fn responses_are_checked() {
        let outputs = inputs();
        let expected = [ExpectedOutput {
            name: "INPUT0".into(),
            shape: Some(vec![2, 2]),
        }];
        let (json_body, none) = encode_response("m", Some("7"), &outputs, false).unwrap();
        assert_eq!(none, None);
        check_response(&json_body, None, &expected).unwrap();
        let (binary_body, header_len) = encode_response("m", None, &outputs, true).unwrap();
        check_response(&binary_body, header_len, &expected).unwrap();

        let truncated = &binary_body[..binary_body.len() - 3];
        assert!(check_response(truncated, header_len, &expected)
            .unwrap_err()
            .contains("follow the header"));
        let wrong_shape = [ExpectedOutput {
            name: "INPUT0".into(),
            shape: Some(vec![4]),
        }];
        assert!(check_response(&json_body, None, &wrong_shape)
            .unwrap_err()
            .contains("expected [4]"));
        assert!(check_response(b"<html>busy</html>", None, &[])
            .unwrap_err()
            .starts_with("not an Open Inference Protocol response"));
        assert!(check_response(
            br#"{"outputs":[{"name":"y","shape":[3],"datatype":"FP32","data":[1,2]}]}"#,
            None,
            &[]
        )
        .unwrap_err()
        .contains("2 values for shape [3]"));
        // Nested data counts its leaves.
        check_response(
            br#"{"outputs":[{"name":"y","shape":[2,2],"datatype":"INT32","data":[[1,2],[3,4]]}]}"#,
            None,
            &[],
        )
        .unwrap();
    }
}
