//! A merged scale-out run's workers (`model-bench merge`): per load point, each worker's share
//! of the requests, its errors, rate and how late it woke for the shared start; missing and
//! unfinished workers and the time all were running as notes.

use super::table::Table;
use crate::export::format::rate;
use crate::results::Report;

pub(super) fn workers(report: &Report) -> Option<Table> {
    let scaleout = report.scaleout.as_ref()?;
    let mut table = Table::new(
        format!(
            "Workers ({} load machines, merged{})",
            scaleout.workers,
            if scaleout.partial { "; PARTIAL" } else { "" }
        ),
        &[
            "point",
            "worker",
            "identity",
            "requests",
            "ok",
            "errors",
            "sent/s",
            "woke late",
            "finished",
        ],
    );
    let count = |n: Option<u64>| n.map_or_else(|| "-".into(), |n| n.to_string());
    for point in &scaleout.points {
        for worker in &point.workers {
            table.rows.push(vec![
                point.point.clone(),
                worker.index.to_string(),
                worker.identity.clone(),
                count(worker.requests),
                count(worker.ok),
                count(worker.errors),
                worker.sent_rps.map_or_else(|| "-".into(), rate),
                worker
                    .wake_lag_ms
                    .map_or_else(|| "-".into(), |ms| format!("{ms:.1} ms")),
                if worker.complete { "yes" } else { "NO" }.into(),
            ]);
        }
        if !point.missing.is_empty() {
            table.notes.push(format!(
                "{}: no output of worker(s) {:?}: its figures are of fewer requests than planned, not scaled up",
                point.point, point.missing
            ));
        }
        if let Some(seconds) = point.all_running_s {
            table.notes.push(format!(
                "{}: all workers were sending for {seconds:.2} s",
                point.point
            ));
        }
        table.notes.extend(
            point
                .notes
                .iter()
                .map(|note| format!("{}: {note}", point.point)),
        );
    }
    Some(table)
}
