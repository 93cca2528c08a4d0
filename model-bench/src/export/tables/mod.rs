//! The summary's tables, one module per table kind, built once from a report and rendered as text,
//! Markdown or HTML by [`Table`]. This file only lists the kinds in reading order.

mod breakdown;
mod cells;
mod cold;
mod comparisons;
mod facts;
mod load;
mod protocols;
mod resources;
mod scenario;
mod server_state;
mod servers;
pub(crate) mod setup;
mod stages;
mod status;
mod streams;
mod sweep;
mod table;
mod workers;

pub use table::Table;

use crate::results::Report;

/// All summary tables of a report, in reading order; tables with nothing to show are left out.
pub fn build(report: &Report) -> Vec<Table> {
    [
        setup::busy_machine(report),
        stages::stages(report),
        workers::workers(report).into_iter().collect(),
        load::remote_points(report),
        load::mixes(report),
        streams::token_streams(report),
        protocols::rest_vs_grpc(report),
        comparisons::comparisons(report),
        setup::setup_changes(report),
        sweep::sweeps(report),
        cold::cold_vs_warm(report),
        breakdown::breakdowns(report),
        resources::gpu_usage(report),
        servers::server_breakdowns(report),
        servers::server_metrics(report),
        server_state::server_state(report),
        server_state::where_time_went(report),
        resources::processes(report),
        scenario::scenarios(report),
        facts::what_ran(report),
        status::recommendations(report),
        status::skipped(report),
        status::failures(report),
    ]
    .into_iter()
    .flatten()
    .filter(|t| !t.rows.is_empty() || !t.notes.is_empty())
    .collect()
}
