//! Comparisons: benches given the same `compare = "…"`, side by side at each load level, each
//! figure also relative to the first bench's.

use super::cells::{latency_cell, load_label};
use super::table::Table;
use crate::export::format::{mebibytes, percent, rate};
use crate::results::{Percentiles, Report};

/// Benches given the same `compare = "…"`, side by side at each load level they share, each
/// figure also relative to the first bench's.
pub(super) fn comparisons(report: &Report) -> Vec<Table> {
    let mut names: Vec<&str> = Vec::new();
    for bench in &report.benches {
        if let Some(name) = bench.remote.as_ref().and_then(|r| r.compare.as_deref()) {
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    names
        .into_iter()
        .map(|name| {
            let peers: Vec<_> = report
                .benches
                .iter()
                .filter(|b| b.remote.as_ref().and_then(|r| r.compare.as_deref()) == Some(name))
                .collect();
            let mut table = Table::new(
                format!("Comparison: {name} (relative to {})", peers[0].id),
                &[
                    "load",
                    "bench",
                    "protocol",
                    "server",
                    "ok/s",
                    "",
                    "p50",
                    "",
                    "p99",
                    "",
                    "errors",
                    "server RSS max",
                    "client CPU",
                ],
            );
            let level_of = |id: &str| id.rsplit('/').next().unwrap_or_default().to_string();
            let mut levels: Vec<String> = Vec::new();
            for point in peers.iter().flat_map(|b| &b.points) {
                let level = level_of(&point.id);
                if !levels.contains(&level) {
                    levels.push(level);
                }
            }
            let ratio = |value: Option<f64>, first: Option<f64>| match (value, first) {
                (Some(v), Some(f)) if f > 0.0 => format!("{:.2}×", v / f),
                _ => "-".into(),
            };
            for level in &levels {
                let loads: Vec<_> = peers
                    .iter()
                    .filter_map(|bench| {
                        let point = bench.points.iter().find(|p| level_of(&p.id) == *level)?;
                        Some((bench, point.load.as_ref()?))
                    })
                    .collect();
                let Some((_, first)) = loads.first() else {
                    continue;
                };
                let p = |load: &crate::results::LoadPoint, pick: fn(&Percentiles) -> f64| {
                    load.stats.latency.as_ref().map(pick)
                };
                for (bench, load) in &loads {
                    let s = &load.stats;
                    let remote = bench.remote.as_ref();
                    let process = |role: &str| load.processes.iter().find(|u| u.role == role);
                    table.rows.push(vec![
                        load_label(load),
                        bench.id.clone(),
                        remote.map(|r| r.protocol.to_string()).unwrap_or_default(),
                        remote.map(|r| r.url.clone()).unwrap_or_default(),
                        rate(s.throughput_rps),
                        ratio(Some(s.throughput_rps), Some(first.stats.throughput_rps)),
                        latency_cell(s, |l| l.p50),
                        ratio(p(load, |l| l.p50), p(first, |l| l.p50)),
                        latency_cell(s, |l| l.p99),
                        ratio(p(load, |l| l.p99), p(first, |l| l.p99)),
                        percent(100.0 * (1.0 - s.success_rate)),
                        process("server")
                            .map(|u| mebibytes(u.rss_max_bytes))
                            .unwrap_or_else(|| "-".into()),
                        process("client")
                            .and_then(|u| u.cpu_mean_pct)
                            .map(percent)
                            .unwrap_or_else(|| "-".into()),
                    ]);
                }
            }
            table
        })
        .collect()
}
