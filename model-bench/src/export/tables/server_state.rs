//! What an LLM server was doing during each load point ("Server state during the load": its
//! queue, batch, KV cache, caches and token rates, and the energy per token) and where each
//! point's TTFT and end-to-end time went, part by part.

use super::cells::loads;
use super::table::Table;
use crate::export::format::{duration_ns, percent, rate};
use crate::results::{Level, Report, ServerState, TimeBreakdown};

/// One row per load point whose server's metrics carried a known LLM server's names, or whose
/// energy was read.
pub(super) fn server_state(report: &Report) -> Vec<Table> {
    let mut table = Table::new(
        "Server state during the load",
        &[
            "point",
            "server",
            "running mean / max",
            "waiting mean / max",
            "KV cache mean / max",
            "preemptions",
            "prefix cache hits",
            "spec. accepted",
            "prompt tok/s",
            "output tok/s",
            "requests server / client",
            "J per output token",
        ],
    );
    let dash = || "-".to_string();
    let count =
        |level: Option<Level>| level.map_or_else(dash, |l| format!("{:.1} / {:.0}", l.mean, l.max));
    let share = |level: Option<Level>| {
        level.map_or_else(dash, |l| {
            format!("{} / {}", percent(l.mean * 100.0), percent(l.max * 100.0))
        })
    };
    let fraction = |value: Option<f64>| value.map_or_else(dash, |v| percent(v * 100.0));
    for bench in &report.benches {
        for (id, load) in loads(bench) {
            let energy = load.energy.as_ref();
            let joules = energy.and_then(|e| e.joules_per_output_token);
            let Some(state) = &load.server_state else {
                if let Some(joules) = joules {
                    // Only the energy is known: every column between is empty.
                    let mut row = vec![id.clone()];
                    row.resize(table.headers.len() - 1, dash());
                    row.push(format!("{joules:.3} J"));
                    table.rows.push(row);
                }
                continue;
            };
            let requests = state
                .agreement
                .iter()
                .find(|a| a.figure == "requests")
                .map_or_else(dash, |a| format!("{:.0} / {:.0}", a.server, a.client));
            table.rows.push(vec![
                id.clone(),
                state.server.clone(),
                count(state.running),
                count(state.waiting),
                share(state.kv_cache_usage),
                state.preemptions.map_or_else(dash, |p| format!("{p:.0}")),
                fraction(state.prefix_cache_hit_rate),
                fraction(state.spec_decode_acceptance),
                state.prompt_tokens_per_s.map_or_else(dash, rate),
                state.generation_tokens_per_s.map_or_else(dash, rate),
                requests,
                joules.map_or_else(dash, |j| format!("{j:.3} J")),
            ]);
            for check in state.agreement.iter().filter(|a| !a.agrees) {
                table.notes.push(format!(
                    "{id}: the server and the client disagree on {}: server {:.4} vs client \
                     {:.4} (tolerance {:.4}): {}",
                    check.figure,
                    check.server,
                    check.client,
                    check.tolerance,
                    check.note.as_deref().unwrap_or("")
                ));
            }
            for note in &state.notes {
                table.notes.push(format!("{id}: {note}"));
            }
        }
        if let Some(note) = loads(bench)
            .filter_map(|(_, load)| load.energy.as_ref()?.note.as_ref())
            .next()
        {
            table.notes.push(format!("{}: energy {note}", bench.id));
        }
    }
    if table.rows.is_empty() {
        table.notes.clear();
    }
    vec![table]
}

/// Which breakdown of a server's state a table shows.
type BreakdownOf = fn(&ServerState) -> Option<&TimeBreakdown>;

/// The TTFT and end-to-end breakdowns of every point that has them, part by part.
pub(super) fn where_time_went(report: &Report) -> Vec<Table> {
    let pick: [(&str, BreakdownOf); 2] = [
        ("Where TTFT went", |s| s.ttft_breakdown.as_ref()),
        ("Where the end-to-end time went", |s| {
            s.e2e_breakdown.as_ref()
        }),
    ];
    pick.iter()
        .map(|(title, breakdown_of)| {
            let mut table = Table::new(
                *title,
                &["point", "part", "mean", "share", "own p90", "how", "from"],
            );
            let mut missing = Vec::new();
            for bench in &report.benches {
                for (id, load) in loads(bench) {
                    let Some(breakdown) = load.server_state.as_ref().and_then(breakdown_of) else {
                        continue;
                    };
                    rows(&mut table, id, breakdown);
                    if !breakdown.not_exported.is_empty() && missing.is_empty() {
                        missing.push(format!(
                            "{id}: not exported by the server (inside a wider part): {}",
                            breakdown.not_exported.join(", ")
                        ));
                    }
                }
            }
            table.notes.extend(missing);
            table
        })
        .collect()
}

fn rows(table: &mut Table, id: &str, breakdown: &TimeBreakdown) {
    let share = |ns: f64| {
        if breakdown.client_mean_ns > 0.0 {
            percent(ns / breakdown.client_mean_ns * 100.0)
        } else {
            "-".into()
        }
    };
    table.rows.push(vec![
        id.to_string(),
        "client (the whole)".into(),
        duration_ns(breakdown.client_mean_ns),
        percent(100.0),
        breakdown
            .client_p90_ns
            .map_or_else(|| "-".into(), duration_ns),
        "measured".into(),
        "client".into(),
    ]);
    for part in &breakdown.parts {
        table.rows.push(vec![
            String::new(),
            part.name.clone(),
            duration_ns(part.mean_ns),
            share(part.mean_ns),
            part.p90_ns.map_or_else(|| "-".into(), duration_ns),
            part.kind.clone(),
            part.source.clone(),
        ]);
    }
}
