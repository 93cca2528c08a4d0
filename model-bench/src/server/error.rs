//! Why a reference server (V2 or LLM) could not start: a leaf both servers name.

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The server's tokio runtime could not be built.
    #[error("reference server: cannot start its runtime: {0}")]
    Runtime(std::io::Error),
    /// No port could be opened on 127.0.0.1.
    #[error("reference server: cannot listen on 127.0.0.1: {0}")]
    Bind(std::io::Error),
    /// A model could not be loaded (an ONNX file that fails to load, or ONNX without the `ort`
    /// feature).
    #[error("reference server: {0}")]
    Model(String),
    /// The TLS certificate chain or private key cannot be used.
    #[error("reference server: invalid TLS certificate or key: {0}")]
    Tls(String),
}
