//! What a scale-out worker writes beside each point's interval log (`<point>.json`): who it
//! is, what configuration it ran, the histograms' shape, when it ran, and its point's tally
//! but for the histograms its log holds. The runner writes it (atomically, `complete: false`
//! from the point's start), the merge reads it.

use serde::{Deserialize, Serialize};

use crate::remote::load::tally::SERIES_DRAIN_STEPS;
use crate::remote::load::{PointTally, TallyShape};

/// The layout version of [`WorkerRecord`].
pub const WORKER_SCHEMA: &str = "model-bench-worker/2";

/// Which worker wrote a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerId {
    /// 0-based index.
    pub index: usize,
    /// Workers in the run.
    pub count: usize,
    /// The pod's name (`POD_NAME`) or the host's: Kubernetes can start two pods for one index.
    pub identity: String,
}

/// The bounds and precision of a worker's histograms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistogramShape {
    /// Lowest discernible value, ns.
    pub lowest_discernible_ns: u64,
    /// Highest trackable value, ns.
    pub highest_trackable_ns: u64,
    /// Significant figures.
    pub significant_figures: u8,
}

/// One worker's record of one load point.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkerRecord {
    /// [`WORKER_SCHEMA`].
    pub schema: String,
    /// The load point's id (`pipeline/bench/level`).
    pub point: String,
    /// Who wrote it.
    pub worker: WorkerId,
    /// A hash of the point's whole configuration: equal on every worker of one run.
    pub config_hash: String,
    /// The histograms' shape: equal on every worker, or they do not add exactly.
    pub histograms: HistogramShape,
    /// The interval log's file name, beside this record.
    pub interval_log: String,
    /// What the log's times count from (seconds since the Unix epoch): the shared start, else
    /// the worker's own start.
    pub base_time_s: f64,
    /// The shared start, when one was given (seconds since the Unix epoch).
    pub start_at_s: Option<f64>,
    /// How late this worker woke for the shared start, ms.
    pub wake_lag_ms: Option<f64>,
    /// When the point started on this worker (seconds since the Unix epoch).
    pub started_s: f64,
    /// When it ended; `None` while it runs.
    pub ended_s: Option<f64>,
    /// The point's latency basis and window, as planned (known from its start).
    pub shape: TallyShape,
    /// Whether the point finished on this worker: `false` from its start, so a worker killed
    /// mid-point leaves a record that says so.
    pub complete: bool,
    /// This worker's own figures, for the merge's table of workers; `None` until done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<WorkerSummary>,
    /// The point's tally: failures by class, dropped arrivals, the measured span, the window's
    /// slices (criterion's samples), the time series, the token streams' counts — all but the
    /// histograms, which are in the interval log; `None` until done. Added over the workers
    /// with the logs' histograms, it is the merged point.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tally: Option<PointTally>,
}

impl WorkerRecord {
    /// Whether the record is one a worker can write: a window shape a run can have, and a
    /// tally of that shape (so a hostile record cannot make a merge allocate without end).
    pub fn check(&self) -> Result<(), String> {
        self.shape.check()?;
        match &self.tally {
            Some(tally) => self.check_tally(tally),
            None => Ok(()),
        }
    }

    /// Whether `tally` (this record's, read on its own) is of the record's shape, with no more
    /// slices and steps than it.
    pub fn check_tally(&self, tally: &PointTally) -> Result<(), String> {
        let max_steps = self.shape.series_steps() + SERIES_DRAIN_STEPS + 1;
        if tally.shape != self.shape {
            return Err("its tally is of another window than the record's".to_owned());
        }
        if tally.slices.len() > self.shape.slices || tally.series.len() > max_steps {
            return Err(format!(
                "its tally has {} slices and {} steps, its window {} and {max_steps}",
                tally.slices.len(),
                tally.series.len(),
                self.shape.slices
            ));
        }
        Ok(())
    }
}

/// What one worker measured of its share of a point.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct WorkerSummary {
    /// Measured requests.
    pub requests: u64,
    /// Of those, the successful ones.
    pub ok: u64,
    /// Of those, the failed ones.
    pub errors: u64,
    /// Requests sent per second of window.
    pub sent_rps: f64,
}
