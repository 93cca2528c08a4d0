//! What a merged scale-out run adds to `results.json` (`scaleout`): the workers behind each
//! load point, which were missing or did not finish, and when all of them were running. Plain
//! data; `model-bench merge` fills it.

use serde::{Deserialize, Serialize};

/// The run's workers, point by point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScaleoutInfo {
    /// Workers the run had.
    pub workers: usize,
    /// Whether some point lacks a worker or a worker's end (its figures are then of fewer
    /// requests than planned, never scaled up).
    pub partial: bool,
    /// One entry per merged load point.
    pub points: Vec<ScaleoutPoint>,
}

/// One load point's workers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScaleoutPoint {
    /// The point's id.
    pub point: String,
    /// Worker indexes with no record of this point.
    pub missing: Vec<usize>,
    /// Worker indexes that did not finish it (or whose log was cut).
    pub incomplete: Vec<usize>,
    /// How long all workers were sending at once, s; `None` when some never finished.
    pub all_running_s: Option<f64>,
    /// What was wrong with logs that were kept.
    pub notes: Vec<String>,
    /// Each worker's own figures, by index.
    pub workers: Vec<WorkerRow>,
}

/// One worker's figures of one point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerRow {
    /// 0-based index.
    pub index: usize,
    /// Pod or host name.
    pub identity: String,
    /// Measured requests of its share.
    pub requests: Option<u64>,
    /// Of those, successful.
    pub ok: Option<u64>,
    /// Of those, failed.
    pub errors: Option<u64>,
    /// Requests it sent per second.
    pub sent_rps: Option<f64>,
    /// How late it woke for the shared start, ms.
    pub wake_lag_ms: Option<f64>,
    /// Whether it finished the point.
    pub complete: bool,
}
