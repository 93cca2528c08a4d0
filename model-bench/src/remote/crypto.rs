//! The TLS crypto provider: ring, for every rustls user in the process. tonic and the reference
//! server are given it directly; reqwest (built without a provider of its own, so aws-lc's C
//! build is not paid) takes rustls's process-wide default, which this installs before any
//! reqwest client is built.

use std::sync::Once;

/// Makes ring rustls's process-wide default provider, unless the program has already installed
/// one (then that one is used). Idempotent and cheap after the first call.
pub(crate) fn install_default_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // Err only when another provider is already the default, which is as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// `reqwest::Client::builder()` with the provider installed first: every reqwest client of the
/// library is built from this, never from `Client::new()` (which would panic without one).
pub(crate) fn http_client_builder() -> reqwest::ClientBuilder {
    install_default_provider();
    reqwest::Client::builder()
}

/// A default reqwest client; `Client::new()` made safe (it panics when its TLS backend cannot
/// be built, which `build` reports as an error instead).
pub(crate) fn http_client() -> Result<reqwest::Client, String> {
    http_client_builder()
        .build()
        .map_err(|error| format!("cannot build an HTTP client: {error}"))
}
