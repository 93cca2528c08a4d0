//! What a remote bench talks to: protocol, URL (a default an environment variable overrides, or
//! the in-process reference server), model, inputs, headers (secrets read from the environment
//! and never written out), timeout and connection count. Plain data, checked before any load.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

pub use crate::results::Protocol;

use super::llm::{LlmRequest, TokenScript};
pub use super::oip::ExpectedOutput;
use super::oip::{InferRequest, Tensor, TensorError};
use super::reference::ReferenceConfig;

/// Where a header's value comes from. Values from the environment are secrets: they are sent,
/// never written to a report, a baseline or a log line.
#[derive(Clone, PartialEq)]
pub enum HeaderValue {
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
pub struct Header {
    /// The header's name, e.g. `authorization`.
    pub name: String,
    /// Where its value comes from.
    pub value: HeaderValue,
    /// Prefix put before an environment value, e.g. `Bearer `.
    pub prefix: String,
}

/// A fixed body for [`Protocol::HttpPost`].
#[derive(Debug, Clone, PartialEq)]
pub struct PostBody {
    /// Sent as the `content-type` header.
    pub content_type: String,
    /// The body, sent unchanged with every request.
    pub bytes: Vec<u8>,
}

/// Why an endpoint description cannot be used; reported before any request is sent.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EndpointError {
    /// The URL environment variable is unset or empty and there is no default URL or reference
    /// server to fall back on.
    #[error("no URL for the endpoint: set ${var}{}", if *.has_reference { "" } else { " (or give a default URL or a reference server)" })]
    NoUrl {
        /// The environment variable the URL is read from.
        var: String,
        /// Whether a reference server was configured (the message then does not suggest one).
        has_reference: bool,
    },
    /// None of a URL, a URL environment variable or a reference server was given.
    #[error("no URL for the endpoint: give `.url(…)`, `.url_from_env(…)` or `.reference(…)`")]
    NoUrlSource,
    /// The URL is not `http://` or `https://` with a host and a valid port.
    #[error("invalid URL `{url}`{}: {message}", origin.as_ref().map(|o| format!(" (from {o})")).unwrap_or_default())]
    InvalidUrl {
        /// The URL without user info or query string.
        url: String,
        /// Where it came from, e.g. `$MB_URL`; `None` for a URL given in code.
        origin: Option<String>,
        /// What is wrong with it.
        message: String,
    },
    /// A header's value is read from an environment variable that is not set.
    #[error("header `{header}` reads ${var}, which is not set")]
    MissingSecret {
        /// The header's name.
        header: String,
        /// The environment variable it reads.
        var: String,
    },
    /// A header's name or value is not valid HTTP (or gRPC metadata); found when the client is
    /// built.
    #[error("invalid header `{header}`: {message}")]
    InvalidHeader {
        /// The header's name.
        header: String,
        /// What is wrong with it.
        message: String,
    },
    /// An input tensor is invalid.
    #[error("{0}")]
    Tensor(#[from] TensorError),
    /// A V2 (REST or gRPC) endpoint was given no input tensors.
    #[error("{protocol} endpoint for model `{model}` has no inputs")]
    NoInputs {
        /// The endpoint's protocol.
        protocol: Protocol,
        /// The endpoint's model.
        model: String,
    },
    /// An [`Protocol::HttpPost`] endpoint has no body.
    #[error(
        "an http-post endpoint needs a body: build it with `Endpoint::post(path, content_type, bytes)`"
    )]
    NoBody,
    /// Any other invalid setting (a zero timeout, an invalid mix, an unreadable TLS CA file);
    /// the message says which.
    #[error("{0}")]
    Invalid(String),
}

/// A remote endpoint a bench drives. Build it with [`Endpoint::rest`], [`Endpoint::rest_binary`],
/// [`Endpoint::grpc`] or [`Endpoint::post`], then chain options.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    /// How requests are sent.
    pub protocol: Protocol,
    /// The model's name (for [`Protocol::HttpPost`], the path).
    pub model: String,
    /// The model version to address; `None` lets the server choose.
    pub model_version: Option<String>,
    /// Fixed URL, used when the environment variable is unset.
    pub default_url: Option<String>,
    /// Environment variable whose value, when set and not empty, is the URL (over the default).
    pub url_env: Option<String>,
    /// Serve the endpoint from an in-process reference server when no URL is given.
    pub reference: Option<ReferenceConfig>,
    /// The input tensors sent with every request.
    pub inputs: Vec<Tensor>,
    /// Outputs to request by name; empty asks for every output.
    pub requested_outputs: Vec<String>,
    /// Outputs every response must carry, with an exact shape where one is given; a missing or
    /// misshapen one counts as a decode error.
    pub expected_outputs: Vec<ExpectedOutput>,
    /// Headers (gRPC metadata) sent with every request.
    pub headers: Vec<Header>,
    /// Per-request timeout (default [`DEFAULT_TIMEOUT`], 10 s); a request that takes longer
    /// fails as a timeout.
    pub timeout: Duration,
    /// Independent connections (REST clients, gRPC channels) requests are spread over; `None`
    /// lets HTTP/1.1 open one per request in flight and HTTP/2 and gRPC use one.
    pub connections: Option<usize>,
    /// HTTP/2 with prior knowledge for REST (gRPC is always HTTP/2).
    pub http2: bool,
    /// Path for [`Protocol::HttpPost`], e.g. `/predictions/resnet`.
    pub path: Option<String>,
    /// The fixed body for [`Protocol::HttpPost`].
    pub body: Option<PostBody>,
    /// A certificate authority trusted for https, besides the system's roots.
    pub tls_ca: Option<TlsCa>,
    /// The server's process, watched (CPU, memory, threads) during each load point.
    pub server_process: Option<ServerProcess>,
    /// The REST base URL to read Triton's statistics extension from (default: a REST
    /// endpoint's own URL).
    pub stats_url: Option<String>,
    /// The server's Prometheus metrics URL, scraped during each load point (default: the
    /// reference server's own `/metrics`; an external server's only when given).
    pub metrics_url: Option<String>,
    /// This endpoint's share of the requests in a mixed workload (relative to the members').
    pub weight: f64,
    /// Other endpoints each request may go to instead, by weight: a mixed workload (other
    /// models, payloads or servers), reported per member and in total.
    pub mix: Vec<MixMember>,
    /// What an OpenAI-compatible endpoint asks for (set by [`Endpoint::openai_chat`] and
    /// [`Endpoint::openai_completions`]; `None` for the others).
    pub llm: Option<LlmRequest>,
    /// Serve an OpenAI-compatible endpoint from an in-process reference LLM server streaming
    /// on this script when no URL is given.
    pub llm_reference: Option<TokenScript>,
}

/// One member of a mixed workload besides the endpoint itself.
#[derive(Debug, Clone, PartialEq)]
pub struct MixMember {
    /// Its name in the results (unique in the mix).
    pub name: String,
    /// Its share of the requests, relative to the other members' and the endpoint's own weight.
    pub weight: f64,
    /// Where its requests go (without a mix of its own).
    pub endpoint: Endpoint,
}

/// How a bench names the server's process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerProcess {
    /// The process with this PID.
    Pid(u32),
    /// A PID read from this environment variable when the bench runs (unset: not watched).
    PidFromEnv(String),
    /// The one running process with this exact name.
    Name(String),
}

/// A PEM certificate authority to trust, given inline or as a file read when the client is built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsCa {
    /// The PEM text itself.
    Pem(String),
    /// A PEM file, read when the client is built.
    File(PathBuf),
}

impl TlsCa {
    /// The PEM text; a file that cannot be read is an error naming it.
    pub fn pem(&self) -> Result<Vec<u8>, EndpointError> {
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

/// Default per-request timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

impl Endpoint {
    fn new(protocol: Protocol, model: impl Into<String>) -> Self {
        Endpoint {
            protocol,
            model: model.into(),
            model_version: None,
            default_url: None,
            url_env: None,
            reference: None,
            inputs: Vec::new(),
            requested_outputs: Vec::new(),
            expected_outputs: Vec::new(),
            headers: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
            connections: None,
            http2: false,
            path: None,
            body: None,
            tls_ca: None,
            server_process: None,
            stats_url: None,
            metrics_url: None,
            weight: 1.0,
            mix: Vec::new(),
            llm: None,
            llm_reference: None,
        }
    }

    /// Open Inference Protocol REST with JSON tensors.
    pub fn rest(model: impl Into<String>) -> Self {
        Endpoint::new(Protocol::RestJson, model)
    }

    /// Open Inference Protocol REST with the binary tensor data extension.
    pub fn rest_binary(model: impl Into<String>) -> Self {
        Endpoint::new(Protocol::RestBinary, model)
    }

    /// Open Inference Protocol gRPC.
    pub fn grpc(model: impl Into<String>) -> Self {
        Endpoint::new(Protocol::Grpc, model)
    }

    /// A plain POST of a fixed body to `path`, for servers that do not speak V2.
    pub fn post(path: impl Into<String>, content_type: impl Into<String>, body: Vec<u8>) -> Self {
        let path = path.into();
        let mut endpoint = Endpoint::new(Protocol::HttpPost, path.clone());
        endpoint.path = Some(path);
        endpoint.body = Some(PostBody {
            content_type: content_type.into(),
            bytes: body,
        });
        endpoint
    }

    /// The same endpoint over another protocol (for REST-vs-gRPC pairs).
    pub fn with_protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = protocol;
        self
    }

    /// The base URL, e.g. `http://127.0.0.1:8000` (REST) or `http://127.0.0.1:8001` (gRPC).
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.default_url = Some(url.into());
        self
    }

    /// Reads the URL from this environment variable when it is set and not empty.
    pub fn url_from_env(mut self, var: impl Into<String>) -> Self {
        self.url_env = Some(var.into());
        self
    }

    /// Starts this reference server in-process (ephemeral 127.0.0.1 ports) when no URL is given.
    pub fn reference(mut self, config: ReferenceConfig) -> Self {
        self.reference = Some(config);
        self
    }

    /// Addresses this version of the model (default: the server's choice).
    pub fn model_version(mut self, version: impl Into<String>) -> Self {
        self.model_version = Some(version.into());
        self
    }

    /// Adds an input tensor sent with every request; V2 endpoints need at least one.
    pub fn input(mut self, tensor: Tensor) -> Self {
        self.inputs.push(tensor);
        self
    }

    /// Asks for this output by name; without any, the server returns every output.
    pub fn request_output(mut self, name: impl Into<String>) -> Self {
        self.requested_outputs.push(name.into());
        self
    }

    /// Every response must carry this output; a missing one counts as a decode error.
    pub fn expect_output(mut self, name: impl Into<String>) -> Self {
        self.expected_outputs.push(ExpectedOutput {
            name: name.into(),
            shape: None,
        });
        self
    }

    /// Every response must carry this output with exactly this shape.
    pub fn expect_output_shape(
        mut self,
        name: impl Into<String>,
        shape: impl Into<Vec<i64>>,
    ) -> Self {
        self.expected_outputs.push(ExpectedOutput {
            name: name.into(),
            shape: Some(shape.into()),
        });
        self
    }

    /// A header (gRPC metadata) with a literal value, sent with every request.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push(Header {
            name: name.into(),
            value: HeaderValue::Literal(value.into()),
            prefix: String::new(),
        });
        self
    }

    /// A header whose value is a secret read from `var` at run time (never written out).
    pub fn header_from_env(mut self, name: impl Into<String>, var: impl Into<String>) -> Self {
        self.headers.push(Header {
            name: name.into(),
            value: HeaderValue::Env(var.into()),
            prefix: String::new(),
        });
        self
    }

    /// `authorization: Bearer $var`, the token read at run time and never written out.
    pub fn bearer_from_env(mut self, var: impl Into<String>) -> Self {
        self.headers.push(Header {
            name: "authorization".into(),
            value: HeaderValue::Env(var.into()),
            prefix: "Bearer ".into(),
        });
        self
    }

    /// Read the server's statistics (Triton's extension) from this REST base URL, e.g. a gRPC
    /// endpoint's server at `http://host:8000`.
    pub fn stats_url(mut self, url: impl Into<String>) -> Self {
        self.stats_url = Some(url.into());
        self
    }

    /// Scrape the server's Prometheus metrics from this URL during each load point, e.g.
    /// Triton's `http://host:8002/metrics` (GPU utilisation, memory, power).
    pub fn metrics_url(mut self, url: impl Into<String>) -> Self {
        self.metrics_url = Some(url.into());
        self
    }

    /// Also send requests to `endpoint` (named `name` in the results), `weight` of them for
    /// every [`weight`](Endpoint::weight) this endpoint gets: a mixed workload in one run,
    /// reported per member and in total. Members have their own URL or reference server,
    /// model, payload and protocol; the load level and the loop are the bench's.
    pub fn mix(mut self, name: impl Into<String>, weight: f64, endpoint: Endpoint) -> Self {
        self.mix.push(MixMember {
            name: name.into(),
            weight,
            endpoint,
        });
        self
    }

    /// This endpoint's weight in a mixed workload (default 1).
    pub fn weight(mut self, weight: f64) -> Self {
        self.weight = weight;
        self
    }

    /// The name this endpoint itself has among a mix's members: its model's.
    pub fn mix_name(&self) -> &str {
        &self.model
    }

    /// Watch the server process with this PID during each load point (CPU, memory, threads).
    pub fn server_pid(mut self, pid: u32) -> Self {
        self.server_process = Some(ServerProcess::Pid(pid));
        self
    }

    /// Watch the server process whose PID is in `var` when the bench runs (unset: not watched).
    pub fn server_pid_from_env(mut self, var: impl Into<String>) -> Self {
        self.server_process = Some(ServerProcess::PidFromEnv(var.into()));
        self
    }

    /// Watch the one running process named `name` (e.g. `tritonserver`).
    pub fn server_process(mut self, name: impl Into<String>) -> Self {
        self.server_process = Some(ServerProcess::Name(name.into()));
        self
    }

    /// The per-request timeout (default [`DEFAULT_TIMEOUT`], 10 s); must be greater than zero.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Spreads requests over this many independent connections (REST clients, gRPC channels);
    /// 0 counts as 1. By default HTTP/1.1 opens one per request in flight and HTTP/2 and gRPC
    /// use one.
    pub fn connections(mut self, connections: usize) -> Self {
        self.connections = Some(connections.max(1));
        self
    }

    /// Speaks HTTP/2 with prior knowledge to a REST server (default `false`: HTTP/1.1); gRPC is
    /// always HTTP/2.
    pub fn http2(mut self, http2: bool) -> Self {
        self.http2 = http2;
        self
    }

    /// Trusts the PEM certificate authority in `path` for https (a private CA or a self-signed
    /// server certificate), besides the system's roots.
    pub fn tls_ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.tls_ca = Some(TlsCa::File(path.into()));
        self
    }

    /// Like [`tls_ca_file`](Endpoint::tls_ca_file), with the PEM text itself.
    pub fn tls_ca_pem(mut self, pem: impl Into<String>) -> Self {
        self.tls_ca = Some(TlsCa::Pem(pem.into()));
        self
    }

    /// Where the URL comes from: the environment, the default, or the reference server
    /// (`Ok(None)`), in that order.
    pub fn resolve_url(
        &self,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<ResolvedUrl>, EndpointError> {
        if let Some(var) = &self.url_env {
            if let Some(value) = env(var).filter(|v| !v.trim().is_empty()) {
                return check_url(value.trim(), Some(format!("${var}"))).map(Some);
            }
        }
        if let Some(url) = &self.default_url {
            return check_url(url, None).map(Some);
        }
        if self.reference.is_some() || self.llm_reference.is_some() {
            return Ok(None);
        }
        match &self.url_env {
            Some(var) => Err(EndpointError::NoUrl {
                var: var.clone(),
                has_reference: false,
            }),
            None => Err(EndpointError::NoUrlSource),
        }
    }

    /// How many runtime workers drive this endpoint's load best. gRPC: one per HTTP/2
    /// connection (every stream of a connection goes through that connection's one task, so more
    /// workers only add cross-thread wake-ups: 12.9 → 7.5 µs of client CPU per call on one
    /// connection). REST: half the cores, at least one, leaving the rest to a server on the same
    /// machine; one worker drives about 190k requests/s, and on two cores shared with the server
    /// a second one raised the client CPU per request from 5.4 to 7.7 µs and lowered the
    /// throughput (docs/PERFORMANCE.md). A mixed workload takes the most any member wants.
    pub fn load_threads(&self) -> usize {
        let own = match self.protocol {
            Protocol::Grpc => self.connections.unwrap_or(1),
            _ => (cores() / 2).max(1),
        };
        self.mix
            .iter()
            .map(|member| member.endpoint.load_threads())
            .fold(own, usize::max)
    }

    /// The endpoint's request as the protocol codecs take it.
    pub fn infer_request(&self) -> InferRequest<'_> {
        InferRequest {
            model: &self.model,
            version: self.model_version.as_deref(),
            inputs: &self.inputs,
            outputs: &self.requested_outputs,
        }
    }

    /// Checks what can be checked without a network: inputs, body, header secrets.
    pub fn validate(&self, env: impl Fn(&str) -> Option<String>) -> Result<(), EndpointError> {
        match self.protocol {
            Protocol::HttpPost if self.body.is_none() => return Err(EndpointError::NoBody),
            Protocol::HttpPost => {}
            Protocol::OpenAiChat | Protocol::OpenAiCompletions if self.llm.is_none() => {
                return Err(EndpointError::Invalid(format!(
                    "the {} endpoint for `{}` has no request: build it with \
                     Endpoint::openai_chat or Endpoint::openai_completions",
                    self.protocol, self.model
                )))
            }
            Protocol::OpenAiChat | Protocol::OpenAiCompletions => {}
            protocol if self.inputs.is_empty() => {
                return Err(EndpointError::NoInputs {
                    protocol,
                    model: self.model.clone(),
                })
            }
            _ => {}
        }
        if self.timeout.is_zero() {
            return Err(EndpointError::Invalid(
                "the request timeout must be greater than zero".into(),
            ));
        }
        if !self.mix.is_empty() {
            self.validate_mix(&env)?;
        }
        self.header_values(env).map(|_| ())
    }

    /// Weights positive and finite, names unique, members without mixes of their own and
    /// each valid itself.
    fn validate_mix(&self, env: &dyn Fn(&str) -> Option<String>) -> Result<(), EndpointError> {
        let invalid = |message: String| Err(EndpointError::Invalid(message));
        let mut names = vec![self.mix_name()];
        if !(self.weight.is_finite() && self.weight > 0.0) {
            return invalid(format!(
                "mix member `{}` has weight {}; a weight must be a positive number",
                self.mix_name(),
                self.weight
            ));
        }
        for member in &self.mix {
            if !(member.weight.is_finite() && member.weight > 0.0) {
                return invalid(format!(
                    "mix member `{}` has weight {}; a weight must be a positive number",
                    member.name, member.weight
                ));
            }
            if names.contains(&member.name.as_str()) {
                return invalid(format!(
                    "two mix members are named `{}` (the bench's own endpoint is named after \
                     its model)",
                    member.name
                ));
            }
            names.push(&member.name);
            if !member.endpoint.mix.is_empty() {
                return invalid(format!(
                    "mix member `{}` has a mix of its own; give every member to the bench's \
                     endpoint",
                    member.name
                ));
            }
            member
                .endpoint
                .validate(|var: &str| env(var))
                .map_err(|e| {
                    EndpointError::Invalid(format!("mix member `{}`: {e}", member.name))
                })?;
        }
        Ok(())
    }

    /// The headers with their values, secrets read from the environment.
    pub fn header_values(
        &self,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Vec<(String, String)>, EndpointError> {
        self.headers
            .iter()
            .map(|header| {
                let value = match &header.value {
                    HeaderValue::Literal(value) => value.clone(),
                    HeaderValue::Env(var) => match env(var) {
                        Some(value) => format!("{}{value}", header.prefix),
                        None => {
                            return Err(EndpointError::MissingSecret {
                                header: header.name.clone(),
                                var: var.clone(),
                            })
                        }
                    },
                };
                Ok((header.name.clone(), value))
            })
            .collect()
    }
}

/// A checked base URL and what the report may show of it (no user info, no query).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedUrl {
    /// The URL as given, without a trailing slash.
    pub url: String,
    /// The URL without user info or query string, fit for reports and logs.
    pub display: String,
    /// Whether the scheme is `https`.
    pub tls: bool,
}

pub(crate) fn check_url(url: &str, origin: Option<String>) -> Result<ResolvedUrl, EndpointError> {
    let invalid = |message: &str| EndpointError::InvalidUrl {
        url: redact_url(url),
        origin: origin.clone(),
        message: message.to_string(),
    };
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| invalid("expected scheme://host:port"))?;
    let tls = match scheme {
        "http" => false,
        "https" => true,
        other => {
            return Err(invalid(&format!(
                "unknown scheme `{other}`; expected http or https"
            )))
        }
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit('@').next().unwrap_or("");
    if host_port.is_empty() {
        return Err(invalid("no host"));
    }
    let port = match host_port.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some((_, after)) => after.strip_prefix(':'),
            None => return Err(invalid("unclosed `[` in the host")),
        },
        None => host_port.rsplit_once(':').map(|(_, port)| port),
    };
    if let Some(port) = port {
        if port.parse::<u16>().is_err() {
            return Err(invalid(&format!(
                "port `{port}` is not a number from 0 to 65535"
            )));
        }
    }
    Ok(ResolvedUrl {
        url: url.trim_end_matches('/').to_string(),
        display: redact_url(url),
        tls,
    })
}

/// The URL without user info or query string, which may hold credentials.
pub fn redact_url(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (format!("{scheme}://"), rest),
        None => (String::new(), url),
    };
    let (authority, path) = match rest.find('/') {
        Some(at) => rest.split_at(at),
        None => (rest, ""),
    };
    let authority = match authority.rsplit_once('@') {
        Some((_, host)) => format!("***@{host}"),
        None => authority.to_string(),
    };
    let path = path.split(['?', '#']).next().unwrap_or("");
    format!("{scheme}{authority}{}", path.trim_end_matches('/'))
}

/// The cores this process may run on (1 when that cannot be read).
pub(crate) fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn grpc_load_runs_one_worker_per_connection() {
        let input = || Tensor::fp32("INPUT0", [1], &[1.0]).unwrap();
        let grpc = || Endpoint::grpc("m").input(input());
        assert_eq!(grpc().load_threads(), 1);
        assert_eq!(grpc().connections(4).load_threads(), 4);
        let rest = Endpoint::rest("m").input(input());
        assert_eq!(rest.load_threads(), (cores() / 2).max(1));
        let mixed = grpc().mix("wide", 1.0, grpc().connections(3));
        assert_eq!(mixed.load_threads(), 3);
        let with_rest = grpc().connections(64).mix("rest", 1.0, rest.clone());
        assert_eq!(with_rest.load_threads(), 64);
    }

    #[test]
    fn url_resolution_order() {
        let endpoint = Endpoint::rest("m")
            .url("http://127.0.0.1:1")
            .url_from_env("MB_URL");
        let env = |var: &str| (var == "MB_URL").then(|| "http://127.0.0.1:2/".to_string());
        assert_eq!(
            endpoint.resolve_url(env).unwrap().unwrap().url,
            "http://127.0.0.1:2"
        );
        assert_eq!(
            endpoint.resolve_url(no_env).unwrap().unwrap().url,
            "http://127.0.0.1:1"
        );
        let reference = Endpoint::rest("m")
            .url_from_env("MB_URL")
            .reference(ReferenceConfig::default());
        assert_eq!(reference.resolve_url(no_env).unwrap(), None);
        let error = Endpoint::rest("m")
            .url_from_env("MB_URL")
            .resolve_url(no_env);
        assert!(error.unwrap_err().to_string().contains("set $MB_URL"));
    }

    #[test]
    fn invalid_urls_fail_before_any_load() {
        for url in ["127.0.0.1:8000", "ftp://x", "http://", "http://h:99999"] {
            let result = Endpoint::rest("m").url(url).resolve_url(no_env);
            assert!(result.is_err(), "{url} should be rejected");
        }
        let message = Endpoint::rest("m")
            .url_from_env("MB_URL")
            .resolve_url(|_| Some("htp://x".into()))
            .unwrap_err()
            .to_string();
        assert!(message.contains("from $MB_URL"), "{message}");
    }

    #[test]
    fn credentials_never_reach_the_display_url() {
        assert_eq!(
            redact_url("https://user:pw@host:1/v2/models?token=abc"),
            "https://***@host:1/v2/models"
        );
        assert_eq!(redact_url("http://h:1/"), "http://h:1");
    }

    #[test]
    fn secrets_are_read_from_the_environment() {
        let endpoint = Endpoint::rest("m").bearer_from_env("MB_TOKEN");
        let missing = endpoint.header_values(no_env).unwrap_err();
        assert_eq!(
            missing.to_string(),
            "header `authorization` reads $MB_TOKEN, which is not set"
        );
        let values = endpoint.header_values(|_| Some("s3cret".into())).unwrap();
        assert_eq!(
            values,
            vec![("authorization".to_string(), "Bearer s3cret".to_string())]
        );
        assert!(!format!("{endpoint:?}").contains("s3cret"));
    }

    #[test]
    fn endpoints_need_inputs() {
        let error = Endpoint::grpc("m").validate(no_env).unwrap_err();
        assert!(error.to_string().contains("has no inputs"));
        assert!(Endpoint::post("/p", "application/json", b"{}".to_vec())
            .validate(no_env)
            .is_ok());
    }
}
