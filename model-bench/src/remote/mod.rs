//! Remote endpoint benches: what an endpoint is ([`Endpoint`], [`Tensor`], [`ReferenceConfig`]),
//! and with feature `remote` the protocol clients, the load generator and its metrics.

pub mod endpoint;
pub mod reference;
pub mod tensor;

#[cfg(feature = "remote")]
pub mod client;
#[cfg(feature = "remote")]
pub mod error;
#[cfg(feature = "remote")]
mod grpc_h2;
#[cfg(feature = "remote")]
mod http1;
#[cfg(feature = "remote")]
pub mod load;
#[cfg(feature = "remote")]
pub mod metrics;
#[cfg(feature = "remote")]
pub mod prometheus;
#[cfg(feature = "remote")]
pub mod proto;
#[cfg(feature = "remote")]
pub mod scenario;
#[cfg(feature = "remote")]
pub mod server_stats;
#[cfg(feature = "remote")]
pub mod v2;

pub use endpoint::{Endpoint, EndpointError, MixMember, Protocol, ServerProcess, TlsCa};
pub use reference::{Batching, InjectedLatency, ModelSpec, ReferenceConfig, ServerTls};
pub use tensor::{Datatype, Tensor, TensorError};

#[cfg(feature = "remote")]
pub use client::{Client, ClientError, Session};
#[cfg(feature = "remote")]
pub use load::{Arrival, LoadMode, LoadPlan, LoadRun, RateStep};
