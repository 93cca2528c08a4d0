//! The run's prose tables: recommendations, skipped benches and failures.

use super::cells::first_line;
use super::table::Table;
use crate::results::Report;

pub(super) fn recommendations(report: &Report) -> Vec<Table> {
    let mut table = Table::new("Recommendations", &["bench", "advice", "because"]);
    table.prose = true;
    for r in &report.recommendations {
        table
            .rows
            .push(vec![r.bench.clone(), r.advice.clone(), r.evidence.clone()]);
    }
    vec![table]
}

pub(super) fn skipped(report: &Report) -> Vec<Table> {
    let mut table = Table::new("Skipped", &["bench", "device", "why"]);
    table.prose = true;
    for bench in report
        .benches
        .iter()
        .filter(|b| b.status == crate::results::BenchStatus::Skipped)
    {
        table.rows.push(vec![
            bench.id.clone(),
            bench.device.clone(),
            first_line(bench.error.as_deref().unwrap_or("")).into(),
        ]);
    }
    vec![table]
}

pub(super) fn failures(report: &Report) -> Vec<Table> {
    let mut table = Table::new("Failures", &["bench", "status", "error"]);
    for bench in report.failed_benches() {
        table.rows.push(vec![
            bench.id.clone(),
            "failed".into(),
            first_line(bench.error.as_deref().unwrap_or("")).into(),
        ]);
    }
    vec![table]
}
