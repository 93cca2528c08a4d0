//! Scenarios beyond one steady load level: a ramp of rates (open loop) or of requests in flight
//! (closed loop) in steps, a soak's windows, a spike with its recovery time, and a
//! stress run that raises the rate until the p99 SLO or the error limit breaks. The analysis
//! (recovery, where a stress run broke) is plain functions over measured figures.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::share::WorkerShare;
use super::tally::{add_small, PointTally};
use super::{self as load, Arrival, LoadMode, LoadPlan, LoadRun};
use crate::remote::client::Client;
use crate::results::{LoadStats, Recovery, ScenarioPhase, SeriesPoint};

/// Open-loop rates from `from` to `to` in `steps` equal steps of `step` each, one continuous run
/// (so the time series shows every step and the transitions between them).
pub fn ramp_plan(from: f64, to: f64, steps: usize, step: Duration) -> LoadPlan {
    let steps = steps.max(1);
    let rate_at = |i: usize| {
        if steps == 1 {
            from
        } else {
            from + (to - from) * i as f64 / (steps - 1) as f64
        }
    };
    (1..steps).fold(
        LoadPlan::open(rate_at(0), Arrival::Constant, step * steps as u32),
        |plan, i| plan.then_rate(step * i as u32, rate_at(i)),
    )
}

/// Closed-loop requests in flight from `from` to `to` in `steps` equal steps (rounded) of `step`
/// each, one continuous run.
pub fn concurrency_ramp_plan(from: usize, to: usize, steps: usize, step: Duration) -> LoadPlan {
    let steps = steps.max(1);
    let level_at = |i: usize| {
        if steps == 1 {
            from
        } else {
            let (from, to) = (from as f64, to as f64);
            (from + (to - from) * i as f64 / (steps - 1) as f64).round() as usize
        }
    };
    (1..steps).fold(
        LoadPlan::closed(level_at(0), step * steps as u32),
        |plan, i| plan.then_concurrency(step * i as u32, level_at(i)),
    )
}

/// A spike: `baseline` per second for `before`, `baseline × factor` for `spike`, then `baseline`
/// again for `after`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spike {
    /// The rate before and after the spike, in arrivals per second.
    pub baseline: f64,
    /// How many times the baseline rate the spike sends.
    pub factor: f64,
    /// How long the baseline runs before the spike.
    pub before: Duration,
    /// How long the spike lasts.
    pub spike: Duration,
    /// How long the baseline runs after the spike (the time it has to recover).
    pub after: Duration,
    /// Recovered once a step's p99 is within this many percent of the level before the spike
    /// (and stays so).
    pub recovered_within_pct: f64,
}

impl Spike {
    /// The spike as one open-loop run with constant arrivals: baseline, spike, baseline.
    pub fn plan(&self) -> LoadPlan {
        LoadPlan::open(
            self.baseline,
            Arrival::Constant,
            self.before + self.spike + self.after,
        )
        .then_rate(self.before, self.baseline * self.factor)
        .then_rate(self.before + self.spike, self.baseline)
    }
}

/// Reads a spike's recovery off the time series of its run.
pub fn recovery(series: &[SeriesPoint], spike: &Spike, step: Duration) -> Option<Recovery> {
    let step_s = step.as_secs_f64();
    let spike_start = spike.before.as_secs_f64();
    let spike_end = spike_start + spike.spike.as_secs_f64();
    let run_end = spike_end + spike.after.as_secs_f64();
    let mut before: Vec<f64> = series
        .iter()
        .skip(1)
        .filter(|p| p.start_s + step_s <= spike_start + 1e-9)
        .filter_map(|p| p.p99_ns)
        .collect();
    before.sort_by(f64::total_cmp);
    let before_p99_ns = *before.get(before.len() / 2)?;
    let peak_p99_ns = series
        .iter()
        .filter(|p| p.start_s >= spike_start - 1e-9 && p.start_s < run_end)
        .filter_map(|p| p.p99_ns)
        .fold(before_p99_ns, f64::max);
    let limit = before_p99_ns * (1.0 + spike.recovered_within_pct / 100.0);
    let after: Vec<&SeriesPoint> = series
        .iter()
        .filter(|p| p.start_s >= spike_end - 1e-9 && p.start_s < run_end - 1e-9)
        .collect();
    // The first step from which every later step of the run is within the limit (a step without
    // a successful request is not recovered).
    let within = |p: &&SeriesPoint| p.p99_ns.is_some_and(|p99| p99 <= limit);
    let first_recovered = (0..after.len()).find(|&i| after[i..].iter().all(within));
    Some(Recovery {
        before_p99_ns,
        peak_p99_ns,
        recovery_s: first_recovered.map(|i| (after[i].start_s - spike_end).max(0.0)),
        within_pct: spike.recovered_within_pct,
        step_s,
    })
}

/// A phase of a one-run scenario as planned: its name, its start and end in seconds from the
/// window's start, and its load (a rate per second, or requests in flight).
#[derive(Debug, Clone, PartialEq)]
pub struct PhaseSpec {
    /// The phase's name in results (`step 1`, `window 2`, `spike`).
    pub name: String,
    /// When the phase starts, in seconds from the window's start.
    pub start_s: f64,
    /// When the phase ends, in seconds from the window's start.
    pub end_s: f64,
    /// The load planned during the phase.
    pub load: PhaseLoad,
}

/// The load of a phase: an open loop's rate or a closed loop's requests in flight.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PhaseLoad {
    /// Open loop: arrivals per second.
    Rate(f64),
    /// Closed loop: requests kept in flight.
    Concurrency(usize),
}

/// The phases of a one-run scenario with their figures, from the run's time-series steps that
/// start inside each.
pub fn phases_of(tally: &PointTally, phases: &[PhaseSpec]) -> Vec<ScenarioPhase> {
    let step_s = tally.shape.series_step.as_secs_f64();
    phases
        .iter()
        .map(|spec| {
            let (start, end) = (&spec.start_s, &spec.end_s);
            let (rate, concurrency) = match spec.load {
                PhaseLoad::Rate(rate) => (rate, None),
                PhaseLoad::Concurrency(n) => (0.0, Some(n)),
            };
            let in_phase = |index: usize| {
                let at = index as f64 * step_s;
                at >= start - 1e-9 && at < end - 1e-9
            };
            let mut phase = ScenarioPhase {
                name: spec.name.clone(),
                start_s: *start,
                end_s: *end,
                rate,
                concurrency,
                sent: 0,
                ok: 0,
                errors: 0,
                throughput_rps: 0.0,
                p50_ns: None,
                p99_ns: None,
                broke: None,
            };
            let mut latency: Option<hdrhistogram::Histogram<u32>> = None;
            let mut arrived = 0;
            for (_, step) in tally
                .series
                .iter()
                .enumerate()
                .filter(|(i, _)| in_phase(*i))
            {
                phase.sent += step.sent;
                phase.ok += step.ok;
                phase.errors += step.errors;
                arrived += step.arrived_ok;
                add_small(&mut latency, &step.latency);
            }
            phase.throughput_rps = arrived as f64 / (end - start).max(1e-9);
            if let Some(latency) = latency.filter(|h| !h.is_empty()) {
                phase.p50_ns = Some(latency.value_at_quantile(0.5) as f64);
                phase.p99_ns = Some(latency.value_at_quantile(0.99) as f64);
            }
            phase
        })
        .collect()
}

/// The phases of a one-run plan, in seconds from its window's start: the plan's own load until
/// its first step (rate steps in an open loop, concurrency steps in a closed one), each step
/// until the next, the last until the plan's end; `name(i)` names the `i`th.
pub fn plan_phases(plan: &LoadPlan, name: impl Fn(usize) -> String) -> Vec<PhaseSpec> {
    let starts: Vec<(f64, PhaseLoad)> = match plan.mode {
        LoadMode::Open { rate, .. } => std::iter::once((0.0, PhaseLoad::Rate(rate)))
            .chain(
                plan.rate_steps
                    .iter()
                    .map(|s| (s.from.as_secs_f64(), PhaseLoad::Rate(s.rate))),
            )
            .collect(),
        LoadMode::Closed { concurrency } => {
            std::iter::once((0.0, PhaseLoad::Concurrency(concurrency)))
                .chain(
                    plan.concurrency_steps
                        .iter()
                        .map(|s| (s.from.as_secs_f64(), PhaseLoad::Concurrency(s.concurrency))),
                )
                .collect()
        }
    };
    let end = plan.duration.as_secs_f64();
    starts
        .iter()
        .enumerate()
        .map(|(i, &(start_s, load))| PhaseSpec {
            name: name(i),
            start_s,
            end_s: starts.get(i + 1).map_or(end, |&(next, _)| next),
            load,
        })
        .collect()
}

/// A soak's windows: `window 1`, `window 2`, … of `window` each (the last may be shorter).
pub fn soak_windows(plan: &LoadPlan, window: Duration) -> Vec<PhaseSpec> {
    let load = match plan.mode {
        LoadMode::Open { rate, .. } => PhaseLoad::Rate(rate),
        LoadMode::Closed { concurrency } => PhaseLoad::Concurrency(concurrency),
    };
    let (window, end) = (window.as_secs_f64().max(1e-3), plan.duration.as_secs_f64());
    let count = (end / window - 1e-9).ceil().max(1.0) as usize;
    (0..count)
        .map(|i| {
            let start_s = i as f64 * window;
            PhaseSpec {
                name: format!("window {}", i + 1),
                start_s,
                end_s: (start_s + window).min(end),
                load,
            }
        })
        .collect()
}

/// The phases of a ramp: `step 1`, `step 2`, …
pub fn ramp_phases(plan: &LoadPlan) -> Vec<PhaseSpec> {
    plan_phases(plan, |i| format!("step {}", i + 1))
}

impl Spike {
    /// Before, spike and after, in seconds from the window's start.
    pub fn phases(&self) -> Vec<PhaseSpec> {
        const NAMES: [&str; 3] = ["before", "spike", "after"];
        plan_phases(&self.plan(), |i| NAMES[i.min(2)].to_string())
    }
}

/// A stress run: open-loop rates from `start_rate`, each step `increment` higher, each held for
/// `step`, until a step breaks the SLO or the error limit (or `max_steps` pass).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stress {
    /// The first level's rate, in arrivals per second.
    pub start_rate: f64,
    /// How much each level's rate exceeds the previous one's, in arrivals per second.
    pub increment: f64,
    /// How long each level runs.
    pub step: Duration,
    /// The most levels to run (0 counts as 1).
    pub max_steps: usize,
    /// A level whose p99 latency (from intended send time) is above this breaks.
    pub slo_p99: Option<Duration>,
    /// A level whose goodput (the share of requests that met the endpoint's SLOs, for token
    /// streams) is below this breaks.
    pub min_goodput: Option<f64>,
    /// The share of failed requests (0–1) above which a step breaks.
    pub max_error_rate: f64,
}

/// A stress run's levels, back to back from 0 s (`broke` says why the last one broke the
/// limits, when one did), and the highest rate that held (`None`: the first already broke).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StressResult {
    /// The levels that ran, in order; only the last may have broken.
    pub steps: Vec<ScenarioPhase>,
    /// The highest rate (arrivals per second) that held; `None` when the first level broke.
    pub highest_held: Option<f64>,
}

impl Stress {
    /// Why a level with these figures breaks the run's limits, or `None` if it held.
    pub fn verdict(&self, stats: &LoadStats) -> Option<String> {
        if let Some(stopped) = &stats.stopped {
            return Some(stopped.clone());
        }
        let error_rate = 1.0 - stats.success_rate;
        if stats.requests > 0 && error_rate > self.max_error_rate {
            let worst = stats
                .errors_by_class
                .iter()
                .max_by_key(|(_, count)| **count)
                .map(|(class, count)| format!(" (most: {count} × {class})"))
                .unwrap_or_default();
            return Some(format!(
                "error rate {:.1} % over the {:.1} % limit{worst}",
                100.0 * error_rate,
                100.0 * self.max_error_rate
            ));
        }
        let Some(p99) = stats.latency.as_ref().map(|l| l.p99) else {
            return Some("no request succeeded".into());
        };
        if let Some(slo) = self.slo_p99 {
            let slo_ns = slo.as_nanos() as f64;
            if p99 > slo_ns {
                return Some(format!(
                    "p99 {:.1} ms over the {:.1} ms SLO",
                    p99 / 1e6,
                    slo_ns / 1e6
                ));
            }
        }
        if let Some(target) = self.min_goodput {
            let share = stats
                .stream
                .as_ref()
                .and_then(|stream| stream.goodput.as_ref())
                .map(|goodput| goodput.share);
            match share {
                Some(share) if share < target => {
                    return Some(format!(
                        "goodput {:.1} % under the {:.1} % target",
                        100.0 * share,
                        100.0 * target
                    ))
                }
                None => {
                    return Some(
                        "no goodput to judge: the endpoint sets no SLO (slo_ttft, slo_itl, \
                         slo_e2e) or streams no tokens"
                            .into(),
                    )
                }
                _ => {}
            }
        }
        None
    }

    /// Runs the levels one after another against `client` until one breaks.
    pub async fn run(&self, client: Arc<Client>) -> StressResult {
        self.run_limited(client, None).await
    }

    /// As [`Stress::run`], each level also stopping once `error_limit` requests have failed
    /// (a server that died): that level broke, with what it measured kept.
    pub async fn run_limited(&self, client: Arc<Client>, error_limit: Option<u64>) -> StressResult {
        self.run_shared(client, error_limit, None).await
    }

    /// As [`Stress::run_limited`], for one `worker` of a scale-out run: it sends its share of
    /// each level and runs every level, past one that broke on its share, since workers do not
    /// talk to each other and must all send the same schedule (the merge judges the levels on
    /// every worker's requests). `None`: the whole load, stopping at the first broken level.
    pub async fn run_shared(
        &self,
        client: Arc<Client>,
        error_limit: Option<u64>,
        worker: Option<WorkerShare>,
    ) -> StressResult {
        let mut steps = Vec::new();
        let mut highest_held = None;
        let mut held_so_far = true;
        let level_s = self.step.as_secs_f64();
        for i in 0..self.max_steps.max(1) {
            let rate = self.start_rate + self.increment * i as f64;
            let mut plan = LoadPlan::open(rate, Arrival::Constant, self.step);
            if let Some(limit) = error_limit {
                plan = plan.error_limit(limit);
            }
            if let Some(worker) = worker {
                plan = plan.for_worker(worker);
            }
            let run: LoadRun = load::run(Arc::clone(&client), &plan).await;
            let stats = run.stats();
            let broke = self.verdict(stats);
            steps.push(ScenarioPhase {
                name: format!("level {}", i + 1),
                start_s: i as f64 * level_s,
                end_s: (i + 1) as f64 * level_s,
                rate,
                concurrency: None,
                sent: stats.requests,
                ok: stats.ok,
                errors: stats.errors,
                throughput_rps: stats.throughput_rps,
                p50_ns: stats.latency.as_ref().map(|l| l.p50),
                p99_ns: stats.latency.as_ref().map(|l| l.p99),
                broke: broke.clone(),
            });
            if broke.is_some() {
                held_so_far = false;
                if worker.is_none() {
                    break;
                }
            }
            if held_so_far {
                highest_held = Some(rate);
            }
        }
        StressResult {
            steps,
            highest_held,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(start_s: f64, p99_ms: Option<f64>) -> SeriesPoint {
        SeriesPoint {
            start_s,
            sent: 10,
            ok: 10,
            errors: 0,
            throughput_rps: 10.0,
            p50_ns: p99_ms.map(|ms| ms * 1e6),
            p99_ns: p99_ms.map(|ms| ms * 1e6),
            max_ns: p99_ms.map(|ms| ms * 1e6),
        }
    }

    #[test]
    fn a_ramp_is_one_run_with_a_rate_per_step() {
        let plan = ramp_plan(100.0, 400.0, 4, Duration::from_secs(2));
        assert_eq!(plan.duration, Duration::from_secs(8));
        let rates: Vec<(u64, f64)> = plan
            .rate_steps
            .iter()
            .map(|s| (s.from.as_secs(), s.rate))
            .collect();
        assert_eq!(rates, [(2, 200.0), (4, 300.0), (6, 400.0)]);
    }

    #[test]
    fn phases_follow_the_plan_rate_steps() {
        let ramp = ramp_phases(&ramp_plan(100.0, 300.0, 3, Duration::from_secs(2)));
        let planned = |phases: Vec<PhaseSpec>| -> Vec<(String, f64, f64, PhaseLoad)> {
            phases
                .into_iter()
                .map(|p| (p.name, p.start_s, p.end_s, p.load))
                .collect()
        };
        let rate = PhaseLoad::Rate;
        assert_eq!(
            planned(ramp),
            [
                ("step 1".to_string(), 0.0, 2.0, rate(100.0)),
                ("step 2".to_string(), 2.0, 4.0, rate(200.0)),
                ("step 3".to_string(), 4.0, 6.0, rate(300.0)),
            ]
        );
        let closed = ramp_phases(&concurrency_ramp_plan(1, 8, 4, Duration::from_secs(1)));
        let in_flight = PhaseLoad::Concurrency;
        assert_eq!(
            planned(closed),
            [
                ("step 1".to_string(), 0.0, 1.0, in_flight(1)),
                ("step 2".to_string(), 1.0, 2.0, in_flight(3)),
                ("step 3".to_string(), 2.0, 3.0, in_flight(6)),
                ("step 4".to_string(), 3.0, 4.0, in_flight(8)),
            ]
        );
        let spike = Spike {
            baseline: 50.0,
            factor: 4.0,
            before: Duration::from_secs(3),
            spike: Duration::from_secs(1),
            after: Duration::from_secs(5),
            recovered_within_pct: 20.0,
        };
        assert_eq!(
            planned(spike.phases()),
            [
                ("before".to_string(), 0.0, 3.0, rate(50.0)),
                ("spike".to_string(), 3.0, 4.0, rate(200.0)),
                ("after".to_string(), 4.0, 9.0, rate(50.0)),
            ]
        );
    }

    #[test]
    fn recovery_is_the_first_step_after_which_p99_stays_near_the_level_before() {
        let spike = Spike {
            baseline: 100.0,
            factor: 3.0,
            before: Duration::from_secs(2),
            spike: Duration::from_secs(1),
            after: Duration::from_secs(3),
            recovered_within_pct: 50.0,
        };
        // Steps of 0.5 s: settling, a 5 ms level, the spike, a drain, and one relapse at 4.5 s.
        let p99s = [
            Some(40.0),
            Some(5.0),
            Some(6.0),
            Some(5.0),
            Some(80.0),
            Some(200.0),
            Some(150.0),
            Some(7.0),
            Some(6.0),
            Some(30.0),
            Some(5.0),
            Some(5.0),
        ];
        let series: Vec<SeriesPoint> = p99s
            .iter()
            .enumerate()
            .map(|(i, p99)| point(i as f64 * 0.5, *p99))
            .collect();
        let recovery = recovery(&series, &spike, Duration::from_millis(500)).unwrap();
        assert_eq!(recovery.before_p99_ns, 5e6);
        assert_eq!(recovery.peak_p99_ns, 200e6);
        // Within 7.5 ms from 3.5 s, but the relapse at 4.5 s moves it to 5.0 s: 2 s after.
        assert_eq!(recovery.recovery_s, Some(2.0));

        // Never back within the run.
        let mut worse = series.clone();
        worse.last_mut().unwrap().p99_ns = Some(50e6);
        let recovery = super::recovery(&worse, &spike, Duration::from_millis(500)).unwrap();
        assert_eq!(recovery.recovery_s, None);
        // Nothing before the spike: no level to recover to.
        assert_eq!(
            super::recovery(&series[4..], &spike, Duration::from_millis(500)),
            None
        );
    }

    #[test]
    fn a_stress_level_breaks_on_its_p99_or_its_errors() {
        let stress = Stress {
            start_rate: 100.0,
            increment: 100.0,
            step: Duration::from_secs(1),
            max_steps: 5,
            slo_p99: Some(Duration::from_millis(50)),
            min_goodput: None,
            max_error_rate: 0.01,
        };
        let stats = |p99_ms: f64, ok: u64, errors: u64| LoadStats {
            latency_basis: crate::results::LatencyBasis::IntendedSend,
            requests: ok + errors,
            ok,
            errors,
            success_rate: ok as f64 / (ok + errors) as f64,
            elapsed_s: 1.0,
            throughput_rps: ok as f64,
            sent_rps: (ok + errors) as f64,
            latency: Some(crate::results::Percentiles {
                count: ok,
                min: 1e6,
                mean: p99_ms * 1e6,
                p50: 1e6,
                p90: 1e6,
                p95: 1e6,
                p99: p99_ms * 1e6,
                p999: p99_ms * 1e6,
                max: p99_ms * 1e6,
            }),
            service: None,
            errors_by_class: [("http_503".to_string(), errors)]
                .into_iter()
                .filter(|(_, n)| *n > 0)
                .collect(),
            first_errors: Default::default(),
            late_pct: None,
            lateness: None,
            dropped: 0,
            spectrum: Vec::new(),
            histogram: Vec::new(),
            time_series: Vec::new(),
            stopped: None,
            stream: None,
        };
        assert_eq!(stress.verdict(&stats(20.0, 100, 1)), None);
        let slow = stress.verdict(&stats(80.0, 100, 0)).unwrap();
        assert!(slow.contains("p99 80.0 ms over the 50.0 ms SLO"), "{slow}");
        let failing = stress.verdict(&stats(20.0, 90, 10)).unwrap();
        assert!(failing.contains("error rate 10.0 %"), "{failing}");
        assert!(failing.contains("10 × http_503"), "{failing}");
        // A level the error limit stopped broke, whatever its other figures.
        let stopped = LoadStats {
            stopped: Some("stopped at 0.4 s: 25 failed requests (the error limit)".into()),
            ..stats(20.0, 1000, 25)
        };
        let verdict = stress.verdict(&stopped).unwrap();
        assert!(verdict.contains("the error limit"), "{verdict}");
    }
}
