//! The load generator: closed loop (N requests in flight) and open loop (constant or seeded
//! Poisson arrivals at a target rate, with a cap on requests in flight). Open-loop latency is
//! measured from each request's intended send time, so a stalled server cannot hide behind a
//! client that stopped sending (coordinated omission); the service time is kept beside it.
//! Every run is bounded by its duration (and optionally a request count) plus one request
//! timeout to drain.

mod closed;
pub(crate) mod hdr;
mod intervals;
pub mod metrics;
mod open;
mod open_files;
mod plan;
pub mod scenario;
pub(crate) mod streams;
pub(crate) mod summary;
mod threads;

use std::sync::Arc;

use crate::remote::client::Client;
use crate::results::{LoadStats, MixMemberStats};
pub use intervals::IntervalLogTarget;
use metrics::Recorder;
pub use plan::{
    Arrival, ConcurrencyStep, LoadMode, LoadPlan, RateStep, DEFAULT_MAX_IN_FLIGHT, MAX_BACKLOG,
};
pub use summary::LatencyBasis;
pub use threads::{cores, load_threads};

/// A finished run: the raw recording and its statistics (of the whole run, and of each member
/// of a mixed workload). What was read beside the run joins them in a `LoadPoint` in
/// `remote::watch`.
pub struct LoadRun {
    /// The raw recording of the measured requests: histograms, slices, time series, errors.
    pub recorder: Recorder,
    /// The statistics of the whole run.
    pub stats: LoadStats,
    /// A mixed workload: each member's own figures (`stats` is the whole mix).
    pub mix: Vec<MixMemberStats>,
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
    let (log, intervals, log_error) = match &plan.interval_log {
        Some(target) => match intervals::IntervalWriter::start(target, plan.series_step) {
            Ok((writer, recorder)) => (Some(writer), Some(recorder), None),
            Err(message) => (None, None, Some(message)),
        },
        None => (None, None, None),
    };
    let (mut recorder, dropped, basis) = match plan.mode {
        LoadMode::Closed { concurrency } => (
            closed::closed_loop(client, plan, concurrency, intervals).await,
            0,
            LatencyBasis::CorrectedClosedLoop,
        ),
        LoadMode::Open {
            rate,
            arrival,
            seed,
        } => {
            let (recorder, dropped) =
                open::open_loop(client, plan, rate, arrival, seed, intervals).await;
            (recorder, dropped, LatencyBasis::IntendedSend)
        }
    };
    // The last step to the log, then the log's writer done: an error of either is the run's.
    if let Some(mut intervals) = recorder.intervals.take() {
        intervals.finish();
    }
    let log_error = match log {
        Some(writer) => tokio::task::spawn_blocking(move || writer.finish())
            .await
            .unwrap_or_else(|_| Err("the interval log's writer did not finish".into()))
            .err(),
        None => log_error,
    };
    if let Some(message) = log_error {
        recorder.record_error(crate::remote::error::RequestError::new(
            crate::remote::error::ErrorClass::Io,
            message,
        ));
    }
    let stats = summary::summarize(&recorder, basis, dropped, plan.is_open());
    let mix: Vec<MixMemberStats> = members
        .into_iter()
        .zip(&recorder.members)
        .map(|((name, weight), member)| MixMemberStats {
            name,
            weight,
            stats: summary::summarize(member, basis, 0, plan.is_open()),
        })
        .collect();
    LoadRun {
        recorder,
        stats,
        mix,
    }
}
