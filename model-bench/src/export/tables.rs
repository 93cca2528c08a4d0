//! The summary's tables, built once from a report and rendered as text or Markdown.

use super::format::{duration_ns, mebibytes, percent, rate, rate_of, signed_percent};
use crate::results::{BenchResult, GpuMemoryUse, LoadPoint, LoadStats, Percentiles, Report};

/// A titled table with optional notes under it.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub title: String,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
    pub notes: Vec<String>,
    /// Every column left-aligned (prose rather than figures).
    pub prose: bool,
}

impl Table {
    fn new(title: impl Into<String>, headers: &[&str]) -> Self {
        Table {
            title: title.into(),
            headers: headers.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
            notes: Vec::new(),
            prose: false,
        }
    }

    /// Plain text with aligned columns.
    pub fn to_text(&self) -> String {
        let widths: Vec<usize> = (0..self.headers.len())
            .map(|col| {
                std::iter::once(&self.headers)
                    .chain(&self.rows)
                    .map(|row| row.get(col).map_or(0, |cell| cell.chars().count()))
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |cells: &[String]| {
            let padded: Vec<String> = cells
                .iter()
                .zip(&widths)
                .enumerate()
                .map(|(i, (cell, width))| {
                    if i == 0 || self.prose {
                        format!("{cell:<width$}")
                    } else {
                        format!("{cell:>width$}")
                    }
                })
                .collect();
            format!("  {}", padded.join("  ").trim_end())
        };
        let mut out = format!("{}\n{}\n", self.title, line(&self.headers));
        for row in &self.rows {
            out.push_str(&line(row));
            out.push('\n');
        }
        for note in &self.notes {
            out.push_str(&format!("  {note}\n"));
        }
        out
    }

    /// A GitHub-flavoured Markdown table under a level-3 heading.
    pub fn to_markdown(&self) -> String {
        let escape = |cell: &String| cell.replace('|', "\\|");
        let mut out = format!("### {}\n\n", self.title);
        out.push_str(&format!(
            "| {} |\n",
            self.headers
                .iter()
                .map(escape)
                .collect::<Vec<_>>()
                .join(" | ")
        ));
        out.push_str(&format!(
            "|{}|\n",
            self.headers
                .iter()
                .enumerate()
                .map(|(i, _)| if i == 0 || self.prose {
                    " --- "
                } else {
                    " ---: "
                })
                .collect::<Vec<_>>()
                .join("|")
        ));
        for row in &self.rows {
            out.push_str(&format!(
                "| {} |\n",
                row.iter().map(escape).collect::<Vec<_>>().join(" | ")
            ));
        }
        if !self.notes.is_empty() {
            out.push('\n');
            for note in &self.notes {
                out.push_str(&format!("- {}\n", note.replace('|', "\\|")));
            }
        }
        out.push('\n');
        out
    }
}

impl Table {
    /// An HTML table under a level-3 heading, notes as a list below it.
    pub fn to_html(&self) -> String {
        use crate::plot::xml_escape;
        let mut out = format!("<h3>{}</h3>\n<table>\n<tr>", xml_escape(&self.title));
        for header in &self.headers {
            out.push_str(&format!("<th>{}</th>", xml_escape(header)));
        }
        out.push_str("</tr>\n");
        for row in &self.rows {
            out.push_str("<tr>");
            for (i, cell) in row.iter().enumerate() {
                let class = if i == 0 || self.prose {
                    ""
                } else {
                    " class=\"num\""
                };
                out.push_str(&format!("<td{class}>{}</td>", xml_escape(cell)));
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</table>\n");
        if !self.notes.is_empty() {
            out.push_str("<ul class=\"notes\">\n");
            for note in &self.notes {
                out.push_str(&format!("<li>{}</li>\n", xml_escape(note)));
            }
            out.push_str("</ul>\n");
        }
        out
    }
}

/// All summary tables of a report, in reading order; tables with nothing to show are left out.
pub fn build(report: &Report) -> Vec<Table> {
    [
        stages(report),
        remote_points(report),
        mixes(report),
        rest_vs_grpc(report),
        comparisons(report),
        sweeps(report),
        cold_vs_warm(report),
        breakdowns(report),
        gpu_usage(report),
        server_breakdowns(report),
        server_metrics(report),
        processes(report),
        scenarios(report),
        recommendations(report),
        skipped(report),
        failures(report),
    ]
    .into_iter()
    .flatten()
    .filter(|t| !t.rows.is_empty() || !t.notes.is_empty())
    .collect()
}

fn stages(report: &Report) -> Vec<Table> {
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
                change_cell(point.change.as_ref()),
            ]);
        }
    }
    vec![table]
}

fn recommendations(report: &Report) -> Vec<Table> {
    let mut table = Table::new("Recommendations", &["bench", "advice", "because"]);
    table.prose = true;
    for r in &report.recommendations {
        table
            .rows
            .push(vec![r.bench.clone(), r.advice.clone(), r.evidence.clone()]);
    }
    vec![table]
}

/// The mean's change against the baseline, with the verdict when there is one that matters:
/// "+48.2 % regressed".
fn change_cell(change: Option<&crate::results::Change>) -> String {
    use crate::stats::compare::Verdict;
    let Some(change) = change else {
        return "-".into();
    };
    let value = signed_percent(100.0 * change.mean.point);
    match change.verdict {
        Some(verdict @ (Verdict::Regressed | Verdict::Improved | Verdict::WithinNoise)) => {
            format!("{value} {}", verdict.as_str())
        }
        _ => value,
    }
}

/// `c8` as "8 in flight", an open loop as "500/s poisson".
fn load_label(load: &LoadPoint) -> String {
    match (load.concurrency, load.target_rate) {
        (Some(concurrency), _) => format!("{concurrency} in flight"),
        (None, Some(rate_per_s)) => format!(
            "{}/s {}",
            trim_number(rate_per_s),
            load.arrival.as_deref().unwrap_or("")
        )
        .trim_end()
        .to_string(),
        (None, None) => load.mode.clone(),
    }
}

/// One percentile of a load point's latency as a table cell; `-` when nothing succeeded.
fn latency_cell(stats: &LoadStats, pick: fn(&Percentiles) -> f64) -> String {
    stats
        .latency
        .as_ref()
        .map(|l| duration_ns(pick(l)))
        .unwrap_or_else(|| "-".into())
}

fn trim_number(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value}")
    }
}

fn remote_points(report: &Report) -> Vec<Table> {
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
                remote.protocol.clone(),
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
                change_cell(point.change.as_ref()),
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
                bench.id, remote.model, remote.url, remote.server
            ));
        }
    }
    vec![table]
}

/// REST and gRPC benches of the same model in one group, side by side per load level.
fn rest_vs_grpc(report: &Report) -> Vec<Table> {
    crate::results::groups::rest_vs_grpc(report)
        .into_iter()
        .map(|group| {
            let mut table = Table::new(
                format!("REST vs gRPC: {} ({})", group.model, group.group),
                &["load", "bench", "protocol", "ok/s", "p50", "p99", "errors"],
            );
            for level in &group.levels {
                for peer in &group.peers {
                    let Some(load) = group.point(peer, level).and_then(|p| p.load.as_ref()) else {
                        continue;
                    };
                    let s = &load.stats;
                    let latency = |pick| latency_cell(s, pick);
                    table.rows.push(vec![
                        load_label(load),
                        peer.name.clone(),
                        peer.remote
                            .as_ref()
                            .map(|r| r.protocol.clone())
                            .unwrap_or_default(),
                        rate(s.throughput_rps),
                        latency(|l| l.p50),
                        latency(|l| l.p99),
                        s.errors.to_string(),
                    ]);
                }
            }
            table
        })
        .collect()
}

/// Benches given the same `compare = "…"`, side by side at each load level they share, each
/// figure also relative to the first bench's.
fn comparisons(report: &Report) -> Vec<Table> {
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
                        remote.map(|r| r.protocol.clone()).unwrap_or_default(),
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

fn sweeps(report: &Report) -> Vec<Table> {
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

fn cold_vs_warm(report: &Report) -> Vec<Table> {
    let mut table = Table::new(
        "Cold (first call in a fresh process) vs warm",
        &[
            "bench",
            "batch",
            "runs",
            "cold mean",
            "cold p95",
            "first call",
            "warm median",
            "overhead",
            "overhead %",
        ],
    );
    for bench in &report.benches {
        let Some(cold) = &bench.cold else { continue };
        if let Some(s) = &cold.summary {
            table.rows.push(vec![
                bench.id.clone(),
                s.batch.to_string(),
                s.runs.to_string(),
                duration_ns(s.mean_ns),
                duration_ns(s.p95_ns),
                duration_ns(s.first_call_mean_ns),
                s.warm_median_ns
                    .map(duration_ns)
                    .unwrap_or_else(|| "-".into()),
                s.overhead_ns.map(duration_ns).unwrap_or_else(|| "-".into()),
                s.overhead_pct.map(percent).unwrap_or_else(|| "-".into()),
            ]);
        }
        for failure in &cold.failures {
            table.notes.push(format!(
                "{}: cold run failed: {}",
                bench.id,
                first_line(failure)
            ));
        }
    }
    if !table.rows.is_empty() {
        table.notes.push(
            "cold = entering the bench function (setup, e.g. load) through the end of its first call"
                .into(),
        );
    }
    vec![table]
}

fn breakdowns(report: &Report) -> Vec<Table> {
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

fn gpu_usage(report: &Report) -> Vec<Table> {
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

/// Every load run of a bench with the id it is shown under: each steady point's, and a
/// one-run scenario's (under the bench's id).
fn loads(bench: &BenchResult) -> impl Iterator<Item = (&String, &LoadPoint)> {
    let points = bench
        .points
        .iter()
        .filter_map(|point| Some((&point.id, point.load.as_ref()?)));
    let scenario = bench
        .scenario
        .as_ref()
        .and_then(|scenario| Some((&bench.id, scenario.load.as_ref()?)));
    points.chain(scenario)
}

/// A mixed workload's members at each load point: what share of the requests each drew and
/// how each fared, beside the whole.
fn mixes(report: &Report) -> Vec<Table> {
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

/// Where the server spent each request's time (Triton's statistics), beside the client's view.
fn server_breakdowns(report: &Report) -> Vec<Table> {
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
const HEADLINE_METRICS: &[&str] = &[
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
fn server_metrics(report: &Report) -> Vec<Table> {
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

/// The client's and the server's process during each load point.
fn processes(report: &Report) -> Vec<Table> {
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

/// One table per scenario: its phases with their figures, then what the scenario found.
fn scenarios(report: &Report) -> Vec<Table> {
    report
        .benches
        .iter()
        .filter_map(|bench| {
            let scenario = bench.scenario.as_ref()?;
            let mut table = Table::new(
                format!("Scenario: {} ({})", bench.id, scenario.kind),
                &[
                    "phase", "from", "to", "target", "sent", "ok/s", "p50", "p99", "errors", "",
                ],
            );
            let time = |ns: Option<f64>| ns.map(duration_ns).unwrap_or_else(|| "-".into());
            for phase in &scenario.phases {
                table.rows.push(vec![
                    phase.name.clone(),
                    format!("{:.1} s", phase.start_s),
                    format!("{:.1} s", phase.end_s),
                    match phase.concurrency {
                        Some(n) => format!("{n} in flight"),
                        None => rate(phase.rate),
                    },
                    phase.sent.to_string(),
                    rate(phase.throughput_rps),
                    time(phase.p50_ns),
                    time(phase.p99_ns),
                    phase.errors.to_string(),
                    phase
                        .broke
                        .as_deref()
                        .map(|why| format!("broke: {why}"))
                        .unwrap_or_default(),
                ]);
            }
            if let Some(stopped) = scenario
                .load
                .as_ref()
                .and_then(|l| l.stats.stopped.as_ref())
            {
                table.notes.push(stopped.clone());
            }
            if let Some(recovery) = &scenario.recovery {
                let before = duration_ns(recovery.before_p99_ns);
                table.notes.push(format!(
                    "p99 {before} before the spike, {} at its worst",
                    duration_ns(recovery.peak_p99_ns)
                ));
                table.notes.push(match recovery.recovery_s {
                    Some(seconds) => format!(
                        "recovered {seconds:.2} s after the spike (p99 back within {:.0} % of \
                         {before}, to {:.2} s)",
                        recovery.within_pct, recovery.step_s
                    ),
                    None => format!(
                        "not recovered within the run: p99 never stayed within {:.0} % of {before}",
                        recovery.within_pct
                    ),
                });
            }
            let mib = |bytes: f64| format!("{:.1} MiB", bytes / f64::from(1u32 << 20));
            for memory in &scenario.memory {
                let per_request = match (memory.per_in_flight_bytes, memory.mean_in_flight) {
                    (Some(bytes), Some(n)) => {
                        format!("; {} per request in flight ({n:.1} in flight)", mib(bytes))
                    }
                    _ => String::new(),
                };
                let verdict = match (memory.growth_bytes_per_s, memory.leak) {
                    (Some(growth), Some(leak)) => format!(
                        "; {:+.1} MiB/min after the first window: {} (threshold {:.1} MiB/min)",
                        growth * 60.0 / f64::from(1u32 << 20),
                        if leak { "LEAK" } else { "no leak" },
                        memory.leak_threshold_bytes_per_s * 60.0 / f64::from(1u32 << 20)
                    ),
                    _ => "; too short to judge growth after the first window".into(),
                };
                table.notes.push(format!(
                    "{} memory (pid {}): baseline {}, peak {}, last {}{per_request}{verdict}",
                    memory.role,
                    memory.pid,
                    mib(memory.baseline_bytes as f64),
                    mib(memory.peak_bytes as f64),
                    mib(memory.last_bytes as f64),
                ));
            }
            if scenario.kind == "stress" {
                let broke = scenario.phases.iter().find(|p| p.broke.is_some());
                table.notes.push(match (scenario.highest_held, broke) {
                    (Some(held), Some(broke)) => format!(
                        "highest load that held: {}; {} broke it ({})",
                        rate(held),
                        rate(broke.rate),
                        broke.broke.as_deref().unwrap_or_default()
                    ),
                    (Some(held), None) => format!(
                        "every level held, up to {}: raise `max_steps` or `increment` to find \
                         the breaking point",
                        rate(held)
                    ),
                    (None, _) => "the first level already broke the limits".into(),
                });
            }
            Some(table)
        })
        .collect()
}

fn skipped(report: &Report) -> Vec<Table> {
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

fn failures(report: &Report) -> Vec<Table> {
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

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}
