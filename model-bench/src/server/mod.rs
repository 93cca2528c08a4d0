//! The reference server: an Open Inference Protocol server (REST and gRPC) on ephemeral
//! 127.0.0.1 ports, run on its own tokio runtime so it works from plain code, from tests and
//! beside the load generator. Dropping or [`shutdown`](ReferenceServer::shutdown)ting it drops
//! every connection at once, as a killed server would.

mod grpc;
mod models;
mod rest;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;

use crate::remote::proto::grpc_inference_service_server::GrpcInferenceServiceServer;
pub use crate::remote::reference::{Batching, InjectedLatency, ModelSpec, ReferenceConfig};
use models::Models;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("reference server: cannot start its runtime: {0}")]
    Runtime(std::io::Error),
    #[error("reference server: cannot listen on 127.0.0.1: {0}")]
    Bind(std::io::Error),
    #[error("reference server: {0}")]
    Model(String),
}

/// A running reference server.
pub struct ReferenceServer {
    rest: SocketAddr,
    grpc: SocketAddr,
    runtime: Option<tokio::runtime::Runtime>,
}

impl ReferenceServer {
    /// Loads the models and starts serving REST and gRPC on two ephemeral ports.
    pub fn start(config: &ReferenceConfig) -> Result<ReferenceServer, ServerError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("model-bench-server")
            .enable_all()
            .build()
            .map_err(ServerError::Runtime)?;
        let (rest, grpc) = runtime.block_on(async {
            let models = Arc::new(Models::load(config).map_err(ServerError::Model)?);
            let localhost = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
            let rest_listener = TcpListener::bind(localhost)
                .await
                .map_err(ServerError::Bind)?;
            let grpc_listener = TcpListener::bind(localhost)
                .await
                .map_err(ServerError::Bind)?;
            let rest = rest_listener.local_addr().map_err(ServerError::Bind)?;
            let grpc = grpc_listener.local_addr().map_err(ServerError::Bind)?;
            tokio::spawn(serve_rest(rest_listener, Arc::clone(&models)));
            let service = GrpcInferenceServiceServer::new(grpc::Service { models })
                .max_decoding_message_size(usize::MAX)
                .max_encoding_message_size(usize::MAX);
            let incoming =
                tonic::transport::server::TcpIncoming::from(grpc_listener).with_nodelay(Some(true));
            tokio::spawn(
                tonic::transport::Server::builder()
                    .add_service(service)
                    .serve_with_incoming(incoming),
            );
            Ok::<_, ServerError>((rest, grpc))
        })?;
        Ok(ReferenceServer {
            rest,
            grpc,
            runtime: Some(runtime),
        })
    }

    /// `http://127.0.0.1:PORT` of the REST API.
    pub fn rest_url(&self) -> String {
        format!("http://{}", self.rest)
    }

    /// `http://127.0.0.1:PORT` of the gRPC service.
    pub fn grpc_url(&self) -> String {
        format!("http://{}", self.grpc)
    }

    /// The URL for a protocol: gRPC's port for gRPC, the REST port otherwise.
    pub fn url_for(&self, protocol: crate::remote::Protocol) -> String {
        match protocol {
            crate::remote::Protocol::Grpc => self.grpc_url(),
            _ => self.rest_url(),
        }
    }

    /// Stops at once: listeners close and open connections are dropped mid-request.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl Drop for ReferenceServer {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn serve_rest(listener: TcpListener, models: Arc<Models>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let models = Arc::clone(&models);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                rest::handle(Arc::clone(&models), request)
            });
            let _ = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
