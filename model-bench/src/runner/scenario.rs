//! A remote bench's scenario in a run: the ramp or spike as one open-loop run read phase by
//! phase (and, for a spike, its recovery), the stress levels one after another until one
//! breaks, or a soak read window by window with the watched processes' memory judged. Scenarios report their own figures; they are not criterion benchmarks (no baseline
//! comparison), since a scenario is one trajectory, not repeated samples of one level.

use std::sync::Arc;
use std::time::Duration;

use super::bench_result::failed;
use super::config::Config;
use crate::registry::ScenarioSpec;
use crate::remote::load::scenario::{self, PhaseSpec, Spike, Stress};
use crate::remote::load::WorkerShare;
use crate::remote::load::{Arrival, LoadPlan};
use crate::remote::watch::WatchedRun;
use crate::remote::Client;
use crate::resources::process::soak_memory;
use crate::results::SoakMemory;
use crate::results::{BenchResult, ScenarioResult};

/// The time-series step of a run: a second, or a tenth of its shortest phase (a steady
/// point's whole window) when that is shorter, so every phase spans several steps.
pub(super) fn series_step(shortest_phase: Duration) -> Duration {
    (shortest_phase / 10).clamp(Duration::from_millis(50), Duration::from_secs(1))
}

#[allow(clippy::too_many_arguments)]
pub fn run(
    runtime: &tokio::runtime::Runtime,
    client: &Arc<Client>,
    url: &str,
    point_id: &str,
    spec: ScenarioSpec,
    watch: &mut dyn FnMut(&LoadPlan) -> WatchedRun,
    worker: Option<WorkerShare>,
    config: &Config,
    mut result: BenchResult,
) -> BenchResult {
    let quick = config.quick;
    let limited = |plan: LoadPlan| match config.error_limit {
        Some(limit) => plan.error_limit(limit),
        None => plan,
    };
    // Quick mode (`MODEL_BENCH_QUICK`) shortens every phase to a tenth, at least 200 ms.
    let scale = |d: Duration| {
        if quick {
            (d / 10).max(Duration::from_millis(200))
        } else {
            d
        }
    };
    let scenario = match spec {
        ScenarioSpec::Ramp {
            from,
            to,
            steps,
            step,
        } => {
            let step = scale(step);
            eprintln!(
                "model-bench: {point_id}: ramp {from} → {to} req/s in {steps} steps of {step:?} \
                 against {url}"
            );
            let plan = scenario::ramp_plan(from, to, steps, step).series_step(series_step(step));
            let phases = scenario::ramp_phases(&plan);
            one_run("ramp", &phases, watch(&limited(plan)))
        }
        ScenarioSpec::ConcurrencyRamp {
            from,
            to,
            steps,
            step,
        } => {
            let step = scale(step);
            eprintln!(
                "model-bench: {point_id}: ramp {from} → {to} in flight in {steps} steps of \
                 {step:?} against {url}"
            );
            let plan = scenario::concurrency_ramp_plan(from, to, steps, step)
                .series_step(series_step(step));
            let phases = scenario::ramp_phases(&plan);
            one_run("ramp", &phases, watch(&limited(plan)))
        }
        ScenarioSpec::Spike {
            baseline,
            factor,
            before,
            spike,
            after,
            recovered_within_pct,
        } => {
            let spike = Spike {
                baseline,
                factor,
                before: scale(before),
                spike: scale(spike),
                after: scale(after),
                recovered_within_pct,
            };
            let step = series_step(spike.before.min(spike.spike).min(spike.after));
            eprintln!(
                "model-bench: {point_id}: {baseline} req/s, {factor}× for {:?} after {:?}, then \
                 {:?} to recover, against {url}",
                spike.spike, spike.before, spike.after
            );
            let run = watch(&limited(spike.plan().series_step(step)));
            let recovery = scenario::recovery(&run.stats().time_series, &spike, step);
            ScenarioResult {
                recovery,
                ..one_run("spike", &spike.phases(), run)
            }
        }
        ScenarioSpec::Soak {
            rate,
            concurrency,
            duration,
            window,
            leak_mib_per_min,
        } => {
            let duration = scale(duration);
            let window = scale(window).min(duration);
            let plan = match rate {
                Some(rate) => LoadPlan::open(rate, Arrival::Constant, duration),
                None => LoadPlan::closed(concurrency.unwrap_or(1), duration),
            };
            // Steps of at most a second that divide the window, so the time series is as
            // fine as a ramp's and each window is whole steps.
            let per_window = window.as_secs_f64().ceil().max(1.0);
            let plan = plan.series_step(window.div_f64(per_window));
            let windows = scenario::soak_windows(&plan, window);
            eprintln!(
                "model-bench: {point_id}: soak, {} for {duration:?} in windows of {window:?}, \
                 against {url}",
                match rate {
                    Some(rate) => format!("{rate} req/s"),
                    None => format!("{} in flight", concurrency.unwrap_or(1)),
                }
            );
            let run = watch(&limited(plan));
            let stats = run.stats();
            let mean_in_flight = stats
                .service
                .as_ref()
                .map(|service| stats.throughput_rps * service.mean / 1e9);
            let threshold = leak_mib_per_min * f64::from(1u32 << 20) / 60.0;
            let window_s = window.as_secs_f64();
            let memory: Vec<SoakMemory> = run
                .traces
                .iter()
                .filter_map(|trace| {
                    soak_memory(trace, window_s, windows.len(), mean_in_flight, threshold)
                })
                .collect();
            for process in memory.iter().filter(|m| m.leak == Some(true)) {
                eprintln!(
                    "model-bench: {point_id}: the {} process's memory grew {:.1} MiB/min after \
                     the first window, past the leak threshold of {leak_mib_per_min} MiB/min",
                    process.role,
                    process.growth_bytes_per_s.unwrap_or_default() * 60.0 / f64::from(1u32 << 20)
                );
            }
            ScenarioResult {
                memory,
                ..one_run("soak", &windows, run)
            }
        }
        ScenarioSpec::Stress {
            start,
            increment,
            step,
            max_steps,
            slo_p99,
            min_goodput,
            max_error_rate,
        } => {
            let stress = Stress {
                start_rate: start,
                increment,
                step: scale(step),
                max_steps,
                slo_p99,
                min_goodput,
                max_error_rate,
            };
            let mut limits: Vec<String> = Vec::new();
            if let Some(slo) = slo_p99 {
                limits.push(format!("p99 passes {slo:?}"));
            }
            if let Some(target) = min_goodput {
                limits.push(format!("goodput falls under {:.1} %", 100.0 * target));
            }
            limits.push(format!("errors pass {:.1} %", 100.0 * max_error_rate));
            eprintln!(
                "model-bench: {point_id}: from {start} req/s, +{increment} every {:?}, until {}, \
                 against {url}",
                stress.step,
                limits.join(" or ")
            );
            let outcome =
                runtime.block_on(stress.run_shared(Arc::clone(client), config.error_limit, worker));
            ScenarioResult {
                kind: "stress".into(),
                phases: outcome.steps,
                load: None,
                recovery: None,
                highest_held: outcome.highest_held,
                slo_p99_ns: slo_p99.map(|slo| slo.as_nanos() as f64),
                memory: Vec::new(),
            }
        }
    };
    let ok: u64 = scenario.phases.iter().map(|p| p.ok).sum();
    if ok == 0 {
        let first = scenario
            .load
            .as_ref()
            .and_then(|l| l.stats.first_error())
            .map(|first| format!("; first error: {first}"))
            .unwrap_or_default();
        result = failed(result, format!("{point_id}: no request succeeded{first}"));
    }
    result.scenario = Some(scenario);
    result
}

/// A one-run scenario's result: its phases read off the run, and the run.
fn one_run(kind: &str, phases: &[PhaseSpec], run: WatchedRun) -> ScenarioResult {
    ScenarioResult {
        kind: kind.into(),
        phases: scenario::phases_of(&run.run.tally, phases),
        load: Some(run.point(None)),
        recovery: None,
        highest_held: None,
        slo_p99_ns: None,
        memory: Vec::new(),
    }
}
