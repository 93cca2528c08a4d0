//! What a load run records: HDR histograms (3 significant figures, constant memory) of latency
//! and service time, send lateness, errors by class with the first message of each, and
//! per-slice latency sums that become criterion's samples.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use super::hdr::{histogram, nanos, HIGHEST_NS, LOWEST_DISCERNIBLE_NS};
use super::intervals::{IntervalRecorder, Success};
use super::streams::StreamHistograms;
use crate::remote::client::{Client, Reply};
use crate::remote::error::RequestError;
use crate::remote::scaleout::record::SliceSums;
use crate::results::Slo;
use crate::stats::stability::WindowFigures;

/// A send later than this after its intended time counts as late.
pub const LATE_AFTER: Duration = Duration::from_millis(1);

/// The measurement window, how it is cut into slices (criterion's samples), and the length of
/// each step of its time series.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    /// When the measurement window starts (the run's start plus the warm-up).
    pub start: Instant,
    /// The window's length.
    pub len: Duration,
    /// How many equal slices the window is cut into.
    pub slices: usize,
    /// The length of one step of the time series.
    pub series_step: Duration,
}

/// The default step of a load run's time series.
pub const SERIES_STEP: Duration = Duration::from_secs(1);
/// Responses arriving this many steps after the window still count in the time series (a
/// backlog draining); later ones only in the totals.
const SERIES_DRAIN_STEPS: usize = 60;

impl Window {
    /// The time-series step a moment falls in (before the window: none).
    fn step_of(&self, at: Instant) -> Option<usize> {
        let offset = at.checked_duration_since(self.start)?;
        Some((offset.as_nanos() / self.series_step.as_nanos().max(1)) as usize)
    }

    pub(super) fn series_steps(&self) -> usize {
        (self
            .len
            .as_nanos()
            .div_ceil(self.series_step.as_nanos().max(1)) as usize)
            .max(1)
    }

    /// The slice a request started at `at` belongs to, or `None` outside the window.
    fn slice_of(&self, at: Instant) -> Option<usize> {
        let offset = at.checked_duration_since(self.start)?;
        if offset >= self.len {
            return None;
        }
        let index = (offset.as_nanos() * self.slices as u128 / self.len.as_nanos().max(1)) as usize;
        Some(index.min(self.slices - 1))
    }
}

/// One slice of the window (one criterion sample): its successful requests, by intended send
/// time.
#[derive(Debug, Clone, Default)]
pub struct Slice {
    /// Successful requests intended in this slice.
    pub ok: u64,
    /// Sum of their latencies (from intended send to response), in nanoseconds.
    pub latency_sum_ns: u128,
    /// Two significant figures: enough to compare windows for stability.
    pub latency: Option<Histogram<u32>>,
    /// Token streams: those of them that gave a first token.
    pub ttft_ok: u64,
    /// Token streams: the sum of their times to first token (from intended send), in ns.
    pub ttft_sum_ns: u128,
}

/// One step of the time series: the requests intended in it, and the responses that arrived in
/// it.
#[derive(Debug, Clone, Default)]
pub struct Step {
    /// Measured requests intended in this step.
    pub sent: u64,
    /// Those of them that succeeded.
    pub ok: u64,
    /// Those of them that failed.
    pub errors: u64,
    /// Successful responses that arrived during this step (whenever they were sent).
    pub arrived_ok: u64,
    /// Latency of this step's successful requests; two significant figures keep a long soak's
    /// series small (about 12 KB a step).
    pub latency: Option<Histogram<u32>>,
}

/// Records into a window's small histogram, creating it on first use.
/// A stability window's figures from its successful responses over `span_s` seconds.
fn window_figures(
    ok: u64,
    latency_sum_ns: u128,
    latency: &Option<Histogram<u32>>,
    span_s: f64,
) -> WindowFigures {
    let q = |quantile: f64| {
        latency
            .as_ref()
            .map(|h| h.value_at_quantile(quantile) as f64)
    };
    WindowFigures {
        throughput_rps: ok as f64 / span_s.max(1e-9),
        mean_ns: (ok > 0).then(|| latency_sum_ns as f64 / ok as f64),
        p50_ns: q(0.5),
        p99_ns: q(0.99),
    }
}

fn record_small(histogram: &mut Option<Histogram<u32>>, latency_ns: u64) {
    let histogram = histogram.get_or_insert_with(|| {
        Histogram::new_with_bounds(LOWEST_DISCERNIBLE_NS, HIGHEST_NS, 2)
            .expect("constant histogram bounds are valid")
    });
    let _ = histogram.record(latency_ns);
}

/// Adds one small window histogram into another (either may not exist yet).
pub(crate) fn add_small(mine: &mut Option<Histogram<u32>>, theirs: &Option<Histogram<u32>>) {
    match (mine, theirs) {
        (Some(mine), Some(theirs)) => {
            let _ = mine.add(theirs);
        }
        (mine @ None, Some(theirs)) => *mine = Some(theirs.clone()),
        _ => {}
    }
}

/// Everything recorded about the requests that started inside the window.
#[derive(Debug, Clone)]
pub struct Recorder {
    /// The measurement window requests are recorded against.
    pub window: Window,
    /// Successful requests' latency in nanoseconds, from intended send time to response.
    pub latency: Histogram<u64>,
    /// Successful requests' service time in nanoseconds, from actual send to response.
    pub service: Histogram<u64>,
    /// Every measured request's send lateness in nanoseconds (actual minus intended send time).
    pub lateness: Histogram<u64>,
    /// The window's slices, in order.
    pub slices: Vec<Slice>,
    /// The time series, one entry per `window.series_step` (plus the drain after the window).
    pub series: Vec<Step>,
    /// Measured requests (intended inside the window), whatever their outcome.
    pub sent: u64,
    /// Measured requests that succeeded.
    pub ok: u64,
    /// Measured requests sent more than [`LATE_AFTER`] after their intended time.
    pub late: u64,
    /// Failures by error class key (`timeout`, `http_503`, …): measured requests' and the load
    /// generator's own (a worker or the dispatcher that stopped).
    pub errors: BTreeMap<String, u64>,
    /// The first failure's message of each error class key.
    pub first_errors: BTreeMap<String, String>,
    /// When the last recorded request finished.
    pub last_done: Option<Instant>,
    /// Stop the run once this many measured requests have failed.
    pub error_limit: Option<u64>,
    /// When the error limit was reached (the run stopped sending then).
    pub stopped_at: Option<Instant>,
    /// Raised with `stopped_at`, for the senders to see without taking the recorder's lock.
    pub stop_signal: Arc<AtomicBool>,
    /// A mixed workload's members, each recorded on its own too (empty otherwise).
    pub members: Vec<Recorder>,
    /// Windows by count: each closes after this many measured successful responses.
    pub count_window: Option<u64>,
    /// The closed count windows, and the one filling.
    pub count_windows: Vec<CountWindow>,
    /// The count window being filled.
    pub filling: CountWindow,
    /// Token-stream figures of the successful streams (endpoints that stream tokens only).
    pub stream: Option<StreamHistograms>,
    /// The objectives streams are judged against for goodput (none set: no goodput).
    pub stream_slo: Slo,
    /// A scale-out worker's interval log of the measured requests (the whole run's recorder
    /// only, not its mix members).
    pub intervals: Option<IntervalRecorder>,
}

/// A window of a number of successful responses, in the order they arrived.
#[derive(Debug, Clone, Default)]
pub struct CountWindow {
    /// Successful responses in this window.
    pub ok: u64,
    /// Sum of their latencies, in nanoseconds.
    pub latency_sum_ns: u128,
    /// Their latencies in nanoseconds, to two significant figures; `None` before the window's
    /// first response.
    pub latency: Option<Histogram<u32>>,
    /// From the previous window's last response (the measurement window's start for the
    /// first) to this one's last.
    pub from: Option<Instant>,
    /// When this window's last response arrived; `None` while it has none.
    pub to: Option<Instant>,
}

impl Recorder {
    /// An empty recorder for `window`: no error limit, no mix members, no count windows.
    pub fn new(window: Window) -> Self {
        Recorder {
            window,
            latency: histogram(),
            service: histogram(),
            lateness: histogram(),
            slices: vec![Slice::default(); window.slices.max(1)],
            series: vec![Step::default(); window.series_steps()],
            sent: 0,
            ok: 0,
            late: 0,
            errors: BTreeMap::new(),
            first_errors: BTreeMap::new(),
            last_done: None,
            error_limit: None,
            stopped_at: None,
            stop_signal: Arc::default(),
            members: Vec::new(),
            count_window: None,
            count_windows: Vec::new(),
            filling: CountWindow::default(),
            stream: None,
            stream_slo: Slo::default(),
            intervals: None,
        }
    }

    /// The recorder of one run of `client`: a recorder per mix member beside the whole, count
    /// windows and the error limit as planned, and the client's SLOs for goodput.
    pub fn for_run(
        window: Window,
        count_window: Option<u64>,
        error_limit: Option<u64>,
        client: &Client,
    ) -> Self {
        let slo = client.stream_slo();
        let member = || Recorder {
            stream_slo: slo,
            ..Recorder::new(window)
        };
        Recorder {
            count_window,
            error_limit,
            members: (0..client.mix_members().len()).map(|_| member()).collect(),
            ..member()
        }
    }

    /// Records one request: `intended` is when it should have been sent (its actual send time in
    /// a closed loop), `sent` when it was, `done` when its outcome was known. Requests intended
    /// before or after the window are not measured (warm-up, drain); returns whether it counted.
    pub fn record(
        &mut self,
        intended: Instant,
        sent: Instant,
        done: Instant,
        outcome: Result<Reply, RequestError>,
    ) -> bool {
        let Some(slice) = self.window.slice_of(intended) else {
            return false;
        };
        self.sent += 1;
        let step = self.window.step_of(intended).unwrap_or(0);
        let arrived_step = self
            .window
            .step_of(done)
            .filter(|&step| step < self.window.series_steps() + SERIES_DRAIN_STEPS);
        if let Some(arrived) = arrived_step {
            if self.series.len() <= arrived {
                self.series.resize(arrived + 1, Step::default());
            }
        }
        self.series[step].sent += 1;
        let lateness = sent.saturating_duration_since(intended);
        // Recording into a histogram sized for an hour cannot fail once values are clamped.
        let _ = self.lateness.record(nanos(lateness).max(1));
        if lateness > LATE_AFTER {
            self.late += 1;
        }
        self.last_done = Some(self.last_done.map_or(done, |last| last.max(done)));
        match outcome {
            Ok(reply) => {
                if let Some(ttft) = reply.as_ref().and_then(|stream| stream.ttft_ns) {
                    let slice = &mut self.slices[slice];
                    slice.ttft_ok += 1;
                    slice.ttft_sum_ns += (sent.saturating_duration_since(intended)
                        + Duration::from_nanos(ttft))
                    .as_nanos();
                }
                if let Some(stream) = &reply {
                    self.stream
                        .get_or_insert_with(|| StreamHistograms::with_slo(self.stream_slo))
                        .record(intended, sent, stream);
                }
                let latency = done.saturating_duration_since(intended);
                let _ = self.latency.record(nanos(latency));
                let _ = self
                    .service
                    .record(nanos(done.saturating_duration_since(sent)));
                self.ok += 1;
                let slice = &mut self.slices[slice];
                slice.ok += 1;
                slice.latency_sum_ns += latency.as_nanos();
                record_small(&mut slice.latency, nanos(latency));
                self.series[step].ok += 1;
                record_small(&mut self.series[step].latency, nanos(latency));
                if let Some(size) = self.count_window {
                    let start = self.window.start;
                    let filling = &mut self.filling;
                    filling.from.get_or_insert(start);
                    filling.ok += 1;
                    filling.latency_sum_ns += latency.as_nanos();
                    record_small(&mut filling.latency, nanos(latency));
                    filling.to = Some(filling.to.map_or(done, |to| to.max(done)));
                    if filling.ok >= size {
                        let closed = std::mem::take(filling);
                        self.filling.from = closed.to;
                        self.count_windows.push(closed);
                    }
                }
                if let Some(arrived) = arrived_step {
                    self.series[arrived].arrived_ok += 1;
                }
            }
            Err(error) => {
                self.series[step].errors += 1;
                self.record_error(error);
                let failed: u64 = self.errors.values().sum();
                if self.stopped_at.is_none() && self.error_limit.is_some_and(|l| failed >= l) {
                    self.stopped_at = Some(done);
                    self.stop_signal.store(true, Ordering::Release);
                }
            }
        }
        true
    }

    /// Records a request of mix member `member`: in the whole and in the member's own.
    pub fn record_member(
        &mut self,
        member: usize,
        intended: Instant,
        sent: Instant,
        done: Instant,
        outcome: Result<Reply, RequestError>,
    ) -> bool {
        if let Some(own) = self.members.get_mut(member) {
            own.record(intended, sent, done, outcome.clone());
        }
        // Into the interval log first, while the outcome is still here: what `record` counts
        // (a request intended inside the window).
        let counted = self.window.slice_of(intended).is_some();
        if let (true, Some(intervals)) = (counted, self.intervals.as_mut()) {
            let success = outcome.as_ref().ok().map(|reply| Success {
                latency: done.saturating_duration_since(intended),
                service: done.saturating_duration_since(sent),
                stream: reply.as_ref(),
            });
            intervals.record(self.window.start, (intended, sent, done), success);
        }
        self.record(intended, sent, done, outcome)
    }

    /// Counts a failure under its class's key and keeps the class's first message; it does not
    /// count as a measured request (see [`record`](Self::record) for those).
    pub fn record_error(&mut self, error: RequestError) {
        let key = error.class.key();
        *self.errors.entry(key.clone()).or_default() += 1;
        self.first_errors.entry(key).or_insert(error.message);
    }

    /// Adds `other`'s histograms, slices, time series, counts, errors and last response into
    /// this one (not its mix members, count windows or error-limit stop).
    pub fn merge(&mut self, other: &Recorder) {
        if let Some(theirs) = &other.stream {
            self.stream
                .get_or_insert_with(|| StreamHistograms::with_slo(self.stream_slo))
                .merge(theirs);
        }
        let _ = self.latency.add(&other.latency);
        let _ = self.service.add(&other.service);
        let _ = self.lateness.add(&other.lateness);
        for (mine, theirs) in self.slices.iter_mut().zip(&other.slices) {
            mine.ok += theirs.ok;
            mine.latency_sum_ns += theirs.latency_sum_ns;
            mine.ttft_ok += theirs.ttft_ok;
            mine.ttft_sum_ns += theirs.ttft_sum_ns;
            add_small(&mut mine.latency, &theirs.latency);
        }
        if self.series.len() < other.series.len() {
            self.series.resize(other.series.len(), Step::default());
        }
        for (mine, theirs) in self.series.iter_mut().zip(&other.series) {
            mine.sent += theirs.sent;
            mine.ok += theirs.ok;
            mine.errors += theirs.errors;
            mine.arrived_ok += theirs.arrived_ok;
            add_small(&mut mine.latency, &theirs.latency);
        }
        self.sent += other.sent;
        self.ok += other.ok;
        self.late += other.late;
        for (key, count) in &other.errors {
            *self.errors.entry(key.clone()).or_default() += count;
        }
        for (key, message) in &other.first_errors {
            self.first_errors
                .entry(key.clone())
                .or_insert_with(|| message.clone());
        }
        self.last_done = match (self.last_done, other.last_done) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }

    /// Each slice's figures as a stability window: successful requests per second of slice
    /// (by intended send time) and its latency.
    pub fn slice_figures(&self) -> Vec<WindowFigures> {
        let slice_s = self.window.len.as_secs_f64() / self.slices.len().max(1) as f64;
        self.slices
            .iter()
            .map(|slice| window_figures(slice.ok, slice.latency_sum_ns, &slice.latency, slice_s))
            .collect()
    }

    /// Each closed count window's figures, in order (the partly filled last one left out).
    pub fn count_figures(&self) -> Vec<WindowFigures> {
        self.count_windows
            .iter()
            .map(|window| {
                let span = match (window.from, window.to) {
                    (Some(from), Some(to)) => to.saturating_duration_since(from).as_secs_f64(),
                    _ => 0.0,
                };
                window_figures(window.ok, window.latency_sum_ns, &window.latency, span)
            })
            .collect()
    }

    /// Each slice's successful requests with their latencies (and times to first token) added,
    /// in slice order: what a scale-out worker records, so the workers' slices add exactly.
    pub fn slice_sums(&self) -> Vec<SliceSums> {
        let ns = |sum: u128| u64::try_from(sum).unwrap_or(u64::MAX);
        self.slices
            .iter()
            .map(|s| SliceSums {
                ok: s.ok,
                latency_sum_ns: ns(s.latency_sum_ns),
                ttft_ok: s.ttft_ok,
                ttft_sum_ns: ns(s.ttft_sum_ns),
            })
            .collect()
    }

    /// Mean latency (ns) of each slice that had a successful request, in slice order; a slice
    /// without one (the server was down then) has no mean and is left out.
    pub fn slice_means(&self) -> Vec<f64> {
        SliceSums::latency_means(&self.slice_sums())
    }

    /// Token streams: the mean time to first token (from intended send) of each slice that had
    /// one, in nanoseconds, in slice order; empty for endpoints that do not stream tokens.
    pub fn slice_ttft_means(&self) -> Vec<f64> {
        SliceSums::ttft_means(&self.slice_sums())
    }
}

/// The progress line of a run whose recorder the workers share: its figures read under the
/// recorder's lock once per line (a few microseconds every second or more).
pub(super) fn progress_line(
    recorder: &Arc<std::sync::Mutex<Recorder>>,
    warm_up: std::time::Duration,
    duration: std::time::Duration,
) -> Option<crate::progress::Line> {
    let recorder = Arc::clone(recorder);
    crate::progress::load(warm_up, duration, move || {
        let recorder = crate::sync::lock(&recorder);
        let errors: u64 = recorder.errors.values().sum();
        crate::progress::LoadSnapshot {
            requests: recorder.ok + errors,
            ok: recorder.ok,
            errors,
            p99_ns: (!recorder.latency.is_empty())
                .then(|| recorder.latency.value_at_quantile(0.99) as f64),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote::error::ErrorClass;

    #[test]
    fn count_windows_close_every_n_responses_and_span_from_the_previous_one() {
        let start = Instant::now();
        let window = Window {
            start,
            len: Duration::from_secs(10),
            slices: 10,
            series_step: Duration::from_secs(1),
        };
        let mut recorder = Recorder::new(window);
        recorder.count_window = Some(2);
        let ms = Duration::from_millis;
        // Responses at 100, 200 (window 1: 2 in 200 ms), 300, 600 (window 2: 2 in 400 ms), and
        // one more that fills no window; a failure counts in none.
        for (sent, done) in [(90, 100), (190, 200), (280, 300), (580, 600), (700, 710)] {
            recorder.record(
                start + ms(sent),
                start + ms(sent),
                start + ms(done),
                Ok(None),
            );
        }
        recorder.record(
            start + ms(400),
            start + ms(400),
            start + ms(410),
            Err(RequestError::new(ErrorClass::Timeout, "slow")),
        );
        let figures = recorder.count_figures();
        assert_eq!(figures.len(), 2);
        assert!(
            (figures[0].throughput_rps - 10.0).abs() < 1e-6,
            "{figures:?}"
        );
        assert!(
            (figures[1].throughput_rps - 5.0).abs() < 1e-6,
            "{figures:?}"
        );
        assert_eq!(figures[0].mean_ns, Some(10e6));
        assert_eq!(figures[1].mean_ns, Some(20e6));
    }
}
