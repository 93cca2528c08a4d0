//! The load generator: closed loop (N requests in flight) and open loop (constant or seeded
//! Poisson arrivals at a target rate, with a cap on requests in flight). Open-loop latency is
//! measured from each request's intended send time, so a stalled server cannot hide behind a
//! client that stopped sending (coordinated omission); the service time is kept beside it.
//! Every run is bounded by its duration (and optionally a request count) plus one request
//! timeout to drain.

mod closed;
// The interval log's format and its reader: a scale-out worker's files, not part of the API.
#[doc(hidden)]
pub mod counts;
pub(crate) mod hdr;
#[doc(hidden)]
pub mod interval_log;
mod intervals;
mod open;
mod open_files;
mod plan;
pub(crate) mod recorder;
pub mod scenario;
mod share;
pub(crate) mod streams;
mod summary;
pub mod tally;
mod threads;

pub use open_files::raise_open_files_limit;

use std::sync::Arc;

use crate::remote::client::Client;
use crate::results::{LoadStats, MixMemberStats};
use crate::stats::stability::WindowFigures;
pub use intervals::IntervalLogTarget;
use intervals::IntervalWriter;
pub use plan::{
    Arrival, ConcurrencyStep, LoadMode, LoadPlan, RateStep, DEFAULT_MAX_IN_FLIGHT, MAX_BACKLOG,
};
use recorder::Recorded;
pub use share::WorkerShare;
pub use streams::{StreamCounts, StreamHistograms, STREAM_TAGS};
pub use summary::LATE_AFTER;
pub use tally::{PointTally, SliceSums, TallyShape};
pub use threads::{cores, load_threads};

/// A finished run: its tally and its statistics (of the whole run, and of each member of a
/// mixed workload). What was read beside the run joins them in a `LoadPoint` in
/// `remote::watch`.
pub struct LoadRun {
    /// The measured requests as an addable value: histograms, slices, time series, errors.
    pub tally: PointTally,
    /// The statistics of the whole run (`tally.stats()`).
    pub stats: LoadStats,
    /// A mixed workload: each member's own figures (`stats` is the whole mix).
    pub mix: Vec<MixMemberStats>,
    /// With windows by count (`LoadPlan::count_windows`): each closed window's figures.
    pub count_windows: Vec<WindowFigures>,
}

impl LoadRun {
    /// The statistics of the whole run.
    pub fn stats(&self) -> &LoadStats {
        &self.stats
    }
}

/// Runs `plan` against `client` on the current tokio runtime.
pub async fn run(client: Arc<Client>, plan: &LoadPlan) -> LoadRun {
    open_files::raise_open_files_limit();
    let members = client.mix_members();
    let (log, log_error) = match &plan.interval_log {
        Some(target) => match IntervalWriter::start(target, plan.series_step) {
            Ok(writer) => (Some(writer), None),
            Err(message) => (None, Some(message)),
        },
        None => (None, None),
    };
    let Recorded {
        mut tally,
        members: member_tallies,
        count_windows,
    } = match plan.mode {
        LoadMode::Closed { concurrency } => {
            closed::closed_loop(client, plan, concurrency, log.as_ref()).await
        }
        LoadMode::Open {
            rate,
            arrival,
            seed,
        } => open::open_loop(client, plan, rate, arrival, seed, log.as_ref()).await,
    };
    // Every recording thread has sent its last step: the log's writer done, an error of it the
    // run's.
    let log_error = match log {
        Some(writer) => tokio::task::spawn_blocking(move || writer.finish())
            .await
            .unwrap_or_else(|_| Err("the interval log's writer did not finish".into()))
            .err(),
        None => log_error,
    };
    if let Some(message) = log_error {
        tally.record_error(crate::remote::error::RequestError::new(
            crate::remote::error::ErrorClass::Io,
            message,
        ));
    }
    let mix: Vec<MixMemberStats> = members
        .into_iter()
        .zip(&member_tallies)
        .map(|((name, weight), member)| MixMemberStats {
            name,
            weight,
            stats: member.stats(),
        })
        .collect();
    LoadRun {
        stats: tally.stats(),
        tally,
        mix,
        count_windows,
    }
}
