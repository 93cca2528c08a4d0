//! The summary printed at the end of a run.

use super::tables;
use crate::results::Report;

pub fn render(report: &Report) -> String {
    let mut out = String::from("\n==================== model-bench summary ====================\n");
    if report.interrupted {
        out.push_str("(interrupted: showing the benches measured before the stop)\n");
    }
    for table in tables::build(report) {
        out.push('\n');
        out.push_str(&table.to_text());
    }
    out
}
