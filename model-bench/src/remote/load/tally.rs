//! One load point's measurements as a value that adds exactly: the request histograms, the
//! failures by class, the window's slices (criterion's samples), the time series, the token
//! streams. Each recording thread of a run keeps one, and the run adds them; a scale-out worker
//! writes its own (the histograms go to its interval log, the rest to its record) and the merge
//! adds the workers' — so a run's figures and a merge's come from one value, turned into
//! `LoadStats` in one place (`summary.rs`).

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use super::hdr::{histogram, nanos, HIGHEST_NS, LOWEST_DISCERNIBLE_NS};
use super::streams::StreamHistograms;
use crate::remote::client::Reply;
use crate::remote::error::RequestError;
use crate::results::{LatencyBasis, Slo};
use crate::stats::stability::WindowFigures;

/// What a point's tally is measured against: its latency basis and its measurement window, cut
/// into slices and time-series steps. Equal on every worker of a scale-out run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TallyShape {
    /// From the intended send (open loop), or corrected service times (closed loop).
    pub basis: LatencyBasis,
    /// The measurement window's length.
    pub window: Duration,
    /// How many equal slices the window is cut into (criterion's samples).
    pub slices: usize,
    /// The length of one step of the time series.
    pub series_step: Duration,
}

/// Responses arriving this many steps after the window still count in the time series (a
/// backlog draining); later ones only in the totals.
pub const SERIES_DRAIN_STEPS: usize = 60;

/// The most slices a shape may have (criterion's samples; a plan has 10 to a few hundred).
const MAX_SLICES: usize = 100_000;
/// The most time-series steps a shape's window may have (a day of 100 ms steps is 864,000).
const MAX_STEPS: u128 = 1_000_000;

impl TallyShape {
    /// Whether a shape read from a file is one a run can have: at least one slice, steps of at
    /// least a millisecond, and no more slices or steps than the bounds (so a hostile record
    /// cannot make a merge allocate without end).
    pub fn check(&self) -> Result<(), String> {
        let steps = self.window.as_nanos() / self.series_step.as_nanos().max(1);
        if self.slices == 0 || self.slices > MAX_SLICES {
            return Err(format!(
                "{} slices (a window has 1 to {MAX_SLICES})",
                self.slices
            ));
        }
        if self.series_step < Duration::from_millis(1) || steps > MAX_STEPS {
            return Err(format!(
                "a window of {:?} in steps of {:?} ({steps} steps: a step is at least 1 ms, a \
                 window at most {MAX_STEPS} steps)",
                self.window, self.series_step
            ));
        }
        Ok(())
    }

    /// The slice a request intended `offset` after the window's start belongs to, or `None`
    /// past the window.
    pub(crate) fn slice_of(&self, offset: Duration) -> Option<usize> {
        if offset >= self.window {
            return None;
        }
        let index =
            (offset.as_nanos() * self.slices as u128 / self.window.as_nanos().max(1)) as usize;
        Some(index.min(self.slices.saturating_sub(1)))
    }

    /// The time-series step a moment `offset` after the window's start falls in.
    fn step_of(&self, offset: Duration) -> usize {
        (offset.as_nanos() / self.series_step.as_nanos().max(1)) as usize
    }

    /// The steps of the window itself (the drain after it comes on top).
    pub(crate) fn series_steps(&self) -> usize {
        (self
            .window
            .as_nanos()
            .div_ceil(self.series_step.as_nanos().max(1)) as usize)
            .max(1)
    }
}

/// One slice of a worker's measured window: its successful requests and their latencies (and
/// times to first token) added up, so workers' slices add exactly.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SliceSums {
    /// Successful requests intended in the slice.
    pub ok: u64,
    /// Their latencies (from the intended send), added, ns.
    pub latency_sum_ns: u64,
    /// Token streams: those that gave a first token.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub ttft_ok: u64,
    /// Token streams: their times to first token, added, ns.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub ttft_sum_ns: u64,
}

fn is_zero(value: &u64) -> bool {
    *value == 0
}

impl SliceSums {
    /// `other` added to this (saturating: a record's counts come from a file).
    pub fn add(&mut self, other: &SliceSums) {
        self.ok = self.ok.saturating_add(other.ok);
        self.latency_sum_ns = self.latency_sum_ns.saturating_add(other.latency_sum_ns);
        self.ttft_ok = self.ttft_ok.saturating_add(other.ttft_ok);
        self.ttft_sum_ns = self.ttft_sum_ns.saturating_add(other.ttft_sum_ns);
    }

    /// The mean latency of each slice that had a successful request, ns, in order.
    pub fn latency_means(slices: &[SliceSums]) -> Vec<f64> {
        Self::means(slices, |s| (s.ok, s.latency_sum_ns))
    }

    /// The mean time to first token of each slice that had one, ns, in order.
    pub fn ttft_means(slices: &[SliceSums]) -> Vec<f64> {
        Self::means(slices, |s| (s.ttft_ok, s.ttft_sum_ns))
    }

    /// `sum / count` of each slice with a count, in order.
    fn means(slices: &[SliceSums], of: impl Fn(&SliceSums) -> (u64, u64)) -> Vec<f64> {
        slices
            .iter()
            .map(of)
            .filter(|&(count, _)| count > 0)
            .map(|(count, sum)| sum as f64 / count as f64)
            .collect()
    }
}

/// One slice of the window (one criterion sample): its sums, and its latencies to two
/// significant figures for the stability verdict (a run's own; not written for a merge).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Slice {
    /// What its successful requests add up to.
    #[serde(flatten)]
    pub sums: SliceSums,
    /// Their latencies, to two significant figures.
    #[serde(skip)]
    pub latency: Option<Histogram<u32>>,
}

/// One step of the time series: the requests intended in it, and the responses that arrived in
/// it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
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
    /// series small (about 12 KB a step, a few hundred bytes encoded).
    #[serde(
        default,
        serialize_with = "serialize_small",
        deserialize_with = "deserialize_small",
        skip_serializing_if = "Option::is_none"
    )]
    pub latency: Option<Histogram<u32>>,
}

/// Where a run stopped sending because its failures reached the error limit. In a scale-out
/// merge, the first worker to stop (each worker's limit applies to its own share).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Stop {
    /// How far into the window.
    pub after: Duration,
    /// The failed requests by then.
    pub failed: u64,
}

/// The request histograms' tags in a scale-out worker's interval log, in the order each step's
/// intervals are written; the stream histograms follow under
/// [`STREAM_TAGS`](super::STREAM_TAGS).
pub const REQUEST_TAGS: [&str; 3] = ["latency", "service", "lateness"];

/// A point's request histograms, full precision, in nanoseconds.
#[derive(Debug, Clone)]
pub struct RequestHistograms {
    /// Successful requests, from the intended send to the response.
    pub latency: Histogram<u64>,
    /// Successful requests, from the actual send to the response.
    pub service: Histogram<u64>,
    /// Every measured request's send lateness (actual minus intended send).
    pub lateness: Histogram<u64>,
}

impl Default for RequestHistograms {
    fn default() -> Self {
        RequestHistograms {
            latency: histogram(),
            service: histogram(),
            lateness: histogram(),
        }
    }
}

impl RequestHistograms {
    /// Each histogram with its interval-log tag, in [`REQUEST_TAGS`] order.
    pub fn tagged_mut(&mut self) -> impl Iterator<Item = (&'static str, &mut Histogram<u64>)> {
        REQUEST_TAGS
            .into_iter()
            .zip([&mut self.latency, &mut self.service, &mut self.lateness])
    }

    /// One measured request: its send lateness, and for a success its latency and service
    /// time (the one place the three are recorded, for a point's totals and a log's steps).
    pub fn record(&mut self, times: &RequestTimes, succeeded: bool) {
        // Clamped to the histograms' range, so recording cannot fail.
        let _ = self.lateness.record(nanos(times.lateness));
        if succeeded {
            let _ = self.latency.record(nanos(times.latency()));
            let _ = self.service.record(nanos(times.service));
        }
    }

    fn add(&mut self, other: &RequestHistograms) {
        let _ = self.latency.add(&other.latency);
        let _ = self.service.add(&other.service);
        let _ = self.lateness.add(&other.lateness);
    }
}

/// One measured request's times, relative to the measurement window's start.
#[derive(Debug, Clone, Copy)]
pub struct RequestTimes {
    /// When it was meant to be sent (in a closed loop, when it was).
    pub intended: Duration,
    /// How much later it was sent.
    pub lateness: Duration,
    /// From its send to its outcome.
    pub service: Duration,
}

impl RequestTimes {
    /// From the intended send to the outcome.
    pub fn latency(&self) -> Duration {
        self.lateness + self.service
    }

    /// When its outcome was known.
    pub fn done(&self) -> Duration {
        self.intended + self.latency()
    }
}

/// A load point's measurements. The request histograms travel apart from the rest (a worker's
/// interval log holds them, its record the rest: see the serde attributes).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PointTally {
    /// The latency basis and the window.
    pub shape: TallyShape,
    /// The request histograms (not serialised: a worker's interval log carries them).
    #[serde(skip)]
    pub requests: RequestHistograms,
    /// Failures by error class key (`timeout`, `http_503`, …): measured requests' and the load
    /// generator's own (a worker or the dispatcher that stopped).
    pub errors_by_class: BTreeMap<String, u64>,
    /// The first failure's message of each class.
    pub first_errors: BTreeMap<String, String>,
    /// Open loop: arrivals of the window never sent (the backlog was full or never drained).
    pub dropped: u64,
    /// From the window's start to the last measured response.
    pub elapsed: Option<Duration>,
    /// When the error limit stopped the run.
    pub stopped: Option<Stop>,
    /// The window's slices, in order.
    pub slices: Vec<Slice>,
    /// The time series, one step per `shape.series_step` (and the drain after the window, at
    /// most [`SERIES_DRAIN_STEPS`] steps).
    pub series: Vec<Step>,
    /// Token streams (endpoints that stream tokens only; with SLOs, from the start, so a run
    /// whose every stream failed still has a goodput, of none).
    pub stream: Option<StreamHistograms>,
}

impl PointTally {
    /// An empty tally of `shape`; streams judged against `slo` for goodput.
    pub fn new(shape: TallyShape, slo: Slo) -> Self {
        PointTally {
            shape,
            requests: RequestHistograms::default(),
            errors_by_class: BTreeMap::new(),
            first_errors: BTreeMap::new(),
            dropped: 0,
            elapsed: None,
            stopped: None,
            slices: vec![Slice::default(); shape.slices.max(1)],
            series: vec![Step::default(); shape.series_steps()],
            stream: slo.is_set().then(|| StreamHistograms::with_slo(slo)),
        }
    }

    /// Records one measured request (intended inside the window, in slice `slice`).
    pub fn record(
        &mut self,
        slice: usize,
        times: &RequestTimes,
        outcome: Result<Reply, RequestError>,
    ) {
        let step = self.shape.step_of(times.intended);
        let done = times.done();
        let arrived = Some(self.shape.step_of(done))
            .filter(|&step| step < self.shape.series_steps() + SERIES_DRAIN_STEPS);
        let last = arrived.unwrap_or(step).max(step);
        if self.series.len() <= last {
            self.series.resize(last + 1, Step::default());
        }
        self.series[step].sent += 1;
        self.elapsed = Some(self.elapsed.map_or(done, |elapsed| elapsed.max(done)));
        self.requests.record(times, outcome.is_ok());
        let reply = match outcome {
            Ok(reply) => reply,
            Err(error) => {
                self.series[step].errors += 1;
                self.record_error(error);
                return;
            }
        };
        let latency = times.latency();
        let slice = &mut self.slices[slice];
        if let Some(stream) = &reply {
            if let Some(ttft) = stream.ttft_ns {
                slice.sums.ttft_ok += 1;
                let ttft = nanos_u64(times.lateness + Duration::from_nanos(ttft));
                slice.sums.ttft_sum_ns = slice.sums.ttft_sum_ns.saturating_add(ttft);
            }
            self.stream
                .get_or_insert_with(StreamHistograms::default)
                .record(times.lateness, stream);
        }
        slice.sums.ok += 1;
        slice.sums.latency_sum_ns = slice.sums.latency_sum_ns.saturating_add(nanos_u64(latency));
        record_small(&mut slice.latency, nanos(latency));
        self.series[step].ok += 1;
        record_small(&mut self.series[step].latency, nanos(latency));
        if let Some(arrived) = arrived {
            self.series[arrived].arrived_ok += 1;
        }
    }

    /// Counts a failure under its class's key and keeps the class's first message; it is not
    /// a measured request ([`record`](Self::record) counts those).
    pub fn record_error(&mut self, error: RequestError) {
        let key = error.class.key();
        *self.errors_by_class.entry(key.clone()).or_default() += 1;
        self.first_errors.entry(key).or_insert(error.message);
    }

    /// Adds `other` (of the same shape) into this one: histograms, counts, slices and steps
    /// added (saturating: a worker's tally comes from a file), the later last response, the
    /// earlier stop.
    pub fn add(&mut self, other: &PointTally) {
        self.requests.add(&other.requests);
        for (key, count) in &other.errors_by_class {
            let total = self.errors_by_class.entry(key.clone()).or_default();
            *total = total.saturating_add(*count);
        }
        for (key, message) in &other.first_errors {
            self.first_errors
                .entry(key.clone())
                .or_insert_with(|| message.clone());
        }
        self.dropped = self.dropped.saturating_add(other.dropped);
        self.elapsed = self.elapsed.max(other.elapsed);
        self.stopped = match (self.stopped, other.stopped) {
            (Some(a), Some(b)) => Some(if b.after < a.after { b } else { a }),
            (a, b) => a.or(b),
        };
        if self.slices.len() < other.slices.len() {
            self.slices.resize(other.slices.len(), Slice::default());
        }
        for (mine, theirs) in self.slices.iter_mut().zip(&other.slices) {
            mine.sums.add(&theirs.sums);
            add_small(&mut mine.latency, &theirs.latency);
        }
        if self.series.len() < other.series.len() {
            self.series.resize(other.series.len(), Step::default());
        }
        for (mine, theirs) in self.series.iter_mut().zip(&other.series) {
            mine.sent = mine.sent.saturating_add(theirs.sent);
            mine.ok = mine.ok.saturating_add(theirs.ok);
            mine.errors = mine.errors.saturating_add(theirs.errors);
            mine.arrived_ok = mine.arrived_ok.saturating_add(theirs.arrived_ok);
            add_small(&mut mine.latency, &theirs.latency);
        }
        match (&mut self.stream, &other.stream) {
            (Some(mine), Some(theirs)) => mine.add(theirs),
            (mine @ None, Some(theirs)) => *mine = Some(theirs.clone()),
            _ => {}
        }
    }

    /// Every histogram the point's figures are made of, with its interval-log tag: the request
    /// histograms, then the stream histograms when the point streams tokens.
    pub fn tagged_histograms_mut(
        &mut self,
    ) -> impl Iterator<Item = (&'static str, &mut Histogram<u64>)> {
        let streams = self
            .stream
            .iter_mut()
            .flat_map(StreamHistograms::tagged_mut);
        self.requests.tagged_mut().chain(streams)
    }

    /// Measured requests: every one has a send lateness (and a success is one, whatever a
    /// damaged log left of its lateness).
    pub fn requests(&self) -> u64 {
        self.requests.lateness.len().max(self.ok())
    }

    /// Successful requests: every one has a latency.
    pub fn ok(&self) -> u64 {
        self.requests.latency.len()
    }

    /// Each slice's sums, in slice order: what a scale-out worker records, so the workers'
    /// slices add exactly.
    pub fn slice_sums(&self) -> Vec<SliceSums> {
        self.slices.iter().map(|slice| slice.sums).collect()
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

    /// Each slice's figures as a stability window: successful requests per second of slice
    /// (by intended send time) and its latency.
    pub fn slice_figures(&self) -> Vec<WindowFigures> {
        let slice_s = self.shape.window.as_secs_f64() / self.slices.len().max(1) as f64;
        self.slices
            .iter()
            .map(|slice| {
                window_figures(
                    slice.sums.ok,
                    u128::from(slice.sums.latency_sum_ns),
                    &slice.latency,
                    slice_s,
                )
            })
            .collect()
    }
}

/// A duration as summable nanoseconds (saturating past 584 years).
fn nanos_u64(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

/// A stability window's figures from its successful responses over `span_s` seconds.
pub(crate) fn window_figures(
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

/// An empty small histogram: two significant figures, the load generator's bounds.
fn small() -> Histogram<u32> {
    Histogram::new_with_bounds(LOWEST_DISCERNIBLE_NS, HIGHEST_NS, 2)
        .expect("constant histogram bounds are valid")
}

/// Records into a window's or step's small histogram, creating it on first use.
pub(crate) fn record_small(histogram: &mut Option<Histogram<u32>>, latency_ns: u64) {
    let _ = histogram.get_or_insert_with(small).record(latency_ns);
}

/// Adds one small histogram into another (either may not exist yet).
pub(crate) fn add_small(mine: &mut Option<Histogram<u32>>, theirs: &Option<Histogram<u32>>) {
    match (mine, theirs) {
        (Some(mine), Some(theirs)) => {
            let _ = mine.add(theirs);
        }
        (mine @ None, Some(theirs)) => *mine = Some(theirs.clone()),
        _ => {}
    }
}

/// A step's small histogram in a worker's record ([`encode`](super::counts::encode)).
fn serialize_small<S: serde::Serializer>(
    histogram: &Option<Histogram<u32>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::Error as _;
    match histogram {
        Some(histogram) => {
            serializer.serialize_some(&super::counts::encode(histogram).map_err(S::Error::custom)?)
        }
        None => serializer.serialize_none(),
    }
}

/// A step's small histogram read back ([`decode_into`](super::counts::decode_into)): refused
/// unless it has the small histograms' shape.
fn deserialize_small<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Histogram<u32>>, D::Error> {
    use serde::de::Error as _;
    let Some(text) = <Option<String> as Deserialize>::deserialize(deserializer)? else {
        return Ok(None);
    };
    let mut histogram = small();
    super::counts::decode_into(&text, &mut histogram, "a step histogram")
        .map_err(D::Error::custom)?;
    Ok(Some(histogram))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape() -> TallyShape {
        TallyShape {
            basis: LatencyBasis::IntendedSend,
            window: Duration::from_secs(2),
            slices: 2,
            series_step: Duration::from_secs(1),
        }
    }

    #[test]
    fn a_tally_travels_without_its_histograms_and_keeps_its_steps() {
        let mut tally = PointTally::new(shape(), Slo::default());
        for (intended_ms, service_ms) in [(100, 5), (1_200, 9), (1_300, 40)] {
            let times = RequestTimes {
                intended: Duration::from_millis(intended_ms),
                lateness: Duration::ZERO,
                service: Duration::from_millis(service_ms),
            };
            let slice = shape().slice_of(times.intended).expect("in the window");
            tally.record(slice, &times, Ok(None));
        }
        let text = serde_json::to_string(&tally).expect("serialisable");
        let back: PointTally = serde_json::from_str(&text).expect("read back");
        assert_eq!(back.ok(), 0, "the histograms travel in the interval log");
        assert_eq!(back.slice_sums(), tally.slice_sums());
        let p99 = |t: &PointTally| {
            t.series
                .iter()
                .map(|s| s.latency.as_ref().map(|h| h.value_at_quantile(0.99)))
                .collect::<Vec<_>>()
        };
        assert_eq!(p99(&back), p99(&tally));
        assert_eq!(back.series[1].ok, 2);
    }

    #[test]
    fn a_step_histogram_of_another_shape_is_refused() {
        let mut wide = Histogram::<u32>::new_with_bounds(1, HIGHEST_NS, 3).expect("valid");
        wide.record(5_000).expect("in bounds");
        let step = Step {
            latency: Some(wide),
            ..Step::default()
        };
        let text = serde_json::to_string(&step).expect("serialisable");
        let error = serde_json::from_str::<Step>(&text).expect_err("refused");
        assert!(error.to_string().contains("where it should be"), "{error}");
        let garbage =
            r#"{"sent":1,"ok":1,"errors":0,"arrived_ok":1,"latency":"bm90IGEgaGlzdG9ncmFt"}"#;
        assert!(serde_json::from_str::<Step>(garbage).is_err());
    }
}
