//! `model-bench merge`'s cost at scale: 64 workers × 10 minutes of 1 s steps (three tags each:
//! latency, service, lateness; 115,200 intervals in all, and each record's tally with its
//! 600-step time series), written as the workers write them, then merged by `merge_dirs` (what
//! `model-bench merge` runs) while the process's peak RSS is watched. Goal (issue 16): under
//! 5 s, memory bounded by the steps and tags, not the workers. `cargo test --benches` runs a
//! small smoke version. Figures go to `docs/PERFORMANCE.md`.

use std::time::{Duration, Instant, SystemTime};

#[path = "common/process.rs"]
mod process;

use model_bench::remote::load::interval_log::{write_log, Interval};
use model_bench::remote::load::tally::RequestTimes;
use model_bench::remote::load::{PointTally, TallyShape};
use model_bench::remote::scaleout::record::{
    HistogramShape, WorkerId, WorkerSummary, WORKER_SCHEMA,
};
use model_bench::remote::scaleout::{merge_dirs, WorkerRecord};
use model_bench::results::{LatencyBasis, Slo};

/// Values per interval: a worker sending 100 requests a second.
const PER_STEP: u64 = 100;

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (workers, steps) = if full { (64, 600) } else { (4, 20) };
    let dir = tempfile::tempdir().expect("a temp dir");
    let written = Instant::now();
    for index in 0..workers {
        write_worker(dir.path(), index, workers, steps);
    }
    println!(
        "== merge: {workers} workers × {steps} steps × 3 tags ({} intervals of {PER_STEP} values) written in {:.1} s",
        workers as u64 * steps * 3,
        written.elapsed().as_secs_f64()
    );
    let before = peak_rss_mib();
    reset_peak_rss();
    let cpu = process::cpu_seconds(libc::RUSAGE_SELF);
    let started = Instant::now();
    let points = merge_dirs(&[dir.path().to_path_buf()]).expect("the logs merge");
    let took = started.elapsed().as_secs_f64();
    let cpu = process::cpu_seconds(libc::RUSAGE_SELF) - cpu;
    let latency = &points[0].tally.requests.latency;
    assert_eq!(
        latency.len(),
        workers as u64 * steps * PER_STEP,
        "every value merged"
    );
    println!(
        "merged in {took:.2} s ({cpu:.2} s CPU): {} values, p99 {:.2} ms; peak RSS during the merge {:.0} MiB (before it {before:.0} MiB)",
        latency.len(),
        latency.value_at_quantile(0.99) as f64 / 1e6,
        peak_rss_mib()
    );
}

/// One worker's record and interval log of one 10-minute point.
fn write_worker(root: &std::path::Path, index: usize, workers: usize, steps: u64) {
    let dir = root.join(format!("worker-{index}"));
    std::fs::create_dir_all(&dir).expect("a worker dir");
    let base = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64 ^ index as u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let shape = TallyShape {
        basis: LatencyBasis::IntendedSend,
        window: Duration::from_secs(steps),
        slices: 10,
        series_step: Duration::from_secs(1),
    };
    let mut tally = PointTally::new(shape, Slo::default());
    let mut intervals = Vec::new();
    for step in 0..steps {
        let new = || {
            hdrhistogram::Histogram::<u64>::new_with_bounds(1_000, 600_000_000_000, 3)
                .expect("valid bounds")
        };
        let [mut latency, mut service, mut lateness] = [new(), new(), new()];
        for at in 0..PER_STEP {
            // 1–50 ms, a latency-like spread; sent on time.
            let took = 1_000_000 + next() % 49_000_000;
            let _ = (
                latency.record(took),
                service.record(took),
                lateness.record(1),
            );
            let times = RequestTimes {
                intended: Duration::from_secs(step) + Duration::from_millis(10 * at),
                lateness: Duration::ZERO,
                service: Duration::from_nanos(took),
            };
            let slice = (step * 10 / steps) as usize;
            tally.record(slice, &times, Ok(None));
        }
        for (tag, histogram) in [
            ("latency", latency),
            ("service", service),
            ("lateness", lateness),
        ] {
            intervals.push(Interval {
                tag: tag.to_owned(),
                start: Duration::from_secs(step),
                length: Duration::from_secs(1),
                histogram,
            });
        }
    }
    let mut file = std::fs::File::create(dir.join("point.hlog")).expect("a log file");
    write_log(&mut file, base, intervals).expect("written");
    let record = WorkerRecord {
        schema: WORKER_SCHEMA.into(),
        point: "serving/endpoint/r6400".into(),
        worker: WorkerId {
            index,
            count: workers,
            identity: format!("pod-{index}"),
        },
        config_hash: "same".into(),
        histograms: HistogramShape {
            lowest_discernible_ns: 1_000,
            highest_trackable_ns: 600_000_000_000,
            significant_figures: 3,
        },
        interval_log: "point.hlog".into(),
        base_time_s: 1.8e9,
        start_at_s: Some(1.8e9),
        wake_lag_ms: Some(0.1),
        started_s: 1.8e9,
        ended_s: Some(1.8e9 + steps as f64),
        shape,
        complete: true,
        summary: Some(WorkerSummary {
            requests: steps * PER_STEP,
            ok: steps * PER_STEP,
            errors: 0,
            sent_rps: PER_STEP as f64,
        }),
        tally: Some(tally),
    };
    std::fs::write(
        dir.join("point.json"),
        serde_json::to_vec(&record).expect("serialisable"),
    )
    .expect("a record file");
}

fn peak_rss_mib() -> f64 {
    process::status_mib("VmHWM:")
}

/// Resets the kernel's peak RSS (VmHWM) to the current RSS (Linux ≥ 4.0).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}
