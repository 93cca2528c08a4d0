//! `model-bench merge`: a scale-out run's worker outputs made into one result. Each directory is
//! a worker's output directory (its `results.json` and `worker-<index>/` files, or just the
//! latter). The workers' interval logs are added exactly (`remote::scaleout`), and each load
//! point of the first worker's `results.json` gets the merged figures: counts and rates summed,
//! percentiles, spectrum, buckets and time series from the added histograms, never scaled up
//! for a missing worker. The result is written like a run's (`results.json`, CSV, Markdown, the
//! HTML report) with a `scaleout` section naming every worker.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hdrhistogram::Histogram;

use super::{read_results, ToolError};
use crate::remote::load::hdr::{percentiles, spectrum};
use crate::remote::load::streams::StreamHistograms;
use crate::remote::load::summary::log_buckets;
use crate::remote::scaleout::record::{SliceSums, StreamCounts};
use crate::remote::scaleout::{merge_dirs, PointMerge};
use crate::results::{
    Estimates, LoadStats, Report, SampleInfo, ScaleoutInfo, ScaleoutPoint, SeriesPoint,
    StreamStats, WorkerRow,
};

/// The exit code of a merge that lacks a worker or a worker's end (unless `--allow-partial`).
pub const EXIT_PARTIAL: u8 = 7;

/// A send later than this after its intended time counts as late (as in one process).
const LATE_AFTER_NS: u64 = 1_000_000;

/// The merged run.
pub struct MergedRun {
    /// The first worker's report with every merged point's figures replaced, and `scaleout`.
    pub report: Report,
    /// One line per missing or unfinished worker, and per note on a log.
    pub problems: Vec<String>,
    /// Per merged point, the workers' measured slices added: criterion's samples of the point
    /// (`runner::merged` replays them for baselines and the gate).
    pub slices: BTreeMap<String, Vec<SliceSums>>,
}

impl MergedRun {
    /// Whether some point lacks a worker or a worker's end.
    pub fn is_partial(&self) -> bool {
        self.report.scaleout.as_ref().is_some_and(|s| s.partial)
    }
}

/// Merges the workers' outputs in `dirs`.
pub fn merge_run(dirs: &[PathBuf]) -> Result<MergedRun, ToolError> {
    let points = merge_dirs(dirs).map_err(|e| ToolError::Merge(e.to_string()))?;
    let reports = dirs
        .iter()
        .map(|dir| dir.join("results.json"))
        .filter(|path| path.exists())
        .map(|path| read_results(&path))
        .collect::<Result<Vec<Report>, ToolError>>()?;
    let mut report = reports.first().cloned().ok_or_else(|| {
        let dirs: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
        ToolError::Merge(format!("no results.json in {}", dirs.join(", ")))
    })?;
    let mut problems = Vec::new();
    // A point a worker skipped (its share was empty, or it started late) is taken from another
    // worker's file that has it.
    for bench in &mut report.benches {
        let others = reports[1..]
            .iter()
            .flat_map(|r| &r.benches)
            .filter(|b| b.id == bench.id)
            .flat_map(|b| &b.points);
        for point in others {
            if !bench.points.iter().any(|p| p.id == point.id) {
                bench.points.push(point.clone());
            }
        }
    }
    for bench in &mut report.benches {
        let merged_any = bench
            .points
            .iter()
            .any(|p| points.iter().any(|m| m.point == p.id));
        if bench.remote.is_some() && !merged_any {
            problems.push(format!(
                "{}: not merged (a scenario, or no worker logged it): its figures are the first \
                 worker's share only",
                bench.id
            ));
        }
    }
    for bench in &mut report.benches {
        for point in &mut bench.points {
            let Some(merge) = points.iter().find(|p| p.point == point.id) else {
                continue;
            };
            let Some(load) = point.load.as_mut() else {
                continue;
            };
            let first_errors = reports
                .iter()
                .flat_map(|r| &r.benches)
                .flat_map(|b| &b.points)
                .filter(|p| p.id == point.id)
                .filter_map(|p| p.load.as_ref())
                .flat_map(|l| l.stats.first_errors.clone())
                .fold(BTreeMap::new(), |mut all, (class, message)| {
                    all.entry(class).or_insert(message);
                    all
                });
            load.stats = merged_stats(&load.stats, merge, first_errors);
            // The workers' own processes are not the run's.
            load.processes.clear();
            // A merged point has no criterion samples: its mean and median are exact.
            point.estimates = Estimates::from_latency(&load.stats);
            point.sample = SampleInfo::none();
            point.items_per_sec = Some(load.stats.throughput_rps);
            point.change = None;
            point.ttft_change = None;
        }
    }
    let workers = points.iter().map(|p| p.workers).max().unwrap_or(0);
    let scaleout_points: Vec<ScaleoutPoint> = points.iter().map(scaleout_point).collect();
    for point in &scaleout_points {
        if !point.missing.is_empty() {
            problems.push(format!(
                "{}: no output of worker(s) {:?}",
                point.point, point.missing
            ));
        }
        if !point.incomplete.is_empty() {
            problems.push(format!(
                "{}: worker(s) {:?} did not finish",
                point.point, point.incomplete
            ));
        }
        problems.extend(
            point
                .notes
                .iter()
                .map(|note| format!("{}: {note}", point.point)),
        );
    }
    report.scaleout = Some(ScaleoutInfo {
        workers,
        partial: points.iter().any(|p| !p.is_whole()),
        points: scaleout_points,
    });
    let slices = points
        .iter()
        .map(|p| (p.point.clone(), p.slices.clone()))
        .collect();
    Ok(MergedRun {
        report,
        problems,
        slices,
    })
}

fn scaleout_point(merge: &PointMerge) -> ScaleoutPoint {
    let mut notes = merge.notes.clone();
    let unfinished_streams = merge
        .records
        .iter()
        .any(|r| r.stream.is_none() && !r.complete);
    if merge.merged.totals.contains_key("ttft") && unfinished_streams {
        notes.push(
            "token streams: an unfinished worker's histograms are merged but its token counts \
             are not (they are written when its point ends)"
                .into(),
        );
    }
    ScaleoutPoint {
        point: merge.point.clone(),
        missing: merge.missing.clone(),
        incomplete: merge.incomplete.clone(),
        all_running_s: merge.all_running.map(|(from, to)| to - from),
        notes,
        workers: merge
            .records
            .iter()
            .map(|r| WorkerRow {
                index: r.worker.index,
                identity: r.worker.identity.clone(),
                requests: r.requests,
                ok: r.ok,
                errors: r.errors,
                sent_rps: r.sent_rps,
                wake_lag_ms: r.wake_lag_ms,
                complete: r.complete,
            })
            .collect(),
    }
}

/// The point's figures over every worker: sums of the counts and rates (the workers ran at
/// once), and the rest from the added histograms on the run's latency basis.
fn merged_stats(
    own: &LoadStats,
    merge: &PointMerge,
    first_errors: BTreeMap<String, String>,
) -> LoadStats {
    let records = &merge.records;
    let sum = |of: fn(&crate::remote::scaleout::WorkerRecord) -> Option<u64>| {
        records.iter().filter_map(of).sum::<u64>()
    };
    let sum_f = |of: fn(&crate::remote::scaleout::WorkerRecord) -> Option<f64>| {
        records.iter().filter_map(of).sum::<f64>()
    };
    let empty = crate::remote::load::hdr::histogram();
    let tag = |name: &str| merge.merged.totals.get(name).unwrap_or(&empty);
    // Counted from the logs, which hold every measured request (`lateness`) and every success
    // (`latency`), so a worker killed mid-point counts with what it logged, as its histograms do.
    let (requests, ok) = (tag("lateness").len(), tag("latency").len());
    let errors = requests.saturating_sub(ok);
    let mut errors_by_class = BTreeMap::new();
    for record in records {
        for (class, count) in &record.errors_by_class {
            *errors_by_class.entry(class.clone()).or_insert(0) += count;
        }
    }
    let service = tag("service");
    let corrected;
    let latency: &Histogram<u64> = if own.latency_basis == "corrected_closed_loop" {
        // As one process does: HdrHistogram's correction at the median service time.
        let expected = service.value_at_quantile(0.5);
        if expected == 0 {
            service
        } else {
            corrected = service.clone_correct(expected);
            &corrected
        }
    } else {
        tag("latency")
    };
    let lateness = tag("lateness");
    let open_loop = own.lateness.is_some() || own.late_pct.is_some();
    // Strictly over 1 ms, as one process counts: from the first bucket wholly above it.
    let over = lateness.highest_equivalent(LATE_AFTER_NS) + 1;
    let late = lateness.count_between(over, lateness.max().max(over));
    let elapsed_s = records
        .iter()
        .filter_map(|r| r.elapsed_s)
        .fold(0.0, f64::max);
    LoadStats {
        latency_basis: own.latency_basis.clone(),
        requests,
        ok,
        errors,
        success_rate: ok as f64 / requests.max(1) as f64,
        elapsed_s,
        throughput_rps: sum_f(|r| r.throughput_rps),
        sent_rps: sum_f(|r| r.sent_rps),
        latency: percentiles(latency),
        service: percentiles(service),
        errors_by_class,
        first_errors,
        late_pct: open_loop.then(|| 100.0 * late as f64 / lateness.len().max(1) as f64),
        lateness: if open_loop {
            percentiles(lateness)
        } else {
            None
        },
        dropped: sum(|r| r.dropped),
        spectrum: spectrum(latency),
        histogram: log_buckets(latency),
        time_series: time_series(merge),
        stream: merged_streams(merge, elapsed_s, requests),
        stopped: None,
    }
}

/// Token streams: the workers' stream counts added and their stream histograms (`ttft`,
/// `ttft_service`, `chunk_gap`, `itl`) from the added logs, summarized as one process does over
/// the merged span and requests; `None` when no worker's record has stream counts.
fn merged_streams(merge: &PointMerge, elapsed_s: f64, requests: u64) -> Option<StreamStats> {
    let counts = merge
        .records
        .iter()
        .filter_map(|record| record.stream.as_ref())
        .fold(None, |sum: Option<StreamCounts>, counts| {
            let mut sum = sum.unwrap_or_default();
            sum.add(counts);
            Some(sum)
        })?;
    let histograms =
        StreamHistograms::from_parts(counts, |tag| merge.merged.totals.get(tag).cloned());
    Some(histograms.summarize(elapsed_s, requests))
}

/// One point per step of the merged logs, by when responses arrived (the logs' steps): sent
/// is every measured request whose outcome came in the step, ok the successful ones.
fn time_series(merge: &PointMerge) -> Vec<SeriesPoint> {
    let Some(length) = merge.merged.step_length else {
        return Vec::new();
    };
    let steps = |tag: &str| merge.merged.steps.get(tag);
    let (Some(sent), latency) = (steps("lateness"), steps("latency")) else {
        return Vec::new();
    };
    let first = sent.keys().next().copied().unwrap_or(0);
    sent.iter()
        .map(|(&step, sent)| {
            let ok = latency.and_then(|l| l.get(&step));
            let ok_count = ok.map_or(0, Histogram::len);
            let quantile = |q: f64| {
                ok.filter(|h| !h.is_empty())
                    .map(|h| h.value_at_quantile(q) as f64)
            };
            SeriesPoint {
                start_s: (step - first) as f64 * length.as_secs_f64(),
                sent: sent.len(),
                ok: ok_count,
                errors: sent.len().saturating_sub(ok_count),
                throughput_rps: ok_count as f64 / length.as_secs_f64(),
                p50_ns: quantile(0.5),
                p99_ns: quantile(0.99),
                max_ns: ok.filter(|h| !h.is_empty()).map(|h| h.max() as f64),
            }
        })
        .collect()
}

/// Writes the merged run into `out` as a run's files are written; returns what was written.
pub fn write(run: &MergedRun, out: &Path) -> Result<Vec<PathBuf>, ToolError> {
    std::fs::create_dir_all(out).map_err(|e| ToolError::Write {
        path: out.display().to_string(),
        message: e.to_string(),
    })?;
    let (mut files, errors) = crate::export::write_all(&run.report, out);
    if let Some(error) = errors.into_iter().next() {
        return Err(ToolError::Write {
            path: out.display().to_string(),
            message: error.to_string(),
        });
    }
    let written = crate::export::html::write_report(&run.report, &out.join("report"), None, true);
    if let Some(error) = written.errors.into_iter().next() {
        return Err(ToolError::Write {
            path: out.join("report").display().to_string(),
            message: error.to_string(),
        });
    }
    files.extend(written.files);
    Ok(files)
}
