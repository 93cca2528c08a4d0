//! Scenarios: one table per scenario with its phases, then what it found (recovery after a spike,
//! memory growth, the highest load that held).

use super::table::Table;
use crate::export::format::{duration_ns, rate};
use crate::results::Report;

/// One table per scenario: its phases with their figures, then what the scenario found.
pub(super) fn scenarios(report: &Report) -> Vec<Table> {
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
