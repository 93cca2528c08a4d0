//! `model-bench merge`: a scale-out run's worker outputs made into one result. Each directory is
//! a worker's output directory (its `results.json` and `worker-<index>/` files, or just the
//! latter). The workers' tallies are added exactly (`remote::scaleout`: their records, and the
//! histograms of their interval logs), and each load point of the first worker's
//! `results.json` gets the merged tally's statistics — made by the one function that makes a
//! single run's (`PointTally::stats`), never scaled up for a missing worker. The result is
//! written like a run's (`results.json`, CSV, Markdown, the HTML report) with a `scaleout`
//! section naming every worker.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{read_results, ToolError};
use crate::remote::load::SliceSums;
use crate::remote::scaleout::{merge_dirs, PointMerge};
use crate::results::{Estimates, Report, SampleInfo, ScaleoutInfo, ScaleoutPoint, WorkerRow};

/// The exit code of a merge that lacks a worker or a worker's end (unless `--allow-partial`).
pub const EXIT_PARTIAL: u8 = 7;

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
            load.stats = merge.tally.stats();
            // The workers' own processes are not the run's.
            load.processes.clear();
            // The server's state is the whole run's (every worker read the same server); where
            // its time went and whether it agrees are judged again against the merged figures,
            // and the energy per token on the merged token rate.
            if let Some(state) = load.server_state.as_mut() {
                crate::remote::watch::server_state::breakdown::complete(state, &load.stats);
            }
            if let Some(energy) = load.energy.as_mut() {
                let tokens_per_s = load.stats.stream.as_ref().map(|s| s.output_tokens_per_s);
                energy.rescale(tokens_per_s);
            }
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
        .map(|p| (p.point.clone(), p.tally.slice_sums()))
        .collect();
    Ok(MergedRun {
        report,
        problems,
        slices,
    })
}

fn scaleout_point(merge: &PointMerge) -> ScaleoutPoint {
    let mut notes = merge.notes.clone();
    let unfinished_streams = merge.records.iter().any(|r| r.summary.is_none());
    if merge.tally.stream.is_some() && unfinished_streams {
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
                requests: r.summary.map(|s| s.requests),
                ok: r.summary.map(|s| s.ok),
                errors: r.summary.map(|s| s.errors),
                sent_rps: r.summary.map(|s| s.sent_rps),
                wake_lag_ms: r.wake_lag_ms,
                complete: r.complete,
            })
            .collect(),
    }
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
