//! Warm measurement of one bench on criterion: one criterion benchmark per batch size, failures
//! caught, the sweep stopped at its ceiling, and criterion's estimates read back.

use std::path::Path;
use std::time::{Duration, SystemTime};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, Throughput};

use super::bench_result::unmeasured;
use super::cli::{CriterionArgs, Mode};
use super::config::{Config, QUICK_MEASUREMENT_TIME, QUICK_SAMPLE_SIZE, QUICK_WARM_UP_TIME};
use super::{criterion_files, panic};
use crate::bencher::{Bencher, DeviceClockRun, Engine, PointName};
use crate::measure::wall;
use crate::registry::{BenchDescriptor, BenchKind, Device, Stage};
use crate::resources::nvml::GpuMemoryWatch;
use crate::results::Ceiling;
use crate::results::{BenchResult, BenchStatus, DeviceTiming, PointResult};
use crate::stats::sample::{mean, quantile};
use crate::stats::sweep::{self, MeasuredBatch};

/// Runs every batch size of `bench` that the filter selects. Never panics on a bench's failure.
/// `on_point` sees the partial result after each measured batch size (so an interrupted run can
/// still write it).
pub fn run(
    criterion: &mut Criterion<WallTime>,
    bench: &'static BenchDescriptor,
    config: &Config,
    args: &CriterionArgs,
    criterion_dir: &Path,
    on_point: &mut dyn FnMut(&BenchResult),
) -> BenchResult {
    let mut result = unmeasured(bench, bench.stage.as_str());
    let mut group = criterion.benchmark_group(bench.group_name());
    configure(&mut group, bench, config);
    let mut ceiling = None;
    let mut ran_any = false;

    for &batch in bench.batches() {
        let point_id = bench.point_id(batch);
        if !args.filter.matches(&point_id) {
            continue;
        }
        if bench.stage != Stage::Load {
            group.throughput(Throughput::Elements(batch as u64));
        }
        let dir = criterion_files::benchmark_dir(
            criterion_dir,
            bench.group_name(),
            bench.name,
            bench.is_swept().then(|| batch.to_string()).as_deref(),
        );
        if args.mode == Mode::Benchmark {
            if let Some(message) = criterion_files::missing_baseline(&dir, args.baseline.as_ref()) {
                // The other batch sizes may have their baseline; they are still measured.
                eprintln!("\nmodel-bench: {point_id} failed: {message}");
                result.status = BenchStatus::Failed;
                result.error = Some(message);
                continue;
            }
        }
        let base = criterion_files::baseline_sample_or_note(
            &dir,
            args.baseline_name(),
            &point_id,
            &mut result,
        );
        let started = SystemTime::now();
        // GPU memory around the point; NVML missing is already noted by the bench's GPU sampler.
        let memory_watch = (bench.device == Device::Cuda && args.mode == Mode::Benchmark)
            .then(|| GpuMemoryWatch::start(0).ok())
            .flatten();
        let outcome = run_point(&mut group, bench, batch);
        let gpu_memory = memory_watch.and_then(GpuMemoryWatch::finish);
        match outcome {
            Ok(device_clock) => {
                ran_any = true;
                if args.mode == Mode::Benchmark && !args.no_fresh_estimates {
                    let rule = config.gate.rule_for(&point_id);
                    match criterion_files::read(&dir, started, base.as_deref(), rule) {
                        Ok(measured) => result.points.push(PointResult {
                            id: point_id,
                            batch,
                            unit: wall::UNIT.to_string(),
                            items_per_sec: (bench.stage != Stage::Load).then(|| {
                                sweep::items_per_sec(batch, measured.estimates.median.point)
                            }),
                            estimates: measured.estimates,
                            device_timing: device_timing(
                                device_clock.as_ref(),
                                measured.sample.samples,
                            ),
                            sample: measured.sample,
                            change: measured.change,
                            ttft_change: None,
                            load: None,
                            gpu_memory,
                        }),
                        Err(error) => {
                            eprintln!("model-bench: {point_id}: measured, but {error}")
                        }
                    }
                    on_point(&result);
                }
            }
            Err(message) => {
                eprintln!("\nmodel-bench: {point_id} failed: {message}");
                if ran_any && bench.is_swept() {
                    eprintln!(
                        "model-bench: {}: batch {batch} is the sweep's ceiling; larger sizes are skipped",
                        result.id
                    );
                    // A batch size that already failed (no baseline) keeps the bench failed.
                    if result.status != BenchStatus::Failed {
                        result.status = BenchStatus::Ceiling;
                    }
                    ceiling = Some(Ceiling::new(batch, message.clone()));
                } else {
                    result.status = BenchStatus::Failed;
                }
                result.error.get_or_insert(message);
                break;
            }
        }
    }
    drop(group);

    if bench.is_swept() && (!result.points.is_empty() || ceiling.is_some()) {
        let measured: Vec<MeasuredBatch> = result
            .points
            .iter()
            .map(|p| MeasuredBatch {
                batch: p.batch,
                median_ns: p.estimates.median.point,
            })
            .collect();
        result.sweep = Some(sweep::summarize(&measured, ceiling));
    }
    result
}

/// Applies the bench's own sample size and times over the run's defaults; quick mode caps them.
fn configure(group: &mut BenchmarkGroup<'_, WallTime>, bench: &BenchDescriptor, config: &Config) {
    let cap = |time: Option<Duration>, quick: Duration| match (config.quick, time) {
        (true, Some(time)) => Some(time.min(quick)),
        (true, None) => Some(quick),
        (false, time) => time,
    };
    let sample_size = if config.quick {
        Some(QUICK_SAMPLE_SIZE)
    } else {
        bench.sample_size
    };
    if let Some(size) = sample_size {
        group.sample_size(size);
    }
    if let Some(time) = cap(bench.warm_up_time, QUICK_WARM_UP_TIME) {
        group.warm_up_time(time);
    }
    if let Some(time) = cap(bench.measurement_time, QUICK_MEASUREMENT_TIME) {
        group.measurement_time(time);
    }
}

/// Calls the bench function once for one batch size; criterion samples inside its `iter*` call.
/// How an event-timed point was measured; of its host times, the last `samples` are the measured
/// ones (criterion's warm-up calls come first).
fn device_timing(run: Option<&DeviceClockRun>, samples: usize) -> Option<DeviceTiming> {
    let run = run?;
    let last = |all_samples: usize| all_samples.saturating_sub(samples);
    let host = &run.host_per_iter_ns[last(run.host_per_iter_ns.len())..];
    let launch_bound = &run.launch_bound[last(run.launch_bound.len())..];
    Some(DeviceTiming {
        clock: "device_events".into(),
        regime: run.regime.into(),
        host_median_ns: quantile(host, 0.5),
        host_mean_ns: mean(host),
        launch_bound_samples: launch_bound.iter().filter(|&&bound| bound).count(),
    })
}

/// Runs one point; for an event-timed bench, returns how it used the device clock.
fn run_point(
    group: &mut BenchmarkGroup<'_, WallTime>,
    bench: &BenchDescriptor,
    batch: usize,
) -> Result<Option<DeviceClockRun>, String> {
    let id = if bench.is_swept() {
        PointName::Batch(BenchmarkId::new(bench.name, batch))
    } else {
        PointName::Function(bench.name)
    };
    let mut bencher = Bencher::new(batch, bench.device, Engine::Criterion { group, id });
    let BenchKind::Stage(run) = bench.kind else {
        return Err(format!("`{}` is a remote bench, not a stage", bench.name));
    };
    panic::catch(|| run(&mut bencher))??;
    if !bencher.iterated() {
        return Err(format!(
            "`{}` returned without calling `b.iter(...)` (or another `iter*` method)",
            bench.name
        ));
    }
    Ok(bencher.device_clock().cloned())
}
