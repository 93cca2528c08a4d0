//! The server's own view of the load: Triton's time per request and the Prometheus metrics scraped
//! during each load point.

use super::cells::loads;
use super::table::Table;
use crate::export::format::{duration_ns, mebibytes, rate};
use crate::results::Report;

/// Where the server spent each request's time (Triton's statistics), beside the client's view.
pub(super) fn server_breakdowns(report: &Report) -> Vec<Table> {
    let mut table = Table::new(
        "Server-side time per request (Triton statistics, warm-up included)",
        &[
            "point",
            "requests",
            "queue",
            "input",
            "infer",
            "output",
            "server total",
            "client service",
            "outside server",
        ],
    );
    let time = |ns: Option<f64>| ns.map(duration_ns).unwrap_or_else(|| "-".into());
    for bench in &report.benches {
        for (id, load) in loads(bench) {
            if let Some(server) = &load.server {
                table.rows.push(vec![
                    id.clone(),
                    server.requests.to_string(),
                    time(server.queue_ns),
                    time(server.compute_input_ns),
                    time(server.compute_infer_ns),
                    time(server.compute_output_ns),
                    duration_ns(server.server_total_ns),
                    time(server.client_service_mean_ns),
                    time(server.outside_server_ns),
                ]);
            }
        }
        // One note per bench: every point of it reads the same server.
        if let Some(note) = loads(bench)
            .filter_map(|(_, load)| load.server_note.as_ref())
            .next()
        {
            table
                .notes
                .push(format!("{}: no server-side breakdown: {note}", bench.id));
        }
    }
    // Notes alone (no server offers the extension) are not worth a table.
    if table.rows.is_empty() {
        table.notes.clear();
    }
    vec![table]
}

/// Series of a server's Prometheus metrics the table shows (results.json keeps every series):
/// GPU utilisation, memory and power under Triton's and DCGM's names, the server process's CPU
/// and memory, and requests inside the server.
pub(super) const HEADLINE_METRICS: &[&str] = &[
    "nv_gpu_utilization",
    "nv_gpu_memory_used_bytes",
    "nv_gpu_power_usage",
    "DCGM_FI_DEV_GPU_UTIL",
    "DCGM_FI_DEV_FB_USED",
    "DCGM_FI_DEV_POWER_USAGE",
    "process_cpu_seconds_total",
    "process_resident_memory_bytes",
    "nv_inference_pending_request_count",
    "nv_inference_request_success",
];

/// The server's Prometheus metrics during each load point: levels of its gauges and rates of
/// its counters.
pub(super) fn server_metrics(report: &Report) -> Vec<Table> {
    let mut table = Table::new(
        "Server metrics during the load (Prometheus)",
        &["point", "metric", "labels", "min", "mean", "max", "rate"],
    );
    let value = |name: &str, v: f64| {
        if name.ends_with("_bytes") {
            mebibytes(v.max(0.0) as u64)
        } else if v.abs() >= 1000.0 || v.fract() == 0.0 {
            format!("{v:.0}")
        } else {
            format!("{v:.3}")
        }
    };
    for bench in &report.benches {
        for (id, load) in loads(bench) {
            let Some(metrics) = &load.metrics else {
                continue;
            };
            for series in metrics
                .series
                .iter()
                .filter(|s| HEADLINE_METRICS.contains(&s.name.as_str()))
            {
                let labels: Vec<String> = series
                    .labels
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                table.rows.push(vec![
                    id.clone(),
                    series.name.clone(),
                    labels.join(","),
                    value(&series.name, series.min),
                    value(&series.name, series.mean),
                    value(&series.name, series.max),
                    series.per_sec.map(rate).unwrap_or_else(|| "-".into()),
                ]);
            }
            if metrics.failed_scrapes > 0 {
                table.notes.push(format!(
                    "{}: {} of {} scrapes of {} failed; first: {}",
                    id,
                    metrics.failed_scrapes,
                    metrics.failed_scrapes + metrics.scrapes,
                    metrics.source,
                    metrics.first_error.as_deref().unwrap_or("-")
                ));
            }
        }
        if let Some(note) = loads(bench)
            .filter_map(|(_, load)| load.metrics_note.as_ref())
            .next()
        {
            table
                .notes
                .push(format!("{}: no server metrics: {note}", bench.id));
        }
    }
    vec![table]
}
