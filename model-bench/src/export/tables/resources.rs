//! Resources during the benches: the GPUs (NVML) and the client's and server's processes (CPU,
//! memory, threads).

use super::cells::loads;
use super::table::Table;
use crate::export::format::{mebibytes, percent};
use crate::results::Report;

pub(super) fn gpu_usage(report: &Report) -> Vec<Table> {
    let mut table = Table::new(
        "GPU during the bench (NVML, every 100 ms; a local server's per load point)",
        &[
            "bench / point",
            "gpu",
            "samples",
            "util mean",
            "util max",
            "SM MHz mean",
            "SM MHz min",
            "temp max",
            "power mean",
            "power max",
            "throttled",
        ],
    );
    let or_dash = |value: Option<String>| value.unwrap_or_else(|| "-".into());
    for bench in &report.benches {
        // A stage's GPUs over the bench; a local server's GPUs over each load point.
        let point_usage =
            loads(bench).flat_map(|(id, load)| load.gpu.iter().map(move |usage| (id, usage)));
        let usages = bench.gpu_usage.iter().map(|usage| (&bench.id, usage));
        for (id, usage) in usages.chain(point_usage) {
            table.rows.push(vec![
                id.clone(),
                usage.index.to_string(),
                usage.samples.to_string(),
                or_dash(usage.utilization_mean_pct.map(percent)),
                or_dash(usage.utilization_max_pct.map(|u| format!("{u} %"))),
                or_dash(usage.sm_clock_mean_mhz.map(|c| format!("{c:.0}"))),
                or_dash(usage.sm_clock_min_mhz.map(|c| c.to_string())),
                or_dash(usage.temperature_max_c.map(|t| format!("{t} °C"))),
                or_dash(usage.power_mean_w.map(|w| format!("{w:.0} W"))),
                or_dash(usage.power_max_w.map(|w| format!("{w:.0} W"))),
                format!("{}/{}", usage.throttled_samples, usage.samples),
            ]);
            if usage.throttled_samples > 0 {
                table.notes.push(format!(
                    "{} GPU {}: the clock was throttled in {} of {} samples ({}): its figures may \
                     be lower than the GPU can do",
                    id,
                    usage.index,
                    usage.throttled_samples,
                    usage.samples,
                    usage.throttle_reasons.join(", ")
                ));
            }
        }
        if let Some(note) = &bench.gpu_usage_note {
            table
                .notes
                .push(format!("{}: no GPU figures: {note}", bench.id));
        }
    }
    vec![table]
}

/// The client's and the server's process during each load point.
pub(super) fn processes(report: &Report) -> Vec<Table> {
    let mut table = Table::new(
        "Processes during the load (every 100 ms)",
        &[
            "point",
            "process",
            "pid",
            "CPU mean",
            "CPU max",
            "RSS first",
            "RSS max",
            "RSS last",
            "RSS slope",
            "threads",
        ],
    );
    let or_dash = |value: Option<String>| value.unwrap_or_else(|| "-".into());
    for bench in &report.benches {
        for (id, load) in loads(bench) {
            for usage in &load.processes {
                table.rows.push(vec![
                    id.clone(),
                    if usage.exited {
                        format!("{} (exited)", usage.role)
                    } else {
                        usage.role.clone()
                    },
                    usage.pid.to_string(),
                    or_dash(usage.cpu_mean_pct.map(percent)),
                    or_dash(usage.cpu_max_pct.map(percent)),
                    mebibytes(usage.rss_first_bytes),
                    mebibytes(usage.rss_max_bytes),
                    mebibytes(usage.rss_last_bytes),
                    or_dash(
                        usage
                            .rss_slope_bytes_per_s
                            .map(|slope| format!("{:+.1} MiB/s", slope / f64::from(1u32 << 20))),
                    ),
                    or_dash(usage.threads_max.map(|t| t.to_string())),
                ]);
            }
        }
    }
    vec![table]
}
