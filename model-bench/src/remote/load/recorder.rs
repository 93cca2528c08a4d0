//! Recording a load run without one lock for every request: each thread that finishes requests
//! records into a shard of its own (its own [`PointTally`], mix members' tallies, count-window
//! responses and interval-log step), and the run adds the shards when it ends, as a scale-out
//! merge adds workers. A shard's lock is only ever contended by the progress line, once a
//! second. The error limit and the stop signal are the only state the shards share.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::hdr::nanos;
use super::intervals::{IntervalRecorder, IntervalWriter};
use super::plan::LoadPlan;
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
    /// Windows by count: each successful response's arrival (from the window's start) and
    /// latency, ordered and cut into windows when the run ends; `None` without count windows.
    responses: Option<Vec<(Duration, u64)>>,
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
    count_window: Option<u64>,
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
                    responses: plan.count_window.map(|_| Vec::new()),
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
            count_window: plan.count_window,
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
        if let (Some(responses), false) = (&mut shard.responses, failed) {
            responses.push((times.done(), nanos(times.latency())));
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
            let empty = PointTally::new(self.shape, Slo::default());
            if let Some(intervals) = &mut shard.intervals {
                intervals.finish();
            }
            (
                std::mem::replace(&mut shard.tally, empty),
                std::mem::take(&mut shard.members),
                shard.responses.take(),
            )
        });
        let (mut tally, mut members, mut responses) = match taken.next() {
            Some(first) => first,
            None => (
                PointTally::new(self.shape, Slo::default()),
                Vec::new(),
                None,
            ),
        };
        for (other, other_members, other_responses) in taken {
            tally.add(&other);
            for (mine, theirs) in members.iter_mut().zip(&other_members) {
                mine.add(theirs);
            }
            if let (Some(mine), Some(theirs)) = (&mut responses, other_responses) {
                mine.extend(theirs);
            }
        }
        tally.dropped += dropped;
        let count_windows = match (self.count_window, responses) {
            (Some(size), Some(responses)) => count_windows(responses, size),
            _ => Vec::new(),
        };
        Recorded {
            tally,
            members,
            count_windows,
        }
    }
}

/// Windows of `size` successful responses each, in the order they arrived: each spans from the
/// previous one's last response (the window's start for the first) to its own last; a last
/// window not yet full is left out.
fn count_windows(mut responses: Vec<(Duration, u64)>, size: u64) -> Vec<WindowFigures> {
    responses.sort_unstable_by_key(|&(arrived, _)| arrived);
    let mut from = Duration::ZERO;
    responses
        .chunks_exact(usize::try_from(size.max(1)).unwrap_or(usize::MAX))
        .map(|window| {
            let mut latency = None;
            let mut sum = 0u128;
            for &(_, ns) in window {
                sum += u128::from(ns);
                record_small(&mut latency, ns);
            }
            let to = window.last().map_or(from, |&(arrived, _)| arrived);
            let span = to.saturating_sub(from).as_secs_f64();
            from = to;
            window_figures(window.len() as u64, sum, &latency, span)
        })
        .collect()
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
        // one more that fills no window; recorded out of order, as threads finish them.
        let responses = [(300, 20), (100, 10), (200, 10), (600, 20), (710, 5)]
            .map(|(at, latency)| (ms(at), latency * 1_000_000))
            .to_vec();
        let figures = count_windows(responses, 2);
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
