//! What a remote bench talks to, one builder per kind of request: [`V2Endpoint`] (KServe /
//! Triton's Open Inference Protocol over REST JSON, REST binary or gRPC), [`OpenAiEndpoint`]
//! (an OpenAI-compatible token stream) and [`PostEndpoint`] (a fixed body POSTed to a path).
//! They are one generic type, [`Endpoint<R>`], whose options every kind shares — where the URL
//! comes from, headers and secrets, TLS, timeout, connections, the server's process and metrics,
//! mixes — are defined once (`shared.rs`), and each kind's own options only on that kind
//! (`v2.rs`, `openai.rs`, `post.rs`), so an option a kind would ignore does not compile on it.
//! Plain data, checked before any load; the runner reads it as an [`AnyEndpoint`].

mod error;
mod openai;
mod parts;
mod post;
mod request;
mod shared;
mod url;
mod v2;

pub use error::EndpointError;
pub use openai::OPENAI_TIMEOUT;
#[cfg(feature = "remote")]
pub(crate) use parts::ServerProcess;
pub use request::{
    AnyRequest, OpenAiApi, OpenAiRequest, PostRequest, Request, V2Protocol, V2Request,
};
pub use shared::{
    AnyEndpoint, Endpoint, OpenAiEndpoint, PostEndpoint, V2Endpoint, DEFAULT_TIMEOUT,
};
#[cfg(feature = "remote")]
pub(crate) use shared::{Common, Reference};
#[cfg(feature = "remote")]
pub(crate) use url::check_url;
pub use url::{redact_url, ResolvedUrl};
