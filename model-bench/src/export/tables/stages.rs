//! The stages table: every local bench's time per call at each batch size, with its confidence
//! interval, throughput and change against the baseline.

use super::cells::change_cell;
use super::table::Table;
use crate::export::format::{duration_ns, rate};
use crate::results::Report;

pub(super) fn stages(report: &Report) -> Vec<Table> {
    let mut table = Table::new(
        "Stages (time per call)",
        &[
            "bench", "stage", "device", "batch", "median", "95% CI", "mean", "std dev", "items/s",
            "change",
        ],
    );
    for bench in report.benches.iter().filter(|b| b.remote.is_none()) {
        for point in &bench.points {
            let e = &point.estimates;
            table.rows.push(vec![
                point.id.clone(),
                bench.stage.clone(),
                bench.device.clone(),
                point.batch.to_string(),
                duration_ns(e.median.point),
                format!(
                    "[{}, {}]",
                    duration_ns(e.median.lower),
                    duration_ns(e.median.upper)
                ),
                duration_ns(e.mean.point),
                duration_ns(e.std_dev.point),
                point.items_per_sec.map(rate).unwrap_or_else(|| "-".into()),
                change_cell(bench, point.change.as_ref()),
            ]);
        }
    }
    vec![table]
}
