//! The reference server: an Open Inference Protocol server (REST and gRPC) on ephemeral
//! 127.0.0.1 ports, run on its own tokio runtime so it works from plain code, from tests and
//! beside the load generator. Dropping or [`shutdown`](ReferenceServer::shutdown)ting it drops
//! every connection at once, as a killed server would.

mod error;
mod grpc;
mod llm;
mod llm_metrics;
mod models;
mod prefix_cache;
mod rest;
mod runtime;

use std::net::SocketAddr;
use std::sync::Arc;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;

use crate::remote::oip::proto::grpc_inference_service_server::GrpcInferenceServiceServer;
pub use crate::remote::reference::{Batching, InjectedLatency, ModelSpec, ReferenceConfig};
pub use error::ServerError;
pub use llm::LlmServer;
use models::Models;
use runtime::ServerRuntime;

/// A running reference server.
pub struct ReferenceServer {
    rest: SocketAddr,
    grpc: SocketAddr,
    scheme: &'static str,
    runtime: ServerRuntime,
}

impl ReferenceServer {
    /// Loads the models and starts serving REST and gRPC on two ephemeral ports.
    pub fn start(config: &ReferenceConfig) -> Result<ReferenceServer, ServerError> {
        let (runtime, (rest, grpc)) = ServerRuntime::start("model-bench-server", async {
            let models = Arc::new(Models::load(config).map_err(ServerError::Model)?);
            let rest_listener = runtime::listen_on_localhost()?;
            let grpc_listener = runtime::listen_on_localhost()?;
            let rest = rest_listener.local_addr().map_err(ServerError::Bind)?;
            let grpc = grpc_listener.local_addr().map_err(ServerError::Bind)?;
            let acceptor = config.tls.as_ref().map(tls_acceptor).transpose()?;
            tokio::spawn(serve_rest(rest_listener, Arc::clone(&models), acceptor));
            let service = GrpcInferenceServiceServer::new(grpc::Service { models })
                .max_decoding_message_size(usize::MAX)
                .max_encoding_message_size(usize::MAX);
            let incoming =
                tonic::transport::server::TcpIncoming::from(grpc_listener).with_nodelay(Some(true));
            let mut builder = tonic::transport::Server::builder();
            if let Some(tls) = &config.tls {
                let identity = tonic::transport::Identity::from_pem(&tls.cert_pem, &tls.key_pem);
                builder = builder
                    .tls_config(tonic::transport::ServerTlsConfig::new().identity(identity))
                    .map_err(|e| ServerError::Tls(crate::remote::error::chain(&e)))?;
            }
            tokio::spawn(builder.add_service(service).serve_with_incoming(incoming));
            Ok::<_, ServerError>((rest, grpc))
        })?;
        Ok(ReferenceServer {
            rest,
            grpc,
            scheme: if config.tls.is_some() {
                "https"
            } else {
                "http"
            },
            runtime,
        })
    }

    /// `http://127.0.0.1:PORT` (`https://` with TLS) of the REST API.
    pub fn rest_url(&self) -> String {
        format!("{}://{}", self.scheme, self.rest)
    }

    /// `http://127.0.0.1:PORT` (`https://` with TLS) of the gRPC service.
    pub fn grpc_url(&self) -> String {
        format!("{}://{}", self.scheme, self.grpc)
    }

    /// The URL for a protocol: gRPC's port for gRPC, the REST port otherwise.
    pub fn url_for(&self, protocol: impl Into<crate::results::Protocol>) -> String {
        match protocol.into() {
            crate::results::Protocol::Grpc => self.grpc_url(),
            _ => self.rest_url(),
        }
    }

    /// Stops at once: listeners close and open connections are dropped mid-request.
    pub fn shutdown(self) {
        drop(self.runtime);
    }
}

async fn serve_rest(
    listener: TcpListener,
    models: Arc<Models>,
    tls: Option<tokio_rustls::TlsAcceptor>,
) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let models = Arc::clone(&models);
        let tls = tls.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                rest::handle(Arc::clone(&models), request)
            });
            let builder = auto::Builder::new(TokioExecutor::new());
            let _ = match tls {
                Some(acceptor) => match acceptor.accept(stream).await {
                    Ok(stream) => {
                        builder
                            .serve_connection(TokioIo::new(stream), service)
                            .await
                    }
                    // A client that does not trust the certificate hangs up in the handshake.
                    Err(_) => return,
                },
                None => {
                    builder
                        .serve_connection(TokioIo::new(stream), service)
                        .await
                }
            };
        });
    }
}

/// The REST listener's TLS: the configured certificate, HTTP/2 and HTTP/1.1 offered by ALPN.
fn tls_acceptor(
    tls: &crate::remote::reference::ServerTls,
) -> Result<tokio_rustls::TlsAcceptor, ServerError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let invalid = |what: &str, e: &dyn std::fmt::Display| ServerError::Tls(format!("{what}: {e}"));
    let certs = CertificateDer::pem_slice_iter(tls.cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid("certificate", &e))?;
    let key = PrivateKeyDer::from_pem_slice(tls.key_pem.as_bytes())
        .map_err(|e| invalid("private key", &e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid("protocol versions", &e))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| invalid("certificate and key", &e))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}
