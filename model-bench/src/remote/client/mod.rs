//! Protocol clients: one request of an endpoint, sent and checked. [`Client::connect`] picks the
//! transport once — bare HTTP/1.1 or reqwest's pool for REST, a bare h2 driver or tonic's channel
//! for gRPC — and encodes the payload once; every request after that only clones
//! reference-counted bytes, behind the one `Transport` trait (`transport.rs`). A mixed
//! workload's members, drawn per request by weight from each session's own sequence, live here
//! too.

mod grpc_h2;
mod grpc_status;
mod grpc_tonic;
mod h2_conn;
mod h2_frames;
mod http1;
mod http1_conn;
mod openai;
mod rest_pool;
mod transport;

use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use prost::Message;

use crate::remote::endpoint::{AnyEndpoint, AnyRequest, Endpoint, Request, V2Protocol};
use crate::remote::error::RequestError;
use crate::remote::llm::StreamRecord;
pub use crate::remote::oip::grpc::encode_grpc_request;
use crate::remote::oip::proto;
use crate::results::Protocol;
use crate::results::{PromptsInfo, Slo};
use crate::stats::rng::SplitMix64;
use grpc_h2::{GrpcH2, H2};
use grpc_tonic::Tonic;
use http1::Http1;
use http1_conn::{Http1Conn, Http1Post};
use openai::OpenAi;
use rest_pool::{RestPool, RestRequest};
pub use transport::{ClientError, ModelMetadata, Scheduled, ServerMetadata, TensorInfo};
use transport::{Target, Transport};

/// What a successful request gave besides its timing: a token stream's figures, for endpoints
/// that stream (`None` for the others).
pub type Reply = Option<StreamRecord>;

/// One request on `transport` (`request` of a schedule, or the next in turn): a stream where it
/// streams, else a checked answer.
async fn exchange(
    transport: &dyn Transport,
    http1: &mut Http1Conn,
    request: Option<Scheduled>,
) -> Result<Reply, RequestError> {
    if let Some(stream) = transport.infer_stream(request, http1) {
        return stream.await.map(Some);
    }
    transport.infer_on(http1).await.map(|()| None)
}

/// A ready-to-send request for one endpoint. Cheap to share across tasks (`&self` methods).
pub struct Client {
    protocol: Protocol,
    base_url: String,
    transport: Box<dyn Transport>,
    /// A mixed workload: which member each request goes to.
    mix: Option<Mix>,
    /// An LLM endpoint's prompts, as results describe them.
    prompts: Option<PromptsInfo>,
    /// An LLM endpoint's objectives for goodput.
    stream_slo: Slo,
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
    draws: SplitMix64,
    member: usize,
    others: Vec<Session>,
    /// The next request's place in the load's schedule, when it has one (an open loop's
    /// arrival: a trace replay sends that row).
    request: Option<Scheduled>,
    /// The conversation this user is holding (multi-turn endpoints).
    dialogue: Option<crate::remote::llm::Dialogue>,
}

impl Default for Session {
    fn default() -> Self {
        // Every session draws its own reproducible sequence: the n-th session made in a
        // process always starts from the same seed.
        static SESSIONS: AtomicUsize = AtomicUsize::new(0);
        let n = SESSIONS.fetch_add(1, Ordering::Relaxed) as u64;
        Session {
            http1: Http1Conn::default(),
            draws: SplitMix64(0x6d69_7865_u64 ^ n.wrapping_mul(0x9E37_79B9)),
            member: 0,
            others: Vec::new(),
            request: None,
            dialogue: None,
        }
    }
}

impl Session {
    /// The mix member the last request went to (0: the client's own endpoint).
    pub fn member(&self) -> usize {
        self.member
    }

    /// After a conversation's turn was answered, when the user's next turn is due, once;
    /// `None` when no conversation goes on (its last turn came, a turn failed, or the endpoint
    /// has none).
    pub fn take_pause(&mut self) -> Option<crate::remote::llm::Due> {
        self.dialogue
            .as_mut()
            .and_then(crate::remote::llm::Dialogue::take_pause)
    }

    /// Makes the next request `request` of the load's schedule (an open loop's arrival, from
    /// [`Client::prepare`]), so a trace replay sends that row's prompt.
    pub fn schedule_next(&mut self, request: Scheduled) {
        self.request = Some(request);
    }
}

impl Client {
    /// Builds the client for `endpoint` at `base_url` and encodes its payload. Sends nothing:
    /// gRPC channels connect lazily, REST pools on first use. Async only because gRPC channels
    /// start a task on the current tokio runtime. A mix's members are connected by the caller
    /// and joined with [`with_mix`](Client::with_mix).
    pub async fn connect<R: Request>(
        endpoint: &Endpoint<R>,
        base_url: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Client, ClientError> {
        Client::connect_any(&endpoint.clone().into_any(), base_url, env).await
    }

    async fn connect_any(
        endpoint: &AnyEndpoint,
        base_url: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Client, ClientError> {
        endpoint.validate_any(&env)?;
        crate::remote::endpoint::check_url(base_url, None)?;
        let headers = endpoint.header_values(&env)?;
        let base_url = base_url.trim_end_matches('/').to_string();
        let common = &endpoint.common;
        let connections = common.connections.unwrap_or(1);
        let tls_ca = common.tls_ca.as_ref().map(|ca| ca.pem()).transpose()?;
        let v2 = endpoint.v2_request();
        let target = Target {
            protocol: endpoint.protocol(),
            base_url: base_url.clone(),
            model: endpoint.name().to_owned(),
            version: v2.and_then(|v2| v2.model_version.clone()),
            expected: v2
                .map(|v2| v2.expected_outputs.clone())
                .unwrap_or_default()
                .into(),
            timeout: common.timeout,
        };
        // The one place that looks at the kind and protocol: every request after this goes
        // through the transport chosen here.
        let mut prompts = None;
        let mut stream_slo = Slo::default();
        let transport: Box<dyn Transport> = match endpoint.request() {
            AnyRequest::V2(request) if request.protocol == V2Protocol::Grpc => {
                let body = encode_grpc_request(&request.infer_request()).encode_to_vec();
                let direct = GrpcH2::new(&base_url, &body, &headers, common.timeout, connections);
                let probes = Tonic::new(
                    target,
                    Bytes::from(body),
                    &headers,
                    connections,
                    tls_ca.as_deref(),
                )?;
                match direct {
                    Some(direct) => Box::new(H2::new(direct, probes)),
                    None => Box::new(probes),
                }
            }
            AnyRequest::V2(_) | AnyRequest::Post(_) => {
                let request = RestRequest::new(endpoint.request(), &target)?;
                let pool = RestPool::new(common, target, &request, &headers, tls_ca.as_deref())?;
                if common.http2 {
                    Box::new(pool)
                } else {
                    Http1::or_pool(pool, &request, &headers)
                }
            }
            AnyRequest::OpenAi(openai) => {
                let request = RestRequest::new(endpoint.request(), &target)?;
                let pool = RestPool::new(common, target, &request, &headers, tls_ca.as_deref())?;
                let bare = if common.http2 {
                    None
                } else {
                    let mut bare_headers = headers.clone();
                    bare_headers.push(("Content-Type".into(), request.content_type.clone()));
                    Http1Post::new(&request.infer_url, &bare_headers)
                };
                let (transport, info) = OpenAi::new(openai, pool, bare)?;
                prompts = Some(info);
                stream_slo = openai.llm().slo;
                Box::new(transport)
            }
        };
        Ok(Client {
            protocol: endpoint.protocol(),
            base_url,
            transport,
            mix: None,
            prompts,
            stream_slo,
        })
    }

    /// An LLM endpoint's prompts: where they came from, their lengths, how tokens were counted.
    pub fn prompts(&self) -> Option<&PromptsInfo> {
        self.prompts.as_ref()
    }

    /// An LLM endpoint's goodput objectives (none set for other endpoints).
    pub fn stream_slo(&self) -> Slo {
        self.stream_slo
    }

    /// The protocol of the client's own endpoint.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// Sends one inference request and checks its response. Never waits longer than the
    /// endpoint's timeout.
    pub async fn send(&self) -> Result<(), RequestError> {
        self.transport.infer().await
    }

    /// A new worker's state; its connection opens on its first request.
    pub fn session(&self) -> Session {
        Session::default()
    }

    /// Like [`send`](Client::send), on the worker's own connection where the transport has one
    /// (REST over plain HTTP/1.1); otherwise the same as `send`. In a mixed workload the
    /// session first draws the member by weight ([`Session::member`] says which).
    /// Its answer carries the stream's figures where the endpoint streams tokens.
    pub async fn send_in(&self, session: &mut Session) -> Result<Reply, RequestError> {
        let request = session.request.take();
        // A conversation is held with the endpoint itself (a mix with sessions is refused).
        let start = request.as_ref().map(|scheduled| scheduled.index);
        if let Some(turn) =
            self.transport
                .converse(&mut session.dialogue, start, &mut session.http1)
        {
            session.member = 0;
            return turn.await.map(Some);
        }
        if let Some(mix) = &self.mix {
            let member = mix.pick(session.draws.next_open01());
            session.member = member;
            if member > 0 {
                if session.others.len() < mix.others.len() {
                    session
                        .others
                        .resize_with(mix.others.len(), Session::default);
                }
                let other = &mut session.others[member - 1];
                let transport = mix.others[member - 1].transport.as_ref();
                return exchange(transport, &mut other.http1, request).await;
            }
        }
        exchange(self.transport.as_ref(), &mut session.http1, request).await
    }

    /// Whether this endpoint's users hold multi-turn conversations (its requests are turns).
    pub fn holds_conversations(&self) -> bool {
        self.transport.holds_conversations()
    }

    /// After a turn was answered and recorded, builds the user's next turn ahead of its send:
    /// the load loops call it before they wait out the pause, so encoding the conversation so
    /// far is not in the next turn's latency.
    pub fn prepare_turn(&self, session: &mut Session) {
        if let Some(dialogue) = session.dialogue.as_mut() {
            self.transport.prepare_turn(dialogue);
        }
    }

    /// Request `index` of the load's schedule, made ready before it is due: a trace replay's
    /// body is built here, on the dispatcher, ahead of its send time, so building it is not
    /// part of its latency.
    pub fn prepare(&self, index: u64) -> Scheduled {
        self.transport.prepare(index)
    }

    /// A trace replay's schedule (when each request is due from the run's start); `None` for
    /// endpoints that replay none.
    pub fn schedule(&self) -> Option<crate::remote::llm::ReplaySchedule> {
        self.transport.schedule()
    }

    /// Server live, server ready and model ready (for every member of a mix); the first that
    /// fails is the error.
    pub async fn health(&self) -> Result<(), RequestError> {
        self.transport.health().await?;
        if let Some(mix) = &self.mix {
            for (name, other) in mix.names[1..].iter().zip(&mix.others) {
                other.transport.health().await.map_err(|mut error| {
                    error.message = format!("mix member `{name}`: {}", error.message);
                    error
                })?;
            }
        }
        Ok(())
    }

    /// The model's metadata (`GET /v2/models/{m}` or `ModelMetadata`).
    pub async fn metadata(&self) -> Result<ModelMetadata, RequestError> {
        self.transport.metadata().await
    }

    /// The server's metadata (`GET /v2` or `ServerMetadata`).
    pub async fn server_metadata(&self) -> Result<ServerMetadata, RequestError> {
        self.transport.server_metadata().await
    }

    /// Triton's statistics for this model over gRPC (`ModelStatistics`, Triton's superset of
    /// the service); `None` for a REST endpoint, which reads them with a GET instead.
    pub async fn model_statistics(
        &self,
    ) -> Option<Result<proto::ModelStatisticsResponse, RequestError>> {
        match self.transport.model_statistics() {
            Some(read) => Some(read.await),
            None => None,
        }
    }

    /// Where the requests go (`http://host:port`).
    pub fn base_url(&self) -> &str {
        &self.base_url
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
}
