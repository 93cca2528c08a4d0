//! Merging a whole scale-out run from its workers' directories: every `<point>.json` record and
//! its interval log, grouped by point; the workers checked against each other (one worker
//! count, one configuration per point, one record per index) before their tallies are added
//! exactly — the records' parts, and the histograms from the logs — into the point's
//! [`PointTally`]; missing and unfinished workers named, never made up for; and the window in
//! which every worker was running.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use thiserror::Error;

use super::merge::{MergeError, Merger};
use super::record::{WorkerRecord, WORKER_SCHEMA};
use crate::remote::load::counts::CountsReader;
use crate::remote::load::interval_log::{stream_log, LogError};
use crate::remote::load::PointTally;
use crate::results::Slo;

/// One load point over every worker that ran it.
#[derive(Debug, Clone)]
pub struct PointMerge {
    /// The point's id.
    pub point: String,
    /// How many workers the run had.
    pub workers: usize,
    /// The records found, by worker index, without their tallies (added into `tally`).
    pub records: Vec<WorkerRecord>,
    /// Indexes with no record for this point.
    pub missing: Vec<usize>,
    /// Indexes whose record says the point did not finish (a worker killed mid-point), or
    /// whose log's last line was cut.
    pub incomplete: Vec<usize>,
    /// What was wrong with the logs that were kept: a cut last line, with its file and line.
    pub notes: Vec<String>,
    /// The point over every worker: the finished records' tallies added, with the histograms
    /// of every record's log (an unfinished worker's logged requests included).
    pub tally: PointTally,
    /// From the last worker's start of the point to the first one's end (seconds since the
    /// Unix epoch): when all of them were sending; `None` when some never finished.
    pub all_running: Option<(f64, f64)>,
}

impl PointMerge {
    /// Whether every worker ran the point to its end.
    pub fn is_whole(&self) -> bool {
        self.missing.is_empty() && self.incomplete.is_empty()
    }
}

/// Why a run's worker outputs cannot be merged.
#[derive(Debug, Error)]
pub enum RunMergeError {
    /// Nothing to merge.
    #[error("no worker records (`*.json` of {WORKER_SCHEMA}) under {dirs}")]
    NoRecords {
        /// The directories searched.
        dirs: String,
    },
    /// A directory or record that cannot be read.
    #[error("{path}: {message}")]
    Read {
        /// The file or directory.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// An interval log that cannot be read.
    #[error(transparent)]
    Log(#[from] LogError),
    /// Histograms that do not add exactly.
    #[error(transparent)]
    Merge(#[from] MergeError),
    /// Workers that disagree on the run.
    #[error("{point}: {message}")]
    Disagree {
        /// The point.
        point: String,
        /// What they disagree on.
        message: String,
    },
}

/// Reads every worker record under `dirs` (each a worker's directory, or one holding
/// `worker-*` directories, searched one level down) and merges each point.
pub fn merge_dirs(dirs: &[PathBuf]) -> Result<Vec<PointMerge>, RunMergeError> {
    let mut found: BTreeMap<String, Vec<(WorkerRecord, PathBuf)>> = BTreeMap::new();
    for dir in dirs {
        for path in record_files(dir)? {
            if let Some(record) = read_record(&path)? {
                found
                    .entry(record.point.clone())
                    .or_default()
                    .push((record, path));
            }
        }
    }
    if found.is_empty() {
        let dirs: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
        return Err(RunMergeError::NoRecords {
            dirs: dirs.join(", "),
        });
    }
    found
        .into_iter()
        .map(|(point, records)| merge_point(point, records))
        .collect()
}

/// The `*.json` files of `dir` and of its `worker-*` subdirectories.
fn record_files(dir: &Path) -> Result<Vec<PathBuf>, RunMergeError> {
    let read = |dir: &Path| -> Result<Vec<PathBuf>, RunMergeError> {
        let entries = std::fs::read_dir(dir).map_err(|e| RunMergeError::Read {
            path: dir.display().to_string(),
            message: e.to_string(),
        })?;
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        Ok(paths)
    };
    let mut files = Vec::new();
    for path in read(dir)? {
        let is_worker_dir = path.is_dir()
            && path
                .file_name()
                .is_some_and(|name| name.to_string_lossy().starts_with("worker-"));
        if is_worker_dir {
            files.extend(read(&path)?.into_iter().filter(|p| is_json(p)));
        } else if is_json(&path) {
            files.push(path);
        }
    }
    Ok(files)
}

fn is_json(path: &Path) -> bool {
    path.extension().is_some_and(|ext| ext == "json")
}

/// The record at `path`; `None` for JSON that is not a worker record (a `results.json`).
fn read_record(path: &Path) -> Result<Option<WorkerRecord>, RunMergeError> {
    let text = std::fs::read_to_string(path).map_err(|e| RunMergeError::Read {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    let value: serde_json::Value = match serde_json::from_str(&text) {
        Ok(value) => value,
        Err(_) => return Ok(None),
    };
    if value.get("schema").and_then(|s| s.as_str()) != Some(WORKER_SCHEMA) {
        return Ok(None);
    }
    // The tally is read again, one record at a time, when its point is merged
    // ([`read_tally`]): a run's records are held together, their time series are not.
    let mut value = value;
    if let Some(fields) = value.as_object_mut() {
        fields.remove("tally");
    }
    serde_json::from_value(value)
        .map(Some)
        .map_err(|e| RunMergeError::Read {
            path: path.display().to_string(),
            message: format!("not a whole worker record: {e}"),
        })
}

/// The tally of `record`, read from its file at `path` (`None` before the point ended), and
/// checked against the record.
fn read_tally(record: &WorkerRecord, path: &Path) -> Result<Option<PointTally>, RunMergeError> {
    #[derive(serde::Deserialize)]
    struct TallyOf {
        tally: Option<PointTally>,
    }
    let bad = |message: String| RunMergeError::Read {
        path: path.display().to_string(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    let TallyOf { tally } =
        serde_json::from_str(&text).map_err(|e| bad(format!("not a whole worker record: {e}")))?;
    if let Some(tally) = &tally {
        record
            .check_tally(tally)
            .map_err(|problem| bad(format!("not a worker record model-bench writes: {problem}")))?;
    }
    Ok(tally)
}

fn merge_point(
    point: String,
    mut records: Vec<(WorkerRecord, PathBuf)>,
) -> Result<PointMerge, RunMergeError> {
    let disagree = |message: String| RunMergeError::Disagree {
        point: point.clone(),
        message,
    };
    records.sort_by_key(|(record, _)| record.worker.index);
    let first = &records[0].0;
    let workers = first.worker.count;
    let first_shape = first.shape;
    for (record, path) in &records {
        if record.worker.count != workers {
            return Err(disagree(format!(
                "{} says {} workers, {} says {workers}",
                path.display(),
                record.worker.count,
                records[0].1.display()
            )));
        }
        if record.config_hash != first.config_hash {
            return Err(disagree(format!(
                "{} ran another configuration (hash {}) than {} ({}): not one run",
                path.display(),
                record.config_hash,
                records[0].1.display(),
                first.config_hash
            )));
        }
        if let Err(problem) = record.check() {
            return Err(RunMergeError::Read {
                path: path.display().to_string(),
                message: format!("not a worker record model-bench writes: {problem}"),
            });
        }
        if record.shape != first.shape {
            return Err(disagree(format!(
                "{} measured a window of {:?}, {} of {:?}: not one run",
                path.display(),
                record.shape,
                records[0].1.display(),
                first.shape
            )));
        }
        if record.histograms != first.histograms {
            return Err(disagree(format!(
                "{} has histograms of {:?}, {} of {:?}: they do not add exactly",
                path.display(),
                record.histograms,
                records[0].1.display(),
                first.histograms
            )));
        }
    }
    for pair in records.windows(2) {
        if pair[0].0.worker.index == pair[1].0.worker.index {
            return Err(disagree(format!(
                "two records for worker {} ({} at {}, {} at {}): keep the one of the pod that \
                 ran to the end",
                pair[0].0.worker.index,
                pair[0].0.worker.identity,
                pair[0].1.display(),
                pair[1].0.worker.identity,
                pair[1].1.display()
            )));
        }
    }
    let present: Vec<usize> = records.iter().map(|(r, _)| r.worker.index).collect();
    let missing = (0..workers).filter(|i| !present.contains(i)).collect();
    let mut incomplete = Vec::new();
    let mut notes = Vec::new();
    // One log and one tally at a time, one interval at a time: the merge holds totals, not
    // logs or the workers' time series.
    let mut tally = PointTally::new(first_shape, Slo::default());
    let mut without_log = Vec::new();
    let mut merger = Merger::default();
    let mut reader = CountsReader::default();
    for (record, path) in &records {
        let log_path = path.with_file_name(&record.interval_log);
        if !log_path.exists() {
            // A record without its log (a log lost on the way): the worker's requests of this
            // point cannot be merged, so it counts as unfinished; the others still merge.
            notes.push(format!(
                "{}: missing: worker {}'s requests of this point are not merged",
                log_path.display(),
                record.worker.index
            ));
            incomplete.push(record.worker.index);
            without_log.push(record.worker.index);
            continue;
        }
        let log = stream_log(&log_path, |log, logged| {
            let (shape, counts) = reader.read(logged.encoded)?;
            merger
                .add_counts(&log.source, logged.tag, shape, counts)
                .map_err(|e| e.to_string())
        })?;
        if let Some(damage) = &log.damaged_tail {
            notes.push(format!(
                "{}: {damage} (cut short; the intervals before it are kept)",
                log_path.display()
            ));
        }
        if !record.complete || log.damaged_tail.is_some() {
            incomplete.push(record.worker.index);
        }
        match read_tally(record, path)? {
            Some(theirs) => tally.add(&theirs),
            None => notes.push(format!(
                "worker {} did not finish: its logged requests count in the totals and \
                 percentiles, not in the error classes, the time series or criterion's slices",
                record.worker.index
            )),
        }
    }
    // A record without its log adds nothing (its tally would stand beside histograms that lack
    // its requests), and its counts are not shown.
    records.retain(|(record, _)| !without_log.contains(&record.worker.index));
    let mut totals = merger.finish().totals;
    for (tag, histogram) in tally.tagged_histograms_mut() {
        if let Some(total) = totals.remove(tag) {
            *histogram = total;
        }
    }
    let ends: Option<Vec<f64>> = records.iter().map(|(r, _)| r.ended_s).collect();
    let all_running = ends.and_then(|ends| {
        let from = records
            .iter()
            .map(|(r, _)| r.started_s)
            .fold(f64::MIN, f64::max);
        let to = ends.into_iter().fold(f64::MAX, f64::min);
        (to > from).then_some((from, to))
    });
    Ok(PointMerge {
        point,
        workers,
        records: records.into_iter().map(|(record, _)| record).collect(),
        missing,
        incomplete,
        notes,
        tally,
        all_running,
    })
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::super::record::{HistogramShape, WorkerId, WorkerSummary};
    use super::*;
    use crate::remote::load::interval_log::{write_log, Interval};
    use crate::remote::load::tally::RequestTimes;
    use crate::remote::load::{SliceSums, TallyShape};
    use crate::results::LatencyBasis;

    const SHAPE: TallyShape = TallyShape {
        basis: LatencyBasis::IntendedSend,
        window: Duration::from_secs(8),
        slices: 2,
        series_step: Duration::from_secs(4),
    };

    /// Writes worker `index` of `count`'s record and log of `values` into `dir/worker-<index>`.
    fn worker(dir: &Path, index: usize, count: usize, values: &[u64], complete: bool) -> PathBuf {
        let own = dir.join(format!("worker-{index}"));
        std::fs::create_dir_all(&own).unwrap();
        // Each value a request intended at the window's start, taking that long: all in the
        // first of two slices, the second empty.
        let mut tally = PointTally::new(SHAPE, Slo::default());
        for &v in values {
            let times = RequestTimes {
                intended: Duration::ZERO,
                lateness: Duration::ZERO,
                service: Duration::from_nanos(v),
            };
            tally.record(0, &times, Ok(None));
        }
        let h = tally.requests.latency.clone();
        let base = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let mut log = std::fs::File::create(own.join("p.hlog")).unwrap();
        let interval = Interval {
            tag: "latency".into(),
            start: Duration::from_secs(3),
            length: Duration::from_secs(1),
            histogram: h,
        };
        write_log(&mut log, base, [interval]).unwrap();
        let record = WorkerRecord {
            schema: WORKER_SCHEMA.into(),
            point: "serving/x/c4".into(),
            worker: WorkerId {
                index,
                count,
                identity: format!("pod-{index}"),
            },
            config_hash: "abc".into(),
            histograms: HistogramShape {
                lowest_discernible_ns: 1_000,
                highest_trackable_ns: 600_000_000_000,
                significant_figures: 3,
            },
            interval_log: "p.hlog".into(),
            base_time_s: 1.8e9,
            start_at_s: Some(1.8e9),
            wake_lag_ms: Some(0.2),
            started_s: 1.8e9 + 1.0 + index as f64 * 0.01,
            ended_s: complete.then_some(1.8e9 + 10.0 - index as f64 * 0.01),
            shape: SHAPE,
            complete,
            summary: complete.then_some(WorkerSummary {
                requests: values.len() as u64,
                ok: values.len() as u64,
                errors: 0,
                sent_rps: 10.0,
            }),
            tally: complete.then_some(tally),
        };
        let path = own.join("p.json");
        std::fs::write(&path, serde_json::to_vec(&record).unwrap()).unwrap();
        path
    }

    #[test]
    fn whole_runs_merge_and_missing_or_unfinished_workers_are_named() {
        let dir = tempfile::tempdir().unwrap();
        worker(dir.path(), 0, 3, &[1_000, 2_000], true);
        worker(dir.path(), 2, 3, &[3_000], false);
        std::fs::write(dir.path().join("results.json"), "{\"schema_version\": 9}").unwrap();
        let points = merge_dirs(&[dir.path().to_path_buf()]).unwrap();
        assert_eq!(points.len(), 1);
        let point = &points[0];
        assert_eq!(point.point, "serving/x/c4");
        assert_eq!(point.missing, [1]);
        assert_eq!(point.incomplete, [2]);
        assert!(!point.is_whole());
        assert_eq!(point.all_running, None, "worker 2 never finished");
        assert_eq!(point.tally.ok(), 3, "what was measured is kept");
        assert!(
            point
                .notes
                .iter()
                .any(|n| n.starts_with("worker 2 did not finish")),
            "{:?}",
            point.notes
        );

        worker(dir.path(), 1, 3, &[4_000], true);
        worker(dir.path(), 2, 3, &[3_000], true);
        let point = &merge_dirs(&[dir.path().to_path_buf()]).unwrap()[0];
        assert!(point.is_whole());
        let (from, to) = point.all_running.unwrap();
        assert!((from - (1.8e9 + 1.02)).abs() < 1e-3 && (to - (1.8e9 + 9.98)).abs() < 1e-3);
        assert_eq!(point.tally.ok(), 4);
        // The slices add up slice by slice: criterion's samples of the merged point; and the
        // steps of the workers' windows, step by step.
        assert_eq!(
            point.tally.slice_sums(),
            [
                SliceSums {
                    ok: 4,
                    latency_sum_ns: 10_000,
                    ..SliceSums::default()
                },
                SliceSums::default()
            ]
        );
        assert_eq!(
            SliceSums::latency_means(&point.tally.slice_sums()),
            [2_500.0]
        );
        assert_eq!(point.tally.series[0].ok, 4);
        assert_eq!(point.tally.stats().ok, 4);
    }

    #[test]
    fn workers_of_other_runs_or_twice_one_index_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        worker(dir.path(), 0, 2, &[1_000], true);
        let other = worker(dir.path(), 1, 2, &[1_000], true);
        let mut record: WorkerRecord =
            serde_json::from_str(&std::fs::read_to_string(&other).unwrap()).unwrap();
        record.config_hash = "def".into();
        std::fs::write(&other, serde_json::to_vec(&record).unwrap()).unwrap();
        let error = merge_dirs(&[dir.path().to_path_buf()]).unwrap_err();
        assert!(
            error.to_string().contains("another configuration"),
            "{error}"
        );

        record.config_hash = "abc".into();
        record.worker.index = 0;
        std::fs::write(&other, serde_json::to_vec(&record).unwrap()).unwrap();
        let error = merge_dirs(&[dir.path().to_path_buf()]).unwrap_err();
        assert!(
            error.to_string().contains("two records for worker 0"),
            "{error}"
        );

        let empty = tempfile::tempdir().unwrap();
        let error = merge_dirs(&[empty.path().to_path_buf()]).unwrap_err();
        assert!(
            error.to_string().starts_with("no worker records"),
            "{error}"
        );
    }

    #[test]
    fn a_record_no_worker_writes_is_refused_before_anything_is_allocated() {
        let dir = tempfile::tempdir().unwrap();
        let path = worker(dir.path(), 0, 1, &[1_000], true);
        let good: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let broken = |change: &dyn Fn(&mut serde_json::Value), expected: &str| {
            let mut record = good.clone();
            change(&mut record);
            std::fs::write(&path, serde_json::to_vec(&record).unwrap()).unwrap();
            let error = merge_dirs(&[dir.path().to_path_buf()])
                .unwrap_err()
                .to_string();
            assert!(
                error.contains("not a worker record model-bench writes")
                    && error.contains(expected),
                "{error}"
            );
        };
        broken(&|r| r["shape"]["slices"] = 0.into(), "0 slices");
        broken(&|r| r["shape"]["slices"] = u64::MAX.into(), "slices");
        broken(
            &|r| r["shape"]["series_step"] = serde_json::json!({"secs": 0, "nanos": 0}),
            "a step is at least 1 ms",
        );
        broken(
            &|r| r["tally"]["shape"]["slices"] = 3.into(),
            "its tally is of another window",
        );
    }

    #[test]
    fn a_truncated_log_is_named_and_the_rest_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        worker(dir.path(), 0, 2, &[1_000], true);
        worker(dir.path(), 1, 2, &[2_000], true);
        let log = dir.path().join("worker-1/p.hlog");
        let bytes = std::fs::read(&log).unwrap();
        std::fs::write(&log, &bytes[..bytes.len() - 5]).unwrap();
        let point = &merge_dirs(&[dir.path().to_path_buf()]).unwrap()[0];
        assert_eq!(point.incomplete, [1], "its only interval was cut");
        assert!(
            point.notes[0].contains("worker-1/p.hlog: line ")
                && point.notes[0].contains("cut short"),
            "{:?}",
            point.notes
        );
        assert_eq!(point.tally.ok(), 1);

        // A record whose log is gone altogether: named, unfinished, the other still merged.
        std::fs::remove_file(&log).unwrap();
        let point = &merge_dirs(&[dir.path().to_path_buf()]).unwrap()[0];
        assert_eq!(point.incomplete, [1]);
        assert!(
            point.notes[0].contains("worker-1/p.hlog: missing: worker 1's requests"),
            "{:?}",
            point.notes
        );
        let indexes: Vec<usize> = point.records.iter().map(|r| r.worker.index).collect();
        assert_eq!(indexes, [0], "its counts are not added");
        assert_eq!(point.tally.ok(), 1);
        assert_eq!(point.tally.slice_sums()[0].ok, 1, "nor its slices");
    }
}
