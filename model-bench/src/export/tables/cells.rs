//! Cells and row sources shared by several table kinds: the change against the baseline, a load
//! level's label, a latency percentile, an error's first line, and every load run of a bench.

use crate::export::format::{duration_ns, signed_percent};
use crate::results::{BenchResult, LoadPoint, LoadStats, Percentiles};

/// The mean's change against the baseline, with the verdict when there is one that matters:
/// "+48.2 % regressed", and "(other setup)" when the baseline ran another runtime, model or
/// server than `bench` did.
pub(super) fn change_cell(bench: &BenchResult, change: Option<&crate::results::Change>) -> String {
    use crate::results::Verdict;
    let Some(change) = change else {
        return "-".into();
    };
    let value = signed_percent(100.0 * change.mean.point);
    let cell = match change.verdict {
        Some(verdict @ (Verdict::Regressed | Verdict::Improved | Verdict::WithinNoise)) => {
            format!("{value} {}", verdict.as_str())
        }
        _ => value,
    };
    let other_setup = bench
        .setup_changes
        .iter()
        .any(|c| c.kind == crate::results::ChangeKind::Runtime);
    if other_setup {
        format!("{cell} (other setup)")
    } else {
        cell
    }
}

/// `c8` as "8 in flight", an open loop as "500/s poisson".
pub(super) fn load_label(load: &LoadPoint) -> String {
    match (load.concurrency, load.target_rate) {
        (Some(concurrency), _) => format!("{concurrency} in flight"),
        (None, Some(rate_per_s)) => format!(
            "{}/s {}",
            trim_number(rate_per_s),
            load.arrival.as_deref().unwrap_or("")
        )
        .trim_end()
        .to_string(),
        (None, None) => load.mode.as_str().to_owned(),
    }
}

/// One percentile of a load point's latency as a table cell; `-` when nothing succeeded.
pub(super) fn latency_cell(stats: &LoadStats, pick: fn(&Percentiles) -> f64) -> String {
    stats
        .latency
        .as_ref()
        .map(|l| duration_ns(pick(l)))
        .unwrap_or_else(|| "-".into())
}

pub(super) fn trim_number(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value}")
    }
}

/// Every load run of a bench with the id it is shown under: each steady point's, and a
/// one-run scenario's (under the bench's id).
pub(super) fn loads(bench: &BenchResult) -> impl Iterator<Item = (&String, &LoadPoint)> {
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

pub(super) fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}
