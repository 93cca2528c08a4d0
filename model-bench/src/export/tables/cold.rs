//! Cold vs warm: the first call in a fresh process beside the warm median.

use super::cells::first_line;
use super::table::Table;
use crate::export::format::{duration_ns, percent};
use crate::results::Report;

pub(super) fn cold_vs_warm(report: &Report) -> Vec<Table> {
    let mut table = Table::new(
        "Cold (first call in a fresh process) vs warm",
        &[
            "bench",
            "batch",
            "runs",
            "cold mean",
            "cold p95",
            "first call",
            "warm median",
            "overhead",
            "overhead %",
        ],
    );
    for bench in &report.benches {
        let Some(cold) = &bench.cold else { continue };
        if let Some(s) = &cold.summary {
            table.rows.push(vec![
                bench.id.clone(),
                s.batch.to_string(),
                s.runs.to_string(),
                duration_ns(s.mean_ns),
                duration_ns(s.p95_ns),
                duration_ns(s.first_call_mean_ns),
                s.warm_median_ns
                    .map(duration_ns)
                    .unwrap_or_else(|| "-".into()),
                s.overhead_ns.map(duration_ns).unwrap_or_else(|| "-".into()),
                s.overhead_pct.map(percent).unwrap_or_else(|| "-".into()),
            ]);
        }
        for failure in &cold.failures {
            table.notes.push(format!(
                "{}: cold run failed: {}",
                bench.id,
                first_line(failure)
            ));
        }
    }
    if !table.rows.is_empty() {
        table.notes.push(
            "cold = entering the bench function (setup, e.g. load) through the end of its first call"
                .into(),
        );
    }
    vec![table]
}
