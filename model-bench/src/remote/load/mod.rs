//! The load generator: closed loop (N requests in flight) and open loop (constant or seeded
//! Poisson arrivals at a target rate, with a cap on requests in flight). Open-loop latency is
//! measured from each request's intended send time, so a stalled server cannot hide behind a
//! client that stopped sending (coordinated omission); the service time is kept beside it.
//! Every run is bounded by its duration (and optionally a request count) plus one request
//! timeout to drain.

pub mod metrics;
pub mod scenario;

use crate::sync::lock;
use std::future::Future;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, Semaphore};

use crate::remote::client::{Client, Session};
use crate::results::{LoadStats, MixMemberStats};
use crate::stats::rng::SplitMix64;
use metrics::{LatencyBasis, Recorder, Window};

/// How arrivals are spaced in an open loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    Constant,
    /// Exponential gaps from a seeded generator: the same seed gives the same schedule.
    Poisson,
}

impl Arrival {
    pub fn as_str(self) -> &'static str {
        match self {
            Arrival::Constant => "constant",
            Arrival::Poisson => "poisson",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LoadMode {
    Closed {
        concurrency: usize,
    },
    Open {
        rate: f64,
        arrival: Arrival,
        seed: u64,
    },
}

/// One load run.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadPlan {
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
}

/// From `from` into the measurement window, arrivals come at `rate` per second (0: none).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateStep {
    pub from: Duration,
    pub rate: f64,
}

/// From `from` into the measurement window, `concurrency` requests are kept in flight.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConcurrencyStep {
    pub from: Duration,
    pub concurrency: usize,
}

/// Default cap on requests in flight in an open loop.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 1024;
/// Arrivals waiting for a free slot beyond this many are dropped (and counted) at once, which
/// keeps memory bounded when a server stops answering.
pub const MAX_BACKLOG: usize = 100_000;
/// How long after the window an arrival may still wait for a slot before it is dropped.
const DRAIN: Duration = Duration::from_secs(1);

impl LoadPlan {
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
            series_step: metrics::SERIES_STEP,
            rate_steps: Vec::new(),
            concurrency_steps: Vec::new(),
            count_window: None,
            error_limit: None,
        }
    }

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
            series_step: metrics::SERIES_STEP,
            rate_steps: Vec::new(),
            concurrency_steps: Vec::new(),
            count_window: None,
            error_limit: None,
        }
    }

    pub fn warm_up(mut self, warm_up: Duration) -> Self {
        self.warm_up = warm_up;
        self
    }

    pub fn max_requests(mut self, max: u64) -> Self {
        self.max_requests = Some(max);
        self
    }

    pub fn max_in_flight(mut self, max: usize) -> Self {
        self.max_in_flight = max.max(1);
        self
    }

    pub fn slices(mut self, slices: usize) -> Self {
        self.slices = slices.max(1);
        self
    }

    /// Stop once `errors` measured requests have failed.
    pub fn error_limit(mut self, errors: u64) -> Self {
        self.error_limit = Some(errors.max(1));
        self
    }

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

    pub fn seed(mut self, new_seed: u64) -> Self {
        if let LoadMode::Open { seed, .. } = &mut self.mode {
            *seed = new_seed;
        }
        self
    }

    pub fn is_open(&self) -> bool {
        matches!(self.mode, LoadMode::Open { .. })
    }
}

/// A finished run: the raw recording and its statistics (of the whole run, and of each member
/// of a mixed workload). What was read beside the run joins them in a `LoadPoint` in
/// `remote::watch`.
pub struct LoadRun {
    pub recorder: Recorder,
    pub stats: LoadStats,
    /// A mixed workload: each member's own figures (`stats` is the whole mix).
    pub mix: Vec<MixMemberStats>,
}

impl LoadRun {
    pub fn stats(&self) -> &LoadStats {
        &self.stats
    }
}

/// Runs `plan` against `client` on the current tokio runtime.
pub async fn run(client: Arc<Client>, plan: &LoadPlan) -> LoadRun {
    let members = client.mix_members();
    let (recorder, dropped, basis) = match plan.mode {
        LoadMode::Closed { concurrency } => (
            closed_loop(client, plan, concurrency).await,
            0,
            LatencyBasis::CorrectedClosedLoop,
        ),
        LoadMode::Open {
            rate,
            arrival,
            seed,
        } => {
            let (recorder, dropped) = open_loop(client, plan, rate, arrival, seed).await;
            (recorder, dropped, LatencyBasis::IntendedSend)
        }
    };
    let stats = metrics::summarize(&recorder, basis, dropped, plan.is_open());
    let mix: Vec<MixMemberStats> = members
        .into_iter()
        .zip(&recorder.members)
        .map(|((name, weight), member)| MixMemberStats {
            name,
            weight,
            stats: metrics::summarize(member, basis, 0, plan.is_open()),
        })
        .collect();
    LoadRun {
        recorder,
        stats,
        mix,
    }
}

/// Takes one from a shared budget of measured requests; `false` once it is spent.
fn take(budget: &Option<Arc<AtomicU64>>) -> bool {
    match budget {
        Some(left) => left
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
            .is_ok(),
        None => true,
    }
}

async fn closed_loop(client: Arc<Client>, plan: &LoadPlan, concurrency: usize) -> Recorder {
    let start = Instant::now();
    let window = Window {
        start: start + plan.warm_up,
        len: plan.duration,
        slices: plan.slices,
        series_step: plan.series_step,
    };
    let end = window.start + window.len;
    let budget = plan.max_requests.map(|n| Arc::new(AtomicU64::new(n)));
    // One recorder for every worker: memory stays the same at any concurrency, and the lock is
    // held for a few histogram increments per request.
    let mut recorder = Recorder::new(window);
    recorder.count_window = plan.count_window;
    recorder.members = (0..client.mix_members().len())
        .map(|_| Recorder::new(window))
        .collect();
    recorder.error_limit = plan.error_limit;
    let stop = Arc::clone(&recorder.stop_signal);
    let recorder = Arc::new(Mutex::new(recorder));
    // The levels over time: the plan's own from the start, then each step from its offset
    // into the window. Worker `i` sends while more than `i` are wanted, else waits for a level
    // that wants it.
    let levels: Arc<Vec<(Instant, usize)>> = Arc::new(
        std::iter::once((start, concurrency))
            .chain(
                plan.concurrency_steps
                    .iter()
                    .map(|step| (window.start + step.from, step.concurrency.max(1))),
            )
            .collect(),
    );
    let most = levels.iter().map(|&(_, n)| n).max().unwrap_or(concurrency);
    let mut workers = tokio::task::JoinSet::new();
    for worker in 0..most {
        let client = Arc::clone(&client);
        let budget = budget.clone();
        let recorder = Arc::clone(&recorder);
        let stop = Arc::clone(&stop);
        let levels = Arc::clone(&levels);
        workers.spawn(async move {
            let mut session = client.session();
            loop {
                let sent = Instant::now();
                if sent >= end || stop.load(Ordering::Acquire) {
                    break;
                }
                let wanted = levels
                    .iter()
                    .rev()
                    .find(|(from, _)| *from <= sent)
                    .map_or(concurrency, |&(_, n)| n);
                if worker >= wanted {
                    let wake = levels
                        .iter()
                        .find(|&&(from, n)| from > sent && n > worker)
                        .map_or(end, |&(from, _)| from);
                    tokio::time::sleep_until(tokio::time::Instant::from_std(wake)).await;
                    continue;
                }
                if sent >= window.start && !take(&budget) {
                    break;
                }
                let outcome = client.send_in(&mut session).await;
                let done = Instant::now();
                lock(&recorder).record_member(session.member(), sent, sent, done, outcome);
            }
        });
    }
    while let Some(joined) = workers.join_next().await {
        if let Err(error) = joined {
            lock(&recorder).record_error(crate::remote::error::RequestError::new(
                crate::remote::error::ErrorClass::Io,
                format!("a load worker stopped: {error}"),
            ));
        }
    }
    let recorder = lock(&recorder).clone();
    recorder
}

/// Intended send offsets from the start of a run, at a rate that may change in steps.
struct Arrivals {
    /// `(from, rate)` in seconds from the start of the run, ascending; the first from 0.
    phases: Vec<(f64, f64)>,
    phase: usize,
    arrival: Arrival,
    rng: SplitMix64,
    /// Arrivals so far in the current phase.
    index: u64,
    elapsed_s: f64,
}

impl Arrivals {
    fn new(rate: f64, arrival: Arrival, seed: u64) -> Self {
        Arrivals {
            phases: vec![(0.0, rate)],
            phase: 0,
            arrival,
            rng: SplitMix64(seed),
            index: 0,
            elapsed_s: 0.0,
        }
    }

    /// Adds the plan's later rates; `offset` is where its measurement window starts.
    fn with_steps(mut self, steps: &[RateStep], offset: Duration) -> Self {
        self.phases.extend(
            steps
                .iter()
                .map(|step| ((offset + step.from).as_secs_f64(), step.rate)),
        );
        self
    }

    fn next_phase_from(&self) -> Option<f64> {
        self.phases.get(self.phase + 1).map(|&(from, _)| from)
    }

    /// Moves to the next phase, starting its arrivals at its beginning.
    fn advance(&mut self) -> bool {
        let Some(from) = self.next_phase_from() else {
            return false;
        };
        self.phase += 1;
        self.index = 0;
        self.elapsed_s = from;
        true
    }
}

impl Iterator for Arrivals {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        loop {
            let (from, rate) = self.phases[self.phase];
            if rate <= 0.0 {
                // A pause: nothing until the next phase, and nothing ever after the last.
                if !self.advance() {
                    return None;
                }
                continue;
            }
            let offset = match self.arrival {
                // From the index, not a running sum, so rounding never drifts.
                Arrival::Constant => from + self.index as f64 / rate,
                Arrival::Poisson => self.elapsed_s,
            };
            if self.next_phase_from().is_some_and(|next| offset >= next) {
                self.advance();
                continue;
            }
            if self.arrival == Arrival::Poisson {
                self.elapsed_s += -self.rng.next_open01().ln() / rate;
            }
            self.index += 1;
            return Some(Duration::from_secs_f64(offset));
        }
    }
}

/// Counts tasks still running so the end of an open loop can wait for them without keeping a
/// handle per request.
#[derive(Default)]
struct Outstanding {
    count: AtomicUsize,
    idle: Notify,
}

impl Outstanding {
    fn start(&self) {
        self.count.fetch_add(1, Ordering::AcqRel);
    }

    fn finish(&self) {
        if self.count.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.idle.notify_waiters();
        }
    }

    async fn wait_idle(&self) {
        loop {
            let notified = self.idle.notified();
            if self.count.load(Ordering::Acquire) == 0 {
                return;
            }
            notified.await;
        }
    }
}

/// Marks one request of [`Outstanding`] finished when dropped.
struct FinishOnDrop(Arc<Outstanding>);

impl Drop for FinishOnDrop {
    fn drop(&mut self) {
        self.0.finish();
    }
}

async fn open_loop(
    client: Arc<Client>,
    plan: &LoadPlan,
    rate: f64,
    arrival: Arrival,
    seed: u64,
) -> (Recorder, u64) {
    // A short lead lets the dispatcher thread start before the first intended send.
    let start = Instant::now() + Duration::from_millis(5);
    let window = Window {
        start: start + plan.warm_up,
        len: plan.duration,
        slices: plan.slices,
        series_step: plan.series_step,
    };
    let end = window.start + window.len;
    let mut recorder = Recorder::new(window);
    recorder.count_window = plan.count_window;
    recorder.members = (0..client.mix_members().len())
        .map(|_| Recorder::new(window))
        .collect();
    recorder.error_limit = plan.error_limit;
    let stop = Arc::clone(&recorder.stop_signal);
    let recorder = Arc::new(Mutex::new(recorder));
    let slots = Arc::new(Semaphore::new(plan.max_in_flight));
    let backlog = Arc::new(AtomicUsize::new(0));
    let dropped = Arc::new(AtomicU64::new(0));
    let outstanding = Arc::new(Outstanding::default());
    // Idle worker states (REST: open HTTP/1.1 connections); a request takes one or starts one,
    // so there are as many as requests were ever in flight at once.
    let sessions: Arc<Mutex<Vec<Session>>> = Arc::default();
    let handle = tokio::runtime::Handle::current();
    let max_requests = plan.max_requests;
    let (plan_steps, warm_up) = (plan.rate_steps.clone(), plan.warm_up);
    let drop_deadline = tokio::time::Instant::from_std(end + DRAIN);

    let dispatcher = {
        let recorder = Arc::clone(&recorder);
        let dropped = Arc::clone(&dropped);
        let outstanding = Arc::clone(&outstanding);
        std::thread::Builder::new()
            .name("model-bench-dispatch".into())
            .spawn(move || {
                precise_sleep::prepare_thread();
                let peak_rate = plan_steps.iter().map(|s| s.rate).fold(rate, f64::max);
                let spin = precise_sleep::spin_for(peak_rate);
                // Requests are started on this thread (see below), so its sockets and timers
                // belong to the load runtime.
                let _runtime = handle.enter();
                let mut measured = 0u64;
                let arrivals = Arrivals::new(rate, arrival, seed).with_steps(&plan_steps, warm_up);
                for offset in arrivals {
                    let intended = start + offset;
                    if intended >= end || stop.load(Ordering::Acquire) {
                        break;
                    }
                    let in_window = intended >= window.start;
                    if in_window {
                        if max_requests.is_some_and(|max| measured >= max) {
                            break;
                        }
                        measured += 1;
                    }
                    precise_sleep::until(intended, spin);
                    if backlog.load(Ordering::Acquire) >= MAX_BACKLOG {
                        if in_window {
                            dropped.fetch_add(1, Ordering::Relaxed);
                        }
                        continue;
                    }
                    backlog.fetch_add(1, Ordering::AcqRel);
                    outstanding.start();
                    let client = Arc::clone(&client);
                    let slots = Arc::clone(&slots);
                    let backlog = Arc::clone(&backlog);
                    let recorder = Arc::clone(&recorder);
                    let dropped = Arc::clone(&dropped);
                    let outstanding = Arc::clone(&outstanding);
                    let sessions = Arc::clone(&sessions);
                    let mut request = Box::pin(async move {
                        // Finished even if the request panics, so the run's end never waits
                        // for it.
                        let _finish = FinishOnDrop(outstanding);
                        let slot =
                            tokio::time::timeout_at(drop_deadline, slots.acquire_owned()).await;
                        backlog.fetch_sub(1, Ordering::AcqRel);
                        match slot {
                            Ok(Ok(_slot)) => {
                                let idle = lock(&sessions).pop();
                                let mut session = idle.unwrap_or_else(|| client.session());
                                let sent = Instant::now();
                                let outcome = client.send_in(&mut session).await;
                                let done = Instant::now();
                                let member = session.member();
                                lock(&sessions).push(session);
                                lock(&recorder)
                                    .record_member(member, intended, sent, done, outcome);
                            }
                            _ if in_window => {
                                dropped.fetch_add(1, Ordering::Relaxed);
                            }
                            _ => {}
                        }
                    });
                    // The first poll runs here, at the intended time: with a free slot it
                    // writes the request (HTTP/1.1) or queues its stream (HTTP/2) at once,
                    // instead of after a runtime worker wakes up for a spawned task, which on a
                    // busy machine is what made sends late. What is left runs on the runtime;
                    // its first poll there registers the real waker.
                    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
                    if request.as_mut().poll(&mut context).is_pending() {
                        handle.spawn(request);
                    }
                }
            })
    };
    match dispatcher {
        Ok(thread) => {
            // The dispatcher only sleeps and spawns; joining it on a blocking thread keeps the
            // runtime's workers free for the requests.
            let joined = tokio::task::spawn_blocking(move || thread.join()).await;
            if !matches!(joined, Ok(Ok(()))) {
                lock(&recorder).record_error(crate::remote::error::RequestError::new(
                    crate::remote::error::ErrorClass::Io,
                    "the dispatcher thread panicked; arrivals after that were not sent",
                ));
            }
        }
        Err(error) => lock(&recorder).record_error(crate::remote::error::RequestError::new(
            crate::remote::error::ErrorClass::Io,
            format!("cannot start the dispatcher thread: {error}"),
        )),
    }
    outstanding.wait_idle().await;
    let recorder = lock(&recorder).clone();
    (recorder, dropped.load(Ordering::Relaxed))
}

/// Sleeping to a microsecond-accurate instant: the kernel's timer slack (50 µs by default) is
/// set to 1 ns for the dispatcher thread, and the last stretch is spun, because a sleeping thread
/// on a busy machine wakes tens to hundreds of µs late.
mod precise_sleep {
    use std::time::{Duration, Instant};

    const MIN_SPIN: Duration = Duration::from_micros(50);
    const MAX_SPIN: Duration = Duration::from_micros(250);

    /// How long to spin before each send: a quarter of the mean gap between arrivals, within
    /// 50–250 µs, so the thread spins at most about a quarter of the time at low rates.
    pub fn spin_for(rate: f64) -> Duration {
        let quarter_gap = Duration::from_secs_f64((0.25 / rate.max(1e-3)).min(1.0));
        quarter_gap.clamp(MIN_SPIN, MAX_SPIN)
    }

    pub fn prepare_thread() {
        #[cfg(target_os = "linux")]
        // SAFETY: PR_SET_TIMERSLACK takes an integer and only affects the calling thread.
        unsafe {
            libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong);
        }
    }

    pub fn until(deadline: Instant, spin: Duration) {
        loop {
            let now = Instant::now();
            let Some(left) = deadline.checked_duration_since(now) else {
                return;
            };
            if left.is_zero() {
                return;
            }
            if left > spin {
                std::thread::sleep(left - spin);
            } else {
                std::hint::spin_loop();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spin_before_a_send_follows_the_rate_within_bounds() {
        let us = Duration::from_micros;
        assert_eq!(precise_sleep::spin_for(1.0), us(250));
        assert_eq!(precise_sleep::spin_for(1000.0), us(250));
        assert_eq!(precise_sleep::spin_for(2000.0), us(125));
        assert_eq!(precise_sleep::spin_for(20_000.0), us(50));
    }

    #[test]
    fn constant_arrivals_are_evenly_spaced() {
        let offsets: Vec<Duration> = Arrivals::new(4.0, Arrival::Constant, 0).take(5).collect();
        let ms = Duration::from_millis;
        assert_eq!(offsets, vec![ms(0), ms(250), ms(500), ms(750), ms(1000)]);
    }

    #[test]
    fn arrivals_follow_rate_steps_and_pauses() {
        let ms = Duration::from_millis;
        let steps = [
            RateStep {
                from: ms(1000),
                rate: 10.0,
            },
            RateStep {
                from: ms(1500),
                rate: 0.0,
            },
            RateStep {
                from: ms(2000),
                rate: 2.0,
            },
        ];
        // 4/s for the 500 ms warm-up and the window's first second, then 10/s for half a
        // second, a pause, then 2/s.
        let offsets: Vec<Duration> = Arrivals::new(4.0, Arrival::Constant, 0)
            .with_steps(&steps, ms(500))
            .take(14)
            .collect();
        let want: Vec<Duration> = [0, 250, 500, 750, 1000, 1250]
            .into_iter()
            .chain((0..5).map(|i| 1500 + 100 * i))
            .chain([2500, 3000, 3500])
            .map(ms)
            .collect();
        assert_eq!(offsets, want);
        // A run that ends in a pause ends its arrivals.
        let ending = [RateStep {
            from: ms(1000),
            rate: 0.0,
        }];
        let count = Arrivals::new(10.0, Arrival::Poisson, 3)
            .with_steps(&ending, Duration::ZERO)
            .take(1000)
            .count();
        assert!((count as i64 - 10).abs() <= 8, "{count}");
    }

    #[test]
    fn poisson_arrivals_are_seeded_and_have_the_rate() {
        let first: Vec<Duration> = Arrivals::new(1000.0, Arrival::Poisson, 7)
            .take(100)
            .collect();
        let again: Vec<Duration> = Arrivals::new(1000.0, Arrival::Poisson, 7)
            .take(100)
            .collect();
        let other: Vec<Duration> = Arrivals::new(1000.0, Arrival::Poisson, 8)
            .take(100)
            .collect();
        assert_eq!(first, again);
        assert_ne!(first, other);
        let n = 100_000;
        let last = Arrivals::new(1000.0, Arrival::Poisson, 1).nth(n).unwrap();
        // n exponential gaps of mean 1 ms: the sum is within a few standard deviations
        // (sqrt(n) ms ≈ 0.3 s) of n ms.
        let seconds = last.as_secs_f64();
        assert!((seconds - 100.0).abs() < 1.5, "{seconds}");
        let gaps: Vec<f64> = first
            .windows(2)
            .map(|w| (w[1] - w[0]).as_secs_f64())
            .collect();
        assert!(gaps.iter().all(|&g| g >= 0.0));
    }
}
