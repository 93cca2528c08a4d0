//! Batch sweeps: latency, per-item time, throughput and GPU memory at each batch size, with the
//! best batch, the knee and the ceiling.

use super::cells::first_line;
use super::table::Table;
use crate::export::format::{duration_ns, mebibytes, rate, rate_of, signed_percent};
use crate::results::{GpuMemoryUse, Report};

pub(super) fn sweeps(report: &Report) -> Vec<Table> {
    report
        .benches
        .iter()
        .filter_map(|bench| {
            let sweep = bench.sweep.as_ref()?;
            let gpu_memory = |batch: usize| {
                bench
                    .points
                    .iter()
                    .find(|p| p.batch == batch)
                    .and_then(|p| p.gpu_memory.as_ref())
            };
            let with_memory = sweep.points.iter().any(|p| gpu_memory(p.batch).is_some());
            let mut columns = vec!["batch", "latency", "per item", "items/s"];
            if with_memory {
                columns.extend(["GPU mem before", "peak", "after"]);
            }
            columns.push("");
            let mut table = Table::new(format!("Batch sweep: {}", bench.id), &columns);
            for point in &sweep.points {
                let mut marks = Vec::new();
                if sweep.best_batch == Some(point.batch) {
                    marks.push("best");
                }
                if sweep.knee.as_ref().map(|k| k.batch) == Some(point.batch) {
                    marks.push("knee");
                }
                let mut row = vec![
                    point.batch.to_string(),
                    duration_ns(point.latency_ns),
                    duration_ns(point.latency_per_item_ns),
                    rate(point.items_per_sec),
                ];
                if with_memory {
                    let memory = gpu_memory(point.batch);
                    let cell = |bytes: fn(&GpuMemoryUse) -> u64| {
                        memory.map_or_else(|| "-".into(), |m| mebibytes(bytes(m)))
                    };
                    row.extend([
                        cell(|m| m.before_bytes),
                        cell(|m| m.peak_bytes),
                        cell(|m| m.after_bytes),
                    ]);
                }
                row.push(marks.join(", "));
                table.rows.push(row);
            }
            if let Some(ceiling) = &sweep.ceiling {
                let mut row = vec![ceiling.batch.to_string(), "failed".into()];
                row.resize(columns.len() - 1, "-".into());
                row.push(
                    if ceiling.out_of_memory {
                        "ceiling: out of memory"
                    } else {
                        "ceiling"
                    }
                    .into(),
                );
                table.rows.push(row);
            }
            if let Some(best) = sweep.best_batch {
                let best_rate = sweep
                    .points
                    .iter()
                    .find(|p| p.batch == best)
                    .map(|p| rate_of(p.items_per_sec, "items"))
                    .unwrap_or_default();
                table
                    .notes
                    .push(format!("best batch: {best} ({best_rate})"));
            }
            match &sweep.knee {
                Some(knee) => table.notes.push(format!(
                    "knee: batch {} (from {}: latency {}, throughput {})",
                    knee.batch,
                    knee.from_batch,
                    signed_percent(100.0 * knee.latency_growth),
                    signed_percent(100.0 * knee.throughput_growth)
                )),
                None => table
                    .notes
                    .push("knee: none (throughput grew faster than latency at every step)".into()),
            }
            if let Some(ceiling) = &sweep.ceiling {
                table.notes.push(format!(
                    "ceiling: batch {} failed: {}",
                    ceiling.batch,
                    first_line(&ceiling.message)
                ));
            }
            if let Some(scope) = sweep
                .points
                .iter()
                .find_map(|p| gpu_memory(p.batch))
                .map(|m| &m.scope)
            {
                table.notes.push(format!(
                    "GPU memory ({}): NVML readings at each point's start, every 10 ms during it, \
                     and at its end; a shorter peak can be missed",
                    if scope == "process" {
                        "this process"
                    } else {
                        "whole device"
                    }
                ));
            }
            Some(table)
        })
        .collect()
}
