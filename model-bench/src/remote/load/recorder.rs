//! Recording a load run without one lock for every request: each thread that finishes requests
//! records into a shard of its own (its own [`PointTally`], mix members' tallies and
//! interval-log step), and the run adds the shards when it ends, as a scale-out merge adds
//! workers. A shard's lock is contended only when more threads record than the runtime has
//! workers (the open loop's dispatcher, for a request done on its first poll) and by the
//! progress line, once a second. What the shards share: the error limit and stop signal, and,
//! only when a run asks for windows by count, those windows (they follow the order responses
//! arrive in over every thread, so they cannot be cut per shard).

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::hdr::nanos;
use super::intervals::{IntervalRecorder, IntervalWriter};
use super::plan::LoadPlan;
use super::streams::{SessionOutcome, StreamHistograms};
use super::tally::{record_small, window_figures, PointTally, RequestTimes, Stop, TallyShape};
use crate::remote::client::{Client, Reply};
use crate::remote::error::RequestError;
use crate::results::Slo;
use crate::stats::stability::WindowFigures;
use crate::sync::lock;

/// What one recording thread holds.
struct Shard {
    tally: PointTally,
    /// A mixed workload's members, each recorded on its own too (empty otherwise).
    members: Vec<PointTally>,
    /// A scale-out worker's interval log: this thread's current step.
    intervals: Option<IntervalRecorder>,
}

/// A shard on a cache line of its own, so two threads' locks never share one.
#[repr(align(128))]
struct Padded(Mutex<Shard>);

/// How a run is recorded: its window and loop, and what it also keeps.
pub(crate) struct RecordingPlan<'a> {
    /// When the measurement window starts.
    pub start: Instant,
    /// The latency basis and the window's length, slices and steps.
    pub shape: TallyShape,
    /// Close a stability window every this many successful responses.
    pub count_window: Option<u64>,
    /// Stop the run once this many measured requests have failed.
    pub error_limit: Option<u64>,
    /// A scale-out worker's interval log.
    pub log: Option<&'a IntervalWriter>,
    /// The objectives streams are judged against for goodput.
    pub slo: Slo,
    /// The other members of a mixed workload (0 without one).
    pub members: usize,
}

/// The shards of one run, and the state they share.
pub(crate) struct Recorders {
    start: Instant,
    shape: TallyShape,
    shards: Box<[Padded]>,
    /// This run's number: a thread's shard is assigned once per run.
    run: u64,
    next_shard: AtomicUsize,
    error_limit: Option<u64>,
    failed: AtomicU64,
    stop: Arc<AtomicBool>,
    count_windows: Option<Mutex<CountWindows>>,
}

/// A finished run's recording, its shards added.
pub(crate) struct Recorded {
    /// The whole run.
    pub tally: PointTally,
    /// Each mix member's own.
    pub members: Vec<PointTally>,
    /// The closed count windows' figures, in order.
    pub count_windows: Vec<WindowFigures>,
}

thread_local! {
    /// The run this thread last recorded in, and its shard there.
    static SHARD: Cell<(u64, usize)> = const { Cell::new((u64::MAX, 0)) };
}

impl Recorders {
    /// The shards of one run of `plan` by `client`, whose window starts at `start`.
    pub fn for_run(
        plan: &LoadPlan,
        client: &Client,
        start: Instant,
        log: Option<&IntervalWriter>,
    ) -> Recorders {
        Recorders::new(RecordingPlan {
            start,
            shape: plan.tally_shape(),
            count_window: plan.count_window,
            error_limit: plan.error_limit,
            log,
            slo: client.stream_slo(),
            members: client.mix_members().len(),
        })
    }

    /// The shards of a run planned as `plan`: one per thread of the current runtime (one
    /// outside a runtime), each with a tally per mix member.
    pub fn new(plan: RecordingPlan<'_>) -> Recorders {
        static RUNS: AtomicU64 = AtomicU64::new(0);
        let threads = tokio::runtime::Handle::try_current()
            .map_or(1, |runtime| runtime.metrics().num_workers())
            .max(1);
        let (slo, members) = (plan.slo, plan.members);
        let shards = (0..threads)
            .map(|_| {
                Padded(Mutex::new(Shard {
                    tally: PointTally::new(plan.shape, slo),
                    members: (0..members)
                        .map(|_| PointTally::new(plan.shape, slo))
                        .collect(),
                    intervals: plan.log.map(|log| log.recorder(plan.start)),
                }))
            })
            .collect();
        Recorders {
            start: plan.start,
            shape: plan.shape,
            shards,
            run: RUNS.fetch_add(1, Ordering::Relaxed),
            next_shard: AtomicUsize::new(0),
            error_limit: plan.error_limit,
            failed: AtomicU64::new(0),
            stop: Arc::default(),
            count_windows: plan
                .count_window
                .map(|size| Mutex::new(CountWindows::new(size))),
        }
    }

    /// Raised when the error limit is reached: the senders stop.
    pub fn stop_signal(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.stop)
    }

    /// This thread's shard: the next free one the first time it records in this run.
    fn shard(&self) -> &Mutex<Shard> {
        let index = SHARD.with(|cell| {
            let (run, index) = cell.get();
            if run == self.run {
                return index;
            }
            let index = self.next_shard.fetch_add(1, Ordering::Relaxed) % self.shards.len();
            cell.set((self.run, index));
            index
        });
        &self.shards[index].0
    }

    /// Records a request of mix member `member` (0 without a mix) intended at `intended` (its
    /// actual send in a closed loop), sent at `sent`, whose outcome was known at `done`.
    /// Requests intended before or after the window are not measured (warm-up, drain); returns
    /// whether it counted.
    pub fn record(
        &self,
        member: usize,
        (intended, sent, done): (Instant, Instant, Instant),
        outcome: Result<Reply, RequestError>,
    ) -> bool {
        let Some(offset) = intended.checked_duration_since(self.start) else {
            return false;
        };
        let Some(slice) = self.shape.slice_of(offset) else {
            return false;
        };
        let times = RequestTimes {
            intended: offset,
            lateness: sent.saturating_duration_since(intended),
            service: done.saturating_duration_since(sent),
        };
        let failed = outcome.is_err();
        let mut shard = lock(self.shard());
        let shard = &mut *shard;
        if let Some(intervals) = &mut shard.intervals {
            intervals.record(&times, &outcome);
        }
        if let (Some(windows), false) = (&self.count_windows, failed) {
            lock(windows).add(times.done(), nanos(times.latency()));
        }
        if let Some(own) = shard.members.get_mut(member) {
            own.record(slice, &times, outcome.clone());
        }
        shard.tally.record(slice, &times, outcome);
        if let (true, Some(limit)) = (failed, self.error_limit) {
            let failed = self.failed.fetch_add(1, Ordering::AcqRel) + 1;
            if failed >= limit && !self.stop.swap(true, Ordering::AcqRel) {
                shard.tally.stopped = Some(Stop {
                    after: times.done(),
                    failed,
                });
            }
        }
        true
    }

    /// A conversation that ended, its first turn intended at `start` (counted when that is
    /// inside the window, as its turns are).
    pub fn record_session(&self, start: Instant, outcome: &SessionOutcome) {
        let in_window = start
            .checked_duration_since(self.start)
            .and_then(|offset| self.shape.slice_of(offset))
            .is_some();
        if in_window {
            lock(self.shard())
                .tally
                .stream
                .get_or_insert_with(StreamHistograms::default)
                .record_session(outcome);
        }
    }

    /// A failure of the load generator itself (a worker or the dispatcher that stopped): by
    /// class, not a measured request.
    pub fn record_error(&self, error: RequestError) {
        lock(self.shard()).tally.record_error(error);
    }

    /// The figures so far, for the progress line: every shard read under its lock once.
    pub fn snapshot(&self) -> crate::progress::LoadSnapshot {
        let (mut requests, mut ok) = (0, 0);
        let mut latency: Option<hdrhistogram::Histogram<u64>> = None;
        for shard in self.shards.iter() {
            let shard = lock(&shard.0);
            requests += shard.tally.requests();
            ok += shard.tally.ok();
            let theirs = &shard.tally.requests.latency;
            match &mut latency {
                Some(all) => {
                    let _ = all.add(theirs);
                }
                None => latency = Some(theirs.clone()),
            }
        }
        crate::progress::LoadSnapshot {
            requests,
            ok,
            errors: requests - ok,
            p99_ns: latency
                .filter(|h| !h.is_empty())
                .map(|h| h.value_at_quantile(0.99) as f64),
        }
    }

    /// Adds the shards into the run's recording, leaving them empty; each shard's last
    /// interval-log step is sent to the log's writer (which the caller then finishes).
    /// `dropped`: arrivals of the window the open loop never sent.
    pub fn finish(&self, dropped: u64) -> Recorded {
        let mut taken = self.shards.iter().map(|padded| {
            let mut shard = lock(&padded.0);
            if let Some(intervals) = &mut shard.intervals {
                intervals.finish();
            }
            let empty = PointTally::new(self.shape, Slo::default());
            (
                std::mem::replace(&mut shard.tally, empty),
                std::mem::take(&mut shard.members),
            )
        });
        let (mut tally, mut members) = taken
            .next()
            .unwrap_or_else(|| (PointTally::new(self.shape, Slo::default()), Vec::new()));
        for (other, other_members) in taken {
            tally.add(&other);
            for (mine, theirs) in members.iter_mut().zip(&other_members) {
                mine.add(theirs);
            }
        }
        tally.dropped += dropped;
        let count_windows = self
            .count_windows
            .as_ref()
            .map(|windows| std::mem::take(&mut lock(windows).closed))
            .unwrap_or_default();
        Recorded {
            tally,
            members,
            count_windows,
        }
    }
}

/// Windows of a number of successful responses each, in the order they were recorded: each
/// spans from the previous one's last response (the window's start for the first) to its own
/// last; a window not yet full is left out.
struct CountWindows {
    size: u64,
    ok: u64,
    latency_sum_ns: u128,
    latency: Option<hdrhistogram::Histogram<u32>>,
    from: Duration,
    to: Duration,
    closed: Vec<WindowFigures>,
}

impl CountWindows {
    fn new(size: u64) -> Self {
        CountWindows {
            size: size.max(1),
            ok: 0,
            latency_sum_ns: 0,
            latency: None,
            from: Duration::ZERO,
            to: Duration::ZERO,
            closed: Vec::new(),
        }
    }

    /// A successful response that arrived `arrived` after the window's start.
    fn add(&mut self, arrived: Duration, latency_ns: u64) {
        self.ok += 1;
        self.latency_sum_ns += u128::from(latency_ns);
        record_small(&mut self.latency, latency_ns);
        self.to = self.to.max(arrived);
        if self.ok < self.size {
            return;
        }
        let span = self.to.saturating_sub(self.from).as_secs_f64();
        let figures = window_figures(self.ok, self.latency_sum_ns, &self.latency, span);
        self.closed.push(figures);
        *self = CountWindows {
            from: self.to,
            to: self.to,
            closed: std::mem::take(&mut self.closed),
            ..CountWindows::new(self.size)
        };
    }
}

/// The progress line of a run: its shards' figures read once per line.
pub(super) fn progress_line(
    recorders: &Arc<Recorders>,
    warm_up: Duration,
    duration: Duration,
) -> Option<crate::progress::Line> {
    let recorders = Arc::clone(recorders);
    crate::progress::load(warm_up, duration, move || recorders.snapshot())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_windows_close_every_n_responses_and_span_from_the_previous_one() {
        let ms = Duration::from_millis;
        // Responses at 100, 200 (window 1: 2 in 200 ms), 300, 600 (window 2: 2 in 400 ms), and
        // one more that fills no window.
        let mut windows = CountWindows::new(2);
        for (at, latency) in [(100, 10), (200, 10), (300, 20), (600, 20), (710, 5)] {
            windows.add(ms(at), latency * 1_000_000);
        }
        let figures = windows.closed;
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
