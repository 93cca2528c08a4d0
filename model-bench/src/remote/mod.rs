//! Remote endpoint benches, laid out along one request's path:
//!
//! - [`Endpoint`] (one builder per kind: [`V2Endpoint`], [`OpenAiEndpoint`], [`PostEndpoint`]),
//!   [`ReferenceConfig`] and the error classes: plain data, checked before any load;
//! - [`oip`]: the Open Inference Protocol both ends speak (tensors, generated gRPC messages, REST
//!   JSON/binary bodies); the reference server (`server/`) builds on it too;
//! - [`client`]: one request sent and checked, behind one transport trait (bare HTTP/1.1,
//!   reqwest, bare h2 gRPC, tonic gRPC);
//! - [`load`]: the load generator (plan, closed and open loops, recording, scenarios); it returns
//!   statistics only;
//! - [`watch`]: what runs beside a load point (processes, GPUs, server statistics, Prometheus),
//!   and the `LoadPoint` built once from the run and those readings.
//!
//! Everything past the plain data needs feature `remote`.

pub mod endpoint;
pub mod llm;
pub mod oip;
pub mod reference;

#[cfg(feature = "remote")]
pub mod client;
#[cfg(feature = "remote")]
mod crypto;
#[cfg(feature = "remote")]
pub mod error;

#[cfg(feature = "remote")]
pub mod load;
// The scale-out worker's files and their merge: the `model-bench merge` command's and the
// runner's, not part of the API.
#[cfg(feature = "remote")]
#[doc(hidden)]
pub mod scaleout;
// What runs beside a load point; the runner's, not part of the API.
#[cfg(feature = "remote")]
#[doc(hidden)]
#[allow(missing_docs)]
pub mod watch;

pub use endpoint::{
    AnyEndpoint, AnyRequest, Endpoint, EndpointError, OpenAiApi, OpenAiEndpoint, OpenAiRequest,
    PostEndpoint, PostRequest, Request, V2Endpoint, V2Protocol, V2Request, DEFAULT_TIMEOUT,
    OPENAI_TIMEOUT,
};
pub use oip::{Datatype, Tensor, TensorError};
pub use reference::{Batching, InjectedLatency, ModelSpec, ReferenceConfig, ServerTls};

#[cfg(feature = "remote")]
pub use client::{Client, ClientError, Reply, Session};
#[cfg(feature = "remote")]
pub use load::{Arrival, LoadMode, LoadPlan, LoadRun, RateStep};
