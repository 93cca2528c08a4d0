//! The descriptors `#[model_bench]` emits, their collection at run time, and how a bench is named.

use std::fmt;
use std::time::Duration;

use crate::bencher::Bencher;
pub use crate::device::Device;
use crate::remote::endpoint::{AnyEndpoint, Endpoint, Request};

/// What a bench function returns once it is turned into a common shape by the macro.
pub type BenchOutcome = Result<(), String>;

/// The pipeline stage a bench times. Stages of one pipeline are broken down together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    Load,
    Preprocess,
    Forward,
    Postprocess,
    EndToEnd,
    Custom(&'static str),
}

impl Stage {
    pub fn as_str(&self) -> &'static str {
        match self {
            Stage::Load => "load",
            Stage::Preprocess => "preprocess",
            Stage::Forward => "forward",
            Stage::Postprocess => "postprocess",
            Stage::EndToEnd => "end_to_end",
            Stage::Custom(name) => name,
        }
    }

    /// Per-request stages add up to an end-to-end time; `load` is paid once and `end_to_end` is
    /// the total itself.
    pub fn is_per_request_part(&self) -> bool {
        !matches!(self, Stage::Load | Stage::EndToEnd)
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One `#[model_bench]` function, as a static the macro emits.
#[derive(Debug)]
pub struct BenchDescriptor {
    /// The function's name, or the `name = "…"` option.
    pub name: &'static str,
    pub module_path: &'static str,
    pub file: &'static str,
    pub line: u32,
    pub pipeline: Option<&'static str>,
    pub stage: Stage,
    pub device: Device,
    /// Batch sizes to sweep; empty means the bench is not swept (its batch is 1).
    pub batch: &'static [usize],
    pub cold: bool,
    pub cold_runs: Option<u32>,
    pub sample_size: Option<usize>,
    pub warm_up_time: Option<Duration>,
    pub measurement_time: Option<Duration>,
    pub kind: BenchKind,
}

/// What a bench measures: a stage timed in-process, or a remote endpoint under load.
#[derive(Debug)]
pub enum BenchKind {
    Stage(fn(&mut Bencher<'_, '_>) -> BenchOutcome),
    Remote(RemoteBench),
}

/// A `#[model_bench(remote, …)]` function and its load profile.
#[derive(Debug)]
pub struct RemoteBench {
    pub endpoint: fn() -> Result<AnyEndpoint, String>,
    /// Closed-loop sweep: requests in flight per point.
    pub concurrency: &'static [usize],
    /// Open-loop sweep: target requests per second per point.
    pub rate: &'static [f64],
    /// Random arrivals (Poisson, or gamma with `gamma_shape`) rather than evenly spaced.
    pub poisson: bool,
    /// Gamma-distributed gaps of this shape (`arrival = gamma(shape)`).
    pub gamma_shape: Option<f64>,
    pub max_in_flight: Option<usize>,
    /// Measured requests per point, at most.
    pub requests: Option<u64>,
    pub seed: Option<u64>,
    /// Run this scenario instead of a sweep of steady levels.
    pub scenario: Option<ScenarioSpec>,
    /// Replay the endpoint's trace (`trace`): one point, at the trace's own pace.
    pub trace: bool,
    /// The comparison this bench belongs to: benches with the same name are reported side by
    /// side, relative to the first.
    pub compare: Option<&'static str>,
}

/// A remote bench's scenario (`ramp(..)`, `spike(..)` or `stress(..)` in `#[model_bench]`),
/// always open loop with constant arrivals.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ScenarioSpec {
    /// Rates from `from` to `to` in `steps` equal steps of `step` each, in one run.
    Ramp {
        from: f64,
        to: f64,
        steps: usize,
        step: Duration,
    },
    /// Requests in flight from `from` to `to` in `steps` equal steps (rounded) of `step` each,
    /// in one closed-loop run.
    ConcurrencyRamp {
        from: usize,
        to: usize,
        steps: usize,
        step: Duration,
    },
    /// `baseline` for `before`, `baseline × factor` for `spike`, `baseline` for `after`.
    Spike {
        baseline: f64,
        factor: f64,
        before: Duration,
        spike: Duration,
        after: Duration,
        recovered_within_pct: f64,
    },
    /// From `start`, `increment` more per `step`, until the p99 SLO, the goodput target or
    /// the error limit breaks.
    Stress {
        start: f64,
        increment: f64,
        step: Duration,
        max_steps: usize,
        slo_p99: Option<Duration>,
        /// Token streams: the least share of requests that must meet the endpoint's SLOs.
        min_goodput: Option<f64>,
        max_error_rate: f64,
    },
    /// One fixed load (`rate` per second, or `concurrency` in flight) for `duration`, read
    /// window by window; the watched processes' memory judged for a leak.
    Soak {
        rate: Option<f64>,
        concurrency: Option<usize>,
        duration: Duration,
        window: Duration,
        leak_mib_per_min: f64,
    },
}

impl ScenarioSpec {
    pub fn kind(&self) -> &'static str {
        match self {
            ScenarioSpec::Ramp { .. } | ScenarioSpec::ConcurrencyRamp { .. } => "ramp",
            ScenarioSpec::Spike { .. } => "spike",
            ScenarioSpec::Stress { .. } => "stress",
            ScenarioSpec::Soak { .. } => "soak",
        }
    }
}

/// One point of a remote bench's sweep.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LoadLevel {
    Concurrency(usize),
    Rate(f64),
    /// A trace replay at its own pace.
    Trace,
}

impl LoadLevel {
    /// The last part of the criterion id: `c8`, `r500` (`r12.5`) or `trace`.
    pub fn label(&self) -> String {
        match self {
            LoadLevel::Concurrency(n) => format!("c{n}"),
            LoadLevel::Rate(rate) => format!("r{rate}"),
            LoadLevel::Trace => "trace".into(),
        }
    }
}

impl RemoteBench {
    /// The sweep's points: a trace replay's one, else the rates when given, else the
    /// concurrencies, else one request in flight.
    pub fn levels(&self) -> Vec<LoadLevel> {
        if self.trace {
            vec![LoadLevel::Trace]
        } else if !self.rate.is_empty() {
            self.rate.iter().map(|&r| LoadLevel::Rate(r)).collect()
        } else if !self.concurrency.is_empty() {
            self.concurrency
                .iter()
                .map(|&c| LoadLevel::Concurrency(c))
                .collect()
        } else {
            vec![LoadLevel::Concurrency(1)]
        }
    }
}

impl BenchDescriptor {
    /// The criterion group this bench reports under: its pipeline, or else the bench target it is
    /// defined in (the crate at the root of its module path, e.g. `pipeline` for
    /// `benches/pipeline.rs`).
    pub fn group_name(&self) -> &'static str {
        self.pipeline
            .unwrap_or_else(|| self.module_path.split("::").next().unwrap_or(self.name))
    }

    /// The bench's name without a batch size: `group/name`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.group_name(), self.name)
    }

    pub fn is_swept(&self) -> bool {
        !self.batch.is_empty()
    }

    /// Batch sizes to run, in order: the sweep, or the single default batch of 1.
    pub fn batches(&self) -> &'static [usize] {
        if self.batch.is_empty() {
            &[1]
        } else {
            self.batch
        }
    }

    pub fn remote(&self) -> Option<&RemoteBench> {
        match &self.kind {
            BenchKind::Remote(remote) => Some(remote),
            BenchKind::Stage(_) => None,
        }
    }

    /// Every criterion benchmark id this bench can produce, in run order.
    pub fn point_ids(&self) -> Vec<String> {
        match self.remote() {
            // A scenario is one run, named after its kind.
            Some(RemoteBench {
                scenario: Some(scenario),
                ..
            }) => vec![format!("{}/{}", self.key(), scenario.kind())],
            Some(remote) => remote
                .levels()
                .iter()
                .map(|level| self.load_point_id(level))
                .collect(),
            None => self.batches().iter().map(|&b| self.point_id(b)).collect(),
        }
    }

    /// The criterion benchmark id of one load level of a remote bench.
    pub fn load_point_id(&self, level: &LoadLevel) -> String {
        format!("{}/{}", self.key(), level.label())
    }

    /// The criterion benchmark id for one batch size, exactly as criterion prints it.
    pub fn point_id(&self, batch: usize) -> String {
        if self.is_swept() {
            format!("{}/{batch}", self.key())
        } else {
            self.key()
        }
    }
}

#[doc(hidden)]
#[linkme::distributed_slice]
pub static BENCHES: [BenchDescriptor];

/// Every registered bench in this binary, in source order (file, then line).
pub fn all() -> Vec<&'static BenchDescriptor> {
    let mut benches: Vec<&'static BenchDescriptor> = BENCHES.iter().collect();
    benches.sort_by(|a, b| (a.file, a.line, a.name).cmp(&(b.file, b.line, b.name)));
    benches
}

/// Finds a bench by its key (`group/name`).
pub fn find(key: &str) -> Option<&'static BenchDescriptor> {
    BENCHES.iter().find(|bench| bench.key() == key)
}

/// Turns what a bench function returns into a [`BenchOutcome`]; implemented for `()` and for
/// `Result<T, E>` where the error can be displayed.
#[diagnostic::on_unimplemented(
    message = "a #[model_bench] function must return `()` or `Result<T, E>` with `E: Display`, not `{Self}`"
)]
pub trait IntoBenchOutcome {
    fn into_bench_outcome(self) -> BenchOutcome;
}

impl IntoBenchOutcome for () {
    fn into_bench_outcome(self) -> BenchOutcome {
        Ok(())
    }
}

impl<T, E: fmt::Display> IntoBenchOutcome for Result<T, E> {
    fn into_bench_outcome(self) -> BenchOutcome {
        self.map(|_| ()).map_err(|error| format!("{error:#}"))
    }
}

/// Turns what a remote bench function returns into an endpoint: an endpoint of any kind
/// ([`V2Endpoint`](crate::remote::V2Endpoint), [`OpenAiEndpoint`](crate::remote::OpenAiEndpoint),
/// [`PostEndpoint`](crate::remote::PostEndpoint), [`AnyEndpoint`]), or `Result<_, E>` of one
/// where the error can be displayed.
#[diagnostic::on_unimplemented(
    message = "a #[model_bench(remote)] function must return an endpoint (`V2Endpoint`, `OpenAiEndpoint`, `PostEndpoint`) or `Result<_, E>` of one with `E: Display`, not `{Self}`"
)]
pub trait IntoEndpoint {
    fn into_endpoint(self) -> Result<AnyEndpoint, String>;
}

impl<R: Request> IntoEndpoint for Endpoint<R> {
    fn into_endpoint(self) -> Result<AnyEndpoint, String> {
        Ok(self.into_any())
    }
}

impl<R: Request, E: fmt::Display> IntoEndpoint for Result<Endpoint<R>, E> {
    fn into_endpoint(self) -> Result<AnyEndpoint, String> {
        self.map(Endpoint::into_any)
            .map_err(|error| format!("{error:#}"))
    }
}
