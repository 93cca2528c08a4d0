//! The open loop: a dispatcher thread sends each request at its intended time (constant or seeded
//! Poisson arrivals, rate steps), lending idle sessions to them, with a cap on requests in flight;
//! latency counts from the intended send, so a stalled server cannot hide behind a client that
//! stopped sending (coordinated omission).

use std::future::Future;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, Semaphore};

use super::intervals::IntervalWriter;
use super::plan::{Arrival, LoadPlan, RateStep, MAX_BACKLOG};
use super::recorder::{Recorded, Recorders};
use super::streams::ConversationTracker;
use crate::remote::client::{Client, Session};
use crate::stats::rng::SplitMix64;
use crate::sync::lock;

/// How long after the window an arrival may still wait for a slot before it is dropped.
const DRAIN: Duration = Duration::from_secs(1);

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
                // A replay's arrivals are its schedule's (`open_loop`); evenly spaced here.
                Arrival::Constant | Arrival::Trace => from + self.index as f64 / rate,
                Arrival::Poisson | Arrival::Gamma { .. } => self.elapsed_s,
            };
            if self.next_phase_from().is_some_and(|next| offset >= next) {
                self.advance();
                continue;
            }
            if self.arrival != Arrival::Constant {
                self.elapsed_s += self.arrival.gap_s(rate, &mut self.rng);
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

pub(super) async fn open_loop(
    client: Arc<Client>,
    plan: &LoadPlan,
    rate: f64,
    arrival: Arrival,
    seed: u64,
    log: Option<&IntervalWriter>,
) -> Recorded {
    // A short lead lets the dispatcher thread start before the first intended send.
    let start = Instant::now() + Duration::from_millis(5);
    let window_start = start + plan.warm_up;
    let end = window_start + plan.duration;
    let recorders = Arc::new(Recorders::for_run(plan, &client, window_start, log));
    let stop = recorders.stop_signal();
    let progress = super::recorder::progress_line(&recorders, plan.warm_up, plan.duration);
    let slots = Arc::new(Semaphore::new(plan.max_in_flight));
    let backlog = Arc::new(AtomicUsize::new(0));
    let dropped = Arc::new(AtomicU64::new(0));
    let outstanding = Arc::new(Outstanding::default());
    // Idle worker states (REST: open HTTP/1.1 connections); a request takes one or starts one,
    // so there are as many as requests were ever in flight at once.
    let sessions: Arc<Mutex<Vec<Session>>> = Arc::default();
    let handle = tokio::runtime::Handle::current();
    let (max_requests, worker) = (plan.max_requests, plan.worker);
    let (plan_steps, warm_up) = (plan.rate_steps.clone(), plan.warm_up);
    let schedule = plan.schedule.clone();
    let drop_deadline = tokio::time::Instant::from_std(end + DRAIN);

    let dispatcher = {
        let recorders = Arc::clone(&recorders);
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
                let arrivals: Box<dyn Iterator<Item = Duration>> = match schedule {
                    // A replay: the trace's own times.
                    Some(schedule) => Box::new((0..schedule.len()).map(move |i| schedule[i])),
                    None => Box::new(
                        Arrivals::new(rate, arrival, seed).with_steps(&plan_steps, warm_up),
                    ),
                };
                // Counted over the whole schedule, so the workers of a scale-out run send
                // disjoint arrivals whose union is this schedule (and its request budget).
                for (index, offset) in (0u64..).zip(arrivals) {
                    let intended = start + offset;
                    if intended >= end || stop.load(Ordering::Acquire) {
                        break;
                    }
                    let in_window = intended >= window_start;
                    if in_window {
                        if max_requests.is_some_and(|max| measured >= max) {
                            break;
                        }
                        measured += 1;
                    }
                    if worker.is_some_and(|worker| !worker.sends(index)) {
                        continue;
                    }
                    // A replay's body is made now, before its time, not in its latency.
                    let scheduled = client.prepare(index);
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
                    let recorders = Arc::clone(&recorders);
                    let dropped = Arc::clone(&dropped);
                    let outstanding = Arc::clone(&outstanding);
                    let sessions = Arc::clone(&sessions);
                    let turn_stop = Arc::clone(&stop);
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
                                session.schedule_next(scheduled);
                                // An arrival starts a conversation on a multi-turn endpoint:
                                // each later turn is due its think time after the reply before
                                // it, and measured from then; none is sent past the window.
                                let (first_due, mut intended) = (intended, intended);
                                let mut conversation = client
                                    .holds_conversations()
                                    .then(ConversationTracker::default);
                                loop {
                                    let sent = Instant::now();
                                    let outcome = client.send_in(&mut session).await;
                                    let done = Instant::now();
                                    let pause = session.take_pause();
                                    let times = (intended, sent, done);
                                    if let Some(conversation) = &mut conversation {
                                        let slo = client.stream_slo();
                                        if let Some((start, ended)) = conversation.turn(
                                            &slo,
                                            times,
                                            &outcome,
                                            pause.is_some(),
                                        ) {
                                            recorders.record_session(start, &ended);
                                        }
                                    }
                                    recorders.record(session.member(), times, outcome);
                                    let next = pause.map(|due| due.at(done, first_due));
                                    match next {
                                        Some(next)
                                            if next < end && !turn_stop.load(Ordering::Acquire) =>
                                        {
                                            intended = next;
                                            client.prepare_turn(&mut session);
                                            tokio::time::sleep_until(
                                                tokio::time::Instant::from_std(intended),
                                            )
                                            .await;
                                        }
                                        _ => break,
                                    }
                                }
                                lock(&sessions).push(session);
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
                recorders.record_error(crate::remote::error::RequestError::new(
                    crate::remote::error::ErrorClass::Io,
                    "the dispatcher thread panicked; arrivals after that were not sent",
                ));
            }
        }
        Err(error) => recorders.record_error(crate::remote::error::RequestError::new(
            crate::remote::error::ErrorClass::Io,
            format!("cannot start the dispatcher thread: {error}"),
        )),
    }
    outstanding.wait_idle().await;
    drop(progress);
    recorders.finish(dropped.load(Ordering::Relaxed))
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
        // Arrivals only move forward, and no two share an instant (exponential gaps are never 0
        // at nanosecond resolution in 100 draws but with vanishing odds).
        assert!(first.windows(2).all(|w| w[1] > w[0]), "{first:?}");
    }

    #[test]
    fn gamma_arrivals_keep_the_rate_and_their_shape_sets_the_burstiness() {
        let gaps = |shape: f64| {
            let times: Vec<f64> = Arrivals::new(1000.0, Arrival::Gamma { shape }, 5)
                .take(50_001)
                .map(|t| t.as_secs_f64())
                .collect();
            let gaps: Vec<f64> = times.windows(2).map(|w| w[1] - w[0]).collect();
            let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
            let sd =
                (gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / gaps.len() as f64).sqrt();
            (mean, sd / mean)
        };
        for (shape, cv) in [(0.25, 2.0), (1.0, 1.0), (4.0, 0.5)] {
            let (mean, measured_cv) = gaps(shape);
            // Mean gap 1 ms at every shape; the gaps' coefficient of variation is 1/sqrt(shape).
            assert!(
                (mean - 1e-3).abs() < 0.05e-3,
                "shape {shape}: mean gap {mean}"
            );
            assert!(
                (measured_cv - cv).abs() < 0.1 * cv,
                "shape {shape}: cv {measured_cv}"
            );
        }
        assert_eq!(Arrival::Gamma { shape: 0.5 }.label(), "gamma(0.5)");
    }
}
