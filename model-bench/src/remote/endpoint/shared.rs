//! The [`Endpoint`] type, what every kind of endpoint has (`Common`: URL sources, the reference
//! server, headers, timeout, connections, TLS, the server's process and metrics, a mix) and the
//! options that set it, defined once for every kind; the checks made before any request.

use std::path::PathBuf;
use std::time::Duration;

use super::error::EndpointError;
use super::parts::{Header, HeaderValue, ServerProcess, TlsCa};
use super::request::{AnyRequest, OpenAiRequest, PostRequest, Request, V2Request};
use super::url::{check_url, ResolvedUrl};
use crate::remote::llm::TokenScript;
use crate::remote::reference::ReferenceConfig;
use crate::results::Protocol;

/// A V2 (Open Inference Protocol) endpoint: [`Endpoint::rest`], [`Endpoint::rest_binary`] or
/// [`Endpoint::grpc`].
pub type V2Endpoint = Endpoint<V2Request>;
/// An OpenAI-compatible streaming endpoint: [`Endpoint::openai_chat`] or
/// [`Endpoint::openai_completions`].
pub type OpenAiEndpoint = Endpoint<OpenAiRequest>;
/// A plain POST of a fixed body: [`Endpoint::post`].
pub type PostEndpoint = Endpoint<PostRequest>;
/// An endpoint of any kind: what a mix holds and what the runner drives. Every typed endpoint
/// becomes one with [`Endpoint::into_any`].
pub type AnyEndpoint = Endpoint<AnyRequest>;

/// Default per-request timeout of V2 and POST endpoints.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// A remote endpoint a bench drives: the options every kind shares, and its kind's request `R`.
///
/// Build one with [`Endpoint::rest`], [`Endpoint::rest_binary`], [`Endpoint::grpc`],
/// [`Endpoint::openai_chat`], [`Endpoint::openai_completions`] or [`Endpoint::post`], then
/// chain options; a `#[model_bench(remote)]` function returns it (or `Result<_, E>`):
///
/// ```
/// use model_bench::prelude::*;
///
/// fn rest() -> Result<V2Endpoint, TensorError> {
///     Ok(Endpoint::rest("resnet50")
///         .url_from_env("RESNET_URL")
///         .input(Tensor::fp32_ramp("input", [1, 3, 224, 224])?)
///         .timeout(std::time::Duration::from_secs(5)))
/// }
///
/// fn chat() -> OpenAiEndpoint {
///     Endpoint::openai_chat("llama").url("http://127.0.0.1:8000").max_tokens(128)
/// }
/// # let _ = (rest(), chat());
/// ```
///
/// An option that does nothing for a kind is not there to call:
///
/// ```compile_fail
/// use model_bench::prelude::*;
/// // `max_tokens` belongs to OpenAI-compatible endpoints, not to V2 ones.
/// let _ = Endpoint::rest("resnet50").max_tokens(16);
/// ```
///
/// ```compile_fail
/// use model_bench::prelude::*;
/// // Input tensors belong to V2 endpoints.
/// let _ = Endpoint::openai_chat("llama").input(Tensor::fp32("x", [1], &[1.0]).unwrap());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint<R> {
    pub(crate) common: Common,
    pub(crate) request: R,
}

/// What every kind of endpoint has.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Common {
    /// Fixed URL, used when the environment variable is unset.
    pub default_url: Option<String>,
    /// Environment variable whose value, when set and not empty, is the URL (over the default).
    pub url_env: Option<String>,
    /// The in-process server to start when no URL is given.
    pub reference: Option<Reference>,
    /// Headers (gRPC metadata) sent with every request.
    pub headers: Vec<Header>,
    /// Per-request timeout; a request that takes longer fails as a timeout.
    pub timeout: Duration,
    /// Independent connections requests are spread over; `None`: the transport's default.
    pub connections: Option<usize>,
    /// HTTP/2 with prior knowledge for HTTP endpoints (gRPC is always HTTP/2).
    pub http2: bool,
    /// A certificate authority trusted for https, besides the system's roots.
    pub tls_ca: Option<TlsCa>,
    /// The server's process, watched (CPU, memory, threads) during each load point.
    pub server_process: Option<ServerProcess>,
    /// The server's Prometheus metrics URL, scraped during each load point.
    pub metrics_url: Option<String>,
    /// This endpoint's share of the requests in a mixed workload.
    pub weight: f64,
    /// Other endpoints each request may go to instead, by weight.
    pub mix: Vec<MixMember>,
}

impl Common {
    fn new(timeout: Duration) -> Self {
        Common {
            default_url: None,
            url_env: None,
            reference: None,
            headers: Vec::new(),
            timeout,
            connections: None,
            http2: false,
            tls_ca: None,
            server_process: None,
            metrics_url: None,
            weight: 1.0,
            mix: Vec::new(),
        }
    }
}

/// The in-process server an endpoint is served from when no URL is given: one field for every
/// kind, each kind's `reference` option taking its own server's configuration.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Reference {
    /// The V2 reference server ([`ReferenceServer`](crate::server::ReferenceServer)).
    V2(ReferenceConfig),
    /// The reference LLM server ([`LlmServer`](crate::server::LlmServer)) streaming on a script.
    Llm(TokenScript),
}

/// One member of a mixed workload besides the endpoint itself.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MixMember {
    /// Its name in the results (unique in the mix).
    pub name: String,
    /// Its share of the requests, relative to the other members' and the endpoint's own weight.
    pub weight: f64,
    /// Where its requests go (without a mix of its own).
    pub endpoint: AnyEndpoint,
}

impl<R> Endpoint<R> {
    pub(super) fn with_common(request: R, timeout: Duration) -> Self {
        Endpoint {
            common: Common::new(timeout),
            request,
        }
    }

    fn set(mut self, change: impl FnOnce(&mut Common)) -> Self {
        change(&mut self.common);
        self
    }

    fn push_header(self, name: String, value: HeaderValue, prefix: &str) -> Self {
        self.set(|common| {
            common.headers.push(Header {
                name,
                value,
                prefix: prefix.to_owned(),
            })
        })
    }
}

impl<R: Request> Endpoint<R> {
    /// How requests are sent.
    pub fn protocol(&self) -> Protocol {
        self.request.protocol()
    }

    /// The model's name (a POST endpoint's path): what the results call the endpoint, and its
    /// name among a mix's members.
    pub fn name(&self) -> &str {
        self.request.name()
    }

    /// This endpoint as one of any kind (what a mix holds and the runner drives).
    pub fn into_any(self) -> AnyEndpoint {
        Endpoint {
            common: self.common,
            request: self.request.into(),
        }
    }

    /// The base URL, e.g. `http://127.0.0.1:8000` (REST) or `http://127.0.0.1:8001` (gRPC).
    pub fn url(self, url: impl Into<String>) -> Self {
        let url = url.into();
        self.set(|common| common.default_url = Some(url))
    }

    /// Reads the URL from this environment variable when it is set and not empty (over
    /// [`url`](Self::url) and a reference server).
    pub fn url_from_env(self, var: impl Into<String>) -> Self {
        let var = var.into();
        self.set(|common| common.url_env = Some(var))
    }

    /// A header (gRPC metadata) with a literal value, sent with every request.
    pub fn header(self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.push_header(name.into(), HeaderValue::Literal(value.into()), "")
    }

    /// A header whose value is a secret read from `var` at run time (never written out).
    pub fn header_from_env(self, name: impl Into<String>, var: impl Into<String>) -> Self {
        self.push_header(name.into(), HeaderValue::Env(var.into()), "")
    }

    /// `authorization: Bearer $var`, the token read at run time and never written out.
    pub fn bearer_from_env(self, var: impl Into<String>) -> Self {
        self.push_header(
            "authorization".into(),
            HeaderValue::Env(var.into()),
            "Bearer ",
        )
    }

    /// The per-request timeout (default [`DEFAULT_TIMEOUT`], 10 s, for V2 and POST endpoints,
    /// [`OPENAI_TIMEOUT`](super::OPENAI_TIMEOUT) for whole OpenAI-compatible streams); must be
    /// greater than zero.
    pub fn timeout(self, timeout: Duration) -> Self {
        self.set(|common| common.timeout = timeout)
    }

    /// Spreads requests over this many independent connections (REST clients, gRPC channels);
    /// 0 counts as 1. By default HTTP/1.1 opens one per request in flight and HTTP/2 and gRPC
    /// use one.
    pub fn connections(self, connections: usize) -> Self {
        self.set(|common| common.connections = Some(connections.max(1)))
    }

    /// Speaks HTTP/2 with prior knowledge to a REST, POST or OpenAI-compatible server (default
    /// `false`: HTTP/1.1). gRPC is always HTTP/2, whatever this says, so a REST endpoint that
    /// sets it may still become its gRPC twin with `with_protocol`.
    pub fn http2(self, http2: bool) -> Self {
        self.set(|common| common.http2 = http2)
    }

    /// Trusts the PEM certificate authority in `path` for https (a private CA or a self-signed
    /// server certificate), besides the system's roots.
    pub fn tls_ca_file(self, path: impl Into<PathBuf>) -> Self {
        let ca = TlsCa::File(path.into());
        self.set(|common| common.tls_ca = Some(ca))
    }

    /// Like [`tls_ca_file`](Self::tls_ca_file), with the PEM text itself.
    pub fn tls_ca_pem(self, pem: impl Into<String>) -> Self {
        let ca = TlsCa::Pem(pem.into());
        self.set(|common| common.tls_ca = Some(ca))
    }

    /// Watch the server process with this PID during each load point (CPU, memory, threads).
    pub fn server_pid(self, pid: u32) -> Self {
        self.set(|common| common.server_process = Some(ServerProcess::Pid(pid)))
    }

    /// Watch the server process whose PID is in `var` when the bench runs (unset: not watched).
    pub fn server_pid_from_env(self, var: impl Into<String>) -> Self {
        let process = ServerProcess::PidFromEnv(var.into());
        self.set(|common| common.server_process = Some(process))
    }

    /// Watch the one running process named `name` (e.g. `tritonserver`).
    pub fn server_process(self, name: impl Into<String>) -> Self {
        let process = ServerProcess::Name(name.into());
        self.set(|common| common.server_process = Some(process))
    }

    /// Scrape the server's Prometheus metrics from this URL during each load point, e.g.
    /// Triton's `http://host:8002/metrics` (GPU utilisation, memory, power) or vLLM's
    /// `/metrics` (default: a reference server's own; an external server's only when given).
    pub fn metrics_url(self, url: impl Into<String>) -> Self {
        let url = url.into();
        self.set(|common| common.metrics_url = Some(url))
    }

    /// Also send requests to `endpoint` (named `name` in the results), `weight` of them for
    /// every [`weight`](Self::weight) this endpoint gets: a mixed workload in one run, reported
    /// per member and in total. Members have their own URL or reference server, model, payload
    /// and protocol (of any kind); the load level and the loop are the bench's.
    pub fn mix<M: Request>(
        self,
        name: impl Into<String>,
        weight: f64,
        endpoint: Endpoint<M>,
    ) -> Self {
        let member = MixMember {
            name: name.into(),
            weight,
            endpoint: endpoint.into_any(),
        };
        self.set(|common| common.mix.push(member))
    }

    /// This endpoint's weight in a mixed workload (default 1).
    pub fn weight(self, weight: f64) -> Self {
        self.set(|common| common.weight = weight)
    }

    /// Checks what can be checked without a network: the kind's request (a V2 endpoint's
    /// inputs), the timeout, the mix and its members, header secrets (read from `env`).
    pub fn validate(&self, env: impl Fn(&str) -> Option<String>) -> Result<(), EndpointError> {
        self.clone().into_any().validate_any(env)
    }

    /// Where the URL comes from: the environment, the default, or the reference server
    /// (`Ok(None)`), in that order.
    pub fn resolve_url(
        &self,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<ResolvedUrl>, EndpointError> {
        let common = &self.common;
        if let Some(var) = &common.url_env {
            if let Some(value) = env(var).filter(|v| !v.trim().is_empty()) {
                return check_url(value.trim(), Some(format!("${var}"))).map(Some);
            }
        }
        if let Some(url) = &common.default_url {
            return check_url(url, None).map(Some);
        }
        if common.reference.is_some() {
            return Ok(None);
        }
        match &common.url_env {
            Some(var) => Err(EndpointError::NoUrl {
                var: var.clone(),
                has_reference: false,
            }),
            None => Err(EndpointError::NoUrlSource),
        }
    }

    /// The headers with their values, secrets read from the environment.
    pub fn header_values(
        &self,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Vec<(String, String)>, EndpointError> {
        self.common
            .headers
            .iter()
            .map(|header| Ok((header.name.clone(), header.value_from(&env)?)))
            .collect()
    }
}

impl AnyEndpoint {
    /// The request of its kind.
    #[cfg(feature = "remote")]
    pub(crate) fn request(&self) -> &AnyRequest {
        &self.request
    }

    /// The V2 request, for a V2 endpoint.
    #[cfg(feature = "remote")]
    pub(crate) fn v2_request(&self) -> Option<&V2Request> {
        match &self.request {
            AnyRequest::V2(request) => Some(request),
            _ => None,
        }
    }

    /// The other members of a mixed workload.
    #[cfg(feature = "remote")]
    pub(crate) fn mix_members(&self) -> &[MixMember] {
        &self.common.mix
    }

    /// The in-process server to start when no URL is given.
    #[cfg(feature = "remote")]
    pub(crate) fn reference_server(&self) -> Option<&Reference> {
        self.common.reference.as_ref()
    }

    /// Checks what [`Endpoint::validate`] checks.
    pub(crate) fn validate_any(
        &self,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<(), EndpointError> {
        if let AnyRequest::V2(request) = &self.request {
            request.validate()?;
        }
        if self.common.timeout.is_zero() {
            return Err(EndpointError::Invalid(
                "the request timeout must be greater than zero".into(),
            ));
        }
        if !self.common.mix.is_empty() {
            self.validate_mix(&env)?;
        }
        self.header_values(env).map(|_| ())
    }

    /// Weights positive and finite, names unique, members without mixes of their own and
    /// each valid itself.
    fn validate_mix(&self, env: &dyn Fn(&str) -> Option<String>) -> Result<(), EndpointError> {
        let invalid = |message: String| Err(EndpointError::Invalid(message));
        let weight_error = |name: &str, weight: f64| {
            invalid(format!(
                "mix member `{name}` has weight {weight}; a weight must be a positive number"
            ))
        };
        let holds_conversations = |request: &AnyRequest| matches!(request, AnyRequest::OpenAi(openai) if openai.llm.sessions.is_some());
        if holds_conversations(&self.request)
            || self
                .common
                .mix
                .iter()
                .any(|member| holds_conversations(&member.endpoint.request))
        {
            return invalid(
                "an endpoint with sessions cannot be in a mix: each user holds its conversation \
                 with one endpoint; give the sessions a bench of their own"
                    .into(),
            );
        }
        let mut names = vec![self.name()];
        if !(self.common.weight.is_finite() && self.common.weight > 0.0) {
            return weight_error(self.name(), self.common.weight);
        }
        for member in &self.common.mix {
            if !(member.weight.is_finite() && member.weight > 0.0) {
                return weight_error(&member.name, member.weight);
            }
            if names.contains(&member.name.as_str()) {
                return invalid(format!(
                    "two mix members are named `{}` (the bench's own endpoint is named after \
                     its model)",
                    member.name
                ));
            }
            names.push(&member.name);
            if !member.endpoint.common.mix.is_empty() {
                return invalid(format!(
                    "mix member `{}` has a mix of its own; give every member to the bench's \
                     endpoint",
                    member.name
                ));
            }
            member
                .endpoint
                .validate_any(|var: &str| env(var))
                .map_err(|e| {
                    EndpointError::Invalid(format!("mix member `{}`: {e}", member.name))
                })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote::endpoint::V2Protocol;
    use crate::remote::oip::Tensor;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn url_resolution_order() {
        let endpoint = Endpoint::rest("m")
            .url("http://127.0.0.1:1")
            .url_from_env("MB_URL")
            .into_any();
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
            .reference(ReferenceConfig::default())
            .into_any();
        assert_eq!(reference.resolve_url(no_env).unwrap(), None);
        let llm = Endpoint::openai_chat("m")
            .reference(TokenScript::default())
            .into_any();
        assert_eq!(llm.resolve_url(no_env).unwrap(), None);
        let error = Endpoint::rest("m")
            .url_from_env("MB_URL")
            .into_any()
            .resolve_url(no_env);
        assert!(error.unwrap_err().to_string().contains("set $MB_URL"));
    }

    #[test]
    fn invalid_urls_fail_before_any_load() {
        for url in ["127.0.0.1:8000", "ftp://x", "http://", "http://h:99999"] {
            let result = Endpoint::rest("m").url(url).into_any().resolve_url(no_env);
            assert!(result.is_err(), "{url} should be rejected");
        }
        let message = Endpoint::rest("m")
            .url_from_env("MB_URL")
            .into_any()
            .resolve_url(|_| Some("htp://x".into()))
            .unwrap_err()
            .to_string();
        assert!(message.contains("from $MB_URL"), "{message}");
    }

    #[test]
    fn secrets_are_read_from_the_environment() {
        let endpoint = Endpoint::rest("m").bearer_from_env("MB_TOKEN").into_any();
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
    fn every_kind_is_checked_for_what_it_needs() {
        let error = Endpoint::grpc("m").into_any().validate(no_env).unwrap_err();
        assert!(error.to_string().contains("has no inputs"), "{error}");
        let input = || Tensor::fp32("INPUT0", [1], &[1.0]).unwrap();
        let twin = Endpoint::rest("m").input(input()).http2(true);
        assert!(twin
            .with_protocol(V2Protocol::Grpc)
            .validate(no_env)
            .is_ok());
        assert!(Endpoint::post("/p", "application/json", b"{}".to_vec())
            .into_any()
            .validate(no_env)
            .is_ok());
        assert!(Endpoint::openai_chat("m")
            .into_any()
            .validate(no_env)
            .is_ok());
        let zero = Endpoint::openai_chat("m")
            .timeout(Duration::ZERO)
            .into_any();
        assert!(zero.validate(no_env).is_err());
    }

    #[test]
    fn a_mix_takes_members_of_any_kind_and_checks_them() {
        let input = || Tensor::fp32("INPUT0", [1], &[1.0]).unwrap();
        let mixed = Endpoint::rest("a")
            .input(input())
            .mix("b", 2.0, Endpoint::grpc("b").input(input()))
            .mix("c", 1.0, Endpoint::post("/c", "text/plain", b"x".to_vec()))
            .into_any();
        assert!(mixed.validate(no_env).is_ok());
        assert_eq!(mixed.common.mix[1].endpoint.protocol(), Protocol::HttpPost);
        let twice = Endpoint::rest("a")
            .input(input())
            .mix("a", 1.0, Endpoint::grpc("b").input(input()))
            .into_any();
        assert!(twice.validate(no_env).is_err());
        let empty_member = Endpoint::rest("a")
            .input(input())
            .mix("b", 1.0, Endpoint::grpc("b"))
            .into_any();
        let error = empty_member.validate(no_env).unwrap_err().to_string();
        assert!(error.starts_with("mix member `b`"), "{error}");
    }
}
