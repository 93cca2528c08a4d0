//! Typed tensors for request payloads: a name, an Open Inference Protocol datatype, a shape and
//! little-endian row-major bytes, checked once when built so a bad payload fails before any load.

use std::fmt;
use std::path::Path;

/// The Open Inference Protocol tensor datatypes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Datatype {
    /// `BOOL`: one byte per element.
    Bool,
    /// `UINT8`: unsigned 8-bit integers.
    Uint8,
    /// `UINT16`: unsigned 16-bit integers.
    Uint16,
    /// `UINT32`: unsigned 32-bit integers.
    Uint32,
    /// `UINT64`: unsigned 64-bit integers.
    Uint64,
    /// `INT8`: signed 8-bit integers.
    Int8,
    /// `INT16`: signed 16-bit integers.
    Int16,
    /// `INT32`: signed 32-bit integers.
    Int32,
    /// `INT64`: signed 64-bit integers.
    Int64,
    /// `FP16`: IEEE 754 half-precision floats (2 bytes each).
    Fp16,
    /// `FP32`: IEEE 754 single-precision floats.
    Fp32,
    /// `FP64`: IEEE 754 double-precision floats.
    Fp64,
    /// Variable-length byte strings; raw form is each element as a 4-byte little-endian length
    /// followed by its bytes.
    Bytes,
}

impl Datatype {
    /// The protocol's name for the datatype, e.g. `FP32`.
    pub fn as_str(self) -> &'static str {
        match self {
            Datatype::Bool => "BOOL",
            Datatype::Uint8 => "UINT8",
            Datatype::Uint16 => "UINT16",
            Datatype::Uint32 => "UINT32",
            Datatype::Uint64 => "UINT64",
            Datatype::Int8 => "INT8",
            Datatype::Int16 => "INT16",
            Datatype::Int32 => "INT32",
            Datatype::Int64 => "INT64",
            Datatype::Fp16 => "FP16",
            Datatype::Fp32 => "FP32",
            Datatype::Fp64 => "FP64",
            Datatype::Bytes => "BYTES",
        }
    }

    /// The datatype with this protocol name (exact, upper case, e.g. `FP32`); `None` if unknown.
    pub fn parse(text: &str) -> Option<Datatype> {
        Some(match text {
            "BOOL" => Datatype::Bool,
            "UINT8" => Datatype::Uint8,
            "UINT16" => Datatype::Uint16,
            "UINT32" => Datatype::Uint32,
            "UINT64" => Datatype::Uint64,
            "INT8" => Datatype::Int8,
            "INT16" => Datatype::Int16,
            "INT32" => Datatype::Int32,
            "INT64" => Datatype::Int64,
            "FP16" => Datatype::Fp16,
            "FP32" => Datatype::Fp32,
            "FP64" => Datatype::Fp64,
            "BYTES" => Datatype::Bytes,
            _ => return None,
        })
    }

    /// Bytes per element; `None` for variable-length `BYTES`.
    pub fn element_size(self) -> Option<usize> {
        Some(match self {
            Datatype::Bool | Datatype::Uint8 | Datatype::Int8 => 1,
            Datatype::Uint16 | Datatype::Int16 | Datatype::Fp16 => 2,
            Datatype::Uint32 | Datatype::Int32 | Datatype::Fp32 => 4,
            Datatype::Uint64 | Datatype::Int64 | Datatype::Fp64 => 8,
            Datatype::Bytes => return None,
        })
    }
}

impl fmt::Display for Datatype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a tensor could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TensorError {
    /// The data holds a different number of elements than the shape describes.
    #[error("tensor `{name}`: shape {shape:?} has {expected} elements but {actual} were given")]
    ElementCount {
        /// The tensor's name.
        name: String,
        /// The shape given.
        shape: Vec<i64>,
        /// Elements the shape describes.
        expected: u64,
        /// Elements in the data.
        actual: u64,
    },
    /// A dimension of the shape is negative (input tensors need concrete shapes).
    #[error("tensor `{name}`: shape {shape:?} has a negative dimension")]
    NegativeDimension {
        /// The tensor's name.
        name: String,
        /// The shape given.
        shape: Vec<i64>,
    },
    /// The raw data's length is not a multiple of the datatype's element size.
    #[error("tensor `{name}`: {len} bytes is not a whole number of {datatype} elements")]
    RaggedBytes {
        /// The tensor's name.
        name: String,
        /// The tensor's datatype.
        datatype: Datatype,
        /// The raw data's length in bytes.
        len: usize,
    },
    /// Raw `BYTES` data does not split into length-prefixed elements.
    #[error("tensor `{name}`: BYTES data is malformed: {message}")]
    MalformedBytes {
        /// The tensor's name.
        name: String,
        /// Where the data goes wrong.
        message: String,
    },
    /// The file given to [`Tensor::from_file`] cannot be read.
    #[error("tensor `{name}`: cannot read {path}: {message}")]
    File {
        /// The tensor's name.
        name: String,
        /// The file's path.
        path: String,
        /// The I/O error.
        message: String,
    },
}

/// One input tensor: what a request carries.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    name: String,
    datatype: Datatype,
    shape: Vec<i64>,
    raw: Vec<u8>,
}

impl Tensor {
    /// A tensor from raw little-endian, row-major bytes (for `BYTES`: length-prefixed elements).
    pub fn from_raw(
        name: impl Into<String>,
        datatype: Datatype,
        shape: impl Into<Vec<i64>>,
        raw: Vec<u8>,
    ) -> Result<Tensor, TensorError> {
        let tensor = Tensor {
            name: name.into(),
            datatype,
            shape: shape.into(),
            raw,
        };
        tensor.check()?;
        Ok(tensor)
    }

    /// A tensor whose raw bytes are read from a file (e.g. a preprocessed image dumped once).
    pub fn from_file(
        name: impl Into<String>,
        datatype: Datatype,
        shape: impl Into<Vec<i64>>,
        path: impl AsRef<Path>,
    ) -> Result<Tensor, TensorError> {
        let name = name.into();
        let path = path.as_ref();
        let raw = std::fs::read(path).map_err(|error| TensorError::File {
            name: name.clone(),
            path: path.display().to_string(),
            message: error.to_string(),
        })?;
        Tensor::from_raw(name, datatype, shape, raw)
    }

    /// An `FP32` tensor of `data` in row-major order; `data` must hold exactly the elements the
    /// shape describes.
    pub fn fp32(
        name: impl Into<String>,
        shape: impl Into<Vec<i64>>,
        data: &[f32],
    ) -> Result<Tensor, TensorError> {
        Tensor::from_raw(
            name,
            Datatype::Fp32,
            shape,
            le_bytes(data, |v| v.to_le_bytes()),
        )
    }

    /// An `FP64` tensor of `data` in row-major order; `data` must hold exactly the elements the
    /// shape describes.
    pub fn fp64(
        name: impl Into<String>,
        shape: impl Into<Vec<i64>>,
        data: &[f64],
    ) -> Result<Tensor, TensorError> {
        Tensor::from_raw(
            name,
            Datatype::Fp64,
            shape,
            le_bytes(data, |v| v.to_le_bytes()),
        )
    }

    /// An `INT32` tensor of `data` in row-major order; `data` must hold exactly the elements
    /// the shape describes.
    pub fn int32(
        name: impl Into<String>,
        shape: impl Into<Vec<i64>>,
        data: &[i32],
    ) -> Result<Tensor, TensorError> {
        Tensor::from_raw(
            name,
            Datatype::Int32,
            shape,
            le_bytes(data, |v| v.to_le_bytes()),
        )
    }

    /// An `INT64` tensor of `data` in row-major order; `data` must hold exactly the elements
    /// the shape describes.
    pub fn int64(
        name: impl Into<String>,
        shape: impl Into<Vec<i64>>,
        data: &[i64],
    ) -> Result<Tensor, TensorError> {
        Tensor::from_raw(
            name,
            Datatype::Int64,
            shape,
            le_bytes(data, |v| v.to_le_bytes()),
        )
    }

    /// A `UINT8` tensor of `data` in row-major order; `data` must hold exactly the elements
    /// the shape describes.
    pub fn uint8(
        name: impl Into<String>,
        shape: impl Into<Vec<i64>>,
        data: &[u8],
    ) -> Result<Tensor, TensorError> {
        Tensor::from_raw(name, Datatype::Uint8, shape, data.to_vec())
    }

    /// A `BYTES` tensor of strings (one element each).
    pub fn bytes<S: AsRef<[u8]>>(
        name: impl Into<String>,
        shape: impl Into<Vec<i64>>,
        elements: &[S],
    ) -> Result<Tensor, TensorError> {
        let mut raw = Vec::new();
        for element in elements {
            let element = element.as_ref();
            let len = u32::try_from(element.len()).unwrap_or(u32::MAX);
            raw.extend_from_slice(&len.to_le_bytes());
            raw.extend_from_slice(element);
        }
        Tensor::from_raw(name, Datatype::Bytes, shape, raw)
    }

    /// An FP32 tensor of the given shape filled with a deterministic ramp in [0, 1): a payload
    /// of realistic size when the values do not matter.
    pub fn fp32_ramp(
        name: impl Into<String>,
        shape: impl Into<Vec<i64>>,
    ) -> Result<Tensor, TensorError> {
        let name = name.into();
        let shape = shape.into();
        let count = element_count(&name, &shape)?;
        let data: Vec<f32> = (0..count).map(|i| (i % 1000) as f32 / 1000.0).collect();
        Tensor::fp32(name, shape, &data)
    }

    /// The tensor's name, e.g. the model input it feeds.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The tensor's datatype.
    pub fn datatype(&self) -> Datatype {
        self.datatype
    }

    /// The tensor's dimensions.
    pub fn shape(&self) -> &[i64] {
        &self.shape
    }

    /// The data as little-endian, row-major bytes (for `BYTES`: each element as a 4-byte
    /// little-endian length followed by its bytes).
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    /// The number of elements the shape describes.
    pub fn element_count(&self) -> u64 {
        self.shape.iter().map(|&d| d as u64).product()
    }

    fn check(&self) -> Result<(), TensorError> {
        let expected = element_count(&self.name, &self.shape)?;
        let actual = match self.datatype.element_size() {
            Some(size) => {
                if self.raw.len() % size != 0 {
                    return Err(TensorError::RaggedBytes {
                        name: self.name.clone(),
                        datatype: self.datatype,
                        len: self.raw.len(),
                    });
                }
                (self.raw.len() / size) as u64
            }
            None => split_bytes_elements(&self.raw)
                .map_err(|message| TensorError::MalformedBytes {
                    name: self.name.clone(),
                    message,
                })?
                .len() as u64,
        };
        if expected != actual {
            return Err(TensorError::ElementCount {
                name: self.name.clone(),
                shape: self.shape.clone(),
                expected,
                actual,
            });
        }
        Ok(())
    }
}

fn element_count(name: &str, shape: &[i64]) -> Result<u64, TensorError> {
    if shape.iter().any(|&d| d < 0) {
        return Err(TensorError::NegativeDimension {
            name: name.to_string(),
            shape: shape.to_vec(),
        });
    }
    Ok(shape.iter().map(|&d| d as u64).product())
}

fn le_bytes<T: Copy, const N: usize>(data: &[T], to_bytes: impl Fn(T) -> [u8; N]) -> Vec<u8> {
    let mut raw = Vec::with_capacity(data.len() * N);
    for &value in data {
        raw.extend_from_slice(&to_bytes(value));
    }
    raw
}

/// Splits raw `BYTES` data (4-byte little-endian length, then the bytes, per element).
pub(crate) fn split_bytes_elements(raw: &[u8]) -> Result<Vec<&[u8]>, String> {
    let mut elements = Vec::new();
    let mut rest = raw;
    while !rest.is_empty() {
        let Some((len, tail)) = rest.split_first_chunk::<4>() else {
            return Err(format!(
                "{} trailing bytes, too few for a length",
                rest.len()
            ));
        };
        let len = u32::from_le_bytes(*len) as usize;
        if tail.len() < len {
            return Err(format!(
                "an element claims {len} bytes but only {} remain",
                tail.len()
            ));
        }
        let (element, tail) = tail.split_at(len);
        elements.push(element);
        rest = tail;
    }
    Ok(elements)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn element_counts_are_checked() {
        assert!(Tensor::fp32("x", [2, 2], &[1.0, 2.0, 3.0, 4.0]).is_ok());
        let error = Tensor::fp32("x", [2, 3], &[1.0; 4]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "tensor `x`: shape [2, 3] has 6 elements but 4 were given"
        );
        assert!(matches!(
            Tensor::from_raw("x", Datatype::Fp32, [1], vec![0; 3]),
            Err(TensorError::RaggedBytes { .. })
        ));
        assert!(matches!(
            Tensor::fp32("x", [-1, 4], &[0.0; 4]),
            Err(TensorError::NegativeDimension { .. })
        ));
    }

    #[test]
    fn bytes_tensors_round_trip() {
        let tensor = Tensor::bytes("s", [2], &["ab", "cde"]).unwrap();
        assert_eq!(tensor.raw().len(), 4 + 2 + 4 + 3);
        let elements = split_bytes_elements(tensor.raw()).unwrap();
        assert_eq!(elements, vec![b"ab".as_slice(), b"cde".as_slice()]);
        assert!(Tensor::from_raw("s", Datatype::Bytes, [1], vec![9, 0, 0, 0, 1]).is_err());
        assert!(Tensor::bytes("s", [3], &["a"]).is_err());
    }

    #[test]
    fn datatypes_round_trip_their_names() {
        for datatype in [
            Datatype::Bool,
            Datatype::Uint8,
            Datatype::Int64,
            Datatype::Fp16,
            Datatype::Fp32,
            Datatype::Bytes,
        ] {
            assert_eq!(Datatype::parse(datatype.as_str()), Some(datatype));
        }
        assert_eq!(Datatype::parse("float32"), None);
    }

    #[test]
    fn ramp_has_the_shape() {
        let tensor = Tensor::fp32_ramp("x", [2, 3, 4]).unwrap();
        assert_eq!(tensor.element_count(), 24);
        assert_eq!(tensor.raw().len(), 96);
    }
}
