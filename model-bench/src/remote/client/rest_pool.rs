//! REST through reqwest's connection pool: https, HTTP/2, URLs with user info, and every probe
//! (health, metadata) of a REST endpoint. Also where a REST request is put together once — URL,
//! body, content type, the binary extension's header — for this transport and the bare HTTP/1.1
//! one alike.

use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE};

use super::transport::{
    BoxFuture, ClientError, ModelMetadata, ServerMetadata, Target, TensorInfo, Transport,
};
use crate::remote::endpoint::{redact_url, AnyRequest, Common, EndpointError, V2Protocol};
use crate::remote::error::{chain, snippet, ErrorClass, RequestError};
use crate::remote::oip::v2;
use crate::results::Protocol;

/// One REST endpoint's request, encoded once.
pub(crate) struct RestRequest {
    pub infer_url: reqwest::Url,
    pub body: Bytes,
    pub content_type: String,
    /// `Inference-Header-Content-Length` for the binary extension.
    pub binary_header: Option<HeaderValue>,
}

impl RestRequest {
    /// Encodes `request` for `target` (V2 JSON, V2 binary, or a plain POST body; an
    /// OpenAI-compatible request's bodies are encoded per prompt by its transport).
    pub fn new(request: &AnyRequest, target: &Target) -> Result<RestRequest, ClientError> {
        let encode = |message: String| ClientError::Encode {
            model: target.model.clone(),
            message,
        };
        let (body, content_type, binary_header, infer_url) = match request {
            AnyRequest::V2(v2) => {
                let infer = v2.infer_request();
                let (body, content_type, binary_header) = match v2.protocol {
                    V2Protocol::RestBinary => {
                        let (body, header_len) =
                            v2::encode_binary_request(&infer).map_err(encode)?;
                        let binary_header = Some(HeaderValue::from(header_len));
                        (body, "application/octet-stream", binary_header)
                    }
                    // gRPC is not sent through here; its probes and statistics are tonic's.
                    V2Protocol::RestJson | V2Protocol::Grpc => (
                        v2::encode_json_request(&infer).map_err(encode)?,
                        "application/json",
                        None,
                    ),
                };
                let url = format!("{}/infer", target.model_path());
                (body, content_type.to_owned(), binary_header, url)
            }
            AnyRequest::Post(post) => {
                let path = post.path.trim_start_matches('/');
                let url = format!("{}/{path}", target.base_url);
                (post.body.clone(), post.content_type.clone(), None, url)
            }
            // One body per prompt: the transport (`openai.rs`) encodes and sends them in turn.
            AnyRequest::OpenAi(openai) => {
                let api = if openai.is_chat() {
                    "chat/completions"
                } else {
                    "completions"
                };
                let url = format!("{}/v1/{api}", target.base_url);
                (Vec::new(), "application/json".to_owned(), None, url)
            }
        };
        let infer_url = reqwest::Url::parse(&infer_url)
            .map_err(|e| target.setup_error(format!("invalid URL {infer_url}: {e}")))?;
        Ok(RestRequest {
            infer_url,
            body: Bytes::from(body),
            content_type,
            binary_header,
        })
    }
}

/// REST over reqwest: one pooled client per connection the endpoint asks for, taken in turn.
pub(crate) struct RestPool {
    target: Target,
    /// Each carries the request headers as its defaults, so nothing is copied per request.
    clients: Vec<reqwest::Client>,
    next: AtomicUsize,
    infer_url: reqwest::Url,
    body: Bytes,
    binary_header: Option<HeaderValue>,
}

impl RestPool {
    /// The pooled clients for `endpoint`, with `headers` (secrets marked sensitive) on every
    /// request and `tls_ca` trusted beside the system's roots.
    pub fn new(
        common: &Common,
        target: Target,
        request: &RestRequest,
        headers: &[(String, String)],
        tls_ca: Option<&[u8]>,
    ) -> Result<RestPool, ClientError> {
        let mut header_map = HeaderMap::new();
        for (name, value) in headers {
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|e| {
                ClientError::Endpoint(EndpointError::InvalidHeader {
                    header: name.clone(),
                    message: e.to_string(),
                })
            })?;
            let mut value = HeaderValue::from_str(value).map_err(|_| {
                ClientError::Endpoint(EndpointError::InvalidHeader {
                    header: name.to_string(),
                    message: "the value is not a valid header value".into(),
                })
            })?;
            value.set_sensitive(true);
            header_map.insert(name, value);
        }
        let content_type = &request.content_type;
        let content_type_value = HeaderValue::from_str(content_type)
            .map_err(|_| target.setup_error(format!("invalid content type `{content_type}`")))?;
        header_map.insert(CONTENT_TYPE, content_type_value);
        let root = tls_ca
            .map(reqwest::Certificate::from_pem)
            .transpose()
            .map_err(|e| target.setup_error(format!("the TLS CA certificate: {}", chain(&e))))?;
        let clients = (0..common.connections.unwrap_or(1))
            .map(|_| {
                let mut builder = crate::remote::crypto::http_client_builder()
                    .default_headers(header_map.clone())
                    .timeout(common.timeout)
                    .connect_timeout(common.timeout)
                    .pool_max_idle_per_host(usize::MAX)
                    .tcp_nodelay(true)
                    .no_proxy();
                if let Some(root) = &root {
                    builder = builder.add_root_certificate(root.clone());
                }
                let builder = if common.http2 {
                    builder.http2_prior_knowledge()
                } else {
                    builder.http1_only()
                };
                builder.build().map_err(|e| target.setup_error(chain(&e)))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(RestPool {
            target,
            clients,
            next: AtomicUsize::new(0),
            infer_url: request.infer_url.clone(),
            body: request.body.clone(),
            binary_header: request.binary_header.clone(),
        })
    }

    /// The endpoint these requests go to, for the transports built on this one.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// A POST of `body` to the request's URL, on the next pooled client, ready to send.
    pub(crate) fn post_body(&self, body: Bytes) -> reqwest::RequestBuilder {
        self.client().post(self.infer_url.clone()).body(body)
    }

    /// Where requests go.
    pub(crate) fn infer_url(&self) -> &reqwest::Url {
        &self.infer_url
    }

    fn client(&self) -> &reqwest::Client {
        let clients = &self.clients;
        if clients.len() == 1 {
            &clients[0]
        } else {
            &clients[self.next.fetch_add(1, Ordering::Relaxed) % clients.len()]
        }
    }

    async fn send(&self) -> Result<(), RequestError> {
        // reqwest bounds a request (connect to end of body) by the endpoint's timeout already; a
        // second timer per request would cost throughput for nothing.
        let mut request = self
            .client()
            .post(self.infer_url.clone())
            .body(self.body.clone());
        if let Some(value) = &self.binary_header {
            request = request.header(v2::HEADER_LENGTH, value.clone());
        }
        let response = request.send().await.map_err(|e| classify_reqwest(&e))?;
        let status = response.status().as_u16();
        let header_len = response.headers().get(v2::HEADER_LENGTH).cloned();
        let body = response.bytes().await.map_err(|e| classify_body(&e))?;
        self.target.check_rest(
            status,
            header_len.as_ref().map(|v| v.as_bytes()),
            &body,
            self.infer_url.as_str(),
        )
    }

    async fn check_health(&self) -> Result<(), RequestError> {
        let client = &self.clients[0];
        let base = &self.target.base_url;
        if self.target.protocol == Protocol::HttpPost {
            // No health route to rely on: any HTTP answer proves the server is there.
            let result = client.get(format!("{base}/")).send().await;
            return result.map(|_| ()).map_err(|e| classify_reqwest(&e));
        }
        let paths = [
            format!("{base}/v2/health/live"),
            format!("{base}/v2/health/ready"),
            format!("{}/ready", self.target.model_path()),
        ];
        for url in paths {
            let response = client
                .get(&url)
                .send()
                .await
                .map_err(|e| classify_reqwest(&e))?;
            let status = response.status();
            if !status.is_success() {
                let body = response.bytes().await.unwrap_or_default();
                return Err(RequestError::new(
                    ErrorClass::HttpStatus(status.as_u16()),
                    format!("GET {url}: HTTP {status}: {}", snippet(&body, 200)),
                ));
            }
        }
        Ok(())
    }

    /// `GET url` as JSON; a status other than 2xx, or a body that is not JSON, is the error,
    /// which shows the URL without its user info and query (they may hold credentials).
    pub(crate) async fn get_json(&self, url: &str) -> Result<serde_json::Value, RequestError> {
        let shown = redact_url(url);
        let failed = |error: reqwest::Error| {
            let error = classify_reqwest(&error.without_url());
            RequestError::new(error.class, format!("GET {shown}: {}", error.message))
        };
        let response = self.clients[0].get(url).send().await.map_err(failed)?;
        let status = response.status();
        let body = response.bytes().await.map_err(failed)?;
        if !status.is_success() {
            return Err(RequestError::new(
                ErrorClass::HttpStatus(status.as_u16()),
                format!("GET {shown}: HTTP {status}: {}", snippet(&body, 200)),
            ));
        }
        serde_json::from_slice(&body)
            .map_err(|e| RequestError::new(ErrorClass::Decode, format!("GET {shown}: {e}")))
    }

    async fn read_server_metadata(&self) -> Result<ServerMetadata, RequestError> {
        let url = format!("{}/v2", self.target.base_url);
        let value = self.get_json(&url).await?;
        Ok(ServerMetadata {
            name: value
                .get("name")
                .and_then(|v| v.as_str())
                .ok_or_else(|| {
                    let shown = redact_url(&url);
                    RequestError::new(ErrorClass::Decode, format!("GET {shown}: no `name`"))
                })?
                .to_string(),
            version: text(&value, "version"),
            extensions: strings(&value, "extensions"),
        })
    }

    async fn read_metadata(&self) -> Result<ModelMetadata, RequestError> {
        let url = self.target.model_path();
        let value = self.get_json(&url).await?;
        let shown = redact_url(&url);
        let decode = |message: String| {
            RequestError::new(ErrorClass::Decode, format!("GET {shown}: {message}"))
        };
        let tensors = |key: &str| -> Result<Vec<TensorInfo>, RequestError> {
            value
                .get(key)
                .and_then(|v| v.as_array())
                .map(|items| items.as_slice())
                .unwrap_or_default()
                .iter()
                .map(|item| {
                    Ok(TensorInfo {
                        name: text(item, "name"),
                        datatype: text(item, "datatype"),
                        shape: item
                            .get("shape")
                            .and_then(|v| v.as_array())
                            .ok_or_else(|| decode(format!("{key} entry without a shape")))?
                            .iter()
                            .map(|d| d.as_i64().unwrap_or(-1))
                            .collect(),
                    })
                })
                .collect()
        };
        Ok(ModelMetadata {
            name: value
                .get("name")
                .and_then(|v| v.as_str())
                .ok_or_else(|| decode("no `name`".into()))?
                .to_string(),
            versions: strings(&value, "versions"),
            platform: text(&value, "platform"),
            inputs: tensors("inputs")?,
            outputs: tensors("outputs")?,
            context_length: None,
        })
    }
}

impl Transport for RestPool {
    fn infer(&self) -> BoxFuture<'_, Result<(), RequestError>> {
        Box::pin(self.send())
    }

    fn health(&self) -> BoxFuture<'_, Result<(), RequestError>> {
        Box::pin(self.check_health())
    }

    fn metadata(&self) -> BoxFuture<'_, Result<ModelMetadata, RequestError>> {
        Box::pin(self.read_metadata())
    }

    fn server_metadata(&self) -> BoxFuture<'_, Result<ServerMetadata, RequestError>> {
        Box::pin(self.read_server_metadata())
    }
}

/// A string field of a JSON object; empty when it is missing or not a string.
fn text(item: &serde_json::Value, key: &str) -> String {
    item.get(key)
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string()
}

/// A list of strings of a JSON object; what is not a string is left out.
fn strings(item: &serde_json::Value, key: &str) -> Vec<String> {
    item.get(key)
        .and_then(|v| v.as_array())
        .map(|items| {
            items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) fn classify_reqwest(error: &reqwest::Error) -> RequestError {
    let class = if error.is_timeout() {
        ErrorClass::Timeout
    } else if error.is_connect() {
        ErrorClass::Connect
    } else if error.is_decode() {
        ErrorClass::Decode
    } else {
        ErrorClass::Io
    };
    RequestError::new(class, chain(error))
}

/// Reading a body fails when the connection breaks (reqwest calls that a decode error).
pub(crate) fn classify_body(error: &reqwest::Error) -> RequestError {
    let class = if error.is_timeout() {
        ErrorClass::Timeout
    } else {
        ErrorClass::Io
    };
    RequestError::new(class, chain(error))
}
