//! The Open Inference Protocol (KServe V2) as both ends speak it: tensors, the generated gRPC
//! messages, the REST JSON and binary bodies, and the gRPC request and response checks. The
//! reference server (`server/`) and the clients (`client/`) both build on this folder, and it
//! imports neither.

pub mod request;
pub mod tensor;

pub use request::{ExpectedOutput, InferRequest};
pub use tensor::{Datatype, Tensor, TensorError};

#[cfg(feature = "remote")]
pub mod grpc;
#[cfg(feature = "remote")]
pub mod proto;
#[cfg(feature = "remote")]
pub mod v2;
