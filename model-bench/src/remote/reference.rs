//! What the in-process reference server serves and how it misbehaves on purpose: its models, an
//! injected latency schedule and dynamic batching. Plain data; the server itself is
//! `model_bench::server` (feature `remote`).

use std::path::PathBuf;
use std::time::Duration;

/// The models and behaviour of one reference server.
#[derive(Debug, Clone, PartialEq)]
pub struct ReferenceConfig {
    /// The models served, each under its own name.
    pub models: Vec<ModelSpec>,
    /// Delay and stalls injected before each inference (`None`: none).
    pub latency: Option<InjectedLatency>,
    /// Dynamic batching, applied to every model (`None`: each request runs alone).
    pub batching: Option<Batching>,
    /// Requests per second the server can serve: one request at a time, first come first
    /// served, each taking `1 / capacity` (a single-server queue, so its capacity is known
    /// exactly and a load above it builds a backlog).
    pub capacity: Option<f64>,
    /// Bytes each request holds (written, so resident) while it is inside the server.
    pub hold_per_request: usize,
    /// Bytes each request leaves behind for good (written, never freed while the server runs):
    /// a leak of a known rate.
    pub leak_per_request: usize,
    /// Serve https (REST) and gRPC over TLS with this certificate instead of plain text.
    pub tls: Option<ServerTls>,
}

/// A server certificate chain and its private key, both PEM.
#[derive(Clone, PartialEq, Eq)]
pub struct ServerTls {
    /// The certificate chain, server certificate first.
    pub cert_pem: String,
    /// The private key (redacted from `Debug` output).
    pub key_pem: String,
}

impl std::fmt::Debug for ServerTls {
    /// The key never reaches a log or a report.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerTls")
            .field("cert_pem", &format!("{} bytes", self.cert_pem.len()))
            .field("key_pem", &"<redacted>")
            .finish()
    }
}

/// A model the reference server serves under `name`.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelSpec {
    /// Echoes every input back; an input named `INPUT…` comes back as `OUTPUT…`.
    Identity {
        /// The model's name.
        name: String,
    },
    /// An ONNX model run on the ort runtime (feature `ort`).
    Onnx {
        /// The model's name.
        name: String,
        /// The `.onnx` file, loaded when the server starts.
        path: PathBuf,
    },
}

impl ModelSpec {
    /// The name the model is served under.
    pub fn name(&self) -> &str {
        match self {
            ModelSpec::Identity { name } | ModelSpec::Onnx { name, .. } => name,
        }
    }
}

/// A deterministic latency schedule: every inference takes `fixed` longer, and the whole server
/// stalls for `stall` at the start of every `period` (measured from the server's start), as a
/// garbage-collection pause or a stuck GPU would. A request arriving during a stall waits for
/// its end. The expected latency distribution follows from these numbers alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InjectedLatency {
    /// Added to every inference.
    pub fixed: Duration,
    /// How long the server stalls at the start of each period (zero: never).
    pub stall: Duration,
    /// The time from one stall's start to the next.
    pub period: Duration,
}

impl InjectedLatency {
    /// Every inference takes `fixed` longer; no stalls.
    pub fn fixed(fixed: Duration) -> Self {
        InjectedLatency {
            fixed,
            stall: Duration::ZERO,
            period: Duration::from_secs(1),
        }
    }

    /// Also stalls the whole server for `stall` at the start of every `period`.
    pub fn with_stall(mut self, stall: Duration, period: Duration) -> Self {
        self.stall = stall;
        self.period = period;
        self
    }

    /// How long a request arriving `since_start` after the server started waits before its
    /// inference begins, stall and fixed delay included.
    pub fn delay_at(&self, since_start: Duration) -> Duration {
        self.stall_left_at(since_start) + self.fixed
    }

    /// What remains of the stall in progress at `since_start`, or zero.
    pub fn stall_left_at(&self, since_start: Duration) -> Duration {
        if self.stall.is_zero() || self.period.is_zero() {
            return Duration::ZERO;
        }
        let phase = Duration::from_nanos((since_start.as_nanos() % self.period.as_nanos()) as u64);
        self.stall.saturating_sub(phase)
    }
}

/// Server-side dynamic batching: requests to one model are queued and run together, up to
/// `max_batch` requests, waiting at most `max_queue_delay` for the batch to fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Batching {
    /// The most requests run together (at least 1).
    pub max_batch: usize,
    /// The longest a batch waits for more requests after its first arrived.
    pub max_queue_delay: Duration,
}

impl Default for ReferenceConfig {
    /// One identity model named `identity`, no injected latency, no batching.
    fn default() -> Self {
        ReferenceConfig::new().identity("identity")
    }
}

impl ReferenceConfig {
    /// A server with no models yet.
    pub fn new() -> Self {
        ReferenceConfig {
            models: Vec::new(),
            latency: None,
            batching: None,
            capacity: None,
            hold_per_request: 0,
            leak_per_request: 0,
            tls: None,
        }
    }

    /// Each request holds `bytes` of written memory while it is inside the server, so the
    /// server's memory per request in flight is known.
    pub fn hold_per_request(mut self, bytes: usize) -> Self {
        self.hold_per_request = bytes;
        self
    }

    /// Each request leaks `bytes` of written memory: the server's memory grows by
    /// `bytes × requests served`, a leak of known rate.
    pub fn leak_per_request(mut self, bytes: usize) -> Self {
        self.leak_per_request = bytes;
        self
    }

    /// Serves `requests_per_second` at most: one request at a time, in arrival order.
    pub fn capacity(mut self, requests_per_second: f64) -> Self {
        self.capacity = (requests_per_second > 0.0).then_some(requests_per_second);
        self
    }

    /// Adds an identity model named `name`, which echoes its inputs back.
    pub fn identity(mut self, name: impl Into<String>) -> Self {
        self.models.push(ModelSpec::Identity { name: name.into() });
        self
    }

    /// Adds the ONNX model in the file at `path`, served as `name` with its first input and
    /// first output, both FP32 (needs the `ort` feature).
    pub fn onnx(mut self, name: impl Into<String>, path: impl Into<PathBuf>) -> Self {
        self.models.push(ModelSpec::Onnx {
            name: name.into(),
            path: path.into(),
        });
        self
    }

    /// Injects this latency schedule before every inference (default: none).
    pub fn latency(mut self, latency: InjectedLatency) -> Self {
        self.latency = Some(latency);
        self
    }

    /// Batches requests to each model dynamically: up to `max_batch` (at least 1) run together,
    /// a batch waiting at most `max_queue_delay` after its first request (default: no batching).
    pub fn batching(mut self, max_batch: usize, max_queue_delay: Duration) -> Self {
        self.batching = Some(Batching {
            max_batch: max_batch.max(1),
            max_queue_delay,
        });
        self
    }

    /// Serves over TLS with `cert_pem` (the chain) and `key_pem`; its URLs become `https://`.
    pub fn tls(mut self, cert_pem: impl Into<String>, key_pem: impl Into<String>) -> Self {
        self.tls = Some(ServerTls {
            cert_pem: cert_pem.into(),
            key_pem: key_pem.into(),
        });
        self
    }

    /// The model served under `name`, if any.
    pub fn model(&self, name: &str) -> Option<&ModelSpec> {
        self.models.iter().find(|m| m.name() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stall_schedule() {
        let ms = Duration::from_millis;
        let latency = InjectedLatency::fixed(ms(2)).with_stall(ms(200), ms(1000));
        assert_eq!(latency.delay_at(ms(0)), ms(202));
        assert_eq!(latency.delay_at(ms(150)), ms(52));
        assert_eq!(latency.delay_at(ms(200)), ms(2));
        assert_eq!(latency.delay_at(ms(999)), ms(2));
        assert_eq!(latency.delay_at(ms(1100)), ms(102));
        assert_eq!(InjectedLatency::fixed(ms(3)).delay_at(ms(5)), ms(3));
    }
}
