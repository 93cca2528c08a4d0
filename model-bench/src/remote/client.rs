//! Protocol clients: one request of an endpoint, sent and checked. The payload is encoded once
//! in [`Client::connect`]; [`Client::send`] only clones reference-counted bytes.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes};
use http::uri::PathAndQuery;
use prost::Message;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::metadata::{Ascii, MetadataKey, MetadataValue};
use tonic::transport::{Channel, ClientTlsConfig};

use super::endpoint::{Endpoint, EndpointError, ExpectedOutput, Protocol};
use super::error::{chain, snippet, ErrorClass, RequestError};
use super::grpc_h2::GrpcH2;
use super::http1::{Http1Conn, Http1Request};
use super::proto;
use super::v2;

/// Why a client could not be built (before any request).
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{0}")]
    Endpoint(#[from] EndpointError),
    #[error("cannot encode the request for model `{model}`: {message}")]
    Encode { model: String, message: String },
    #[error("cannot set up the {protocol} client for {url}: {message}")]
    Setup {
        protocol: Protocol,
        url: String,
        message: String,
    },
}

/// A tensor's description from model metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorInfo {
    pub name: String,
    pub datatype: String,
    pub shape: Vec<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelMetadata {
    pub name: String,
    pub platform: String,
    pub inputs: Vec<TensorInfo>,
    pub outputs: Vec<TensorInfo>,
}

/// A ready-to-send request for one endpoint. Cheap to share across tasks (`&self` methods).
pub struct Client {
    protocol: Protocol,
    model: String,
    version: Option<String>,
    base_url: String,
    expected: Arc<[ExpectedOutput]>,
    timeout: Duration,
    next: AtomicUsize,
    transport: Transport,
    /// A mixed workload: which member each request goes to.
    mix: Option<Mix>,
}

/// The members of a mixed workload: this client's own endpoint first, then the others, each
/// with its weight.
struct Mix {
    names: Vec<String>,
    weights: Vec<f64>,
    /// Running sums of the weights over their total, the last 1.
    cumulative: Vec<f64>,
    /// The other members' clients: `others[i]` is member `i + 1`.
    others: Vec<Client>,
}

impl Mix {
    /// The member a uniform draw in [0, 1) picks.
    fn pick(&self, draw: f64) -> usize {
        self.cumulative
            .iter()
            .position(|&edge| draw < edge)
            .unwrap_or(self.cumulative.len() - 1)
    }
}

/// One load worker's own state: for REST over plain HTTP/1.1, its own connection, so requests
/// skip the shared pool (see [`Client::send_in`]). Closed-loop workers keep one each; an open
/// loop lends idle ones to its requests. In a mixed workload it also draws each request's
/// member and keeps one state per member.
pub struct Session {
    http1: Http1Conn,
    draws: crate::stats::rng::SplitMix64,
    member: usize,
    others: Vec<Session>,
}

impl Default for Session {
    fn default() -> Self {
        // Every session draws its own reproducible sequence: the n-th session made in a
        // process always starts from the same seed.
        static SESSIONS: AtomicUsize = AtomicUsize::new(0);
        let n = SESSIONS.fetch_add(1, Ordering::Relaxed) as u64;
        Session {
            http1: Http1Conn::default(),
            draws: crate::stats::rng::SplitMix64(0x6d69_7865_u64 ^ n.wrapping_mul(0x9E37_79B9)),
            member: 0,
            others: Vec::new(),
        }
    }
}

impl Session {
    /// The mix member the last request went to (0: the client's own endpoint).
    pub fn member(&self) -> usize {
        self.member
    }
}

type Metadata = Vec<(MetadataKey<Ascii>, MetadataValue<Ascii>)>;

fn with_metadata<T>(message: T, metadata: &Metadata) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    for (key, value) in metadata {
        request.metadata_mut().insert(key.clone(), value.clone());
    }
    request
}

enum Transport {
    Rest {
        /// Each carries the request headers as its defaults, so nothing is copied per request.
        clients: Vec<reqwest::Client>,
        infer_url: reqwest::Url,
        body: Bytes,
        /// `Inference-Header-Content-Length` for the binary extension.
        binary_header: Option<reqwest::header::HeaderValue>,
        /// The same request for a worker's own HTTP/1.1 connection (plain `http://` only).
        bare: Option<Http1Request>,
    },
    Grpc {
        /// For health, metadata, and `ModelInfer` over TLS.
        channels: Vec<Channel>,
        request: Bytes,
        metadata: Metadata,
        /// `ModelInfer` straight over HTTP/2 (plain `http://` only).
        direct: Option<GrpcH2>,
    },
}

pub(crate) const MODEL_INFER: &str = "/inference.GRPCInferenceService/ModelInfer";

impl Client {
    /// Builds the client for `endpoint` at `base_url` and encodes its payload. Sends nothing:
    /// gRPC channels connect lazily, REST pools on first use. Async only because gRPC channels
    /// start a task on the current tokio runtime.
    pub async fn connect(
        endpoint: &Endpoint,
        base_url: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Client, ClientError> {
        endpoint.validate(&env)?;
        super::endpoint::check_url(base_url, None)?;
        let headers = endpoint.header_values(&env)?;
        let setup = |message: String| ClientError::Setup {
            protocol: endpoint.protocol,
            url: super::endpoint::redact_url(base_url),
            message,
        };
        let encode = |message: String| ClientError::Encode {
            model: endpoint.model.clone(),
            message,
        };
        let base_url = base_url.trim_end_matches('/').to_string();
        let connections = endpoint.connections.unwrap_or(1);
        let tls_ca = endpoint.tls_ca.as_ref().map(|ca| ca.pem()).transpose()?;
        let transport = match endpoint.protocol {
            Protocol::RestJson | Protocol::RestBinary | Protocol::HttpPost => {
                let mut header_map = reqwest::header::HeaderMap::new();
                for (name, value) in &headers {
                    let name =
                        reqwest::header::HeaderName::from_bytes(name.as_bytes()).map_err(|e| {
                            ClientError::Endpoint(EndpointError::InvalidHeader {
                                header: name.clone(),
                                message: e.to_string(),
                            })
                        })?;
                    let mut value =
                        reqwest::header::HeaderValue::from_str(value).map_err(|_| {
                            ClientError::Endpoint(EndpointError::InvalidHeader {
                                header: name.to_string(),
                                message: "the value is not a valid header value".into(),
                            })
                        })?;
                    value.set_sensitive(true);
                    header_map.insert(name, value);
                }
                let (body, content_type, binary_header) = match endpoint.protocol {
                    Protocol::RestJson => (
                        v2::encode_json_request(endpoint).map_err(encode)?,
                        "application/json".to_string(),
                        None,
                    ),
                    Protocol::RestBinary => {
                        let (body, header_len) =
                            v2::encode_binary_request(endpoint).map_err(encode)?;
                        (
                            body,
                            "application/octet-stream".to_string(),
                            Some(reqwest::header::HeaderValue::from(header_len)),
                        )
                    }
                    _ => {
                        let post = endpoint.body.as_ref().ok_or(EndpointError::NoBody)?;
                        (post.bytes.clone(), post.content_type.clone(), None)
                    }
                };
                let content_type_value = reqwest::header::HeaderValue::from_str(&content_type)
                    .map_err(|_| setup(format!("invalid content type `{content_type}`")))?;
                header_map.insert(reqwest::header::CONTENT_TYPE, content_type_value);
                let infer_url = match endpoint.protocol {
                    Protocol::HttpPost => format!(
                        "{base_url}/{}",
                        endpoint
                            .path
                            .as_deref()
                            .unwrap_or("")
                            .trim_start_matches('/')
                    ),
                    _ => format!(
                        "{}/infer",
                        model_path(
                            &base_url,
                            &endpoint.model,
                            endpoint.model_version.as_deref()
                        )
                    ),
                };
                let infer_url = reqwest::Url::parse(&infer_url)
                    .map_err(|e| setup(format!("invalid URL {infer_url}: {e}")))?;
                let root = tls_ca
                    .as_deref()
                    .map(reqwest::Certificate::from_pem)
                    .transpose()
                    .map_err(|e| setup(format!("the TLS CA certificate: {}", chain(&e))))?;
                let clients = (0..connections)
                    .map(|_| {
                        let mut builder = reqwest::Client::builder()
                            .default_headers(header_map.clone())
                            .timeout(endpoint.timeout)
                            .connect_timeout(endpoint.timeout)
                            .pool_max_idle_per_host(usize::MAX)
                            .tcp_nodelay(true)
                            .no_proxy();
                        if let Some(root) = &root {
                            builder = builder.add_root_certificate(root.clone());
                        }
                        let builder = if endpoint.http2 {
                            builder.http2_prior_knowledge()
                        } else {
                            builder.http1_only()
                        };
                        builder.build().map_err(|e| setup(chain(&e)))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let bare = if endpoint.http2 {
                    None
                } else {
                    let mut bare_headers = headers.clone();
                    bare_headers.push(("Content-Type".into(), content_type));
                    if let Some(value) = &binary_header {
                        let value = value.to_str().unwrap_or_default().to_string();
                        bare_headers.push(("Inference-Header-Content-Length".into(), value));
                    }
                    Http1Request::post(&infer_url, &bare_headers, &body)
                };
                Transport::Rest {
                    clients,
                    infer_url,
                    body: Bytes::from(body),
                    binary_header,
                    bare,
                }
            }
            Protocol::Grpc => {
                let request = encode_grpc_request(endpoint).encode_to_vec();
                let mut metadata = Vec::with_capacity(headers.len());
                for (name, value) in &headers {
                    let key = MetadataKey::from_bytes(name.to_ascii_lowercase().as_bytes())
                        .map_err(|e| {
                            ClientError::Endpoint(EndpointError::InvalidHeader {
                                header: name.clone(),
                                message: e.to_string(),
                            })
                        })?;
                    let value = MetadataValue::try_from(value.as_str()).map_err(|_| {
                        ClientError::Endpoint(EndpointError::InvalidHeader {
                            header: name.clone(),
                            message: "the value is not valid ASCII metadata".into(),
                        })
                    })?;
                    metadata.push((key, value));
                }
                let channels = (0..connections)
                    .map(|_| {
                        grpc_channel(&base_url, endpoint.timeout, tls_ca.as_deref()).map_err(setup)
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let direct =
                    GrpcH2::new(&base_url, &request, &headers, endpoint.timeout, connections);
                Transport::Grpc {
                    channels,
                    request: Bytes::from(request),
                    metadata,
                    direct,
                }
            }
        };
        Ok(Client {
            protocol: endpoint.protocol,
            model: endpoint.model.clone(),
            version: endpoint.model_version.clone(),
            base_url,
            expected: endpoint.expected_outputs.clone().into(),
            timeout: endpoint.timeout,
            next: AtomicUsize::new(0),
            transport,
            mix: None,
        })
    }

    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    fn pick<T>(&self, items: &[T]) -> usize {
        if items.len() == 1 {
            0
        } else {
            self.next.fetch_add(1, Ordering::Relaxed) % items.len()
        }
    }

    /// Sends one inference request and checks its response. Never waits longer than the
    /// endpoint's timeout.
    pub async fn send(&self) -> Result<(), RequestError> {
        // reqwest (connect to end of body) and tonic's channel (`Endpoint::timeout`) each bound a
        // request by the endpoint's timeout already; a second timer per request would cost
        // throughput for nothing.
        self.send_once().await
    }

    async fn send_once(&self) -> Result<(), RequestError> {
        match &self.transport {
            Transport::Rest {
                clients,
                infer_url,
                body,
                binary_header,
                ..
            } => {
                let client = &clients[self.pick(clients)];
                let mut request = client.post(infer_url.clone()).body(body.clone());
                if let Some(value) = binary_header {
                    request = request.header(v2::HEADER_LENGTH, value.clone());
                }
                let response = request.send().await.map_err(|e| classify_reqwest(&e))?;
                let status = response.status().as_u16();
                let header_len = response.headers().get(v2::HEADER_LENGTH).cloned();
                let body = response.bytes().await.map_err(|e| classify_body(&e))?;
                self.check_rest(
                    status,
                    header_len.as_ref().map(|v| v.as_bytes()),
                    &body,
                    infer_url,
                )
            }
            Transport::Grpc {
                direct: Some(direct),
                ..
            } => {
                let response = direct.infer(self.timeout).await?;
                check_grpc_response(&response, &self.expected)
                    .map_err(|message| RequestError::new(ErrorClass::Decode, message))
            }
            Transport::Grpc {
                channels,
                request,
                metadata,
                ..
            } => {
                let channel = channels[self.pick(channels)].clone();
                let mut grpc = tonic::client::Grpc::new(channel);
                grpc.ready().await.map_err(|e| {
                    RequestError::new(
                        ErrorClass::Connect,
                        format!("{}: {}", self.base_url, chain(&e)),
                    )
                })?;
                let call = with_metadata(request.clone(), metadata);
                let response = grpc
                    .unary(call, PathAndQuery::from_static(MODEL_INFER), PreEncoded)
                    .await
                    .map_err(|status| classify_status(&status, &self.base_url))?;
                check_grpc_response(&response.into_inner(), &self.expected)
                    .map_err(|message| RequestError::new(ErrorClass::Decode, message))
            }
        }
    }

    /// A new worker's state; its connection opens on its first request.
    pub fn session(&self) -> Session {
        Session::default()
    }

    /// Like [`send`](Client::send), on the worker's own connection where the protocol has one
    /// (REST over plain HTTP/1.1); otherwise the same as `send`. In a mixed workload the
    /// session first draws the member by weight ([`Session::member`] says which).
    pub async fn send_in(&self, session: &mut Session) -> Result<(), RequestError> {
        if let Some(mix) = &self.mix {
            let member = mix.pick(session.draws.next_open01());
            session.member = member;
            if member > 0 {
                if session.others.len() < mix.others.len() {
                    session
                        .others
                        .resize_with(mix.others.len(), Session::default);
                }
                return mix.others[member - 1]
                    .send_own_in(&mut session.others[member - 1])
                    .await;
            }
        }
        self.send_own_in(session).await
    }

    /// Sends this client's own request (never a mix member's).
    async fn send_own_in(&self, session: &mut Session) -> Result<(), RequestError> {
        match &self.transport {
            Transport::Rest {
                bare: Some(request),
                infer_url,
                ..
            } => {
                let response = session.http1.round_trip(request, self.timeout).await?;
                self.check_rest(
                    response.status,
                    response.inference_header_len,
                    response.body,
                    infer_url,
                )
            }
            _ => self.send().await,
        }
    }

    /// Checks a REST response: a 2xx status, then (for V2 endpoints) the V2 body.
    fn check_rest(
        &self,
        status: u16,
        header_len: Option<&[u8]>,
        body: &[u8],
        infer_url: &reqwest::Url,
    ) -> Result<(), RequestError> {
        if !(200..300).contains(&status) {
            let shown = http::StatusCode::from_u16(status)
                .map(|s| s.to_string())
                .unwrap_or_else(|_| status.to_string());
            return Err(RequestError::new(
                ErrorClass::HttpStatus(status),
                format!("HTTP {shown} from {infer_url}: {}", snippet(body, 200)),
            ));
        }
        if self.protocol == Protocol::HttpPost {
            return Ok(());
        }
        let header_len = header_len
            .map(|v| {
                std::str::from_utf8(v)
                    .ok()
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .ok_or_else(|| {
                        RequestError::new(
                            ErrorClass::Decode,
                            "Inference-Header-Content-Length is not a number",
                        )
                    })
            })
            .transpose()?;
        v2::check_response(body, header_len, &self.expected)
            .map_err(|message| RequestError::new(ErrorClass::Decode, message))
    }

    /// Server live, server ready and model ready (for every member of a mix); the first that
    /// fails is the error.
    pub async fn health(&self) -> Result<(), RequestError> {
        self.own_health().await?;
        if let Some(mix) = &self.mix {
            for (name, other) in mix.names[1..].iter().zip(&mix.others) {
                other.own_health().await.map_err(|mut error| {
                    error.message = format!("mix member `{name}`: {}", error.message);
                    error
                })?;
            }
        }
        Ok(())
    }

    async fn own_health(&self) -> Result<(), RequestError> {
        match &self.transport {
            Transport::Rest { clients, .. } => {
                let client = &clients[0];
                let mut paths = Vec::new();
                if self.protocol == Protocol::HttpPost {
                    // No health route to rely on: any HTTP answer proves the server is there.
                    let url = format!("{}/", self.base_url);
                    let result = client.get(&url).send().await;
                    return result.map(|_| ()).map_err(|e| classify_reqwest(&e));
                }
                paths.push(format!("{}/v2/health/live", self.base_url));
                paths.push(format!("{}/v2/health/ready", self.base_url));
                paths.push(format!(
                    "{}/ready",
                    model_path(&self.base_url, &self.model, self.version.as_deref())
                ));
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
            Transport::Grpc {
                channels, metadata, ..
            } => {
                let mut client = service_client(channels);
                let fail = |what: &str, status: tonic::Status| {
                    let mut error = classify_status(&status, &self.base_url);
                    error.message = format!("{what}: {}", error.message);
                    error
                };
                let live = client
                    .server_live(with_metadata(proto::ServerLiveRequest {}, metadata))
                    .await
                    .map_err(|s| fail("ServerLive", s))?;
                let ready = client
                    .server_ready(with_metadata(proto::ServerReadyRequest {}, metadata))
                    .await
                    .map_err(|s| fail("ServerReady", s))?;
                let model = client
                    .model_ready(with_metadata(
                        proto::ModelReadyRequest {
                            name: self.model.clone(),
                            version: self.version.clone().unwrap_or_default(),
                        },
                        metadata,
                    ))
                    .await
                    .map_err(|s| fail("ModelReady", s))?;
                let not = |what: String| {
                    Err(RequestError::new(
                        ErrorClass::GrpcCode("not_ready".into()),
                        what,
                    ))
                };
                if !live.into_inner().live {
                    return not(format!("{}: the server is not live", self.base_url));
                }
                if !ready.into_inner().ready {
                    return not(format!("{}: the server is not ready", self.base_url));
                }
                if !model.into_inner().ready {
                    return not(format!(
                        "{}: model `{}` is not ready",
                        self.base_url, self.model
                    ));
                }
                Ok(())
            }
        }
    }

    /// The model's metadata (`GET /v2/models/{m}` or `ModelMetadata`).
    pub async fn metadata(&self) -> Result<ModelMetadata, RequestError> {
        match &self.transport {
            Transport::Rest { clients, .. } => {
                let url = model_path(&self.base_url, &self.model, self.version.as_deref());
                let response = clients[0]
                    .get(&url)
                    .send()
                    .await
                    .map_err(|e| classify_reqwest(&e))?;
                let status = response.status();
                let body = response.bytes().await.map_err(|e| classify_reqwest(&e))?;
                if !status.is_success() {
                    return Err(RequestError::new(
                        ErrorClass::HttpStatus(status.as_u16()),
                        format!("GET {url}: HTTP {status}: {}", snippet(&body, 200)),
                    ));
                }
                let decode = |message: String| {
                    RequestError::new(ErrorClass::Decode, format!("GET {url}: {message}"))
                };
                let value: serde_json::Value =
                    serde_json::from_slice(&body).map_err(|e| decode(e.to_string()))?;
                let tensors = |key: &str| -> Result<Vec<TensorInfo>, RequestError> {
                    value
                        .get(key)
                        .and_then(|v| v.as_array())
                        .map(|items| items.as_slice())
                        .unwrap_or_default()
                        .iter()
                        .map(|item| {
                            Ok(TensorInfo {
                                name: item
                                    .get("name")
                                    .and_then(|v| v.as_str())
                                    .unwrap_or_default()
                                    .to_string(),
                                datatype: item
                                    .get("datatype")
                                    .and_then(|v| v.as_str())
                                    .unwrap_or_default()
                                    .to_string(),
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
                    platform: value
                        .get("platform")
                        .and_then(|v| v.as_str())
                        .unwrap_or_default()
                        .to_string(),
                    inputs: tensors("inputs")?,
                    outputs: tensors("outputs")?,
                })
            }
            Transport::Grpc {
                channels, metadata, ..
            } => {
                let mut client = service_client(channels);
                let request = with_metadata(
                    proto::ModelMetadataRequest {
                        name: self.model.clone(),
                        version: self.version.clone().unwrap_or_default(),
                    },
                    metadata,
                );
                let response = client
                    .model_metadata(request)
                    .await
                    .map_err(|status| classify_status(&status, &self.base_url))?
                    .into_inner();
                let convert = |items: Vec<proto::model_metadata_response::TensorMetadata>| {
                    items
                        .into_iter()
                        .map(|t| TensorInfo {
                            name: t.name,
                            datatype: t.datatype,
                            shape: t.shape,
                        })
                        .collect()
                };
                Ok(ModelMetadata {
                    name: response.name,
                    platform: response.platform,
                    inputs: convert(response.inputs),
                    outputs: convert(response.outputs),
                })
            }
        }
    }
}

impl Client {
    /// Makes this client a mixed workload: its own endpoint named `own` with weight
    /// `own_weight`, and each `(name, weight, client)` of `others`.
    pub fn with_mix(mut self, own: (String, f64), others: Vec<(String, f64, Client)>) -> Self {
        let mut names = vec![own.0];
        let mut weights = vec![own.1];
        let mut clients = Vec::with_capacity(others.len());
        for (name, weight, client) in others {
            names.push(name);
            weights.push(weight);
            clients.push(client);
        }
        let total: f64 = weights.iter().sum();
        let cumulative = weights
            .iter()
            .scan(0.0, |sum, weight| {
                *sum += weight;
                Some(*sum / total)
            })
            .collect();
        self.mix = Some(Mix {
            names,
            weights,
            cumulative,
            others: clients,
        });
        self
    }

    /// A mixed workload's members, `(name, weight)`, this client's own first; empty without
    /// a mix.
    pub fn mix_members(&self) -> Vec<(String, f64)> {
        self.mix
            .as_ref()
            .map(|mix| {
                mix.names
                    .iter()
                    .cloned()
                    .zip(mix.weights.iter().copied())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Triton's statistics for this model over gRPC (`ModelStatistics`, Triton's superset of
    /// the service); `None` for a REST endpoint, which reads them with a GET instead.
    pub async fn model_statistics(
        &self,
    ) -> Option<Result<proto::ModelStatisticsResponse, RequestError>> {
        let Transport::Grpc {
            channels, metadata, ..
        } = &self.transport
        else {
            return None;
        };
        let request = with_metadata(
            proto::ModelStatisticsRequest {
                name: self.model.clone(),
                version: self.version.clone().unwrap_or_default(),
            },
            metadata,
        );
        Some(
            service_client(channels)
                .model_statistics(request)
                .await
                .map(tonic::Response::into_inner)
                .map_err(|status| classify_status(&status, &self.base_url)),
        )
    }

    /// Where the requests go (`http://host:port`).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }
}

/// The generated client for the calls outside the hot path (health, metadata).
fn service_client(
    channels: &[Channel],
) -> proto::grpc_inference_service_client::GrpcInferenceServiceClient<Channel> {
    proto::grpc_inference_service_client::GrpcInferenceServiceClient::new(channels[0].clone())
}

fn model_path(base_url: &str, model: &str, version: Option<&str>) -> String {
    match version {
        Some(version) => format!("{base_url}/v2/models/{model}/versions/{version}"),
        None => format!("{base_url}/v2/models/{model}"),
    }
}

/// The `ModelInferRequest` a gRPC client sends for `endpoint` (inputs in `raw_input_contents`).
pub fn encode_grpc_request(endpoint: &Endpoint) -> proto::ModelInferRequest {
    proto::ModelInferRequest {
        model_name: endpoint.model.clone(),
        model_version: endpoint.model_version.clone().unwrap_or_default(),
        inputs: endpoint
            .inputs
            .iter()
            .map(|t| proto::model_infer_request::InferInputTensor {
                name: t.name().to_string(),
                datatype: t.datatype().as_str().to_string(),
                shape: t.shape().to_vec(),
                ..Default::default()
            })
            .collect(),
        outputs: endpoint
            .requested_outputs
            .iter()
            .map(
                |name| proto::model_infer_request::InferRequestedOutputTensor {
                    name: name.clone(),
                    ..Default::default()
                },
            )
            .collect(),
        raw_input_contents: endpoint
            .inputs
            .iter()
            .map(|t| Bytes::copy_from_slice(t.raw()))
            .collect(),
        ..Default::default()
    }
}

fn grpc_channel(
    base_url: &str,
    timeout: Duration,
    tls_ca: Option<&[u8]>,
) -> Result<Channel, String> {
    let mut builder = tonic::transport::Endpoint::from_shared(base_url.to_string())
        .map_err(|e| chain(&e))?
        .connect_timeout(timeout)
        .timeout(timeout)
        .tcp_nodelay(true);
    if base_url.starts_with("https://") {
        let mut tls = ClientTlsConfig::new().with_native_roots();
        if let Some(pem) = tls_ca {
            tls = tls.ca_certificate(tonic::transport::Certificate::from_pem(pem));
        }
        builder = builder.tls_config(tls).map_err(|e| chain(&e))?;
    }
    Ok(builder.connect_lazy())
}

/// Checks a gRPC infer response: every output's data (raw or typed) fits its shape.
pub(crate) fn check_grpc_response(
    response: &proto::ModelInferResponse,
    expected: &[ExpectedOutput],
) -> Result<(), String> {
    let raw = &response.raw_output_contents;
    if !raw.is_empty() && raw.len() != response.outputs.len() {
        return Err(format!(
            "{} raw output contents for {} outputs",
            raw.len(),
            response.outputs.len()
        ));
    }
    for (index, output) in response.outputs.iter().enumerate() {
        let (elements, datatype) =
            v2::output_header(&output.name, &output.shape, &output.datatype)?;
        if let Some(bytes) = raw.get(index) {
            if let Some(size) = datatype.element_size() {
                if bytes.len() as u64 != elements * size as u64 {
                    return Err(format!(
                        "output `{}`: {} raw bytes for shape {:?} of {datatype}",
                        output.name,
                        bytes.len(),
                        output.shape
                    ));
                }
            }
        } else {
            let count = output.contents.as_ref().map(contents_len).unwrap_or(0);
            if count != elements {
                return Err(format!(
                    "output `{}`: {count} values for shape {:?}",
                    output.name, output.shape
                ));
            }
        }
    }
    v2::check_expected(
        expected,
        response
            .outputs
            .iter()
            .map(|o| (o.name.as_str(), o.shape.as_slice())),
    )
}

fn contents_len(contents: &proto::InferTensorContents) -> u64 {
    (contents.bool_contents.len()
        + contents.int_contents.len()
        + contents.int64_contents.len()
        + contents.uint_contents.len()
        + contents.uint64_contents.len()
        + contents.fp32_contents.len()
        + contents.fp64_contents.len()
        + contents.bytes_contents.len()) as u64
}

fn classify_reqwest(error: &reqwest::Error) -> RequestError {
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
fn classify_body(error: &reqwest::Error) -> RequestError {
    let class = if error.is_timeout() {
        ErrorClass::Timeout
    } else {
        ErrorClass::Io
    };
    RequestError::new(class, chain(error))
}

fn classify_status(status: &tonic::Status, base_url: &str) -> RequestError {
    use tonic::Code;
    let message = format!(
        "{base_url}: {}: {}",
        status.code().description(),
        status.message()
    );
    let class = match status.code() {
        Code::Unavailable if is_connect_failure(status) => ErrorClass::Connect,
        Code::Internal if status.message().contains("decode") => ErrorClass::Decode,
        code => code_class(code, &status_text(status)),
    };
    let source = std::error::Error::source(status).map(chain);
    match source {
        Some(source) if !message.contains(&source) => {
            RequestError::new(class, format!("{message}: {source}"))
        }
        _ => RequestError::new(class, message),
    }
}

/// Refused, unreachable, or a TLS handshake the client would not complete (an untrusted or
/// mismatched certificate).
fn is_connect_failure(status: &tonic::Status) -> bool {
    ["connect", "refused", "certificate", "handshake"]
        .iter()
        .any(|needle| mentions(status, needle))
}

/// Whether the status's message or any of its sources mentions `needle` (lowercase).
fn mentions(status: &tonic::Status, needle: &str) -> bool {
    status_text(status).to_ascii_lowercase().contains(needle)
}

/// The status's message and its sources, on one line.
fn status_text(status: &tonic::Status) -> String {
    let mut text = status.message().to_string();
    if let Some(source) = std::error::Error::source(status) {
        text.push_str(&chain(source));
    }
    text
}

/// The class of a gRPC status `code` whose message (and sources) read `text`: the end of a
/// deadline is a timeout, whether as DEADLINE_EXCEEDED (the spec) or as CANCELLED "Timeout
/// expired" (tonic, client and server); any other code counts by its name.
pub(crate) fn code_class(code: tonic::Code, text: &str) -> ErrorClass {
    match code {
        tonic::Code::DeadlineExceeded => ErrorClass::Timeout,
        tonic::Code::Cancelled if text.to_ascii_lowercase().contains("timeout expired") => {
            ErrorClass::Timeout
        }
        code => ErrorClass::GrpcCode(code_name(code).to_string()),
    }
}

pub(crate) fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code;
    match code {
        Code::Ok => "ok",
        Code::Cancelled => "cancelled",
        Code::Unknown => "unknown",
        Code::InvalidArgument => "invalid_argument",
        Code::DeadlineExceeded => "deadline_exceeded",
        Code::NotFound => "not_found",
        Code::AlreadyExists => "already_exists",
        Code::PermissionDenied => "permission_denied",
        Code::ResourceExhausted => "resource_exhausted",
        Code::FailedPrecondition => "failed_precondition",
        Code::Aborted => "aborted",
        Code::OutOfRange => "out_of_range",
        Code::Unimplemented => "unimplemented",
        Code::Internal => "internal",
        Code::Unavailable => "unavailable",
        Code::DataLoss => "data_loss",
        Code::Unauthenticated => "unauthenticated",
    }
}

/// A codec that sends an already-encoded `ModelInferRequest` as is, so nothing is encoded inside
/// the timed request, and decodes the response with prost.
#[derive(Debug, Clone, Copy, Default)]
struct PreEncoded;

struct PreEncodedEncoder;
struct ResponseDecoder;

impl Codec for PreEncoded {
    type Encode = Bytes;
    type Decode = proto::ModelInferResponse;
    type Encoder = PreEncodedEncoder;
    type Decoder = ResponseDecoder;

    fn encoder(&mut self) -> Self::Encoder {
        PreEncodedEncoder
    }

    fn decoder(&mut self) -> Self::Decoder {
        ResponseDecoder
    }
}

impl Encoder for PreEncodedEncoder {
    type Item = Bytes;
    type Error = tonic::Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Self::Error> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for ResponseDecoder {
    type Item = proto::ModelInferResponse;
    type Error = tonic::Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Self::Item>, Self::Error> {
        let remaining = src.remaining();
        proto::ModelInferResponse::decode(src.copy_to_bytes(remaining))
            .map(Some)
            .map_err(|e| tonic::Status::internal(format!("cannot decode ModelInferResponse: {e}")))
    }
}
