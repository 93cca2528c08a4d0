//! The runtime each reference server (V2 and LLM) runs on: its own two worker threads, so a
//! server works from plain code, from tests and beside the load generator. Dropping it stops the
//! server at once: listeners close and open connections are dropped mid-request, as a killed
//! server would.

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};

use tokio::net::{TcpListener, TcpSocket};

use super::error::ServerError;

pub(crate) struct ServerRuntime(Option<tokio::runtime::Runtime>);

impl ServerRuntime {
    /// A runtime whose threads are named `thread_name`, and what `setup` (binding the
    /// listeners, spawning the server's tasks on it) returned.
    pub fn start<T>(
        thread_name: &str,
        setup: impl Future<Output = Result<T, ServerError>>,
    ) -> Result<(ServerRuntime, T), ServerError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name(thread_name)
            .enable_all()
            .build()
            .map_err(ServerError::Runtime)?;
        let value = runtime.block_on(setup)?;
        Ok((ServerRuntime(Some(runtime)), value))
    }
}

/// How many connections may wait to be accepted (the kernel caps it at `somaxconn`): a load of
/// thousands of streams connects all at once, and tokio's default of 1,024 would leave the
/// rest to retry their SYN a second later, which is the listener's doing, not the server's.
const BACKLOG: u32 = 65_535;

/// A listener on an ephemeral 127.0.0.1 port. Must be called on the server's runtime.
pub(crate) fn listen_on_localhost() -> Result<TcpListener, ServerError> {
    let socket = TcpSocket::new_v4().map_err(ServerError::Bind)?;
    socket
        .bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .map_err(ServerError::Bind)?;
    socket.listen(BACKLOG).map_err(ServerError::Bind)
}

impl Drop for ServerRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}
