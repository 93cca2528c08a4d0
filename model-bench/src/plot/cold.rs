//! Cold vs warm: a fresh process's first call (with and without its setup) against the warm median.

use super::axes::{max_of, time_unit};
use super::bars::grouped_bars;
use super::canvas::{draw, Chart, Series, Spec};
use crate::error::Result;
use crate::results::Report;

pub(super) fn charts(report: &Report) -> Vec<Result<Chart>> {
    let measured: Vec<(String, &crate::results::ColdSummary)> = report
        .benches
        .iter()
        .filter_map(|b| Some((b.id.clone(), b.cold.as_ref()?.summary.as_ref()?)))
        .collect();
    if measured.is_empty() {
        return Vec::new();
    }
    let names = vec![
        "cold (setup + first call)".to_string(),
        "first call".to_string(),
        "warm median".to_string(),
    ];
    let values_ns: Vec<Vec<Option<f64>>> = measured
        .iter()
        .map(|(_, s)| {
            vec![
                Some(s.mean_ns),
                Some(s.first_call_mean_ns),
                s.warm_median_ns,
            ]
        })
        .collect();
    let (divisor, unit) = time_unit(max_of(values_ns.iter().flatten().flatten().copied(), 1.0));
    let values: Vec<Vec<Option<f64>>> = values_ns
        .iter()
        .map(|row| row.iter().map(|v| v.map(|ns| ns / divisor)).collect())
        .collect();
    let categories: Vec<String> = measured
        .iter()
        .map(|(id, s)| format!("{id} @{}", s.batch))
        .collect();
    let log_y = super::bars::bars_use_log(&values);
    let mut spec = Spec::new(
        "cold",
        "vs_warm",
        "Cold vs warm",
        format!(
            "Mean time in {unit}{} of entering the bench in a fresh process through its first \
             call, of the first call alone, and criterion's warm median, per bench at its cold \
             batch size.",
            if log_y { " (logarithmic axis)" } else { "" }
        ),
    );
    spec.series = names
        .iter()
        .enumerate()
        .map(|(member, name)| Series {
            name: name.clone(),
            points: values
                .iter()
                .enumerate()
                .filter_map(|(i, row)| Some((i as f64, row[member]?)))
                .collect(),
        })
        .collect();
    vec![draw(spec, |root, _| {
        grouped_bars(
            root,
            "Cold vs warm",
            &categories,
            &names,
            &values,
            &format!("time ({unit})"),
            log_y,
        )
    })]
}
