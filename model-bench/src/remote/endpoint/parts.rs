//! The parts of an endpoint every kind shares: headers (secrets read from the environment and
//! never written out), the server process to watch and a TLS certificate authority.

use std::fmt;
use std::path::PathBuf;

use super::error::EndpointError;

/// Where a header's value comes from. Values from the environment are secrets: they are sent,
/// never written to a report, a baseline or a log line.
#[derive(Clone, PartialEq)]
pub(crate) enum HeaderValue {
    /// This value, sent as given.
    Literal(String),
    /// The value of this environment variable, read when the client is built.
    Env(String),
}

impl fmt::Debug for HeaderValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeaderValue::Literal(value) => write!(f, "Literal({value:?})"),
            HeaderValue::Env(var) => write!(f, "Env(${var})"),
        }
    }
}

/// A header sent with every request (gRPC metadata for gRPC endpoints).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Header {
    /// The header's name, e.g. `authorization`.
    pub name: String,
    /// Where its value comes from.
    pub value: HeaderValue,
    /// Prefix put before an environment value, e.g. `Bearer `.
    pub prefix: String,
}

impl Header {
    /// The value sent: a literal, or the prefix and the secret read from `env`.
    pub(crate) fn value_from(
        &self,
        env: &impl Fn(&str) -> Option<String>,
    ) -> Result<String, EndpointError> {
        match &self.value {
            HeaderValue::Literal(value) => Ok(value.clone()),
            HeaderValue::Env(var) => match env(var) {
                Some(value) => Ok(format!("{}{value}", self.prefix)),
                None => Err(EndpointError::MissingSecret {
                    header: self.name.clone(),
                    var: var.clone(),
                }),
            },
        }
    }
}

/// How a bench names the server's process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ServerProcess {
    /// The process with this PID.
    Pid(u32),
    /// A PID read from this environment variable when the bench runs (unset: not watched).
    PidFromEnv(String),
    /// The one running process with this exact name.
    Name(String),
}

/// A PEM certificate authority to trust, given inline or as a file read when the client is built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TlsCa {
    /// The PEM text itself.
    Pem(String),
    /// A PEM file, read when the client is built.
    File(PathBuf),
}

#[cfg(feature = "remote")]
impl TlsCa {
    /// The PEM text; a file that cannot be read is an error naming it.
    pub(crate) fn pem(&self) -> Result<Vec<u8>, EndpointError> {
        match self {
            TlsCa::Pem(text) => Ok(text.clone().into_bytes()),
            TlsCa::File(path) => std::fs::read(path).map_err(|e| {
                EndpointError::Invalid(format!(
                    "cannot read the TLS CA certificate {}: {e}",
                    path.display()
                ))
            }),
        }
    }
}
