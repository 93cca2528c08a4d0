//! What one load run is: closed loop (N requests in flight, in steps) or open loop (constant or
//! seeded Poisson arrivals at a rate, in steps), its warm-up and window, slices, time-series
//! step, request and error limits.

use std::time::Duration;

use super::intervals::IntervalLogTarget;
use super::share::WorkerShare;
use super::tally::TallyShape;
use crate::results::LatencyBasis;

/// The default step of a load run's time series.
pub const SERIES_STEP: Duration = Duration::from_secs(1);

/// How arrivals are spaced in an open loop.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Arrival {
    /// Evenly spaced: one arrival every `1 / rate` seconds.
    Constant,
    /// Exponential gaps from a seeded generator: the same seed gives the same schedule.
    Poisson,
    /// Gamma-distributed gaps of mean `1 / rate` (seeded): `shape` 1 is Poisson, below 1
    /// burstier (gaps' coefficient of variation 1/√shape), above 1 more regular — the
    /// burstiness of vLLM's `--burstiness`. A shape that is not a positive finite number is
    /// taken as 1.
    Gamma {
        /// The gamma distribution's shape (> 0).
        shape: f64,
    },
    /// At the times of a recorded trace ([`LoadPlan::schedule`]): a replay.
    Trace,
}

impl Arrival {
    /// The arrival process's name in settings and results: `constant`, `poisson` or
    /// `gamma(<shape>)`.
    pub fn label(self) -> String {
        match self {
            Arrival::Constant => "constant".into(),
            Arrival::Poisson => "poisson".into(),
            Arrival::Gamma { shape } => format!("gamma({shape})"),
            Arrival::Trace => "trace".into(),
        }
    }

    /// The gap before the next arrival at `rate` per second, for the random processes.
    pub(crate) fn gap_s(self, rate: f64, rng: &mut crate::stats::rng::SplitMix64) -> f64 {
        match self {
            Arrival::Constant | Arrival::Trace => 1.0 / rate,
            Arrival::Poisson => -rng.next_open01().ln() / rate,
            Arrival::Gamma { shape } if shape.is_finite() && shape > 0.0 => {
                rng.next_gamma(shape) / (shape * rate)
            }
            // A shape that is no positive number has no gamma distribution: Poisson (shape 1).
            Arrival::Gamma { .. } => -rng.next_open01().ln() / rate,
        }
    }
}

/// How requests are sent: a fixed number in flight, or arrivals at a target rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LoadMode {
    /// Closed loop: each of `concurrency` workers sends its next request when the last one ends.
    Closed {
        /// Requests kept in flight (at least 1).
        concurrency: usize,
    },
    /// Open loop: requests are sent at their intended times, whether or not earlier ones ended.
    Open {
        /// Target arrivals per second.
        rate: f64,
        /// How the arrivals are spaced.
        arrival: Arrival,
        /// Seed of the Poisson arrivals' generator (unused for constant arrivals).
        seed: u64,
    },
}

/// One load run.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadPlan {
    /// Closed or open loop, with its concurrency or rate.
    pub mode: LoadMode,
    /// Requests started before this much time has passed are not measured.
    pub warm_up: Duration,
    /// The measurement window after the warm-up.
    pub duration: Duration,
    /// Stop after this many measured requests, even if the window is not over.
    pub max_requests: Option<u64>,
    /// Open loop: at most this many requests in flight; later arrivals wait (and count late).
    pub max_in_flight: usize,
    /// Equal time slices of the window; each becomes one criterion sample.
    pub slices: usize,
    /// The step of the run's time series.
    pub series_step: Duration,
    /// Open loop: later rates, each from an offset into the measurement window until the next
    /// (a ramp in steps, a spike); before the first, the plan's own rate (warm-up included).
    pub rate_steps: Vec<RateStep>,
    /// Closed loop: later numbers of requests in flight, each from an offset into the
    /// measurement window until the next; before the first, the plan's own concurrency.
    pub concurrency_steps: Vec<ConcurrencyStep>,
    /// Stability windows by count: also record windows of this many successful responses.
    pub count_window: Option<u64>,
    /// Stop sending once this many measured requests have failed (a server that died in a soak):
    /// what was measured until then is kept, and the run says when it stopped.
    pub error_limit: Option<u64>,
    /// One worker of a run from several machines: only this worker's share of the load is sent
    /// (open loop: its arrivals of the whole schedule; closed loop: its part of the concurrency
    /// and of the request budget). `None`: the whole load.
    pub worker: Option<WorkerShare>,
    /// A scale-out worker's interval log: each step's histograms appended to this file as the
    /// run goes (`load/intervals.rs`). `None`: no log.
    pub interval_log: Option<IntervalLogTarget>,
    /// Open loop: arrivals at these times from the run's start, in order, instead of at `rate`
    /// (a trace replay; [`Arrival::Trace`]). Arrival `k` is request number `k` of the schedule.
    pub schedule: Option<std::sync::Arc<[Duration]>>,
}

/// From `from` into the measurement window, arrivals come at `rate` per second (0: none).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateStep {
    /// When the step starts, as an offset into the measurement window.
    pub from: Duration,
    /// Arrivals per second from then on (0: none).
    pub rate: f64,
}

/// From `from` into the measurement window, `concurrency` requests are kept in flight.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConcurrencyStep {
    /// When the step starts, as an offset into the measurement window.
    pub from: Duration,
    /// Requests kept in flight from then on.
    pub concurrency: usize,
}

/// Default cap on requests in flight in an open loop.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 1024;
/// Arrivals waiting for a free slot beyond this many are dropped (and counted) at once, which
/// keeps memory bounded when a server stops answering.
pub const MAX_BACKLOG: usize = 100_000;

impl LoadPlan {
    /// The shape of this plan's tally: its loop's latency basis, its window, slices and steps.
    pub fn tally_shape(&self) -> TallyShape {
        TallyShape {
            basis: match self.mode {
                LoadMode::Closed { .. } => LatencyBasis::CorrectedClosedLoop,
                LoadMode::Open { .. } => LatencyBasis::IntendedSend,
            },
            window: self.duration,
            slices: self.slices.max(1),
            series_step: self.series_step,
        }
    }

    /// A closed loop keeping `concurrency` requests in flight (at least 1) for `duration`, with no
    /// warm-up, 10 slices and no request or error limit.
    pub fn closed(concurrency: usize, duration: Duration) -> Self {
        LoadPlan {
            mode: LoadMode::Closed {
                concurrency: concurrency.max(1),
            },
            warm_up: Duration::ZERO,
            duration,
            max_requests: None,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            slices: 10,
            series_step: SERIES_STEP,
            rate_steps: Vec::new(),
            concurrency_steps: Vec::new(),
            count_window: None,
            error_limit: None,
            worker: None,
            interval_log: None,
            schedule: None,
        }
    }

    /// An open loop at `rate` arrivals per second for `duration`, seed `0x5eed`, with no warm-up,
    /// 10 slices, at most [`DEFAULT_MAX_IN_FLIGHT`] in flight and no request or error limit.
    pub fn open(rate: f64, arrival: Arrival, duration: Duration) -> Self {
        LoadPlan {
            mode: LoadMode::Open {
                rate,
                arrival,
                seed: 0x5eed,
            },
            warm_up: Duration::ZERO,
            duration,
            max_requests: None,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            slices: 10,
            series_step: SERIES_STEP,
            rate_steps: Vec::new(),
            concurrency_steps: Vec::new(),
            count_window: None,
            error_limit: None,
            worker: None,
            interval_log: None,
            schedule: None,
        }
    }

    /// A replay: arrivals at the times of `schedule` (from the run's start, in order; request
    /// `k` is the schedule's `k`th), the requests due in the first `warm_up` not measured, the
    /// window to the last request due (a conversation's later turn may be due after the last
    /// arrival); its rate the arrivals' mean.
    pub fn replay(schedule: crate::remote::llm::ReplaySchedule, warm_up: Duration) -> Self {
        let arrivals = schedule.arrivals;
        let last = arrivals
            .last()
            .copied()
            .unwrap_or_default()
            .max(schedule.last_due);
        // The window ends just after the last request due, so that it is measured.
        let duration = last.saturating_sub(warm_up) + Duration::from_millis(1);
        let rate = arrivals.len() as f64 / (last.as_secs_f64().max(1e-3));
        LoadPlan {
            schedule: Some(arrivals.into()),
            ..LoadPlan::open(rate, Arrival::Trace, duration).warm_up(warm_up)
        }
    }

    /// Runs `warm_up` before the measurement window; requests started in it are not measured.
    pub fn warm_up(mut self, warm_up: Duration) -> Self {
        self.warm_up = warm_up;
        self
    }

    /// Stops after `max` measured requests, even if the window is not over.
    pub fn max_requests(mut self, max: u64) -> Self {
        self.max_requests = Some(max);
        self
    }

    /// Open loop: caps requests in flight at `max` (at least 1).
    pub fn max_in_flight(mut self, max: usize) -> Self {
        self.max_in_flight = max.max(1);
        self
    }

    /// Splits the window into `slices` equal slices (at least 1), one criterion sample each.
    pub fn slices(mut self, slices: usize) -> Self {
        self.slices = slices.max(1);
        self
    }

    /// Stop once `errors` measured requests have failed.
    pub fn error_limit(mut self, errors: u64) -> Self {
        self.error_limit = Some(errors.max(1));
        self
    }

    /// Appends each step's histograms to `target` as the run goes (see
    /// [`LoadPlan::interval_log`](Self::interval_log)).
    pub fn log_intervals(mut self, target: IntervalLogTarget) -> Self {
        self.interval_log = Some(target);
        self
    }

    /// Sends only `worker`'s share of the load (see [`LoadPlan::worker`](Self::worker)).
    pub fn for_worker(mut self, worker: WorkerShare) -> Self {
        self.worker = Some(worker);
        self
    }

    /// Sets the time series' step (at least 1 ms).
    pub fn series_step(mut self, step: Duration) -> Self {
        self.series_step = step.max(Duration::from_millis(1));
        self
    }

    /// Open loop: from `from` into the measurement window, send at `rate` per second.
    pub fn then_rate(mut self, from: Duration, rate: f64) -> Self {
        self.rate_steps.push(RateStep {
            from,
            rate: rate.max(0.0),
        });
        self.rate_steps.sort_by_key(|step| step.from);
        self
    }

    /// Also record windows of `responses` successful responses each (stability by count).
    pub fn count_windows(mut self, responses: u64) -> Self {
        self.count_window = Some(responses.max(1));
        self
    }

    /// Closed loop: from `from` into the measurement window, keep `concurrency` in flight.
    pub fn then_concurrency(mut self, from: Duration, concurrency: usize) -> Self {
        self.concurrency_steps
            .push(ConcurrencyStep { from, concurrency });
        self.concurrency_steps.sort_by_key(|step| step.from);
        self
    }

    /// Open loop: seeds the Poisson arrivals' generator; a closed loop ignores it.
    pub fn seed(mut self, new_seed: u64) -> Self {
        if let LoadMode::Open { seed, .. } = &mut self.mode {
            *seed = new_seed;
        }
        self
    }

    /// Whether this is an open loop.
    pub fn is_open(&self) -> bool {
        matches!(self.mode, LoadMode::Open { .. })
    }
}
