//! Why an endpoint description cannot be used: every check made before any request is sent.

use crate::remote::oip::TensorError;
use crate::results::Protocol;

/// Why an endpoint description cannot be used; reported before any request is sent.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EndpointError {
    /// The URL environment variable is unset or empty and there is no default URL or reference
    /// server to fall back on.
    #[error("no URL for the endpoint: set ${var}{}", if *.has_reference { "" } else { " (or give a default URL or a reference server)" })]
    NoUrl {
        /// The environment variable the URL is read from.
        var: String,
        /// Whether a reference server was configured (the message then does not suggest one).
        has_reference: bool,
    },
    /// None of a URL, a URL environment variable or a reference server was given.
    #[error("no URL for the endpoint: give `.url(…)`, `.url_from_env(…)` or `.reference(…)`")]
    NoUrlSource,
    /// The URL is not `http://` or `https://` with a host and a valid port.
    #[error("invalid URL `{url}`{}: {message}", origin.as_ref().map(|o| format!(" (from {o})")).unwrap_or_default())]
    InvalidUrl {
        /// The URL without user info or query string.
        url: String,
        /// Where it came from, e.g. `$MB_URL`; `None` for a URL given in code.
        origin: Option<String>,
        /// What is wrong with it.
        message: String,
    },
    /// A header's value is read from an environment variable that is not set.
    #[error("header `{header}` reads ${var}, which is not set")]
    MissingSecret {
        /// The header's name.
        header: String,
        /// The environment variable it reads.
        var: String,
    },
    /// A header's name or value is not valid HTTP (or gRPC metadata); found when the client is
    /// built.
    #[error("invalid header `{header}`: {message}")]
    InvalidHeader {
        /// The header's name.
        header: String,
        /// What is wrong with it.
        message: String,
    },
    /// An input tensor is invalid.
    #[error("{0}")]
    Tensor(#[from] TensorError),
    /// A V2 (REST or gRPC) endpoint was given no input tensors.
    #[error("{protocol} endpoint for model `{model}` has no inputs")]
    NoInputs {
        /// The endpoint's protocol.
        protocol: Protocol,
        /// The endpoint's model.
        model: String,
    },
    /// Any other invalid setting (a zero timeout, an invalid mix, an unreadable TLS CA file);
    /// the message says which.
    #[error("{0}")]
    Invalid(String),
}
