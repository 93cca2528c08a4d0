//! The user-facing `Bencher`: what a `#[model_bench]` function receives. It hands the routine to
//! criterion for a warm measurement, or times a single first call in a fresh process (cold runs).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{BatchSize, BenchmarkGroup, BenchmarkId};

type CriterionBencher<'b> = criterion::Bencher<'b, WallTime>;

use crate::device::Device;

/// Times one bench function at one batch size. Everything a bench function does before it calls
/// one of the `iter*` methods is setup and is never timed in warm runs.
pub struct Bencher<'a, 'g> {
    batch: usize,
    device: Device,
    engine: Engine<'a, 'g>,
    iterated: bool,
    /// Set by the device-clock `iter_events*` methods: which regime ran, and (warm regime) the host
    /// wall time per iteration of each sample, in the order criterion took them (warm-up first).
    device_clock: Option<DeviceClockRun>,
}

/// How a bench used a device clock.
#[derive(Debug, Clone, Default)]
pub(crate) struct DeviceClockRun {
    /// `warm` or `cold_cache`.
    pub regime: &'static str,
    pub host_per_iter_ns: Vec<f64>,
    /// Per sample, in order: whether the host could not queue the calls ahead of the device.
    pub launch_bound: Vec<bool>,
}

pub(crate) enum Engine<'a, 'g> {
    /// Warm measurement: criterion samples the routine under `id`.
    Criterion {
        group: &'a mut BenchmarkGroup<'g, WallTime>,
        id: PointName,
    },
    /// Cold run: the bench function was entered at `entered`; time one call and record it.
    FirstCall {
        entered: Instant,
        record: &'a mut Option<FirstCall>,
    },
}

/// How criterion names one measured point inside its group.
#[derive(Clone)]
pub(crate) enum PointName {
    /// `group/function`, for a bench without a batch sweep.
    Function(&'static str),
    /// `group/function/batch`.
    Batch(BenchmarkId),
}

impl PointName {
    fn bench<F>(&self, group: &mut BenchmarkGroup<'_, WallTime>, routine: F)
    where
        F: FnMut(&mut CriterionBencher<'_>),
    {
        match self {
            PointName::Function(name) => group.bench_function(*name, routine),
            PointName::Batch(id) => group.bench_function(id.clone(), routine),
        };
    }
}

/// What a cold run measured: everything from entering the bench function to the end of the first
/// call of its routine, and that first call on its own.
#[derive(Debug, Clone, Copy)]
pub struct FirstCall {
    /// From entering the bench function to the end of the routine's first call (setup included).
    pub setup_and_first_call: Duration,
    /// The routine's first call alone.
    pub first_call: Duration,
}

impl<'a, 'g> Bencher<'a, 'g> {
    pub(crate) fn new(batch: usize, device: Device, engine: Engine<'a, 'g>) -> Self {
        Bencher {
            batch,
            device,
            engine,
            iterated: false,
            device_clock: None,
        }
    }

    /// The batch size of this run: one value of the bench's `batch = [...]` sweep, or 1.
    pub fn batch(&self) -> usize {
        self.batch
    }

    /// The device named in the bench's `device = ...` option.
    pub fn device(&self) -> Device {
        self.device
    }

    /// Records a fact about what this bench runs (a setting, a version, a model variant) into its
    /// results, beside the ones the runtime helpers record (`backend`, `model.sha256`, …):
    /// `b.fact("threads", &threads.to_string())`. Comparisons of results read them; see
    /// [`crate::facts`].
    pub fn fact(&mut self, key: &str, value: &str) {
        crate::facts::record(key, value);
    }

    pub(crate) fn iterated(&self) -> bool {
        self.iterated
    }

    /// How the bench used a device clock, if it did.
    pub(crate) fn device_clock(&self) -> Option<&DeviceClockRun> {
        self.device_clock.as_ref()
    }

    fn start_iterating(&mut self) {
        assert!(
            !self.iterated,
            "a bench function may call `iter*` only once per run; split it into two benches"
        );
        self.iterated = true;
    }

    /// Times `routine`, called back to back; its output is passed through `black_box` and dropped
    /// inside the timed region.
    pub fn iter<O, R>(&mut self, mut routine: R)
    where
        R: FnMut() -> O,
    {
        self.start_iterating();
        match &mut self.engine {
            Engine::Criterion { group, id } => {
                id.bench(group, |b| b.iter(&mut routine));
            }
            Engine::FirstCall { entered, record } => {
                let started = Instant::now();
                black_box(routine());
                let ended = Instant::now();
                **record = Some(FirstCall {
                    setup_and_first_call: ended - *entered,
                    first_call: ended - started,
                });
            }
        }
    }

    /// Times `routine` on inputs made by `setup`; `setup` is never timed. `size` says how many
    /// inputs criterion may prepare at once (see criterion's [`BatchSize`]).
    pub fn iter_batched<I, O, S, R>(&mut self, mut setup: S, mut routine: R, size: BatchSize)
    where
        S: FnMut() -> I,
        R: FnMut(I) -> O,
    {
        self.start_iterating();
        match &mut self.engine {
            Engine::Criterion { group, id } => {
                id.bench(group, |b| b.iter_batched(&mut setup, &mut routine, size));
            }
            Engine::FirstCall { entered, record } => {
                **record = Some(time_first_call(*entered, setup, routine));
            }
        }
    }

    /// Like [`Bencher::iter_batched`], with the routine borrowing its input mutably; inputs are
    /// dropped outside the timed region.
    pub fn iter_batched_ref<I, O, S, R>(&mut self, mut setup: S, mut routine: R, size: BatchSize)
    where
        S: FnMut() -> I,
        R: FnMut(&mut I) -> O,
    {
        self.start_iterating();
        match &mut self.engine {
            Engine::Criterion { group, id } => {
                id.bench(group, |b| {
                    b.iter_batched_ref(&mut setup, &mut routine, size)
                });
            }
            Engine::FirstCall { entered, record } => {
                **record = Some(time_first_call(*entered, setup, |mut input| {
                    routine(&mut input)
                }));
            }
        }
    }

    /// Hands the timing to `routine`: it runs the work `iters` times and returns how long that took.
    /// For work that times itself (several threads, remote calls).
    pub fn iter_custom<R>(&mut self, mut routine: R)
    where
        R: FnMut(u64) -> Duration,
    {
        self.start_iterating();
        match &mut self.engine {
            Engine::Criterion { group, id } => {
                id.bench(group, |b| b.iter_custom(&mut routine));
            }
            Engine::FirstCall { entered, record } => {
                let setup = entered.elapsed();
                let first_call = routine(1);
                **record = Some(FirstCall {
                    setup_and_first_call: setup + first_call,
                    first_call,
                });
            }
        }
    }
}

impl Bencher<'_, '_> {
    /// Times `routine` on a device clock: each sample's calls sit between two events recorded on
    /// `clock`'s stream (the stream the routine's work runs on), and the host waits once per
    /// sample. criterion's statistics are over the device time; the host wall time of the same
    /// samples is reported beside it. A clock error fails the bench with its message.
    pub fn iter_events<C, O, R>(&mut self, clock: &C, mut routine: R)
    where
        C: crate::measure::events::EventClock,
        R: FnMut() -> O,
    {
        use crate::measure::events::time_iters;
        self.start_iterating();
        let run = self.device_clock.insert(DeviceClockRun {
            regime: "warm",
            ..DeviceClockRun::default()
        });
        match &mut self.engine {
            Engine::Criterion { group, id } => {
                id.bench(group, |b| {
                    b.iter_custom(|iters| match time_iters(clock, iters, &mut routine) {
                        Ok(sample) => {
                            run.host_per_iter_ns
                                .push(sample.host.as_nanos() as f64 / iters.max(1) as f64);
                            run.launch_bound.push(sample.launch_bound());
                            sample.device
                        }
                        Err(error) => panic!("device clock: {error}"),
                    })
                });
            }
            Engine::FirstCall { entered, record } => {
                // The first call, waited for: host time including the device work.
                let sample = match time_iters(clock, 1, &mut routine) {
                    Ok(sample) => sample,
                    Err(error) => panic!("device clock: {error}"),
                };
                **record = Some(FirstCall {
                    setup_and_first_call: entered.elapsed(),
                    first_call: sample.host,
                });
            }
        }
    }
}

impl Bencher<'_, '_> {
    /// The cold-cache regime of [`Bencher::iter_events`]: `flush` queues cache-evicting work on
    /// the same stream before every call (e.g. `L2Flush::flush` from `measure::cuda`), and each
    /// call is timed between its own events, so no flush is counted. Report it as a bench of its
    /// own, beside the warm one: the two regimes are never mixed.
    pub fn iter_events_cold<C, O, F, R>(&mut self, clock: &C, mut flush: F, mut routine: R)
    where
        C: crate::measure::events::EventClock,
        F: FnMut(),
        R: FnMut() -> O,
    {
        use crate::measure::events::time_iters_flushed;
        self.start_iterating();
        self.device_clock = Some(DeviceClockRun {
            regime: "cold_cache",
            ..DeviceClockRun::default()
        });
        match &mut self.engine {
            Engine::Criterion { group, id } => {
                id.bench(group, |b| {
                    b.iter_custom(|iters| {
                        match time_iters_flushed(clock, iters, &mut flush, &mut routine) {
                            Ok(device) => device,
                            Err(error) => panic!("device clock: {error}"),
                        }
                    })
                });
            }
            Engine::FirstCall { entered, record } => {
                flush();
                let started = std::time::Instant::now();
                if let Err(error) = time_iters_flushed(clock, 1, || {}, &mut routine) {
                    panic!("device clock: {error}");
                }
                **record = Some(FirstCall {
                    setup_and_first_call: entered.elapsed(),
                    first_call: started.elapsed(),
                });
            }
        }
    }
}

/// Times the first call of `routine` on an input from `setup`; the input's preparation is not part
/// of the cold start being measured, so it is taken out of the total.
fn time_first_call<I, O>(
    entered: Instant,
    mut setup: impl FnMut() -> I,
    mut routine: impl FnMut(I) -> O,
) -> FirstCall {
    let setup_started = Instant::now();
    let input = setup();
    let started = Instant::now();
    black_box(routine(input));
    let ended = Instant::now();
    let input_setup = started - setup_started;
    FirstCall {
        setup_and_first_call: (ended - entered).saturating_sub(input_setup),
        first_call: ended - started,
    }
}
