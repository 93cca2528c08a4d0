//! The bench binary as one worker of a scale-out run (issue 16): read from the environment a
//! Kubernetes Indexed Job gives its pods (or the same variables set by hand) before any bench
//! runs, it makes every remote bench send only this worker's share of its load, and holds the
//! first load until the shared start. Every later load point starts at an instant all workers
//! compute alike — the previous point's planned start plus its warm-up, its window and a gap
//! (`MODEL_BENCH_POINT_GAP`, default 2 s) — so the workers' points stay together however long
//! each took to drain. Each load point leaves, in `<output>/worker-<index>/`, an
//! HdrHistogram interval log (`<point>.hlog`, appended step by step) and a small JSON of its
//! counts and identity (`<point>.json`, written atomically: `complete: false` when the point
//! starts, `true` when it is done) for `model-bench merge`. Without those variables it changes
//! nothing.

use std::cell::{Cell, OnceCell};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::remote::load::{IntervalLogTarget, LoadPlan, PointTally, WorkerShare};
use crate::remote::scaleout::barrier::sleep_until;
use crate::remote::scaleout::record::{
    HistogramShape, WorkerId, WorkerRecord, WorkerSummary, WORKER_SCHEMA,
};
use crate::remote::scaleout::{log_files, StartBarrier};

/// This process's part in a run from several machines; [`WorkerMode::default`] is the whole
/// run in one process.
#[derive(Debug, Default)]
pub struct WorkerMode {
    /// Which share of each load this worker sends; `None`: all of it.
    pub share: Option<WorkerShare>,
    barrier: Option<StartBarrier>,
    /// The barrier's outcome, once waited for: how late this worker woke, or why it may not run.
    started: OnceCell<Result<Duration, String>>,
    /// Where this worker's point files go (`<output>/worker-<index>`).
    dir: Option<PathBuf>,
    /// What the interval logs count from: the shared start, else this process's start.
    base_time: Option<SystemTime>,
    /// Also print each file for the merge to stdout (`MODEL_BENCH_WORKER_STDOUT=1`), for runs
    /// whose results come back through `kubectl logs` rather than a shared volume.
    to_stdout: bool,
    /// Between one point's planned end (its start, warm-up and window) and the next one's
    /// planned start: time for the last responses and the next bench's setup.
    point_gap: Duration,
    /// The planned start of the next load point, once a first point has started.
    next_start: Cell<Option<SystemTime>>,
    /// How late the current point started against its planned start.
    point_lag: Cell<Option<Duration>>,
}

/// The variable that sets the gap between load points of a worker with a shared start.
pub const POINT_GAP_VAR: &str = "MODEL_BENCH_POINT_GAP";
/// The gap when the variable is not set.
pub const DEFAULT_POINT_GAP: Duration = Duration::from_secs(2);

impl WorkerMode {
    /// The mode the environment describes; an error (for the user, before any load) when its
    /// variables do not describe one worker or one start.
    pub fn from_env(env: impl Fn(&str) -> Option<String>) -> Result<WorkerMode, String> {
        let share = WorkerShare::from_env(&env).map_err(|e| e.to_string())?;
        let barrier = StartBarrier::from_env(&env).map_err(|e| e.to_string())?;
        let to_stdout = match env(log_files::STDOUT_VAR).as_deref() {
            None | Some("" | "0") => false,
            Some("1") => true,
            Some(other) => {
                return Err(format!(
                    "{}=`{other}`: 1 prints this worker's files to stdout, 0 does not",
                    log_files::STDOUT_VAR
                ))
            }
        };
        // Read only by a worker: a stray value does not stop a run of one process.
        let point_gap = match env(POINT_GAP_VAR).filter(|_| share.is_some()) {
            None => DEFAULT_POINT_GAP,
            Some(text) => crate::duration_grammar::parse_duration(text.trim())
                .map(Duration::from_nanos)
                .map_err(|e| format!("{POINT_GAP_VAR}=`{text}`: {e}"))?,
        };
        Ok(WorkerMode {
            share,
            barrier,
            started: OnceCell::new(),
            dir: None,
            base_time: Some(barrier.map_or_else(SystemTime::now, |barrier| barrier.at)),
            to_stdout,
            point_gap,
            next_start: Cell::new(None),
            point_lag: Cell::new(None),
        })
    }

    /// Puts this worker's point files under `output` (the run's output directory).
    pub fn with_output(mut self, output: &Path) -> Self {
        if let Some(share) = self.share {
            self.dir = Some(output.join(format!("worker-{}", share.index)));
        }
        self
    }

    /// A line for the terminal when this is a worker, `None` otherwise.
    pub fn describe(&self) -> Option<String> {
        let share = self.share?;
        Some(format!(
            "worker {} of {}: each remote bench sends this worker's share of its load{}",
            share.index,
            share.count,
            match self.barrier {
                Some(barrier) => format!(
                    ", from the shared start {} s after the epoch (late limit {:?})",
                    barrier
                        .at
                        .duration_since(std::time::UNIX_EPOCH)
                        .unwrap_or_default()
                        .as_secs_f64(),
                    barrier.late_limit
                ),
                None => String::new(),
            }
        ))
    }

    /// `plan` as this worker sends it.
    pub fn plan(&self, plan: LoadPlan) -> LoadPlan {
        match self.share {
            Some(share) => plan.for_worker(share),
            None => plan,
        }
    }

    /// `plan` for the load point `point_id` as this worker runs it: its share, and its interval
    /// log; the point's JSON says `complete: false` until [`point_done`](Self::point_done).
    pub fn point_plan(&self, plan: LoadPlan, point_id: &str) -> Result<LoadPlan, String> {
        let (Some(share), Some(dir), Some(base_time)) = (self.share, &self.dir, self.base_time)
        else {
            return Ok(plan);
        };
        std::fs::create_dir_all(dir).map_err(|e| {
            format!(
                "{}: cannot create the worker's directory: {e}",
                dir.display()
            )
        })?;
        self.wait_for_point(&plan);
        let record = self.record(point_id, &plan, None);
        self.write_json(point_id, &record)?;
        Ok(plan.for_worker(share).log_intervals(IntervalLogTarget {
            path: dir.join(format!("{}.hlog", file_stem(point_id))),
            base_time,
        }))
    }

    /// Writes the point's JSON with its tally (but for the histograms its log holds) and
    /// `complete: true`.
    pub fn point_done(
        &self,
        point_id: &str,
        plan: &LoadPlan,
        tally: &PointTally,
    ) -> Result<(), String> {
        if self.share.is_none() || self.dir.is_none() {
            return Ok(());
        }
        let record = self.record(point_id, plan, Some(tally));
        self.write_json(point_id, &record)?;
        if let Some(dir) = self.dir.as_ref().filter(|_| self.to_stdout) {
            let stem = file_stem(point_id);
            for file in [format!("{stem}.hlog"), format!("{stem}.json")] {
                self.print_file(&dir.join(&file), dir.file_name(), &file)?;
            }
        }
        Ok(())
    }

    /// With `MODEL_BENCH_WORKER_STDOUT=1`, prints the run's `results.json` in `output` (the end
    /// of this worker's files in its log).
    pub fn run_done(&self, output: &Path) -> Result<(), String> {
        if self.share.is_none() || !self.to_stdout {
            return Ok(());
        }
        self.print_file(&output.join("results.json"), None, "results.json")
    }

    /// Prints the file at `path` to stdout as `[subdir/]name` of this worker's output.
    fn print_file(
        &self,
        path: &Path,
        subdir: Option<&std::ffi::OsStr>,
        name: &str,
    ) -> Result<(), String> {
        let index = self.share.map_or(0, |share| share.index);
        let bytes =
            std::fs::read(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        let name = match subdir {
            Some(subdir) => format!("{}/{name}", subdir.to_string_lossy()),
            None => name.to_owned(),
        };
        log_files::write_file(&mut std::io::stdout().lock(), index, &name, &bytes)
            .map_err(|e| format!("printing {name} to stdout: {e}"))
    }

    fn write_json(&self, point_id: &str, record: &WorkerRecord) -> Result<(), String> {
        let Some(dir) = &self.dir else {
            return Ok(());
        };
        let path = dir.join(format!("{}.json", file_stem(point_id)));
        let text = serde_json::to_vec_pretty(record).map_err(|e| e.to_string())?;
        crate::export::write_atomic(&path, &text).map_err(|e| e.to_string())
    }

    /// The point's worker record; `tally` once it is done.
    fn record(&self, point_id: &str, plan: &LoadPlan, tally: Option<&PointTally>) -> WorkerRecord {
        let stats = tally.map(PointTally::stats);
        let stats = stats.as_ref();
        let share = self.share.unwrap_or(WorkerShare::ALONE);
        let seconds = |time: SystemTime| {
            time.duration_since(UNIX_EPOCH)
                .map_or(0.0, |since| since.as_secs_f64())
        };
        let (lowest, highest, figures) = crate::remote::load::hdr::SHAPE;
        let now = seconds(SystemTime::now());
        WorkerRecord {
            schema: WORKER_SCHEMA.to_owned(),
            point: point_id.to_owned(),
            worker: WorkerId {
                index: share.index,
                count: share.count,
                identity: identity(),
            },
            config_hash: config_hash(point_id, share.count, plan),
            histograms: HistogramShape {
                lowest_discernible_ns: lowest,
                highest_trackable_ns: highest,
                significant_figures: figures,
            },
            interval_log: format!("{}.hlog", file_stem(point_id)),
            base_time_s: self.base_time.map_or(0.0, seconds),
            start_at_s: self.barrier.map(|barrier| seconds(barrier.at)),
            wake_lag_ms: self
                .point_lag
                .get()
                .or_else(|| {
                    self.started
                        .get()
                        .and_then(|started| started.as_ref().ok().copied())
                })
                .map(|lag| lag.as_secs_f64() * 1e3),
            started_s: stats.map_or(now, |s| now - s.elapsed_s),
            ended_s: stats.map(|_| now),
            shape: plan.tally_shape(),
            complete: tally.is_some(),
            summary: stats.map(|s| WorkerSummary {
                requests: s.requests,
                ok: s.ok,
                errors: s.errors,
                sent_rps: s.sent_rps,
            }),
            tally: tally.cloned(),
        }
    }

    /// With a shared start: holds a load point until its planned start — the shared start for
    /// the first, then the previous planned start plus its warm-up, window and the gap — and
    /// plans the next one. A point reached after its planned start (the one before drained
    /// long, or a scenario ran between) starts at once; its lag is in its record.
    fn wait_for_point(&self, plan: &LoadPlan) {
        let Some(barrier) = self.barrier else {
            return;
        };
        let planned = self.next_start.get().unwrap_or(barrier.at);
        self.point_lag.set(Some(sleep_until(planned)));
        self.next_start.set(Some(
            planned + plan.warm_up + plan.duration + self.point_gap,
        ));
    }

    /// Waits for the shared start the first time it is called (after the first bench's health
    /// check); then, and every later time, says whether this worker may run.
    pub fn wait_for_start(&self) -> Result<(), String> {
        let Some(barrier) = self.barrier else {
            return Ok(());
        };
        self.started
            .get_or_init(|| barrier.wait().map_err(|e| e.to_string()))
            .clone()
            .map(|_| ())
    }
}

/// A point id as a file name: `/` and anything unusual become `_`.
fn file_stem(point_id: &str) -> String {
    point_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Who this worker is, for the merge's worker table (Kubernetes can start two pods for one
/// index): the pod's name where the Downward API gives it, else the host name.
fn identity() -> String {
    ["POD_NAME", "HOSTNAME"]
        .iter()
        .find_map(|var| std::env::var(var).ok().filter(|name| !name.is_empty()))
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|name| name.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into())
}

/// A hash of what every worker of one run must agree on: the point, the worker count and the
/// whole load plan before this worker's share is taken.
fn config_hash(point_id: &str, workers: usize, plan: &LoadPlan) -> String {
    use sha2::{Digest, Sha256};
    let whole = LoadPlan {
        worker: None,
        interval_log: None,
        ..plan.clone()
    };
    let digest = Sha256::digest(format!("{point_id}\n{workers}\n{whole:?}").as_bytes());
    digest
        .iter()
        .take(12)
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_worker_variables_nothing_changes() {
        let mode = WorkerMode::from_env(|_| None).expect("no variables is one process");
        assert_eq!(mode.share, None);
        assert_eq!(mode.describe(), None);
        assert_eq!(mode.wait_for_start(), Ok(()));
        let plan = mode.plan(LoadPlan::closed(4, Duration::from_secs(1)));
        assert_eq!(plan.worker, None);
    }

    #[test]
    fn later_points_start_on_a_plan_every_worker_computes_alike() {
        let at = SystemTime::now() + Duration::from_millis(50);
        let at_text = crate::remote::scaleout::format_rfc3339(at);
        let env = |var: &str| match var {
            "MODEL_BENCH_WORKERS" => Some("2".to_owned()),
            "JOB_COMPLETION_INDEX" => Some("0".to_owned()),
            "MODEL_BENCH_START_AT" => Some(at_text.clone()),
            "MODEL_BENCH_POINT_GAP" => Some("30ms".to_owned()),
            _ => None,
        };
        let mode = WorkerMode::from_env(env).expect("one worker");
        // The instant as the variable carries it (milliseconds).
        let at = mode.barrier.expect("a shared start").at;
        let point =
            LoadPlan::closed(1, Duration::from_millis(40)).warm_up(Duration::from_millis(10));
        mode.wait_for_point(&point);
        assert_eq!(mode.next_start.get(), Some(at + Duration::from_millis(80)));
        assert!(
            mode.point_lag.get().is_some(),
            "every point's lag is recorded"
        );
        // The next point waits for its planned start, whenever this one ended.
        mode.wait_for_point(&point);
        assert!(SystemTime::now() >= at + Duration::from_millis(80));
        assert_eq!(mode.next_start.get(), Some(at + Duration::from_millis(160)));
        // A point reached late starts at once, the plan unchanged, and its lag says how late.
        std::thread::sleep(Duration::from_millis(200));
        mode.wait_for_point(&point);
        assert_eq!(mode.next_start.get(), Some(at + Duration::from_millis(240)));
        let lag = mode.point_lag.get().expect("a later point's lag");
        assert!(lag >= Duration::from_millis(100), "{lag:?}");

        let bad = |var: &str| match var {
            "MODEL_BENCH_POINT_GAP" => Some("soon".to_owned()),
            "MODEL_BENCH_WORKERS" => Some("2".to_owned()),
            "MODEL_BENCH_WORKER_INDEX" => Some("1".to_owned()),
            _ => None,
        };
        let error = WorkerMode::from_env(bad).expect_err("not a duration");
        assert!(error.contains("MODEL_BENCH_POINT_GAP=`soon`"), "{error}");
        let alone = |var: &str| (var == "MODEL_BENCH_POINT_GAP").then(|| "soon".to_owned());
        assert!(
            WorkerMode::from_env(alone).is_ok(),
            "one process ignores it"
        );
    }

    #[test]
    fn a_late_worker_is_refused_every_time_it_asks() {
        let env = |var: &str| match var {
            "MODEL_BENCH_WORKERS" => Some("2".to_owned()),
            "JOB_COMPLETION_INDEX" => Some("1".to_owned()),
            "MODEL_BENCH_START_AT" => Some("2020-01-01T00:00:00Z".to_owned()),
            _ => None,
        };
        let mode = WorkerMode::from_env(env).expect("one worker");
        assert!(mode
            .describe()
            .is_some_and(|line| line.starts_with("worker 1 of 2")));
        let first = mode.wait_for_start().expect_err("years late");
        assert!(first.contains("late"), "{first}");
        assert_eq!(mode.wait_for_start(), Err(first));
    }
}
