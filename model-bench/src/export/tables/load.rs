//! Remote endpoints under load: each load point's throughput and latency percentiles with its
//! errors and stability, and a mixed workload's members beside the whole.

use super::cells::{change_cell, first_line, latency_cell, load_label};
use super::table::Table;
use crate::export::format::{duration_ns, percent, rate};
use crate::results::Report;

pub(super) fn remote_points(report: &Report) -> Vec<Table> {
    let mut table = Table::new(
        "Remote endpoints (latency from the intended send time; closed loops corrected for coordinated omission)",
        &[
            "bench", "protocol", "load", "ok/s", "ok %", "p50", "p90", "p99", "p99.9", "max",
            "service p99", "late %", "change", "stable",
        ],
    );
    for bench in &report.benches {
        let Some(remote) = &bench.remote else {
            continue;
        };
        for point in &bench.points {
            let Some(load) = &point.load else { continue };
            let s = &load.stats;
            let latency = |pick| latency_cell(s, pick);
            table.rows.push(vec![
                point.id.clone(),
                remote.protocol.to_string(),
                load_label(load),
                rate(s.throughput_rps),
                percent(100.0 * s.success_rate),
                latency(|l| l.p50),
                latency(|l| l.p90),
                latency(|l| l.p99),
                latency(|l| l.p999),
                latency(|l| l.max),
                s.service
                    .as_ref()
                    .map(|l| duration_ns(l.p99))
                    .unwrap_or_else(|| "-".into()),
                s.late_pct.map(percent).unwrap_or_else(|| "-".into()),
                change_cell(bench, point.change.as_ref()),
                load.validity
                    .as_ref()
                    .map(|v| v.label.clone())
                    .unwrap_or_else(|| "-".into()),
            ]);
            if let Some(validity) = load.validity.as_ref().filter(|v| !v.is_valid()) {
                table.notes.push(format!(
                    "{} is UNSTABLE: {}{}",
                    point.id,
                    validity.reasons.join("; "),
                    if validity.trials > 1 {
                        format!(" (after {} trials)", validity.trials)
                    } else {
                        String::new()
                    }
                ));
            }
            if s.errors > 0 {
                let classes: Vec<String> = s
                    .errors_by_class
                    .iter()
                    .map(|(class, count)| format!("{count} × {class}"))
                    .collect();
                let first = s
                    .first_errors
                    .values()
                    .next()
                    .map(|m| format!("; first: {}", first_line(m)))
                    .unwrap_or_default();
                table.notes.push(format!(
                    "{}: {} of {} requests failed ({}){first}",
                    point.id,
                    s.errors,
                    s.requests,
                    classes.join(", ")
                ));
            }
            if let Some(stopped) = &s.stopped {
                table.notes.push(format!("{}: {stopped}", point.id));
            }
            if s.dropped > 0 {
                table.notes.push(format!(
                    "{}: {} arrivals were never sent (the generator fell behind or the run ended)",
                    point.id, s.dropped
                ));
            }
        }
        if !bench.points.is_empty() {
            table.notes.push(format!(
                "{}: {} at {} ({} server)",
                bench.id,
                remote.model,
                remote.url,
                remote.server.as_str()
            ));
        }
    }
    vec![table]
}

/// A mixed workload's members at each load point: what share of the requests each drew and
/// how each fared, beside the whole.
pub(super) fn mixes(report: &Report) -> Vec<Table> {
    let mut table = Table::new(
        "Mixed workload by member",
        &[
            "point", "member", "weight", "share", "sent", "ok/s", "p50", "p99", "errors",
        ],
    );
    let time = |ns: Option<f64>| ns.map(duration_ns).unwrap_or_else(|| "-".into());
    for bench in &report.benches {
        for point in &bench.points {
            let Some(load) = &point.load else { continue };
            if load.mix.is_empty() {
                continue;
            }
            let sent = load.stats.requests.max(1) as f64;
            let rows = load
                .mix
                .iter()
                .map(|m| (m.name.clone(), format!("{}", m.weight), &m.stats))
                .chain(std::iter::once((
                    "(all)".to_string(),
                    String::new(),
                    &load.stats,
                )));
            for (name, weight, stats) in rows {
                table.rows.push(vec![
                    point.id.clone(),
                    name,
                    weight,
                    percent(100.0 * stats.requests as f64 / sent),
                    stats.requests.to_string(),
                    rate(stats.throughput_rps),
                    time(stats.latency.map(|l| l.p50)),
                    time(stats.latency.map(|l| l.p99)),
                    stats.errors.to_string(),
                ]);
            }
        }
    }
    vec![table]
}
