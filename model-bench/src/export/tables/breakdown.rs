//! Pipeline breakdowns: each stage's share of a pipeline's time, the bottleneck and what the
//! stages leave unaccounted.

use super::table::Table;
use crate::export::format::{duration_ns, percent, signed_percent};
use crate::results::Report;

pub(super) fn breakdowns(report: &Report) -> Vec<Table> {
    report
        .pipelines
        .iter()
        .map(|b| {
            let mut table = Table::new(
                format!("Pipeline breakdown: {} (batch {})", b.pipeline, b.batch),
                &["stage", "bench", "median", "share"],
            );
            for s in &b.stages {
                let mark = if b.bottleneck.as_deref() == Some(s.bench.as_str()) {
                    " ← bottleneck"
                } else {
                    ""
                };
                table.rows.push(vec![
                    s.stage.clone(),
                    s.bench.clone(),
                    duration_ns(s.median_ns),
                    format!("{}{mark}", percent(s.share_pct)),
                ]);
            }
            table.rows.push(vec![
                "sum of stages".into(),
                String::new(),
                duration_ns(b.sum_ns),
                percent(100.0),
            ]);
            if let Some(e2e) = b.end_to_end_ns {
                table.rows.push(vec![
                    "end-to-end (measured)".into(),
                    String::new(),
                    duration_ns(e2e),
                    String::new(),
                ]);
            }
            if let (Some(unaccounted), Some(e2e)) = (b.unaccounted_ns, b.end_to_end_ns) {
                table.notes.push(format!(
                    "end-to-end minus stages: {} ({} of end-to-end)",
                    duration_ns(unaccounted),
                    signed_percent(100.0 * unaccounted / e2e)
                ));
            }
            if let Some(bottleneck) = &b.bottleneck {
                table.notes.push(format!("bottleneck: {bottleneck}"));
            }
            table
        })
        .collect()
}
