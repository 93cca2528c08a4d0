//! REST over a load worker's own bare HTTP/1.1 connection (plain `http://`, HTTP/1.1): each
//! worker's requests go out on its [`Http1Conn`], skipping any pool; requests without a worker
//! and the probes (health, metadata) go through the pooled client beside it.

use super::http1_conn::{Http1Conn, Http1Request};
use super::rest_pool::{RestPool, RestRequest};
use super::transport::{BoxFuture, ModelMetadata, ServerMetadata, Transport};
use crate::remote::error::RequestError;

/// The bare HTTP/1.1 transport.
pub(crate) struct Http1 {
    request: Http1Request,
    infer_url: String,
    pool: RestPool,
}

impl Http1 {
    /// The bare transport for `request` beside `pool`, or the pool alone where the bare one
    /// cannot carry the request (https, user info in the URL).
    pub fn or_pool(
        pool: RestPool,
        request: &RestRequest,
        headers: &[(String, String)],
    ) -> Box<dyn Transport> {
        let mut bare_headers = headers.to_vec();
        bare_headers.push(("Content-Type".into(), request.content_type.clone()));
        if let Some(value) = &request.binary_header {
            let value = value.to_str().unwrap_or_default().to_string();
            bare_headers.push(("Inference-Header-Content-Length".into(), value));
        }
        match Http1Request::post(&request.infer_url, &bare_headers, &request.body) {
            Some(bare) => Box::new(Http1 {
                request: bare,
                infer_url: request.infer_url.to_string(),
                pool,
            }),
            None => Box::new(pool),
        }
    }

    async fn send_on(&self, own: &mut Http1Conn) -> Result<(), RequestError> {
        let timeout = self.pool.target().timeout;
        let response = own.round_trip(&self.request, timeout).await?;
        self.pool.target().check_rest(
            response.status,
            response.inference_header_len,
            response.body,
            &self.infer_url,
        )
    }
}

impl Transport for Http1 {
    fn infer(&self) -> BoxFuture<'_, Result<(), RequestError>> {
        self.pool.infer()
    }

    fn infer_on<'a>(&'a self, own: &'a mut Http1Conn) -> BoxFuture<'a, Result<(), RequestError>> {
        Box::pin(self.send_on(own))
    }

    fn health(&self) -> BoxFuture<'_, Result<(), RequestError>> {
        self.pool.health()
    }

    fn metadata(&self) -> BoxFuture<'_, Result<ModelMetadata, RequestError>> {
        self.pool.metadata()
    }

    fn server_metadata(&self) -> BoxFuture<'_, Result<ServerMetadata, RequestError>> {
        self.pool.server_metadata()
    }
}
